// What the browser benchmarks share (bench/browser.ts, bench/browser-models.ts,
// scripts/app-timings.mts): the page bundle (our runtime and the page's peers, built by esbuild
// after the shaders are generated) and a 127.0.0.1 server for it with cross-origin isolation.
//
// The server answers / (and /index.html) with the page's HTML, /favicon.ico with 204, and every
// other path through the caller's route (null: 404). Every answer carries COOP same-origin / COEP
// require-corp: crossOriginIsolated, hence SharedArrayBuffer, which the threaded wasm builds of
// tfjs and onnxruntime-web need. 127.0.0.1 is a secure context, so navigator.gpu exists there (it
// does not on about:blank).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
// @ts-expect-error plain ESM script without types
import { genShaders } from '../../scripts/gen-shaders.mjs';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Cross-origin isolation headers (crossOriginIsolated, SharedArrayBuffer). */
export const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } as const;

export interface BundleOptions {
  plugins?: Plugin[];
  alias?: Record<string, string>;
  /** Defines beyond process.env.NODE_ENV = "production" (always set: tfjs reads it). */
  define?: Record<string, string>;
}

/** Generates the shader module, then bundles `entry` (repository-relative, or absolute) for the browser as one ESM script. */
export async function bundlePage(entry: string, opts: BundleOptions = {}): Promise<string> {
  (genShaders as () => void)();
  const r = await build({
    entryPoints: [resolve(REPO_ROOT, entry)],
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, minify: false, sourcemap: false, logLevel: 'warning',
    plugins: opts.plugins ?? [],
    alias: opts.alias ?? {},
    define: { 'process.env.NODE_ENV': '"production"', ...opts.define },
  });
  return r.outputFiles[0]!.text;
}

/** One answer of a route: its content type and body. */
export interface Served { type: string; body: string | Uint8Array }

export interface PageServer { url: string; close(): void }

/** Serves `html` at / and whatever `route` answers elsewhere, on 127.0.0.1 at a free port. */
export function servePage(html: string, route: (path: string) => Served | null): Promise<PageServer> {
  const srv = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    const r: Served | null = p === '/' || p === '/index.html' ? { type: 'text/html; charset=utf-8', body: html } : p === '/favicon.ico' ? null : route(p);
    if (!r) {
      res.writeHead(p === '/favicon.ico' ? 204 : 404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': r.type, ...ISOLATION });
    res.end(r.body);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    const addr = srv.address() as { port: number };
    resolve({ url: `http://127.0.0.1:${addr.port}/`, close: () => { srv.closeAllConnections(); srv.close(); } });
  }));
}

/**
 * A new page of `browser`, its console logs and errors echoed here ("  [page] …"), navigated to `url`
 * and returned once `ready` (evaluated in the page) holds.
 */
export async function openPage(browser: Browser, url: string, ready: () => boolean, timeoutMs: number): Promise<Page> {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'log' || m.type() === 'error') console.log(`  [page] ${m.text()}`); });
  page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(ready, null, { timeout: timeoutMs });
  return page;
}

/** The page script at /<name>. */
export function scriptRoute(name: string, js: string): (path: string) => Served | null {
  return (p) => (p === `/${name}` ? { type: 'text/javascript; charset=utf-8', body: js } : null);
}

const TFJS_WASM_DIR = join(REPO_ROOT, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');

/** tfjs-backend-wasm's three .wasm builds at /wasm/<file> (the page sets its wasm paths there); `served` hears which was fetched. */
export function tfjsWasmRoute(served?: (file: string) => void): (path: string) => Served | null {
  return (p) => {
    const m = /^\/wasm\/(tfjs-backend-wasm(?:-simd|-threaded-simd)?\.wasm)$/.exec(p);
    if (!m) return null;
    served?.(m[1]!);
    return { type: 'application/wasm', body: readFileSync(join(TFJS_WASM_DIR, m[1]!)) };
  };
}

/** The first route that answers. */
export function routes(...rs: ((path: string) => Served | null)[]): (path: string) => Served | null {
  return (p) => {
    for (const r of rs) {
      const s = r(p);
      if (s) return s;
    }
    return null;
  };
}
