# syntax=docker/dockerfile:1
# The operator image: TypeScript compiled in a build stage, then only dist/ and the production
# dependencies on a slim Node 20 runtime, running as a non-root user (uid 65532, the chart's
# runAsUser) on a read-only root filesystem.
#
# VERSION must be package.json's version (`npm run image` passes it): the build stops otherwise,
# so the image's version label can never disagree with what `--version` prints.
ARG VERSION

FROM node:20-bookworm-slim AS build
ARG VERSION
WORKDIR /app
# Manifests first, so the dependency layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
RUN test -n "$VERSION" && test "$VERSION" = "$(node -p 'require("./package.json").version')" \
    || { echo "build argument VERSION=$VERSION is not package.json's version" >&2; exit 1; }
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc -p tsconfig.build.json: src/ -> dist/
RUN npm run build

FROM node:20-bookworm-slim
ARG VERSION
ARG REVISION=unknown
LABEL org.opencontainers.image.title="influx-onboarding-operator" \
      org.opencontainers.image.description="Kubernetes operator that onboards InfluxDB 2.x declaratively and keeps the admin token in a Secret" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/node:20-bookworm-slim"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, installed fresh rather than pruned from the build stage so no dev
# package can linger. --ignore-scripts: no runtime dependency needs an install script, and none
# gets to run one. The npm cache is useless in the image.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
# Files stay owned by root: the operator can read its code but not change it.
USER 65532:65532
ENTRYPOINT ["node", "dist/main.js"]
