// The page side of `npx tsx scripts/first-result.mts --where page` (bundled and served by that script;
// not for use by hand): the time from navigation to the first EdgeFace-XXS result on the page's WebGPU
// adapter (SwiftShader in headless Chromium without a GPU), the same workload as the script's Node
// child — the first forward at the given batch (output read back), or the first training step (forward
// + backward of sum(y²), seeded weights: src/cli/model-step.ts) — with its pipelines
//   plain       compiled where the first step needs them (createComputePipeline, first dispatch);
//   precompile  collected first (Engine.collectPipelines), then created with createComputePipelineAsync,
//               `conc` at a time (Engine.compilePipelines), then the step;
//   prime       Engine.primePipelines: each created and dispatched once, empty, helper devices on the
//               same adapter joining when the first takes over a second (`helpers` of them), then the step.
// Query: ?what=forward|train&how=plain|precompile|prime&batch=32&conc=4&helpers=1[&shipped=off] (shipped=off:
// the default variants, not the shipped tuning table's picks, as LRFR_TUNED_DEFAULTS=off in Node).
// Result in window.lrfrFirst: ms since navigation start (performance.now()) at GPU ready, at pipelines
// compiled, at the first result; or { error }.
import * as L from '../../src/runtime/index.js';
import '../../src/runtime/tunables.js';
import { requestHelperDevice } from '../../src/runtime/device.js';
import { modelStep } from '../../src/cli/model-step.js';

export interface FirstPageResult {
  gpuMs: number;
  compiledMs: number | null;
  firstMs: number;
  nPipelines: number;
  queues: number;
  pipelines: number;
  adapter: string;
  userAgent: string;
}

declare global {
  interface Window { lrfrFirst?: FirstPageResult | { error: string } }
}

async function first(q: URLSearchParams): Promise<FirstPageResult> {
  const what = q.get('what'), how = q.get('how');
  const batch = Number(q.get('batch') ?? 32), conc = Number(q.get('conc') ?? 4), nHelpers = Number(q.get('helpers') ?? 1);
  if (what !== 'forward' && what !== 'train') throw new Error(`what=${String(what)}: not forward or train`);
  if (how !== 'plain' && how !== 'precompile' && how !== 'prime') throw new Error(`how=${String(how)}: not plain, precompile or prime`);
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined (WebGPU disabled, or not a secure context)');
  if (q.get('shipped') === 'off') L.setShippedDefaults({});
  await L.initDevice({ gpu: navigator.gpu });
  const gpuMs = performance.now();
  const eng = L.getEngine();
  const m = modelStep('edgeface', batch, 32, what === 'train');
  let compiledMs: number | null = null, nPipelines = 0, queues = 1;
  if (how !== 'plain') {
    const specs = eng.collectPipelines(() => { L.tidy(() => void m.step()); });
    m.clearGrads();
    nPipelines = eng.uncompiled(specs).length;
    if (how === 'precompile') await eng.compilePipelines(specs, undefined, conc);
    else {
      const helpers: GPUDevice[] = [];
      try {
        await eng.primePipelines(specs, {
          helpers: async () => {
            for (let i = 0; i < nHelpers; i++) helpers.push(await requestHelperDevice());
            queues = 1 + helpers.length;
            return helpers;
          },
        });
      } finally {
        for (const d of helpers) d.destroy();
      }
    }
    compiledMs = performance.now();
  }
  const y = L.tidy(() => m.step());
  const out = await y.data();
  y.dispose();
  const firstMs = performance.now();
  if (!Number.isFinite(out[0]!)) throw new Error('non-finite output');
  m.dispose();
  const s = L.adapterSummary();
  return { gpuMs, compiledMs, firstMs, nPipelines, queues, pipelines: eng.stats.pipelines, adapter: s.description || s.key, userAgent: navigator.userAgent };
}

first(new URLSearchParams(location.search)).then(
  (r) => { window.lrfrFirst = r; },
  (e: unknown) => { window.lrfrFirst = { error: (e as Error).message ?? String(e) }; },
);
