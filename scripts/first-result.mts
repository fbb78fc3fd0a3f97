// Time to the first result in Node: the first EdgeFace-XXS forward at batch 32 (output read back)
// and the first training step at batch 32 (forward + backward of sum(y^2), seeded weights: the
// `lrfr tune --model edgeface --train` step), each in a fresh process, cold and warm.
//   cold: an empty Mesa shader cache (MESA_SHADER_CACHE_DIR pointed at a new temp dir; the user's
//         ~/.cache/mesa_shader_cache is not touched) and an empty lrfr tune cache (LRFR_TUNE_CACHE
//         a new temp file; the shipped defaults of src/runtime/tuned-defaults.ts apply, as for a
//         new user). No autotuning (a new user's npm start / eval / train do not tune).
//   warm: the same command again on the caches the cold run filled.
// Each is run plain (pipelines compiled on first dispatch, createComputePipeline), precompiled
// (Engine.collectPipelines, then compilePipelines: createComputePipelineAsync, `concurrency` at a
// time, before the first step) and primed (src/node/prime.ts primeFirstRun: each pipeline dispatched
// once, empty, spread over the main device's queue and helper devices' queues, before the first step).
// --where page runs the same in headless Chromium (web/bench/first-page.ts; SwiftShader without a GPU):
//   cold: a new browser profile (no Dawn / GPU cache in it); warm: a new browser on that profile;
//   the clock starts at navigation (the browser's own start is reported beside it). There prime's
//   helpers are other devices on the page's adapter; LRFR_TUNED_DEFAULTS=off reaches the page too.
// Usage: npx tsx scripts/first-result.mts [--repeats N] [--concurrency 4] [--only forward|train]
//          [--how plain,precompile,prime] [--where node,page] [--batch 32]
// Prints one table: wall ms from process start (page: navigation) to GPU ready, to pipelines
// compiled (precompile, prime), and to the first result. Run it on an idle machine; the figures
// depend on CPU load.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FirstPageResult } from '../web/bench/first-page.js';
import type { FirstHow, FirstTimes, FirstWhat } from '../bench/lib/first-result.js';

const here = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  // One measurement (bench/lib/first-result.ts): argv: --child forward|train plain|precompile|prime concurrency
  const since = () => performance.now(); // ms since the process started
  const [, , , what, how, conc] = process.argv as [string, string, string, FirstWhat, FirstHow, string];
  // @ts-expect-error: plain JS module without types (bin/lrfr.js runs it the same way)
  const { genShaders } = (await import('./gen-shaders.mjs')) as { genShaders: () => void };
  genShaders();
  const { initNodeGPU } = await import('../src/node/gpu.js');
  const { firstResult } = await import('../bench/lib/first-result.js');
  const { primeFirstRun } = await import('../src/node/prime.js');
  await initNodeGPU();
  const r = await firstResult({
    what, how, batch: Number(process.env.FIRST_BATCH ?? 32), concurrency: Number(conc), gpuMs: since(), since,
    prime: primeFirstRun,
  });
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

let repeats = 1, concurrency = 4, batch = 32;
let only: string[] = ['forward', 'train'];
let hows: string[] = ['plain', 'precompile', 'prime'];
let wheres: string[] = ['node'];
const fail = (msg: string): never => { console.error(`first-result: ${msg}`); process.exit(2); };
const count = (a: string, v: string | undefined): number => {
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : fail(`${a} needs a positive integer, got ${String(v)}`);
};
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a === '--repeats') repeats = count(a, process.argv[++i]);
  else if (a === '--concurrency') concurrency = count(a, process.argv[++i]);
  else if (a === '--batch') batch = count(a, process.argv[++i]);
  else if (a === '--only') only = (process.argv[++i] ?? '').split(',');
  else if (a === '--how') hows = (process.argv[++i] ?? '').split(',');
  else if (a === '--where') wheres = (process.argv[++i] ?? '').split(',');
  else fail(`unknown option ${a}`);
}
for (const h of hows) if (!['plain', 'precompile', 'prime'].includes(h)) fail(`--how: "${h}" is not plain, precompile or prime`);
for (const w of only) if (!['forward', 'train'].includes(w)) fail(`--only: "${w}" is not forward or train`);
for (const w of wheres) if (!['node', 'page'].includes(w)) fail(`--where: "${w}" is not node or page`);

interface Measured extends FirstTimes { launchMs?: number }
interface Row extends Measured { where: string; what: string; how: string; state: string }
const rows: Row[] = [];
const runNode = (what: string, how: string, env: NodeJS.ProcessEnv): Measured => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', here, '--child', what, how, String(concurrency)], { env: { ...env, FIRST_BATCH: String(batch) }, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`child ${what} ${how} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  return JSON.parse(line) as Measured;
};

/** The page's runs: one bundle and server; per (what, how) a new profile, cold then warm (a new browser each). */
async function pageRuns(): Promise<void> {
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS, chromiumPath } = await import('../src/node/chromium.js');
  const { bundlePage, servePage, routes, scriptRoute } = await import('../bench/lib/page-server.js');
  const exe = chromiumPath();
  const js = await bundlePage('web/bench/first-page.ts');
  const html = '<!doctype html><meta charset="utf-8"><title>lrfr first result</title><script type="module" src="/first-page.js"></script>';
  const server = await servePage(html, routes(scriptRoute('first-page.js', js), () => null));
  let adapter = '';
  try {
    for (let rep = 0; rep < repeats; rep++) {
      for (const what of only) {
        for (const how of hows) {
          const profile = fs.mkdtempSync(join(tmpdir(), 'lrfr-first-page-'));
          try {
            for (const state of ['cold', 'warm']) {
              const t0 = performance.now();
              const ctx = await chromium.launchPersistentContext(profile, { executablePath: exe, args: CHROMIUM_ARGS, headless: true });
              try {
                const page = ctx.pages()[0] ?? (await ctx.newPage());
                const launchMs = performance.now() - t0;
                page.on('pageerror', (e) => console.error(`  [page error] ${e.message}`));
                await page.goto(`${server.url}?what=${what}&how=${how}&batch=${batch}&conc=${concurrency}&helpers=1${process.env.LRFR_TUNED_DEFAULTS === 'off' ? '&shipped=off' : ''}`);
                const h = await page.waitForFunction(() => window.lrfrFirst ?? null, null, { timeout: 900_000, polling: 250 });
                const r = (await h.jsonValue()) as FirstPageResult | { error: string };
                if ('error' in r) throw new Error(`page ${what} ${how} ${state}: ${r.error}`);
                adapter = r.adapter;
                rows.push({ where: 'page', what, how, state, ...r, launchMs });
                console.error(`page ${what} ${how} ${state}: first result ${(r.firstMs / 1000).toFixed(1)} s after navigation (browser start ${(launchMs / 1000).toFixed(1)} s)`);
              } finally {
                await ctx.close();
              }
            }
          } finally {
            fs.rmSync(profile, { recursive: true, force: true });
          }
        }
      }
    }
  } finally {
    server.close();
  }
  console.error(`page adapter: ${adapter}`);
}

for (const where of wheres) {
  if (where === 'page') { await pageRuns(); continue; }
  for (let rep = 0; rep < repeats; rep++) {
    for (const what of only) {
      for (const how of hows) {
        const dir = fs.mkdtempSync(join(tmpdir(), 'lrfr-first-'));
        const env: NodeJS.ProcessEnv = { ...process.env, MESA_SHADER_CACHE_DIR: join(dir, 'mesa'), LRFR_TUNE_CACHE: join(dir, 'autotune.json') };
        delete env.LRFR_VARIANT;
        try {
          for (const state of ['cold', 'warm']) {
            const r = runNode(what, how, env);
            rows.push({ where, what, how, state, ...r });
            console.error(`node ${what} ${how} ${state}: first result ${(r.firstMs / 1000).toFixed(1)} s`);
          }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  }
}
const s = (ms: number | null | undefined) => (ms === null || ms === undefined ? '-' : (ms / 1000).toFixed(1));
console.log(`| where | first result (EdgeFace-XXS, batch ${batch}) | pipelines | cache | browser start s | GPU ready s | compiled s | first result s | pipelines after the step |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const how = r.how === 'plain' ? 'on first dispatch' : r.how === 'prime' ? `primed on ${r.queues} queue${r.queues === 1 ? '' : 's'} (${r.nPipelines})` : `precompiled, async x${concurrency} (${r.nPipelines})`;
  console.log(`| ${r.where === 'page' ? 'page (from navigation)' : 'Node (from process start)'} | ${r.what === 'forward' ? 'forward' : 'training step'} | ${how} | ${r.state} | ${s(r.launchMs)} | ${s(r.gpuMs)} | ${s(r.compiledMs)} | ${s(r.firstMs)} | ${r.pipelines} |`);
}
