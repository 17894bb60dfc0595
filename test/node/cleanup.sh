#!/usr/bin/env bash
# Removes what a node tier run left in the cgroup hierarchies: kills every process in the run's
# cgroups (the node's daemons, containerd's shims and the containers, which live in no process
# group of the harness), then removes the cgroups, deepest first. Once no process is left in the
# run's network and mount namespaces the kernel removes them, and with them every mount, bridge,
# veth and iptables rule the node made. Run by the harness's stop(), by its watchdog when the
# test process died, and for a dead run's leftovers at the next start.
# Usage: cleanup.sh <cgroup name>
set -u
name=${1:?usage: cleanup.sh <cgroup name>}
case $name in
  influx-operator-node-*) ;;
  *) echo "cleanup: refusing to touch cgroup $name (not a node tier run's)" >&2; exit 2 ;;
esac
dirs=()
for hierarchy in /sys/fs/cgroup/*/; do
  [ -d "$hierarchy$name" ] && dirs+=("$hierarchy$name")
done
[ ${#dirs[@]} -gt 0 ] || exit 0
for _ in $(seq 50); do
  pids=$(find "${dirs[@]}" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
  [ -n "$pids" ] || break
  # shellcheck disable=SC2086 # one argument per PID
  kill -KILL $pids 2>/dev/null
  sleep 0.1
done
find "${dirs[@]}" -depth -type d -exec rmdir {} + 2>/dev/null
for dir in "${dirs[@]}"; do
  if [ -d "$dir" ]; then echo "cleanup: could not remove $dir" >&2; exit 1; fi
done
exit 0
