#!/usr/bin/env bash
# Load run over loopback: the demo backend alone, nginx as a plain reverse proxy, HAProxy (where
# installed) and Portcullis, each driven by wrk with the same settings in one run; then the token
# case (same ES256 token on every request, IP rules on): Portcullis and HAProxy jwt_verify; then TLS
# termination side by side (nginx, HAProxy, Portcullis; one throwaway ECDSA P-256 certificate):
# HTTP/1.1 over TLS with keep-alive (wrk over https, rows +tls) and one request per new TLS
# connection, every handshake a full one (bench/handshake.c, rows +tls-new); then HTTP/2 to the
# client (HTTP/1.1 to the same backend) driven by h2load with several streams per connection: h2
# over TLS by ALPN (rows +h2) and h2c by prior knowledge (rows +h2c). Prints requests/s and p99
# latency and the ratios to the matching nginx row, then the proxy's CPU per request.
# Bounded: every load run lasts DURATION (after a WARMUP run), under timeout.
#
#   bench/load.sh                     # defaults: 1 worker each, 50 connections, 10s per target
#   WORKERS=2 CONNECTIONS=100 DURATION=15s bench/load.sh
#   TLS=0 bench/load.sh               # no TLS rows (+tls, +tls-new)
#   H2=0 bench/load.sh                # no HTTP/2 rows (+h2, +h2c)
#   H2_STREAMS=20 bench/load.sh       # h2load -m: concurrent streams per connection (default 10)
#   PORT_BASE=28000 bench/load.sh     # ports PORT_BASE+0..+99 instead of 18000..18099
#   ONLY=tls bench/load.sh            # only rows of these kinds (see ONLY below)
#   SCRATCH_PATH=.build-x bench/load.sh  # swift build --scratch-path (a worktree's own build)
#   PORTCULLIS_BIN=/tmp/old/portcullis bench/load.sh  # no build: that binary (before/after runs)
#
# Needs wrk (apt-get install wrk), h2load for the HTTP/2 rows (apt-get install nghttp2-client),
# openssl and a C compiler with the OpenSSL headers (the ones the Portcullis build needs); nginx and
# haproxy are used when present.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=${WORKERS:-1}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-5s}
PATH_UNDER_TEST=${PATH_UNDER_TEST:-/hello}
# Every port is PORT_BASE plus a fixed offset unless set on its own.
PORT_BASE=${PORT_BASE:-18000}
BACKEND_PORT=${BACKEND_PORT:-$PORT_BASE}
NGINX_PORT=${NGINX_PORT:-$((PORT_BASE + 81))}
HAPROXY_PORT=${HAPROXY_PORT:-$((PORT_BASE + 82))}
PORTCULLIS_PORT=${PORTCULLIS_PORT:-$((PORT_BASE + 80))}
# The same proxy with an admin listener, so it counts metrics (without one it counts nothing).
METRICS_PORT=${METRICS_PORT:-$((PORT_BASE + 86))}
METRICS_ADMIN_PORT=${METRICS_ADMIN_PORT:-$((PORT_BASE + 87))}
ROUNDS=${ROUNDS:-1}
TLS=${TLS:-1}
PORTCULLIS_TLS_PORT=${PORTCULLIS_TLS_PORT:-$((PORT_BASE + 90))}
NGINX_TLS_PORT=${NGINX_TLS_PORT:-$((PORT_BASE + 91))}
HAPROXY_TLS_PORT=${HAPROXY_TLS_PORT:-$((PORT_BASE + 92))}
TOKEN_PORT=${TOKEN_PORT:-$((PORT_BASE + 84))}
HAPROXY_TOKEN_PORT=${HAPROXY_TOKEN_PORT:-$((PORT_BASE + 85))}
H2=${H2:-1}
H2_STREAMS=${H2_STREAMS:-10}
PORTCULLIS_H2_PORT=${PORTCULLIS_H2_PORT:-$((PORT_BASE + 93))}   # TLS; h2 or http/1.1 by ALPN
PORTCULLIS_H2C_PORT=${PORTCULLIS_H2C_PORT:-$((PORT_BASE + 94))} # cleartext; h2c prior knowledge or http/1.1
NGINX_H2_PORT=${NGINX_H2_PORT:-$((PORT_BASE + 95))}
NGINX_H2C_PORT=${NGINX_H2C_PORT:-$((PORT_BASE + 96))}
HAPROXY_H2_PORT=${HAPROXY_H2_PORT:-$((PORT_BASE + 97))}
HAPROXY_H2C_PORT=${HAPROXY_H2C_PORT:-$((PORT_BASE + 98))}
# Row kinds to measure, comma- or space-separated; a word selects every kind it begins:
# plain (direct, nginx, haproxy, portcullis, portcullis+metrics), jwt, tls (+tls and +tls-new),
# tls-new, h2 (+h2 and +h2c), h2c. Empty: all (TLS=0 and H2=0 still drop theirs).
ONLY=${ONLY:-}
SCRATCH_PATH=${SCRATCH_PATH:-}

command -v wrk >/dev/null || { echo "bench/load.sh needs wrk: apt-get install -y wrk" >&2; exit 1; }
if [ "$H2" = 1 ] && ! command -v h2load >/dev/null; then
  echo "bench/load.sh needs h2load for the HTTP/2 rows: apt-get install -y nghttp2-client (or H2=0)" >&2; exit 1
fi

# wait_port only sees that something answers: a port another process already holds would be
# measured in place of ours, so refuse to start on one.
for p in "$BACKEND_PORT" "$NGINX_PORT" "$HAPROXY_PORT" "$PORTCULLIS_PORT" "$METRICS_PORT" "$METRICS_ADMIN_PORT" "$TOKEN_PORT" "$HAPROXY_TOKEN_PORT" \
  "$PORTCULLIS_TLS_PORT" "$NGINX_TLS_PORT" "$HAPROXY_TLS_PORT" "$PORTCULLIS_H2_PORT" "$PORTCULLIS_H2C_PORT" \
  "$NGINX_H2_PORT" "$NGINX_H2C_PORT" "$HAPROXY_H2_PORT" "$HAPROXY_H2C_PORT"; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
    echo "127.0.0.1:$p is already in use; pick free ports with PORT_BASE=... (default 18000)" >&2
    exit 1
  fi
done

# portcullis_bin, wait_port and nginx_conf, shared with the other bench scripts.
. bench/lib.sh
bench_workdir load
declare -A procs  # row name → the pid whose CPU time (with its children's) is that row's proxy

portcullis_bin  # PORTCULLIS_BIN, or a release build
if [ "$TLS" = 1 ]; then
  cc -O2 -pthread -o "$work/handshake" bench/handshake.c -lssl -lcrypto
fi


"$bin" backend --host 127.0.0.1 --port "$BACKEND_PORT" 2>"$work/backend.err" & pids+=($!); procs[direct]=$!
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
"$bin" serve --config "$work/portcullis.yaml" >/dev/null 2>"$work/portcullis.err" & pids+=($!); procs[portcullis]=$!
wait_port "$PORTCULLIS_PORT"
sed -e "s/127.0.0.1:$PORTCULLIS_PORT/127.0.0.1:$METRICS_PORT/" "$work/portcullis.yaml" >"$work/portcullis-metrics.yaml"
printf 'admin:\n  address: 127.0.0.1:%s\n' "$METRICS_ADMIN_PORT" >>"$work/portcullis-metrics.yaml"
"$bin" serve --config "$work/portcullis-metrics.yaml" >/dev/null 2>"$work/portcullis-metrics.err" & pids+=($!); procs[portcullis+metrics]=$!
wait_port "$METRICS_PORT"

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
  nginx_conf nginx "127.0.0.1:$NGINX_PORT reuseport" >"$work/nginx.conf"
  nginx -c "$work/nginx.conf" -e "$work/nginx/error.log" & pids+=($!); procs[nginx]=$!
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
  haproxy -f "$work/haproxy.cfg" -db >/dev/null 2>"$work/haproxy.err" & pids+=($!); procs[haproxy]=$!
  wait_port "$HAPROXY_PORT" && targets+=("haproxy:$HAPROXY_PORT")
fi
targets+=("portcullis:$PORTCULLIS_PORT" "portcullis+metrics:$METRICS_PORT")

# The token case: the same ES256 token on every request, IP rules on, side by side with HAProxy's
# jwt_verify doing the same iss/aud/exp/signature checks.
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
"$bin" serve --config "$work/portcullis-token.yaml" >/dev/null 2>"$work/portcullis-token.err" & pids+=($!); procs[portcullis+jwt]=$!
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
  haproxy -f "$work/haproxy-token.cfg" -db >/dev/null 2>"$work/haproxy-token.err" & pids+=($!); procs[haproxy+jwt]=$!
  wait_port "$HAPROXY_TOKEN_PORT" && token_targets+=("haproxy+jwt:$HAPROXY_TOKEN_PORT")
fi
token_targets+=("portcullis+jwt:$TOKEN_PORT")

# TLS termination: the same upstream, worker count and certificate for all three. TLS 1.2 and 1.3
# on offer everywhere (nginx 1.22's default list lacks TLSv1.3, so it is spelled out); session
# caches and tickets left at each server's default (the tls-new client never offers a session).
if [ "$TLS" = 1 ] || [ "$H2" = 1 ]; then
  # Throwaway self-signed ECDSA P-256 certificate; the key lives in $work and goes with it.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
  cat "$work/tls.crt" "$work/tls.key" >"$work/tls.pem"  # HAProxy wants both in one file
fi
tls_targets=(); tls_new_targets=()
if [ "$TLS" = 1 ]; then
  if command -v nginx >/dev/null; then
    mkdir -p "$work/nginx-tls"
    nginx_conf nginx-tls "127.0.0.1:$NGINX_TLS_PORT ssl reuseport" "
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;" >"$work/nginx-tls.conf"
    nginx -c "$work/nginx-tls.conf" -e "$work/nginx-tls/error.log" & pids+=($!); procs[nginx+tls]=$!; procs[nginx+tls-new]=$!
    wait_port "$NGINX_TLS_PORT" && tls_targets+=("nginx+tls:$NGINX_TLS_PORT")
  fi
  if command -v haproxy >/dev/null; then
    { haproxy_head; cat <<HAP
frontend fe
  bind 127.0.0.1:$HAPROXY_TLS_PORT ssl crt $work/tls.pem alpn http/1.1
  default_backend be
backend be
  server s1 127.0.0.1:$BACKEND_PORT
HAP
    } >"$work/haproxy-tls.cfg"
    haproxy -f "$work/haproxy-tls.cfg" -db >/dev/null 2>"$work/haproxy-tls.err" & pids+=($!); procs[haproxy+tls]=$!; procs[haproxy+tls-new]=$!
    wait_port "$HAPROXY_TLS_PORT" && tls_targets+=("haproxy+tls:$HAPROXY_TLS_PORT")
  fi
  cat >"$work/portcullis-tls.yaml" <<YAML
listeners:
  - address: 127.0.0.1:$PORTCULLIS_TLS_PORT
    tls:
      certificates: [{cert: $work/tls.crt, key: $work/tls.key}]
      min_version: "1.2"
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
  max_idle_connections: 256
workers: $WORKERS
log:
  access: false
YAML
  "$bin" serve --config "$work/portcullis-tls.yaml" >/dev/null 2>"$work/portcullis-tls.err" & pids+=($!); procs[portcullis+tls]=$!; procs[portcullis+tls-new]=$!
  wait_port "$PORTCULLIS_TLS_PORT" && tls_targets+=("portcullis+tls:$PORTCULLIS_TLS_PORT")
  for t in "${tls_targets[@]}"; do tls_new_targets+=("${t%%:*}-new:${t##*:}"); done
fi

# HTTP/2 to the client, HTTP/1.1 to the same backend, same worker count and certificate: one
# process per proxy serves both an h2-over-TLS port (ALPN h2, http/1.1) and an h2c port (prior
# knowledge). nginx 1.22: `listen ... ssl http2` and `listen ... http2` (h2c only there);
# HAProxy 2.6: `bind ... ssl crt ... alpn h2,http/1.1` and `bind ... proto h2`.
# Two settings differ from the other rows, the same for every proxy, so that the rows measure
# HTTP/2 rather than the harness: h2load does not reconnect after a GOAWAY, so nginx's
# keepalive_requests (1000 by default, HTTP/2 included) is lifted, or each of its connections
# would stop after 1,000 requests; and with CONNECTIONS × H2_STREAMS requests in flight the
# upstream idle pools (nginx keepalive, Portcullis max_idle_connections) hold at least that many,
# or both would open and close upstream connections all run long (HAProxy keeps idle
# connections without a count limit).
h2_pool=$((CONNECTIONS * H2_STREAMS > 256 ? CONNECTIONS * H2_STREAMS : 256))
declare -A errlog  # row name → the file where that proxy's errors go
h2_targets=(); h2c_targets=()
if [ "$H2" = 1 ]; then
  if command -v nginx >/dev/null; then
    mkdir -p "$work/nginx-h2"
    nginx_conf nginx-h2 "127.0.0.1:$NGINX_H2_PORT ssl http2 reuseport" "
    listen 127.0.0.1:$NGINX_H2C_PORT http2 reuseport;
    keepalive_requests 1000000000;
    ssl_certificate $work/tls.crt;
    ssl_certificate_key $work/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;" "$h2_pool" >"$work/nginx-h2.conf"
    nginx -c "$work/nginx-h2.conf" -e "$work/nginx-h2/error.log" & pids+=($!); procs[nginx+h2]=$!; procs[nginx+h2c]=$!
    errlog[nginx+h2]=$work/nginx-h2/error.log; errlog[nginx+h2c]=$work/nginx-h2/error.log
    wait_port "$NGINX_H2_PORT" && h2_targets+=("nginx+h2:$NGINX_H2_PORT")
    wait_port "$NGINX_H2C_PORT" && h2c_targets+=("nginx+h2c:$NGINX_H2C_PORT")
  fi
  if command -v haproxy >/dev/null; then
    { haproxy_head; cat <<HAP
frontend fe
  bind 127.0.0.1:$HAPROXY_H2_PORT ssl crt $work/tls.pem alpn h2,http/1.1
  bind 127.0.0.1:$HAPROXY_H2C_PORT proto h2
  default_backend be
backend be
  server s1 127.0.0.1:$BACKEND_PORT
HAP
    } >"$work/haproxy-h2.cfg"
    haproxy -f "$work/haproxy-h2.cfg" -db >/dev/null 2>"$work/haproxy-h2.err" & pids+=($!); procs[haproxy+h2]=$!; procs[haproxy+h2c]=$!
    errlog[haproxy+h2]=$work/haproxy-h2.err; errlog[haproxy+h2c]=$work/haproxy-h2.err
    wait_port "$HAPROXY_H2_PORT" && h2_targets+=("haproxy+h2:$HAPROXY_H2_PORT")
    wait_port "$HAPROXY_H2C_PORT" && h2c_targets+=("haproxy+h2c:$HAPROXY_H2C_PORT")
  fi
  cat >"$work/portcullis-h2.yaml" <<YAML
listeners:
  - address: 127.0.0.1:$PORTCULLIS_H2_PORT     # TLS: h2 and http/1.1 by ALPN (the default under tls)
    tls: {certificates: [{cert: $work/tls.crt, key: $work/tls.key}]}
  - address: 127.0.0.1:$PORTCULLIS_H2C_PORT    # cleartext: h2c by prior knowledge and http/1.1
    protocols: [http/1.1, h2]
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
  max_idle_connections: $h2_pool
workers: $WORKERS
log:
  access: false
YAML
  "$bin" serve --config "$work/portcullis-h2.yaml" >/dev/null 2>"$work/portcullis-h2.err" & pids+=($!); procs[portcullis+h2]=$!; procs[portcullis+h2c]=$!
  errlog[portcullis+h2]=$work/portcullis-h2.err; errlog[portcullis+h2c]=$work/portcullis-h2.err
  wait_port "$PORTCULLIS_H2_PORT" && h2_targets+=("portcullis+h2:$PORTCULLIS_H2_PORT")
  wait_port "$PORTCULLIS_H2C_PORT" && h2c_targets+=("portcullis+h2c:$PORTCULLIS_H2C_PORT")
fi

# wrk prints latency in us/ms/s; normalise to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}
# A wrk duration (10s, 2m) in whole seconds, for handshake's -d and for timeouts.
secs() { case $1 in *m) echo $(( ${1%m} * 60 ));; *s) echo "${1%s}";; *) echo "$1";; esac; }
hz=$(getconf CLK_TCK)
# User+system CPU, in clock ticks, of a process and its children (nginx's workers are children of
# its master; HAProxy's and Portcullis's threads are counted in their process).
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
# Ratios are to the matching nginx row: cleartext and token rows to nginx, +tls to nginx+tls,
# +tls-new to nginx+tls-new, +h2 to nginx+h2, +h2c to nginx+h2c.
base_of() {
  case $1 in
    *+tls-new) echo nginx+tls-new;; *+tls) echo nginx+tls;; *+h2) echo nginx+h2;; *+h2c) echo nginx+h2c;;
    *) echo nginx;;
  esac
}
# Idle and total ticks of the whole machine (idle + iowait, and the sum of all columns): a row
# that ran with little idle time shared the machine with something else.
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit }' /proc/stat; }
# Whether a process still runs (a zombie does not).
alive() { local state; state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$state" != Z ]; }
# p99 in ms (nearest rank) of h2load --log-file's third column, microseconds per request.
log_p99() {
  awk -F'\t' '{print $3}' "$1" | sort -n |
    awk '{a[NR] = $1} END { if (NR) { i = int(NR * 0.99); if (i < NR * 0.99) i++; printf "%.3f", a[i] / 1000 } }'
}

# ONLY: keep the rows of the kinds asked for (the ratios need the matching nginx row, so ask
# for a kind, not a proxy).
kind_of() {
  case $1 in
    *+tls-new) echo tls-new;; *+tls) echo tls;; *+h2) echo h2;; *+h2c) echo h2c;; *jwt) echo jwt;; *) echo plain;;
  esac
}
selected() {
  local word kind
  [ -z "$ONLY" ] && return 0
  kind=$(kind_of "$1")
  for word in ${ONLY//,/ }; do [[ $kind == "$word"* ]] && return 0; done
  return 1
}
only() {  # only ARRAY_NAME: drops the rows ONLY leaves out
  local -n list=$1; local kept=() t
  for t in "${list[@]}"; do selected "${t%%:*}" && kept+=("$t"); done
  list=("${kept[@]}")
}
for a in targets token_targets tls_targets tls_new_targets h2_targets h2c_targets; do only "$a"; done

run_seconds=$(secs "$DURATION"); warmup_seconds=$(secs "$WARMUP")
# Each round runs every group (the rows one nginx row is the base of) in another rotation: in a
# fixed order the same proxy always ran last in its group, so whatever started on the shared
# machine during a group hit that proxy more often than the base it is divided by.
rotated() {  # rotated K ROW...: the rows starting from the K-th (mod their count)
  local k=$1; shift
  local n=$# rows=("$@") i
  for ((i = 0; i < n; i++)); do echo "${rows[$(((i + k) % n))]}"; done
}
declare -A rps p99 cpu tls_seen h2_seen warn
for round in $(seq 1 "$ROUNDS"); do
  order=()
  for group in targets token_targets tls_targets tls_new_targets h2_targets h2c_targets; do
    declare -n rows=$group
    [ ${#rows[@]} -gt 0 ] && mapfile -t -O ${#order[@]} order < <(rotated $((round - 1)) "${rows[@]}")
    unset -n rows
  done
  for t in "${order[@]}"; do
    name=${t%%:*}; port=${t##*:}
    read -r idle0 total0 <<<"$(machine_ticks)"
    case "$name" in
      *+h2|*+h2c)
        # Timing-based h2load: CONNECTIONS connections, H2_STREAMS streams in flight on each.
        # Over TLS the client offers OpenSSL's default TLS 1.3 suite order (as wrk and handshake.c
        # do) rather than h2load's AES-128-first list, so that every server negotiates the same
        # suite whether it prefers its own order or the client's.
        h2=(h2load -t"$THREADS" -c"$CONNECTIONS" -m"$H2_STREAMS")
        scheme=https want=h2; case "$name" in *+h2c) scheme=http want=h2c;; esac
        [ "$scheme" = https ] && h2+=(--tls13-ciphers=TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256)
        url="$scheme://127.0.0.1:$port$PATH_UNDER_TEST"
        pid=${procs[$name]}; problems=()
        alive "$pid" || problems+=("proxy process $pid had exited before this row")
        timeout $((warmup_seconds + 30)) "${h2[@]}" -D "$warmup_seconds" "$url" >/dev/null 2>&1 || true  # warm-up
        rm -f "$work/h2load.log"
        before=$(cpu_ticks "$pid")
        rc=0; out=$(timeout $((run_seconds + 30)) "${h2[@]}" -D "$run_seconds" --log-file="$work/h2load.log" "$url" 2>&1) || rc=$?
        after=$(cpu_ticks "$pid")
        r=$(awk '/^finished in/ {print $4}' <<<"$out")
        l=$([ -s "$work/h2load.log" ] && log_p99 "$work/h2load.log" || true)
        read -r n failed errored timedout <<<"$(awk '/^requests:/ {print $6, $10, $12, $14}' <<<"$out")"
        read -r s2 s3 s4 s5 <<<"$(awk '/^status codes:/ {print $3, $5, $7, $9}' <<<"$out")"
        proto=$(awk -F': ' '/^Application protocol:/ {print $2; exit}' <<<"$out")
        [ "$rc" = 0 ] || problems+=("h2load exit status $rc$([ "$rc" = 124 ] && echo ' (timed out)')")
        [ "${n:-0}" -gt 0 ] || problems+=("no request finished")
        [ "${failed:-0}${errored:-0}${timedout:-0}" = 000 ] || problems+=("${failed:-?} failed, ${errored:-?} errored, ${timedout:-?} timed out")
        [ "${s3:-0}${s4:-0}${s5:-0}" = 000 ] && [ "${s2:-0}" = "${n:-0}" ] ||
          problems+=("status codes ${s2:-?} 2xx, ${s3:-?} 3xx, ${s4:-?} 4xx, ${s5:-?} 5xx of ${n:-?} done")
        [ "$proto" = "$want" ] || problems+=("application protocol '${proto:-none}', not $want")
        if ! alive "$pid" && [[ " ${problems[*]}" != *"exited"* ]]; then problems+=("proxy process $pid exited during this row's warm-up or measured run"); fi
        if [ ${#problems[@]} -gt 0 ]; then
          line=$(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g')
          if ! alive "$pid"; then
            last=$(grep -m1 -E 'Fatal error|panic|crash|emerg|alert' "${errlog[$name]}" 2>/dev/null || tail -n1 "${errlog[$name]}" 2>/dev/null || true)
            [ -n "$last" ] && line="$line; its stderr: $last"
          fi
          warn[$name]="${warn[$name]:-}${warn[$name]:+ | }round $round: $line"
          echo "$name: $line" >&2
          echo "$name: h2load said: $(grep -E '^(finished in|requests:|status codes:)' <<<"$out" | tr '\n' ' ')" >&2
        fi
        h2_seen[$name]="${proto:-no protocol negotiated}$(awk -F': ' '/^TLS Protocol:/ {p=$2} /^Cipher:/ {c=$2} END {if (p) print ", " p " " c}' <<<"$out");$(
          awk '/^time for request:/ {print " time for request mean " $6 ", sd " $7 ", max " $5}' <<<"$out"); ${n:-0} requests"
        ;;
      *+tls-new)
        # One request per new TLS connection, no session ever offered: every handshake is full.
        hs=("$work/handshake" -p "$port" -c "$CONNECTIONS" -t "$THREADS" -P "$PATH_UNDER_TEST")
        timeout $((warmup_seconds + 30)) "${hs[@]}" -d "$warmup_seconds" >/dev/null 2>&1 || true  # warm-up
        before=$(cpu_ticks "${procs[$name]}")
        out=$(timeout $((run_seconds + 30)) "${hs[@]}" -d "$run_seconds")
        after=$(cpu_ticks "${procs[$name]}")
        r=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
        l=$(awk '/^latency/ { for (i = 1; i <= NF; i++) if ($i == "p99") print $(i + 1) }' <<<"$out")
        n=$(awk '/^responses:/ {print $2}' <<<"$out")
        problems=$(awk '/^errors:/ && /[1-9]/ || /^responses:/ && !/\(0 non-2xx\)/ || /^handshakes:/ && !/ 0 resumed/ || /^first error/' <<<"$out")
        [ -n "$problems" ] && echo "$name: $problems" >&2
        tls_seen[$name]="$(awk -F': ' '/^tls:/ {print $2}' <<<"$out"); $(awk -F': ' '/^handshakes:/ {print $2}' <<<"$out") handshakes"
        ;;
      *)
        scheme=http; case "$name" in *+tls) scheme=https;; esac
        header=(); case "$name" in *jwt) header=(-H "Authorization: Bearer $TOKEN");; esac
        url="$scheme://127.0.0.1:$port$PATH_UNDER_TEST"
        timeout $((warmup_seconds + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "${header[@]}" "$url" >/dev/null 2>&1 || true  # warm-up
        before=$(cpu_ticks "${procs[$name]}")
        out=$(timeout $((run_seconds + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${header[@]}" "$url")
        after=$(cpu_ticks "${procs[$name]}")
        r=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
        l=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
        n=$(awk '/requests in/ {print $1}' <<<"$out")
        errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
        [ -n "$errors" ] && echo "$name: $errors" >&2
        ;;
    esac
    c=$(awk -v t=$((after - before)) -v hz="$hz" -v n="${n:-0}" 'BEGIN { if (n > 0) printf "%.1f", t * 1e6 / hz / n }')
    rps[$name]="${rps[$name]:-} $r"
    p99[$name]="${p99[$name]:-} $l"
    cpu[$name]="${cpu[$name]:-} $c"
    # Each round's figures, so a median can be told from a swing (the machine is shared).
    read -r idle1 total1 <<<"$(machine_ticks)"
    echo "round $round/$ROUNDS $name: ${r:-?} req/s, p99 ${l:-?} ms, CPU ${c:-?} us/req," \
      "machine idle $(awk -v i=$((idle1 - idle0)) -v t=$((total1 - total0)) 'BEGIN { if (t > 0) printf "%.0f%%", 100 * i / t }')" >&2
  done
done

median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "-"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && a != "-" && b != "-" && b > 0) printf "%.2fx", a / b; else print "-" }'; }

all_targets=("${targets[@]}" "${token_targets[@]}" "${tls_targets[@]}" "${tls_new_targets[@]}" "${h2_targets[@]}" "${h2c_targets[@]}")
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $WORKERS worker(s) per proxy, GET $PATH_UNDER_TEST, median of $ROUNDS round(s)"
if [ "$TLS" = 1 ]; then
  echo "+tls: wrk over https, keep-alive; ratios to nginx+tls"
  echo "+tls-new: bench/handshake.c -t$THREADS -c$CONNECTIONS -d$run_seconds, one request per new TLS connection (full handshake), p99 from connect to last byte; ratios to nginx+tls-new"
fi
if [ "$H2" = 1 ]; then
  echo "+h2: h2load -t$THREADS -c$CONNECTIONS -m$H2_STREAMS -D $run_seconds over https (ALPN h2); +h2c: the same over http (h2c prior knowledge); p99 from h2load --log-file; ratios to nginx+h2 / nginx+h2c"
fi
printf "%-20s %12s %10s %14s %12s\n" target "requests/s" "p99 ms" "rps vs nginx" "p99 vs nginx"
for t in "${all_targets[@]}"; do
  name=${t%%:*}; base=$(base_of "$name")
  r=$(median "${rps[$name]}"); l=$(median "${p99[$name]}")
  printf "%-20s %12s %10s %14s %12s\n" "$name" "$r" "$l" \
    "$(ratio "$r" "$(median "${rps[$base]:-}")")" "$(ratio "$l" "$(median "${p99[$base]:-}")")"
  if [ -n "${warn[$name]:-}" ]; then printf "%-20s WARNING: %s\n" "$name" "${warn[$name]}"; fi
done
if [ -n "${rps[portcullis+metrics]:-}" ]; then
  echo "metrics on (admin listener) vs off: requests/s $(ratio "$(median "${rps[portcullis+metrics]}")" "$(median "${rps[portcullis]}")")," \
    "p99 $(ratio "$(median "${p99[portcullis+metrics]}")" "$(median "${p99[portcullis]}")")"
fi
for t in "${tls_new_targets[@]}"; do
  name=${t%%:*}
  echo "$name: ${tls_seen[$name]} (last round)"
done
for t in "${h2_targets[@]}" "${h2c_targets[@]}"; do
  name=${t%%:*}
  echo "$name: ${h2_seen[$name]} (last round)"
done

# The same ratio taken round by round (each row against its nginx row of the same round), then
# the median: a swing that hit one row of a round shows as one outlying ratio instead of moving
# a median of its own.
if [ "$ROUNDS" -gt 1 ]; then
  echo
  echo "requests/s vs nginx, round by round (median of the rounds' ratios)"
  for t in "${all_targets[@]}"; do
    name=${t%%:*}; base=$(base_of "$name")
    [ "$name" = "$base" ] && continue
    [ -n "${rps[$base]:-}" ] || continue
    read -ra mine <<<"${rps[$name]}"; read -ra theirs <<<"${rps[$base]}"
    ratios=""
    for i in "${!mine[@]}"; do
      r=$(ratio "${mine[$i]}" "${theirs[$i]:-}"); [ "$r" != - ] && ratios="$ratios ${r%x}"
    done
    printf "%-20s %8sx   rounds:%s\n" "$name" "$(median "$ratios")" "$ratios"
  done
fi

echo
echo "proxy CPU per request, user+sys of the proxy's processes over the measured run (direct: the backend's)"
printf "%-20s %12s %14s\n" target "CPU us/req" "vs nginx"
for t in "${all_targets[@]}"; do
  name=${t%%:*}; base=$(base_of "$name")
  c=$(median "${cpu[$name]}")
  printf "%-20s %12s %14s\n" "$name" "$c" "$(ratio "$c" "$(median "${cpu[$base]:-}")")"
done
