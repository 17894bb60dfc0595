#!/usr/bin/env bash
# Builds real influxd servers (default: every version folder beside this script, e.g. v2.7.12 and
# v2.9.1) from the Go modules pinned in each folder's go.mod/go.sum, with the Flux Rust library
# built through crates.io, into git-ignored .cache/influxdb/<key>/influxd. The key hashes the
# folder's go.mod + go.sum + this script, so a warm cache makes this a no-op. A lock keeps two
# builds (two test runs, a demo) from writing the same files at once.
# Usage: build.sh [v2.7.12 ...]. Progress goes to stderr; stdout gets one "<version> <path>" line
# per version.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cache="${INFLUXDB_CACHE:-$root/.cache/influxdb}"
mkdir -p "$cache"
versions=("$@")
if [ ${#versions[@]} = 0 ]; then
  for d in "$here"/v*/; do versions+=("$(basename "$d")"); done
fi

binary_of() {
  local key
  key=$(cat "$here/$1/go.mod" "$here/$1/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
  echo "$cache/$key/influxd"
}

# flux's libflux denies every Rust warning (its default `strict` feature) and pins Rust 1.72,
# which cannot be downloaded here; the machine's stable Rust raises lints 1.72 did not have. The
# pkg-config tool builds libflux from a writable copy of the flux module in Go's build cache and
# reuses a copy that is already there, so we lay that copy down ourselves with `strict` removed
# from the default features. Nothing else in it changes.
prepare_flux() {
  local flux_dir flux_path flux_version copy
  flux_path=github.com/influxdata/flux
  flux_version=$(go list -m -f '{{.Version}}' "$flux_path")
  flux_dir=$(go mod download -json "$flux_path@$flux_version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  copy="$(go env GOCACHE)/pkgconfig/$flux_path@$flux_version"
  if [ -f "$copy/.strict-off" ]; then return; fi
  rm -rf "$copy"; mkdir -p "$(dirname "$copy")"
  cp -r "$flux_dir" "$copy.partial"; chmod -R u+w "$copy.partial"
  sed -i 's/^default = \["strict"\]$/default = []/' "$copy.partial/libflux/flux-core/Cargo.toml"
  sed -i 's/^default = \["strict", "cffi"\]$/default = ["cffi"]/' "$copy.partial/libflux/flux/Cargo.toml"
  if grep -q '"strict"' "$copy.partial/libflux/flux-core/Cargo.toml" \
    || grep -q '^default = .*"strict"' "$copy.partial/libflux/flux/Cargo.toml"; then
    echo "influxdb: could not turn off flux's strict feature in $copy.partial" >&2; exit 1
  fi
  touch "$copy.partial/.strict-off"
  mv "$copy.partial" "$copy"
}

build() {
  local v=$1 out t0 beat
  out=$(binary_of "$v")
  [ -x "$out" ] && return
  t0=$(date +%s)
  echo "influxdb: building influxd $v into $(dirname "$out")" >&2
  echo "influxdb: a cold build takes 10-15 minutes on 2 cores (Rust, then Go); later runs reuse the cache" >&2
  mkdir -p "$(dirname "$out")"
  ( cd "$here/$v"
    prepare_flux
    go build -o "$out.pkg-config" github.com/influxdata/pkg-config
    # A heartbeat, so a long compile never looks like a hang.
    ( while sleep 60; do echo "influxdb: still building influxd $v ($(( $(date +%s) - t0 ))s)" >&2; done ) &
    beat=$!
    trap 'kill $beat 2>/dev/null || true' EXIT
    # Upstream's build tags, without `assets`: no UI is embedded, the API is complete.
    CGO_ENABLED=1 PKG_CONFIG="$out.pkg-config" RUSTUP_TOOLCHAIN=stable \
      go build -trimpath -tags sqlite_foreign_keys,sqlite_json \
      -ldflags "-s -w -X main.version=$v -X main.commit=gomodule-$v -X main.date=1970-01-01T00:00:00Z" \
      -o "$out.partial" github.com/influxdata/influxdb/v2/cmd/influxd
  )
  rm -f "$out.pkg-config"
  mv "$out.partial" "$out"
  echo "influxdb: built influxd $v in $(( $(date +%s) - t0 ))s" >&2
}

exec 9>"$cache/.lock"
if ! flock -n 9; then
  echo "influxdb: another build holds $cache/.lock; waiting for it" >&2
  flock 9
fi
for v in "${versions[@]}"; do
  [ -f "$here/$v/go.mod" ] || { echo "influxdb: no folder $here/$v" >&2; exit 2; }
  build "$v"
  echo "$v $(binary_of "$v")"
done
