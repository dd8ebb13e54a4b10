# syntax=docker/dockerfile:1
# Firewatch's container image: the one binary (glibc, rustls) on a distroless base, non-root.
# Build:  docker build -t ghcr.io/firewatch/firewatch:latest .
# The Kubernetes manifests (deploy/kubernetes) reference this image.

# --- build stage -------------------------------------------------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
# The whole workspace (see .dockerignore for what stays out); no build script needs system
# libraries (TLS is rustls), so the stock toolchain image is enough.
COPY . .
# BuildKit cache mounts (the syntax line above) keep the registry and target between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p firewatch \
    && install -D -m 0755 target/release/firewatch /out/firewatch \
    && mkdir -p /out/data

# --- final stage -------------------------------------------------------------------------------
# glibc, libgcc and CA certificates, no shell; user 65532 (nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/firewatch /firewatch
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
# server 9090, alertmanager 9093 (9094 cluster), node exporter 9100, container/kube-state 8080
EXPOSE 9090 9093 9094 9100 8080
ENTRYPOINT ["/firewatch"]
