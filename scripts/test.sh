#!/usr/bin/env bash
# The whole test suite: the README's second Quick start command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --build-tests
swift test --skip-build
