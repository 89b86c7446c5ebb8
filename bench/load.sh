#!/usr/bin/env bash
# Load run over loopback: the demo backend alone, nginx as a plain reverse proxy, HAProxy (where
# installed) and Portcullis, each driven by wrk with the same settings in one run; then the token
# case (same ES256 token on every request, IP rules on): Portcullis and HAProxy jwt_verify. Prints
# requests/s and p99 latency and the ratios to nginx. Bounded: every wrk run lasts DURATION.
#
#   bench/load.sh                     # defaults: 1 worker each, 50 connections, 10s per target
#   WORKERS=2 CONNECTIONS=100 DURATION=15s bench/load.sh
#
# Needs wrk (apt-get install wrk); nginx and haproxy are used when present.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=${WORKERS:-1}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
DURATION=${DURATION:-10s}
PATH_UNDER_TEST=${PATH_UNDER_TEST:-/hello}
BACKEND_PORT=${BACKEND_PORT:-18000}
NGINX_PORT=${NGINX_PORT:-18081}
HAPROXY_PORT=${HAPROXY_PORT:-18082}
PORTCULLIS_PORT=${PORTCULLIS_PORT:-18080}
ROUNDS=${ROUNDS:-1}

command -v wrk >/dev/null || { echo "bench/load.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }

work=$(mktemp -d /tmp/portcullis-load.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building portcullis (release)..." >&2
swift build -c release --product portcullis >&2
bin=$(swift build -c release --show-bin-path)/portcullis

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on 127.0.0.1:$1" >&2
  return 1
}

"$bin" backend --host 127.0.0.1 --port "$BACKEND_PORT" 2>"$work/backend.err" & pids+=($!)
wait_port "$BACKEND_PORT"

cat >"$work/portcullis.yaml" <<YAML
listeners:
  - address: 127.0.0.1:$PORTCULLIS_PORT
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
  max_idle_connections: 256
workers: $WORKERS
log:
  access: false
YAML
"$bin" serve --config "$work/portcullis.yaml" >/dev/null 2>"$work/portcullis.err" & pids+=($!)
wait_port "$PORTCULLIS_PORT"

# The global and defaults sections both HAProxy configurations share.
haproxy_head() {
  cat <<HAP
global
  nbthread $WORKERS
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  http-reuse always
  option forwardfor
HAP
}

targets=("direct:$BACKEND_PORT")
if command -v nginx >/dev/null; then
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
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_set_header X-Forwarded-Host \$host;
    }
  }
}
NGINX
  nginx -c "$work/nginx.conf" -e "$work/nginx/error.log" & pids+=($!)
  wait_port "$NGINX_PORT" && targets+=("nginx:$NGINX_PORT")
fi
if command -v haproxy >/dev/null; then
  { haproxy_head; cat <<HAP
frontend fe
  bind 127.0.0.1:$HAPROXY_PORT
  default_backend be
backend be
  server s1 127.0.0.1:$BACKEND_PORT
HAP
  } >"$work/haproxy.cfg"
  haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>"$work/haproxy.err" & pids+=($!)
  wait_port "$HAPROXY_PORT" && targets+=("haproxy:$HAPROXY_PORT")
fi
targets+=("portcullis:$PORTCULLIS_PORT")

# The token case: the same ES256 token on every request, IP rules on, side by side with HAProxy's
# jwt_verify doing the same iss/aud/exp/signature checks.
TOKEN_PORT=${TOKEN_PORT:-18084}
HAPROXY_TOKEN_PORT=${HAPROXY_TOKEN_PORT:-18085}
"$bin" jwks --key config/examples/demo-signing-key.pem --kid demo-key >"$work/jwks.json"
openssl pkey -in config/examples/demo-signing-key.pem -pubout -out "$work/pub.pem" 2>/dev/null
TOKEN=$("$bin" token mint --key config/examples/demo-signing-key.pem --kid demo-key \
  --claims '{"iss":"https://demo.portcullis.local/","aud":"api://service-b","exp":4102444800,"azp":"service-a","oid":"oid-1","roles":["Data.Read"]}')
cat >"$work/portcullis-token.yaml" <<YAML
listeners:
  - address: 127.0.0.1:$TOKEN_PORT
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
  max_idle_connections: 256
workers: $WORKERS
log:
  access: false
network:
  rules: [{name: loopback, priority: 1, action: allow, cidrs: [127.0.0.0/8]}]
auth:
  issuers:
    - issuer: https://demo.portcullis.local/
      jwks_file: $work/jwks.json
      audiences: [api://service-b]
      algorithms: [ES256]
YAML
"$bin" serve --config "$work/portcullis-token.yaml" >/dev/null 2>"$work/portcullis-token.err" & pids+=($!)
wait_port "$TOKEN_PORT"
token_targets=()
if command -v haproxy >/dev/null && [ -s "$work/pub.pem" ]; then
  { haproxy_head; cat <<HAP
frontend fe
  bind 127.0.0.1:$HAPROXY_TOKEN_PORT
  http-request deny if !{ src 127.0.0.0/8 }
  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('\$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str ES256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.iss') -m str https://demo.portcullis.local/ }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_payload_query('\$.aud') -m str api://service-b }
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny deny_status 401 if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"$work/pub.pem") -m int 1 }
  default_backend be
backend be
  server s1 127.0.0.1:$BACKEND_PORT
HAP
  } >"$work/haproxy-token.cfg"
  haproxy -f "$work/haproxy-token.cfg" -db >/dev/null 2>"$work/haproxy-token.err" & pids+=($!)
  wait_port "$HAPROXY_TOKEN_PORT" && token_targets+=("haproxy+jwt:$HAPROXY_TOKEN_PORT")
fi
token_targets+=("portcullis+jwt:$TOKEN_PORT")

# wrk prints latency in us/ms/s; normalise to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}

declare -A rps p99
for round in $(seq 1 "$ROUNDS"); do
  for t in "${targets[@]}" "${token_targets[@]}"; do
    name=${t%%:*}; port=${t##*:}
    header=(); case "$name" in *jwt) header=(-H "Authorization: Bearer $TOKEN");; esac
    wrk -t"$THREADS" -c"$CONNECTIONS" -d5s "${header[@]}" "http://127.0.0.1:$port$PATH_UNDER_TEST" >/dev/null 2>&1 || true  # warm-up
    out=$(timeout 120 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${header[@]}" "http://127.0.0.1:$port$PATH_UNDER_TEST")
    r=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    l=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
    [ -n "$errors" ] && echo "$name: $errors" >&2
    rps[$name]="${rps[$name]:-} $r"
    p99[$name]="${p99[$name]:-} $(to_ms "$l")"
  done
done

median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $WORKERS worker(s) per proxy, GET $PATH_UNDER_TEST, median of $ROUNDS round(s)"
printf "%-16s %12s %10s %14s %12s\n" target "requests/s" "p99 ms" "rps vs nginx" "p99 vs nginx"
nginx_r=$(median "${rps[nginx]:-}" 2>/dev/null || true)
nginx_l=$(median "${p99[nginx]:-}" 2>/dev/null || true)
for t in "${targets[@]}" "${token_targets[@]}"; do
  name=${t%%:*}
  r=$(median "${rps[$name]}"); l=$(median "${p99[$name]}")
  if [ -n "${rps[nginx]:-}" ]; then
    rr=$(awk -v a="$r" -v b="$nginx_r" 'BEGIN { printf "%.2fx", a/b }')
    lr=$(awk -v a="$l" -v b="$nginx_l" 'BEGIN { printf "%.2fx", a/b }')
  else
    rr="-"; lr="-"
  fi
  printf "%-16s %12s %10s %14s %12s\n" "$name" "$r" "$l" "$rr" "$lr"
done
