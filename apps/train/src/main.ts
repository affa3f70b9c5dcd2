// The steel-train command line: `tsx src/main.ts <command> [options]`.
import { helpText, parseCommandArgs, type CommandSpec, type ParsedArgs } from './cli.ts';
import { COMMAND_SPECS, overviewText } from './commands/specs.ts';
import { AppError, toAppError } from './errors.ts';

type Runner = (args: ParsedArgs) => Promise<number>;

// Commands load lazily, so --help and argument errors answer without loading TensorFlow.js.
const RUNNERS: Record<string, () => Promise<Runner>> = {
  start: async () => (await import('./commands/start.ts')).runStart,
  train: async () => (await import('./commands/train.ts')).runTrain,
  evaluate: async () => (await import('./commands/evaluate.ts')).runEvaluate,
  predict: async () => (await import('./commands/predict.ts')).runPredict,
  tune: async () => (await import('./commands/tune.ts')).runTune,
  export: async () => (await import('./commands/export.ts')).runExport,
  'lovasz-finetune': async () => (await import('./commands/lovasz.ts')).runLovaszFinetune,
  eda: async () => (await import('./commands/eda.ts')).runEda,
  generate: async () => (await import('./commands/generate.ts')).runGenerate,
  import: async () => (await import('./commands/import.ts')).runImport,
  bench: async () => (await import('./commands/bench.ts')).runBench,
};

/** Runs one command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overviewText()}\n`);
    return name === undefined ? 2 : 0;
  }
  const spec: CommandSpec | undefined = COMMAND_SPECS.find((c) => c.name === name);
  const load = RUNNERS[name];
  if (spec === undefined || load === undefined) {
    throw new AppError('USAGE', `Unknown command "${name.slice(0, 80)}". Expected one of: ${COMMAND_SPECS.map((c) => c.name).join(', ')}. Run with --help for details.`);
  }
  const args = parseCommandArgs(spec, rest);
  if (args.help) {
    process.stdout.write(`${helpText(spec)}\n`);
    return 0;
  }
  const run = await load();
  return run(args);
}

/** Prints a user error as one line (no stack); anything else is a bug and keeps its stack. */
export function reportError(error: unknown): number {
  const appError = toAppError(error);
  if (appError) {
    process.stderr.write(`error: ${appError.message}\n`);
    return appError.exitCode;
  }
  process.stderr.write(`internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

const isEntry = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry || process.argv[1]?.endsWith('/src/main.ts')) {
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportError(error);
    },
  );
}
