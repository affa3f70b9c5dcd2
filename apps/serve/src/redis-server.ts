// A private redis-server (Debian's package) on a free loopback port with its own data folder: what the tests, the
// benchmark and a one-machine batch use, started and stopped by the process that owns it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServeError } from './errors.ts';

/** A running private Redis. */
export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Its data folder (AOF and RDB files). */
  readonly dir: string;
  /** The redis-server process id (for fault tests). */
  pid(): number;
  /** Stops it (SIGKILL with `hard`, else a clean shutdown) and starts it again on the same port and folder. */
  restart(options?: { hard?: boolean }): Promise<void>;
  /** Stops it and removes the data folder (unless `keepDir`). */
  stop(options?: { keepDir?: boolean }): Promise<void>;
}

/** Options of {@link startRedis}. */
export interface StartRedisOptions {
  /** Append-only file on (`appendfsync everysec`); default true. */
  appendOnly?: boolean;
  /** Data folder; default a new temporary folder, removed by `stop`. */
  dir?: string;
  /** Port; default a free one. */
  port?: number;
  /** The server binary; default `redis-server` on PATH (or /usr/bin/redis-server). */
  binary?: string;
}

/** The redis-server binary, or a USAGE error that says how to install it. */
export function redisServerBinary(): string {
  for (const candidate of ['redis-server', '/usr/bin/redis-server', '/usr/sbin/redis-server']) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  throw new ServeError(
    'REDIS',
    'redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server, or bash apps/serve/scripts/ensure-redis.sh) or pass --redis with the URL of a running Redis.',
  );
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port (or rejects after `timeoutMs`). */
async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new ServeError('REDIS', `redis-server exited with code ${child.exitCode} before accepting connections: ${log().trim().slice(-400)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new ServeError('REDIS', `redis-server did not accept connections on port ${port} within ${timeoutMs} ms: ${log().trim().slice(-400)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts a private redis-server on 127.0.0.1 (free port, temporary data folder, AOF on by default, no RDB snapshots)
 * and waits until it accepts connections.
 * @throws {ServeError} `REDIS` when redis-server is missing or does not start.
 * @example const redis = await startRedis(); try { ... redis.url ... } finally { await redis.stop(); }
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<PrivateRedis> {
  const binary = options.binary ?? redisServerBinary();
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'steel-redis-'));
  const appendOnly = options.appendOnly ?? true;
  let port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    output = '';
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no',
      '--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', 'everysec', '--protected-mode', 'yes', '--loglevel', 'warning',
    ];
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child = proc;
    await waitForPort(port, proc, () => output);
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  // A port taken between freePort and the launch: try another one (only when the caller did not fix the port).
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (error) {
      await halt('SIGKILL');
      if (options.port !== undefined || attempt >= 2 || !/Address already in use/i.test(output)) {
        if (ownDir) rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      port = await freePort();
    }
  }

  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    pid: () => child?.pid ?? -1,
    async restart({ hard = false } = {}) {
      await halt(hard ? 'SIGKILL' : 'SIGTERM');
      await launch();
    },
    async stop({ keepDir = false } = {}) {
      await halt('SIGTERM');
      if (ownDir && !keepDir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
