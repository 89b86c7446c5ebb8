#!/usr/bin/env bash
# Quick start: install what is missing, build, and run Portcullis on config/portcullis.yaml in
# front of the built-in echo backend. Ctrl-C stops it (graceful drain).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build -c release --product portcullis
exec "$(swift build -c release --show-bin-path)/portcullis" demo --config config/portcullis.yaml
