#!/usr/bin/env bash
# Installs everything on a machine with only Node 20 and npm, then runs the app's main job on the synthetic steel dataset
# (the README's run command). Extra arguments go to `train start`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
pnpm --filter train start "$@"
