import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, assertClose } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Pooling on NCHW vs tfjs's NHWC pools (via transposes). PyTorch padding semantics are built with
// tf.pad: zeros for avgPool2d (so the divisor counts padding: count_include_pad = true), -inf for
// maxPool2d; then a 'valid' pool.
// Tolerances: max pool selects values exactly: 0 / 0; its gradient sums the g of overlapping windows
// that share a maximum (up to 9 terms, another order than tfjs): 1e-6 / 1e-6. Average pools sum up to
// kh*kw (<= 64 here; global: H*W <= 225) float32 terms in a different order: 1e-6 / 1e-5.
const avgTol = { atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 };
const maxTol = { atol: 0, rtol: 0, gradAtol: 1e-6, gradRtol: 1e-6 };

type P2 = [number, number];
const p2 = (v: number | P2): P2 => (typeof v === 'number' ? [v, v] : v);

function tfPool(kind: 'avg' | 'max', k: number | P2, s: number | P2, p: number | P2) {
  return (x: tf.Tensor) => {
    const [ph, pw] = p2(p);
    const xp = ph || pw ? tf.pad(x as tf.Tensor4D, [[0, 0], [0, 0], [ph, ph], [pw, pw]], kind === 'max' ? -Infinity : 0) : x;
    const nhwc = tf.transpose(xp, [0, 2, 3, 1]) as tf.Tensor4D;
    const y = kind === 'avg' ? tf.avgPool(nhwc, p2(k), p2(s), 'valid') : tf.maxPool(nhwc, p2(k), p2(s), 'valid');
    return tf.transpose(y, [0, 3, 1, 2]);
  };
}

const cases: [string, number[], number | P2, number | P2, number | P2][] = [
  ['2x2 stride 2', [2, 3, 8, 8], 2, 2, 0],
  ['3x3 stride 2 pad 1 (odd)', [7, 2, 7, 9], 3, 2, 1],
  ['3x3 stride 1 pad 1', [1, 3, 5, 5], 3, 1, 1],
  ['kernel = input', [2, 2, 5, 3], [5, 3], 1, 0],
  ['1x1 kernel', [2, 3, 4, 4], 1, 1, 0],
  ['1x1 input', [3, 4, 1, 1], 1, 1, 0],
  ['rect kernel, stride (1, 2), pad (0, 1)', [2, 1, 6, 7], [2, 3], [1, 2], [0, 1]],
  ['overlapping 3x3 stride 1', [1, 1, 6, 6], 3, 1, 0],
  ['C = 1 batch 7, floor output', [7, 1, 9, 9], 2, 2, 0],
];

describe('avgPool2d / maxPool2d vs tfjs', () => {
  for (const [label, shape, k, s, p] of cases) {
    it(`avgPool2d ${label}`, () => testOp({ name: `avgPool2d ${label}`, shapes: [shape], ours: (x) => L.avgPool2d(x, k, s, p), ref: tfPool('avg', k, s, p), ...avgTol }));
    it(`maxPool2d ${label}`, () => testOp({ name: `maxPool2d ${label}`, shapes: [shape], ours: (x) => L.maxPool2d(x, k, s, p), ref: tfPool('max', k, s, p), ...maxTol }));
  }
  it('stride defaults to the kernel', () => testOp({ name: 'maxPool2d default stride', shapes: [[1, 2, 6, 6]], ours: (x) => L.maxPool2d(x, 3), ref: tfPool('max', 3, 3, 0), ...maxTol }));
});

describe("maxPool2d padding 'same' vs tf.maxPool(..., 'same')", () => {
  // TensorFlow's 'same': output ceil(H / stride), -inf padding with the smaller half before. The
  // shapes of face-api's TinyFaceDetector (2x2 stride 2 on odd sides: 207 -> 104, 13 -> 7; 2x2
  // stride 1: 13 -> 13, one -inf row/column after) and a 3x3 stride 2 (one before, one after).
  const tfSame = (k: number | P2, s: number | P2) => (x: tf.Tensor) =>
    tf.transpose(tf.maxPool(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, p2(k), p2(s), 'same'), [0, 3, 1, 2]);
  const same: [string, number[], number | P2, number | P2][] = [
    ['2x2 stride 2, odd sides', [2, 3, 13, 9], 2, 2],
    ['2x2 stride 2, 207 (detector conv0 at 416)', [1, 2, 207, 207], 2, 2],
    ['2x2 stride 1 (detector after conv5)', [1, 4, 13, 13], 2, 1],
    ['3x3 stride 2, even side', [1, 2, 8, 10], 3, 2],
    ['rect 2x3 stride (1, 2)', [2, 1, 5, 7], [2, 3], [1, 2]],
  ];
  for (const [label, shape, k, s] of same) {
    it(label, () => testOp({ name: `maxPool2d same ${label}`, shapes: [shape], ours: (x) => L.maxPool2d(x, k, s, 'same'), ref: tfSame(k, s), ...maxTol }));
  }
});

describe('globalAvgPool vs tfjs', () => {
  const shapes = [[2, 3, 5, 5], [7, 1, 1, 1], [1, 4, 15, 15], [3, 5, 7, 1]];
  for (const shape of shapes) {
    it(JSON.stringify(shape), () => testOp({ name: `globalAvgPool ${JSON.stringify(shape)}`, shapes: [shape], ours: L.globalAvgPool, ref: (x) => tf.mean(x, [2, 3], true), ...avgTol }));
  }
});

describe('maxPool2d ties and count_include_pad', () => {
  it('gradient goes to the first maximum of each window', async () => {
    // One 2x4 plane, 2x2 windows with stride 2: window 0 is all 5s, window 1 has 7 at (0,3) and (1,2).
    const x = L.requireGrad(L.tensor([5, 5, 1, 7, 5, 5, 7, 0], [1, 1, 2, 4]));
    const y = L.maxPool2d(x, 2);
    assertClose('forward', await y.data(), [5, 7], 0, 0);
    L.tidy(() => L.backward(y, L.tensor([1, 2], [1, 1, 1, 2])));
    assertClose('grad', await x.grad!.data(), [1, 0, 0, 2, 0, 0, 0, 0], 0, 0);
    L.dispose([x, y]);
  });
  it('overlapping windows accumulate into a shared maximum', async () => {
    const x = L.requireGrad(L.tensor([0, 0, 0, 0, 9, 0, 0, 0, 0], [1, 1, 3, 3]));
    const y = L.maxPool2d(x, 2, 1);
    L.tidy(() => L.backward(L.sum(y)));
    assertClose('grad', await x.grad!.data(), [0, 0, 0, 0, 4, 0, 0, 0, 0], 0, 0);
    L.dispose([x, y]);
  });
  it('avgPool2d divides by kh*kw at the border (count_include_pad = true)', async () => {
    const x = L.ones([1, 1, 2, 2]);
    const y = L.avgPool2d(x, 3, 1, 1);
    // every 3x3 window over the zero-padded 4x4 sees the four ones: 4/9
    assertClose('forward', await y.data(), [4 / 9, 4 / 9, 4 / 9, 4 / 9], 1e-7, 1e-6);
    L.dispose([x, y]);
  });
});

describe('pooling rejects bad inputs', () => {
  it('rank mismatch', () => {
    const x = L.zeros([2, 4, 4]);
    expect(() => L.maxPool2d(x, 2)).toThrow(/maxPool2d: input must be \[N, C, H, W\], got \[2, 4, 4\]/);
    expect(() => L.avgPool2d(x, 2)).toThrow(/avgPool2d: input must be \[N, C, H, W\], got \[2, 4, 4\]/);
    expect(() => L.globalAvgPool(x)).toThrow(/globalAvgPool: input must be \[N, C, H, W\], got \[2, 4, 4\]/);
    x.dispose();
  });
  it('kernel larger than input', () => {
    const x = L.zeros([1, 1, 3, 5]);
    expect(() => L.maxPool2d(x, 4)).toThrow(/maxPool2d: kernel \[4, 4\] is larger than the padded input \[1, 1, 3, 5\]/);
    expect(() => L.avgPool2d(x, [2, 6])).toThrow(/avgPool2d: kernel \[2, 6\] is larger than the padded input \[1, 1, 3, 5\]/);
    x.dispose();
  });
  it('bad kernel, stride, padding values', () => {
    const x = L.zeros([1, 1, 8, 8]);
    expect(() => L.maxPool2d(x, 0)).toThrow(/maxPool2d: kernel must be an integer >= 1/);
    expect(() => L.maxPool2d(x, 2.5)).toThrow(/maxPool2d: kernel must be an integer >= 1/);
    expect(() => L.avgPool2d(x, 2, 0)).toThrow(/avgPool2d: stride must be an integer >= 1/);
    expect(() => L.avgPool2d(x, 2, 2, -1)).toThrow(/avgPool2d: padding must be an integer >= 0/);
    expect(() => L.avgPool2d(x, [2, 2, 2] as unknown as [number, number])).toThrow(/avgPool2d: kernel must be/);
    expect(() => L.maxPool2d(x, 3, 1, 2)).toThrow(/maxPool2d: padding \[2, 2\] must be at most half the kernel \[3, 3\]/);
    x.dispose();
  });
  it('globalAvgPool of an empty plane', () => {
    const x = L.zeros([1, 2, 0, 3]);
    expect(() => L.globalAvgPool(x)).toThrow(/globalAvgPool: input \[1, 2, 0, 3\] has an empty plane/);
    x.dispose();
  });
});
