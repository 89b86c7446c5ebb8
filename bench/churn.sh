#!/usr/bin/env bash
# Memory under connection churn: rounds of short-lived connections of each kind against a fresh
# proxy per row, the proxy's VmRSS read after every round, nginx's figures beside it. This is the
# traffic wrk's keep-alive hides: scripts, probes and load balancers that close connections.
#
#   bench/churn.sh                          # defaults: 4 rounds of 8 s, 16 clients, 2 workers
#   ROUNDS=6 SECONDS_PER_ROUND=10 bench/churn.sh
#   MODES="open empty" bench/churn.sh       # only some rows
#   PORTCULLIS_BIN=/tmp/old/portcullis bench/churn.sh   # no build: that binary (before/after)
#
# Setup as in the report that found the leak: network rules (127.0.0.3 denied, the rest of
# 127.0.0.0/8 allowed), one RS256 issuer, /open/* excluded from auth, access log off, the echo
# backend with keep-alive. Loopback only; every round is bounded by SECONDS_PER_ROUND.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-4}
SECONDS_PER_ROUND=${SECONDS_PER_ROUND:-8}
CLIENTS=${CLIENTS:-16}
WORKERS=${WORKERS:-2}
MODES=${MODES:-"open close rst halfclose unauth denied empty partial keepalive"}
BACKEND_PORT=${BACKEND_PORT:-18100}
PORTCULLIS_PORT=${PORTCULLIS_PORT:-18101}
NGINX_PORT=${NGINX_PORT:-18102}

. bench/lib.sh  # portcullis_bin, wait_port
bench_workdir churn

cc -O2 -pthread -o "$work/churn" bench/churn.c
portcullis_bin

rss_mb() { awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
# nginx's memory is its workers': sum them (the master does no request work).
nginx_rss_mb() {
  local total=0
  for child in $(pgrep -P "$1"); do total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$child/status"))); done
  echo $((total / 1024))
}

"$bin" backend --host 127.0.0.1 --port "$BACKEND_PORT" 2>"$work/backend.err" & pids+=($!)
wait_port "$BACKEND_PORT"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/key.pem" 2>/dev/null
"$bin" jwks --key "$work/key.pem" --kid churn >"$work/jwks.json"
cat >"$work/portcullis.yaml" <<YAML
listeners:
  - address: 127.0.0.1:$PORTCULLIS_PORT
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
workers: $WORKERS
log:
  access: false
network:
  default_action: deny
  rules:
    - {name: denied, priority: 10, action: deny, cidrs: [127.0.0.3/32]}
    - {name: loopback, priority: 20, action: allow, cidrs: [127.0.0.0/8]}
auth:
  excluded_paths: [/open/*]
  issuers:
    - issuer: https://churn.test/
      jwks_file: $work/jwks.json
      audiences: [api://churn]
      algorithms: [RS256]
YAML

nginx_conf() {
  mkdir -p "$work/nginx"
  cat >"$work/nginx.conf" <<NGINX
worker_processes $WORKERS;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  proxy_temp_path $work/nginx;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport;
    location / {
      if (\$remote_addr = 127.0.0.3) { return 403; }
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    location /api { return 401; }
  }
}
NGINX
}

churn_args() {
  case "$1" in
    unauth) echo "-m open -P /api" ;;
    denied) echo "-m open -s 127.0.0.3" ;;
    keepalive) echo "-m keepalive -n 1000" ;;
    *) echo "-m $1" ;;
  esac
}

run_row() { # server-name port pid-reader pid mode
  local name=$1 port=$2 reader=$3 pid=$4 mode=$5
  local line total=0 rss
  line=$(printf "%-10s %-10s %4s" "$name" "$mode" "$($reader "$pid")")
  for _ in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2046
    out=$(timeout $((SECONDS_PER_ROUND + 30)) "$work/churn" -p "$port" -c "$CLIENTS" -d "$SECONDS_PER_ROUND" $(churn_args "$mode"))
    total=$((total + $(sed -E 's/.*connections=([0-9]+).*/\1/' <<<"$out")))
    sleep 0.5
    rss=$($reader "$pid")
    line+=" → $rss"
  done
  printf "%s MB   (%d connections; last round: %s)\n" "$line" "$total" "$out"
}

echo
echo "$ROUNDS rounds × ${SECONDS_PER_ROUND}s, $CLIENTS clients, $WORKERS workers; RSS in MB at start, then after each round"
for mode in $MODES; do
  "$bin" serve --config "$work/portcullis.yaml" >/dev/null 2>"$work/portcullis.err" & p=$!
  wait_port "$PORTCULLIS_PORT"
  run_row portcullis "$PORTCULLIS_PORT" rss_mb "$p" "$mode"
  kill "$p"; wait "$p" 2>/dev/null || true
  if command -v nginx >/dev/null; then
    nginx_conf
    nginx -c "$work/nginx.conf" -e "$work/nginx/error.log" & p=$!
    wait_port "$NGINX_PORT"
    run_row nginx "$NGINX_PORT" nginx_rss_mb "$p" "$mode"
    kill "$p"; wait "$p" 2>/dev/null || true
  fi
done
