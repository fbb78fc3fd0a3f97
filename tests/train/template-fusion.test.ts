// Multi-template recognition (src/train/template-fusion.ts): the fusions against sums written out by
// hand, the similarities, the deblurring hypotheses and the gallery templates (count, sizes, ranges,
// determinism). CPU only.
import { describe, expect, it } from 'vitest';
import {
  GALLERY_DEGRADATIONS, galleryTemplates, drawChains, hypothesisSigmas, deblurHypotheses, fuseScores, fuseGrid, dotForm, similarityMatrix, similarity, FUSIONS,
} from '../../src/train/template-fusion.js';
import { convolve2d, gaussianKernel } from '../../src/train/degrade.js';
import { Rng } from '../../src/runtime/random.js';
import type { ChwImage } from '../../src/train/image.js';

function face(seed: number, size = 112): ChwImage {
  const rng = new Rng(seed);
  const data = new Float32Array(3 * size * size);
  // smooth structure plus texture, inside [0, 1]
  for (let c = 0; c < 3; c++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    data[c * size * size + y * size + x] = 0.5 + 0.3 * Math.sin(x / 7 + c) * Math.cos(y / 5) + 0.1 * (rng.uniform() - 0.5);
  }
  return { data, c: 3, h: size, w: size };
}

const cos = (a: number[], b: number[]) => {
  const dot = a.reduce((s, v, i) => s + v * b[i]!, 0);
  return dot / Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
};
const norm = (a: number[]) => { const n = Math.hypot(...a); return a.map((v) => v / n); };

describe('similarities', () => {
  it('cosine, Pearson (cosine of centred vectors, shift-invariant) and minus the Euclidean distance', () => {
    const a = [1, 2, 3, 4], b = [2, 1, 4, 3.5];
    expect(similarity('cosine', a, 0, b, 0, 4)).toBeCloseTo(cos(a, b), 12);
    const ma = 2.5, mb = (2 + 1 + 4 + 3.5) / 4;
    expect(similarity('pearson', a, 0, b, 0, 4)).toBeCloseTo(cos(a.map((v) => v - ma), b.map((v) => v - mb)), 12);
    expect(similarity('pearson', a, 0, b.map((v) => v + 10), 0, 4)).toBeCloseTo(similarity('pearson', a, 0, b, 0, 4), 12);
    expect(similarity('cosine', a, 0, b.map((v) => v + 10), 0, 4)).not.toBeCloseTo(similarity('cosine', a, 0, b, 0, 4), 3);
    expect(similarity('euclidean', a, 0, b, 0, 4)).toBeCloseTo(-Math.hypot(1, 1, 1, 0.5), 12);
    // offsets select the vectors inside longer arrays
    expect(similarity('cosine', [9, ...a], 1, [...b, 9], 0, 4)).toBeCloseTo(cos(a, b), 12);
  });
});

describe('fuseScores', () => {
  // H = 2 probe hypotheses, T = 3 gallery templates, d = 3
  const P = [[1, 0, 0.5], [0.2, 1, 0]];
  const G = [[1, 0.1, 0], [0, 1, 1], [0.3, 0.3, 1]];
  const probe = Float32Array.from(P.flat()), gallery = Float32Array.from(G.flat());
  const s = P.map((p) => G.map((g) => cos(p, g)));
  it('S_max, S_add and S_max -> S_add are the max, the mean and the mean of the row maxima of the score grid', () => {
    expect(fuseScores('S_max', 'cosine', probe, 2, gallery, 3, 3)).toBeCloseTo(Math.max(...s.flat()), 6);
    expect(fuseScores('S_add', 'cosine', probe, 2, gallery, 3, 3)).toBeCloseTo(s.flat().reduce((a, b) => a + b, 0) / 6, 6);
    expect(fuseScores('Smax_Sadd', 'cosine', probe, 2, gallery, 3, 3)).toBeCloseTo((Math.max(...s[0]!) + Math.max(...s[1]!)) / 2, 6);
  });
  it('T_add compares the means of the normalised templates; T_concat the concatenations, template k against hypothesis k', () => {
    const mean = (vs: number[][]) => vs.map(norm).reduce((m, v) => m.map((x, i) => x + v[i]! / vs.length), [0, 0, 0]);
    expect(fuseScores('T_add', 'cosine', probe, 2, gallery, 3, 3)).toBeCloseTo(cos(mean(P), mean(G)), 6);
    const pc = [...norm(P[0]!), ...norm(P[1]!)], gc = [...norm(G[0]!), ...norm(G[1]!)];
    expect(fuseScores('T_concat', 'cosine', probe, 2, gallery, 3, 3)).toBeCloseTo(cos(pc, gc), 6);
    // fewer templates than hypotheses: the templates repeat
    const g1 = Float32Array.from(G[1]!);
    expect(fuseScores('T_concat', 'cosine', probe, 2, g1, 1, 3)).toBeCloseTo(cos(pc, [...norm(G[1]!), ...norm(G[1]!)]), 6);
  });
  it('one hypothesis against one template: every fusion is the plain similarity', () => {
    for (const f of FUSIONS) expect(fuseScores(f, 'cosine', probe.subarray(0, 3), 1, gallery.subarray(3, 6), 1, 3)).toBeCloseTo(s[0]![1]!, 6);
  });
  it('fuseGrid gives the S_* fusions from the score grid; dotForm + similarityMatrix give the similarities', () => {
    for (const sim of ['cosine', 'pearson', 'euclidean'] as const) {
      const grid = similarityMatrix(sim, dotForm(sim, probe, 2, 3), dotForm(sim, gallery, 3, 3), 3);
      for (let h = 0; h < 2; h++) for (let t = 0; t < 3; t++) expect(grid[h * 3 + t]).toBeCloseTo(similarity(sim, probe, h * 3, gallery, t * 3, 3), 5);
      for (const f of ['S_max', 'S_add', 'Smax_Sadd'] as const) expect(fuseGrid(f, grid, 2, 3)).toBeCloseTo(fuseScores(f, sim, probe, 2, gallery, 3, 3), 5);
      // a sub-grid: hypothesis 1 against templates 0 and 2
      expect(fuseGrid('S_add', grid, 2, 3, [1], [0, 2])).toBeCloseTo((grid[3]! + grid[5]!) / 2, 6);
    }
  });
  it('rejects arrays of the wrong length, naming both', () => {
    expect(() => fuseScores('S_max', 'cosine', probe, 3, gallery, 3, 3)).toThrow(/expected 3 x 3 and 3 x 3 values, got 6 and 9/);
  });
});

describe('probe hypotheses', () => {
  it('σ from 0 to 1 LR pixels; σ = 0 is the probe itself', () => {
    const s = hypothesisSigmas(16);
    expect(s.length).toBe(16);
    expect(s[0]).toBe(0);
    expect(s[15]).toBe(1);
    expect(hypothesisSigmas(1)).toEqual([0]);
    expect(() => hypothesisSigmas(0)).toThrow(/positive integer/);
    const lr = face(1, 16);
    expect(deblurHypotheses(lr, [0])[0]).toBe(lr);
  });
  it('deblurring a Gaussian-blurred image under its σ brings it closer to the sharp one, values stay in [0, 1]', () => {
    const sharp = face(2, 16);
    const blurred = convolve2d(sharp, gaussianKernel(1));
    const [x] = deblurHypotheses(blurred, [1]);
    const err = (u: ChwImage) => Math.sqrt(u.data.reduce((s, v, i) => s + (v - sharp.data[i]!) ** 2, 0));
    expect(err(x!)).toBeLessThan(0.8 * err(blurred));
    expect(Math.min(...x!.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...x!.data)).toBeLessThanOrEqual(1);
  });
});

describe('gallery templates', () => {
  it('the crop, the 11 degradations and the drawn chains: 112x112x3 each, values in [0, 1], deterministic per (image, seed)', async () => {
    expect(GALLERY_DEGRADATIONS.length).toBe(11);
    const hr = face(3);
    const t = await galleryTemplates(hr, 77, { chains2: 3, chains3: 2 });
    expect(t.length).toBe(1 + 11 + 3 + 2);
    expect(t[0]!.name).toBe('hr');
    expect(new Set(t.map((x) => x.name)).size).toBe(t.length);
    for (const x of t) {
      expect([x.img.c, x.img.h, x.img.w]).toEqual([3, 112, 112]);
      expect(Math.min(...x.img.data)).toBeGreaterThanOrEqual(-1e-6);
      expect(Math.max(...x.img.data)).toBeLessThanOrEqual(1 + 1e-6);
    }
    // every degradation changes the image
    for (const x of t.slice(1)) expect(x.img.data.some((v, i) => Math.abs(v - hr.data[i]!) > 1e-3)).toBe(true);
    const again = await galleryTemplates(hr, 77, { chains2: 3, chains3: 2 });
    again.forEach((x, i) => expect(x.img.data).toEqual(t[i]!.img.data));
    // another image key draws other noise (same chains)
    const other = await galleryTemplates(hr, 78, { chains2: 3, chains3: 2 });
    expect(other.map((x) => x.name)).toEqual(t.map((x) => x.name));
    const noise = t.findIndex((x) => x.name === 'noise-5');
    expect(other[noise]!.img.data).not.toEqual(t[noise]!.img.data);
  });
  it('chains are distinct and use distinct degradations', () => {
    const c = drawChains(4, 12, 12);
    expect(c.filter((x) => x.length === 2).length).toBe(12);
    expect(c.filter((x) => x.length === 3).length).toBe(12);
    expect(new Set(c.map((x) => x.join(','))).size).toBe(24);
    for (const x of c) expect(new Set(x).size).toBe(x.length);
    expect(drawChains(4, 12, 12)).toEqual(c);
  });
});
