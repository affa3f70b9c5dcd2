import { defineConfig } from 'tsup';

// The loader's worker is a second entry, so dist/loader-worker.js sits beside the code that starts it.
export default defineConfig({ entry: ['src/index.ts', 'src/loader-worker.ts'], format: ['esm'], target: 'node20', dts: { entry: 'src/index.ts' }, sourcemap: true, clean: true });
