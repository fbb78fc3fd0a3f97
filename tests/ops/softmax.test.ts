import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// softmax / logSoftmax: exp and a length-D sum in float32 in a different order than tfjs:
// atol 1e-6 + rtol 1e-5 forward (values <= 1 or ~log D), gradients 1e-5 / 1e-4 (D up to 512).
const tol = { atol: 1e-6, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 };

// tf.softmax only normalises the last axis: move `axis` last, apply, move it back.
function alongAxis(f: (x: tf.Tensor) => tf.Tensor, axis: number) {
  return (x: tf.Tensor) => {
    const r = x.rank;
    const a = axis < 0 ? axis + r : axis;
    if (a === r - 1) return f(x);
    const perm = [...Array(r).keys()].filter((i) => i !== a).concat([a]);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return tf.transpose(f(tf.transpose(x, perm)), inv);
  };
}

const l2Ref = (axis: number, eps: number) => (x: tf.Tensor) => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), axis, true)), eps));

// float64 reference of F.normalize (for the eps-clamped branch, where tf's sqrt'(0) is not usable).
function l2Ref64(axis: number, eps: number) {
  return (xs: Float64Array[], shapes: L.Shape[]) => {
    const s = shapes[0]!, x = xs[0]!;
    const a = axis < 0 ? axis + s.length : axis;
    const d = s[a]!, inner = s.slice(a + 1).reduce((p, q) => p * q, 1), outer = s.slice(0, a).reduce((p, q) => p * q, 1);
    const y = new Float64Array(x.length);
    for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
      let ss = 0;
      for (let k = 0; k < d; k++) ss += x[(o * d + k) * inner + i]! ** 2;
      const n = Math.max(Math.sqrt(ss), eps);
      for (let k = 0; k < d; k++) y[(o * d + k) * inner + i] = x[(o * d + k) * inner + i]! / n;
    }
    return y;
  };
}

const cases: [string, number[], number][] = [
  ['last axis', [4, 10], -1],
  ['D = 512 rows', [3, 512], -1],
  ['1x1', [1, 1], -1],
  ['D = 1', [7, 1], 1],
  ['axis 1 of NCHW (odd)', [7, 5, 3, 3], 1],
  ['axis 0', [5, 3, 2], 0],
  ['middle axis rank 3', [2, 9, 4], 1],
  ['batch 1 C = 1', [1, 1, 5, 5], 1],
];

describe('softmax / logSoftmax / l2Normalize vs tfjs', () => {
  for (const [label, shape, axis] of cases) {
    it(`softmax ${label}`, () => testOp({ name: 'softmax', shapes: [shape], ours: (x) => L.softmax(x, axis), ref: alongAxis((x) => tf.softmax(x), axis), ...tol }));
    it(`logSoftmax ${label}`, () => testOp({ name: 'logSoftmax', shapes: [shape], ours: (x) => L.logSoftmax(x, axis), ref: alongAxis((x) => tf.logSoftmax(x), axis), ...tol }));
    // l2Normalize: a length-D sum of squares and a sqrt: 1e-6 / 1e-5; gradients 1e-5 / 1e-4.
    it(`l2Normalize ${label}`, () => testOp({ name: 'l2Normalize', shapes: [shape], ours: (x) => L.l2Normalize(x, axis), ref: l2Ref(axis, 1e-12), ...tol }));
  }
  it('softmax is stable for large logits (subtracts the max)', () =>
    testOp({ name: 'softmax large', shapes: [[3, 17]], ours: (x) => L.softmax(x), ref: (x) => tf.softmax(x), ...tol,
      init: (_i, s, seed) => L.randnArray(s.reduce((p, q) => p * q, 1), seed).map((v) => 80 + 30 * v) }));
  it('logSoftmax is stable for large logits', () =>
    testOp({ name: 'logSoftmax large', shapes: [[3, 17]], ours: (x) => L.logSoftmax(x), ref: (x) => tf.logSoftmax(x), atol: 1e-4, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4,
      init: (_i, s, seed) => L.randnArray(s.reduce((p, q) => p * q, 1), seed).map((v) => 80 + 30 * v) }));
  // eps = 2 clamps rows whose norm is below 2 (D = 3 N(0,1) values: some rows each way). float64
  // reference with finite differences (step 1e-4): 1e-5 / 1e-4 forward, 1e-4 / 1e-3 gradients.
  it('l2Normalize eps-clamped rows (float64 ref)', () =>
    testOp({ name: 'l2Normalize eps', shapes: [[9, 3]], ours: (x) => L.l2Normalize(x, -1, 2), ref64: l2Ref64(-1, 2), atol: 1e-6, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-3 }));
  it('l2Normalize eps-clamped along axis 1 (float64 ref)', () =>
    testOp({ name: 'l2Normalize eps ax1', shapes: [[2, 3, 4]], ours: (x) => L.l2Normalize(x, 1, 1.5), ref64: l2Ref64(1, 1.5), atol: 1e-6, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-3 }));
});

describe('softmax family rejects bad inputs', () => {
  it('axis out of range', () => {
    const x = L.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(() => L.softmax(x, 2)).toThrow(/softmax: axis 2 is out of range for rank 2/);
    expect(() => L.logSoftmax(x, -3)).toThrow(/logSoftmax: axis -3 is out of range for rank 2/);
    expect(() => L.l2Normalize(x, 5)).toThrow(/l2Normalize: axis 5 is out of range/);
    x.dispose();
  });
  it('non-integer axis', () => {
    const x = L.tensor([1, 2], [2]);
    expect(() => L.softmax(x, 0.5)).toThrow(/softmax: axis 0.5/);
    x.dispose();
  });
  it('l2Normalize eps <= 0', () => {
    const x = L.tensor([1, 2], [1, 2]);
    expect(() => L.l2Normalize(x, -1, 0)).toThrow(/l2Normalize: eps must be a positive.*\[1, 2\]/);
    x.dispose();
  });
  it('scalar input', () => {
    const x = L.tensor([1], []);
    expect(() => L.softmax(x)).toThrow(/softmax: input \[\] is a scalar/);
    x.dispose();
  });
});
