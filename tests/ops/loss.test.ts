import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Tolerances: losses are sums of up to ~10^4 float32 terms accumulated in a different order (and
// with lavapipe's exp/log for the softmax ones) than tfjs: forward atol 1e-5, rtol 1e-5. Gradients
// are elementwise from the same statistics: atol 1e-6, rtol 1e-5 (KL / CE / cosine: 1e-5 abs
// because they recompute row sums).
const tol = { atol: 1e-5, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 };
const rowTol = { atol: 1e-5, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-5 };

const pairShapes: [string, number[]][] = [
  ['1x1', [1, 1]],
  ['odd 3x5x7 (scalar path)', [3, 5, 7]],
  ['batch 7 NCHW (vec4 path)', [7, 3, 8, 8]],
  ['batch 1, 70k elements (many partials)', [1, 3, 112, 210]],
];

describe('l1Loss / mseLoss vs tfjs', () => {
  for (const [label, s] of pairShapes) {
    it(`l1 mean ${label}`, () => testOp({ name: 'l1Loss', shapes: [s, s], ours: (p, t) => L.l1Loss(p, t), ref: (p, t) => tf.mean(tf.abs(tf.sub(p, t))), ...tol }));
    it(`mse mean ${label}`, () => testOp({ name: 'mseLoss', shapes: [s, s], ours: (p, t) => L.mseLoss(p, t), ref: (p, t) => tf.mean(tf.square(tf.sub(p, t))), ...tol }));
  }
  it('l1 sum', () => testOp({ name: 'l1Loss sum', shapes: [[5, 9], [5, 9]], ours: (p, t) => L.l1Loss(p, t, { reduction: 'sum' }), ref: (p, t) => tf.sum(tf.abs(tf.sub(p, t))), ...tol }));
  it('mse sum', () => testOp({ name: 'mseLoss sum', shapes: [[4, 6], [4, 6]], ours: (p, t) => L.mseLoss(p, t, { reduction: 'sum' }), ref: (p, t) => tf.sum(tf.square(tf.sub(p, t))), ...tol }));
});

function refCos(a: tf.Tensor, b: tf.Tensor, red: 'mean' | 'sum' = 'mean'): tf.Tensor {
  const c = tf.div(tf.sum(tf.mul(a, b), 1), tf.mul(tf.norm(a, 2, 1), tf.norm(b, 2, 1)));
  const l = tf.sub(1, c);
  return red === 'mean' ? tf.mean(l) : tf.sum(l);
}

describe('cosineLoss vs tfjs', () => {
  for (const [label, s] of [['1x1', [1, 1]], ['batch 7 x 33', [7, 33]], ['batch 1 x 128', [1, 128]], ['64 x 512', [64, 512]]] as [string, number[]][]) {
    it(label, () => testOp({ name: 'cosineLoss', shapes: [s, s], ours: (a, b) => L.cosineLoss(a, b), ref: (a, b) => refCos(a, b), ...rowTol }));
  }
  it('sum', () => testOp({ name: 'cosineLoss sum', shapes: [[5, 16], [5, 16]], ours: (a, b) => L.cosineLoss(a, b, { reduction: 'sum' }), ref: (a, b) => refCos(a, b, 'sum'), ...rowTol }));
  it('zero row is eps-guarded (finite loss and gradient)', async () => {
    const a = L.requireGrad(L.tensor([0, 0, 0, 1, 2, 3], [2, 3]));
    const b = L.tensor([1, 1, 1, 1, 2, 3], [2, 3]);
    const loss = L.cosineLoss(a, b);
    expect(await loss.item()).toBeCloseTo(0.5, 6);
    L.backward(loss);
    expect((await a.grad!.data()).every(Number.isFinite)).toBe(true);
  });
});

function refKL(s: tf.Tensor, t: tf.Tensor, T: number, red: 'mean' | 'sum' = 'mean'): tf.Tensor {
  const lq = tf.logSoftmax(tf.div(s, T));
  const lp = tf.logSoftmax(tf.div(t, T));
  const kl = tf.sum(tf.mul(tf.exp(lp), tf.sub(lp, lq)), 1);
  return tf.mul(T * T, red === 'mean' ? tf.mean(kl) : tf.sum(kl));
}

describe('klDivLoss vs tfjs', () => {
  for (const [label, s, T] of [['1x1', [1, 1], 4], ['batch 7 x 10, T=4', [7, 10], 4], ['batch 1 x 1000, T=2', [1, 1000], 2], ['65 x 37, T=1', [65, 37], 1]] as [string, number[], number][]) {
    it(`${label} (grads to student and teacher)`, () =>
      testOp({ name: 'klDivLoss', shapes: [s, s], ours: (a, b) => L.klDivLoss(a, b, T), ref: (a, b) => refKL(a, b, T), init: (_i, sh, seed) => L.randnArray(sh[0]! * sh[1]!, seed, 3), ...rowTol }));
  }
  it('student-only gradient', () =>
    testOp({ name: 'klDivLoss student', shapes: [[5, 12], [5, 12]], ours: (a, b) => L.klDivLoss(a, b, 3), ref: (a, b) => refKL(a, b, 3), gradInputs: [0], ...rowTol }));
  it('sum', () => testOp({ name: 'klDivLoss sum', shapes: [[4, 9], [4, 9]], ours: (a, b) => L.klDivLoss(a, b, 2, { reduction: 'sum' }), ref: (a, b) => refKL(a, b, 2, 'sum'), ...rowTol }));
  it('is 0 for identical logits', async () => {
    const x = L.randn([3, 7], 5);
    expect(Math.abs(await L.klDivLoss(x, x, 4).item())).toBeLessThan(1e-6);
  });
});

const labelsFor = (N: number, K: number, seed: number) => Array.from({ length: N }, (_, i) => (i * 7 + seed) % K);
function refCE(x: tf.Tensor, labels: number[], red: 'mean' | 'sum' = 'mean'): tf.Tensor {
  const K = x.shape[1]!;
  const oh = tf.tensor2d(labels.flatMap((l) => Array.from({ length: K }, (_, j) => (j === l ? 1 : 0))), [labels.length, K]);
  const l = tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(x)), 1));
  return red === 'mean' ? tf.mean(l) : tf.sum(l);
}

describe('crossEntropy vs tfjs', () => {
  for (const [label, N, K] of [['1x1', 1, 1], ['batch 7 x 10', 7, 10], ['batch 1 x 1000', 1, 1000], ['130 x 33', 130, 33]] as [string, number, number][]) {
    const labels = labelsFor(N, K, 3);
    it(`${label} (number[] labels)`, () => testOp({ name: 'crossEntropy', shapes: [[N, K]], ours: (x) => L.crossEntropy(x, labels), ref: (x) => refCE(x, labels), ...rowTol }));
  }
  it('Int32Array labels, sum', () => {
    const labels = labelsFor(6, 5, 1);
    return testOp({ name: 'crossEntropy sum', shapes: [[6, 5]], ours: (x) => L.crossEntropy(x, Int32Array.from(labels), { reduction: 'sum' }), ref: (x) => refCE(x, labels, 'sum'), ...rowTol });
  });
  it('Tensor labels', () => {
    const labels = labelsFor(9, 4, 2);
    const lt = L.keep(L.tensor(labels, [9]));
    return testOp({ name: 'crossEntropy tensor labels', shapes: [[9, 4]], ours: (x) => L.crossEntropy(x, lt), ref: (x) => refCE(x, labels), ...rowTol }).finally(() => lt.dispose());
  });
  it('large logits are stable', async () => {
    const x = L.tensor([1000, 0, -1000, 0, 1000, 1000], [2, 3]);
    const v = await L.crossEntropy(x, [0, 2]).item();
    // lse = 1000 + log 2 rounds to float32 (ulp 6e-5 at 1000)
    expect(Math.abs(v - (0 + Math.log(2)) / 2)).toBeLessThan(6e-5);
  });
  it('backward after the forward scope ended (labels re-uploaded)', async () => {
    const x = L.requireGrad(L.randn([4, 6], 9));
    const loss = L.tidy(() => L.crossEntropy(x, [1, 2, 3, 4]));
    L.backward(loss);
    const g = await x.grad!.data();
    // each row of softmax - onehot sums to 0
    for (let r = 0; r < 4; r++) expect(Math.abs(g.slice(r * 6, r * 6 + 6).reduce((a, b) => a + b, 0))).toBeLessThan(1e-6);
  });
  it('an out-of-range label in a Tensor gives NaN (cannot throw without a readback)', async () => {
    expect(Number.isNaN(await L.crossEntropy(L.zeros([2, 3]), L.tensor([0, 3], [2])).item())).toBe(true);
  });
});

describe('loss input checks', () => {
  const z = (...s: number[]) => L.zeros(s);
  it('l1Loss rejects shape mismatch', () => expect(() => L.l1Loss(z(2, 3), z(3, 2))).toThrow(/l1Loss.*\[2, 3\].*\[3, 2\]/));
  it('mseLoss rejects shape mismatch', () => expect(() => L.mseLoss(z(4), z(5))).toThrow(/mseLoss.*\[4\].*\[5\]/));
  it('mseLoss rejects an unknown reduction', () => expect(() => L.mseLoss(z(4), z(4), { reduction: 'none' as 'sum' })).toThrow(/mseLoss: reduction must be 'mean' or 'sum', got 'none'/));
  it('l1Loss rejects an unknown option', () => expect(() => L.l1Loss(z(4), z(4), { weight: 2 } as object)).toThrow(/l1Loss: unknown option "weight"/));
  it('l1Loss rejects empty input', () => expect(() => L.l1Loss(z(0), z(0))).toThrow(/l1Loss: empty input \[0\]/));
  it('cosineLoss rejects rank 3', () => expect(() => L.cosineLoss(z(2, 3, 4), z(2, 3, 4))).toThrow(/cosineLoss.*\[2, 3, 4\]/));
  it('cosineLoss rejects mismatched shapes', () => expect(() => L.cosineLoss(z(2, 3), z(2, 4))).toThrow(/cosineLoss.*\[2, 3\].*\[2, 4\]/));
  it('cosineLoss rejects eps <= 0', () => expect(() => L.cosineLoss(z(2, 3), z(2, 3), { eps: 0 })).toThrow(/cosineLoss: eps/));
  it('klDivLoss rejects mismatched shapes', () => expect(() => L.klDivLoss(z(2, 3), z(2, 4), 2)).toThrow(/klDivLoss.*\[2, 3\].*\[2, 4\]/));
  it('klDivLoss rejects T <= 0', () => expect(() => L.klDivLoss(z(2, 3), z(2, 3), 0)).toThrow(/klDivLoss: temperature/));
  it('klDivLoss rejects reduction none', () => expect(() => L.klDivLoss(z(2, 3), z(2, 3), 1, { reduction: 'none' as 'mean' })).toThrow(/klDivLoss: reduction/));
  it('crossEntropy rejects rank 1 logits', () => expect(() => L.crossEntropy(z(5), [0])).toThrow(/crossEntropy.*\[5\]/));
  it('crossEntropy rejects a label out of range', () => expect(() => L.crossEntropy(z(2, 3), [0, 3])).toThrow(/crossEntropy: label 3 at row 1 is out of range \[0, 3\) for logits \[2, 3\]/));
  it('crossEntropy rejects a negative label', () => expect(() => L.crossEntropy(z(2, 3), Int32Array.from([-1, 0]))).toThrow(/crossEntropy: label -1/));
  it('crossEntropy rejects a non-integer label', () => expect(() => L.crossEntropy(z(2, 3), [0.5, 0])).toThrow(/crossEntropy: label 0.5/));
  it('crossEntropy rejects the wrong label count', () => expect(() => L.crossEntropy(z(2, 3), [0])).toThrow(/crossEntropy: 1 labels for logits \[2, 3\]/));
  it('crossEntropy rejects a label tensor of the wrong shape', () => expect(() => L.crossEntropy(z(2, 3), z(3))).toThrow(/crossEntropy: labels \[3\].*\[2, 3\]/));
});
