#!/usr/bin/env bash
# Soak: CONNECTIONS kept-alive connections for DURATION against one Portcullis (1 worker), each
# sending requests back to back from a mix (bench/conns.c -m soak): allowed (valid token, 200),
# token-refused (a token for another audience, 401), chunked (POST with a chunked body and a
# trailer, 200), large-body (POST of LARGE_BODY bytes, 200) and denied (every eighth connection
# comes from 127.0.0.3, which a network rule refuses: 403). Every answer is checked against its
# class (status, and the echoed body length for the POSTs); connections are closed and opened
# again every 200 requests. Reports transport errors, resident memory at minute 2 and at the
# end, and the proxy's descriptors before the load and after it.
#
#   bench/soak.sh                      # 10 minutes, 256 connections
#   DURATION=90s bench/soak.sh         # shorter (then "minute 2" is a fifth of the way in)
#   PORTCULLIS_BIN=/tmp/x/portcullis bench/soak.sh
#
# Passes when: no transport error and every answer right; RSS grew less than 5% between minute 2
# and the end (the median of the samples around minute 2 against that of the last minute: a
# single sample swings with the large bodies in flight); and after the load the proxy holds no client connection and no descriptor beyond
# its start plus the upstream connections idle in its pool. Loopback only; bounded by DURATION.
# Tokens are minted as bench/load.sh does (config/examples/demo-signing-key.pem).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10m}
CONNECTIONS=${CONNECTIONS:-256}
LARGE_BODY=${LARGE_BODY:-262144}
ACCESS_LOG=${ACCESS_LOG:-true}
PORT_BASE=${PORT_BASE:-18400}
BACKEND_PORT=$PORT_BASE
PORTCULLIS_PORT=$((PORT_BASE + 1))
ADMIN_PORT=$((PORT_BASE + 2))
SCRATCH_PATH=${SCRATCH_PATH:-}

case $DURATION in
  *m) seconds=$(( ${DURATION%m} * 60 )) ;;
  *s) seconds=${DURATION%s} ;;
  *) seconds=$DURATION ;;
esac
# "Minute 2" and the last minute; in a shorter run, a fifth of the way in and the last tenth.
mark=$(( seconds >= 600 ? 120 : seconds / 5 ))
window=$(( seconds >= 600 ? 60 : (seconds / 10 > 5 ? seconds / 10 : 5) ))

. bench/lib.sh
bench_workdir soak
refuse_busy_ports "$BACKEND_PORT" "$PORTCULLIS_PORT" "$ADMIN_PORT"

portcullis_bin
cc -O2 -o "$work/conns" bench/conns.c -lssl -lcrypto

"$bin" jwks --key config/examples/demo-signing-key.pem --kid demo-key >"$work/jwks.json"
mint() {
  "$bin" token mint --key config/examples/demo-signing-key.pem --kid demo-key \
    --claims "{\"iss\":\"https://demo.portcullis.local/\",\"aud\":\"$1\",\"exp\":4102444800,\"azp\":\"service-a\",\"oid\":\"oid-1\",\"roles\":[\"Data.Read\"]}"
}
good=$(mint api://service-b)
bad=$(mint api://someone-else)

"$bin" backend --host 127.0.0.1 --port "$BACKEND_PORT" 2>"$work/backend.err" & pids+=($!)
wait_port "$BACKEND_PORT"
cat >"$work/portcullis.yaml" <<YAML
listeners:
  - address: 127.0.0.1:$PORTCULLIS_PORT
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
workers: 1
admin:
  address: 127.0.0.1:$ADMIN_PORT
log:
  access: $ACCESS_LOG
network:
  default_action: deny
  rules:
    - {name: denied, priority: 10, action: deny, cidrs: [127.0.0.3/32]}
    - {name: loopback, priority: 20, action: allow, cidrs: [127.0.0.0/8]}
auth:
  issuers:
    - issuer: https://demo.portcullis.local/
      jwks_file: $work/jwks.json
      audiences: [api://service-b]
      algorithms: [ES256]
YAML
"$bin" serve --config "$work/portcullis.yaml" >/dev/null 2>"$work/portcullis.err" & proxy=$!; pids+=("$proxy")
wait_port "$PORTCULLIS_PORT"
wait_port "$ADMIN_PORT"

metric() { curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { print s + 0 }'; }

echo "soak: $DURATION ($seconds s), $CONNECTIONS connections, 1 worker, large bodies of $LARGE_BODY bytes, access log $ACCESS_LOG"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
fds_start=$(fd_count "$proxy")
"$work/conns" -m soak -p "$PORTCULLIS_PORT" -n "$CONNECTIONS" -d "$seconds" -L "$LARGE_BODY" -G "$good" -X "$bad" -s 127.0.0.3 \
  >"$work/result" 2>"$work/progress" & client=$!
start=$SECONDS
: >"$work/samples"
while kill -0 "$client" 2>/dev/null; do
  sleep 1
  t=$((SECONDS - start))
  kill -0 "$client" 2>/dev/null || break
  [ "$t" -lt "$seconds" ] && echo "$t $(rss_kib "$proxy") $(fd_count "$proxy")" >>"$work/samples"
done
status=0
wait "$client" || status=1
sleep 2  # closes reach the proxy
fds_end=$(fd_count "$proxy")
idle_upstreams=$(metric 'portcullis_upstream_connections{state="idle"}')
clients_open=$(metric 'portcullis_connections_active')

echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "client: $(cat "$work/result")"
echo "  (per class: answered right/wrong/transport errors)"
# Median RSS (KiB) of the samples taken from second $1 to second $2.
median_rss() { awk -v a="$1" -v b="$2" '$1 >= a && $1 <= b { print $2 }' "$work/samples" | sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }
rss_mark=$(median_rss $((mark - window / 2)) $((mark + window / 2)))
rss_end=$(median_rss $((seconds - window)) "$seconds")
echo "RSS every $(( seconds > 120 ? seconds / 20 : 5 )) s (MiB): $(awk -v step=$(( seconds > 120 ? seconds / 20 : 5 )) '$1 % step == 0 { printf "%d ", $2 / 1024 }' "$work/samples")"
echo "RSS min/max over the run: $(sort -k2 -n "$work/samples" | awk 'NR == 1 { lo = $2 } { hi = $2 } END { printf "%d / %d KiB", lo, hi }')"
growth=$(awk -v a="$rss_mark" -v b="$rss_end" 'BEGIN { if (a > 0) printf "%.2f", (b - a) * 100 / a; else print "n/a" }')
echo "RSS median around ${mark}s: $rss_mark KiB, over the last ${window}s: $rss_end KiB: growth ${growth}% (limit 5%)"
echo "fds before the load: $fds_start, after it: $fds_end; upstream connections idle in the pool: $idle_upstreams; client connections open: $clients_open"
kill -0 "$proxy" 2>/dev/null || { echo "the proxy is gone: $(head -3 "$work/portcullis.err")"; status=1; }
if [ "$growth" = n/a ] || awk -v g="$growth" 'BEGIN { exit !(g >= 5) }'; then status=1; echo "FAIL: resident memory grew"; fi
if [ "$fds_end" -ne $((fds_start + idle_upstreams)) ] || [ "$clients_open" != 0 ]; then status=1; echo "FAIL: descriptors left behind"; fi
if [ $status = 0 ]; then echo "PASS"; else echo "FAIL"; fi
exit $status
