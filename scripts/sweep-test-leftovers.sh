#!/usr/bin/env bash
# Removes what killed test runs left behind: temp data roots of integration-test daemons that
# are no longer running (their containers, conmon processes, mounts, netns and cgroups).
set -u
for base in /tmp/berth-it-*; do
  [ -d "$base" ] || continue
  if pgrep -f -- "--data-root $base/root" >/dev/null 2>&1; then continue; fi
  suffix=${base: -6}
  for rt in crun runc; do
    root=/run/berth/t-$suffix/$rt
    [ -d "$root" ] || continue
    for id in $(ls "$root"); do $rt --root="$root" delete --force "$id" >/dev/null 2>&1; done
  done
  pkill -9 -f "conmon.*$base" 2>/dev/null
  awk -v b="$base/" 'index($2, b) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  hash=$(printf %s "$base/root" | sha256sum | cut -c1-10)
  nsprefix="berth-${hash:0:8}-"
  ip link delete "bb$hash" 2>/dev/null
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -F -- "$nsprefix" || true); do ip netns delete "$ns" 2>/dev/null; done
  for cg in /sys/fs/cgroup/*/berth-test-$suffix /sys/fs/cgroup/berth-test-$suffix; do
    [ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  rm -rf "$base" "/run/berth/t-$suffix"
  echo "swept $base"
done
exit 0
