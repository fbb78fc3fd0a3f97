// The Winograd F(4x4, 3x3) path of conv2d (src/runtime/ops/conv-winograd.ts, convVariants.winograd
// with .winogradRecorded, .winogradDgrad, .winogradWgrad, down to 1 channel here): values and gradients against tfjs (CPU
// backend; tf.grads), with the path on for the forward, the backward-data and the weight gradient.
// Tolerances: the transforms multiply by up to 8 (Aᵀ), 5 (Bᵀ) and 1/24 (G), so an output carries
// rounding of its 36·Ci transform-domain terms at a few times their scale: with N(0,1) inputs and
// up to 32 input channels, atol 5e-4 + rtol 5e-4 · |ref| (the direct kernels' test: 1e-4); gradients
// 1e-3 as in tests/ops/conv.test.ts.
import { describe, it, expect } from 'vitest';
import { testOp, programs } from '../helpers/op.js';
import { tfConv, ours, type Cfg } from '../helpers/conv-ref.js';
import * as L from '../../src/runtime/index.js';

const tol = { atol: 5e-4, rtol: 5e-4, gradAtol: 1e-3, gradRtol: 1e-3 };

async function withWinograd<T>(v: Partial<typeof L.convVariants>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...L.convVariants };
  Object.assign(L.convVariants, { winograd: true, winogradRecorded: true, winogradDgrad: true, winogradWgrad: true, winogradMinChannels: 1 }, v);
  try {
    return await fn();
  } finally {
    Object.assign(L.convVariants, saved);
  }
}


// [label, x shape, weight shape, options, bias, extra variants]
type Case = [string, number[], number[], Cfg, boolean, Partial<typeof L.convVariants>?];
const cases: Case[] = [
  ['p1, 8x8 (whole tiles)', [2, 3, 8, 8], [5, 3, 3, 3], { padding: 1 }, true],
  ['p1, odd 7x9 (partial tiles)', [2, 4, 7, 9], [6, 4, 3, 3], { padding: 1 }, true],
  ['p0 (valid), 9x6', [1, 3, 9, 6], [4, 3, 3, 3], {}, false],
  ['p2 (full), 5x5', [2, 2, 5, 5], [3, 2, 3, 3], { padding: 2 }, true],
  ['rectangular padding [1, 0]', [1, 3, 6, 10], [2, 3, 3, 3], { padding: [1, 0] }, true],
  ['1x1 image, p1', [2, 3, 1, 1], [4, 3, 3, 3], { padding: 1 }, true],
  ['32 -> 32 on 12x12 (DSR-like)', [2, 32, 12, 12], [32, 32, 3, 3], { padding: 1 }, true],
  ['chunked over the batch (one image per chunk)', [3, 4, 9, 9], [6, 4, 3, 3], { padding: 1 }, true, { winogradMaxBytes: 36 * 6 * 9 * 4 }],
];

describe('conv2d by Winograd F(4x4, 3x3)', () => {
  for (const [label, xs, ws, o, b, v] of cases) {
    it(label, () => withWinograd(v ?? {}, () =>
      testOp({ name: `winograd ${label}`, shapes: b ? [xs, ws, [ws[0]!]] : [xs, ws], ours: ours(o), ref: tfConv(o), ...tol })));
  }

  it('runs the Winograd kernels in forward, backward-data and weight gradient, the forward only where asked, and only for 3x3 stride-1 convs', () => withWinograd({}, async () => {
    const rng = new L.Rng(3);
    const x = L.requireGrad(L.tensor(Float32Array.from({ length: 2 * 3 * 6 * 6 }, () => rng.normal()), [2, 3, 6, 6]));
    const w = L.requireGrad(L.tensor(Float32Array.from({ length: 4 * 3 * 9 }, () => rng.normal()), [4, 3, 3, 3]));
    const k = programs(() => L.backward(L.sum(L.conv2d(x, w, null, { padding: 1 }))));
    expect(k).toContain('conv2d_winograd');
    expect(k).toContain('conv2d_transposed_winograd');
    expect(k).toContain('conv2d_weight_grad_winograd');
    const strided = programs(() => L.backward(L.sum(L.conv2d(x, w, null, { padding: 1, stride: 2 }))));
    expect(strided.filter((n) => n.includes('winograd'))).toEqual([]);
    // With winogradRecorded off (the exact reference checks) a forward that autograd records takes the
    // other kernels; one under noGrad still takes Winograd.
    L.convVariants.winogradRecorded = false;
    const recorded = programs(() => L.backward(L.sum(L.conv2d(x, w, null, { padding: 1 }))));
    expect(recorded).not.toContain('conv2d_winograd');
    expect(recorded).toContain('conv2d_transposed_winograd');
    expect(programs(() => L.noGrad(() => L.conv2d(x, w, null, { padding: 1 })))).toContain('conv2d_winograd');
    const w5 = L.tensor(new Float32Array(4 * 3 * 25).fill(0.1), [4, 3, 5, 5]);
    expect(programs(() => L.conv2d(x, w5, null, { padding: 2 })).filter((n) => n.includes('winograd'))).toEqual([]);
  }));

  it('the weight gradient takes the forward\'s input transforms (winogradKeepV): one transform fewer, bit-equal gradients, also chunked', () => withWinograd({}, async () => {
    const rng = new L.Rng(11);
    const xs = Float32Array.from({ length: 3 * 5 * 9 * 9 }, () => rng.normal());
    const ws = Float32Array.from({ length: 6 * 5 * 9 }, () => rng.normal());
    for (const [maxBytes, chunks] of [[L.convVariants.winogradMaxBytes, 1], [36 * 6 * 9 * 4, 3]] as const) { // whole batch; one image per chunk (36·Co·tiles floats)
      const run = async (keep: boolean) => {
        L.convVariants.winogradKeepV = keep;
        L.convVariants.winogradMaxBytes = maxBytes;
        const x = L.requireGrad(L.tensor(xs, [3, 5, 9, 9]));
        const w = L.requireGrad(L.tensor(ws, [6, 5, 3, 3]));
        const names = programs(() => L.backward(L.sum(L.square(L.conv2d(x, w, null, { padding: 1 })))));
        const grads = [Array.from(await w.grad!.data()), Array.from(await x.grad!.data())];
        x.dispose();
        w.dispose();
        // (the backward-data's transform of dy is winograd_input_dy where it also makes the weight gradient's)
        return { inputs: names.filter((n) => n.startsWith('winograd_input')).length, grads };
      };
      const kept = await run(true), again = await run(false);
      // forward + backward-data (+ weight gradient without keepV), per chunk
      expect(kept.inputs).toBe(2 * chunks);
      expect(again.inputs).toBe(3 * chunks);
      expect(kept.grads).toEqual(again.grads);
    }
  }));

  // Both gradients from one pass over dy (convPaths.fuseDyTransforms, backwardWinograd): the same bits as
  // the backward-data and the weight gradient apart, no winograd_dy pass; with a bias (its tile sums),
  // chunked, through conv2dPixelShuffle (dy read through the shuffle), and apart where padding is not 1.
  const dyCases = [
    { name: 'padding 1, bias', x: [2, 5, 9, 7], w: [6, 5, 3, 3], pad: 1, bias: true, r: 1, fused: true },
    { name: 'padding 1, no bias, one image per chunk', x: [3, 5, 8, 8], w: [6, 5, 3, 3], pad: 1, bias: false, r: 1, fused: true, maxBytes: 36 * 6 * 4 * 4 },
    { name: 'conv2dPixelShuffle r 2, bias', x: [2, 4, 6, 5], w: [8, 4, 3, 3], pad: 1, bias: true, r: 2, fused: true },
    { name: 'padding 0: apart', x: [2, 5, 9, 7], w: [6, 5, 3, 3], pad: 0, bias: true, r: 1, fused: false },
  ];
  for (const c of dyCases) {
    it(`both gradients from one pass over dy, ${c.name}: equal to the two apart`, () => withWinograd(c.maxBytes ? { winogradMaxBytes: c.maxBytes } : {}, async () => {
      const rng = new L.Rng(21);
      const data = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
      const xs = data(c.x.reduce((a, b) => a * b, 1)), ws = data(c.w.reduce((a, b) => a * b, 1)), bs = data(c.w[0]!);
      const run = async (fuse: boolean) => {
        L.convPaths.fuseDyTransforms = fuse;
        try {
          const x = L.requireGrad(L.tensor(xs, c.x)), w = L.requireGrad(L.tensor(ws, c.w));
          const b = c.bias ? L.requireGrad(L.tensor(bs, [c.w[0]!])) : null;
          const names = programs(() => {
            const y = c.r > 1 ? L.conv2dPixelShuffle(x, w, b, c.r, { padding: c.pad }) : L.conv2d(x, w, b, { padding: c.pad });
            L.backward(L.sum(L.mul(y, y)));
          });
          const grads = await Promise.all([x, w, ...(b ? [b] : [])].map(async (t) => Array.from(await t.grad!.data())));
          L.dispose([x, w, ...(b ? [b] : [])]);
          return { names, grads };
        } finally {
          L.convPaths.fuseDyTransforms = true;
        }
      };
      const fused = await run(true), apart = await run(false);
      expect(apart.names).toContain('winograd_dy');
      if (c.fused) {
        expect(fused.names).toContain('winograd_input_dy');
        expect(fused.names).not.toContain('winograd_dy');
        expect(fused.names.length).toBeLessThan(apart.names.length);
      } else {
        expect(fused.names).toEqual(apart.names);
      }
      fused.grads.forEach((gr, i) => expect(gr, `gradient ${i}`).toEqual(apart.grads[i]));
    }));
  }

  it('conv2dPrelu fuses the PReLU into the output transform', () => withWinograd({}, async () => {
    const rng = new L.Rng(5);
    const x = L.tensor(Float32Array.from({ length: 2 * 4 * 7 * 7 }, () => rng.normal()), [2, 4, 7, 7]);
    const w = L.tensor(Float32Array.from({ length: 6 * 4 * 9 }, () => rng.normal()), [6, 4, 3, 3]);
    const bias = L.tensor(Float32Array.from({ length: 6 }, () => rng.normal()), [6]);
    const alpha = L.tensor(Float32Array.from({ length: 6 }, (_, i) => 0.1 * (i + 1)), [6]);
    const fused = await L.noGrad(() => L.conv2dPrelu(x, w, bias, alpha, { padding: 1 })).data();
    const apart = await L.noGrad(() => L.prelu(L.conv2d(x, w, bias, { padding: 1 }), alpha)).data();
    expect(Array.from(fused)).toEqual(Array.from(apart));
  }));
});
