#!/usr/bin/env bash
# Builds the Kubernetes release pinned in this folder's go.mod/go.sum (and the etcd it pins) into a
# git-ignored cache. Usage: build.sh [binary ...]; default: the control plane (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl). The node tier asks for
# kubelet and kube-proxy as well, so every Kubernetes binary comes from one module at one version.
# The cache key is the hash of go.mod + go.sum + this script, so a warm cache makes this a no-op;
# binaries already built under that key are kept. A lock keeps two builds (two test runs, a demo)
# from writing the same files at once. Prints the bin folder on the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
key=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
cache="${CONTROLPLANE_CACHE:-$root/.cache/controlplane}"
bin="$cache/$key/bin"
declare -A pkg=(
  [etcd]=go.etcd.io/etcd/server/v3
  [kube-apiserver]=k8s.io/kubernetes/cmd/kube-apiserver
  [kube-controller-manager]=k8s.io/kubernetes/cmd/kube-controller-manager
  [kube-scheduler]=k8s.io/kubernetes/cmd/kube-scheduler
  [kubectl]=k8s.io/kubernetes/cmd/kubectl
  [kubelet]=k8s.io/kubernetes/cmd/kubelet
  [kube-proxy]=k8s.io/kubernetes/cmd/kube-proxy
)
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)
for b in "${binaries[@]}"; do
  [ -n "${pkg[$b]:-}" ] || { echo "control plane: no such binary: $b (one of: ${!pkg[*]})" >&2; exit 2; }
done

missing() {
  local b
  for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || echo "$b"; done
}
if [ -z "$(missing)" ]; then echo "$bin"; exit 0; fi

mkdir -p "$bin"
exec 9>"$cache/$key/.lock"
flock 9
# Whoever held the lock before us may have built what we need.
todo=$(missing)
if [ -z "$todo" ]; then echo "$bin"; exit 0; fi

cd "$here"
kube_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
minor=$(echo "$kube_version" | cut -d. -f2)
v=k8s.io/component-base/version
kube_ldflags="-s -w -X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=$minor \
 -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
start=$(date +%s)
echo "control plane: building" $todo "(Kubernetes $kube_version, etcd $etcd_version) into $bin" >&2
echo "control plane: a cold build takes 15-30 minutes on 2 cores; later runs reuse the cache" >&2
for b in $todo; do
  t0=$(date +%s)
  echo "control plane: building $b ..." >&2
  ldflags="$kube_ldflags"; [ "$b" = etcd ] && ldflags="-s -w"
  # A heartbeat, so a long compile never looks like a hang.
  ( while sleep 60; do echo "control plane: still building $b ($(( $(date +%s) - t0 ))s)" >&2; done ) &
  beat=$!
  # Built to a temporary name and renamed, so an interrupted build never leaves a "present" binary.
  if ! CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$bin/$b.partial" "${pkg[$b]}"; then
    kill "$beat" 2>/dev/null; exit 1
  fi
  kill "$beat" 2>/dev/null || true
  mv "$bin/$b.partial" "$bin/$b"
  echo "control plane: built $b in $(( $(date +%s) - t0 ))s" >&2
done
echo "control plane: built" $todo "in $(( $(date +%s) - start ))s" >&2
echo "$bin"
