#!/bin/bash
# `docker exec c true` latency: berthd vs dockerd (when /var/run/docker.sock answers) in the
# same run; medians of N runs after warm-up. Prints the ratio (target: berth ≤ 0.5× dockerd).
# Usage: bench/exec.sh [runs]   (run `npm run build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-30}
BENCH=exec
. bench/lib.sh
bench_cleanup() {
  if [ -S /var/run/docker.sock ]; then $R rm -f "bench-exec-$$" >/dev/null 2>&1 || true; fi
}
berth_start

# Medians of N wall-clock runs each; when dockerd answers, the two engines take turns run by run
# so that drift on a busy 2-core VM (other work, CPU frequency) falls on both alike.
timeit() {
  python3 - "$N" "$@" <<'PY'
import subprocess, sys, time, statistics
n = int(sys.argv[1]); cmds = [c.split('\x1f') for c in sys.argv[2:]]
for cmd in cmds:
    for _ in range(3): subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
ts = [[] for _ in cmds]
for _ in range(n):
    for i, cmd in enumerate(cmds):
        time.sleep(0.1)  # the other engine's after-work (shim exit, events) settles first
        t = time.perf_counter(); subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True); ts[i].append((time.perf_counter() - t) * 1000)
print(' '.join(f"{statistics.median(x):.1f}" for x in ts))
PY
}
join() { local IFS=$'\x1f'; echo "$*"; }

$B run -d --name bench-exec --network none busybox sleep 3600 >/dev/null
if [ -S /var/run/docker.sock ] && $R info >/dev/null 2>&1; then
  $R run -d --name "bench-exec-$$" --network none busybox sleep 3600 >/dev/null
  read -r BMS DMS < <(timeit "$(join $B exec bench-exec true)" "$(join $R exec "bench-exec-$$" true)")
  echo "berthd: docker exec c true  median ${BMS} ms (n=$N)"
  echo "dockerd: docker exec c true  median ${DMS} ms (n=$N, interleaved)"
  python3 -c "print(f'ratio berth/dockerd: {$BMS/$DMS:.2f}x (target <= 0.5x)')"
else
  BMS=$(timeit "$(join $B exec bench-exec true)")
  echo "berthd: docker exec c true  median ${BMS} ms (n=$N)"
  echo "dockerd: not running (/var/run/docker.sock); run ../shared/tools/reference-engines.sh for a comparison"
fi
