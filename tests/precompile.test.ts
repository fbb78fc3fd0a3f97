// Engine.collectPipelines / compilePipelines (src/runtime/engine.ts): the pipelines a computation needs
// are found without running it and compiled ahead with createComputePipelineAsync, after which the
// computation compiles nothing and gives the same result. The browser app uses this to show progress
// instead of blocking on the first run (web/app/app.ts).
import { describe, it, expect } from 'vitest';
import * as L from '../src/runtime/index.js';

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
