# Sourced by the client build scripts (test/telegraf, test/influx-cli): the parts every cached build
# shares. Functions exit the script when the cache already holds the binary.

# reuse_or_lock <label> <cache dir> <binary>: prints the binary and exits when it is built; else
# takes the cache's lock (waiting while another build holds it) and checks again.
reuse_or_lock() {
  local label=$1 cache=$2 binary=$3
  mkdir -p "$cache"
  if [ -x "$binary" ]; then echo "$binary"; exit 0; fi
  exec 9>"$cache/.lock"
  if ! flock -n 9; then
    echo "$label: another build holds $cache/.lock; waiting for it" >&2
    flock 9
  fi
  if [ -x "$binary" ]; then echo "$binary"; exit 0; fi
}

# heartbeat <label>: a line on stderr every minute until the script exits, so a long compile never
# looks like a hang. It stays off stdout (which the caller reads to the end) and takes its sleep
# with it when stopped.
heartbeat() {
  local label=$1 t0
  t0=$(date +%s)
  ( trap 'kill $! 2>/dev/null' TERM
    while sleep 60 & wait $!; do echo "$label: still building ($(( $(date +%s) - t0 ))s)" >&2; done ) >/dev/null &
  trap "kill $! 2>/dev/null || true" EXIT
}
