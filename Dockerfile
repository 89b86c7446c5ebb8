# Build and run Portcullis as a sidecar container.
#   docker build -t portcullis .
#   docker run --rm --network host -v "$PWD/config:/etc/portcullis:ro" portcullis
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        libssl-dev libnghttp2-dev libcurl4-openssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product portcullis --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/portcullis" /portcullis

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libssl3 libnghttp2-14 libcurl4 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home --uid 10001 portcullis
COPY --from=build /portcullis /usr/local/bin/portcullis
COPY config/portcullis.yaml /etc/portcullis/portcullis.yaml
USER 10001
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve", "--config", "/etc/portcullis/portcullis.yaml"]
