// The webgpu tests' gate: they run where the webgpu backend starts (Dawn from the npm `webgpu` package and a Vulkan adapter,
// e.g. llvmpipe from mesa-vulkan-drivers >= 25: `sudo bash scripts/setup-webgpu.sh`). Elsewhere they are skipped with a
// message, except under CI=true, where they run and fail with the reason.
import { setupBackend } from '../../packages/backend/src/index.ts';

/** Whether the webgpu tests run here, and why not. */
export interface WebgpuGate {
  /** Pass to `describe.skipIf(gate.skip)`. */
  skip: boolean;
  /** The adapter, or why webgpu did not start. */
  reason: string;
  /** Call in `beforeAll`: throws the reason when webgpu did not start (reached only under CI=true). */
  require(): void;
}

/** The part of tfjs-core the gate uses (passed in: this folder has no dependencies of its own). */
interface Engine {
  getBackend(): string;
  setBackend(name: string): Promise<boolean>;
}

/**
 * Tries the webgpu backend once (then returns to the backend that was active) and says whether the calling test file's
 * webgpu tests run. `name` prefixes the skip message; `tf` is the caller's `@tensorflow/tfjs-core`.
 */
export async function webgpuGate(name: string, tf: Engine): Promise<WebgpuGate> {
  const previous = tf.getBackend();
  let reason: string;
  let available = false;
  try {
    reason = (await setupBackend({ backend: 'webgpu' })).reason;
    available = true;
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  if (previous && tf.getBackend() !== previous) await tf.setBackend(previous);
  const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';
  if (!available && !ci) console.warn(`${name}: webgpu tests skipped (${reason}). Set it up with: sudo bash scripts/setup-webgpu.sh`);
  return {
    skip: !available && !ci,
    reason,
    require() {
      if (!available) throw new Error(`webgpu did not start under CI=true: ${reason}. Run scripts/setup-webgpu.sh first.`);
    },
  };
}

/** Reads tensors asynchronously (webgpu cannot read synchronously in Node) and disposes them. */
export async function readAndDispose(...tensors: { data(): Promise<unknown>; dispose(): void }[]): Promise<Float32Array[]> {
  try {
    return (await Promise.all(tensors.map((t) => t.data()))) as Float32Array[];
  } finally {
    for (const t of tensors) t.dispose();
  }
}
