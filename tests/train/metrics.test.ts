import { describe, it, expect } from 'vitest';
import { cmc, roc, tarAtFar, bestThreshold, kFoldAccuracy, psnr, ssim, ssimPlane, ssimWindow } from '../../src/train/metrics.js';
import type { ChwImage } from '../../src/train/image.js';

describe('cmc', () => {
  it('ranks probes, ties count against the probe', () => {
    const gal = ['A', 'B', 'C'];
    const sim = [
      0.9, 0.5, 0.1, // A: rank 1
      0.8, 0.8, 0.3, // B: tied with A -> rank 2
      0.5, 0.5, 0.5, // C: all equal -> rank 3
      0.1, 0.2, 0.3, // A: rank 3
    ];
    const r = cmc(sim, ['A', 'B', 'C', 'A'], gal, 5);
    expect([...r.ranks]).toEqual([1, 2, 3, 3]);
    expect([...r.cmc]).toEqual([0.25, 0.5, 1, 1, 1]);
    expect(r.rank1).toBe(0.25);
  });
  it('uses the best genuine gallery entry; single gallery entry; missing identity throws', () => {
    expect([...cmc([0.1, 0.4, 0.9], ['A'], ['A', 'B', 'A'], 2).ranks]).toEqual([1]);
    expect(cmc([0.3], [7], [7], 3).cmc[0]).toBe(1);
    expect(() => cmc([0.3], ['X'], ['A'])).toThrow(/no gallery entry/);
    expect(() => cmc([0.3, 0.1], ['A'], ['A'])).toThrow(/expected 1 x 1/);
  });
});

describe('roc', () => {
  it('hand case with a genuine/impostor tie (one diagonal step); AUC = Mann-Whitney', () => {
    const r = roc([0.9, 0.7, 0.5], [0.8, 0.5, 0.1, 0.0]);
    expect(r.fpr).toEqual([0, 0, 0.25, 0.25, 0.5, 0.75, 1]);
    expect(r.tpr.map((v) => v * 3)).toEqual([0, 1, 1, 2, 3, 3, 3].map((v) => expect.closeTo(v, 12)));
    expect(r.thresholds).toEqual([Infinity, 0.9, 0.8, 0.7, 0.5, 0.1, 0.0]);
    expect(r.auc).toBeCloseTo(19 / 24, 12);
  });
  it('all-equal scores give the diagonal; a single pair gives 1 or 0', () => {
    const r = roc([1, 1], [1]);
    expect(r.fpr).toEqual([0, 1]);
    expect(r.tpr).toEqual([0, 1]);
    expect(r.auc).toBe(0.5);
    expect(roc([1], [0]).auc).toBe(1);
    expect(roc([0], [1]).auc).toBe(0);
    expect(() => roc([], [1])).toThrow(/at least one/);
  });
});

describe('tarAtFar', () => {
  const imp = Array.from({ length: 10 }, (_, i) => i / 10); // 0 .. 0.9
  const gen = [0.95, 0.85, 0.5, 0.05];
  it('threshold = k-th largest impostor, k = floor(FAR n), accept score > t', () => {
    expect(tarAtFar(gen, imp, 0.1)).toEqual({ tar: 0.5, threshold: 0.8, far: 0.1 });
    expect(tarAtFar(gen, imp, 0.01)).toEqual({ tar: 0.25, threshold: 0.9, far: 0 });
    expect(tarAtFar(gen, imp, 0.3).threshold).toBe(0.6);
    expect(tarAtFar(gen, imp, 1)).toEqual({ tar: 1, threshold: -Infinity, far: 1 });
  });
  it('ties at the threshold are all rejected (achieved FAR <= asked)', () => {
    const r = tarAtFar([0.5, 0.6], [0.5, 0.5, 0.5, 0.5], 0.5);
    expect(r).toEqual({ tar: 0.5, threshold: 0.5, far: 0 });
    expect(tarAtFar([1], [0], 0.001)).toEqual({ tar: 1, threshold: 0, far: 0 });
  });
});

describe('verification accuracy', () => {
  it('best threshold = midpoint of sorted scores; all-equal scores', () => {
    expect(bestThreshold([0.1, 0.4, 0.35, 0.8], [false, true, false, true])).toEqual({ threshold: 0.375, accuracy: 1 });
    expect(bestThreshold([0.5, 0.5, 0.5], [true, false, true])).toEqual({ threshold: -Infinity, accuracy: 2 / 3 });
    expect(bestThreshold([0.5, 0.5, 0.5], [false, false, true])).toEqual({ threshold: Infinity, accuracy: 2 / 3 });
    expect(bestThreshold([0.2], [true])).toEqual({ threshold: -Infinity, accuracy: 1 });
  });
  it('2-fold hand case: threshold from the other fold', () => {
    const scores = [0.9, 0.2, 0.6, 0.5, 0.7, 0.4, 0.55, 0.3];
    const same = [true, false, true, false, true, false, false, true];
    const folds = [0, 0, 0, 0, 1, 1, 1, 1];
    const r = kFoldAccuracy(scores, same, folds);
    expect(r.thresholds[0]).toBeCloseTo(0.625, 12); // from fold 1
    expect(r.thresholds[1]).toBeCloseTo(0.55, 12); // from fold 0 (0.55 itself -> "different")
    expect(r.accuracies).toEqual([0.75, 0.75]);
    expect(r.mean).toBe(0.75);
    expect(r.std).toBe(0);
  });
  it('10 folds of separable scores -> 100 %', () => {
    const s: number[] = [], l: boolean[] = [], f: number[] = [];
    for (let k = 0; k < 10; k++) for (let i = 0; i < 6; i++) { s.push(i < 3 ? 0.6 + i / 100 : 0.3 - i / 100); l.push(i < 3); f.push(k); }
    const r = kFoldAccuracy(s, l, f);
    expect(r.accuracies).toHaveLength(10);
    expect(r.mean).toBe(1);
  });
});

describe('psnr / ssim', () => {
  it('psnr', () => {
    expect(psnr([0, 0, 0, 0], [0.1, 0.1, 0.1, 0.1])).toBeCloseTo(20, 10);
    expect(psnr([0, 255], [0, 255])).toBe(Infinity);
    expect(psnr([0, 0], [255, 0], 255)).toBeCloseTo(10 * Math.log10(2), 10);
  });
  const plane = (h: number, w: number, f: (y: number, x: number) => number) => Float64Array.from({ length: h * w }, (_, i) => f(Math.floor(i / w), i % w));
  it('window is the normalised 11x11 Gaussian, sigma 1.5', () => {
    const g = ssimWindow();
    expect(g.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const s1 = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / 4.5)).reduce((a, b) => a + b, 0);
    expect(g[60]).toBeCloseTo(1 / (s1 * s1), 14);
  });
  it('identical images -> 1; constant images -> luminance term only', () => {
    const a = plane(16, 13, (y, x) => Math.sin(y * 0.7 + x * 1.3) * 0.5 + 0.5);
    expect(ssimPlane(a, a, 16, 13)).toBeCloseTo(1, 12);
    // 0.2 vs 0.4, L = 1: (2*.2*.4 + C1) / (.04 + .16 + C1), C1 = 1e-4, contrast/structure term = C2/C2
    const expected = (0.16 + 1e-4) / (0.2 + 1e-4);
    expect(ssimPlane(plane(11, 11, () => 0.2), plane(11, 11, () => 0.4), 11, 11)).toBeCloseTo(expected, 12);
    expect(ssimPlane(plane(12, 14, () => 0.2), plane(12, 14, () => 0.4), 12, 14)).toBeCloseTo(expected, 12);
    // L = 255: the same images scaled by 255
    expect(ssimPlane(plane(11, 11, () => 51), plane(11, 11, () => 102), 11, 11, 255)).toBeCloseTo(expected, 12);
  });
  it('a single bright pixel at the window centre (closed form)', () => {
    const s1 = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / 4.5)).reduce((a, b) => a + b, 0);
    const g0 = 1 / (s1 * s1);
    const C1 = 1e-4, C2 = 9e-4;
    // a = 0 everywhere; b = 1 at the centre: mu_b = g0, E[b^2] = g0, sigma_b^2 = g0 - g0^2, sigma_ab = 0
    const expected = (C1 / (g0 * g0 + C1)) * (C2 / (g0 - g0 * g0 + C2));
    const b = plane(11, 11, (y, x) => (y === 5 && x === 5 ? 1 : 0));
    expect(ssimPlane(plane(11, 11, () => 0), b, 11, 11)).toBeCloseTo(expected, 12);
  });
  it('equals the direct 11x11 window sum (the separable filtering changes only rounding)', () => {
    // the definition written out: every window position, the full 2-D Gaussian
    const direct = (a: Float64Array, b: Float64Array, h: number, w: number) => {
      const g = ssimWindow(), C1 = 1e-4, C2 = 9e-4;
      let total = 0;
      for (let y = 0; y + 11 <= h; y++) for (let x = 0; x + 11 <= w; x++) {
        let ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
        for (let ky = 0; ky < 11; ky++) for (let kx = 0; kx < 11; kx++) {
          const gg = g[ky * 11 + kx]!, va = a[(y + ky) * w + x + kx]!, vb = b[(y + ky) * w + x + kx]!;
          ma += gg * va; mb += gg * vb; aa += gg * va * va; bb += gg * vb * vb; ab += gg * va * vb;
        }
        total += ((2 * ma * mb + C1) * (2 * (ab - ma * mb) + C2)) / ((ma * ma + mb * mb + C1) * (aa - ma * ma + bb - mb * mb + C2));
      }
      return total / ((h - 10) * (w - 10));
    };
    const a = plane(23, 17, (y, x) => 0.5 + 0.4 * Math.sin(y * 0.9 + x * 0.4));
    const b = plane(23, 17, (y, x) => 0.5 + 0.3 * Math.sin(y * 0.8 + x * 0.5 + 0.3) + 0.05 * Math.cos(x * y));
    const v = ssimPlane(a, b, 23, 17);
    expect(v).toBeGreaterThan(0.1);
    expect(v).toBeLessThan(0.99);
    expect(Math.abs(v - direct(a, b, 23, 17))).toBeLessThan(1e-12);
  });
  it('per channel averaged, or on luma; too small throws', () => {
    const hw = 121;
    const mk = (vals: number[]): ChwImage => ({ data: Float32Array.from({ length: 3 * hw }, (_, i) => vals[Math.floor(i / hw)]!), c: 3, h: 11, w: 11 });
    const expected = (0.16 + 1e-4) / (0.2 + 1e-4);
    expect(ssim(mk([0.5, 0.2, 0.7]), mk([0.5, 0.4, 0.7]))).toBeCloseTo((1 + Math.fround(expected) + 1) / 3, 6);
    expect(ssim(mk([0.3, 0.3, 0.3]), mk([0.3, 0.3, 0.3]), { luma: true })).toBeCloseTo(1, 12);
    const small: ChwImage = { data: new Float32Array(3 * 100), c: 3, h: 10, w: 10 };
    expect(() => ssim(small, small)).toThrow(/smaller than the 11x11/);
  });
});
