#!/usr/bin/env bash
# Builds the real control plane (etcd, kube-apiserver, kube-controller-manager, kubectl) from the
# Go modules pinned in this folder's go.mod/go.sum into a git-ignored cache. The cache key is the
# hash of go.mod + go.sum + this script, so a warm cache makes this a no-op.
# Prints the bin folder on the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
key=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
bin="${CONTROLPLANE_CACHE:-$root/.cache/controlplane}/$key/bin"
binaries=(etcd kube-apiserver kube-controller-manager kubectl)

complete=1
for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || complete=0; done
if [ "$complete" = 1 ]; then echo "$bin"; exit 0; fi

cd "$here"
kube_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
minor=$(echo "$kube_version" | cut -d. -f2)
v=k8s.io/component-base/version
kube_ldflags="-s -w -X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=$minor \
 -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
declare -A pkg=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
)
mkdir -p "$bin.partial"
start=$(date +%s)
echo "control plane: building Kubernetes $kube_version and etcd $etcd_version into $bin" >&2
echo "control plane: a cold build takes 15-30 minutes on 2 cores; later runs reuse the cache" >&2
for b in "${binaries[@]}"; do
  [ -x "$bin.partial/$b" ] && continue
  t0=$(date +%s)
  echo "control plane: building $b ..." >&2
  ldflags="$kube_ldflags"; [ "$b" = etcd ] && ldflags="-s -w"
  # A heartbeat, so a long compile never looks like a hang.
  ( while sleep 60; do echo "control plane: still building $b ($(( $(date +%s) - t0 ))s)" >&2; done ) &
  beat=$!
  if ! CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin.partial/$b" "${pkg[$b]}"; then
    kill "$beat" 2>/dev/null; exit 1
  fi
  kill "$beat" 2>/dev/null || true
  echo "control plane: built $b in $(( $(date +%s) - t0 ))s" >&2
done
rm -rf "$bin"; mv "$bin.partial" "$bin"
echo "control plane: all binaries ready in $(( $(date +%s) - start ))s" >&2
echo "$bin"
