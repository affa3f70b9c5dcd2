// Worker-thread entry of the loader: decodes and transforms the samples it is sent, transferring the results back.
import { parentPort, workerData } from 'node:worker_threads';
import { loadSample, resolveTransform, type SampleConfig, type SampleJob, type TransformSpec } from './sample.ts';

interface WorkerInit extends SampleConfig {
  readonly transform: TransformSpec | undefined;
}

const port = parentPort;
if (port !== null) {
  const init = workerData as WorkerInit;
  const transform = init.transform === undefined ? Promise.resolve(undefined) : resolveTransform(init.transform);
  transform.catch(() => undefined);
  port.on('message', (message: { jobId: number; job: SampleJob }) => {
    void (async () => {
      try {
        const sample = await loadSample(message.job, init, await transform);
        const buffers = [...new Set([sample.image.buffer, sample.mask.buffer])].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
        port.postMessage({ jobId: message.jobId, sample }, buffers);
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        const extra = e as Error & { code?: string; file?: string; expected?: string; found?: string };
        port.postMessage({ jobId: message.jobId, error: { name: e.name, message: e.message, code: extra.code, file: extra.file, expected: extra.expected, found: extra.found } });
      }
    })();
  });
}
