// The peak-FMA probe (shaders/peak_fma.wgsl, bench/lib/peak.ts): it compiles, really does the FMA
// chain (its output equals a CPU evaluation for small trip counts), and measurePeak and hostGflops
// return a rate.
import { describe, it, expect } from 'vitest';
import { empty } from '../src/runtime/index.js';
import { launchPeakFma, cpuPeakFma, hostGflops, measurePeak, type PeakVariant } from '../bench/lib/peak.js';

async function gpu(v: PeakVariant, iters: number, n: number): Promise<Float32Array> {
  const out = empty([n]);
  try {
    launchPeakFma(out, v, iters, n);
    return await out.data();
  } finally {
    out.dispose();
  }
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

describe('peak-FMA probe', () => {
  const variants: PeakVariant[] = [
    { nacc: 2, unroll: 3, wg: 64, groups: 2 },
    { nacc: 4, unroll: 8, wg: 64, groups: 2 },
    { nacc: 8, unroll: 4, wg: 32, groups: 4 },
  ];
  for (const v of variants) {
    it(`matches the CPU FMA chain (acc=${v.nacc}, unroll=${v.unroll}, wg=${v.wg})`, async () => {
      const n = 100; // not a multiple of wg: the tail invocations are masked
      const seen: Float32Array[] = [];
      for (const iters of [0, 1, 5]) {
        const g = await gpu(v, iters, n);
        const c = cpuPeakFma(v, iters, n);
        expect(g.every(Number.isFinite)).toBe(true);
        expect(maxRelDiff(g, c)).toBeLessThan(1e-5);
        seen.push(g);
      }
      // The trip count changes the result, so the chain is not dropped or folded.
      expect(maxRelDiff(seen[0]!, seen[1]!)).toBeGreaterThan(1e-3);
      expect(maxRelDiff(seen[1]!, seen[2]!)).toBeGreaterThan(1e-3);
    });
  }

  it('measurePeak returns a positive finite rate', async () => {
    const lines: string[] = [];
    const p = await measurePeak({ targetMs: 20, runs: 1, variants: [{ nacc: 4, unroll: 8, wg: 64, groups: 64 }], log: (l) => lines.push(l) });
    expect(Number.isFinite(p.gflops) && p.gflops > 0).toBe(true);
    expect(p.ms > 0 && p.invocations === 64 * 64 && p.iters >= 1).toBe(true);
    expect(lines.at(-1)).toMatch(/^peak: [\d.]+ GFLOP\/s/);
  });

  it('hostGflops relaunches the winning variant and returns a rate; rejects a bad launch count', async () => {
    const p = await measurePeak({ targetMs: 10, runs: 1, variants: [{ nacc: 2, unroll: 4, wg: 64, groups: 16 }], log: () => undefined });
    const g = await hostGflops(p, 2);
    expect(Number.isFinite(g) && g > 0).toBe(true);
    await expect(hostGflops(p, 0)).rejects.toThrow(/launches must be a positive integer/);
  });
});
