// conv2dPixelShuffle (src/runtime/ops/conv.ts): EDSR / DSR's upsampler, pixelShuffle(conv2d(...), r),
// with the shuffle folded into the stores of the Winograd output transform (shaders/winograd_out.wgsl)
// and of the subgroup conv (shaders/conv_subgroup.wgsl), a shuffle pass after the other kernels. The
// fused kernels do the same float32 operations in the same order as conv2d, only the store address
// differs, so the result must equal pixelShuffle(conv2d(...)) exactly (any difference is a bug in the
// index), with one dispatch fewer; and the float64 conv shuffled on the CPU (atol 1e-4 + rtol 1e-4 ·
// |ref|, as tests/ops/conv.test.ts). With autograd recording, values and gradients equal the two ops'.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';
import { conv64, randn, withConvVariants, type Cfg } from '../helpers/conv-ref.js';

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

  it('with autograd recording: the same values and gradients as pixelShuffle(conv2d)', async () => {
    const x = L.tensor(randn(2 * 8 * 6 * 7, 4), [2, 8, 6, 7]), w = L.tensor(randn(16 * 8 * 9, 5), [16, 8, 3, 3]);
    const b = L.tensor(randn(16, 6), [16]);
    const params = [x, w, b];
    for (const p of params) p.requiresGrad = true;
    const rw = L.tensor(randn(2 * 4 * 12 * 14, 7), [2, 4, 12, 14]);
    const run = async (fused: boolean) => {
      L.zeroGrad(params, true);
      const y = fused ? L.conv2dPixelShuffle(x, w, b, 2, { padding: 1 }) : L.pixelShuffle(L.conv2d(x, w, b, { padding: 1 }), 2);
      expect(y.requiresGrad).toBe(true);
      L.backward(L.sum(L.mul(y, rw)));
      const out = [await y.data(), ...(await Promise.all(params.map((p) => p.grad!.data())))];
      y.dispose();
      return out;
    };
    const ref = await run(false), got = await run(true);
    for (let i = 0; i < ref.length; i++) expect([...got[i]!], ['y', 'dx', 'dw', 'dbias'][i]).toEqual([...ref[i]!]);
    L.zeroGrad(params, true);
    L.dispose([...params, rw]);
  });

  it('names bad arguments', () => {
    const x = L.rand([1, 3, 4, 4], 1), w = L.rand([6, 3, 3, 3], 2);
    expect(() => L.noGrad(() => L.conv2dPixelShuffle(x, w, null, 2, { padding: 1 }))).toThrow(/conv2dPixelShuffle: output channels 6 of weight \[6, 3, 3, 3\] are not divisible by r² = 4/);
    expect(() => L.noGrad(() => L.conv2dPixelShuffle(x, w, null, 0))).toThrow(/conv2dPixelShuffle: upscale factor r must be a positive integer, got 0/);
    L.dispose([x, w]);
  });
});
