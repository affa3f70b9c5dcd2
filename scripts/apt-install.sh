#!/usr/bin/env bash
# apt-install.sh NAME HINT [--no-recommends] PACKAGE...: installs Debian packages with apt-get, as root or with
# passwordless sudo, for the ensure-* scripts of the apps. NAME prefixes its messages; HINT says what to install by hand
# where apt-get is not available. Exits 1 with one line where it cannot install.
set -euo pipefail
name=$1
hint=$2
shift 2
options=()
if [ "${1:-}" = "--no-recommends" ]; then
  options+=(--no-install-recommends)
  shift
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$name: apt-get is not available; $hint" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
  else
    echo "$name: run as root (or with sudo): apt-get install -y $*" >&2
    exit 1
  fi
fi
echo "$name: installing $* with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${options[@]}" "$@" >/dev/null
