#!/usr/bin/env bash
# Installs the PyTorch and ONNX peers of `npm run bench:models` (and tests/bench-peers.test.ts):
# Debian 12's own PyTorch on the CPU (python3-torch 1.13.1), python3-onnx (torch.onnx.export needs
# it) and the pthread OpenBLAS torch uses for its matrix products, from the mirror apt already uses.
# They go to Debian's /usr/bin/python3, which the benchmark spawns (the `python3` first on PATH may
# be another interpreter). onnxruntime-node comes with `npm ci` (a devDependency). Idempotent; needs
# root (or sudo). Called by `bash scripts/setup.sh --peers`.
set -euo pipefail
PKGS="python3-torch python3-onnx libopenblas0-pthread"
if /usr/bin/python3 -c 'import torch, onnx, numpy' >/dev/null 2>&1 && dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q 'ok installed'; then
  echo "setup-peers: $PKGS already installed (torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'))"
  exit 0
fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
echo "setup-peers: installed python3-torch $(dpkg-query -W -f='${Version}' python3-torch), python3-onnx $(dpkg-query -W -f='${Version}' python3-onnx), libopenblas0-pthread $(dpkg-query -W -f='${Version}' libopenblas0-pthread)"
