// The serve command line: `tsx src/main.ts <start|worker|batch> [options]`.
import { COMMANDS, helpText, overviewText, parseCommand, type Values } from './cli.ts';
import { clip, ServeError, toServeError } from './errors.ts';

type Runner = (values: Values) => Promise<number>;

// Commands load lazily, so --help and flag errors answer without loading TensorFlow.js.
const RUNNERS: Record<string, () => Promise<Runner>> = {
  start: async () => (await import('./commands/start.ts')).runStart,
  worker: async () => (await import('./commands/worker.ts')).runWorker,
  batch: async () => (await import('./commands/batch.ts')).runBatchCommand,
};

/** Runs one command line; returns the exit code (a long-running command resolves when it stops). */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overviewText()}\n`);
    return name === undefined ? 2 : 0;
  }
  const spec = COMMANDS.find((c) => c.name === name);
  const load = RUNNERS[name];
  if (spec === undefined || load === undefined) {
    throw new ServeError('USAGE', `Unknown command "${clip(name)}". Expected one of: ${COMMANDS.map((c) => c.name).join(', ')}. Run "serve --help".`);
  }
  const { help, values } = parseCommand(spec, rest);
  if (help) {
    process.stdout.write(`${helpText(spec)}\n`);
    return 0;
  }
  return (await load())(values);
}

/** Prints a user error as one line (no stack); anything else is a bug and keeps its stack. */
export function reportError(error: unknown): number {
  const serveError = toServeError(error);
  if (serveError) {
    process.stderr.write(`error: ${serveError.message}\n`);
    return serveError.exitCode;
  }
  process.stderr.write(`internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

if (process.argv[1]?.endsWith('/src/main.ts')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportError(error);
    },
  );
}
