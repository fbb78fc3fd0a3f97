#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12, Node >= 20): the software Vulkan driver Dawn needs, then the
# npm packages (exact versions from package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-vulkan.sh
npm ci --no-audit --no-fund
