#!/usr/bin/env bash
# Installs Debian's PyTorch (python3-torch, python3-torchvision, python3-pil) for /usr/bin/python3 when it is missing: the
# NEU-Seg comparison (scripts/pytorch_neu.py, `pnpm --filter train bench:neu`) and its tests use it. Idempotent.
set -euo pipefail
if /usr/bin/python3 -c 'import torch, torchvision, PIL, numpy' >/dev/null 2>&1; then
  exit 0
fi
bash "$(dirname "$0")/../../../scripts/apt-install.sh" ensure-torch "install PyTorch 1.13+ with torchvision and Pillow by hand." --no-recommends python3-torch python3-torchvision python3-pil
/usr/bin/python3 -c 'import torch; print("ensure-torch: torch", torch.__version__)'
