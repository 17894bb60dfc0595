#!/usr/bin/env bash
# Builds what the node tier's node runs besides the Kubernetes binaries (test/controlplane/build.sh
# builds kubelet and kube-proxy from the control plane's own module, at its version):
#   bin/containerd, bin/containerd-shim-runc-v2, bin/ctr   from containerd/go.mod (no replace directives)
#   bin/runc                                                from runc/go.mod, with cgo and seccomp
#                                                           (Debian's libseccomp-dev)
#   bin/coredns                                             from coredns/ (upstream's server, our plugin set)
#   images/pause.tar                                        Kubernetes' own pause.c from the pinned
#                                                           k8s.io/kubernetes module, static, as
#                                                           registry.k8s.io/pause:<kubeadm's pin>
#   images/coredns.tar                                      bin/coredns as registry.k8s.io/coredns/coredns:<its version>
# The images are OCI archives written here byte for byte the same on every build (no registry can
# be reached, so nothing is pulled). Everything lands in a git-ignored cache keyed by the hash of
# this script, the modules' go.mod/go.sum, coredns/main.go and test/controlplane/go.mod (the pause
# source's version), so a warm cache makes this a no-op; a lock keeps two builds apart.
# Progress goes to stderr; the cache folder is the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
key=$(cat "$here/build.sh" "$here"/{containerd,runc,coredns}/go.{mod,sum} "$here/coredns/main.go" \
  "$root/test/controlplane/go.mod" | sha256sum | cut -c1-16)
cache="${NODE_TIER_CACHE:-$root/.cache/node-tier}"
out="$cache/$key"
products=(bin/containerd bin/containerd-shim-runc-v2 bin/ctr bin/runc bin/coredns images/pause.tar images/coredns.tar versions)

complete() {
  local p
  for p in "${products[@]}"; do [ -s "$out/$p" ] || return 1; done
}
if complete; then echo "$out"; exit 0; fi
mkdir -p "$out/bin" "$out/images"
exec 9>"$out/.lock"
flock 9
if complete; then echo "$out"; exit 0; fi

start=$(date +%s)
echo "node: building containerd, runc, CoreDNS and the pause image into $out" >&2
echo "node: a cold build takes about 10 minutes on 2 cores; later runs reuse the cache" >&2

# go_build <module folder> <output> <package> [go build flags...]: one binary, with a heartbeat so a
# long compile never looks like a hang, built to a temporary name so an interrupted build never
# leaves a "present" binary.
go_build() {
  local module=$1 target=$2 package=$3 t0 beat
  shift 3
  [ -s "$target" ] && return 0
  t0=$(date +%s)
  echo "node: building $(basename "$target") ..." >&2
  ( while sleep 60; do echo "node: still building $(basename "$target") ($(( $(date +%s) - t0 ))s)" >&2; done ) &
  beat=$!
  if ! (cd "$here/$module" && go build -trimpath "$@" -o "$target.partial" "$package"); then
    kill "$beat" 2>/dev/null; exit 1
  fi
  kill "$beat" 2>/dev/null || true
  mv "$target.partial" "$target"
  echo "node: built $(basename "$target") in $(( $(date +%s) - t0 ))s" >&2
}
version_of() { (cd "$here/$1" && go list -m -f '{{.Version}}' "$2"); }

containerd_version=$(version_of containerd github.com/containerd/containerd/v2)
c=github.com/containerd/containerd/v2
for b in containerd containerd-shim-runc-v2 ctr; do
  CGO_ENABLED=0 go_build containerd "$out/bin/$b" "$c/cmd/$b" \
    -ldflags "-s -w -X $c/version.Version=$containerd_version -X $c/version.Revision=gomodule -X $c/version.Package=$c"
done
runc_version=$(version_of runc github.com/opencontainers/runc)
# Upstream's default build: cgo, the seccomp tag (the RuntimeDefault profile needs it).
CGO_ENABLED=1 go_build runc "$out/bin/runc" github.com/opencontainers/runc -tags seccomp \
  -ldflags "-s -w -X main.version=${runc_version#v} -X main.gitCommit=gomodule"
coredns_version=$(version_of coredns github.com/coredns/coredns)
CGO_ENABLED=0 go_build coredns "$out/bin/coredns" . \
  -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=gomodule"

# oci_archive <image name> <tag> <rootfs folder> <user> <entrypoint...>: an OCI image layout
# (one uncompressed layer) in a tar that `ctr images import` takes; the annotation
# io.containerd.image.name gives the image its full name there.
oci_archive() {
  local name=$1 tag=$2 rootfs=$3 user=$4 work layer config manifest entrypoint
  shift 4
  entrypoint=$(printf '"%s",' "$@")
  work=$(mktemp -d)
  mkdir -p "$work/blobs/sha256"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$rootfs" -cf "$work/layer.tar" .
  layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  mv "$work/layer.tar" "$work/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{"User":"%s","Entrypoint":[%s],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$user" "${entrypoint%,}" "$layer" >"$work/config.json"
  config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(stat -c %s "$work/config.json")" "$layer" "$(stat -c %s "$work/blobs/sha256/$layer")" >"$work/manifest.json"
  mv "$work/config.json" "$work/blobs/sha256/$config"
  manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"%s:%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$(stat -c %s "$work/manifest.json")" "$name" "$tag" "$tag" >"$work/index.json"
  mv "$work/manifest.json" "$work/blobs/sha256/$manifest"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
  echo "$work"
}
pack() {
  local work=$1 target=$2
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work" -cf "$target.partial" oci-layout index.json blobs
  mv "$target.partial" "$target"
  rm -rf "$work"
}

# The sandbox ("pause") image at the version kubeadm pins for this Kubernetes release, from the
# pause.c that ships in the same k8s.io/kubernetes module, built as upstream's Makefile does.
kubernetes_dir=$(cd "$root/test/controlplane" && go mod download -json k8s.io/kubernetes | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
pause_version=$(sed -n 's/^\s*PauseVersion = "\(.*\)"/\1/p' "$kubernetes_dir/cmd/kubeadm/app/constants/constants.go")
[ -n "$pause_version" ] || { echo "node: no PauseVersion in kubeadm's constants" >&2; exit 1; }
if [ ! -s "$out/images/pause.tar" ]; then
  rootfs=$(mktemp -d); chmod 0755 "$rootfs"
  gcc -Os -Wall -Werror -static -DVERSION="v$pause_version-gomodule" -o "$rootfs/pause" "$kubernetes_dir/build/pause/linux/pause.c"
  pack "$(oci_archive registry.k8s.io/pause "$pause_version" "$rootfs" 65535:65535 /pause)" "$out/images/pause.tar"
  rm -rf "$rootfs"
fi
if [ ! -s "$out/images/coredns.tar" ]; then
  rootfs=$(mktemp -d); chmod 0755 "$rootfs"
  install -m 0755 "$out/bin/coredns" "$rootfs/coredns"
  pack "$(oci_archive registry.k8s.io/coredns/coredns "$coredns_version" "$rootfs" 65532:65532 /coredns)" "$out/images/coredns.tar"
  rm -rf "$rootfs"
fi
# What the harness needs to know of these (the images' names, for containerd's config and the addons).
printf 'pause=registry.k8s.io/pause:%s\ncoredns=registry.k8s.io/coredns/coredns:%s\ncontainerd=%s\nrunc=%s\n' \
  "$pause_version" "$coredns_version" "$containerd_version" "$runc_version" >"$out/versions"
echo "node: all built in $(( $(date +%s) - start ))s" >&2
echo "$out"
