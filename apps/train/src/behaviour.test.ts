// What the training loop promises, checked piece by piece: gradient accumulation, the learning-rate schedules (against
// PyTorch's), the time-budget planner and which epoch is kept as the best model.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { anchorSchedule, learningRate, plateauStep, type ScheduleOptions } from './schedule.ts';
import { accumulateGradients } from './accumulate.ts';
import { budgetPlan, replanHook } from './budget.ts';
import { isImprovement } from './validation.ts';

describe('gradient accumulation', () => {
  it('k accumulated batches give the gradients and loss of one batch k times larger (a model without batch norm)', async () => {
    const k = 4;
    const b = 3;
    // A two-layer network with a ReLU: conv-free, no batch statistics, so the batch size does not change the function.
    const w1 = tf.tidy(() => tf.variable(tf.randomNormal([5, 8], 0, 1, 'float32', 1)));
    const w2 = tf.tidy(() => tf.variable(tf.randomNormal([8, 2], 0, 1, 'float32', 2)));
    const x = tf.randomNormal([k * b, 5], 0, 1, 'float32', 3);
    const y = tf.randomUniform([k * b, 2], 0, 1, 'float32', 4);
    const lossOf = (xs: tf.Tensor, ys: tf.Tensor) => () => tf.losses.sigmoidCrossEntropy(ys, tf.matMul(tf.relu(tf.matMul(xs, w1)), w2)) as tf.Scalar;
    try {
      const big = tf.tidy(() => tf.variableGrads(lossOf(x, y), [w1, w2]));
      const acc = await accumulateGradients(k, (a) =>
        tf.tidy(() => tf.variableGrads(lossOf(tf.slice(x, [a * b, 0], [b, 5]), tf.slice(y, [a * b, 0], [b, 2])), [w1, w2])),
      );
      expect(acc.loss).toBeCloseTo((await big.value.data())[0]!, 5);
      for (const name of Object.keys(big.grads)) {
        const want = await big.grads[name]!.data();
        const got = await acc.grads[name]!.data();
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${name}[${i}]`).toBeLessThan(1e-5);
      }
      tf.dispose([big.value, ...Object.values(big.grads), ...Object.values(acc.grads)]);
    } finally {
      tf.dispose([w1, w2, x, y]);
    }
  });

  it('a non-finite loss stops it and frees every gradient', async () => {
    const w = tf.tidy(() => tf.variable(tf.scalar(1)));
    const before = tf.memory().numTensors;
    await expect(
      accumulateGradients(
        3,
        (a) => tf.tidy(() => tf.variableGrads(() => tf.mul(w, a === 1 ? Infinity : 1) as tf.Scalar, [w])),
        (v) => {
          if (!Number.isFinite(v)) throw new Error(`loss ${v}`);
        },
      ),
    ).rejects.toThrow('loss Infinity');
    expect(tf.memory().numTensors).toBe(before);
    w.dispose();
  });
});

describe('learning-rate schedules', () => {
  const options = (name: ScheduleOptions['name']): ScheduleOptions => ({ name, lr: 0.01, totalSteps: 20, patience: 2, factor: 0.5 });

  it('cosine equals PyTorch CosineAnnealingLR(T_max=20, eta_min=lr/100) at steps 0, 5, 10, 15, 20', () => {
    // /usr/bin/python3 with torch 1.13: CosineAnnealingLR(SGD(lr=0.01), T_max=20, eta_min=1e-4), lr read before each step.
    const torch = [0.01, 0.008550178566873413, 0.005050000000000002, 0.0015498214331265906, 0.0001];
    [0, 5, 10, 15, 20].forEach((step, i) => expect(learningRate(options('cosine'), step, {})).toBeCloseTo(torch[i]!, 12));
  });

  it('one-cycle warms up linearly from lr/25 to lr over 30% of the steps, then falls on a half cosine to lr/1e4', () => {
    const lr = (step: number) => learningRate(options('one-cycle'), step, {});
    expect(lr(0)).toBeCloseTo(0.01 / 25, 15);
    expect(lr(3)).toBeCloseTo(0.01 / 25 + (0.01 - 0.01 / 25) * 0.5, 15);
    expect(lr(6)).toBeCloseTo(0.01, 15);
    expect(lr(13)).toBeCloseTo(1e-6 + (0.01 - 1e-6) * 0.5, 15);
    expect(lr(20)).toBeCloseTo(1e-6, 15);
  });

  it('plateau equals PyTorch ReduceLROnPlateau(factor=0.5, patience=2, threshold=1e-4) epoch by epoch', () => {
    // /usr/bin/python3 with torch 1.13, the same validation losses, lr read after each scheduler.step(loss).
    const losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6];
    const torch = [0.01, 0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.0025];
    let state: Record<string, number> = {};
    const got = losses.map((loss) => {
      state = plateauStep(options('plateau'), state, loss);
      return learningRate(options('plateau'), 0, state);
    });
    expect(got).toEqual(torch);
  });

  it('constant stays put', () => {
    expect([0, 7, 20].map((s) => learningRate(options('constant'), s, {}))).toEqual([0.01, 0.01, 0.01]);
  });

  it.each(['cosine', 'one-cycle'] as const)('%s goes on without a jump when re-plans change the total steps, and ends at the new total', (name) => {
    // Planned 100 steps; re-planned to 140 after step 20 and to 120 after step 70, as the trainer does it.
    const plan = { ...options(name), totalSteps: 100 };
    let state: Record<string, number> = {};
    const rates: number[] = [];
    for (let step = 0; step <= 120; step++) {
      const total = step < 20 ? 100 : step < 70 ? 140 : 120;
      if (total !== plan.totalSteps) {
        const before = learningRate(plan, step, state);
        state = anchorSchedule(plan, step, state);
        plan.totalSteps = total;
        // The re-plan step keeps the rate the plan before it gave.
        expect(learningRate(plan, step, state), `step ${step}`).toBe(before);
      }
      rates.push(learningRate(plan, step, state));
    }
    // No step changes the rate more than the steepest step of the 100-step schedule without a re-plan.
    const plain = Array.from({ length: 101 }, (_, s) => learningRate(options(name), s, {})).map((v, s, a) => (s === 0 ? 0 : Math.abs(v - a[s - 1]!)));
    const steepest = Math.max(...plain);
    rates.forEach((v, s) => {
      if (s > 0) expect(Math.abs(v - rates[s - 1]!), `step ${s}`).toBeLessThanOrEqual(steepest * (1 + 1e-9));
    });
    const end = name === 'cosine' ? 0.01 / 100 : 0.01 / 1e4;
    expect(rates[120]).toBeCloseTo(end, 15);
    expect(rates[119]!).toBeGreaterThan(end);
    expect(state).toMatchObject({ anchorStep: 70 });
  });

  it('the plateau keeps a re-plan anchor in its state', () => {
    expect(plateauStep(options('plateau'), { anchorStep: 30, anchorProgress: 0.25 }, 1)).toEqual({ anchorStep: 30, anchorProgress: 0.25, lr: 0.01, best: 1, bad: 0 });
  });
});

describe('the time-budget planner', () => {
  const config = { epochs: 4, batchSize: 16, accumulate: 1, bnRecalibration: 8, budgetMinutes: 9 };
  const counts = { train: 256, val: 64, test: 64 };
  const sizes = { train: { height: 32, width: 96 }, eval: { height: 32, width: 224 } };

  it('fills the budget left after validation, predictions and fixed costs, and no more', () => {
    const stepSeconds = 1.86;
    const elapsed = 10;
    const plan = budgetPlan(config, counts, sizes, stepSeconds, elapsed);
    expect(plan.epochs).toBe(4);
    // The same arithmetic written out: forward pass = 0.35 step x (eval pixels / train pixels).
    const forward = 0.35 * stepSeconds * ((32 * 224) / (32 * 96));
    const perEpochEval = 4 * forward + 8 * 0.4 * stepSeconds + 2;
    const final = (4 + 2 * 4) * forward;
    const spent = (steps: number) => elapsed + 25 + final + 4 * (perEpochEval + steps * stepSeconds);
    expect(spent(plan.steps)).toBeLessThanOrEqual(9 * 60);
    expect(spent(plan.steps + 1)).toBeGreaterThan(9 * 60);
  });

  it('accumulation divides the steps; a budget already spent still runs one step per epoch', () => {
    const one = budgetPlan(config, counts, sizes, 1, 0).steps;
    const two = budgetPlan({ ...config, accumulate: 2 }, counts, sizes, 1, 0).steps;
    expect(two).toBe(Math.floor(one / 2));
    expect(budgetPlan(config, counts, sizes, 1, 9 * 60).steps).toBe(1);
  });

  it('a re-plan counts the steps behind it: the time left holds the rest of the epochs and no more', () => {
    const stepSeconds = 0.9;
    const elapsed = 100;
    const done = 40;
    const { steps } = budgetPlan(config, counts, sizes, stepSeconds, elapsed, { epoch: 0, stepInEpoch: done });
    const forward = 0.35 * stepSeconds * ((32 * 224) / (32 * 96));
    const perEpochEval = 4 * forward + 8 * 0.4 * stepSeconds + 2;
    const final = (4 + 2 * 4) * forward;
    const spent = (perEpoch: number) => elapsed + 25 + final + 4 * perEpochEval + (4 * perEpoch - done) * stepSeconds;
    expect(spent(steps)).toBeLessThanOrEqual(9 * 60);
    expect(spent(steps + 1)).toBeGreaterThan(9 * 60);
    // A budget already spent keeps the epoch that is running from ending before the steps it has taken.
    expect(budgetPlan(config, counts, sizes, stepSeconds, 9 * 60, { epoch: 0, stepInEpoch: done }).steps).toBe(done + 1);
  });

  it('a later re-plan plans the running epoch and the later ones, and reserves only the validations still ahead', () => {
    // In epoch 2 of 4, 30 steps into it, 200 s gone, steps of 0.45 s. Forward pass 0.35 x 0.45 x 224 / 96 = 0.3675 s; an
    // epoch's end 4 x 0.3675 + 8 x 0.4 x 0.45 + 2 = 4.91 s; final predictions 12 x 0.3675 = 4.41 s. Left: 540 - 200 - 4.41
    // - 25 = 310.59 s, less 3 epoch ends = 295.86 s = 657 steps: 229 per epoch (199 more in this one, 2 x 229 after it).
    expect(budgetPlan(config, counts, sizes, 0.45, 200, { epoch: 1, stepInEpoch: 30 })).toEqual({ epochs: 4, steps: 229 });
    // Counted from epoch 1 instead, a fourth validation would be reserved and 687 + 30 steps shared by 4 epochs.
    expect(budgetPlan(config, counts, sizes, 0.45, 200, { epoch: 0, stepInEpoch: 30 }).steps).toBe(Math.floor((30 + Math.floor((310.59 - 4 * 4.91) / 0.45)) / 4));
    // In the last epoch the steps left are all its own; a spent budget still ends it after one more step.
    expect(budgetPlan(config, counts, sizes, 0.45, 400, { epoch: 3, stepInEpoch: 100 })).toEqual({ epochs: 4, steps: 100 + Math.floor((540 - 400 - 4.41 - 25 - 4.91) / 0.45) });
    expect(budgetPlan(config, counts, sizes, 0.45, 9 * 60, { epoch: 3, stepInEpoch: 100 }).steps).toBe(101);
  });

  it('re-plans after a tenth of the planned steps or before the first epoch ends, then at 35% and 65% of the plan as it stands', () => {
    const hook = replanHook(config, counts, sizes, { epochs: 4, steps: 170 })!;
    expect(hook.timeFrom).toBe(5);
    expect(hook.at(0, 680, 0)).toBe(68);
    expect(replanHook({ ...config, epochs: 1 }, counts, sizes, { epochs: 1, steps: 823 })?.at(0, 823, 0)).toBe(82);
    // Fifteen steps are the least it times and plans from; a first epoch of 15 steps or fewer is not re-planned.
    expect(replanHook(config, counts, sizes, { epochs: 4, steps: 16 })?.at(0, 64, 0)).toBe(15);
    expect(replanHook(config, counts, sizes, { epochs: 4, steps: 15 })).toBeUndefined();
    // Many short epochs: before the first one ends.
    expect(replanHook({ ...config, epochs: 20 }, counts, sizes, { epochs: 20, steps: 30 })?.at(0, 600, 0)).toBe(29);
    // Later re-plans: at a share of the total the last re-plan left, 10 steps after it at the earliest, and only while a
    // quarter of the plan (and 10 steps) is still ahead; two of them.
    expect(hook.at(1, 832, 68)).toBe(291);
    expect(hook.at(2, 800, 291)).toBe(520);
    expect(hook.at(3, 800, 520)).toBeUndefined();
    expect(hook.at(1, 100, 30)).toBe(40);
    expect(hook.at(1, 100, 70)).toBeUndefined();
    expect(hook.at(2, 60, 21)).toBe(39);
    expect(hook.at(2, 40, 25)).toBeUndefined();
  });

  it('the re-plan hook plans from the time of an optimizer step: accumulated batches count once', () => {
    const accumulated = { ...config, accumulate: 2 };
    const hook = replanHook(accumulated, counts, sizes, { epochs: 4, steps: 170 })!;
    const progress = { epoch: 1, stepInEpoch: 30 };
    // The hook reads the clock: its plan lies between the plans for the times before and after the call.
    const early = budgetPlan(accumulated, counts, sizes, 0.45, performance.now() / 1000, progress).steps;
    const steps = hook.plan(0.9, progress);
    const late = budgetPlan(accumulated, counts, sizes, 0.45, performance.now() / 1000, progress).steps;
    expect(steps).toBeLessThanOrEqual(early);
    expect(steps).toBeGreaterThanOrEqual(late);
  });
});

describe('the best model', () => {
  it('--best-by loss keeps the lowest validation loss', () => {
    expect(isImprovement(null, 0.5, 0.5)).toBe(true);
    expect(isImprovement({ value: 0.5, epoch: 1, loss: 0.5 }, 0.4, 0.4)).toBe(true);
    expect(isImprovement({ value: 0.4, epoch: 2, loss: 0.4 }, 0.45, 0.45)).toBe(false);
  });

  it('--best-by dice keeps the highest Dice, and a tie on Dice goes to the lower loss', () => {
    // monitored = -Dice
    const best = { value: -0.8, epoch: 1, loss: 0.3 };
    expect(isImprovement(best, -0.85, 0.5)).toBe(true); // better Dice wins despite a worse loss
    expect(isImprovement(best, -0.75, 0.1)).toBe(false); // worse Dice loses despite a better loss
    expect(isImprovement(best, -0.8, 0.2)).toBe(true); // tie: lower loss
    expect(isImprovement(best, -0.8, 0.4)).toBe(false);
  });
});
