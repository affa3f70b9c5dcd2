// Command-line flags of `serve start | worker | batch`: one table per command, parsed with node:util, checked with zod.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { clip, ServeError } from './errors.ts';

type FlagType = 'string' | 'int' | 'number' | 'boolean' | 'list' | 'numbers' | 'bytes';

interface Flag {
  flag: string;
  type: FlagType;
  help: string;
}

const MODEL_FLAGS: Flag[] = [
  { flag: 'models', type: 'list', help: 'run folders (runs/<name>) or model folders, comma-separated (an ensemble); env STEEL_MODELS' },
  { flag: 'weights', type: 'numbers', help: 'ensemble weights, one per model' },
  { flag: 'tta', type: 'list', help: 'test-time augmentation, e.g. hflip,vflip' },
  { flag: 'postprocess', type: 'string', help: 'post-processing JSON (train tune writes one); default: the run\'s threshold and minimum areas' },
  { flag: 'threshold', type: 'number', help: 'probability threshold (instead of the run\'s)' },
  { flag: 'min-area', type: 'numbers', help: 'per-class minimum component area in pixels (instead of the run\'s)' },
  { flag: 'engine', type: 'string', help: 'auto (ONNX Runtime when installed, else tfjs) | tfjs | onnxruntime' },
  { flag: 'backend', type: 'string', help: 'tfjs backend: auto | tensorflow | webgpu | wasm | cpu (default auto)' },
  { flag: 'threads', type: 'int', help: 'threads of the wasm backend and of ONNX Runtime' },
];
const REDIS_FLAG: Flag = { flag: 'redis', type: 'string', help: 'Redis URL, e.g. redis://10.0.0.5:6379 (env STEEL_REDIS_URL)' };
const QUEUE_FLAG: Flag = { flag: 'queue', type: 'string', help: 'queue name prefix (default steel); the model fingerprint is appended' };

/** A command's flags and help. */
export interface CommandSpec {
  name: 'start' | 'worker' | 'batch';
  summary: string;
  usage: string;
  flags: Flag[];
  examples: string[];
}

export const COMMANDS: CommandSpec[] = [
  {
    name: 'start',
    summary: 'Serve the models over HTTP: POST /v1/predict, GET /v1/models, /healthz, /readyz, /metrics.',
    usage: 'serve start --models runs/<name>[,...] [--host 127.0.0.1] [--port 8080]',
    flags: [
      ...MODEL_FLAGS,
      { flag: 'host', type: 'string', help: 'address to bind (default 127.0.0.1; any other needs STEEL_SERVE_TOKEN)' },
      { flag: 'port', type: 'int', help: 'port (default 8080; 0 picks a free one)' },
      { flag: 'body-limit', type: 'bytes', help: 'largest request body, e.g. 8mb (default 8mb)' },
      { flag: 'max-queue', type: 'int', help: 'predictions allowed to wait for the model before 503 (default 256)' },
      { ...REDIS_FLAG, help: 'batch mode: /readyz checks this Redis and /metrics reports the queue depth' },
      QUEUE_FLAG,
    ],
    examples: [
      'serve start --models runs/main-final --port 8080',
      'STEEL_SERVE_TOKEN=secret serve start --models runs/a,runs/b --tta hflip --host 0.0.0.0',
    ],
  },
  {
    name: 'worker',
    summary: 'Take batch jobs from Redis, predict them and store the results (run any number, on any machine).',
    usage: 'serve worker --models runs/<name> --redis redis://host:6379',
    flags: [
      ...MODEL_FLAGS,
      REDIS_FLAG,
      QUEUE_FLAG,
      { flag: 'concurrency', type: 'int', help: 'jobs fetched at once (default 1: one model per process)' },
      { flag: 'lock-ms', type: 'int', help: 'job lock in ms, above one prediction\'s time; a dead worker\'s job is taken over after it (default 60000)' },
      { flag: 'stalled-ms', type: 'int', help: 'how often to look for jobs of dead workers, in ms (default 30000)' },
    ],
    examples: ['serve worker --models runs/main-final --redis redis://10.0.0.5:6379'],
  },
  {
    name: 'batch',
    summary: 'Predict a folder (or list) of images on the workers and write the submission CSV in image order.',
    usage: 'serve batch --images <dir|list.txt> --out submission.csv --models runs/<name> [--redis URL | --local-workers N]',
    flags: [
      { flag: 'images', type: 'string', help: 'a folder of JPEG/PNG images, or a text file with one image path per line' },
      { flag: 'out', type: 'string', help: 'the CSV to write (default submission.csv); failures go to <out>.failed.csv' },
      { flag: 'format', type: 'string', help: 'current (ImageId,EncodedPixels,ClassId) or first (ImageId_ClassId,EncodedPixels)' },
      ...MODEL_FLAGS,
      REDIS_FLAG,
      QUEUE_FLAG,
      { flag: 'local-workers', type: 'int', help: 'no --redis: start a private Redis and this many workers here (default 1)' },
      { flag: 'window', type: 'int', help: 'jobs in Redis at once (default 128); bounds Redis memory' },
      { flag: 'attempts', type: 'int', help: 'tries per image before it is reported failed (default 3)' },
    ],
    examples: [
      'serve batch --images data/test_images --out submission.csv --models runs/main-final --local-workers 2',
      'serve batch --images lake.txt --out lake.csv --models runs/main-final --redis redis://10.0.0.5:6379',
    ],
  },
];

/** Parsed flag values by flag name. */
export type Values = Record<string, string | number | boolean | string[] | number[] | undefined>;

const number = z.coerce.number().finite();
const BYTES = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;

function convert(flag: Flag, raw: string | boolean): Values[string] {
  const fail = (expected: string): never => {
    throw new ServeError('USAGE', `--${flag.flag} expects ${expected}, got "${clip(String(raw))}".`);
  };
  const parse = (text: string, schema: z.ZodType<number>, expected: string): number => {
    const r = schema.safeParse(text.trim());
    return r.success && text.trim() !== '' ? r.data : fail(expected);
  };
  if (flag.type === 'boolean') return raw === true;
  const text = String(raw);
  switch (flag.type) {
    case 'string':
      return text;
    case 'int':
      return parse(text, number.int().nonnegative(), 'a whole number');
    case 'number':
      return parse(text, number, 'a number');
    case 'list':
      return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    case 'numbers':
      return text.split(',').map((s) => parse(s, number, 'comma-separated numbers'));
    case 'bytes': {
      const m = BYTES.exec(text.trim());
      if (!m) return fail('a size such as 8mb or 500kb');
      const unit = (m[2] ?? 'b').toLowerCase();
      const scale = unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : unit.startsWith('g') ? 1024 ** 3 : 1;
      return Math.round(Number(m[1]) * scale);
    }
  }
}

/**
 * Parses one command's flags.
 * @throws {ServeError} `USAGE` for an unknown flag, a missing value or a value of the wrong type.
 */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): { help: boolean; values: Values } {
  const options = Object.fromEntries([
    ...spec.flags.map((f) => [f.flag, { type: f.type === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
    ['help', { type: 'boolean' as const, short: 'h' }],
  ]);
  let parsed: { values: Record<string, string | boolean | undefined> };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }) as typeof parsed;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    throw new ServeError('USAGE', `${message.replace(/\.$/, '')}. Run "serve ${spec.name} --help" for the options.`);
  }
  const values: Values = {};
  for (const f of spec.flags) {
    const raw = parsed.values[f.flag];
    if (raw !== undefined) values[f.flag] = convert(f, raw);
  }
  return { help: parsed.values['help'] === true, values };
}

/** The --help text of a command. */
export function helpText(spec: CommandSpec): string {
  const width = Math.max(...spec.flags.map((f) => f.flag.length)) + 6;
  return [
    spec.summary,
    '',
    `Usage: ${spec.usage}`,
    '',
    'Options:',
    ...spec.flags.map((f) => `  --${f.flag.padEnd(width)}${f.help}`),
    `  -h, --${'help'.padEnd(width - 4)}show this help`,
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
  ].join('\n');
}

/** The overview printed by `serve --help`. */
export function overviewText(): string {
  return [
    'serve: steel defect segmentation as a service, and batch inference over Redis.',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(8)}${c.summary}`),
    '',
    'Run "serve <command> --help" for its options.',
  ].join('\n');
}
