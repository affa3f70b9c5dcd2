// The viewer's HTTP server: the page, its script, the models' files, the dataset's images and ground truth, and JSON info.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import type { ModelInfo, ViewerInfo } from '../shared/api.ts';
import { bundleClient } from './bundle.ts';
import { onnxOf } from './onnx.ts';
import { ViewerError } from './errors.ts';
import type { Gallery } from './gallery.ts';
import { runConfig, runHistory, runMetrics, runPostprocess, runTrainSize, VIEWER_ROOT, type ModelSource } from './sources.ts';

/** Options of {@link startViewerServer}. */
export interface ViewerServerOptions {
  /** Models offered in the picker; the first is loaded first. */
  readonly models: readonly ModelSource[];
  readonly gallery: Gallery | null;
  /** Lines shown at the top of the page. */
  readonly notices?: readonly string[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. Default 0. */
  readonly port?: number;
}

/** A running viewer. */
export interface ViewerServer {
  readonly url: string;
  readonly server: Server;
  readonly info: ViewerInfo;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.bin': 'application/octet-stream',
  '.wasm': 'application/wasm',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
};

// Everything comes from this server: no fonts, scripts or styles from elsewhere. Cross-origin isolation lets the wasm
// backend use threads.
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' blob:; worker-src 'self' blob:; img-src 'self' blob: data:; style-src 'self'; connect-src 'self' blob: data:",
  'X-Content-Type-Options': 'nosniff',
};

// The dataset page is a generated, script-free document with inline styles and data-URI images: it may load nothing else.
const DATA_PAGE_HEADERS = { ...HEADERS, 'Content-Security-Policy': "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'" };

/** A safe single path segment (no slashes, no `..`). */
const SEGMENT = /^[\w][\w.-]*$/;

async function modelInfo(source: ModelSource, id: string): Promise<ModelInfo> {
  const config = runConfig(source);
  return {
    id,
    name: source.name,
    dir: source.dir,
    kind: source.kind,
    hasModelJson: existsSync(join(source.dir, 'model.json')),
    config,
    metrics: runMetrics(source),
    trainSize: await runTrainSize(config),
    postprocess: runPostprocess(source),
    history: runHistory(source),
  };
}

/**
 * Starts the viewer's server and resolves once it listens.
 * @throws {ViewerError} PORT_IN_USE when the port is taken.
 */
export async function startViewerServer(options: ViewerServerOptions): Promise<ViewerServer> {
  const { gallery, host = '127.0.0.1', port = 0 } = options;
  const bundle = await bundleClient();
  const models = await Promise.all(options.models.map(async (source, i) => ({ source, info: await modelInfo(source, `m${i}`) })));
  const info: ViewerInfo = {
    models: models.map((m) => m.info),
    defaultModel: models[0]?.info.id ?? null,
    dataset: gallery?.info ?? null,
    notices: options.notices ?? [],
  };
  const clientDir = join(VIEWER_ROOT, 'src', 'client');
  const html = readFileSync(join(clientDir, 'index.html'), 'utf8');
  const css = readFileSync(join(clientDir, 'style.css'), 'utf8');

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, cache = 'no-store') => {
    res.writeHead(status, { ...HEADERS, 'Content-Type': type, 'Cache-Control': cache });
    res.end(body);
  };
  /** Sends what `body` resolves to, or a 500 starting with `failure` when it rejects. */
  const sendLater = (res: ServerResponse, body: Promise<string | Uint8Array>, type: string, failure: string, headers: Record<string, string> = HEADERS) => {
    body.then(
      (value) => {
        res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(value), 'Cache-Control': 'no-cache' });
        res.end(value);
      },
      (error: unknown) => send(res, 500, 'text/plain; charset=utf-8', `${failure}: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  const sendJson = (res: ServerResponse, value: unknown) => send(res, 200, TYPES['.json']!, JSON.stringify(value));
  const notFound = (res: ServerResponse, what: string) => send(res, 404, 'text/plain; charset=utf-8', `Not found: ${what}`);
  const sendFile = (res: ServerResponse, file: string) => {
    if (!existsSync(file) || !statSync(file).isFile()) return notFound(res, file);
    res.writeHead(200, {
      ...HEADERS,
      'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': statSync(file).size,
      'Cache-Control': 'no-cache',
    });
    createReadStream(file).pipe(res);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'Only GET');
    if (parts.length === 0) return send(res, 200, TYPES['.html']!, html);
    const [head, ...rest] = parts;
    if (rest.length === 0 && head === 'app.js') return send(res, 200, TYPES['.js']!, bundle.js);
    if (rest.length === 0 && head === 'style.css') return send(res, 200, TYPES['.css']!, css);
    if (rest.length === 0 && head === 'favicon.ico') return send(res, 204, 'image/x-icon', '');
    if (head === 'api' && rest[0] === 'info') return sendJson(res, info);
    if (rest.length === 0 && head === 'data.html') {
      if (!gallery) return notFound(res, 'a dataset (start the viewer with --data <folder>)');
      return sendLater(res, gallery.edaPage(), TYPES['.html']!, 'The dataset page could not be made', DATA_PAGE_HEADERS);
    }
    if (head === 'api' && rest[0] === 'images') {
      const split = url.searchParams.get('split') ?? 'test';
      const offset = Math.max(0, Number.parseInt(url.searchParams.get('offset') ?? '0', 10) || 0);
      const limit = Math.min(500, Math.max(1, Number.parseInt(url.searchParams.get('limit') ?? '24', 10) || 24));
      const page = gallery?.page(split, offset, limit);
      return page ? sendJson(res, page) : notFound(res, `split ${split}`);
    }
    if (head === 'images' && rest.length === 2 && SEGMENT.test(rest[1]!)) {
      const file = gallery?.file(rest[0]!, rest[1]!);
      return file ? sendFile(res, file) : notFound(res, url.pathname);
    }
    if (head === 'models' && rest.length === 2 && rest[1] === 'model.onnx') {
      const model = models.find((m) => m.info.id === rest[0]);
      if (!model || !model.info.hasModelJson) return notFound(res, url.pathname);
      return sendLater(res, onnxOf(model.source.dir), 'application/octet-stream', 'The model could not be exported to ONNX');
    }
    if (head === 'models' && rest.length === 2 && SEGMENT.test(rest[1]!)) {
      const model = models.find((m) => m.info.id === rest[0]);
      return model ? sendFile(res, join(model.source.dir, rest[1]!)) : notFound(res, url.pathname);
    }
    if (head === 'wasm' && rest.length === 1 && /^[\w.-]+\.wasm$/.test(rest[0]!)) return sendFile(res, join(bundle.wasmDir, rest[0]!));
    if (head === 'ort' && rest.length === 1 && /^ort-wasm[\w.-]*\.(wasm|mjs)$/.test(rest[0]!)) return sendFile(res, join(bundle.ortDir, rest[0]!));
    return notFound(res, url.pathname);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      send(res, 500, 'text/plain; charset=utf-8', error instanceof Error ? error.message : String(error));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new ViewerError('PORT_IN_USE', `Port ${port} on ${host} is in use. Pass --port <other> (--port 0 picks a free one).`, { cause: error })
          : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    server,
    info,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
