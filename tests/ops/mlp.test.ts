// mlp (fc1 → GELU → fc2 with GELU and its derivative in the matmul stores, shaders/matmul_epi.wgsl):
// against tfjs (forward and the five gradients), and against our own three ops (linear, gelu, linear)
// on every kernel path: the subgroup kernel (where the adapter has 8-lane subgroups), the
// register-blocked kernel, and split-K products (the epilogue as a pass after the reduce).
import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, programs } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Tolerances: each output sums `in` (fc1) then `hidden` (fc2) float32 products of N(0,1) values in
// another order than tfjs; tfjs's erf is its own approximation (~1e-7): atol / rtol 1e-4, gradients 1e-3.
const tol = { atol: 1e-4, rtol: 1e-4, gradAtol: 1e-3, gradRtol: 1e-3 };

const tfGelu = (h: tf.Tensor) => tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.div(h, Math.SQRT2))));
const tfMlp = (bias: boolean) => (x: tf.Tensor, w1: tf.Tensor, ...rest: tf.Tensor[]) => {
  const [b1, w2, b2] = bias ? rest : [null, rest[0]!, null];
  const h = tf.matMul(x as tf.Tensor2D, w1 as tf.Tensor2D, false, true);
  const a = tfGelu(b1 ? tf.add(h, b1) : h);
  const y = tf.matMul(a as tf.Tensor2D, w2 as tf.Tensor2D, false, true);
  return b2 ? tf.add(y, b2) : y;
};
const oursMlp = (bias: boolean) => (x: L.Tensor, w1: L.Tensor, ...rest: L.Tensor[]) =>
  bias ? L.mlp(x, w1, rest[0]!, rest[1]!, rest[2]!) : L.mlp(x, w1, null, rest[0]!, null);

describe('mlp vs tfjs', () => {
  // [label, rows, in, hidden, out, bias]
  const cases: [string, number, number, number, number, boolean][] = [
    ['ragged 7 x 5 -> 10 -> 6 (columns past N in a store group)', 7, 5, 10, 6, true],
    ['EdgeFace-like 64 x 24 -> 96 -> 24', 64, 24, 96, 24, true],
    ['no biases 9 x 4 -> 12 -> 3', 9, 4, 12, 3, false],
  ];
  for (const [label, rows, inF, hid, outF, bias] of cases) {
    const shapes = bias ? [[rows, inF], [hid, inF], [hid], [outF, hid], [outF]] : [[rows, inF], [hid, inF], [outF, hid]];
    it(label, () => testOp({ name: `mlp ${label}`, shapes, ours: oursMlp(bias), ref: tfMlp(bias), ...tol }));
  }
});

describe('mlp equals linear → gelu → linear', () => {
  const rng = new L.Rng(3);
  const rand = (shape: number[], s = 1) => ({ data: Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => s * rng.normal()), shape });
  const inits = [rand([2, 37, 24]), rand([96, 24], 0.3), rand([96]), rand([20, 96], 0.2), rand([20])];
  const gInit = rand([2, 37, 20]);
  const run = async (fused: boolean) => {
    const ps = inits.map((t) => L.requireGrad(L.tensor(t.data, t.shape)));
    const [x, w1, b1, w2, b2] = ps as [L.Tensor, L.Tensor, L.Tensor, L.Tensor, L.Tensor];
    const f = () => (fused ? L.mlp(x, w1, b1, w2, b2) : L.linear(L.gelu(L.linear(x, w1, b1)), w2, b2));
    const gOut = L.tensor(gInit.data, gInit.shape);
    let out: L.Tensor | null = null;
    const names = programs(() => {
      out = L.keep(f());
      L.backward(out, gOut);
    });
    const y = Array.from(await out!.data());
    out!.dispose();
    gOut.dispose();
    const grads = [];
    for (const p of ps) grads.push(Array.from(await p.grad!.data()));
    const inf = L.noGrad(f);
    const inference = Array.from(await inf.data());
    inf.dispose();
    ps.forEach((p) => p.dispose());
    return { y, grads, inference, names };
  };
  const close = (a: number[], b: number[], what: string) => {
    const scale = Math.max(...b.map(Math.abs));
    const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    // the same sums in the same order; GELU's polynomial may contract into FMAs differently in the
    // matmul's stores than in the gelu kernel: a few ulp of the values, measured ≤ ~1e-7 of the scale
    expect(diff / scale, what).toBeLessThan(1e-6);
  };
  const paths: [string, Partial<L.MatmulTuning>][] = [
    ['default kernel', {}],
    ['register-blocked kernel', { subgroup: null }],
    ['split-K products (epilogue after the reduce)', { subgroup: null, splitK: { minK: 8, workgroups: 1 << 20, minChunk: 8 } }],
  ];
  for (const [label, knobs] of paths) {
    it(label, async () => {
      const saved = { ...L.matmulTuning };
      Object.assign(L.matmulTuning, knobs);
      try {
        const fused = await run(true), apart = await run(false);
        close(fused.y, apart.y, 'forward');
        close(fused.inference, apart.inference, 'inference forward');
        fused.grads.forEach((g, i) => close(g, apart.grads[i]!, `gradient ${i}`));
        // the GELU passes are gone, except after a split-K reduce
        const geluPasses = fused.names.filter((n) => n === 'f_gelu' || n === 'd_gelu').length;
        expect(geluPasses).toBe(label.startsWith('split-K') ? 2 : 0);
        expect(apart.names.filter((n) => n === 'f_gelu' || n === 'd_gelu').length).toBe(2);
      } finally {
        Object.assign(L.matmulTuning, saved);
      }
    });
  }
});

describe('mlp bad inputs', () => {
  const z = (s: number[]) => L.zeros(s);
  it('x does not match w1', () => expect(() => L.mlp(z([3, 5]), z([8, 4]), null, z([2, 8]), null)).toThrow(/mlp: x's last dimension 5 does not match w1's in-features 4/));
  it('w2 does not match w1', () => expect(() => L.mlp(z([3, 4]), z([8, 4]), null, z([2, 7]), null)).toThrow(/mlp: w2's in-features 7 do not match w1's out-features 8/));
  it('b1 of the wrong size', () => expect(() => L.mlp(z([3, 4]), z([8, 4]), z([7]), z([2, 8]), null)).toThrow(/mlp: b1 must be \[8\]/));
  it('b2 of the wrong size', () => expect(() => L.mlp(z([3, 4]), z([8, 4]), null, z([2, 8]), z([3]))).toThrow(/mlp: b2 must be \[2\]/));
  it('w1 not 2-D', () => expect(() => L.mlp(z([3, 4]), z([8, 4, 1]), null, z([2, 8]), null)).toThrow(/mlp: .*must be 2-D/));
});
