#!/usr/bin/env bash
# The whole test suite: unit and integration tests (real containers, real registries, the real
# docker CLI), each test starting and stopping the daemons it needs.
source "$(dirname "$0")/lib.sh"
ensure_packages $TEST_APT_PACKAGES
ensure_build
cd "$REPO"
bash "$REPO/scripts/sweep-test-leftovers.sh"
log "running tests"
status=0
node --test --test-concurrency=1 dist/test/ || status=$?
bash "$REPO/scripts/sweep-test-leftovers.sh"
# Anything the tests leaked would break the next run: say so loudly.
leaks=$(grep -c ' overlay ' /proc/mounts || true)
if [ "${leaks:-0}" -gt 0 ]; then log "warning: $leaks overlay mounts left behind"; fi
exit $status
