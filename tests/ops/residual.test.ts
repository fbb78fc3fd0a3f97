import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// addChannelsLast(x, y, s) = x + s · permute(y, NHWC → NCHW). Forward: one product and one sum per
// element (exact up to one rounding): 1e-6. Gradients: x's is g, y's one product; s's a sum over
// N·H·W terms (up to 150 here): 1e-5 abs + 1e-5 rel.
const tol = { atol: 1e-6, rtol: 1e-6, gradAtol: 1e-5, gradRtol: 1e-5 };
const ref = (x: tf.Tensor, y: tf.Tensor, s?: tf.Tensor) => {
  const c = x.shape[1]!;
  const t = tf.transpose(y, [0, 3, 1, 2]);
  return tf.add(x, s ? tf.mul(t, tf.reshape(s, [1, c, 1, 1])) : t);
};

describe('addChannelsLast vs tfjs', () => {
  const cases: [string, number[]][] = [
    ['[2, 8, 5, 5]', [2, 8, 5, 5]],
    ['odd [3, 5, 7, 3]', [3, 5, 7, 3]],
    ['1x1 spatial', [4, 6, 1, 1]],
    ['C = 1', [2, 1, 4, 4]],
    ['EdgeNeXt stage 3 at batch 2', [2, 168, 3, 3]],
  ];
  for (const [label, [n, c, h, w]] of cases) {
    it(`${label}, scaled`, () => testOp({
      name: `addChannelsLast ${label}`, shapes: [[n!, c!, h!, w!], [n!, h!, w!, c!], [c!]],
      ours: (x, y, s) => L.addChannelsLast(x, y, s), ref: (x, y, s) => ref(x, y, s), ...tol,
    }));
    it(`${label}, unscaled`, () => testOp({
      name: `addChannelsLast ${label} unscaled`, shapes: [[n!, c!, h!, w!], [n!, h!, w!, c!]],
      ours: (x, y) => L.addChannelsLast(x, y), ref: (x, y) => ref(x, y), ...tol,
    }));
  }
  it('only the scale needs a gradient', async () => {
    const x = L.tensor(new Float32Array([1, 2, 3, 4]), [1, 2, 1, 2]);
    const y = L.tensor(new Float32Array([10, 20, 30, 40]), [1, 1, 2, 2]); // y[0, 0, w, c]
    const s = L.requireGrad(L.tensor(new Float32Array([0.5, 2]), [2]));
    const out = L.addChannelsLast(x, y, s);
    expect(Array.from(await out.data())).toEqual([1 + 5, 2 + 15, 3 + 40, 4 + 80]);
    L.backward(L.sum(out));
    expect(Array.from(await s.grad!.data())).toEqual([10 + 30, 20 + 40]);
    for (const t of [x, y, s, out, s.grad!]) t.dispose();
  });
  it('names a wrong shape', () => {
    const x = L.zeros([2, 4, 3, 3]);
    expect(() => L.addChannelsLast(x, L.zeros([2, 4, 3, 3]))).toThrow(/addChannelsLast: y \[2, 4, 3, 3\] must be x \[2, 4, 3, 3\] channels-last, \[2, 3, 3, 4\]/);
    expect(() => L.addChannelsLast(x, L.zeros([2, 3, 3, 4]), L.ones([3]))).toThrow(/addChannelsLast: scale \[3\] must be \[4\]/);
    expect(() => L.addChannelsLast(L.zeros([4, 3]), L.zeros([4, 3]))).toThrow(/addChannelsLast: x must be \[N, C, H, W\]/);
  });
});

// addScaled(x, y, s) = x + s · y over the last dim: the same kernel, one pixel per row; tolerances as above.
describe('addScaled vs tfjs', () => {
  const cases: [string, number[]][] = [
    ['tokens [2, 9, 48]', [2, 9, 48]],
    ['rows [7, 5]', [7, 5]],
    ['1-D [6]', [6]],
    ['SDTA stage 3 at batch 2', [2, 9, 168]],
  ];
  for (const [label, shape] of cases) {
    const c = shape[shape.length - 1]!;
    it(label, () => testOp({
      name: `addScaled ${label}`, shapes: [shape, shape, [c]], ours: (x, y, s) => L.addScaled(x, y, s),
      ref: (x, y, s) => tf.add(x, tf.mul(y, s)), ...tol,
    }));
  }
  it('names a wrong shape', () => {
    const x = L.zeros([3, 4]);
    expect(() => L.addScaled(x, L.zeros([4, 3]), L.ones([4]))).toThrow(/addScaled: x \[3, 4\] and y \[4, 3\] must have one shape/);
    expect(() => L.addScaled(x, L.zeros([3, 4]), L.ones([3]))).toThrow(/addScaled: scale \[3\] must be \[4\]/);
  });
});
