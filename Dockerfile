# LLM Fusion Engine: build the single binary, run it with Kore's privilege
# separation (parent as root; workers and key manager as user "fusion",
# chrooted).

FROM debian:bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends build-essential kore libcurl4-openssl-dev \
        libsqlite3-dev libsodium-dev libssl-dev ca-certificates nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY conf ./conf
COPY src ./src
COPY cert ./cert
COPY assets ./assets
COPY web ./web
RUN make fusion

FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends libssl3 libcurl4 libsqlite3-0 libsodium23 \
        ca-certificates \
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
CMD ["/app/fusion", "-f"]
