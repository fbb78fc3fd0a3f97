#!/usr/bin/env bash
# Installs the software Vulkan driver (Mesa lavapipe) that Dawn needs on a machine without a GPU.
# Debian 12's Mesa is too old for Dawn; bookworm-backports' works. The mirror is read from apt's
# own Debian sources file, so no host name is written here. Idempotent; needs root (or sudo).
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && ldconfig -p | grep -q libvulkan.so.1 \
   && [ -n "$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep bpo || true)" ]; then
  echo "setup-vulkan: lavapipe from bookworm-backports already installed"; exit 0
fi

SRC=/etc/apt/sources.list.d/debian.sources
if [ -f "$SRC" ]; then
  URI=$(grep -m1 '^URIs:' "$SRC" | awk '{print $2}')
elif [ -f /etc/apt/sources.list ]; then
  URI=$(grep -m1 -E '^deb ' /etc/apt/sources.list | awk '{print $2}')
fi
if [ -z "${URI:-}" ]; then echo "setup-vulkan: cannot find a Debian mirror in apt's sources" >&2; exit 1; fi

BP=/etc/apt/sources.list.d/lrfr-backports.sources
if [ ! -f "$BP" ]; then
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$URI" | $SUDO tee "$BP" >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libvulkan1 >/dev/null
$SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
echo "setup-vulkan: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
