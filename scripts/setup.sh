#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12, Node >= 20): the software Vulkan driver Dawn needs, Chromium
# for the browser tests (tests/browser, with playwright-core), then the npm packages (exact versions
# from package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-vulkan.sh
if [ -x /usr/bin/chromium ]; then
  echo "setup: chromium already installed ($(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo '?'))"
else
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
  echo "setup: installed chromium $(dpkg-query -W -f='${Version}' chromium)"
fi
npm ci --no-audit --no-fund
