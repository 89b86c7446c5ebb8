#!/usr/bin/env bash
# Installs the C libraries Portcullis links (and the tools its tests and load runs use) on Debian 12,
# and the Python `h2` package the HTTP/2 flood tests build their raw frames with.
set -euo pipefail
packages=(libssl-dev libnghttp2-dev libcurl4-openssl-dev pkg-config curl openssl nghttp2-client)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

# gRPC round trips in the tests use Python's grpcio (a small peer in Tests/ProxyTests/Fixtures).
if ! python3 -c 'import grpc' >/dev/null 2>&1; then
  python3 -m pip install -q grpcio || python3 -m pip install -q --break-system-packages grpcio
fi

# Tests/ProxyTests/Fixtures/h2flood.py: hpack (and h2) from PyPI, installed only when missing.
if ! python3 -c 'import h2, hpack' >/dev/null 2>&1; then
  python3 -m pip install -q h2 || python3 -m pip install -q --break-system-packages h2
fi

# Tests/MetricsTests: /metrics is read back by prometheus_client's text parser, installed only when missing.
if ! python3 -c 'import prometheus_client' >/dev/null 2>&1; then
  python3 -m pip install -q prometheus-client || python3 -m pip install -q --break-system-packages prometheus-client
fi

# Tests/DevIssuerTests/Fixtures/ms_clients.py: Microsoft's own clients get tokens from the dev issuer
# as apps do (MSAL Python, and azure-identity, which builds on it), each installed only when missing.
if ! python3 -c 'import msal' >/dev/null 2>&1; then
  python3 -m pip install -q msal || python3 -m pip install -q --break-system-packages msal
fi
if ! python3 -c 'import azure.identity' >/dev/null 2>&1; then
  python3 -m pip install -q azure-identity || python3 -m pip install -q --break-system-packages azure-identity
fi

# deploy/check-manifests.py checks the Kubernetes manifests against the `kubernetes` client's models.
# (podman, which scripts/container-test.sh needs, is deliberately not installed here: too heavy for CI.)
if ! python3 -c 'import kubernetes' >/dev/null 2>&1; then
  python3 -m pip install -q kubernetes || python3 -m pip install -q --break-system-packages kubernetes
fi
