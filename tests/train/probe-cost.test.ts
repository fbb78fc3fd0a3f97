// Probe cost (src/train/probe-cost.ts) with a small linear recognizer on the GPU: embeddings per
// probe (hypotheses as lrfr eval counts them, the bicubic face with the concatenation), MACs per
// probe from the op counter, parameters, the embeddings themselves against the recognizer applied by
// hand (|diff| <= 1e-5), and a timing spread that is ordered. Nothing asserts on time.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import { BICUBIC, type Recognizer } from '../../src/train/recognizers.js';
import { embedProbes, measureProbeCost, spread } from '../../src/train/probe-cost.js';
import { distinctHypotheses, deblurHypotheses } from '../../src/train/template-fusion.js';
import { downsample, upsample } from '../../src/train/degrade.js';
import type { ChwImage } from '../../src/train/image.js';

const D = 4, P = 8; // embedding size; the recognizer's input: the face brought to P x P
const Wt = L.randnArray(D * 3 * P * P, 5);

function linearRecognizer(): Recognizer & { weight: L.Tensor } {
  const weight = L.tensor(Wt, [D, 3 * P * P]);
  return {
    name: 'linear', hash: 'linear', dim: D, metric: 'cosine', framing: 'downsampled', params: D * 3 * P * P, weight,
    prepare: (img) => downsample(img, P),
    embed: async (x, shape) => {
      const y = L.noGrad(() => L.tidy(() => L.linear(L.tensor(x, [shape[0], 3 * P * P]), weight)));
      try { return await y.data(); } finally { y.dispose(); }
    },
    dispose: () => weight.dispose(),
  };
}

function byHand(face112: ChwImage): Float32Array {
  const x = downsample(face112, P).data;
  return Float32Array.from({ length: D }, (_, o) => x.reduce((s, v, i) => s + v * Wt[o * x.length + i]!, 0));
}

const probe = (seed: number, S = 16): ChwImage => ({ data: L.randArray(3 * S * S, seed), c: 3, h: S, w: S });
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('probe cost', () => {
  it('hypotheses: 16 give 12 distinct images (σ < 0.3 is the probe), 8 give 6, 1 gives 1', () => {
    expect(distinctHypotheses(16).length).toBe(12);
    expect(distinctHypotheses(8).length).toBe(6);
    expect(distinctHypotheses(1)).toEqual([0]);
  });

  it('embeds each hypothesis (and the bicubic face with concat) as the recognizer would by hand', async () => {
    const rec = linearRecognizer();
    try {
      const lr = [probe(1), probe(2), probe(3)];
      const e = await embedProbes({ rec, sr: BICUBIC, hypotheses: 8, concatBicubic: true }, lr, 2);
      expect(e.length).toBe(3);
      const sig = distinctHypotheses(8);
      for (let i = 0; i < lr.length; i++) {
        expect(e[i]!.length).toBe(sig.length + 1);
        sig.forEach((s, k) => {
          const img = s === 0 ? lr[i]! : deblurHypotheses(lr[i]!, [s])[0]!;
          expect(maxDiff(e[i]![k]!, byHand(upsample(img, 112)))).toBeLessThanOrEqual(1e-5);
        });
        // the concatenated bicubic face: with bicubic as the SR it equals the plain probe's
        expect(maxDiff(e[i]![sig.length]!, e[i]![0]!)).toBe(0);
      }
    } finally {
      rec.dispose();
    }
  });

  it('counts embeddings, MACs and parameters per probe; the spread is ordered', async () => {
    const rec = linearRecognizer();
    try {
      const c = await measureProbeCost({ rec, sr: BICUBIC, hypotheses: 16 }, 16, { batch: 4, repeats: 3 });
      expect(c.embeddings).toBe(12);
      expect(c.macs).toBe(12 * D * 3 * P * P);
      expect(c.params).toBe(D * 3 * P * P);
      expect(c.ms.min).toBeGreaterThan(0);
      expect(c.ms.min <= c.ms.median && c.ms.median <= c.ms.max).toBe(true);
      expect(c.hrMs.min > 0 && c.hrMs.min <= c.hrMs.median && c.hrMs.median <= c.hrMs.max).toBe(true);
      const plain = await measureProbeCost({ rec, sr: BICUBIC, concatBicubic: true }, 12, { batch: 2, repeats: 1 });
      expect([plain.embeddings, plain.macs, plain.size]).toEqual([2, 2 * D * 3 * P * P, 12]);
      await expect(measureProbeCost({ rec, sr: { ...BICUBIC, sizes: [16] } }, 24)).rejects.toThrow(/takes 16 px probes, not 24/);
    } finally {
      rec.dispose();
    }
    expect(spread([3, 1, 2, 10])).toEqual({ min: 1, median: 2.5, max: 10 });
  });
});
