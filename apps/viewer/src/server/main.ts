// `pnpm --filter viewer start`: resolve the models and dataset, start the server, print the address.
import { HELP, resolveStart } from './cli.ts';
import { isViewerError } from './errors.ts';
import { startViewerServer } from './server.ts';

async function main(argv: readonly string[]): Promise<number> {
  const start = await resolveStart(argv);
  if (start.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const viewer = await startViewerServer({ models: start.models, gallery: start.gallery, notices: start.notices, host: start.host, port: start.port });
  const lines = [
    `Steel viewer: ${viewer.url}`,
    `  model${start.models.length === 1 ? '' : 's'}: ${start.models.length === 0 ? '(none)' : start.models.map((m) => `${m.name} (${m.dir})`).join('\n          ')}`,
    `  data:  ${start.gallery ? start.gallery.info.dir : '(none)'}`,
    ...start.notices.map((n) => `  note:  ${n}`),
    'Press Ctrl-C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const stop = () => {
    void viewer.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return await new Promise<number>(() => undefined);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isViewerError(error)) {
      process.stderr.write(`viewer: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`viewer: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
