#!/usr/bin/env bash
# Installs Debian's redis-server (used by apps/serve's batch mode and its tests) when it is missing. Idempotent.
# The package's own service is not needed: the app starts private instances on free loopback ports.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-redis: redis-server is missing and apt-get is not available; install Redis 7 by hand (https://redis.io/docs/latest/get-started/)." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "ensure-redis: redis-server is missing; run as root (or with sudo): apt-get install -y redis-server" >&2
    exit 1
  fi
fi
echo "ensure-redis: installing redis-server with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
redis-server --version
