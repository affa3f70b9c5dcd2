import { describe, expect, it } from 'vitest';
import { COMMANDS, helpText, parseCommand } from './cli.ts';
import { main, reportError } from './main.ts';

const spec = (name: string) => COMMANDS.find((c) => c.name === name)!;

describe('serve command line', () => {
  it('parses typed flags', () => {
    const { values } = parseCommand(spec('start'), ['--models', 'a,b', '--weights', '0.5,1.5', '--port', '0', '--body-limit', '2mb', '--tta', 'hflip']);
    expect(values).toEqual({ models: ['a', 'b'], weights: [0.5, 1.5], port: 0, 'body-limit': 2 * 1024 * 1024, tta: ['hflip'] });
  });

  it.each([
    { argv: ['start', '--port', 'eighty'], message: '--port expects a whole number, got "eighty".' },
    { argv: ['start', '--body-limit', 'lots'], message: '--body-limit expects a size such as 8mb or 500kb, got "lots".' },
    { argv: ['batch', '--nope'], message: /Unknown option '--nope'.*serve batch --help/ },
    { argv: ['serve'], message: /Unknown command "serve". Expected one of: start, worker, batch/ },
    { argv: ['batch', '--models', 'runs/x'], message: /Pass --images/ },
    { argv: ['worker', '--models', 'runs/x'], message: /Pass --redis/ },
    { argv: ['start', '--host', '0.0.0.0', '--models', 'runs/x'], message: /STEEL_SERVE_TOKEN/ },
    { argv: ['start', '--models', '/no/such/run'], message: /Model path \/no\/such\/run does not exist/ },
  ])('$argv.0 $argv.1: one line naming the flag, exit code 2 or 4', async ({ argv, message }) => {
    const env = { ...process.env };
    delete process.env['STEEL_SERVE_TOKEN'];
    delete process.env['STEEL_REDIS_URL'];
    try {
      const error = await main(argv).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(message);
      const writes: string[] = [];
      const write = process.stderr.write;
      process.stderr.write = ((chunk: string) => writes.push(chunk) > 0) as unknown as typeof process.stderr.write;
      const code = reportError(error);
      process.stderr.write = write;
      expect([2, 4]).toContain(code);
      expect(writes.join('')).toMatch(/^error: [^\n]+\n$/);
    } finally {
      Object.assign(process.env, env);
    }
  });

  it('every command has help with its flags and examples', () => {
    for (const c of COMMANDS) {
      const text = helpText(c);
      expect(text).toContain(`Usage: ${c.usage}`);
      for (const f of c.flags) expect(text).toContain(`--${f.flag}`);
    }
  });
});
