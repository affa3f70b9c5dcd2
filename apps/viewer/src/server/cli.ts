// Command line of `pnpm --filter viewer start`: which models and which dataset to show.
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ViewerError } from './errors.ts';
import { openGallery, type Gallery } from './gallery.ts';
import { listRuns, locate, modelSource, newestSyntheticDir, runConfig, runDataDir, runSource, runsDir, type ModelSource } from './sources.ts';

export const HELP = `Usage: pnpm --filter viewer start [options]

Serves a page that shows a dataset's images with their ground-truth and predicted defects, running the model in the
browser. Prints the address to open.

Options:
  --run <dir>     a training run (runs/<name>, relative to apps/train or the current folder); repeatable
  --model <dir>   a folder with model.json and its weight files (tfjs layers format); repeatable
  --data <dir>    a Kaggle-layout dataset (train.csv, train_images/, test_images/); default: the one the model was trained on
  --port <n>      port to listen on (default 8180; 0 picks a free one)
  --host <addr>   address to listen on (default 127.0.0.1)
  -h, --help      this text

Without --run or --model, every run in apps/train/runs is offered, the newest first.

Examples:
  pnpm --filter viewer start
  pnpm --filter viewer start --run runs/main-2026-11-25T10-31-02
  pnpm --filter viewer start --model ../train/runs/main-2026-11-25T10-31-02/best --data ../../../shared/data/severstal-sample
`;

/** What `start` resolved from its flags. */
export interface ResolvedStart {
  readonly models: ModelSource[];
  readonly gallery: Gallery | null;
  readonly notices: string[];
  readonly port: number;
  readonly host: string;
  readonly help: boolean;
}

/**
 * Parses the flags and finds the models and dataset.
 * @throws {ViewerError} USAGE for unknown flags or a bad port; NOT_FOUND / NOT_A_RUN for bad --run/--model/--data paths;
 * BAD_DATA for a dataset that cannot be read.
 */
export async function resolveStart(argv: readonly string[]): Promise<ResolvedStart> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        run: { type: 'string', multiple: true },
        model: { type: 'string', multiple: true },
        data: { type: 'string' },
        port: { type: 'string', default: '8180' },
        host: { type: 'string', default: '127.0.0.1' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ViewerError('USAGE', `${error instanceof Error ? error.message : String(error)} Run with --help for the options.`);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ViewerError('USAGE', `--port: expected an integer from 0 to 65535, got "${String(values.port).slice(0, 40)}".`);
  }
  const base = { port, host: values.host ?? '127.0.0.1', help: values.help === true };
  if (base.help) return { ...base, models: [], gallery: null, notices: [] };

  const notices: string[] = [];
  const given = [...(values.run ?? []).map(runSource), ...(values.model ?? []).map(modelSource)];
  let models = given;
  if (models.length === 0) {
    models = listRuns();
    if (models.length === 0) {
      notices.push(
        `No trained model found in ${runsDir()}. Train one with "pnpm --filter train start", or start the viewer with --model <folder with model.json>.`,
      );
    }
  }

  let dataDir: string | null = null;
  if (values.data !== undefined) {
    const { found, tried } = locate(values.data);
    if (found === null || !statSync(found).isDirectory()) {
      throw new ViewerError('NOT_FOUND', `Data folder "${values.data}" does not exist (looked at ${tried.join(', ')}). Pass a Kaggle-layout folder with train.csv and train_images/.`);
    }
    dataDir = found;
  } else {
    dataDir = models.map((m) => runDataDir(runConfig(m))).find((d) => d !== null) ?? newestSyntheticDir();
    if (dataDir === null) {
      notices.push('No dataset found: train once with "pnpm --filter train start" (it generates the synthetic data), or pass --data <folder>.');
    }
  }
  const gallery = dataDir !== null && existsSync(dataDir) ? await openGallery(dataDir) : null;
  return { ...base, models, gallery, notices };
}
