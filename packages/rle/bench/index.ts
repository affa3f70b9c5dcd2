// RLE benchmark: encode/decode of realistic 256x1600 defect masks against a naive per-pixel baseline in the same process,
// and CSV parsing of the competition's 22,024-row predictions file when ../shared/data is present.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { report, timeMs, timeMsAsync, type BenchRow } from '../../../tooling/bench/report.ts';
import { decode, encode, parseCsv, readCsv } from '../src/index.ts';
import { polygonBlobMask } from './masks.ts';
import { naiveDecode, naiveEncode } from './naive.ts';

const HEIGHT = 256;
const WIDTH = 1600;
const SHAPE = { height: HEIGHT, width: WIDTH };
const PIXELS = HEIGHT * WIDTH;
const FLOOR_ENCODE_US = 100;
const FLOOR_DECODE_US = 50;

// 64 distinct masks (26 MB), so that timings are not of one mask sitting in cache.
const masks = Array.from({ length: 64 }, (_, i) => polygonBlobMask(1000 + i));
const rles = masks.map((m) => encode(m, SHAPE));
for (let i = 0; i < masks.length; i++) {
  if (naiveEncode(masks[i]!, HEIGHT, WIDTH) !== rles[i]) throw new Error(`mask ${i}: encode differs from the baseline`);
}
const runsPerMask = rles.reduce((sum, rle) => sum + rle.split(' ').length / 2, 0) / masks.length;
const onFraction = masks.reduce((sum, m) => sum + m.reduce((a, v) => a + v, 0), 0) / masks.length / PIXELS;

const out = new Uint8Array(PIXELS);
let sink = 0;
const perMask = (fn: (i: number) => void, runs = 15) => timeMs(() => masks.forEach((_, i) => fn(i)), { runs, warmup: 3 }) / masks.length;
// CPU time of this process per mask (median of passes over all masks): less distorted than wall time when other processes
// share the cores.
const cpuPerMask = (fn: (i: number) => void, runs = 9): number => {
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const start = process.cpuUsage();
    masks.forEach((_, i) => fn(i));
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / masks.length);
  }
  return times.sort((a, b) => a - b)[runs >> 1]!;
};

const ops = {
  encode: (i: number) => (sink += encode(masks[i]!, SHAPE).length),
  decode: (i: number) => (sink += decode(rles[i]!, SHAPE)[0]!),
  decodeInto: (i: number) => (sink += decode(rles[i]!, { ...SHAPE, out })[0]!),
  naiveEncode: (i: number) => (sink += naiveEncode(masks[i]!, HEIGHT, WIDTH).length),
  naiveDecode: (i: number) => (sink += naiveDecode(rles[i]!, HEIGHT, WIDTH)[0]!),
  // What a new mask costs before any decoding: allocating a zeroed 256x1600 Uint8Array and touching each 4 KB page.
  allocate: (i: number) => {
    const mask = new Uint8Array(PIXELS);
    for (let p = i & 7; p < PIXELS; p += 4096) mask[p] = 1;
    sink += mask[PIXELS - 1]!;
  },
};
const encodeUs = perMask(ops.encode) * 1000;
const decodeUs = perMask(ops.decode) * 1000;
const decodeIntoUs = perMask(ops.decodeInto) * 1000;
const naiveEncodeUs = perMask(ops.naiveEncode, 5) * 1000;
const naiveDecodeUs = perMask(ops.naiveDecode, 5) * 1000;
const allocateUs = perMask(ops.allocate) * 1000;
const cpu = {
  encode: cpuPerMask(ops.encode),
  decode: cpuPerMask(ops.decode),
  decodeInto: cpuPerMask(ops.decodeInto),
  naiveEncode: cpuPerMask(ops.naiveEncode, 3),
  naiveDecode: cpuPerMask(ops.naiveDecode, 3),
  allocate: cpuPerMask(ops.allocate),
};

const mbps = (us: number) => Number((PIXELS / us).toFixed(0)); // bytes per µs = MB/s
// Floors are judged on CPU time (this process, median), which other processes on the machine distort least; MB/s is of
// mask bytes (one byte per pixel) per CPU second.
const row = (op: string, us: number, cpuUs: number, baselineUs: number | null, floorUs: number | null): BenchRow => ({
  op,
  'µs/mask': Number(us.toFixed(1)),
  'cpu µs/mask': Number(cpuUs.toFixed(1)),
  'MB/s': mbps(cpuUs),
  'runs/mask': Number(runsPerMask.toFixed(0)),
  'x naive': baselineUs === null ? null : Number((baselineUs / us).toFixed(1)),
  'floor µs': floorUs,
  'floor met': floorUs === null ? null : cpuUs <= floorUs,
});

const rows: BenchRow[] = [
  row('encode', encodeUs, cpu.encode, naiveEncodeUs, FLOOR_ENCODE_US),
  row('decode (new mask)', decodeUs, cpu.decode, naiveDecodeUs, FLOOR_DECODE_US),
  row('decode (into reused mask)', decodeIntoUs, cpu.decodeInto, naiveDecodeUs, FLOOR_DECODE_US),
  row('naive encode (baseline)', naiveEncodeUs, cpu.naiveEncode, null, null),
  row('naive decode (baseline)', naiveDecodeUs, cpu.naiveDecode, null, null),
  row('new Uint8Array(256 * 1600) + touch pages (reference)', allocateUs, cpu.allocate, null, null),
];

// The Kaggle numpy helpers on the same masks, in the same run, when python3 with numpy is installed: the floors are
// 10x under their times, so the ratio is the fair check on a machine that is slower or busier than the one they came from.
const numpyDir = mkdtempSync(join(os.tmpdir(), 'rle-bench-'));
const all = new Uint8Array(masks.length * PIXELS);
masks.forEach((m, i) => all.set(m, i * PIXELS));
writeFileSync(join(numpyDir, 'masks.bin'), all);
const script = join(dirname(fileURLToPath(import.meta.url)), 'numpy_rle.py');
const py = spawnSync('python3', [script, join(numpyDir, 'masks.bin'), String(masks.length), String(HEIGHT), String(WIDTH)], { encoding: 'utf8' });
rmSync(numpyDir, { recursive: true, force: true });
type NumpyTimes = { encodeUs: number; encodeCpuUs: number; decodeUs: number; decodeCpuUs: number; numpy: string };
let numpy: NumpyTimes | null = null;
/** How many times faster than numpy, on CPU time. */
const vsNumpy = (numpyCpuUs: number, oursCpuUs: number) => Number((numpyCpuUs / oursCpuUs).toFixed(1));
if (py.status === 0) {
  numpy = JSON.parse(py.stdout) as NumpyTimes;
  const numpyRow = (op: string, us: number, cpuUs: number, ours: string, oursCpuUs: number): BenchRow => ({
    op,
    'µs/mask': Number(us.toFixed(1)),
    'cpu µs/mask': Number(cpuUs.toFixed(1)),
    'MB/s': mbps(cpuUs),
    'x numpy (ours)': `${vsNumpy(cpuUs, oursCpuUs)} (${ours})`,
  });
  rows.push(
    numpyRow(`numpy mask2rle (numpy ${numpy.numpy})`, numpy.encodeUs, numpy.encodeCpuUs, 'encode', cpu.encode),
    numpyRow('numpy rle2mask', numpy.decodeUs, numpy.decodeCpuUs, 'decode into reused', cpu.decodeInto),
    numpyRow('numpy rle2mask', numpy.decodeUs, numpy.decodeCpuUs, 'decode new', cpu.decode),
  );
} else {
  console.log(`[rle bench] python3 with numpy is not available: no numpy baseline (${(py.stderr || String(py.error)).trim().split('\n').pop()}).`);
}

const predictions = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/severstal-sample/predictions/unet-resnet34-test-predictions.csv');
if (existsSync(predictions)) {
  const text = readFileSync(predictions, 'utf8');
  const megabytes = Buffer.byteLength(text) / 1e6;
  const csvRow = (op: string, ms: number): BenchRow => ({ op, 'ms/file': Number(ms.toFixed(1)), 'MB/s': Number((megabytes / (ms / 1000)).toFixed(0)), 'rows/s': Math.round(22_024 / (ms / 1000)) });
  const parseMs = timeMs(() => (sink += parseCsv(text).records.length), { runs: 10, warmup: 2 });
  const validateMs = timeMs(() => (sink += parseCsv(text, { validate: SHAPE }).records.length), { runs: 10, warmup: 2 });
  const streamMs = await timeMsAsync(async () => {
    for await (const record of readCsv(createReadStream(predictions))) sink += record.classId;
  });
  rows.push(csvRow('parseCsv predictions (4 MB, 22,024 rows)', parseMs), csvRow('parseCsv + validate', validateMs), csvRow('readCsv stream from disk', streamMs));
} else {
  console.log(`[rle bench] ${predictions} is absent: skipping the CSV rows.`);
}

const met = (cpuUs: number, floorUs: number) => (cpuUs <= floorUs ? 'met' : 'NOT met');
const floors = {
  encodeUs: FLOOR_ENCODE_US,
  decodeUs: FLOOR_DECODE_US,
  encodeMet: cpu.encode <= FLOOR_ENCODE_US,
  decodeIntoMet: cpu.decodeInto <= FLOOR_DECODE_US,
  decodeNewMet: cpu.decode <= FLOOR_DECODE_US,
};
const cpuUs = { encode: cpu.encode, decodeInto: cpu.decodeInto, decodeNew: cpu.decode, allocate: cpu.allocate };
report('rle', rows, { masks: masks.length, runsPerMask, onFraction, floors, cpuUs, numpy, loadAverage: os.loadavg() });
const us = (value: number) => `${value.toFixed(1)} µs`;
console.log(
  [
    `masks: ${masks.length} x ${HEIGHT}x${WIDTH}, ${runsPerMask.toFixed(0)} runs and ${(onFraction * 100).toFixed(1)}% pixels on average; floors judged on CPU time per mask (median)`,
    `floor encode <= ${FLOOR_ENCODE_US} µs: ${met(cpu.encode, FLOOR_ENCODE_US)} (${us(cpu.encode)} CPU, ${us(encodeUs)} wall, ${mbps(cpu.encode)} MB/s)`,
    `floor decode <= ${FLOOR_DECODE_US} µs into a reused mask: ${met(cpu.decodeInto, FLOOR_DECODE_US)} (${us(cpu.decodeInto)} CPU, ${us(decodeIntoUs)} wall, ${mbps(cpu.decodeInto)} MB/s)`,
    `decode into a new mask: ${met(cpu.decode, FLOOR_DECODE_US)} (${us(cpu.decode)} CPU, ${us(decodeUs)} wall); allocating and touching a new 256x1600 mask alone takes ${us(cpu.allocate)} CPU`,
    numpy
      ? `vs numpy in this run (CPU time): encode ${vsNumpy(numpy.encodeCpuUs, cpu.encode)}x, decode ${vsNumpy(numpy.decodeCpuUs, cpu.decodeInto)}x into a reused mask and ${vsNumpy(numpy.decodeCpuUs, cpu.decode)}x into a new one (numpy: ${us(numpy.encodeCpuUs)} encode, ${us(numpy.decodeCpuUs)} decode)`
      : 'numpy: not measured',
    `load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores (wall times include other processes)${sink === -1 ? '' : ''}`,
  ].join('\n'),
);
