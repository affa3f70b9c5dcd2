import * as tf from '@tensorflow/tfjs-core';
import type { ParsedArgs } from '../cli.ts';
import { parseTrainConfig } from '../config.ts';
import { AppError } from '../errors.ts';
import { initBackend } from '../backend.ts';
import { buildLoss, buildModel, buildOptimizer } from '../builders.ts';

/** `bench`: median time of a training step and of a forward pass for the configured model and shape. */
export async function runBench(args: ParsedArgs): Promise<number> {
  const shapeText = (args.values['shape'] as string | undefined) ?? '2x64x416x1';
  const m = /^(\d+)x(\d+)x(\d+)x(1|3)$/.exec(shapeText);
  if (!m) throw new AppError('USAGE', `--shape expects BxHxWxC with C 1 or 3 (e.g. 2x128x256x1), got "${shapeText.slice(0, 80)}".`);
  const [b, h, w, c] = m.slice(1).map(Number) as [number, number, number, number];
  const config = parseTrainConfig({
    architecture: args.values['architecture'] ?? 'unet',
    encoder: args.values['encoder'] ?? 'resnet18',
    inChannels: c,
    backend: args.values['backend'] ?? 'auto',
    ...(args.values['threads'] === undefined ? {} : { threads: args.values['threads'] }),
    crop: { height: h, width: w },
  });
  const { checkMultipleOf32 } = await import('../config.ts');
  checkMultipleOf32('--shape', { height: h, width: w });
  const steps = (args.values['steps'] as number | undefined) ?? 3;
  const backend = await initBackend(config);
  const model = await buildModel(config, 4);
  const optimizer = buildOptimizer(config);
  const loss = buildLoss(config, 4);
  const x = tf.randomUniform([b, h, w, c], 0, 1, 'float32', 1);
  const y = tf.cast(tf.greater(tf.randomUniform([b, h, w, 4], 0, 1, 'float32', 2), 0.9), 'float32');
  const time = async (fn: () => Promise<void>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const trainStep = async () => {
    const cost = optimizer.minimize(() => loss(y, model.apply(x, { training: true }) as tf.Tensor), true);
    await cost!.data();
    cost!.dispose();
  };
  const forward = async () => {
    const out = model.predict(x) as tf.Tensor;
    await out.data();
    out.dispose();
  };
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  await trainStep(); // warm-up
  await forward();
  const stepTimes: number[] = [];
  for (let i = 0; i < steps; i++) stepTimes.push(await time(trainStep));
  const fwdTimes: number[] = [];
  for (let i = 0; i < steps; i++) fwdTimes.push(await time(forward));
  const step = median(stepTimes);
  process.stdout.write(
    `${config.architecture}-${config.encoder} x[${b},${h},${w},${c}] on ${backend.backend}${backend.detail ? ` (${backend.detail})` : ''}\n` +
      `  training step (forward, loss, backward, ${config.optimizer}): ${step.toFixed(0)} ms median of ${steps} (${((b * 1000) / step).toFixed(2)} images/s)\n` +
      `  forward pass:                                ${median(fwdTimes).toFixed(0)} ms median of ${steps}\n`,
  );
  tf.dispose([x, y]);
  model.dispose();
  optimizer.dispose();
  return 0;
}
