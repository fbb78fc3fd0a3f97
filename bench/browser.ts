// The kernel benchmark in headless Chromium: ours vs tfjs-webgpu in the same page, on Chromium's
// WebGPU adapter (SwiftShader on a machine without a GPU). Bundles web/bench/bench-page.ts with
// esbuild (our runtime, the bench CASES and tfjs + tfjs-backend-webgpu), serves web/bench on
// 127.0.0.1 (a secure context: navigator.gpu exists there, not on about:blank), drives the page with
// playwright-core and writes bench/results/browser-<adapter-key>-<date>.{json,md}.
//
//   npm run bench:browser -- [--only matmul,conv] [--quick] [--no-write] [--chromium PATH] [--headed]
//
// Needs a Chromium: `apt-get install -y chromium` (Debian) gives /usr/bin/chromium. Flags: see ARGS;
// --enable-unsafe-webgpu alone gives the SwiftShader adapter in headless mode on Linux (Chromium 156).
import http from 'node:http';
import os from 'node:os';
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { chromium } from 'playwright-core';
// @ts-expect-error plain ESM script without types
import { genShaders } from '../scripts/gen-shaders.mjs';
import { sanitizeKey } from './lib/report.js';
import type { PageOptions, PageResult, PageCaseResult, PageTiming } from '../web/bench/bench-page.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pageDir = join(root, 'web/bench');

export const ARGS = [
  '--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

interface Opts { only?: string[]; quick?: boolean; write: boolean; chromium: string; headed?: boolean }

function parseArgs(argv: string[]): Opts {
  const o: Opts = { write: true, chromium: process.env.CHROMIUM ?? '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') o.only = (argv[++i] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--quick') o.quick = true;
    else if (a === '--no-write') o.write = false;
    else if (a === '--chromium') o.chromium = argv[++i] ?? o.chromium;
    else if (a === '--headed') o.headed = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench:browser -- [--only matmul,conv] [--quick] [--no-write] [--chromium PATH] [--headed]');
      process.exit(0);
    } else throw new Error(`bench:browser: unknown option ${a}`);
  }
  return o;
}

/** bench/lib/peers.ts loads tfjs backends with Node APIs; the page only needs its `tf` export. */
const browserPeers: Plugin = {
  name: 'browser-peers',
  setup(b) {
    b.onResolve({ filter: /\/peers\.js$/ }, (args) =>
      args.importer.includes(`${join('bench', 'lib')}`) ? { path: 'peers', namespace: 'lrfr-browser-peers', pluginData: args.resolveDir } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'lrfr-browser-peers' }, (args) => ({
      contents: "import * as tf from '@tensorflow/tfjs';\nexport { tf };\n",
      resolveDir: args.pluginData as string,
      loader: 'ts',
    }));
  },
};

async function bundle(): Promise<string> {
  genShaders();
  const r = await build({
    entryPoints: [join(pageDir, 'bench-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    minify: false,
    sourcemap: false,
    logLevel: 'warning',
    plugins: [browserPeers],
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  return r.outputFiles[0]!.text;
}

function serve(js: string): Promise<{ url: string; close: () => void }> {
  const srv = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0]!;
    if (p === '/' || p === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(readFileSync(join(pageDir, 'index.html')));
    } else if (p === '/bench-page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(js);
    } else if (p === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => {
    const addr = srv.address() as { port: number };
    resolve({ url: `http://127.0.0.1:${addr.port}/`, close: () => srv.close() });
  }));
}

const ms = (t?: PageTiming): string => (!t ? '—' : t.error ? 'error' : t.msMedian < 1 ? t.msMedian.toFixed(3) : t.msMedian.toFixed(2));
const rate = (c: PageCaseResult, t?: PageTiming): string => {
  if (!t || t.error || !(t.msMedian > 0)) return '—';
  const v = c.work / (t.msMedian * 1e-3) / 1e9;
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)}${c.unit === 'GB/s' ? ' GB/s' : ''}`;
};
const ratio = (c: PageCaseResult): string =>
  c.ours && c.webgpu && !c.ours.error && !c.webgpu.error && c.webgpu.msMedian > 0 ? (c.ours.msMedian / c.webgpu.msMedian).toFixed(2) : '—';
const check = (c: PageCaseResult): string => {
  if (c.status === 'n/a' || c.status === 'ERROR') return `${c.status}: ${c.detail ?? ''}`;
  return `${c.status} ${c.maxAbsDiff?.toExponential(1) ?? '?'} (tol ${c.tol === 0 ? '0' : c.tol.toExponential(0)})`;
};
const HEADER = ['case', 'ours ms', 'ours GFLOP/s', 'tfjs-webgpu ms', 'tfjs-webgpu GFLOP/s', 'ours/tfjs-webgpu (time)', 'vs tfjs-webgpu (max abs diff)'];
const rows = (cs: PageCaseResult[]) => cs.map((c) => [c.name, ms(c.ours), rate(c, c.ours), ms(c.webgpu), rate(c, c.webgpu), ratio(c), check(c)]);

function textTable(cs: PageCaseResult[]): string {
  const all = [HEADER, ...rows(cs)];
  const w = HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 || i === r.length - 1 ? v.padEnd(w[i]!) : v.padStart(w[i]!))).join('  ');
  return [line(HEADER), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

function markdown(r: PageResult, meta: Record<string, unknown>): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const a = r.adapter;
  return [
    `Kernel benchmark in the browser — ${String(meta.date)}, ${esc(String(meta.adapterKey))}`,
    '',
    `Browser: ${esc(r.userAgent)} (headless, flags \`${ARGS.join(' ')}\`). Host: ${String(meta.cpu)}, ${String(meta.cores)} cores; load average at start ${(meta.loadavgStart as number[]).map((v) => v.toFixed(2)).join(', ')}${(meta.loadavgStart as number[])[0]! > 0.5 ? ' (other work was running: timings are disturbed)' : ''}.`,
    `Adapter (navigator.gpu.requestAdapter().info): vendor ${a.vendor || '—'}, architecture ${a.architecture || '—'}, device ${a.device || '—'}, description ${a.description || '—'}, fallback ${String(a.isFallbackAdapter)}. tfjs ${r.tfjs} (webgpu backend, its own GPUDevice on the same adapter).`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i === 0 || i === HEADER.length - 1 ? '---' : '---:')).join('|')}|`,
    ...rows(r.cases).map((row) => `| ${row.map(esc).join(' | ')} |`),
    '',
    `ms = median over 3–${r.options.samples} samples (fewer when a sample is slow, ~${r.options.budgetMs / 1000} s per implementation; counts and K in the JSON) of (K back-to-back launches + one await) / K, K calibrated to ~${r.options.targetMs} ms per sample (max ${r.options.maxK}; K = 1 when one launch takes longer), after ${r.options.warmup} untimed warm-up launch(es) and one timed calibration launch. ours/tfjs-webgpu < 1 means ours is faster. Correctness: max |ours − tfjs-webgpu| on the same seeded inputs, in our layout (NCHW); the timed tfjs ops run in NHWC. GB/s for pixel shuffle.`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.chromium)) throw new Error(`no Chromium at ${o.chromium} (Debian: apt-get install -y chromium; or --chromium PATH / CHROMIUM=...)`);
  const t0 = performance.now();
  const js = await bundle();
  console.log(`bundled bench-page.js: ${(js.length / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const server = await serve(js);
  const browser = await chromium.launch({ executablePath: o.chromium, args: ARGS, headless: !o.headed });
  try {
    const loadavgStart = os.loadavg();
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'log' || m.type() === 'error') console.log(`  [page] ${m.text()}`); });
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    await page.goto(server.url);
    await page.waitForFunction(() => 'lrfrBench' in window, null, { timeout: 30_000 });
    const popts: PageOptions = { only: o.only, ...(o.quick ? { targetMs: 100, samples: 3, budgetMs: 3000 } : {}) };
    const r = await page.evaluate((p) => window.lrfrBench.run(p), popts);
    const date = new Date().toISOString();
    const adapterKey = sanitizeKey(r.adapter.key);
    const cpus = os.cpus();
    const meta = { date, adapterKey, loadavgStart, loadavgEnd: os.loadavg(), browser: browser.version(), cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, os: `${os.type()} ${os.release()} ${os.arch()}`, flags: ARGS };
    console.log(`\nadapter: ${JSON.stringify(r.adapter)}  (Chromium ${browser.version()}, ${r.seconds.toFixed(0)} s in the page)\n`);
    console.log(textTable(r.cases));
    if (o.write) {
      const dir = join(root, 'bench/results');
      mkdirSync(dir, { recursive: true });
      const base = join(dir, `browser-${adapterKey}-${date.slice(0, 10)}`);
      writeFileSync(`${base}.json`, JSON.stringify({ ...meta, ...r }, null, 2) + '\n');
      writeFileSync(`${base}.md`, markdown(r, meta));
      console.log(`\nwrote ${base}.json, ${base}.md`);
    }
    if (r.cases.some((c) => c.status === 'FAIL' || c.status === 'ERROR')) process.exitCode = 1;
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
