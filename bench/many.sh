#!/usr/bin/env bash
# Many concurrent keep-alive connections on one worker: CONNECTIONS connects started at once,
# a request on each (at most INFLIGHT in flight), every connection held open to the end. Checks
# that all are served and none refused or closed, that the kernel's accept queue never
# overflowed (TcpExt ListenOverflows/ListenDrops), and that a fresh request is answered promptly
# while they are all held (accept does not stall). The proxy starts with a soft open-file limit
# of PROXY_NOFILE (default 1,024, a common default), so the run also shows `serve` raising it
# (its log line is printed).
#
#   bench/many.sh                                  # 10,000 connections, 1,000 requests in flight
#   CONNECTIONS=15000 INFLIGHT=2000 bench/many.sh
#   PORTCULLIS_BIN=/tmp/old/portcullis bench/many.sh
#   PROXY_NOFILE=20000 PORTCULLIS_BIN=/tmp/old/portcullis bench/many.sh   # an old binary, limit raised for it
#
# When the hard open-file limit is below what CONNECTIONS needs (one descriptor per client in
# this script's client and in the proxy, plus the upstream connections), the run says so and
# measures the most connections the limit allows. Loopback only; every phase is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-10000}
INFLIGHT=${INFLIGHT:-1000}
PROXY_NOFILE=${PROXY_NOFILE:-1024}
PHASE_TIMEOUT=${PHASE_TIMEOUT:-120}
PORT_BASE=${PORT_BASE:-18300}
BACKEND_PORT=$PORT_BASE
PORTCULLIS_PORT=$((PORT_BASE + 1))
SCRATCH_PATH=${SCRATCH_PATH:-}

. bench/lib.sh
bench_workdir many
refuse_busy_ports "$BACKEND_PORT" "$PORTCULLIS_PORT"

hard=$(ulimit -Hn)
somaxconn=$(cat /proc/sys/net/core/somaxconn)
# The proxy: a descriptor per client and per upstream connection, and a few of its own.
needed=$((CONNECTIONS + INFLIGHT + 100))
if [ "$hard" != unlimited ] && [ "$hard" -lt "$needed" ]; then
  echo "the hard open-file limit is $hard, below the $needed that $CONNECTIONS connections need: measuring $((hard - INFLIGHT - 100)) instead" >&2
  CONNECTIONS=$((hard - INFLIGHT - 100))
fi
ulimit -Sn "$hard"  # the client and the backend take what they may; the proxy is started lower

portcullis_bin
cc -O2 -o "$work/conns" bench/conns.c -lssl -lcrypto

"$bin" backend --host 127.0.0.1 --port "$BACKEND_PORT" 2>"$work/backend.err" & pids+=($!)
wait_port "$BACKEND_PORT"
cat >"$work/portcullis.yaml" <<YAML
listeners:
  - address: 127.0.0.1:$PORTCULLIS_PORT
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
  max_idle_connections: $INFLIGHT
workers: 1
timeouts: {idle: 600s, request_header: 600s}
log:
  access: false
YAML
(ulimit -Sn "$PROXY_NOFILE"; exec "$bin" serve --config "$work/portcullis.yaml") >/dev/null 2>"$work/portcullis.err" & proxy=$!; pids+=("$proxy")
wait_port "$PORTCULLIS_PORT"

# TcpExt ListenOverflows and ListenDrops, machine-wide (loopback only here, but other processes
# on the machine count too).
listen_drops() {
  awk '/^TcpExt:/ { if (!n) { for (i = 1; i <= NF; i++) col[$i] = i; n = 1 } else print $col["ListenOverflows"] + $col["ListenDrops"] }' /proc/net/netstat
}
# A fresh connection's request while the others are held: status and seconds.
probe() { curl -s -o /dev/null -m 10 -w "%{http_code} %{time_total}s" "http://127.0.0.1:$PORTCULLIS_PORT/hello" || echo " (failed)"; }

echo "$CONNECTIONS connections, 1 worker, all connects at once, $INFLIGHT requests in flight"
echo "limits: open files hard $hard, net.core.somaxconn $somaxconn, tcp_max_syn_backlog $(cat /proc/sys/net/ipv4/tcp_max_syn_backlog); load average $(cut -d' ' -f1-3 /proc/loadavg)"
grep -h "open files" "$work/portcullis.err" | sed 's/^/proxy log: /' || echo "proxy log: no open-files line (the proxy runs with a soft limit of $PROXY_NOFILE)"
base_rss=$(rss_kib "$proxy"); base_fds=$(fd_count "$proxy"); drops_before=$(listen_drops)
rm -f "$work/ctl" "$work/out"; mkfifo "$work/ctl"
"$work/conns" -i -p "$PORTCULLIS_PORT" -n "$CONNECTIONS" -C "$CONNECTIONS" -c "$INFLIGHT" -T "$PHASE_TIMEOUT" <"$work/ctl" >"$work/out" & client=$!
exec 5>"$work/ctl"
wait_line connected "$work/out" "$client"
sleep 1
echo "  held, silent: proxy RSS $(( ($(rss_kib "$proxy") - base_rss) / 1024 )) MiB over its base, $(fd_count "$proxy") fds (base $base_fds); fresh request: $(probe)"
echo >&5
wait_line requested "$work/out" "$client"
sleep 1
echo "  held, after a request each: proxy RSS $(( ($(rss_kib "$proxy") - base_rss) / 1024 )) MiB over its base, $(fd_count "$proxy") fds; fresh request: $(probe)"
echo >&5
exec 5>&-
status=0
wait "$client" || status=1
drops=$(( $(listen_drops) - drops_before ))
echo "  accept queue overflows/drops during the run: $drops"
kill -0 "$proxy" 2>/dev/null || { echo "the proxy is gone: $(head -3 "$work/portcullis.err")"; status=1; }
[ "$drops" -eq 0 ] || status=1
if [ $status = 0 ]; then echo "PASS: all $CONNECTIONS served and held, none refused"; else echo "FAIL"; fi
exit $status
