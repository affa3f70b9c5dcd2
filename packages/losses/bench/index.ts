// Loss value + gradient with respect to the logits on a full Severstal batch [2, 256, 1600, 4], per backend.
import * as tf from '@tensorflow/tfjs-core';
// tfjs-layers registers tfjs-core's gradients (tfjs-core's own ESM gradient files cannot be imported from plain Node).
import '@tensorflow/tfjs-layers';
import { setupBackend, type BackendName } from '@steel/backend';
import { report, timeMsAsync, type BenchRow } from '../../../tooling/bench/report.ts';
import { createLoss, losses, type LossName } from '../src/index.ts';

process.env['IS_TEST'] = 'true';
const shape = [2, 256, 1600, 4];
const rows: BenchRow[] = [];
for (const backend of ['wasm', 'cpu'] as BackendName[]) {
  const chosen = await setupBackend({ backend }).catch((error: unknown) => {
    console.warn(`skipping ${backend}: ${(error as Error).message}`);
    return undefined;
  });
  if (chosen === undefined) continue;
  const yTrue = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform(shape, 0, 1, 'float32', 1), 0.93), 'float32'));
  const logits = tf.randomNormal(shape, 0, 3, 'float32', 2);
  for (const name of Object.keys(losses) as LossName[]) {
    const loss = createLoss(name);
    const step = tf.valueAndGrad((x: tf.Tensor) => loss(yTrue, x));
    const ms = await timeMsAsync(
      async () => {
        const { value, grad } = step(logits);
        await grad.data();
        tf.dispose([value, grad]);
      },
      { runs: 2, warmup: 1 },
    );
    rows.push({ loss: name, backend: tf.getBackend(), shape: '[2,256,1600,4]', 'value + grad ms': +ms.toFixed(1) });
  }
  tf.dispose([yTrue, logits]);
}
report('losses', rows);
