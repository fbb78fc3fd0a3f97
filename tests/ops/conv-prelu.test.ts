// conv2dPrelu (src/runtime/ops/conv.ts): the PReLU after a conv fused into the conv kernel's
// epilogue (conv_fwd, the GEMM path's channel pass conv_bias, depthwise, depthwise_rows) when no
// gradient is recorded. Reference: the float64 conv of tests/helpers/conv-ref.ts followed by PReLU on
// the CPU (tolerance of tests/ops/conv.test.ts: atol 1e-4 + rtol 1e-4 · |ref|), and our own conv2d
// then prelu, which the fused kernel must equal exactly (the same float32 operations in the same
// order: any difference is a bug in the epilogue). Where autograd records, conv2dPrelu is the two
// ops apart: values and gradients equal theirs exactly.
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';
import { conv64, randn, withConvVariants, type Cfg } from '../helpers/conv-ref.js';

const toF64 = (a: Float32Array) => Float64Array.from(a);


interface Case { name: string; x: Shape; w: Shape; o: Cfg; bias: boolean; variants?: Partial<typeof L.convVariants> }

const cases: Case[] = [
  { name: 'direct 3x3 s1 p1 (conv_fwd)', x: [2, 5, 7, 9], w: [6, 5, 3, 3], o: { padding: 1 }, bias: true },
  { name: 'direct 3x3 s2, no bias (conv_fwd)', x: [2, 4, 8, 7], w: [9, 4, 3, 3], o: { stride: 2, padding: 1 }, bias: false },
  { name: 'direct 1x1, 20 output channels (two channel blocks)', x: [3, 6, 5, 5], w: [20, 6, 1, 1], o: {}, bias: true },
  // On 8-lane subgroup adapters the implicit GEMM (conv_subgroup: bias and slope read once per row of a tile); else conv_fwd.
  { name: 'implicit GEMM 3x3 s1 p1, 6 of a tile\'s 16 rows (conv_subgroup)', x: [2, 5, 7, 9], w: [6, 5, 3, 3], o: { padding: 1 }, bias: true, variants: { subgroupMinM: 1 } },
  { name: 'GEMM 1x1 (matmul, then the channel pass)', x: [2, 6, 6, 6], w: [10, 6, 1, 1], o: {}, bias: true, variants: { gemm: true } },
  { name: 'GEMM 1x1, no bias, pixels not a multiple of 4', x: [2, 6, 5, 5], w: [7, 6, 1, 1], o: {}, bias: false, variants: { gemm: true } },
  { name: 'GEMM 3x3 s2 (im2col)', x: [2, 3, 9, 9], w: [8, 3, 3, 3], o: { stride: 2, padding: 1 }, bias: true, variants: { gemm: true } },
  { name: 'depthwise 3x3 s2 (depthwise)', x: [2, 6, 9, 9], w: [6, 1, 3, 3], o: { stride: 2, padding: 1, groups: 6 }, bias: false },
  { name: 'depthwise 3x3 s1, generic kernel', x: [2, 6, 7, 9], w: [6, 1, 3, 3], o: { padding: 1, groups: 6 }, bias: true, variants: { dwFast: false } },
  { name: 'depthwise_rows, split rows', x: [2, 6, 9, 11], w: [6, 1, 3, 3], o: { padding: 1, groups: 6 }, bias: true, variants: { dwSplit: true, dwRows: 3, dwPlane: false } },
  { name: 'depthwise_rows, unsplit', x: [2, 6, 9, 11], w: [6, 1, 3, 3], o: { padding: 1, groups: 6 }, bias: false, variants: { dwSplit: false, dwX4: false, dwRows: 2 } },
  { name: 'depthwise_rows, whole plane, vec4 stores', x: [2, 4, 4, 4], w: [4, 1, 3, 3], o: { padding: 1, groups: 4 }, bias: true, variants: { dwPlane: true, dwPlaneMaxTaps: 1 << 30, dwVStore: true } },
];


describe('conv2dPrelu: conv → PReLU fused into the conv epilogue (inference)', () => {
  for (const c of cases) {
    it(`${c.name}: equals conv2d then prelu exactly and the float64 reference`, () => withConvVariants(c.variants, async () => {
      const Co = c.w[0]!;
      const xs = randn(c.x.reduce((a, b) => a * b, 1), 1), ws = randn(c.w.reduce((a, b) => a * b, 1), 2), bs = randn(Co, 3);
      // slopes of both signs and zero, so every branch of the select is taken
      const as = Float32Array.from({ length: Co }, (_, i) => [0.25, -0.5, 0, 1.5][i % 4]!);
      const x = L.tensor(xs, c.x), w = L.tensor(ws, c.w), b = c.bias ? L.tensor(bs, [Co]) : null, a = L.tensor(as, [Co]);
      const e = L.getEngine();
      // once before counting: an inference forward keeps conv_fwd's packed weight with w, so the
      // first forward alone would also count the packing
      L.dispose(L.noGrad(() => L.conv2d(x, w, b, c.o)));
      const d0 = e.stats.dispatches;
      const fused = L.noGrad(() => L.conv2dPrelu(x, w, b, a, c.o));
      const d1 = e.stats.dispatches;
      const apart = L.noGrad(() => L.prelu(L.conv2d(x, w, b, c.o), a));
      const d2 = e.stats.dispatches;
      const got = await fused.data(), sep = await apart.data();
      expect(got.length).toBe(sep.length);
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i]! - sep[i]!));
      expect(diff, 'fused vs conv2d then prelu').toBe(0);
      // the fused path saves prelu's own dispatch (the GEMM path without a bias trades it for its channel pass)
      if (!(c.variants?.gemm && !c.bias)) expect(d1 - d0).toBeLessThan(d2 - d1);
      // float64 reference
      const y64 = conv64(c.o)(c.bias ? [toF64(xs), toF64(ws), toF64(bs)] : [toF64(xs), toF64(ws)], [c.x, c.w]);
      const P = y64.length / (c.x[0]! * Co);
      let worst = 0, negatives = 0;
      for (let i = 0; i < y64.length; i++) {
        const ch = Math.floor(i / P) % Co;
        const ref = y64[i]! > 0 ? y64[i]! : as[ch]! * y64[i]!;
        if (y64[i]! < 0) negatives++;
        worst = Math.max(worst, Math.abs(got[i]! - ref) / (1e-4 + 1e-4 * Math.abs(ref)));
      }
      expect(negatives).toBeGreaterThan(y64.length / 4);
      expect(worst, 'fused vs float64 (units of atol 1e-4 + rtol 1e-4)').toBeLessThanOrEqual(1);
      L.dispose([x, w, a, fused, apart, ...(b ? [b] : [])]);
    }));
  }

  it('with autograd recording: the two ops apart, the same values and gradients', async () => {
    const x = L.tensor(randn(2 * 4 * 6 * 6, 4), [2, 4, 6, 6]), w = L.tensor(randn(6 * 4 * 9, 5), [6, 4, 3, 3]);
    const b = L.tensor(randn(6, 6), [6]), a = L.tensor(Float32Array.from([0.25, -0.5, 0, 1.5, 0.1, 2]), [6]);
    const params = [x, w, b, a];
    for (const p of params) p.requiresGrad = true;
    const r = L.tensor(randn(2 * 6 * 6 * 6, 7), [2, 6, 6, 6]);
    const run = async (fused: boolean) => {
      L.zeroGrad(params, true);
      const y = fused ? L.conv2dPrelu(x, w, b, a, { padding: 1 }) : L.prelu(L.conv2d(x, w, b, { padding: 1 }), a);
      expect(y.requiresGrad).toBe(true);
      L.backward(L.sum(L.mul(y, r)));
      const out = [await y.data(), ...(await Promise.all(params.map((p) => p.grad!.data())))];
      y.dispose();
      return out;
    };
    const ref = await run(false), got = await run(true);
    for (let i = 0; i < ref.length; i++) expect([...got[i]!], ['y', 'dx', 'dw', 'dbias', 'dalpha'][i]).toEqual([...ref[i]!]);
    L.zeroGrad(params, true);
    L.dispose([...params, r]);
  });

  it('names a wrong slope shape', () => {
    const x = L.rand([1, 3, 4, 4], 1), w = L.rand([5, 3, 1, 1], 2), a = L.rand([3], 3);
    expect(() => L.noGrad(() => L.conv2dPrelu(x, w, null, a))).toThrow(/conv2dPrelu: alpha \[3\] must be \[5\]/);
    L.dispose([x, w, a]);
  });
});
