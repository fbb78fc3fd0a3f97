// The kernel benchmark in headless Chromium: ours vs tfjs-webgpu and tfjs-wasm in the same page, on
// Chromium's WebGPU adapter (SwiftShader on a machine without a GPU), with % of the adapter's measured
// peak and the variant the autotuner chose per case. Bundles web/bench/bench-page.ts with esbuild (our
// runtime, the bench CASES, bench/lib/peak.ts and tfjs + tfjs-backend-webgpu + tfjs-backend-wasm),
// serves web/bench and tfjs-wasm's .wasm files on 127.0.0.1 (a secure context: navigator.gpu exists
// there, not on about:blank) with COOP/COEP headers (cross-origin isolation: SharedArrayBuffer, so the
// threaded tfjs-wasm build can run), drives the page with playwright-core and writes
// bench/results/browser-<adapter-key>-<date>.{json,md}.
//
//   npm run bench:browser -- [--only matmul,conv] [--quick] [--no-write] [--no-wasm] [--no-peak]
//                            [--no-autotune] [--chromium PATH] [--headed]
//   npm run bench:browser -- --probe-matmul [id,id...] [--n 1024] [--rounds 3]
//       times matmul n³ under each MatmulTuning variant of PROBE_VARIANTS and tfjs-webgpu's,
//       interleaved (no autotuner), and prints the table (nothing written).
//
// Needs a Chromium: `apt-get install -y chromium` (Debian) gives /usr/bin/chromium. Flags: see ARGS;
// --enable-unsafe-webgpu alone gives the SwiftShader adapter in headless mode on Linux (Chromium 156).
import os from 'node:os';
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { chromium } from 'playwright-core';
import { bundlePage, servePage, routes, scriptRoute, tfjsWasmRoute, openPage, type PageServer } from './lib/page-server.js';
import { sanitizeKey } from './lib/report.js';
import type { PageOptions, PageResult, PageCaseResult, PageTiming, ProbeResult } from '../web/bench/bench-page.js';
import type { MatmulTuning } from '../src/runtime/ops/matmul.js';
import { machineInfo } from './lib/machine.js';
import { writeResultFiles } from './lib/result-files.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pageDir = join(root, 'web/bench');

export const ARGS = [
  '--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
];

/** Matmul knob sets for --probe-matmul (over the defaults of src/runtime/ops/matmul.ts). */
export const PROBE_VARIANTS: Record<string, Partial<MatmulTuning>> = {
  default: {},
  '8x8': { tm: 8, tnv: 2 },
  '4x4': { tm: 4, tnv: 1 },
  kvec: { kvec: true },
  'kvec-4x4': { kvec: true, tm: 4, tnv: 1 },
  tiled: { tiled: true },
  'v4-4x4': { tiledVec4: { tm: 4, tnv: 1 } },
  'v4-8x4': { tiledVec4: { tm: 8, tnv: 1 } },
  'v4-4x8': { tiledVec4: { tm: 4, tnv: 2 } },
  'v4-8x8': { tiledVec4: { tm: 8, tnv: 2 } },
};

interface Opts {
  only?: string[]; quick?: boolean; write: boolean; chromium: string; headed?: boolean;
  wasm: boolean; peak: boolean; autotune: boolean;
  probe?: string[]; n?: number; rounds?: number;
}

function parseArgs(argv: string[]): Opts {
  const o: Opts = { write: true, chromium: process.env.CHROMIUM ?? '/usr/bin/chromium', wasm: true, peak: true, autotune: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') o.only = (argv[++i] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--quick') o.quick = true;
    else if (a === '--no-wasm') o.wasm = false;
    else if (a === '--no-peak') o.peak = false;
    else if (a === '--no-autotune') o.autotune = false;
    else if (a === '--probe-matmul') {
      const next = argv[i + 1];
      o.probe = next && !next.startsWith('--') ? (i++, next.split(',').map((s) => s.trim()).filter(Boolean)) : Object.keys(PROBE_VARIANTS);
      for (const id of o.probe) if (!(id in PROBE_VARIANTS)) throw new Error(`bench:browser: unknown probe variant ${id} (known: ${Object.keys(PROBE_VARIANTS).join(', ')})`);
    } else if (a === '--n') o.n = Number(argv[++i]);
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--no-write') o.write = false;
    else if (a === '--chromium') o.chromium = argv[++i] ?? o.chromium;
    else if (a === '--headed') o.headed = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench:browser -- [--only matmul,conv] [--quick] [--no-write] [--no-wasm] [--no-peak] [--no-autotune] [--chromium PATH] [--headed]\n' +
        '       npm run bench:browser -- --probe-matmul [id,...] [--n 1024] [--rounds 3]');
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

const bundle = () => bundlePage('web/bench/bench-page.ts', { plugins: [browserPeers] });

/** web/bench/index.html, the page script and tfjs-wasm's .wasm files (`served` lists which were fetched). */
function serve(js: string, served: string[]): Promise<PageServer> {
  return servePage(readFileSync(join(pageDir, 'index.html'), 'utf8'), routes(scriptRoute('bench-page.js', js), tfjsWasmRoute((f) => served.push(f))));
}

const ms = (t?: PageTiming): string => (!t ? '—' : t.error ? 'error' : t.msMedian < 1 ? t.msMedian.toFixed(3) : t.msMedian.toFixed(2));
const gflops = (c: PageCaseResult, t?: PageTiming): number => (!t || t.error || !(t.msMedian > 0) ? NaN : c.work / (t.msMedian * 1e-3) / 1e9);
const rate = (c: PageCaseResult, t?: PageTiming): string => {
  const v = gflops(c, t);
  if (Number.isNaN(v)) return '—';
  return `${v < 10 ? v.toFixed(2) : v.toFixed(1)}${c.unit === 'GB/s' ? ' GB/s' : ''}`;
};
const ofPeak = (c: PageCaseResult, peak?: number): string => {
  const v = gflops(c, c.ours);
  return c.unit !== 'GFLOP/s' || !peak || Number.isNaN(v) ? '—' : `${((100 * v) / peak).toFixed(1)}%`;
};
const ratio = (c: PageCaseResult, peer?: PageTiming): string =>
  c.ours && peer && !c.ours.error && !peer.error && peer.msMedian > 0 ? (c.ours.msMedian / peer.msMedian).toFixed(2) : '—';
const check = (c: PageCaseResult): string => {
  if (c.status === 'n/a' || c.status === 'ERROR') return `${c.status}: ${c.detail ?? ''}`;
  return `${c.status} ${c.maxAbsDiff?.toExponential(1) ?? '?'} (tol ${c.tol === 0 ? '0' : c.tol.toExponential(0)})`;
};
/** The variants the case's ops use, per tunable ("matmul: v4-8x8"; several classes: slash-separated). */
const variant = (c: PageCaseResult): string => {
  if (!c.used) return '(autotune off)';
  if (c.used.length === 0) return '— (nothing tunable)';
  const byName = new Map<string, string[]>();
  for (const t of c.used) byName.set(t.name, [...(byName.get(t.name) ?? []), t.variant]);
  return [...byName].map(([n, ws]) => `${n}: ${ws.join('/')}`).join(', ');
};
const HEADER = ['case', 'variant (autotune)', 'ours ms', 'ours GFLOP/s', '% of peak', 'tfjs-webgpu ms', 'tfjs-wasm ms', 'ours/tfjs-webgpu (time)', 'ours/tfjs-wasm (time)', 'vs tfjs-webgpu (max abs diff)'];
const rows = (cs: PageCaseResult[], peak?: number) => cs.map((c) => [
  c.name, variant(c), ms(c.ours), rate(c, c.ours), ofPeak(c, peak), ms(c.webgpu), ms(c.wasm), ratio(c, c.webgpu), ratio(c, c.wasm), check(c),
]);

function textTable(header: string[], body: string[][], left = new Set([0, header.length - 1])): string {
  const all = [header, ...body];
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (left.has(i) ? v.padEnd(w[i]!) : v.padStart(w[i]!))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

function wasmLine(r: PageResult): string {
  const w = r.wasm;
  if (!w) return 'tfjs-wasm: not run (--no-wasm).';
  if (w.error) return `tfjs-wasm: failed to start (${w.error}).`;
  return `tfjs-wasm ${r.tfjs}: build ${w.build}, ${w.threadsCount ?? '?'} thread(s) (SIMD ${w.simd ? 'yes' : 'no'}, threads ${w.threads ? 'yes' : 'no'}, crossOriginIsolated ${String(w.crossOriginIsolated)}: the server sends COOP same-origin / COEP require-corp).`;
}

function peakLine(r: PageResult): string {
  const p = r.peak;
  if (!p) return `Peak: not measured${r.peakError ? ` (${r.peakError})` : ''}.`;
  const v = p.variant;
  return `Peak: ${p.gflops.toFixed(2)} GFLOP/s measured in the page with shaders/peak_fma.wgsl (bench/lib/peak.ts: independent vec4 FMA chains, 8 FLOPs per vec4 fma, best launch over a few accumulator/workgroup variants; winner acc=${v.nacc} unroll=${v.unroll} wg=${v.wg}, ${p.ms.toFixed(0)} ms per launch). % of peak = our GFLOP/s / that (not given for GB/s cases).`;
}

function markdown(r: PageResult, meta: Record<string, unknown>): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const a = r.adapter;
  const header = HEADER;
  const la = meta.loadavgStart as number[], lb = meta.loadavgEnd as number[];
  const tuned = r.cases.flatMap((c) => (c.tuned ?? []).map((t) => `- ${c.name}: ${t.name} ${t.shapeClass} → **${t.winner}** (${Object.entries(t.timings).map(([id, v]) => `${id} ${Number.isNaN(v) ? 'rejected' : v.toFixed(v < 10 ? 2 : 0)}`).join(', ')} ms per op)`));
  return [
    `Kernel benchmark in the browser — ${String(meta.date)}, ${esc(String(meta.adapterKey))}`,
    '',
    `Browser: ${esc(r.userAgent)} (headless, flags \`${ARGS.join(' ')}\`). Host: ${String(meta.cpu)}, ${String(meta.cores)} cores; load average ${la.map((v) => v.toFixed(2)).join(', ')} at the start, ${lb.map((v) => v.toFixed(2)).join(', ')} at the end${la[0]! > 0.5 || lb[0]! > 1.5 ? ' (other agents were loading the CPU: timings are disturbed, compare ratios)' : ''}.`,
    `Adapter (navigator.gpu.requestAdapter().info): vendor ${a.vendor || '—'}, architecture ${a.architecture || '—'}, device ${a.device || '—'}, description ${a.description || '—'}, fallback ${String(a.isFallbackAdapter)}. tfjs ${r.tfjs} (webgpu backend, its own GPUDevice on the same adapter).`,
    wasmLine(r),
    peakLine(r),
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i <= 1 || i === header.length - 1 ? '---' : '---:')).join('|')}|`,
    ...rows(r.cases, r.peak?.gflops).map((row) => `| ${row.map(esc).join(' | ')} |`),
    '',
    `ms = median over 3–${r.options.samples} samples (fewer when a sample is slow, ~${r.options.budgetMs / 1000} s per implementation; counts and K in the JSON) of (K back-to-back launches + one await) / K, K calibrated to ~${r.options.targetMs} ms per sample (max ${r.options.maxK}; K = 1 when one launch takes longer), after ${r.options.warmup} untimed warm-up launch(es) and one timed calibration launch. ours/peer < 1 means ours is faster. Correctness: max |ours − tfjs-webgpu| on the same seeded inputs, in our layout (NCHW); the timed tfjs ops run in NHWC. GB/s for pixel shuffle. tfjs-wasm times include reading the last output back (its ops run synchronously).`,
    '',
    `Variant: before timing a case, the page runs \`rt.autotune(() => case.ours())\` (src/runtime/autotune.ts) with a localStorage store: every shape class the case meets with no cached choice is timed under each registered variant (one untimed run, then best of ${r.options.tuneReps} timed reps of one op; a variant whose output differs from the default's is rejected) and the winner is cached and used by the ops. A fresh headless profile starts with an empty store, so each run tunes again. Tuned here:`,
    '',
    ...(tuned.length ? tuned : ['- (nothing)']),
    '',
  ].join('\n');
}

function probeTable(p: ProbeResult): string {
  const median = (xs: number[]) => { const s = [...xs].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };
  const tf = p.ms['tfjs-webgpu']?.length ? median(p.ms['tfjs-webgpu']) : NaN;
  const body = Object.entries(p.ms).map(([id, xs]) => {
    const m = median(xs), best = Math.min(...xs);
    return [id, m.toFixed(0), best.toFixed(0), ((2 * p.n ** 3) / m / 1e6).toFixed(2), Number.isNaN(tf) ? '—' : (m / tf).toFixed(2), id in p.maxAbsDiff ? p.maxAbsDiff[id]!.toExponential(1) : '—', xs.map((x) => x.toFixed(0)).join(' ')];
  });
  for (const [id, e] of Object.entries(p.errors)) body.push([id, 'error', '', '', '', e, '']);
  return textTable(['variant', 'median ms', 'best ms', 'GFLOP/s', 'vs tfjs-webgpu', 'max abs diff', 'samples (ms)'], body, new Set([0, 6]));
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(o.chromium)) throw new Error(`no Chromium at ${o.chromium} (Debian: apt-get install -y chromium; or --chromium PATH / CHROMIUM=...)`);
  const t0 = performance.now();
  const js = await bundle();
  console.log(`bundled bench-page.js: ${(js.length / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const served: string[] = [];
  const server = await serve(js, served);
  const browser = await chromium.launch({ executablePath: o.chromium, args: ARGS, headless: !o.headed });
  try {
    const machine = machineInfo();
    const page = await openPage(browser, server.url, () => 'lrfrBench' in window, 30_000);
    if (o.probe) {
      const variants = Object.fromEntries(o.probe.map((id) => [id, PROBE_VARIANTS[id]!]));
      const p = await page.evaluate((q) => window.lrfrBench.probeMatmul(q), { variants, n: o.n, rounds: o.rounds });
      console.log(`\nmatmul ${p.n}³ probe (load average ${machine.loadavgStart.map((v) => v.toFixed(2)).join(', ')} → ${os.loadavg().map((v) => v.toFixed(2)).join(', ')})\n`);
      console.log(probeTable(p));
      return;
    }
    const popts: PageOptions = {
      only: o.only, wasm: o.wasm, peak: o.peak, autotune: o.autotune,
      ...(o.quick ? { targetMs: 100, samples: 3, budgetMs: 3000, tuneReps: 1 } : {}),
    };
    const r = await page.evaluate((p) => window.lrfrBench.run(p), popts);
    if (r.wasm && served.length) r.wasm.build = [...new Set(served)].join(', ');
    const date = new Date().toISOString();
    const adapterKey = sanitizeKey(r.adapter.key);
    const meta = { date, adapterKey, ...machine, loadavgEnd: os.loadavg(), browser: browser.version(), flags: ARGS };
    console.log(`\nadapter: ${JSON.stringify(r.adapter)}  (Chromium ${browser.version()}, ${r.seconds.toFixed(0)} s in the page)`);
    console.log(wasmLine(r));
    console.log(peakLine(r) + '\n');
    console.log(textTable(HEADER, rows(r.cases, r.peak?.gflops), new Set([0, 1, HEADER.length - 1])));
    if (o.write) {
      const files = writeResultFiles(join(root, 'bench/results'), `browser-${adapterKey}`, date, JSON.stringify({ ...meta, ...r }, null, 2) + '\n', markdown(r, meta));
      console.log(`\nwrote ${files.json}, ${files.md}`);
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
