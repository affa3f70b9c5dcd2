#!/usr/bin/env bash
# Prepares the WebGPU backend on Debian 12 (bookworm): a Vulkan driver new enough for Dawn, and the npm packages.
#
#   bash scripts/setup-webgpu.sh        # as root (or through sudo, which it uses when not root); safe to run again
#
# - Adds Debian's bookworm-backports (apt source) when missing: bookworm's own mesa 22.3 is too old for Dawn.
# - Installs mesa 25's Vulkan drivers from backports (`mesa-vulkan-drivers`, with llvmpipe: a Vulkan device on the CPU, used
#   by the tests) and the Vulkan loader (`libvulkan1`). On a machine with an NVIDIA driver, Dawn picks the GPU instead.
# - Installs the workspace's npm packages from the lockfile (`@tensorflow/tfjs-backend-webgpu` and `webgpu`, which ships
#   Dawn as dist/linux-x64/dawn.node) and checks that Dawn finds a Vulkan adapter.
# Everything comes from Debian's apt and the npm registry. STEEL_SKIP_APT=1 skips the apt part (no root needed then).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup-webgpu: $*"; }
fail() { echo "setup-webgpu: $*" >&2; exit 1; }

# The installed version of a Debian package ("" when not installed).
installed_version() { dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null | awk '$3 == "installed" { print $4 }' || true; }
mesa_is_new_enough() { [[ "$(installed_version mesa-vulkan-drivers)" =~ ^(2[5-9]|[3-9][0-9])\. ]]; }

install_debian_packages() {
  if [ "${STEEL_SKIP_APT:-0}" = 1 ]; then
    log "STEEL_SKIP_APT=1: not installing Debian packages"
    return
  fi
  if mesa_is_new_enough && [ -n "$(installed_version libvulkan1)" ]; then
    log "mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers) and libvulkan1 already installed"
    return
  fi
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: this script installs Debian 12 (bookworm) packages. Install a Vulkan driver (mesa >= 25 or the NVIDIA driver) by hand, then rerun with STEEL_SKIP_APT=1."
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  [ "$codename" = bookworm ] || fail "expected Debian 12 (bookworm), found '${codename:-unknown}': install mesa-vulkan-drivers >= 25 from your distribution, then rerun with STEEL_SKIP_APT=1."
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "installing Debian packages needs root (running as uid $(id -u), and sudo is missing): run this script as root, or with STEEL_SKIP_APT=1 when a Vulkan driver is installed."
    log "not root (uid $(id -u)): using sudo for apt"
    sudo="sudo"
  fi
  local source=/etc/apt/sources.list.d/bookworm-backports.sources
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "adding $source"
    printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' | $sudo tee "$source.tmp" >/dev/null
    $sudo mv "$source.tmp" "$source"
  fi
  log "apt-get update"
  $sudo apt-get update -qq
  log "installing mesa-vulkan-drivers and libvulkan1 from bookworm-backports"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  mesa_is_new_enough || fail "expected mesa-vulkan-drivers >= 25 after installing, found '$(installed_version mesa-vulkan-drivers)'."
  log "mesa-vulkan-drivers $(installed_version mesa-vulkan-drivers) installed"
}

install_npm_packages() {
  if [ ! -f packages/backend/node_modules/webgpu/package.json ] || [ ! -f packages/backend/node_modules/@tensorflow/tfjs-backend-webgpu/package.json ]; then
    log "installing the workspace's npm packages from the lockfile"
    bash scripts/bootstrap.sh
  fi
  local dawn=packages/backend/node_modules/webgpu/dist/linux-x64/dawn.node
  [ "$(uname -sm)" != "Linux x86_64" ] || [ -f "$dawn" ] || fail "expected Dawn at $dawn after installing; reinstall with 'pnpm install --frozen-lockfile'."
}

install_debian_packages
install_npm_packages
log "looking for a Vulkan adapter through Dawn"
node scripts/webgpu-adapter.mjs
