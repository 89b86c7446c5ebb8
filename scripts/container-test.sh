#!/usr/bin/env bash
# Builds the Portcullis container image and runs it as a sidecar runs: read-only root filesystem,
# no tmpfs, no capabilities, non-root, its config mounted as a directory, in front of the demo echo
# backend on loopback. Checks an allowed request, refusals (no token, missing role, denied
# network), readiness, the image's HEALTHCHECK, and that SIGTERM drains a request in flight and
# exits 0 (both `podman kill --signal TERM` and `podman stop`, which uses the image's STOPSIGNAL).
#
# No image registry is reachable here, so the runtime base image is made from Debian's packages
# (debootstrap --variant=minbase bookworm) and kept between runs. Without a local Swift image the
# binary is built on this host with the Dockerfile's own command and copied in through the
# `runtime-prebuilt` target:
#     swift build -c release --static-swift-stdlib --product portcullis
#
# Needs: root, podman, runc, debootstrap (first run only), curl; Debian 12. Only loopback is used.
# Environment:
#   PORT_BASE=29000              proxy PORT_BASE, backend +1, admin +2 (refused if busy)
#   PORTCULLIS_BINARY=path       use this binary (built as above) instead of building one
#   PORTCULLIS_SCRATCH=dir       scratch path of the host build (default .build-container; not
#                                one that a running swift build or swift test holds)
#   SWIFT_IMAGE=name             use the Dockerfile's Swift build stage when this image exists
#                                locally (default swift:6.3-bookworm; absent here → host build)
#   RUNTIME_IMAGE=name           runtime base (default localhost/portcullis-base:bookworm, made
#                                with debootstrap when missing)
#   DEBIAN_MIRROR=url            for debootstrap (default http://deb.debian.org/debian)
#   PORTCULLIS_READINESS=auto    admin: /readyz on the admin listener; path: readiness_path on the
#                                proxy port; auto: admin when `portcullis check` knows the key
#   PORTCULLIS_CONTAINER_CLEAN=1 also remove the test image and the base image at the end
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
started=$(date +%s)

PORT_BASE=${PORT_BASE:-29000}
PROXY_PORT=$PORT_BASE
BACKEND_PORT=$((PORT_BASE + 1))
ADMIN_PORT=$((PORT_BASE + 2))
SWIFT_IMAGE=${SWIFT_IMAGE:-swift:6.3-bookworm}
RUNTIME_IMAGE=${RUNTIME_IMAGE:-localhost/portcullis-base:bookworm}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE=localhost/portcullis:container-test
NAME=portcullis-container-test-$$

passed=0
failed=0
pass() { echo "PASS $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
fatal() { echo "FAIL $*"; failed=$((failed + 1)); exit 1; }
note() { echo "---- $*"; }
since() { echo "$(( $(date +%s) - $1 ))s"; }

WORK=$(mktemp -d /tmp/portcullis-container.XXXXXX)
backend_pid=""
container_made=""
cleanup() {
  status=$?
  set +e
  if [ -n "$container_made" ]; then
    if [ "$failed" -gt 0 ] || [ "$status" -ne 0 ]; then
      echo "---- container log (last 30 lines)"
      timeout 20 podman logs "$NAME" 2>&1 | tail -30
    fi
    timeout 60 podman rm -f -t 0 "$NAME" >/dev/null 2>&1
  fi
  if [ -n "$backend_pid" ]; then
    kill "$backend_pid" 2>/dev/null
    wait "$backend_pid" 2>/dev/null
  fi
  if [ "${PORTCULLIS_CONTAINER_CLEAN:-0}" = 1 ]; then
    timeout 60 podman rmi -f "$IMAGE" >/dev/null 2>&1
    [ "$RUNTIME_IMAGE" = localhost/portcullis-base:bookworm ] && timeout 60 podman rmi -f "$RUNTIME_IMAGE" >/dev/null 2>&1
  fi
  rm -rf "$WORK"
  echo "container-test: $(( $(date +%s) - started ))s"
  echo "container-test: $passed passed, $failed failed"
  if [ "$status" -eq 0 ] && [ "$failed" -gt 0 ]; then status=1; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- what this machine has
for tool in podman runc curl; do
  command -v "$tool" >/dev/null || fatal "prerequisite: $tool is not installed (apt-get install podman runc curl)"
done
[ "$(id -u)" -eq 0 ] || fatal "prerequisite: run as root (debootstrap, rootful podman)"

# crun fails on this machine's hybrid cgroups; default ulimits cannot be raised in this sandbox.
cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
EOF
export CONTAINERS_CONF="$WORK/containers.conf"
pod() { timeout "${POD_TIMEOUT:-120}" podman "$@"; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$PROXY_PORT" "$BACKEND_PORT" "$ADMIN_PORT"; do
  if port_busy "$port"; then fatal "port 127.0.0.1:$port is busy (set PORT_BASE)"; fi
done

# http CODE-FILE URL [curl args]: prints the status code, body to CODE-FILE.
http() {
  local out=$1 url=$2
  shift 2
  curl -s -m 5 -o "$out" -w '%{http_code}' "$@" "$url" || true
}

# ---- the binary (host build) or the Swift build stage
target=runtime-prebuilt
if pod image exists "$SWIFT_IMAGE"; then
  target=runtime
  note "image build: the Dockerfile's Swift stage on $SWIFT_IMAGE"
fi
if [ -n "${PORTCULLIS_BINARY:-}" ]; then
  BIN=$PORTCULLIS_BINARY
  note "binary: $BIN (given)"
else
  build_started=$(date +%s)
  scratch=${PORTCULLIS_SCRATCH:-$ROOT/.build-container}
  note "binary: swift build -c release --static-swift-stdlib --product portcullis --scratch-path $scratch"
  build_flags=(-c release --static-swift-stdlib --product portcullis --scratch-path "$scratch")
  # Bounded: SwiftPM waits without end for a scratch path that another swift build or test holds.
  timeout 1800 nice -n 10 swift build "${build_flags[@]}" >"$WORK/swift-build.log" 2>&1 \
    || { tail -30 "$WORK/swift-build.log"; fatal "host build (timeout 30 min; is $scratch in use by another swift build?)"; }
  BIN="$(timeout 120 swift build "${build_flags[@]}" --show-bin-path)/portcullis"
  note "host build: $(since "$build_started")"
fi
[ -x "$BIN" ] || fatal "binary $BIN is missing"
if ldd "$BIN" | grep -q libswiftCore; then
  fatal "binary $BIN links the Swift runtime dynamically: build it with --static-swift-stdlib"
fi
pass "binary: release, Swift runtime linked statically ($(du -m "$BIN" | cut -f1) MB)"

# What this build of portcullis has: `probe` and the `admin` key land on their own.
has_probe=0
if "$BIN" --help | grep -qE '^ +probe( |$)'; then has_probe=1; fi
printf 'listeners: [{address: "127.0.0.1:%s"}]\nupstream: {url: "http://127.0.0.1:%s"}\nadmin: {address: "127.0.0.1:%s"}\n' \
  "$PROXY_PORT" "$BACKEND_PORT" "$ADMIN_PORT" >"$WORK/admin-probe.yaml"
has_admin=0
if "$BIN" check --config "$WORK/admin-probe.yaml" >/dev/null 2>&1; then has_admin=1; fi
case "${PORTCULLIS_READINESS:-auto}" in
  auto) ;;
  path) has_admin=0 ;;
  admin) has_admin=1 ;;
  *) fatal "PORTCULLIS_READINESS must be auto, admin or path" ;;
esac
if [ "$has_admin" = 1 ]; then
  note "readiness: admin listener, GET http://127.0.0.1:$ADMIN_PORT/readyz"
  ready_url=http://127.0.0.1:$ADMIN_PORT/readyz
else
  why="this build does not know the admin key"
  [ "${PORTCULLIS_READINESS:-auto}" = path ] && why="PORTCULLIS_READINESS=path"
  note "readiness: readiness_path /.portcullis/ready on the proxy port ($why)"
  ready_url=http://127.0.0.1:$PROXY_PORT/.portcullis/ready
fi
if [ "$has_probe" = 1 ]; then note "healthcheck: portcullis probe"; else note "healthcheck: no probe command in this build; curl from the host"; fi

# ---- the runtime base image, made once from Debian's packages
if pod image exists "$RUNTIME_IMAGE"; then
  note "base image: $RUNTIME_IMAGE (cached)"
else
  [ "$RUNTIME_IMAGE" = localhost/portcullis-base:bookworm ] \
    || fatal "base image $RUNTIME_IMAGE does not exist here"
  command -v debootstrap >/dev/null || fatal "prerequisite: debootstrap is not installed (apt-get install debootstrap)"
  base_started=$(date +%s)
  note "base image: debootstrap --variant=minbase bookworm ($DEBIAN_MIRROR)"
  timeout 600 debootstrap --variant=minbase bookworm "$WORK/rootfs" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; fatal "debootstrap"; }
  # Like debian:bookworm-slim: no package lists or caches, the updates and security suites.
  rm -rf "$WORK/rootfs/var/lib/apt/lists/"* "$WORK/rootfs/var/cache/apt/"*.bin \
    "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/etc/apt/sources.list"
  mirror_host=${DEBIAN_MIRROR%/debian}
  cat >"$WORK/rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $mirror_host/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  tar -C "$WORK/rootfs" -c . | pod import --change 'CMD ["bash"]' - "$RUNTIME_IMAGE" >"$WORK/import.log" 2>&1 \
    || { tail -5 "$WORK/import.log"; fatal "podman import of the base image"; }
  rm -rf "$WORK/rootfs"
  pass "base image $RUNTIME_IMAGE made ($(since "$base_started"))"
fi

# ---- the image
image_started=$(date +%s)
old_image=$(pod image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
build_args=(--format docker --pull=never --network host --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" --target "$target" -t "$IMAGE")
if [ "$target" = runtime ]; then
  build_args+=(--build-arg "SWIFT_IMAGE=$SWIFT_IMAGE")
else
  mkdir -p "$WORK/prebuilt"
  cp "$BIN" "$WORK/prebuilt/portcullis"
  build_args+=(--build-context "prebuilt=$WORK/prebuilt")
fi
note "podman build ${build_args[*]} ."
POD_TIMEOUT=1800 pod build "${build_args[@]}" . >"$WORK/image-build.log" 2>&1 \
  || { tail -30 "$WORK/image-build.log"; fatal "image build"; }
new_image=$(pod image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old_image" ] && [ "$old_image" != "$new_image" ]; then
  pod rmi "$old_image" >/dev/null 2>&1 || true   # the previous run's image, now untagged
fi
pass "image $IMAGE built (target $target, $(pod image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1000000}'), $(since "$image_started"))"

config=$(pod image inspect --format '{{.Config.User}} {{.Config.StopSignal}} {{json .Config.ExposedPorts}}' "$IMAGE")
case "$config" in
  "65532:65532 SIGTERM "*8080/tcp*) pass "image: user 65532:65532, STOPSIGNAL SIGTERM, EXPOSE 8080" ;;
  *) fail "image: user, stop signal, ports are '$config'" ;;
esac
healthcheck=$(pod image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
if [[ "$healthcheck" == *'"/usr/local/bin/portcullis","probe","http://127.0.0.1:9901/readyz"'* ]]; then
  pass "image: HEALTHCHECK runs portcullis probe http://127.0.0.1:9901/readyz"
else
  fail "image: HEALTHCHECK is $healthcheck"
fi
if pod run --rm --network none --read-only --read-only-tmpfs=false "$IMAGE" check \
  --config /etc/portcullis/portcullis.yaml >"$WORK/default-check.log" 2>&1; then
  pass "image: its default /etc/portcullis/portcullis.yaml passes portcullis check"
elif [ "$has_admin" = 0 ]; then
  note "image: default config not checked: it sets admin.address, which this build does not know yet"
else
  fail "image: default config: $(cat "$WORK/default-check.log")"
fi

# ---- the config directory the container mounts
mkdir -p "$WORK/etc"
cp config/examples/demo-jwks.json "$WORK/etc/demo-jwks.json"
{
  cat <<EOF
# Written by scripts/container-test.sh: the demo issuer, loopback allowed, X-Forwarded-For
# believed from loopback so that a test can play a client from another network.
listeners:
  - address: 127.0.0.1:$PROXY_PORT
upstream:
  url: http://127.0.0.1:$BACKEND_PORT
workers: 1
timeouts:
  drain: 5s
client_ip:
  trusted_proxies: [127.0.0.1/32]
  header: x-forwarded-for
network:
  default_action: deny
  rules:
    - {name: loopback, priority: 100, action: allow, cidrs: [127.0.0.0/8]}
auth:
  unauthenticated_action: reject
  issuers:
    - issuer: https://demo.portcullis.local/
      jwks_file: /etc/portcullis/demo-jwks.json
      audiences: [api://service-b]
      algorithms: [ES256]
  authorization:
    required_roles: [Data.Read]
EOF
  if [ "$has_admin" = 1 ]; then
    printf 'admin:\n  address: 127.0.0.1:%s\n' "$ADMIN_PORT"
  else
    printf 'readiness_path: /.portcullis/ready\n'
  fi
} >"$WORK/etc/portcullis.yaml"
chmod 0755 "$WORK/etc"
chmod 0644 "$WORK/etc/"*

# ---- the demo backend on the host's loopback
"$BIN" backend --host 127.0.0.1 --port "$BACKEND_PORT" >"$WORK/backend.log" 2>&1 &
backend_pid=$!
for _ in $(seq 50); do port_busy "$BACKEND_PORT" && break; sleep 0.1; done
port_busy "$BACKEND_PORT" || fatal "demo backend did not listen on 127.0.0.1:$BACKEND_PORT"

# ---- the container
run_args=(-d --name "$NAME" --runtime runc --network host
  --read-only --read-only-tmpfs=false --cap-drop ALL --security-opt no-new-privileges
  -v "$WORK/etc:/etc/portcullis:ro"
  --health-interval disable)   # no timers (no systemd here); `podman healthcheck run` below
if [ "$has_probe" = 1 ]; then
  # The image's command with this run's readiness URL (9901 may belong to someone else here).
  run_args+=(--health-cmd "[\"/usr/local/bin/portcullis\",\"probe\",\"$ready_url\",\"--timeout\",\"2s\"]")
fi
# podman's own complaints (no systemd here for health timers) go to a log shown on failure.
pod run "${run_args[@]}" "$IMAGE" >/dev/null 2>>"$WORK/podman.log" || { cat "$WORK/podman.log"; fatal "podman run"; }
container_made=1

running() { [ "$(pod inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]; }
wait_ready() {
  for _ in $(seq 100); do
    [ "$(http /dev/null "$ready_url")" = 200 ] && return 0
    running || return 1
    sleep 0.1
  done
  return 1
}
if wait_ready; then pass "ready: GET $ready_url → 200"; else fatal "not ready within 10 s: GET $ready_url"; fi

pid=$(pod inspect --format '{{.State.Pid}}' "$NAME")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[ "$uid" = 65532 ] && pass "runs as uid 65532" || fail "runs as uid $uid"
root_options=$(awk '$2 == "/" {o = $4} END {print o}' "/proc/$pid/mounts")
if [[ ",$root_options," == *,ro,* ]] && ! awk '$3 == "tmpfs" {print $2}' "/proc/$pid/mounts" | grep -qE '^/(tmp|var/tmp|run)$'; then
  pass "root filesystem read-only, no tmpfs on /tmp, /var/tmp or /run"
else
  fail "root filesystem options '$root_options' or a writable tmpfs: $(awk '$3 == "tmpfs" {print $2}' "/proc/$pid/mounts" | tr '\n' ' ')"
fi
caps=$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")
[ "$caps" = 0000000000000000 ] && pass "no effective capabilities" || fail "effective capabilities $caps"

if [ "$has_admin" = 1 ]; then
  code=$(http /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz")
  [ "$code" = 200 ] && pass "live: GET /healthz → 200" || fail "GET /healthz → $code"
fi
if [ "$has_probe" = 1 ]; then
  if health=$(pod healthcheck run "$NAME" 2>&1); then
    pass "podman healthcheck run (portcullis probe $ready_url) → ${health:-healthy}"
  else
    fail "podman healthcheck run → $health"
  fi
fi

# ---- traffic
token() { "$BIN" token mint --key config/examples/demo-signing-key.pem --kid demo-key --claims "$1"; }
good=$(token '{"iss":"https://demo.portcullis.local/","aud":"api://service-b","exp":4102444800,"azp":"service-a","oid":"oid-1","roles":["Data.Read"]}')
norole=$(token '{"iss":"https://demo.portcullis.local/","aud":"api://service-b","exp":4102444800,"azp":"service-a","oid":"oid-1","roles":[]}')
proxy=http://127.0.0.1:$PROXY_PORT

code=$(http "$WORK/body" "$proxy/orders?id=7" -H "Authorization: Bearer $good")
if [ "$code" = 200 ] && grep -q '"target":"/orders?id=7"' "$WORK/body" && grep -qi 'X-MS-CLIENT-PRINCIPAL-ID' "$WORK/body"; then
  pass "allowed: token with Data.Read → 200, the backend's echo with the Easy Auth identity"
else
  fail "allowed request → $code: $(head -c 300 "$WORK/body")"
fi
code=$(http /dev/null "$proxy/orders")
[ "$code" = 401 ] && pass "denied: no token → 401" || fail "no token → $code"
code=$(http /dev/null "$proxy/orders" -H "Authorization: Bearer $norole")
[ "$code" = 403 ] && pass "denied: token without the role → 403" || fail "token without the role → $code"
code=$(http /dev/null "$proxy/orders" -H "Authorization: Bearer $good" -H 'X-Forwarded-For: 192.0.2.7')
[ "$code" = 403 ] && pass "denied: client 192.0.2.7 (no rule allows it) → 403" || fail "denied network → $code"
# The loop writes its lines at the end of each turn; conmon stores them a moment later.
# Read the whole log before matching: with pipefail, grep -q closing the pipe early would make
# podman's SIGPIPE fail the check although the line is there.
logged() { local out; out=$(pod logs "$NAME" 2>/dev/null) && grep -q '"path":"/orders".*"status":200' <<<"$out"; }
for _ in $(seq 50); do logged && break; sleep 0.1; done
if logged; then
  pass "access log: JSON lines on stdout (podman logs)"
else
  fail "access log: no JSON line for the allowed request in podman logs"
fi

# ---- SIGTERM with a request in flight: it finishes, new connections are refused, exit 0
exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT"
printf 'POST /in-flight HTTP/1.1\r\nHost: app\r\nAuthorization: Bearer %s\r\nContent-Length: 5\r\nConnection: close\r\n\r\nab' "$good" >&3
sleep 0.3
pod kill --signal TERM "$NAME" >/dev/null 2>>"$WORK/podman.log"
sleep 0.5
if running; then
  code=$(http /dev/null "$proxy/after-term" -H "Authorization: Bearer $good")
  [ "$code" = 000 ] && pass "after SIGTERM: new connections refused" || fail "after SIGTERM a new request got $code"
fi
printf 'cde' >&3
status_line=$(timeout 10 head -1 <&3 | tr -d '\r' || true)
exec 3<&-
[[ "$status_line" == "HTTP/1.1 200"* ]] && pass "after SIGTERM: the request in flight finished → 200" \
  || fail "after SIGTERM the request in flight got '$status_line'"

wait_exit() {
  for _ in $(seq 150); do running || return 0; sleep 0.1; done
  return 1
}
exit_code() { pod inspect --format '{{.State.ExitCode}}' "$NAME"; }
if wait_exit; then
  code=$(exit_code)
  [ "$code" = 0 ] && pass "podman kill --signal TERM: drained and exited 0" || fail "after SIGTERM exit code $code"
else
  fail "still running 15 s after SIGTERM"
fi

# podman stop sends the image's STOPSIGNAL and waits (here 15 s) before SIGKILL (exit 137).
pod start "$NAME" >/dev/null 2>>"$WORK/podman.log" || { cat "$WORK/podman.log"; fatal "podman start"; }
wait_ready || fatal "not ready again after podman start"
stop_started=$(date +%s%N)
pod stop -t 15 "$NAME" >/dev/null 2>>"$WORK/podman.log"
stop_ms=$(( ($(date +%s%N) - stop_started) / 1000000 ))
code=$(exit_code)
[ "$code" = 0 ] && pass "podman stop: exited 0 in ${stop_ms} ms" || fail "podman stop: exit code $code after ${stop_ms} ms"
