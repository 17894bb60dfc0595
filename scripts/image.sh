#!/usr/bin/env bash
# npm run image [-- --local-base]: builds the operator image from Dockerfile into buildah's local
# (vfs) storage as influx-onboarding-operator:<package.json version>, with no Docker daemon.
# --local-base builds on the local copies of the bases (test/image/build-base.sh) instead of the
# upstream ones the Dockerfile names, for machines that reach no container registry.
# Prints the image name on its last stdout line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=$(node -p 'require("./package.json").version')
image=localhost/influx-onboarding-operator:$version
args=(--build-arg "VERSION=$version" --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)")
if [ "${1:-}" = --local-base ]; then
  bases=$(bash test/image/build-base.sh | tail -n 2)
  args+=(--build-arg "BUILD_BASE=$(sed -n 1p <<<"$bases")" --build-arg "RUNTIME_BASE=$(sed -n 2p <<<"$bases")")
fi
t0=$(date +%s)
previous=$(buildah --storage-driver vfs images --quiet --no-trunc "$image" 2>/dev/null || true)
# --isolation chroot: RUN steps need no container runtime; vfs: no overlay mounts needed either.
buildah --storage-driver vfs bud --isolation chroot --quiet "${args[@]}" -t "$image" . >&2
# vfs keeps full copies: the image this build replaced under the tag would stay as ~230 MB of
# untagged leftovers per build. Kept if a container still uses it.
current=$(buildah --storage-driver vfs images --quiet --no-trunc "$image")
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  buildah --storage-driver vfs rmi "$previous" >/dev/null 2>&1 || true
fi
echo "image: built $image in $(( $(date +%s) - t0 ))s" >&2
echo "$image"
