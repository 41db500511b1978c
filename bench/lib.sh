# Shared by the shell benches. Set BENCH (a short name) and source this file: it makes a
# throwaway berthd with its own data root, socket, exec root and cgroup parent, started as
# bin/berthd starts it, and removes all of it (containers, mounts, cgroups) when the bench exits.
# A bench may define bench_cleanup for what it made elsewhere (e.g. on dockerd).
#   $B  the docker CLI pointed at that berthd     $R  the docker CLI pointed at dockerd
DOCKER=${DOCKER:-/usr/local/bin/docker}
W=$(mktemp -d "/tmp/berth-bench-$BENCH-XXXXXX")
BERTH_SOCK=$W/berth.sock
BERTH_EXEC_ROOT=/run/berth/bench-$BENCH-$$
BERTH_CGROUP=berth-bench-$BENCH-$$
B="$DOCKER -H unix://$BERTH_SOCK"
R="$DOCKER -H unix:///var/run/docker.sock"
BERTHD_PID=""

bench_cleanup() { :; }
berth_cleanup() {
  bench_cleanup
  $B rm -f $($B ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  [ -n "$BERTHD_PID" ] && kill "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null || true
  awk -v w="$W/" '$5 ~ "^"w {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$W" "$BERTH_EXEC_ROOT"
  # The cgroup parent, in every hierarchy (v1) or the one tree (v2).
  for cg in "/sys/fs/cgroup/$BERTH_CGROUP" /sys/fs/cgroup/*/"$BERTH_CGROUP"; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  true
}
trap berth_cleanup EXIT

# berth_start [more berthd flags]: starts berthd and waits until it answers.
berth_start() {
  node --max-semi-space-size=1 dist/src/daemon/main.js --data-root "$W/root" -H "$BERTH_SOCK" \
    --exec-root "$BERTH_EXEC_ROOT" --cgroup-parent "/$BERTH_CGROUP" "$@" >"$W/berthd.log" 2>&1 &
  BERTHD_PID=$!
  for _ in $(seq 200); do $B version >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "berthd did not start:" >&2
  tail -20 "$W/berthd.log" >&2
  return 1
}
