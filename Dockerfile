# LLM Fusion Engine: build the single binary, run it with Kore's privilege
# separation (parent as root; workers and key manager as user "fusion",
# chrooted).
#
#   DOCKER_BUILDKIT=1 docker build -t llm-fusion-engine .
#
# Behind a TLS-inspecting proxy the build's npm ci must trust the proxy's
# CA: hand the build host's CA bundle in as a BuildKit secret (it is
# mounted for the one step that needs it and stays out of every layer):
#
#   DOCKER_BUILDKIT=1 docker build \
#       --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt \
#       -t llm-fusion-engine .
#
# Without the secret the build trusts Debian's CA certificates alone.
# (Docker 23 and later build with BuildKit by default; Debian 12's
# docker.io needs DOCKER_BUILDKIT=1.)

FROM debian:bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends build-essential kore libcurl4-openssl-dev \
        libsqlite3-dev libsodium-dev libssl-dev libpq-dev ca-certificates \
        nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY conf ./conf
COPY src ./src
COPY cert ./cert
COPY assets ./assets
COPY web ./web
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then \
        export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; fi; \
    make fusion

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends libssl3 libcurl4 libsqlite3-0 libsodium23 \
        libpq5 \
        ca-certificates curl tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin fusion
WORKDIR /app
COPY --from=build /src/fusion /app/fusion
COPY --from=build /src/cert /app/cert
RUN mkdir -p /app/data && chown fusion:fusion /app/data /app/cert/key.pem \
    && chmod 0755 /app/data && chmod 0600 /app/cert/key.pem
ENV DB_PATH=/app/data/fusion.db \
    FUSION_USER=fusion \
    PORT=8080 \
    TLS_PORT=8443
VOLUME ["/app/data"]
EXPOSE 8080 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD curl -fsS "http://127.0.0.1:${PORT}/healthz" || exit 1
CMD ["/app/fusion", "-f"]
