#!/usr/bin/env bash
# Installs everything on a machine with only Node 20 and npm, then runs every check and test (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# apps/serve's batch mode and tests run a private Debian redis-server.
bash apps/serve/scripts/ensure-redis.sh
# The viewer's browser tests drive Debian's chromium.
bash apps/viewer/scripts/ensure-chromium.sh
# apps/train's NEU-Seg comparison and its tests run Debian's PyTorch.
bash apps/train/scripts/ensure-torch.sh
# The webgpu tests run on a Vulkan device: llvmpipe (mesa 25 from bookworm-backports) where there is no GPU.
bash scripts/setup-webgpu.sh
pnpm test
