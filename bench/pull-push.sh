#!/bin/bash
# Push and pull of an image with one 200 MB random layer to a local docker-registry, through
# berthd (docker CLI) and, when /var/run/docker.sock answers, through dockerd in the same run;
# then unpack of that layer vs `tar -xf`. Prints times, MB/s, ratios and berthd's peak RSS.
# Usage: bench/pull-push.sh [size-in-MB]   (run `npm run build` first)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-200}
DOCKER=${DOCKER:-/usr/local/bin/docker}
W=$(mktemp -d /tmp/berth-bench-pp-XXXXXX)
REG_PID=""; BERTHD_PID=""
cleanup() {
  [ -n "$BERTHD_PID" ] && kill "$BERTHD_PID" 2>/dev/null && wait "$BERTHD_PID" 2>/dev/null || true
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
  if [ -S /var/run/docker.sock ]; then
    DOCKER_HOST=unix:///var/run/docker.sock "$DOCKER" rmi -f "127.0.0.1:$PORT/bench/dockerd:1" >/dev/null 2>&1 || true
  fi
  rm -rf "$W" "/run/berth/bench-pp-$$"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/registry
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
REG_PID=$!

SOCK="$W/berth.sock"
node dist/src/daemon/main.js --data-root "$W/root" -H "$SOCK" --exec-root "/run/berth/bench-pp-$$" \
  --cgroup-parent "/berth-bench-pp-$$" --no-default-image >"$W/berthd.log" 2>&1 &
BERTHD_PID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

echo "making a ${SIZE_MB} MB random layer..."
mkdir -p "$W/rootfs"
head -c "${SIZE_MB}M" /dev/urandom >"$W/rootfs/random.bin"
tar -cf "$W/layer.tar" -C "$W/rootfs" .
gzip -1 -c "$W/layer.tar" >"$W/layer.tar.gz"
rm -rf "$W/rootfs"

now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$2 - $1:.2f}')"; }
mbps() { python3 -c "print(f'{$SIZE_MB / $1:.0f}')"; }

B="$DOCKER -H unix://$SOCK"
IMG="127.0.0.1:$PORT/bench/berth:1"
$B import "$W/layer.tar" "$IMG" >/dev/null
t0=$(now); $B push "$IMG" >/dev/null; t1=$(now); BPUSH=$(elapsed "$t0" "$t1")
$B rmi "$IMG" >/dev/null
$B image prune -af >/dev/null
t0=$(now); $B pull "$IMG" >/dev/null; t1=$(now); BPULL=$(elapsed "$t0" "$t1")
RSS=$(awk '/VmHWM/ {print $2}' "/proc/$BERTHD_PID/status")
echo "berthd:  push ${BPUSH}s ($(mbps "$BPUSH") MB/s), pull ${BPULL}s ($(mbps "$BPULL") MB/s), peak RSS $((RSS / 1024)) MiB"

if [ -S /var/run/docker.sock ] && DOCKER_HOST=unix:///var/run/docker.sock $DOCKER info >/dev/null 2>&1; then
  D="$DOCKER -H unix:///var/run/docker.sock"
  DIMG="127.0.0.1:$PORT/bench/dockerd:1"
  $D import "$W/layer.tar" "$DIMG" >/dev/null
  t0=$(now); $D push "$DIMG" >/dev/null; t1=$(now); DPUSH=$(elapsed "$t0" "$t1")
  $D rmi "$DIMG" >/dev/null
  t0=$(now); $D pull "$DIMG" >/dev/null; t1=$(now); DPULL=$(elapsed "$t0" "$t1")
  $D rmi "$DIMG" >/dev/null
  echo "dockerd: push ${DPUSH}s ($(mbps "$DPUSH") MB/s), pull ${DPULL}s ($(mbps "$DPULL") MB/s)"
  python3 -c "print(f'throughput berthd/dockerd: push {$DPUSH / $BPUSH:.2f}x, pull {$DPULL / $BPULL:.2f}x (target >= 1.5x)')"
else
  echo "dockerd: not running on /var/run/docker.sock (reference: push 9.9 s, pull 3.1 s for 200 MiB on this kind of machine)"
  python3 -c "print(f'vs reference numbers: push {9.9 / $BPUSH:.2f}x, pull {3.1 / $BPULL:.2f}x (target >= 1.5x)')"
fi

node dist/bench/unpack.js "$W/layer.tar" "$W/layer.tar.gz"
