#!/usr/bin/env bash
# Installs Debian's redis-server (used by apps/serve's batch mode and its tests) when it is missing. Idempotent.
# The package's own service is not needed: the app starts private instances on free loopback ports.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
  exit 0
fi
bash "$(dirname "$0")/../../../scripts/apt-install.sh" ensure-redis "install Redis 7 by hand (https://redis.io/docs/latest/get-started/)." redis-server
redis-server --version
