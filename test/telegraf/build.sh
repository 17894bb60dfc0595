#!/usr/bin/env bash
# Builds a real Telegraf for the client tests from the Go module proxy, with only the plugins they
# use (Telegraf's `custom` build tag: exec input, InfluxDB 1.x and 2.x outputs, line protocol), into
# git-ignored .cache/telegraf/<key>/telegraf. Telegraf's own go.mod has no replace directives, so
# `go install <package>@<version>` builds it exactly as pinned there (checked against the checksum
# database), and nothing of ours needs a go.sum. The key hashes this script (version and tags live
# here), so a warm cache makes this a no-op; a lock keeps two builds from writing the same files.
# Progress goes to stderr; the binary path is the last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/test/support/build-cache.sh"
version=v1.37.2
tags=custom,inputs.exec,outputs.influxdb,outputs.influxdb_v2,parsers.influx,serializers.influx
key=$(sha256sum "$here/build.sh" | cut -c1-16)
dir="${TELEGRAF_CACHE:-$root/.cache/telegraf}/$key"
reuse_or_lock telegraf "$(dirname "$dir")" "$dir/telegraf"

t0=$(date +%s)
echo "telegraf: building $version ($tags) into $dir" >&2
echo "telegraf: a cold build takes a few minutes on 2 cores; later runs reuse the cache" >&2
heartbeat telegraf
rm -rf "$dir.partial"
internal=github.com/influxdata/telegraf/internal
# Upstream's release flags (Makefile): static, stripped, the version stamped in.
GOBIN="$dir.partial" CGO_ENABLED=0 nice -n 10 go install -trimpath -tags "$tags" \
  -ldflags "-s -w -X $internal.Version=${version#v} -X $internal.Commit=gomodule -X $internal.Branch=HEAD" \
  "github.com/influxdata/telegraf/cmd/telegraf@$version"
rm -rf "$dir"; mv "$dir.partial" "$dir"
echo "telegraf: built $version in $(( $(date +%s) - t0 ))s" >&2
echo "$dir/telegraf"
