#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the whole lockdown on this machine (the
# dev issuer, Service B behind its ingress sidecar, Service A's egress sidecar), print the table
# of calls and outcomes, and keep it running. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec ./scripts/seed-demo.sh
