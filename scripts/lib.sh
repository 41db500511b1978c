# Shared set-up steps for scripts/main.sh and scripts/test.sh (Debian 12, run as root).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages berth runs on (and that its tests and benchmarks drive).
APT_PACKAGES="crun runc conmon tini busybox-static netavark aardvark-dns iptables iproute2 python3 make g++ skopeo docker-registry apache2-utils procps zstd openssl tar"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The tests also drive Debian's docker-compose (the Python Docker SDK) against berthd.
TEST_APT_PACKAGES="docker-compose"

# Installs what is missing of APT_PACKAGES and of any packages named as arguments.
ensure_packages() {
  local missing=""
  for p in $APT_PACKAGES "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if ! command -v node >/dev/null 2>&1; then missing="$missing nodejs npm"; fi
  if [ -n "$missing" ]; then
    log "installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends $missing >/dev/null
  fi
}

ensure_build() {
  cd "$REPO"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  log "building"
  npm run --silent build
}

install_bins() {
  ln -sf "$REPO/bin/berth" /usr/local/bin/berth
  ln -sf "$REPO/bin/berthd" /usr/local/bin/berthd
}
