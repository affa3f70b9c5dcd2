#!/usr/bin/env bash
# Installs Debian's PyTorch (python3-torch, python3-torchvision, python3-pil) for /usr/bin/python3 when it is missing: the
# NEU-Seg comparison (scripts/pytorch_neu.py, `pnpm --filter train bench:neu`) and its tests use it. Idempotent.
set -euo pipefail
if /usr/bin/python3 -c 'import torch, torchvision, PIL, numpy' >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-torch: /usr/bin/python3 lacks torch and apt-get is not available; install PyTorch 1.13+ with torchvision and Pillow by hand." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "ensure-torch: installing python3-torch python3-torchvision python3-pil with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-torchvision python3-pil >/dev/null
/usr/bin/python3 -c 'import torch; print("ensure-torch: torch", torch.__version__)'
