#!/bin/bash
# `docker cp` of a 200 MB tree (one 160 MB file plus 2000 small files) into a running
# container through berthd, against `tar -x` of the same data into a directory on the same
# disk, and against dockerd when /var/run/docker.sock answers. Target: within 1.5× of tar -x.
# Usage: bench/cp.sh   (run `npm run build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=cp
. bench/lib.sh
bench_cleanup() {
  if [ -S /var/run/docker.sock ]; then $R rm -f "bench-cp-$$" >/dev/null 2>&1 || true; fi
}
berth_start

echo "making 200 MB of data..."
mkdir -p "$W/src/data/small"
head -c 160M /dev/urandom >"$W/src/data/big.bin"
for i in $(seq 2000); do head -c 20K /dev/urandom >"$W/src/data/small/f$i"; done
tar -cf "$W/data.tar" -C "$W/src" data
sync

now() { date +%s.%N; }
el() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# Five rounds; in each, tar -x and berth's cp write the same data to the same disk, in turns
# whose order alternates, each after a sync and timed up to its own sync, so that neither pays
# for the other's writeback (this VM's ext4 is mounted with discard, and a run that follows a
# big delete is slower whoever makes it).
median() { python3 -c "import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
TX=(); BC=(); DC=()
$B run -d --name bench-cp --network none busybox sleep 3600 >/dev/null
tar_x() {
  mkdir -p "$W/tarx$1"; sync
  t0=$(now); tar -xf "$W/data.tar" -C "$W/tarx$1"; sync -f "$W/tarx$1"; t1=$(now); TX+=("$(el "$t0" "$t1")")
  rm -rf "$W/tarx$1"
}
berth_cp() {
  $B exec bench-cp mkdir -p "/dst$1"; sync
  t0=$(now); $B cp "$W/src/data" "bench-cp:/dst$1/" ; sync -f "$W/root"; t1=$(now); BC+=("$(el "$t0" "$t1")")
  $B exec bench-cp rm -rf "/dst$1"
}
for i in 1 2 3 4 5; do
  if [ $((i % 2)) = 1 ]; then tar_x "$i"; berth_cp "$i"; else berth_cp "$i"; tar_x "$i"; fi
done
T=$(median "${TX[@]}"); BB=$(median "${BC[@]}")
echo "tar -x (200 MB):          median ${T} s   (runs: ${TX[*]})"
echo "berthd docker cp (200 MB): median ${BB} s   (runs: ${BC[*]})"
python3 -c "print(f'ratio berth cp / tar -x: {$BB/$T:.2f}x (target <= 1.5x)')"
if [ -S /var/run/docker.sock ] && $R info >/dev/null 2>&1; then
  $R run -d --name "bench-cp-$$" --network none busybox sleep 3600 >/dev/null
  for i in 1 2 3 4 5; do
    $R exec "bench-cp-$$" mkdir -p "/dst$i"; sync
    t0=$(now); $R cp "$W/src/data" "bench-cp-$$:/dst$i/"; sync; t1=$(now); DC+=("$(el "$t0" "$t1")")
    $R exec "bench-cp-$$" rm -rf "/dst$i"
  done
  DD=$(median "${DC[@]}")
  echo "dockerd docker cp (200 MB): median ${DD} s   (runs: ${DC[*]})"
  python3 -c "print(f'ratio berth/dockerd: {$BB/$DD:.2f}x')"
fi
