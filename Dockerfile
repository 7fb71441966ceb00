# syntax=docker/dockerfile:1
# cni-metrics-helper: a `deno compile` executable in a distroless image.
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/cni-metrics-helper:0.1.0 .
# Deno's version comes from .deno-version, the one pin the README and CI share.

FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS build
ARG TARGETARCH
WORKDIR /src
COPY .deno-version ./
RUN npm install -g "deno@$(cat .deno-version)" && deno --version
COPY deno.json deno.lock ./
COPY main.ts ./
COPY lib ./lib
# dependencies exactly as locked; fails if deno.lock is out of date
RUN deno install --frozen --entrypoint main.ts
# $HOME/.kube and $HOME/.aws in the permission list resolve to the image
# user's home (distroless nonroot)
ENV HOME=/home/nonroot
RUN deno task "compile:${TARGETARCH}" && cp "cni-metrics-helper-${TARGETARCH}" /cni-metrics-helper

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /cni-metrics-helper /cni-metrics-helper
USER 65532:65532
EXPOSE 61681
ENTRYPOINT ["/cni-metrics-helper"]
