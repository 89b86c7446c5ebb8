# Portcullis as a sidecar container image.
#
#   docker build -t portcullis .                        # the binary built in the Swift stage below
#   docker build --target runtime-prebuilt --build-context prebuilt=DIR -t portcullis .
#                                                       # DIR/portcullis built on a Debian 12 host
#
# Both paths build the binary with the same command (what scripts/container-test.sh runs on the
# host when no Swift image can be had):
#
#   swift build -c release --static-swift-stdlib --product portcullis
#
# The Swift runtime and Foundation are linked in; OpenSSL, nghttp2 and libcurl are Debian 12's
# shared libraries, so a prebuilt binary must come from a Debian 12 (bookworm) machine.
#
# The base images are build arguments so that a machine without a registry can pass images it
# made itself (scripts/container-test.sh makes its runtime base with debootstrap).
#
# At run time nothing is written: the image works with a read-only root filesystem and no tmpfs.
# The config is read from /etc/portcullis/portcullis.yaml; mount a directory over /etc/portcullis
# (a Kubernetes ConfigMap without subPath) so that edits reach the running proxy.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libssl-dev libnghttp2-dev libcurl4-openssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib --product portcullis \
 && install -D -m 0755 "$(swift build -c release --static-swift-stdlib --show-bin-path)/portcullis" \
        /out/portcullis

# Everything but the binary. The packages are installed only when the base lacks them, so a base
# that already carries them (made offline) needs no package mirror at build time.
FROM ${RUNTIME_IMAGE} AS runtime-base
RUN set -eu; \
    packages="libssl3 libnghttp2-14 libcurl4 ca-certificates"; \
    if ! dpkg -s $packages >/dev/null 2>&1; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages; \
        apt-get clean; rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --system --gid 65532 portcullis; \
    useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin portcullis
COPY deploy/portcullis.yaml /etc/portcullis/portcullis.yaml
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 65532:65532
EXPOSE 8080
# SIGTERM: stop accepting, finish the requests in flight (timeouts.drain), exit 0.
STOPSIGNAL SIGTERM
# The admin listener of the config (admin.address: 127.0.0.1:9901); `probe` exits 0 on a 2xx.
# (Docker image format only: podman build needs --format docker to keep it.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/portcullis", "probe", "http://127.0.0.1:9901/readyz", "--timeout", "2s"]
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve", "--config", "/etc/portcullis/portcullis.yaml"]

# A binary built on the host: --build-context prebuilt=DIR, where DIR holds `portcullis`.
FROM runtime-base AS runtime-prebuilt
COPY --from=prebuilt portcullis /usr/local/bin/portcullis

# The default target (last stage): the binary from the Swift stage.
FROM runtime-base AS runtime
COPY --from=build /out/portcullis /usr/local/bin/portcullis
