# Shared by the bench scripts (sourced, after `cd` to the repository root; call bench_workdir first):
# the binary under test, waiting for a port or a client's line, refusing busy ports, nginx's
# configuration, and a server's memory and descriptors.

# A scratch directory in $work for script NAME, and an EXIT trap that stops every process whose
# pid the script added to $pids and removes the directory.
bench_workdir() {
  work=$(mktemp -d "/tmp/portcullis-$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# The portcullis binary to run: PORTCULLIS_BIN as given (a build of another commit, for a
# before/after), else a release build (in SCRATCH_PATH when set). Sets $bin.
portcullis_bin() {
  if [ -n "${PORTCULLIS_BIN:-}" ]; then
    bin=$PORTCULLIS_BIN
    return
  fi
  echo "building portcullis (release)..." >&2
  local build=(swift build -c release); [ -n "${SCRATCH_PATH:-}" ] && build+=(--scratch-path "$SCRATCH_PATH")
  "${build[@]}" --product portcullis >&2
  bin=$("${build[@]}" --show-bin-path)/portcullis
}

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listening on 127.0.0.1:$1" >&2
  return 1
}

# Waits, bounded by PHASE_TIMEOUT (+30 s), for the line starting with $1 that bench/conns.c
# writes to $2 (process $3); prints it. Fails if the client ends or the time is up first.
wait_line() {
  local deadline=$((SECONDS + ${PHASE_TIMEOUT:-120} + 30))
  until grep -q "^$1 " "$2"; do
    if [ $SECONDS -gt $deadline ] || ! kill -0 "$3" 2>/dev/null; then
      echo "client gave no '$1' line: $(cat "$2")" >&2
      return 1
    fi
    sleep 0.1
  done
  grep "^$1 " "$2"
}

# wait_port only sees that something answers: a port another process already holds would be
# measured in place of ours, so refuse to start on one.
refuse_busy_ports() {
  local p
  for p in "$@"; do
    if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
      echo "127.0.0.1:$p is already in use; pick free ports with PORT_BASE=..." >&2
      exit 1
    fi
  done
}

# An nginx configuration: $1 names its pid file and temp directory, $2 is the listen line's
# address and flags, $3 any further server-level lines (the TLS ones), $4 the upstream keep-alive
# pool (idle connections kept per worker; default 256). NGINX_WORKER_CONNECTIONS (default 4096)
# is its per-worker connection limit, and its descriptor limit too.
nginx_conf() {
  local connections=${NGINX_WORKER_CONNECTIONS:-4096}
  cat <<NGINX
worker_processes $WORKERS;
worker_rlimit_nofile $((connections + 64));
daemon off;
pid $work/$1.pid;
error_log $work/$1/error.log warn;
events { worker_connections $connections; }
http {
  access_log off;
  client_body_temp_path $work/$1;
  proxy_temp_path $work/$1;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive ${4:-256}; }
  server {
    listen $2;${3:-}
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
}

# Resident memory in KiB: Portcullis's process, or the sum of nginx's workers (its master does
# no request work).
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
nginx_rss_kib() {
  local total=0 child
  for child in $(pgrep -P "$1"); do total=$((total + $(rss_kib "$child"))); done
  echo "$total"
}
# Open descriptors of a process.
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
