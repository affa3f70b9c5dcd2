#!/usr/bin/env bash
# Installs everything on a machine with only Node 20 and npm, then runs the app's main job on the synthetic steel dataset
# (the README's run command). Extra arguments go to `train start`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
# apps/serve's batch mode runs Debian's redis-server; the main job below does not need it, so a failed install only warns.
bash apps/serve/scripts/ensure-redis.sh || echo "start: continuing without redis-server (only apps/serve's batch mode needs it)" >&2
pnpm --filter train start "$@"
