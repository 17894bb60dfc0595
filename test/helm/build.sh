#!/usr/bin/env bash
# Builds the helm CLI pinned by this folder's go.mod/go.sum (the `tool` directive) into a
# git-ignored cache, so the chart tests run the same helm everywhere without a download step.
# The cache key is the hash of go.mod + go.sum + this script: a warm cache makes this a no-op.
# Progress goes to stderr; the binary path is the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
key=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
dir="${HELM_CACHE:-$root/.cache/helm}/$key"
if [ -x "$dir/helm" ]; then echo "$dir/helm"; exit 0; fi

cd "$here"
helm_version=$(go list -m -f '{{.Version}}' helm.sh/helm/v3)
client_go=$(go list -m -f '{{.Version}}' k8s.io/client-go)
# The same ldflags as upstream's Makefile: without them `helm version` prints a bare "v3.NN" and
# `helm template`/`helm lint` assume Kubernetes 1.20 for .Capabilities.KubeVersion and for the
# deprecated-API check. Upstream derives the Kubernetes version from client-go (v0.X.Y -> 1.X).
k8s_minor=$(echo "$client_go" | cut -d. -f2)
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version \
 -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags="$ldflags -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$k8s_minor"
done

mkdir -p "$dir"
t0=$(date +%s)
echo "helm: building $helm_version (Kubernetes 1.$k8s_minor libraries) into $dir" >&2
# A heartbeat, so a long compile never looks like a hang.
( while sleep 60; do echo "helm: still building ($(( $(date +%s) - t0 ))s)" >&2; done ) &
beat=$!
trap 'kill "$beat" 2>/dev/null || true' EXIT
# Build to a temporary name and rename, so an interrupted build never leaves a "present" binary.
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$dir/helm.partial" helm.sh/helm/v3/cmd/helm
mv "$dir/helm.partial" "$dir/helm"
echo "helm: built $helm_version in $(( $(date +%s) - t0 ))s" >&2
echo "$dir/helm"
