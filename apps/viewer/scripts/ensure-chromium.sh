#!/usr/bin/env bash
# Installs Debian's chromium (used by the viewer's browser tests) when /usr/bin/chromium is missing.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
bash "$(dirname "$0")/../../../scripts/apt-install.sh" ensure-chromium "install chromium by hand." chromium
/usr/bin/chromium --version
