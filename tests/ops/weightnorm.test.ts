import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Reference: tfjs ops w = g * v / sqrt(sum(v^2 over all dims but `dim`)), gradients by tf.grads.
// Sums of up to a few hundred squares in a different order (tree vs sequential) and a sqrt:
// forward atol 1e-5, rtol 1e-5; gradients (one more reduction, a division by n^2): atol 1e-4, rtol 1e-4.
const tol = { atol: 1e-5, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-4 };

const ref = (dim: number | null) => (v: tf.Tensor, g: tf.Tensor) => {
  const axes = [...v.shape.keys()].filter((i) => i !== dim);
  const n = tf.sqrt(tf.sum(tf.mul(v, v), axes, true));
  const keep = v.shape.map((d, i) => (i === dim ? d : 1));
  return tf.mul(tf.reshape(g, keep), tf.div(v, n));
};

describe('weightNorm vs tfjs', () => {
  const cases: [string, number[], number[], number | null][] = [
    ['conv weight dim 0', [8, 3, 3, 3], [8, 1, 1, 1], 0],
    ['linear dim 0, flat g', [7, 5], [7], 0],
    ['dim 1 (strided slices)', [3, 4, 5], [1, 4, 1], 1],
    ['last dim', [6, 5], [1, 5], 1],
    ['whole tensor (null)', [4, 3, 2], [1], null],
    ['1x1', [1, 1], [1, 1], 0],
    ['big slice (R = 600 > 64 threads)', [2, 600], [2, 1], 0],
  ];
  for (const [label, sv, sg, dim] of cases) {
    it(label, () =>
      testOp({
        name: `weightNorm ${label}`, shapes: [sv, sg], ours: (v, g) => L.weightNorm(v!, g!, dim), ref: (v, g) => ref(dim)(v!, g!), ...tol,
      }));
  }
  it('gradient for v only', () =>
    testOp({ name: 'weightNorm v only', shapes: [[4, 2, 3, 3], [4, 1, 1, 1]], gradInputs: [0], ours: (v, g) => L.weightNorm(v!, g!), ref: (v, g) => ref(0)(v!, g!), ...tol }));
  it('rejects bad inputs', () => {
    const v = L.zeros([4, 3, 3, 3]);
    expect(() => L.weightNorm(v, L.zeros([3, 1, 1, 1]))).toThrow(/weightNorm.*g \[3, 1, 1, 1\].*\[4, 3, 3, 3\]/);
    expect(() => L.weightNorm(v, L.zeros([1, 4, 1, 1]))).toThrow(/weightNorm.*g \[1, 4, 1, 1\]/);
    expect(() => L.weightNorm(v, L.zeros([4, 1, 1, 1]), 4)).toThrow(/weightNorm.*dim 4.*\[4, 3, 3, 3\]/);
    expect(() => L.weightNorm(v, L.zeros([3]), -1)).toThrow(/weightNorm.*dim -1/);
    v.dispose();
  });
});
