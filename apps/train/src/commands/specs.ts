import { CONFIG_FLAGS, type CommandSpec, type FlagSpec } from '../cli.ts';
import { ARCHITECTURE_NAMES, choices, ENCODER_NAMES } from '../names.ts';

const BIN = 'steel-train';

const PRESET: FlagSpec = { flag: 'preset', type: 'string', help: 'default | reference-unet-r34 | reference-fpn-r34 | neu-seg (needs --data)' };
const CONFIG: FlagSpec = { flag: 'config', type: 'string', help: 'JSON config file; flags override it, it overrides the preset' };
const BACKEND: FlagSpec = CONFIG_FLAGS.find((f) => f.flag === 'backend')!;
const THREADS: FlagSpec = CONFIG_FLAGS.find((f) => f.flag === 'threads')!;
const ENGINE: FlagSpec = CONFIG_FLAGS.find((f) => f.flag === 'engine')!;
const DEVICE: FlagSpec = CONFIG_FLAGS.find((f) => f.flag === 'device')!;
const DATA: FlagSpec = { flag: 'data', type: 'string', help: 'a Kaggle-layout folder, or "synthetic" (the cached synthetic dataset)' };
const ENSEMBLE_FLAGS: FlagSpec[] = [
  { flag: 'models', type: 'list', help: 'run folders, model folders (best/) or .onnx files, comma-separated; several = an ensemble' },
  { flag: 'weights', type: 'numbers', help: 'ensemble weights, one per model (default: plain mean)' },
  { flag: 'tta', type: 'list', help: 'test-time augmentation: hflip, vflip, hvflip (comma-separated)' },
  { flag: 'postprocess', type: 'string', help: 'post-processing JSON (from "tune"); default: the run\'s threshold and min areas' },
  { flag: 'threshold', type: 'number', help: 'probability threshold when no --postprocess is given' },
  { flag: 'min-area', type: 'numbers', help: 'per-class minimum component area when no --postprocess is given' },
  { flag: 'batch-size', type: 'int', help: 'images per forward pass (default 4)' },
];

export const trainSpec: CommandSpec = {
  name: 'train',
  summary: 'Train a segmentation model; writes runs/<name>/ (config, log, checkpoints, best model, metrics, report).',
  usage: `${BIN} train [--preset <name>] [--config <file>] [options]   |   ${BIN} train --resume runs/<name>`,
  flags: [
    PRESET,
    CONFIG,
    { flag: 'resume', type: 'string', help: 'continue the run in this folder from its last checkpoint (also after kill -9)' },
    { flag: 'print-config', type: 'boolean', help: 'print the resolved config and exit' },
    { flag: 'stop-after-steps', type: 'int', help: 'save a checkpoint and stop after this many steps (resume later)' },
    ...CONFIG_FLAGS,
  ],
  examples: [
    `${BIN} train                                   # the default preset on the synthetic data`,
    `${BIN} train --preset reference-unet-r34 --data ../data/severstal --backend tensorflow`,
    `${BIN} train --data ../shared/data/severstal-sample --epochs 2 --scale 0.25 --name sample`,
    `${BIN} train --preset neu-seg --data .cache/neu-seg      # after: import --from <NEU-Seg> --out .cache/neu-seg`,
    `${BIN} train --config my-run.json --lr 1e-4 --schedule one-cycle`,
    `${BIN} train --resume runs/sample`,
  ],
};

export const startSpec: CommandSpec = {
  name: 'start',
  summary:
    'The main job: generate the synthetic dataset if missing, train UNet-ResNet18 (default preset), predict the test images ' +
    'with post-processing, score them against the held-back truth and print the summary table.',
  usage: `${BIN} start [train options]`,
  flags: [PRESET, CONFIG, ...CONFIG_FLAGS],
  examples: [`${BIN} start`, `${BIN} start --epochs 4 --name longer`, `${BIN} start --backend cpu`],
};

export const evaluateSpec: CommandSpec = {
  name: 'evaluate',
  summary:
    'Score models on labelled images with the competition Dice, per class, showing what each step buys: raw, + TTA, + ensemble, + post-processing.',
  usage: `${BIN} evaluate --models runs/a[,runs/b] [--data <dir>] [--split val|train|all|test] [options]`,
  flags: [
    ...ENSEMBLE_FLAGS,
    DATA,
    { flag: 'split', type: 'string', help: 'val (the run\'s validation images, default), train, all, or test (synthetic test set)' },
    { flag: 'max-images', type: 'int', help: 'score at most this many images' },
    { flag: 'json', type: 'string', help: 'also write the step table (competition Dice, dataset Dice, IoU per step) to this JSON file' },
    { flag: 'report', type: 'string', help: 'also write an error-analysis page (HTML) here, and its numbers as JSON beside it' },
    { flag: 'worst', type: 'int', help: 'worst images shown in --report (default 8)' },
    BACKEND,
    THREADS,
    ENGINE,
    DEVICE,
  ],
  examples: [
    `${BIN} evaluate --models runs/main`,
    `${BIN} evaluate --models runs/unet,runs/fpn --weights 0.5,0.5 --tta hflip,vflip --postprocess runs/unet/tuned.json`,
    `${BIN} evaluate --models runs/main --data synthetic --split test`,
    `${BIN} evaluate --models runs/main --postprocess runs/main/tuned.json --report evaluation.html`,
  ],
};

export const predictSpec: CommandSpec = {
  name: 'predict',
  summary: 'Predict masks for a folder of images and write a submission CSV (streaming: memory stays bounded).',
  usage: `${BIN} predict --models runs/a[,runs/b] --images <dir> [--out submission.csv] [options]`,
  flags: [
    ...ENSEMBLE_FLAGS,
    { flag: 'images', type: 'string', help: 'folder of images to predict (default: the dataset\'s test_images/)' },
    DATA,
    { flag: 'out', type: 'string', help: 'submission file (default submission.csv)' },
    { flag: 'format', type: 'string', help: 'current (ImageId,EncodedPixels,ClassId; default) or first (ImageId_ClassId,EncodedPixels)' },
    BACKEND,
    THREADS,
    ENGINE,
    DEVICE,
  ],
  examples: [
    `${BIN} predict --models runs/main --data synthetic --out submission.csv`,
    `${BIN} predict --models model.onnx --engine onnxruntime --images ../data/test_images`,
    `${BIN} predict --models runs/unet,runs/fpn --weights 0.6,0.4 --tta hflip,vflip --postprocess tuned.json --images ../data/test_images`,
    `${BIN} predict --models runs/main --images ../data/test_images --format first`,
  ],
};

export const tuneSpec: CommandSpec = {
  name: 'tune',
  summary: 'Search per-class threshold, minimum area and mask-area rule on validation images; writes the best as JSON.',
  usage: `${BIN} tune --models runs/a[,runs/b] [--out tuned.json] [options]`,
  flags: [
    // tune searches the threshold and minimum area itself, so it takes no post-processing flags.
    ...ENSEMBLE_FLAGS.filter((f) => !['postprocess', 'threshold', 'min-area'].includes(f.flag)),
    DATA,
    { flag: 'split', type: 'string', help: 'val (default), train or all' },
    { flag: 'out', type: 'string', help: 'output JSON (default <first run>/tuned.json)' },
    BACKEND,
    THREADS,
    ENGINE,
    DEVICE,
  ],
  examples: [`${BIN} tune --models runs/main`, `${BIN} tune --models runs/unet,runs/fpn --tta hflip --out tuned.json`],
};

export const lovaszSpec: CommandSpec = {
  name: 'lovasz-finetune',
  summary: 'Continue a trained run for N steps with the Lovász hinge loss, from its best model; a new run folder, resumable with train --resume.',
  usage: `${BIN} lovasz-finetune --from runs/<name> [--steps n] [--lr x] [--name <new>]`,
  flags: [
    { flag: 'from', type: 'string', help: 'the run folder to continue (its best/ model, config and split)' },
    { flag: 'steps', type: 'int', help: 'optimizer steps (default 100)' },
    { flag: 'lr', type: 'number', help: 'constant learning rate (default: a tenth of the run\'s)' },
    { flag: 'name', type: 'string', help: 'new run name (default <run>-lovasz)' },
    { flag: 'runs-dir', type: 'string', help: 'where the new run goes (default: beside the old one)' },
    { flag: 'stop-after-steps', type: 'int', help: 'save a checkpoint and stop after this many steps (resume later)' },
    BACKEND,
    THREADS,
  ],
  examples: [`${BIN} lovasz-finetune --from runs/main --steps 60`, `${BIN} train --resume runs/main-lovasz`],
};

export const edaSpec: CommandSpec = {
  name: 'eda',
  summary: 'Counts per class, images with and without defects, defects per image, mask areas: a table and JSON.',
  usage: `${BIN} eda [--data <dir>] [--json <file>] [--report <file.html>]`,
  flags: [
    DATA,
    { flag: 'json', type: 'string', help: 'also write the report as JSON here' },
    { flag: 'report', type: 'string', help: 'also write a page with plots and example images (HTML, offline), its numbers as JSON beside it' },
    { flag: 'examples', type: 'int', help: 'example images per class in --report (default 4)' },
  ],
  examples: [`${BIN} eda`, `${BIN} eda --data ../shared/data/severstal-sample --json eda.json`, `${BIN} eda --report eda.html`],
};

export const generateSpec: CommandSpec = {
  name: 'generate',
  summary: 'Write the synthetic steel dataset (Kaggle layout, test images with ground truth aside); seeded and reproducible.',
  usage: `${BIN} generate --out <dir> [--count n] [--test-count n] [--size HxW] [--seed n]`,
  flags: [
    { flag: 'out', type: 'string', help: 'output folder (default: the app cache used by --data synthetic)' },
    { flag: 'count', type: 'int', help: 'training images (default 320)' },
    { flag: 'test-count', type: 'int', help: 'test images (default 64)' },
    { flag: 'size', type: 'size', help: 'image size HxW (default 64x400; the competition is 256x1600)' },
    { flag: 'seed', type: 'int', help: 'random seed (default 1)' },
  ],
  examples: [`${BIN} generate --out data/synthetic --count 2000 --size 256x1600`, `${BIN} generate --out /tmp/tiny --count 16 --size 32x64`],
};

export const importSpec: CommandSpec = {
  name: 'import',
  summary: 'Convert a mask-folder dataset (images/<id>.jpg, masks/<id>.png label maps, train.txt, val.txt) to the Kaggle layout.',
  usage: `${BIN} import --from <dir> --out <dir> [--copy]`,
  flags: [
    { flag: 'from', type: 'string', help: 'source folder (like neu-seg)' },
    { flag: 'out', type: 'string', help: 'output folder in the Kaggle layout' },
    { flag: 'copy', type: 'boolean', help: 'copy images instead of linking them' },
  ],
  examples: [`${BIN} import --from ../shared/data/neu-seg --out data/neu-seg`],
};

export const benchSpec: CommandSpec = {
  name: 'bench',
  summary: 'Time training steps and forward passes of the configured model on this machine.',
  usage: `${BIN} bench [--architecture unet] [--encoder resnet18] [--shape BxHxWxC] [--steps n] [--backend b]`,
  flags: [
    { flag: 'architecture', type: 'string', help: `${choices(ARCHITECTURE_NAMES)} (default unet)` },
    { flag: 'encoder', type: 'string', help: `${choices(ENCODER_NAMES)} (default resnet18)` },
    { flag: 'shape', type: 'string', help: 'input shape BxHxWxC (default 2x64x416x1)' },
    { flag: 'steps', type: 'int', help: 'timed steps (default 3)' },
    BACKEND,
    THREADS,
  ],
  examples: [`${BIN} bench`, `${BIN} bench --shape 2x128x256x1 --backend wasm`, `${BIN} bench --encoder resnet34 --shape 2x256x384x1`],
};

export const exportSpec: CommandSpec = {
  name: 'export',
  summary: 'Write a run\'s model as ONNX (input "image" [N, C, H, W], output "logits"), with its normalisation, scale and post-processing as metadata.',
  usage: `${BIN} export --models runs/<name> [--out model.onnx]`,
  flags: [
    { flag: 'models', type: 'list', help: 'the run folder (runs/<name>) or model folder (best/) to export' },
    { flag: 'out', type: 'string', help: 'the .onnx file to write (default <run>/model.onnx); written atomically' },
    BACKEND,
    THREADS,
  ],
  examples: [`${BIN} export --models runs/main`, `${BIN} export --models runs/main --out deploy/steel-unet.onnx`],
};

export const COMMAND_SPECS = [startSpec, trainSpec, evaluateSpec, predictSpec, tuneSpec, lovaszSpec, exportSpec, edaSpec, generateSpec, importSpec, benchSpec];

/** The top-level --help. */
export function overviewText(): string {
  const width = Math.max(...COMMAND_SPECS.map((c) => c.name.length)) + 2;
  return [
    'Steel defect segmentation: train, evaluate and run models (TensorFlow.js).',
    '',
    `Usage: ${BIN} <command> [options]      (${BIN} <command> --help for its options)`,
    '',
    'Commands:',
    ...COMMAND_SPECS.map((c) => `  ${c.name.padEnd(width)}${c.summary.split(/[:;(]| — |\. /)[0]!.trim()}`),
    '',
    'Examples:',
    `  ${BIN} start                       # the main job on the synthetic data`,
    `  ${BIN} train --data ../shared/data/severstal-sample --epochs 2`,
    `  ${BIN} predict --models runs/main --data synthetic`,
  ].join('\n');
}
