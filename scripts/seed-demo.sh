#!/usr/bin/env bash
# The whole lockdown on one machine: a dev issuer shaped like Entra ID, Service B's echo backend
# behind an ingress Portcullis (network rules + token rules), and Service A's egress Portcullis
# holding A's credentials. Prints a table of calls and their outcomes, then the curl lines to
# try by hand, and keeps everything running until Ctrl-C.
#
#   scripts/seed-demo.sh                   # builds (release) and runs; Ctrl-C stops everything
#   CHECK=1 scripts/seed-demo.sh           # runs the table, exits 0 only if every row is as expected
#   PORTCULLIS_BIN=path scripts/seed-demo.sh   # use this binary instead of building
#   PORT_BASE=29400 scripts/seed-demo.sh   # ports PORT_BASE+0..6 instead of the defaults below
#
# Loopback addresses stand in for networks: 127.0.0.1 and 127.0.0.2 are the "integration
# subnet" B allows; 127.0.0.3 is a quarantined address B denies.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${PORT_BASE:-}" ]; then
  ISSUER_PORT=$PORT_BASE; BACKEND_PORT=$((PORT_BASE + 1)); INGRESS_PORT=$((PORT_BASE + 2))
  EGRESS_PORT=$((PORT_BASE + 3)); INGRESS_ADMIN=$((PORT_BASE + 4)); EGRESS_ADMIN=$((PORT_BASE + 5))
else
  ISSUER_PORT=9400; BACKEND_PORT=8000; INGRESS_PORT=8080; EGRESS_PORT=15001; INGRESS_ADMIN=9901; EGRESS_ADMIN=9902
fi
CHECK=${CHECK:-0}

for p in "$ISSUER_PORT" "$BACKEND_PORT" "$INGRESS_PORT" "$EGRESS_PORT" "$INGRESS_ADMIN" "$EGRESS_ADMIN"; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$p") 2>/dev/null; then
    echo "127.0.0.1:$p is already in use; pick free ports with PORT_BASE=..." >&2
    exit 1
  fi
done

if [ -n "${PORTCULLIS_BIN:-}" ]; then
  bin=$PORTCULLIS_BIN
else
  echo "building portcullis (release)..." >&2
  swift build -c release --product portcullis >&2
  bin=$(swift build -c release --show-bin-path)/portcullis
fi
command -v curl >/dev/null || { echo "seed-demo.sh needs curl (scripts/setup.sh installs it)" >&2; exit 1; }

work=$(mktemp -d /tmp/portcullis-seed.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
A=aaaaaaaa-0000-4000-8000-00000000000a   # Service A: allowed application, holds Reader
X=cccccccc-0000-4000-8000-00000000000c   # Service X: allowed application, no role
Z=eeeeeeee-0000-4000-8000-00000000000e   # Service Z: holds Reader, not an allowed application
B=bbbbbbbb-0000-4000-8000-00000000000b   # Service B, the API
ISSUER=http://127.0.0.1:$ISSUER_PORT
printf 'demo-secret-a\n' >"$work/service-a-secret"; chmod 600 "$work/service-a-secret"

cat >"$work/dev-issuer.yaml" <<YAML
listen: 127.0.0.1:$ISSUER_PORT
tenant_id: $TENANT
clients:
  - {name: service-a, client_id: $A, client_secret: demo-secret-a}
  - {name: service-x, client_id: $X, client_secret: demo-secret-x}
  - {name: service-z, client_id: $Z, client_secret: demo-secret-z}
applications:
  - name: service-b
    client_id: $B
    identifier_uris: ["api://service-b"]
    access_token_version: 2
    app_roles: [Reader, Writer]
role_assignments:
  - {client: service-a, application: service-b, roles: [Reader]}
  - {client: service-z, application: service-b, roles: [Reader]}
YAML

cat >"$work/service-b.yaml" <<YAML
# Service B's sidecar: only the integration subnet, only tokens for B from A or X with Reader.
listeners: [{address: 127.0.0.1:$INGRESS_PORT}]
upstream: {url: "http://127.0.0.1:$BACKEND_PORT"}
workers: 1
admin: {address: 127.0.0.1:$INGRESS_ADMIN}
network:
  default_action: deny
  rules:
    - {name: integration-subnet, priority: 100, action: allow, cidrs: [127.0.0.1/32, 127.0.0.2/32]}
    - {name: quarantined, priority: 50, action: deny, cidrs: [127.0.0.3/32]}
auth:
  issuers:
    - issuer: $ISSUER/$TENANT/v2.0
      discovery_url: $ISSUER/$TENANT/v2.0/.well-known/openid-configuration
      audiences: [$B]
      algorithms: [RS256]
  authorization: {allowed_applications: [$A, $X], required_roles: [Reader]}
  keys: {unknown_kid_interval: 1s}
YAML

cat >"$work/service-a.yaml" <<YAML
# Service A's sidecar: A's app calls http://service-b.internal through it; A's credentials live here.
workers: 1
admin: {address: 127.0.0.1:$EGRESS_ADMIN}
token_sources:
  service-a:
    kind: client_secret
    authority: $ISSUER/$TENANT
    client_id: $A
    client_secret_file: $work/service-a-secret
egress:
  listeners: [{address: 127.0.0.1:$EGRESS_PORT}]
  routes:
    - {host: service-b.internal, upstream: "http://127.0.0.1:$INGRESS_PORT", token: {source: service-a, scope: "api://service-b/.default"}}
YAML

wait_ready() {  # $1: URL that answers 200 once ready; $2: the log to show when it never does
  for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ] && return 0
    sleep 0.1
  done
  echo "not ready after 30 s: $1" >&2
  tail -n 20 "$2" >&2 || true
  return 1
}

"$bin" dev-issuer --config "$work/dev-issuer.yaml" >"$work/dev-issuer.log" 2>&1 & pids+=($!)
wait_ready "$ISSUER/$TENANT/v2.0/.well-known/openid-configuration" "$work/dev-issuer.log"
"$bin" backend --host 127.0.0.1 --port "$BACKEND_PORT" >"$work/backend.log" 2>&1 & pids+=($!)
"$bin" serve --config "$work/service-b.yaml" >"$work/service-b.access.log" 2>"$work/service-b.log" & pids+=($!)
wait_ready "http://127.0.0.1:$INGRESS_ADMIN/readyz" "$work/service-b.log"
"$bin" serve --config "$work/service-a.yaml" >"$work/service-a.access.log" 2>"$work/service-a.log" & pids+=($!)
wait_ready "http://127.0.0.1:$EGRESS_ADMIN/readyz" "$work/service-a.log"

token() {  # $1 client id, $2 secret: a client-credentials token for B, straight from the dev issuer
  curl -s "$ISSUER/$TENANT/oauth2/v2.0/token" -d grant_type=client_credentials -d "client_id=$1" \
    --data-urlencode "client_secret=$2" --data-urlencode "scope=api://service-b/.default" |
    sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p'
}
logged=0
reason=""
read_reason() {  # sets $reason: what Service B's sidecar logged for the request just made
  # A loop writes its log lines when its turn ends, a moment after the answer: wait for the line.
  for _ in $(seq 1 60); do
    [ "$(wc -l <"$work/service-b.access.log")" -gt "$logged" ] && break
    sleep 0.05
  done
  logged=$(wc -l <"$work/service-b.access.log")
  reason=$(tail -n 1 "$work/service-b.access.log" | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p')
}

failures=0
logged=$(wc -l <"$work/service-b.access.log")
printf '\n%-58s %-9s %-7s %s\n' "call" "expected" "got" "reason (Service B's access log)"
row() {  # $1 description, $2 expected status, $3 got status, $4 expected reason
  read_reason
  local mark="ok"
  if [ "$2" != "$3" ] || [ "$4" != "$reason" ]; then mark="UNEXPECTED (wanted $4)"; failures=$((failures + 1)); fi
  printf '%-58s %-9s %-7s %s  %s\n' "$1" "$2" "$3" "$reason" "$mark"
}

got=$(curl -s -o "$work/echo" -w '%{http_code}' -H 'Host: service-b.internal' "http://127.0.0.1:$EGRESS_PORT/orders")
row "A's app -> A's egress sidecar -> B (token attached)" 200 "$got" allowed
# The echo backend answers with the headers it got: B's sidecar named the caller (Easy Auth).
if ! grep -q "\"X-MS-CLIENT-PRINCIPAL-NAME\",\"$A\"" "$work/echo"; then
  echo "  B's backend did not see A's identity:"; sed 's/^/    /' "$work/echo"; failures=$((failures + 1))
fi
got=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$INGRESS_PORT/orders")
row "straight to B, no token" 401 "$got" token_missing
got=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(token "$X" demo-secret-x)" "http://127.0.0.1:$INGRESS_PORT/orders")
row "X's token (allowed application, no Reader role)" 403 "$got" missing_role
got=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(token "$Z" demo-secret-z)" "http://127.0.0.1:$INGRESS_PORT/orders")
row "Z's token (Reader, not an allowed application)" 403 "$got" application_not_allowed
got=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.3 -H "Authorization: Bearer $(token "$A" demo-secret-a)" "http://127.0.0.1:$INGRESS_PORT/orders")
row "A's token from 127.0.0.3 (quarantined address)" 403 "$got" network_denied
# Rotation: the dev issuer signs with a new key; B sees its kid, fetches the keys once, accepts it.
curl -s -X POST -o /dev/null "$ISSUER/admin/rotate"
rotated=$(token "$A" demo-secret-a)
for _ in $(seq 1 30); do
  got=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $rotated" "http://127.0.0.1:$INGRESS_PORT/orders")
  [ "$got" = 200 ] && break
  read_reason  # the refused attempt's line (unknown_kid while the keys are refetched)
  sleep 0.2
done
row "A's token signed by a rotated key (B refetches its keys)" 200 "$got" allowed

echo
if [ "$CHECK" = 1 ]; then
  [ "$failures" = 0 ] && echo "seed demo: every call as expected" || echo "seed demo: $failures unexpected"
  exit $(( failures > 0 ))
fi
cat <<TRY
Everything keeps running until Ctrl-C. Try by hand:
  curl -i -H 'Host: service-b.internal' http://127.0.0.1:$EGRESS_PORT/hello        # as A's app: through the egress sidecar
  curl -i http://127.0.0.1:$INGRESS_PORT/hello                                       # no token: 401
  curl -s http://127.0.0.1:$INGRESS_ADMIN/metrics | grep portcullis_requests_total  # B's sidecar counts
  curl -s -X POST $ISSUER/admin/rotate                                              # rotate the issuer's key
Logs and configs: $work
TRY
wait
