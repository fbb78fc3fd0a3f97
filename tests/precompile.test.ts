// Engine.collectPipelines / compilePipelines (src/runtime/engine.ts): the pipelines a computation needs
// are found without running it and compiled ahead with createComputePipelineAsync, after which the
// computation compiles nothing and gives the same result. The browser app uses this to show progress
// instead of blocking on the first run (web/app/app.ts).
import { describe, it, expect } from 'vitest';
import * as L from '../src/runtime/index.js';
import { primeFirstRun, primeHelperCount } from '../src/node/prime.js';

describe('compiling pipelines ahead of first use', () => {
  it('collects without dispatching, compiles with progress, then runs without compiling', async () => {
    const e = L.getEngine();
    const x = L.tensor([-2, -0.5, 0, 0.5, 2, 3], [2, 3]);
    const graph = () => L.tidy(() => L.sum(L.mul(L.sigmoid(x), L.gelu(x))));
    const before = { ...e.stats };
    const specs = e.collectPipelines(() => { graph(); });
    expect(specs.length).toBeGreaterThanOrEqual(3); // sigmoid, gelu, mul, sum (one or more passes)
    expect(e.stats.dispatches).toBe(before.dispatches);
    expect(e.stats.pipelines).toBe(before.pipelines);
    for (const s of specs) expect(e.hasPipeline(s.key)).toBe(false);
    expect(new Set(specs.map((s) => s.key)).size).toBe(specs.length);

    const seen: number[] = [];
    await e.compilePipelines(specs, (done, total) => { seen.push(done); expect(total).toBe(specs.length); }, 2);
    expect(seen).toEqual(specs.map((_, i) => i + 1));
    expect(e.stats.pipelines).toBe(before.pipelines + specs.length);
    for (const s of specs) expect(e.hasPipeline(s.key)).toBe(true);
    // a second collection finds nothing left to compile; compiling again is a no-op
    expect(e.collectPipelines(() => { graph(); })).toEqual([]);
    await e.compilePipelines(specs);
    expect(e.stats.pipelines).toBe(before.pipelines + specs.length);

    const y = graph();
    const got = (await y.data())[0]!;
    y.dispose();
    expect(e.stats.pipelines).toBe(before.pipelines + specs.length);
    const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    const want = [-2, -0.5, 0, 0.5, 2, 3].reduce((s, v) => s + (1 / (1 + Math.exp(-v))) * gelu(v), 0);
    expect(got).toBeCloseTo(want, 4);
    x.dispose();
  });

  it('is not reentrant and restores normal dispatch after an error', () => {
    const e = L.getEngine();
    expect(() => e.collectPipelines(() => e.collectPipelines(() => {}))).toThrow(/already collecting/);
    expect(() => e.collectPipelines(() => { throw new Error('boom'); })).toThrow('boom');
    const d = e.stats.dispatches;
    const x = L.tensor([1, 2, 3, 4], [4]);
    const y = L.affine(x, 2, 1);
    expect(e.stats.dispatches).toBe(d + 1);
    x.dispose();
    y.dispose();
  });
});

/** erf, Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const s = Math.sign(x), a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

// Engine.primePipelines / primeFirstRun (src/node/prime.ts): each new pipeline created here and
// dispatched once with zero workgroups, spread over helper devices once the first one runs slow
// (coldMs). Nothing observable may change: the same results, every pipeline compiled here afterwards.
describe('priming pipelines on several queues', () => {
  const graph = (x: L.Tensor, k: number) => () => L.tidy(() => L.sum(L.mul(L.tanh(L.affine(x, k, 0.25)), L.sigmoid(x))));

  it('primes on this device alone: every pipeline compiled, none dispatched for real, the same result', async () => {
    const e = L.getEngine();
    const x = L.tensor([-2, -0.5, 0, 0.5, 2, 3], [2, 3]);
    const g = graph(x, 1.5);
    const specs = e.collectPipelines(() => { g(); });
    expect(specs.length).toBeGreaterThanOrEqual(2); // tanh and affine (sigmoid, mul and sum: the test above)
    const before = { ...e.stats };
    const seen: number[] = [];
    let asked = 0;
    // coldMs so large the helpers are never asked for
    await e.primePipelines([...specs, ...specs], { coldMs: 1e9, helpers: async () => { asked++; return []; }, onProgress: (d, t) => { seen.push(d); expect(t).toBe(specs.length); } });
    expect(asked).toBe(0);
    expect(seen).toEqual(specs.map((_, i) => i + 1)); // duplicates primed once
    expect(e.stats.dispatches).toBe(before.dispatches); // the engine's counters: no dispatch of its own
    for (const s of specs) expect(e.hasPipeline(s.key)).toBe(true);
    expect(e.collectPipelines(() => { g(); })).toEqual([]);
    const y = g();
    const got = (await y.data())[0]!;
    y.dispose();
    expect(e.stats.pipelines).toBe(before.pipelines + specs.length);
    const want = [-2, -0.5, 0, 0.5, 2, 3].reduce((s, v) => s + Math.tanh(1.5 * v + 0.25) / (1 + Math.exp(-v)), 0);
    expect(got).toBeCloseTo(want, 4);
    x.dispose();
  });

  it('hands pipelines to helper devices on the same adapter when the first is slow, with the same result', async () => {
    const e = L.getEngine();
    const x = L.tensor([0.3, -1.2, 2.5, 0.9], [4]);
    // ops the first test did not compile
    const h = () => L.tidy(() => L.sum(L.mul(L.exp(L.neg(x)), L.abs(x))));
    const specs = e.collectPipelines(() => { h(); });
    expect(specs.length).toBeGreaterThanOrEqual(2);
    const helper = await L.requestHelperDevice();
    expect([...helper.features].sort()).toEqual([...e.device.features].sort());
    expect(helper.limits.maxStorageBuffersPerShaderStage).toBe(e.device.limits.maxStorageBuffersPerShaderStage);
    const primedOn: string[] = [];
    let asked = 0;
    try {
      await e.primePipelines(specs, {
        coldMs: 0, // helpers at once, before the first pipeline is primed
        helpers: async () => { asked++; return [helper]; },
        onProgress: (_d, _t, label) => primedOn.push(label),
      });
    } finally {
      helper.destroy();
    }
    expect(asked).toBe(1);
    expect(primedOn.length).toBe(specs.length);
    for (const s of specs) expect(e.hasPipeline(s.key)).toBe(true);
    const y = h();
    const got = (await y.data())[0]!;
    y.dispose();
    expect(got).toBeCloseTo([0.3, -1.2, 2.5, 0.9].reduce((s, v) => s + Math.exp(-v) * Math.abs(v), 0), 4);
    x.dispose();
  });
});

describe('primeFirstRun (Node)', () => {
  it('primes what a step needs once, then finds nothing new', async () => {
    const x = L.tensor([1, -2, 3, -4, 5, -6], [6]);
    const step = () => void L.sum(L.mul(L.relu(x), L.square(L.sqrt(L.abs(x)))));
    const lines: string[] = [];
    const r = await primeFirstRun(step, { log: (l) => lines.push(l), what: 'test' });
    // relu, square and sqrt are new in this file's worker (abs, mul and sum may not be)
    expect(r).not.toBeNull();
    expect(r!.pipelines).toBeGreaterThanOrEqual(3);
    expect(r!.queues).toBeGreaterThanOrEqual(1);
    expect(await primeFirstRun(step)).toBeNull();
    const y = L.sum(L.mul(L.relu(x), L.square(L.sqrt(L.abs(x)))));
    expect((await y.data())[0]).toBeCloseTo(1 * 1 + 3 * 3 + 5 * 5, 4);
    y.dispose();
    x.dispose();
  });

  it('takes its helper count from LRFR_PRIME_HELPERS, else none without Mesa\'s disk cache', () => {
    const saved = { h: process.env.LRFR_PRIME_HELPERS, d: process.env.MESA_SHADER_CACHE_DISABLE };
    try {
      process.env.LRFR_PRIME_HELPERS = '2';
      expect(primeHelperCount()).toBe(2);
      process.env.LRFR_PRIME_HELPERS = 'many';
      expect(() => primeHelperCount()).toThrow(/LRFR_PRIME_HELPERS must be an integer 0..15, got "many"/);
      delete process.env.LRFR_PRIME_HELPERS;
      process.env.MESA_SHADER_CACHE_DISABLE = 'true';
      expect(primeHelperCount()).toBe(0);
    } finally {
      for (const [k, v] of [['LRFR_PRIME_HELPERS', saved.h], ['MESA_SHADER_CACHE_DISABLE', saved.d]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
