// The browser app's static server (lrfr serve): bundles web/app/app.ts with esbuild (our src/runtime
// + src/nn, the same sources Node runs) when it starts, then serves on 127.0.0.1 (a secure context,
// so navigator.gpu exists):
//   /, /index.html, /app.css, /app.js   the page (web/app)
//   /api/weights                        the safetensors files in weights/ (name, model, run, size)
//   /weights/<file>.safetensors         those files
//   /faceapi/<file>                     face-api's detector and landmark weights (node_modules/@vladmandic/face-api/model)
// Nothing else is served: no directory listings, no paths outside those folders.
import http from 'node:http';
import { readFileSync, readdirSync, statSync, openSync, readSync, closeSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
// @ts-expect-error plain ESM script without types
import { genShaders } from '../../scripts/gen-shaders.mjs';
import { faceApiModelDir } from './dlib.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const APP_DIR = join(REPO_ROOT, 'web/app');

export interface ServeOptions {
  /** Port on 127.0.0.1 (0: any free port). Default 8080. */
  port?: number;
  /** Where the safetensors files are (default weights/). */
  weightsDir?: string;
  /** face-api's model folder (default the installed package's). */
  faceApiDir?: string;
  /** Minify the bundle (default false: readable stack traces). */
  minify?: boolean;
}

export interface AppServer {
  url: string;
  port: number;
  /** Bundle size in bytes and the time esbuild took. */
  bundleBytes: number;
  bundleMs: number;
  close(): Promise<void>;
}

/** Bundles web/app/app.ts for the browser (ESM, ES2022). */
export async function bundleApp(minify = false): Promise<string> {
  genShaders();
  const r = await build({
    entryPoints: [join(APP_DIR, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    minify,
    sourcemap: minify ? false : 'inline',
    logLevel: 'silent',
  });
  if (r.errors.length) throw new Error(`bundling web/app failed:\n${r.errors.map((e) => e.text).join('\n')}`);
  return r.outputFiles[0]!.text;
}

export interface WeightsListing {
  file: string;
  model: string;
  run?: string;
  bytes: number;
}

/** The metadata of a safetensors file (reads only its header); null when it is not one. */
function safetensorsMetadata(path: string): Record<string, string> | null {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) return null;
    const n = Number(head.readBigUInt64LE(0));
    if (!(n > 0 && n < 10_000_000)) return null;
    const buf = Buffer.alloc(n);
    if (readSync(fd, buf, 0, n, 8) !== n) return null;
    const h = JSON.parse(buf.toString('utf8')) as { __metadata__?: Record<string, string> };
    return h.__metadata__ ?? {};
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

export function listWeights(dir: string): WeightsListing[] {
  if (!existsSync(dir)) return [];
  const out: WeightsListing[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.safetensors')) continue;
    const p = join(dir, f);
    const meta = safetensorsMetadata(p);
    if (!meta) continue;
    out.push({ file: f, model: meta.model ?? 'unknown', ...(meta.run ? { run: meta.run } : {}), bytes: statSync(p).size });
  }
  return out;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.safetensors': 'application/octet-stream', '.bin': 'application/octet-stream',
};

/** Starts the app server on 127.0.0.1 (bundles first). */
export async function startAppServer(opts: ServeOptions = {}): Promise<AppServer> {
  const weightsDir = opts.weightsDir ?? join(REPO_ROOT, 'weights');
  const faceApiDir = opts.faceApiDir ?? faceApiModelDir();
  const t0 = performance.now();
  const js = await bundleApp(opts.minify ?? false);
  const bundleMs = performance.now() - t0;
  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(body);
  };
  const sendFile = (res: http.ServerResponse, dir: string, name: string) => {
    const p = join(dir, name);
    if (!SAFE_NAME.test(name) || !existsSync(p) || !statSync(p).isFile()) return send(res, 404, 'text/plain', `not found: ${name}\n`);
    const ext = name.slice(name.lastIndexOf('.'));
    send(res, 200, TYPES[ext] ?? 'application/octet-stream', readFileSync(p));
  };
  const srv = http.createServer((req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'GET only\n');
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
      if (path === '/' || path === '/index.html') return sendFile(res, APP_DIR, 'index.html');
      if (path === '/app.css') return sendFile(res, APP_DIR, 'app.css');
      if (path === '/app.js') return send(res, 200, TYPES['.js']!, js);
      if (path === '/api/weights') return send(res, 200, TYPES['.json']!, JSON.stringify(listWeights(weightsDir)));
      let m = /^\/weights\/([^/]+\.safetensors)$/.exec(path);
      if (m) return sendFile(res, weightsDir, m[1]!);
      m = /^\/faceapi\/([^/]+\.(?:json|bin))$/.exec(path);
      if (m && /^(tiny_face_detector|face_landmark_68_tiny)_model/.test(m[1]!)) return sendFile(res, faceApiDir, m[1]!);
      if (path === '/favicon.ico') { res.writeHead(204); res.end(); return; }
      send(res, 404, 'text/plain', `not found: ${path}\n`);
    } catch (e) {
      send(res, 400, 'text/plain', `bad request: ${(e as Error).message}\n`);
    }
  });
  const port = opts.port ?? 8080;
  await new Promise<void>((resolve, reject) => {
    srv.once('error', (e: NodeJS.ErrnoException) => reject(new Error(
      e.code === 'EADDRINUSE' ? `port ${port} on 127.0.0.1 is in use (pick another with --port N, or --port 0 for any free one)` : e.message, { cause: e })));
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    bundleBytes: Buffer.byteLength(js),
    bundleMs,
    close: () => new Promise<void>((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()); }),
  };
}
