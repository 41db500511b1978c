#!/bin/sh
# Builds and runs the registry server benchmark (see bench/registry-server.ts).
set -e
cd "$(dirname "$0")/.."
npm run build >/dev/null 2>&1 || true
exec node dist/bench/registry-server.js "$@"
