// The page side of `npx tsx scripts/first-result.mts --where page` (bundled and served by that script;
// not for use by hand): the time from navigation to the first EdgeFace-XXS result on the page's WebGPU
// adapter (SwiftShader in headless Chromium without a GPU), measured by the same code as the script's
// Node child (bench/lib/first-result.ts); `prime` here is Engine.primePipelines with helper devices on
// the same adapter joining when the first pipeline takes over a second (`helpers` of them).
// Query: ?what=forward|train&how=plain|precompile|prime&batch=32&conc=4&helpers=1[&shipped=off] (shipped=off:
// the default variants, not the shipped tuning table's picks, as LRFR_TUNED_DEFAULTS=off in Node).
// Result in window.lrfrFirst: ms since navigation start (performance.now()) at GPU ready, at pipelines
// compiled, at the first result; or { error }.
import * as L from '../../src/runtime/index.js';
import { firstResult, type FirstTimes } from '../../bench/lib/first-result.js';

export interface FirstPageResult extends FirstTimes {
  adapter: string;
  userAgent: string;
}

declare global {
  interface Window { lrfrFirst?: FirstPageResult | { error: string } }
}

/** Every pipeline of `step` primed on this device and `n` helper devices of the same adapter. */
async function primeInPage(step: () => void, n: number): Promise<{ pipelines: number; queues: number }> {
  const eng = L.getEngine();
  const specs = eng.uncompiled(eng.collectPipelines(() => { L.tidy(step); }));
  const helpers: GPUDevice[] = [];
  try {
    await eng.primePipelines(specs, {
      helpers: async () => {
        for (let i = 0; i < n; i++) helpers.push(await L.requestHelperDevice());
        return helpers;
      },
    });
  } finally {
    for (const d of helpers) d.destroy();
  }
  return { pipelines: specs.length, queues: 1 + helpers.length };
}

async function first(q: URLSearchParams): Promise<FirstPageResult> {
  const what = q.get('what'), how = q.get('how');
  const batch = Number(q.get('batch') ?? 32), concurrency = Number(q.get('conc') ?? 4), nHelpers = Number(q.get('helpers') ?? 1);
  if (what !== 'forward' && what !== 'train') throw new Error(`what=${String(what)}: not forward or train`);
  if (how !== 'plain' && how !== 'precompile' && how !== 'prime') throw new Error(`how=${String(how)}: not plain, precompile or prime`);
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined (WebGPU disabled, or not a secure context)');
  if (q.get('shipped') === 'off') L.setShippedDefaults({});
  await L.initDevice({ gpu: navigator.gpu });
  const r = await firstResult({
    what, how, batch, concurrency, gpuMs: performance.now(), since: () => performance.now(),
    prime: (step) => primeInPage(step, nHelpers),
  });
  const s = L.adapterSummary();
  return { ...r, adapter: s.description || s.key, userAgent: navigator.userAgent };
}

first(new URLSearchParams(location.search)).then(
  (r) => { window.lrfrFirst = r; },
  (e: unknown) => { window.lrfrFirst = { error: (e as Error).message ?? String(e) }; },
);
