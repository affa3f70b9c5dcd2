// The two passes of training-mode batch norm over channels-last float32 rows, as assembled SIMD functions on the wasm
// heap (heap-threads.ts also runs them on worker threads, each call on its own rows):
//
// `bn_sums(u, x, k, part, groups, rows, blockRows)`: for blocks of `blockRows` rows (the last may be shorter), per
//   channel Σ (u − n) and Σ (u − n) · (x − m) over the block, into one slot of `part` per block. `k` holds, per group of
//   4 channels, the vectors n then m (32 bytes a group); a slot holds, per group, the two sums (32 bytes a group).
//   Forward statistics: u = x, n = m = a shift (the first row), giving the shifted sum and sum of squares; gradient:
//   u = dy, n = 0, m = the mean, giving Σ dy and Σ dy · (x − mean).
// `bn_apply(u, x, k, out, groups, rows)`: out = p · u + q · (x − m) + r per channel, `k` holding p, m, q, r per group
//   (64 bytes a group). Forward: u = x, p = 0, q = γ / σ, r = β; gradient: u = dy and the coefficients of dx.
// Rows are `groups` · 16 bytes, contiguous; u, x and out advance together.
import { countedLoop, f32x4Splat, functionCode, functionType, i32c, load, local, setLocal, store, uleb, type AssembledFunction, type Code } from './wasm-heap-module.ts';

const I32 = 0x7f;
const V128 = 0x7b;
const simd = (op: number): Code => [0xfd, ...uleb(op)];
const add = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe4)];
const sub = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe5)];
const mul = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xe6)];
const i32Add = (a: Code, b: Code): Code => [...a, ...b, 0x6a];
const i32Mul = (a: Code, b: Code): Code => [...a, ...b, 0x6c];
const advance = (pointer: number, bytes: number): Code => setLocal(pointer, i32Add(local(pointer), i32c(bytes)));
/** `block loop (br_if out when local counter == 0) body; br loop end end`: the body lowers the counter itself. */
const whileNonZero = (counter: number, body: Code): Code => [0x02, 0x40, 0x03, 0x40, ...local(counter), 0x45, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];

function sums(): AssembledFunction {
  const [u, x, k, part, groups, rows, blockRows] = [0, 1, 2, 3, 4, 5, 6];
  const [g, pk, ps, left, zeros] = [7, 8, 9, 10, 11];
  const [zero, v] = [12, 13];
  const row: Code = [
    ...setLocal(pk, local(k)),
    ...setLocal(ps, local(part)),
    ...setLocal(g, local(groups)),
    ...countedLoop(g, [
      ...setLocal(v, sub(load(local(u)), load(local(pk)))),
      ...store(local(ps), add(load(local(ps)), local(v))),
      ...store(local(ps), add(load(local(ps), 16), mul(local(v), sub(load(local(x)), load(local(pk), 16)))), 16),
      ...advance(u, 16), ...advance(x, 16), ...advance(pk, 32), ...advance(ps, 32),
    ]),
  ];
  const block: Code = [
    // Zero the block's slot, then add its rows into it.
    ...setLocal(ps, local(part)),
    ...setLocal(zeros, i32Add(local(groups), local(groups))),
    ...countedLoop(zeros, [...store(local(ps), local(zero)), ...advance(ps, 16)]),
    // left = min(blockRows, rows); rows -= left
    ...setLocal(left, [...local(blockRows), ...local(rows), ...local(blockRows), ...local(rows), 0x49, 0x1b]),
    ...setLocal(rows, [...local(rows), ...local(left), 0x6b]),
    ...countedLoop(left, row),
    ...setLocal(part, i32Add(local(part), i32Mul(local(groups), i32c(32)))),
  ];
  return {
    name: 'bn_sums',
    type: functionType(7),
    code: functionCode([[5, I32], [2, V128]], [...setLocal(zero, f32x4Splat(0)), ...whileNonZero(rows, block)]),
  };
}

function apply(): AssembledFunction {
  const [u, x, k, out, groups, rows] = [0, 1, 2, 3, 4, 5];
  const [g, pk] = [6, 7];
  const value = add(
    add(mul(load(local(pk)), load(local(u))), mul(load(local(pk), 32), sub(load(local(x)), load(local(pk), 16)))),
    load(local(pk), 48),
  );
  const row: Code = [
    ...setLocal(pk, local(k)),
    ...setLocal(g, local(groups)),
    ...countedLoop(g, [...store(local(out), value), ...advance(u, 16), ...advance(x, 16), ...advance(out, 16), ...advance(pk, 64)]),
  ];
  return { name: 'bn_apply', type: functionType(6), code: functionCode([[2, I32]], countedLoop(rows, row)) };
}

/** The assembled batch-norm passes (heap-threads.ts runs them on worker threads too). */
export const batchNormFunctions = (): AssembledFunction[] => [sums(), apply()];

export interface BatchNormPasses {
  bn_sums(u: number, x: number, k: number, part: number, groups: number, rows: number, blockRows: number): void;
  bn_apply(u: number, x: number, k: number, out: number, groups: number, rows: number): void;
}
