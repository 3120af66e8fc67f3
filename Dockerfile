# hwcost as a container: the release binary on a distroless runtime, serving on 0.0.0.0:8080 as a
# non-root user. The catalog is compiled into the binary, so the image holds nothing else.
#
#   docker build -t hwcost:0.1.0 .
#   docker run --rm -p 8080:8080 --read-only --cap-drop ALL hwcost:0.1.0
#
# Linted by .ci/fleet.sh (hadolint), which also builds and smoke-tests the image where a Docker
# daemon is available. Kubernetes manifests: deploy/kubernetes/.

# ---- build -------------------------------------------------------------------------------------
# Debian 12 (bookworm) on both sides, so the binary links against the glibc it runs with.
# rust:*-slim brings gcc and libc6-dev, which zstd-sys (actix-web's compression) needs; nothing
# else comes from outside crates.io.
FROM rust:1.95.0-slim-bookworm AS builder
WORKDIR /build

# Dependencies first, in their own layer: built against placeholder sources, so this layer is
# reused until Cargo.toml or Cargo.lock change. Every target Cargo.toml declares by `path` (the
# [[bench]]es today) must exist for the manifest to load, so each gets a placeholder too.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && { grep -oE '^path = "[^"]+[.]rs"' Cargo.toml || true; } | cut -d '"' -f 2 | while read -r target; do \
           mkdir -p "$(dirname "${target}")" && echo 'fn main() {}' > "${target}"; \
       done \
    && cargo build --release --locked \
    && rm -rf src

# The real sources; build.rs embeds data/ into the binary. COPY keeps the files' own mtimes, which
# may be older than the placeholder build, so hwcost's fingerprints go: cargo rebuilds hwcost and
# only hwcost (the dependencies stay as the layer above built them). No optional features:
# transformer-bench (candle) is a development tool, not part of the service.
COPY build.rs ./
COPY data ./data
COPY src ./src
RUN rm -rf target/release/.fingerprint/hwcost-* \
    && cargo build --release --locked \
    && ./target/release/hwcost --version

# ---- runtime -----------------------------------------------------------------------------------
# distroless/cc: glibc, libgcc and CA certificates, no shell, no package manager. The :nonroot
# variant's user is uid/gid 65532, named numerically below so that Kubernetes' runAsNonRoot can
# verify it without reading /etc/passwd.
FROM gcr.io/distroless/cc-debian12:nonroot

LABEL org.opencontainers.image.title="hwcost" \
      org.opencontainers.image.description="Estimates what a model needs from hardware: memory, FLOPs, time, latency, cost" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=builder /build/target/release/hwcost /usr/local/bin/hwcost

# Listen on every interface inside the container; JSON logs for collectors. Drain, shutdown and
# body timeouts keep the binary's defaults here (drain 0: `docker stop` stops at once, in-flight
# requests still finish); deploy/kubernetes/deployment.yaml sets them for a fleet.
ENV HWCOST_ADDR=0.0.0.0:8080 \
    HWCOST_LOG_FORMAT=json

USER 65532:65532
EXPOSE 8080

# The runtime has no curl: the binary checks itself (GET /healthz with std only, exit 0 iff 200).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/hwcost", "healthcheck"]

# hwcost is PID 1 and handles SIGTERM itself: /readyz answers 503 for HWCOST_DRAIN_SECONDS, then
# it stops accepting, finishes in-flight requests and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/hwcost"]
CMD ["serve"]
