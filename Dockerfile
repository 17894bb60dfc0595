# syntax=docker/dockerfile:1
# The operator image: TypeScript type-checked and bundled in a build stage, and only dist/ and
# package.json on a distroless Node 22 runtime (no shell, no npm, no package manager, no
# node_modules: the bundle holds the production dependencies), running as the non-root user 65532 (the chart's runAsUser)
# on a read-only root filesystem. Node is PID 1 and handles SIGTERM itself (src/runtime/signals).
#
# The bases are pinned by tag; a build argument overrides each. The tests build with local copies
# of both (test/image/build-base.sh), since no registry can be reached there.
ARG BUILD_BASE=node:22.23.5-bookworm-slim
ARG RUNTIME_BASE=gcr.io/distroless/nodejs22-debian12:nonroot
# VERSION must be package.json's version (`npm run image` passes it): the build stops otherwise,
# so the image's version label can never disagree with what `--version` prints.
ARG VERSION

FROM ${BUILD_BASE} AS build
ARG VERSION
WORKDIR /app
# Manifests first, so the dependency layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
RUN test -n "$VERSION" && test "$VERSION" = "$(node -p 'require("./package.json").version')" \
    || { echo "build argument VERSION=$VERSION is not package.json's version" >&2; exit 1; }
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc type-checks src/; esbuild bundles src/main.ts and the production dependencies into
# dist/main.js (+ its source map). One bundled file loads in a quarter of the time the package
# tree takes and keeps far less code resident: @kubernetes/client-node's generated APIs and
# models are evaluated whole either way, but bundled they are one module with one scope and no
# comments (docs/benchmarks.md, round four: bundling).
RUN npm run build

FROM ${RUNTIME_BASE}
ARG VERSION
ARG REVISION=unknown
ARG RUNTIME_BASE
LABEL org.opencontainers.image.title="influx-onboarding-operator" \
      org.opencontainers.image.description="Kubernetes operator that onboards InfluxDB 2.x declaratively and keeps the admin token in a Secret" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${RUNTIME_BASE}"
# How the operator's process runs is set here and only here (this ENV and the ENTRYPOINT's Node
# options): the benchmark (bench/harness.ts) starts `node dist/main.js` with exactly these, so that it
# measures what ships (docs/benchmarks.md, round four, has the figures behind them).
# MALLOC_ARENA_MAX=1: one glibc malloc arena instead of one per thread (up to 8 per core); memory
# freed after a burst (onboarding thousands at once) stays in the arena that held it, and more
# arenas keep more of it. No Node options: a smaller young generation (--max-semi-space-size=2)
# lowered the peak of 500 resources but raised both the peak and the RSS after GC of 10,000.
ENV NODE_ENV=production MALLOC_ARENA_MAX=1
WORKDIR /app
# package.json: the operator reads its version from it (src/version.ts) and Node its "type".
COPY package.json ./
COPY --from=build /app/dist ./dist
# Files stay owned by root: the operator can read its code but not change it.
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "dist/main.js"]
