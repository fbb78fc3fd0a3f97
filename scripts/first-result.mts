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
// Usage: npx tsx scripts/first-result.mts [--repeats N] [--concurrency 4] [--only forward|train]
//          [--how plain,precompile,prime]
// Prints one table: wall ms from process start to GPU ready, to pipelines compiled (precompile),
// and to the first result. Run it on an idle machine; the figures depend on CPU load.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  // One measurement: argv: --child forward|train plain|precompile|prime concurrency
  const t0 = performance.timeOrigin;
  const since = () => performance.timeOrigin + performance.now() - t0;
  const [, , , what, how, conc] = process.argv as [string, string, string, 'forward' | 'train', 'plain' | 'precompile' | 'prime', string];
  // @ts-expect-error: plain JS module without types (bin/lrfr.js runs it the same way)
  const { genShaders } = (await import('./gen-shaders.mjs')) as { genShaders: () => void };
  genShaders();
  const { initNodeGPU } = await import('../src/node/gpu.js');
  const L = await import('../src/runtime/index.js');
  await import('../src/runtime/tunables.js');
  const { modelStep } = await import('../src/cli/model-step.js');
  await initNodeGPU();
  const gpuMs = since();
  const m = modelStep('edgeface', 32, 32, what === 'train');
  let compiledMs: number | null = null, nPipelines = 0, queues = 1;
  if (how === 'precompile') {
    const specs = L.getEngine().collectPipelines(() => { L.tidy(() => m.step()); });
    m.clearGrads();
    nPipelines = specs.length;
    await L.getEngine().compilePipelines(specs, undefined, Number(conc));
    compiledMs = since();
  }
  if (how === 'prime') {
    const { primeFirstRun } = await import('../src/node/prime.js');
    const r = await primeFirstRun(() => void m.step());
    m.clearGrads();
    nPipelines = r?.pipelines ?? 0;
    queues = r?.queues ?? 1;
    compiledMs = since();
  }
  const y = L.tidy(() => m.step());
  const out = await y.data();
  y.dispose();
  const firstMs = since();
  if (!Number.isFinite(out[0]!)) throw new Error('non-finite output');
  process.stdout.write(JSON.stringify({ gpuMs, compiledMs, firstMs, nPipelines, queues, pipelines: L.getEngine().stats.pipelines }) + '\n');
  process.exit(0);
}

let repeats = 1, concurrency = 4;
let only: string[] = ['forward', 'train'];
let hows: string[] = ['plain', 'precompile', 'prime'];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a === '--repeats') repeats = Number(process.argv[++i]);
  else if (a === '--concurrency') concurrency = Number(process.argv[++i]);
  else if (a === '--only') only = process.argv[++i]!.split(',');
  else if (a === '--how') hows = process.argv[++i]!.split(',');
  else { console.error(`unknown option ${a}`); process.exit(2); }
}
for (const h of hows) if (!['plain', 'precompile', 'prime'].includes(h)) { console.error(`--how: "${h}" is not plain, precompile or prime`); process.exit(2); }
for (const w of only) if (!['forward', 'train'].includes(w)) { console.error(`--only: "${w}" is not forward or train`); process.exit(2); }

interface Row { what: string; how: string; state: string; gpuMs: number; compiledMs: number | null; firstMs: number; nPipelines: number; queues: number; pipelines: number }
const rows: Row[] = [];
const run = (what: string, how: string, env: NodeJS.ProcessEnv) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', here, '--child', what, how, String(concurrency)], { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error(`child ${what} ${how} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  return JSON.parse(line) as Omit<Row, 'what' | 'how' | 'state'>;
};
for (let rep = 0; rep < repeats; rep++) {
  for (const what of only) {
    for (const how of hows) {
      const dir = fs.mkdtempSync(join(tmpdir(), 'lrfr-first-'));
      const env: NodeJS.ProcessEnv = { ...process.env, MESA_SHADER_CACHE_DIR: join(dir, 'mesa'), LRFR_TUNE_CACHE: join(dir, 'autotune.json') };
      delete env.LRFR_VARIANT;
      try {
        for (const state of ['cold', 'warm']) {
          const r = run(what, how, env);
          rows.push({ what, how, state, ...r });
          console.error(`${what} ${how} ${state}: first result ${(r.firstMs / 1000).toFixed(1)} s`);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}
const s = (ms: number | null) => (ms === null ? '-' : (ms / 1000).toFixed(1));
console.log('| first result (EdgeFace-XXS, batch 32) | pipelines | cache | GPU ready s | compiled s | first result s | pipelines after the step |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.what === 'forward' ? 'forward' : 'training step'} | ${r.how === 'plain' ? 'on first dispatch' : r.how === 'prime' ? `primed on ${r.queues} queue${r.queues === 1 ? '' : 's'} (${r.nPipelines})` : `precompiled, async x${concurrency} (${r.nPipelines})`} | ${r.state} | ${s(r.gpuMs)} | ${s(r.compiledMs)} | ${s(r.firstMs)} | ${r.pipelines} |`);
}
