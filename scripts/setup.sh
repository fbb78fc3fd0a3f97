#!/usr/bin/env bash
# Sets up a fresh machine (Debian 12, Node >= 20): the software Vulkan driver Dawn needs, Chromium
# for the browser tests (tests/browser, with playwright-core), then the npm packages (exact versions
# from package-lock.json). With --peers, also the PyTorch / ONNX peers of bench:models
# (scripts/setup-peers.sh: python3-torch, python3-onnx, libopenblas0-pthread).
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=0
for a in "$@"; do
  case "$a" in
    --peers) PEERS=1 ;;
    *) echo "setup.sh: unknown option $a (usage: bash scripts/setup.sh [--peers])" >&2; exit 2 ;;
  esac
done
bash scripts/setup-vulkan.sh
if [ "$PEERS" = 1 ]; then bash scripts/setup-peers.sh; fi
if [ -x /usr/bin/chromium ]; then
  echo "setup: chromium already installed ($(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo '?'))"
else
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq chromium >/dev/null
  echo "setup: installed chromium $(dpkg-query -W -f='${Version}' chromium)"
fi
# onnxruntime-node (a bench peer; its CPU binary is bundled) would otherwise try to download CUDA
# binaries in its postinstall. An environment variable, not .npmrc: npm warns about an unknown
# project config on every npx call. package.json's allowScripts denies the dependencies' install
# scripts, which npm 11 would otherwise list as skipped on every install: none is needed on Linux
# (webgpu's clears a macOS quarantine flag, sharp's and esbuild's check the prebuilt binaries their
# optional packages bring, onnxruntime-node's fetches CUDA libraries).
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
