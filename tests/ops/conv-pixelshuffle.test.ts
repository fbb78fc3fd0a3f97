// conv2dPixelShuffle (src/runtime/ops/conv.ts): EDSR / DSR's upsampler, pixelShuffle(conv2d(...), r),
// with the shuffle folded into the stores of the Winograd output transform (shaders/winograd_out.wgsl)
// and of the subgroup conv (shaders/conv_subgroup.wgsl), a shuffle pass after the other kernels. The
// fused kernels do the same float32 operations in the same order as conv2d, only the store address
// differs, so the result must equal pixelShuffle(conv2d(...)) exactly (any difference is a bug in the
// index), with one dispatch fewer; and the float64 conv shuffled on the CPU (atol 1e-4 + rtol 1e-4 ·
// |ref|, as tests/ops/conv.test.ts). With autograd recording, values and gradients equal the two ops',
// the Winograd backward reading dy through the shuffle (no unshuffle pass).
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';
import { conv64, randn, withConvVariants, type Cfg } from '../helpers/conv-ref.js';
import { programs } from '../helpers/op.js';

const SG8 = L.fixedSubgroupSize() === 8;
const toF64 = (a: Float32Array) => Float64Array.from(a);

// fused: whether the shuffle rides in the conv kernel here (a dispatch fewer than the two ops).
interface Case { name: string; x: Shape; w: Shape; r: number; o: Cfg; bias: boolean; fused: boolean; variants?: Partial<typeof L.convVariants> }
const cases: Case[] = [
  { name: 'Winograd, r 2, 8 -> 16 channels, partial tiles', x: [2, 8, 9, 10], w: [16, 8, 3, 3], r: 2, o: { padding: 1 }, bias: true, fused: true },
  { name: 'Winograd in chunks of two images (3 images), no bias', x: [3, 8, 6, 5], w: [32, 8, 3, 3], r: 2, o: { padding: 1 }, bias: false, fused: true, variants: { winogradMaxBytes: 36 * 8 * 4 * 4 * 2 } },
  { name: 'subgroup conv (Winograd off), r 2', x: [2, 5, 7, 9], w: [20, 5, 3, 3], r: 2, o: { padding: 1 }, bias: true, fused: SG8, variants: { winograd: false } },
  { name: 'subgroup conv, r 3, stride 2', x: [2, 4, 9, 8], w: [18, 4, 3, 3], r: 3, o: { stride: 2, padding: 1 }, bias: true, fused: SG8, variants: { winograd: false } },
  { name: 'direct conv_fwd (subgroup off): conv, then the shuffle pass', x: [2, 4, 6, 7], w: [8, 4, 3, 3], r: 2, o: { padding: 1 }, bias: true, fused: false, variants: { winograd: false, subgroup: null } },
];

describe('conv2dPixelShuffle: the shuffle folded into the conv stores', () => {
  for (const c of cases) {
    it(`${c.name}: equals pixelShuffle(conv2d) exactly and the float64 reference`, () => withConvVariants(c.variants, async () => {
      const Co = c.w[0]!, r = c.r;
      const xs = randn(c.x.reduce((a, b) => a * b, 1), 1), ws = randn(c.w.reduce((a, b) => a * b, 1), 2), bs = randn(Co, 3);
      const x = L.tensor(xs, c.x), w = L.tensor(ws, c.w), b = c.bias ? L.tensor(bs, [Co]) : null;
      const e = L.getEngine();
      // once before counting: an inference forward keeps the weight's Winograd transform with w, so
      // the first forward alone would also count that transform's dispatch
      L.dispose(L.noGrad(() => L.conv2d(x, w, b, c.o)));
      const d0 = e.stats.dispatches;
      const fused = L.noGrad(() => L.conv2dPixelShuffle(x, w, b, r, c.o));
      const d1 = e.stats.dispatches;
      const apart = L.noGrad(() => L.pixelShuffle(L.conv2d(x, w, b, c.o), r));
      const d2 = e.stats.dispatches;
      expect(fused.shape).toEqual(apart.shape);
      const got = await fused.data(), sep = await apart.data();
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i]! - sep[i]!));
      expect(diff, 'fused vs pixelShuffle(conv2d)').toBe(0);
      expect(d1 - d0, 'dispatches fused vs apart').toBe(d2 - d1 - (c.fused ? 1 : 0));
      // float64 reference, shuffled here: out[n, c, h·r + i, w·r + j] = y[n, c·r² + i·r + j, h, w]
      const y64 = conv64(c.o)(c.bias ? [toF64(xs), toF64(ws), toF64(bs)] : [toF64(xs), toF64(ws)], [c.x, c.w]);
      const [N, C2, Hr, Wr] = fused.shape as [number, number, number, number];
      const Ho = Hr / r, Wo = Wr / r;
      let worst = 0;
      for (let n = 0; n < N; n++) for (let ch = 0; ch < C2; ch++) for (let yy = 0; yy < Hr; yy++) for (let xx = 0; xx < Wr; xx++) {
        const src = ((n * Co + ch * r * r + (yy % r) * r + (xx % r)) * Ho + Math.floor(yy / r)) * Wo + Math.floor(xx / r);
        const ref = y64[src]!;
        const v = got[((n * C2 + ch) * Hr + yy) * Wr + xx]!;
        worst = Math.max(worst, Math.abs(v - ref) / (1e-4 + 1e-4 * Math.abs(ref)));
      }
      expect(worst, 'fused vs float64 (units of atol 1e-4 + rtol 1e-4)').toBeLessThanOrEqual(1);
      L.dispose([x, w, fused, apart, ...(b ? [b] : [])]);
    }));
  }

  // The backward reads dy through the shuffle where Winograd computes the gradient (no unshuffle pass:
  // OutGrad in conv.ts); the other kernels get it unshuffled, once. Either way the gradients equal the
  // two ops' exactly: the same float32 operations, only the read addresses differ (both bias gradients
  // come from the same kernel: Winograd's tile sums, or sum(dy) of the unshuffled dy).
  interface GradCase { name: string; x: Shape; w: Shape; r: number; unshuffles: number; variants?: Partial<typeof L.convVariants> }
  const gradCases: GradCase[] = [
    { name: 'Winograd backward, r 2, partial tiles', x: [2, 8, 6, 7], w: [16, 8, 3, 3], r: 2, unshuffles: 0 },
    { name: 'Winograd backward, r 3, in chunks of one image', x: [2, 8, 5, 6], w: [18, 8, 3, 3], r: 3, unshuffles: 0, variants: { winogradMaxBytes: 36 * 18 * 4 * 4 } },
    { name: 'Winograd backward-data, subgroup weight gradient', x: [2, 8, 6, 7], w: [16, 8, 3, 3], r: 2, unshuffles: 1, variants: { winogradWgrad: false } },
    { name: 'no Winograd: unshuffled once for both kernels', x: [2, 8, 6, 7], w: [16, 8, 3, 3], r: 2, unshuffles: 1, variants: { winograd: false, winogradDgrad: false, winogradWgrad: false } },
  ];
  for (const c of gradCases) {
    it(`with autograd recording (${c.name}): the same values and gradients as pixelShuffle(conv2d)`, () => withConvVariants(c.variants, async () => {
      const [N, Ci, H, W] = c.x as [number, number, number, number];
      const Co = c.w[0]!, r = c.r;
      const x = L.tensor(randn(N * Ci * H * W, 4), c.x), w = L.tensor(randn(Co * Ci * 9, 5), c.w);
      const b = L.tensor(randn(Co, 6), [Co]);
      const params = [x, w, b];
      for (const p of params) p.requiresGrad = true;
      const rw = L.tensor(randn(N * Co * H * W, 7), [N, Co / (r * r), H * r, W * r]);
      const run = async (fused: boolean) => {
        L.zeroGrad(params, true);
        const y = fused ? L.conv2dPixelShuffle(x, w, b, r, { padding: 1 }) : L.pixelShuffle(L.conv2d(x, w, b, { padding: 1 }), r);
        expect(y.requiresGrad).toBe(true);
        const loss = L.sum(L.mul(y, rw));
        const names = programs(() => L.backward(loss));
        const out = [await y.data(), ...(await Promise.all(params.map((p) => p.grad!.data())))];
        L.dispose([y, loss]);
        return { out, unshuffles: names.filter((n) => n === 'pixel_unshuffle').length };
      };
      const ref = await run(false), got = await run(true);
      for (let i = 0; i < ref.out.length; i++) expect([...got.out[i]!], ['y', 'dx', 'dw', 'dbias'][i]).toEqual([...ref.out[i]!]);
      expect(ref.unshuffles, 'pixelShuffle(conv2d): its own backward unshuffles').toBe(1);
      expect(got.unshuffles, 'unshuffle passes in the fused backward').toBe(c.unshuffles);
      L.zeroGrad(params, true);
      L.dispose([...params, rw]);
    }));
  }

  it('names bad arguments', () => {
    const x = L.rand([1, 3, 4, 4], 1), w = L.rand([6, 3, 3, 3], 2);
    expect(() => L.noGrad(() => L.conv2dPixelShuffle(x, w, null, 2, { padding: 1 }))).toThrow(/conv2dPixelShuffle: output channels 6 of weight \[6, 3, 3, 3\] are not divisible by r² = 4/);
    expect(() => L.noGrad(() => L.conv2dPixelShuffle(x, w, null, 0))).toThrow(/conv2dPixelShuffle: upscale factor r must be a positive integer, got 0/);
    L.dispose([x, w]);
  });
});
