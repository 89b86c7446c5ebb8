#!/usr/bin/env bash
# Resident memory per client connection: CONNECTIONS keep-alive connections held against one
# worker, the server's VmRSS read with none open, with all of them connected but silent, and
# after one request on each; Portcullis and nginx (the same configuration bench/load.sh uses)
# in one run, for cleartext HTTP/1.1, TLS (HTTP/1.1 by ALPN) and h2c (prior knowledge).
#
#   bench/memory.sh                             # 5,000 connections, 1 worker each, all kinds
#   CONNECTIONS=10000 KINDS=plain bench/memory.sh
#   KINDS="plain tls" SERVERS=portcullis bench/memory.sh
#   PORTCULLIS_BIN=/tmp/old/portcullis bench/memory.sh   # no build: that binary (before/after)
#   SCRATCH_PATH=.build-x bench/memory.sh       # swift build --scratch-path
#
# Per connection = (RSS with the connections held − RSS before) / CONNECTIONS. Each server is
# warmed up first (WARMUP connections with a request each, closed again) so what is built once
# (code pages, the upstream keep-alive pool, buffer pools) is in the "before" figure, not spread
# over the connections. Requests go out at most INFLIGHT at a time. Loopback only; every phase is
# bounded by PHASE_TIMEOUT seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-5000}
INFLIGHT=${INFLIGHT:-64}
WARMUP=${WARMUP:-$INFLIGHT}
KINDS=${KINDS:-"plain tls h2c"}
SERVERS=${SERVERS:-"portcullis nginx"}
WORKERS=1
PHASE_TIMEOUT=${PHASE_TIMEOUT:-120}
SETTLE=${SETTLE:-1}
PORT_BASE=${PORT_BASE:-18200}
BACKEND_PORT=$PORT_BASE
PORTCULLIS_PORT=$((PORT_BASE + 1))
NGINX_PORT=$((PORT_BASE + 2))
SCRATCH_PATH=${SCRATCH_PATH:-}

. bench/lib.sh
bench_workdir memory
refuse_busy_ports "$BACKEND_PORT" "$PORTCULLIS_PORT" "$NGINX_PORT"

portcullis_bin
cc -O2 -o "$work/conns" bench/conns.c -lssl -lcrypto
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

"$bin" backend --host 127.0.0.1 --port "$BACKEND_PORT" 2>"$work/backend.err" & pids+=($!)
wait_port "$BACKEND_PORT"

# Both servers keep a silent or idle connection far longer than a run takes.
start_server() { # server kind → sets server_pid, reader
  local server=$1 kind=$2
  case $server in
    portcullis)
      local listener="address: 127.0.0.1:$PORTCULLIS_PORT"
      case $kind in
        tls) listener+=$'\n'"    tls: {certificates: [{cert: $work/tls.crt, key: $work/tls.key}]}"
             listener+=$'\n'"    protocols: [http/1.1]" ;;
        h2c) listener+=$'\n'"    protocols: [http/1.1, h2]" ;;
      esac
      cat >"$work/portcullis.yaml" <<YAML
listeners:
  - $listener
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
workers: 1
timeouts: {idle: 600s, request_header: 600s}
log:
  access: false
YAML
      "$bin" serve --config "$work/portcullis.yaml" >/dev/null 2>"$work/portcullis.err" & server_pid=$!
      reader=rss_kib; port=$PORTCULLIS_PORT ;;
    nginx)
      local listen="127.0.0.1:$NGINX_PORT reuseport" extra="
    keepalive_timeout 600s;
    client_header_timeout 600s;"
      case $kind in
        tls) listen="127.0.0.1:$NGINX_PORT ssl reuseport"; extra+="
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;" ;;
        h2c) listen="127.0.0.1:$NGINX_PORT http2 reuseport" ;;
      esac
      mkdir -p "$work/nginx"
      NGINX_WORKER_CONNECTIONS=$((CONNECTIONS + 1024)) nginx_conf nginx "$listen" "$extra" 64 >"$work/nginx.conf"
      nginx -c "$work/nginx.conf" -e "$work/nginx/error.log" & server_pid=$!
      reader=nginx_rss_kib; port=$NGINX_PORT ;;
  esac
  pids+=("$server_pid")
  wait_port "$port"
}

flags_of() { case $1 in tls) echo "-t";; h2c) echo "-2";; *) echo "";; esac; }


per_conn() { echo $(( ($1 - $2) * 1024 / CONNECTIONS )); }

printf '%s connections, 1 worker, %s requests in flight; load average before: %s\n' "$CONNECTIONS" "$INFLIGHT" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-11s %-6s %9s %11s %11s %12s %12s\n' server kind "base KiB" "idle KiB" "after KiB" "idle B/conn" "after B/conn"
status=0
for kind in $KINDS; do
  for server in $SERVERS; do
    start_server "$server" "$kind"
    # shellcheck disable=SC2046
    "$work/conns" -p "$port" -n "$WARMUP" -c "$INFLIGHT" -T "$PHASE_TIMEOUT" $(flags_of "$kind") >"$work/warmup" ||
      { echo "$server $kind warm-up failed: $(cat "$work/warmup")" >&2; status=1; }
    sleep "$SETTLE"
    base=$($reader "$server_pid")
    rm -f "$work/ctl" "$work/out"; mkfifo "$work/ctl"
    # shellcheck disable=SC2046
    "$work/conns" -i -p "$port" -n "$CONNECTIONS" -c "$INFLIGHT" -T "$PHASE_TIMEOUT" $(flags_of "$kind") <"$work/ctl" >"$work/out" & client=$!
    exec 5>"$work/ctl"
    connected=$(wait_line connected "$work/out" "$client") || { status=1; exec 5>&-; kill "$client" 2>/dev/null; kill "$server_pid"; continue; }
    sleep "$SETTLE"
    idle=$($reader "$server_pid")
    echo >&5
    requested=$(wait_line requested "$work/out" "$client") || { status=1; exec 5>&-; kill "$client" 2>/dev/null; kill "$server_pid"; continue; }
    sleep "$SETTLE"
    after=$($reader "$server_pid")
    echo >&5
    exec 5>&-
    wait "$client" || status=1
    printf '%-11s %-6s %9d %11d %11d %12d %12d\n' "$server" "$kind" "$base" "$idle" "$after" \
      "$(per_conn "$idle" "$base")" "$(per_conn "$after" "$base")"
    echo "    $connected" >&2
    echo "    $requested" >&2
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  done
done
exit $status
