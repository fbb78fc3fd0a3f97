import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import {
  axisWeights, resizeBicubicCpu, downsample, upsample, matchGallery, degradeLR, sampleDegradation, applyDegradation,
  gaussianKernel, motionKernel, convolve2d, addGaussianNoise, jpegRoundTrip, mixSeed, DEGRADATION, LR_SIZES, cropChw,
} from '../../src/train/degrade.js';
import type { ChwImage } from '../../src/train/image.js';

function randomImage(c: number, h: number, w: number, seed: number): ChwImage {
  return { data: L.randArray(c * h * w, seed), c, h, w };
}
/** A smooth face-like test image in [0, 1]. */
function smoothImage(h = 112, w = 112): ChwImage {
  const data = new Float32Array(3 * h * w);
  for (let q = 0; q < 3; q++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    data[(q * h + y) * w + x] = 0.5 + 0.3 * Math.sin(x / 9 + q) * Math.cos(y / 13) + 0.1 * ((x * 7 + y * 3) % 11) / 11;
  }
  return { data, c: 3, h, w };
}
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m; };

describe('CPU bicubic (PyTorch semantics)', () => {
  it('antialiased 2x downsampling uses the PIL/PyTorch a=-0.5 taps', () => {
    const aw = axisWeights(16, 8, true);
    const i = 3; // interior output: centre 7, taps 3..10
    expect(aw.n[i]).toBe(8);
    expect(aw.idx[i * aw.maxTaps]).toBe(3);
    const w = Array.from(aw.w.subarray(i * aw.maxTaps, i * aw.maxTaps + 8));
    expect(w).toEqual([-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875].map((v) => expect.closeTo(v, 14)));
  });
  it('plain bicubic upsampling (a=-0.75, border clamped): [0, 1] -> 4', () => {
    const y = resizeBicubicCpu({ data: Float32Array.from([0, 1]), c: 1, h: 1, w: 2 }, 1, 4);
    expect([...y.data]).toEqual([-0.10546875, 0.2265625, 0.7734375, 1.10546875]);
  });
  it('keeps a constant image constant (down with AA, up without)', () => {
    const c = { data: new Float32Array(3 * 112 * 112).fill(0.37), c: 3, h: 112, w: 112 };
    for (const s of LR_SIZES) {
      const d = downsample(c, s);
      expect(d.h).toBe(s);
      expect(maxAbs(d.data, new Float32Array(d.data.length).fill(0.37))).toBeLessThan(1e-6);
      expect(maxAbs(upsample(d).data, c.data)).toBeLessThan(1e-6);
    }
  });
  it('matches the GPU resizeBicubic (112 -> S antialiased, S -> 112 plain, 143 -> 112)', async () => {
    const cases: [ChwImage, number, boolean][] = [
      [randomImage(3, 112, 112, 1), 16, true], [randomImage(3, 112, 112, 2), 12, true], [randomImage(2, 112, 112, 3), 32, true],
      [randomImage(3, 16, 16, 4), 112, false], [randomImage(3, 24, 24, 5), 112, false], [randomImage(1, 143, 143, 6), 112, true],
      [randomImage(1, 108, 108, 7), 150, true],
    ];
    for (const [img, s, aa] of cases) {
      const cpu = resizeBicubicCpu(img, s, s, { antialias: aa });
      const x = L.tensor(img.data, [1, img.c, img.h, img.w]);
      const y = L.resizeBicubic(x, [s, s], { antialias: aa });
      const gpu = await y.data();
      x.dispose(); y.dispose();
      expect(maxAbs(cpu.data, gpu), `${img.h} -> ${s} aa=${aa}`).toBeLessThan(5e-5);
    }
  });
  it('crop and gallery matching', () => {
    const img = smoothImage();
    const c = cropChw(img, 5, 7, 3, 2);
    expect(c.data[0]).toBe(img.data[7 * 112 + 5]);
    expect(c.data[2 * 6 + 1 * 3 + 2]).toBe(img.data[2 * 112 * 112 + 8 * 112 + 7]);
    const m = matchGallery(img, 16);
    expect([m.c, m.h, m.w]).toEqual([3, 112, 112]);
    expect(maxAbs(m.data, upsample(downsample(img, 16)).data)).toBeLessThan(1e-6);
    expect(maxAbs(m.data, img.data)).toBeGreaterThan(0.01); // detail lost
  });
});

describe('degradation model', () => {
  it('kernels are normalised; motion at 0 degrees is one horizontal line', () => {
    for (const s of [0.5, 1.3, 2.5]) expect(gaussianKernel(s).k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const m = motionKernel(7, 0);
    expect(m.k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const r = (m.size - 1) / 2;
    let off = 0;
    m.k.forEach((v, i) => { if (Math.floor(i / m.size) !== r) off += v; });
    expect(off).toBeLessThan(1e-12);
    const d = motionKernel(9, 45);
    expect(d.k[0]).toBeCloseTo(d.k[d.size * d.size - 1]!, 12); // symmetric along the diagonal
    const c = { data: new Float32Array(3 * 20 * 20).fill(0.6), c: 3, h: 20, w: 20 };
    expect(maxAbs(convolve2d(c, d).data, c.data)).toBeLessThan(1e-6);
  });
  it('draws are seeded, reproducible, p = 0.5 each, within the documented ranges', () => {
    expect(sampleDegradation(3, 7)).toEqual(sampleDegradation(3, 7));
    expect(mixSeed(3, 7)).not.toBe(mixSeed(3, 8));
    const N = 4000;
    let blur = 0, gauss = 0, noise = 0, jpeg = 0;
    const qs = new Set<number>();
    for (let i = 0; i < N; i++) {
      const s = sampleDegradation(3, i);
      if (s.blur) {
        blur++;
        if (s.blur.kind === 'gaussian') { gauss++; expect(s.blur.sigma).toBeGreaterThanOrEqual(0.5); expect(s.blur.sigma).toBeLessThan(2.5); }
        else { expect(s.blur.length).toBeGreaterThanOrEqual(3); expect(s.blur.length).toBeLessThan(11); expect(s.blur.angleDeg).toBeLessThan(180); }
      }
      if (s.noise) { noise++; expect(s.noise.sigma).toBeGreaterThanOrEqual(2 / 255); expect(s.noise.sigma).toBeLessThan(15 / 255); }
      if (s.jpeg) { jpeg++; qs.add(s.jpeg.quality); expect(Number.isInteger(s.jpeg.quality)).toBe(true); }
    }
    for (const k of [blur, noise, jpeg]) expect(Math.abs(k / N - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(gauss / blur - DEGRADATION.pGaussianGivenBlur)).toBeLessThan(0.04);
    expect(Math.min(...qs)).toBe(30);
    expect(Math.max(...qs)).toBe(90);
  });
  it('same seed + index -> same LR image; different index -> different', async () => {
    const img = smoothImage();
    // find indices where every step applies, and one where none does
    let all = -1, none = -1;
    for (let i = 0; i < 200 && (all < 0 || none < 0); i++) {
      const s = sampleDegradation(3, i);
      if (s.blur && s.noise && s.jpeg && all < 0) all = i;
      if (!s.blur && !s.noise && !s.jpeg && none < 0) none = i;
    }
    for (const S of [12, 16, 32]) {
      const a = await degradeLR(img, S, { model: 'degraded', seed: 3, index: all });
      const b = await degradeLR(img, S, { model: 'degraded', seed: 3, index: all });
      expect([a.c, a.h, a.w]).toEqual([3, S, S]);
      expect(maxAbs(a.data, b.data)).toBe(0);
      expect(Math.min(...a.data)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...a.data)).toBeLessThanOrEqual(1);
      const clean = await degradeLR(img, S);
      expect(maxAbs(a.data, clean.data)).toBeGreaterThan(0.02);
      const n = await degradeLR(img, S, { model: 'degraded', seed: 3, index: none });
      expect(maxAbs(n.data, clean.data)).toBe(0); // nothing applied = the clean LR
      const other = await degradeLR(img, S, { model: 'degraded', seed: 4, index: all });
      expect(maxAbs(other.data, a.data)).toBeGreaterThan(0);
    }
  });
  it('noise is seeded; JPEG round trip is close at q=90 and worse at q=30', async () => {
    const img = smoothImage(32, 32);
    expect(addGaussianNoise(img, 0.05, 11).data).toEqual(addGaussianNoise(img, 0.05, 11).data);
    const mae = (a: ChwImage) => a.data.reduce((s, v, i) => s + Math.abs(v - img.data[i]!), 0) / a.data.length;
    const q90 = await jpegRoundTrip(img, 90), q30 = await jpegRoundTrip(img, 30);
    expect([q90.c, q90.h, q90.w]).toEqual([3, 32, 32]);
    expect(mae(q90)).toBeLessThan(0.03);
    expect(mae(q30)).toBeGreaterThan(mae(q90));
    const spec = { blur: null, noise: null, jpeg: { quality: 50 } };
    expect((await applyDegradation(smoothImage(), 16, spec)).data).toEqual((await applyDegradation(smoothImage(), 16, spec)).data);
  });
});
