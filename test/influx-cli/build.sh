#!/usr/bin/env bash
# Builds the real `influx` CLI for the client tests from the Go modules pinned in this folder's
# go.mod/go.sum (the `tool` directive) into git-ignored .cache/influx-cli/<key>/influx. The module
# proxy refuses every tagged version of github.com/influxdata/influx-cli/v2 (and so `go install
# ...@version`, which lists them), but serves the pseudo-version influxd v2.9.1 requires: that is
# the one pinned. The key hashes go.mod + go.sum + this script, so a warm cache makes this a no-op;
# a lock keeps two builds from writing the same files. Progress goes to stderr; the binary path is
# the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/test/support/build-cache.sh"
key=$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" | sha256sum | cut -c1-16)
dir="${INFLUX_CLI_CACHE:-$root/.cache/influx-cli}/$key"
reuse_or_lock influx-cli "$(dirname "$dir")" "$dir/influx"

cd "$here"
version=$(go list -m -f '{{.Version}}' github.com/influxdata/influx-cli/v2)
t0=$(date +%s)
echo "influx-cli: building influx $version into $dir" >&2
heartbeat influx-cli
mkdir -p "$dir"
# The version upstream's release stamps in (cmd/influx/main.go); a fixed date keeps builds identical.
CGO_ENABLED=0 nice -n 10 go build -trimpath \
  -ldflags "-s -w -X main.version=$version -X main.commit=gomodule -X main.date=1970-01-01T00:00:00Z" \
  -o "$dir/influx.partial" github.com/influxdata/influx-cli/v2/cmd/influx
mv "$dir/influx.partial" "$dir/influx"
echo "influx-cli: built influx $version in $(( $(date +%s) - t0 ))s" >&2
echo "$dir/influx"
