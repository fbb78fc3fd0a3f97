// The measurement behind `npx tsx scripts/first-result.mts`, browser-safe: one process (Node) or one
// page (web/bench/first-page.ts) builds EdgeFace-XXS with seeded weights (src/cli/model-step.ts), brings
// its pipelines up the chosen way and runs the first forward or training step, output read back.
//   plain       compiled where the first step needs them (createComputePipeline, first dispatch);
//   precompile  collected first (Engine.collectPipelines), then created with createComputePipelineAsync,
//               `concurrency` at a time (Engine.compilePipelines);
//   prime       the caller's priming (Node: src/node/prime.ts primeFirstRun; the page: primePipelines
//               with a helper device), before the step.
import * as L from '../../src/runtime/index.js';
import { modelStep } from '../../src/cli/model-step.js';

export type FirstWhat = 'forward' | 'train';
export type FirstHow = 'plain' | 'precompile' | 'prime';

/** ms on the caller's clock (process start in Node, navigation in a page) and pipeline counts. */
export interface FirstTimes { gpuMs: number; compiledMs: number | null; firstMs: number; nPipelines: number; queues: number; pipelines: number }

export async function firstResult(o: {
  what: FirstWhat; how: FirstHow; batch: number; concurrency: number;
  /** When the device was ready. */
  gpuMs: number;
  since: () => number;
  /** Primes the pipelines of `step`; null when there was nothing to prime (or priming is off). */
  prime: (step: () => void) => Promise<{ pipelines: number; queues: number } | null>;
}): Promise<FirstTimes> {
  const eng = L.getEngine();
  const m = modelStep('edgeface', o.batch, 32, o.what === 'train');
  try {
    let compiledMs: number | null = null, nPipelines = 0, queues = 1;
    if (o.how === 'precompile') {
      const specs = eng.collectPipelines(() => { L.tidy(() => void m.step()); });
      m.clearGrads();
      nPipelines = specs.length;
      await eng.compilePipelines(specs, undefined, o.concurrency);
      compiledMs = o.since();
    } else if (o.how === 'prime') {
      const r = await o.prime(() => void m.step());
      m.clearGrads();
      nPipelines = r?.pipelines ?? 0;
      queues = r?.queues ?? 1;
      compiledMs = o.since();
    }
    const y = L.tidy(() => m.step());
    const out = await y.data();
    y.dispose();
    const firstMs = o.since();
    if (!Number.isFinite(out[0]!)) throw new Error('non-finite output');
    return { gpuMs: o.gpuMs, compiledMs, firstMs, nPipelines, queues, pipelines: eng.stats.pipelines };
  } finally {
    m.dispose();
  }
}
