#!/usr/bin/env bash
# The main job: install what is missing, build, start berthd on /run/berth/berth.sock (reusing a
# running one), and run a demo container from the embedded busybox image.
source "$(dirname "$0")/lib.sh"
ensure_packages
ensure_build
install_bins

SOCK=/run/berth/berth.sock
export BERTH_HOST="unix://$SOCK"
if berth version >/dev/null 2>&1; then
  log "berthd is already running on $SOCK"
else
  log "starting berthd (log: /var/log/berthd.log)"
  mkdir -p /run/berth
  nohup berthd >>/var/log/berthd.log 2>&1 </dev/null &
  for _ in $(seq 1 100); do berth version >/dev/null 2>&1 && break; sleep 0.1; done
  berth version >/dev/null || { tail -20 /var/log/berthd.log; exit 1; }
fi
log "demo: berth run --rm busybox"
berth run --rm busybox sh -c 'echo "hello from a berth container: $(hostname), pid $$, $(uname -sr)"'
log "the docker CLI works too: DOCKER_HOST=$BERTH_HOST docker ps"
