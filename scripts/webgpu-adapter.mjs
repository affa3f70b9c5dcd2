// Prints the WebGPU adapter Dawn (npm `webgpu`) finds here as one JSON line; exits 1 with a one-line reason when none.
// Used by setup-webgpu.sh and gpu-bench.sh: node scripts/webgpu-adapter.mjs
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const fromBackend = createRequire(new URL('../packages/backend/package.json', import.meta.url));
let dawn;
try {
  dawn = await import(pathToFileURL(fromBackend.resolve('webgpu')).href);
} catch (error) {
  console.error(`webgpu-adapter: the npm package webgpu (Dawn) did not load: ${String(error.message ?? error).split('\n')[0]}; run 'pnpm install --frozen-lockfile'.`);
  process.exit(1);
}
const gpu = dawn.create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error('webgpu-adapter: Dawn found no Vulkan adapter: install mesa-vulkan-drivers >= 25 (sudo bash scripts/setup-webgpu.sh) or the NVIDIA driver.');
  process.exit(1);
}
const info = adapter.info ?? {};
const description = [info.vendor, info.architecture, info.device, info.description].filter((s) => typeof s === 'string' && s).join(' ');
const software = adapter.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|softpipe|software/i.test(description);
console.log(
  JSON.stringify({
    adapter: description || 'unknown adapter',
    software,
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  }),
);
process.exit(0);
