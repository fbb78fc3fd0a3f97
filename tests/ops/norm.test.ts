import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, assertClose } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// LayerNorm: float32 one-pass shifted sums vs tf.moments' two-pass; rstd amplifies rounding of
// (x - mean) by 1/std ~ 1: forward atol 1e-5 + rtol 1e-4; gradients (sums over D and over rows for
// gamma/beta, up to a few hundred terms) atol 1e-4 + rtol 1e-3.
const tol = { atol: 1e-5, rtol: 1e-4, gradAtol: 1e-4, gradRtol: 1e-3 };

function lnRef(eps: number) {
  return (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
  };
}
function ln2dRef(eps: number) {
  return (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, 1, true);
    const c = x.shape[1]!;
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), tf.reshape(g, [1, c, 1, 1])), tf.reshape(b, [1, c, 1, 1]));
  };
}

describe('layerNorm vs tfjs', () => {
  const cases: [string, number[]][] = [
    ['[4, 10]', [4, 10]],
    ['D = 512', [3, 512]],
    ['rank 3 odd', [7, 3, 5]],
    ['1x1', [1, 1]],
    ['batch 1', [1, 33]],
  ];
  for (const [label, shape] of cases) {
    const d = shape[shape.length - 1]!;
    it(label, () => testOp({ name: `layerNorm ${label}`, shapes: [shape, [d], [d]], ours: (x, g, b) => L.layerNorm(x, g, b), ref: lnRef(1e-5), ...tol }));
  }
  // D = 1: var = 0, so out = beta exactly and dx = dgamma = 0 (tf's moments agree).
  it('D = 1 gives beta', () => testOp({ name: 'layerNorm D=1', shapes: [[5, 1], [1], [1]], ours: (x, g, b) => L.layerNorm(x, g, b), ref: lnRef(1e-5), ...tol }));
  it('large mean (shifted sums)', () =>
    testOp({ name: 'layerNorm mean 1000', shapes: [[4, 64], [64], [64]], ours: (x, g, b) => L.layerNorm(x, g, b, 1e-3), ref: lnRef(1e-3),
      // |x| ~ 1000: rounding of x itself (6e-5) over std 1 sets the forward error; 1e-3 both.
      atol: 1e-3, rtol: 1e-3, gradAtol: 2e-3, gradRtol: 2e-3,
      init: (i, s, seed) => { const a = L.randnArray(size(s), seed); return i === 0 ? a.map((v) => 1000 + v) : a; } }));
});

describe('layerNorm2d vs tfjs', () => {
  const cases: [string, number[]][] = [
    ['[2, 8, 5, 5]', [2, 8, 5, 5]],
    ['batch 7 odd', [7, 3, 3, 5]],
    ['1x1 spatial', [3, 6, 1, 1]],
    ['C = 1', [2, 1, 4, 4]],
    ['batch 1 large C', [1, 168, 3, 3]],
  ];
  for (const [label, shape] of cases) {
    const c = shape[1]!;
    it(label, () => testOp({ name: `layerNorm2d ${label}`, shapes: [shape, [c], [c]], ours: (x, g, b) => L.layerNorm2d(x, g, b), ref: ln2dRef(1e-6), ...tol }));
  }
});

// layerNorm2dToChannelsLast: layerNorm2d read channels-first, written channels-last; the reference is
// tf's channels-first LayerNorm transposed to [N, H, W, C]. Same sums as layerNorm2d: same tolerances.
describe('layerNorm2dToChannelsLast vs tfjs', () => {
  const cases: [string, number[]][] = [
    ['[2, 8, 5, 5]', [2, 8, 5, 5]],
    ['batch 3 odd, 7 x 3', [3, 5, 7, 3]],
    ['1x1 spatial', [3, 6, 1, 1]],
    ['C = 1', [2, 1, 4, 4]],
    ['EdgeNeXt stage 3 at batch 2', [2, 168, 3, 3]],
  ];
  for (const [label, shape] of cases) {
    const c = shape[1]!;
    it(label, () => testOp({
      name: `layerNorm2dToChannelsLast ${label}`, shapes: [shape, [c], [c]], ours: (x, g, b) => L.layerNorm2dToChannelsLast(x, g, b),
      ref: (x, g, b) => tf.transpose(ln2dRef(1e-6)(x, g, b), [0, 2, 3, 1]), ...tol,
    }));
  }
  it('is permute(layerNorm2d(x)) to the last bit, forward and backward', async () => {
    const rng = new L.Rng(3);
    const r = (s: number[]) => L.keep(L.requireGrad(L.tensor(Float32Array.from({ length: size(s) }, () => rng.normal()), s)));
    const x = r([2, 12, 6, 5]), g = r([12]), b = r([12]);
    const w = L.keep(L.tensor(Float32Array.from({ length: 2 * 12 * 30 }, () => rng.normal()), [2, 6, 5, 12]));
    const run = async (fused: boolean) => {
      for (const t of [x, g, b]) t.grad = null;
      const y = L.tidy(() => {
        const o = fused ? L.layerNorm2dToChannelsLast(x, g, b) : L.permute(L.layerNorm2d(x, g, b), [0, 2, 3, 1]);
        L.backward(L.sum(L.mul(o, w)));
        return L.keep(o);
      });
      const out = [await y.data(), await x.grad!.data(), await g.grad!.data(), await b.grad!.data()];
      y.dispose();
      return out;
    };
    const [a, c] = [await run(true), await run(false)];
    a.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(c[i]!)));
  });
  it('names a wrong shape', () => {
    const x = L.zeros([2, 4, 3, 3]), g = L.ones([3]), b = L.zeros([4]);
    expect(() => L.layerNorm2dToChannelsLast(x, g, b)).toThrow(/layerNorm2dToChannelsLast: gamma has shape \[3\], expected \[4\]/);
    expect(() => L.layerNorm2dToChannelsLast(L.zeros([4, 3]), b, b)).toThrow(/layerNorm2dToChannelsLast: input must be \[N, C, H, W\], got \[4, 3\]/);
    for (const t of [x, g, b]) t.dispose();
  });
});

// BatchNorm2d training: statistics over N*H*W (up to ~500 terms): forward 1e-5 / 1e-4; gradients
// 1e-4 / 1e-3 (each dx combines two channel sums).
function bnTrainRef(eps: number) {
  // rm, rv enter as 0 * sum so tf.grads sees every input connected (their gradients are not checked).
  return (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, rm: tf.Tensor, rv: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, [0, 2, 3], true);
    const c = x.shape[1]!;
    const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), tf.reshape(g, [1, c, 1, 1])), tf.reshape(b, [1, c, 1, 1]));
    return tf.add(y, tf.mul(0, tf.add(tf.sum(rm), tf.sum(rv))));
  };
}
function bnEvalRef(eps: number) {
  return (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, rm: tf.Tensor, rv: tf.Tensor) => {
    const c = x.shape[1]!;
    const r = (t: tf.Tensor) => tf.reshape(t, [1, c, 1, 1]);
    return tf.add(tf.mul(tf.div(tf.sub(x, r(rm)), tf.sqrt(tf.add(r(rv), eps))), r(g)), r(b));
  };
}
// running var must be positive
const bnInit = (i: number, s: readonly number[], seed: number) => {
  const a = L.randnArray(size(s), seed);
  return i === 4 ? a.map((v) => 0.5 + Math.abs(v)) : a;
};

describe('batchNorm2d vs tfjs', () => {
  const cases: [string, number[]][] = [
    ['[4, 3, 6, 6]', [4, 3, 6, 6]],
    ['batch 7 odd', [7, 5, 3, 3]],
    ['1x1 spatial', [7, 4, 1, 1]],
    ['batch 1 C = 1', [1, 1, 5, 7]],
    ['big H*W (segmented sums)', [1, 2, 40, 40]],
  ];
  for (const [label, shape] of cases) {
    const c = shape[1]!;
    it(`training ${label}`, () =>
      testOp({ name: `batchNorm2d train ${label}`, shapes: [shape, [c], [c], [c], [c]], init: bnInit, gradInputs: [0, 1, 2],
        ours: (x, g, b, rm, rv) => L.batchNorm2d(x, g, b, rm, rv, { training: true }), ref: bnTrainRef(1e-5),
        atol: 1e-5, rtol: 1e-4, gradAtol: 1e-4, gradRtol: 1e-3 }));
    // eval mode is affine: 1e-6 / 1e-5; dgamma sums N*H*W terms: 1e-4 / 1e-4.
    it(`eval ${label}`, () =>
      testOp({ name: `batchNorm2d eval ${label}`, shapes: [shape, [c], [c], [c], [c]], init: bnInit, gradInputs: [0, 1, 2],
        ours: (x, g, b, rm, rv) => L.batchNorm2d(x, g, b, rm, rv, { training: false, eps: 1e-3 }), ref: bnEvalRef(1e-3),
        atol: 1e-6, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-4 }));
  }

  // float64 reference of the running-stat update: (1 - m) * running + m * batch, unbiased variance.
  it('updates running statistics in place (momentum 0.3, then default 0.1)', async () => {
    const shape = [3, 4, 5, 2], c = 4, m = 3 * 5 * 2;
    const xd = L.randnArray(size(shape), 77).map((v, i) => 2 + 3 * v + (i % 7));
    const rm0 = [0.5, -1, 2, 0], rv0 = [1, 2, 0.5, 3];
    const x = L.tensor(xd, shape), g = L.ones([c]), b = L.zeros([c]);
    const rm = L.tensor(rm0, [c]), rv = L.tensor(rv0, [c]);
    const mean = new Float64Array(c), uvar = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      const vals: number[] = [];
      for (let n = 0; n < 3; n++) for (let j = 0; j < 10; j++) vals.push(xd[(n * c + ch) * 10 + j]!);
      const mu = vals.reduce((p, q) => p + q, 0) / m;
      mean[ch] = mu;
      uvar[ch] = vals.reduce((p, q) => p + (q - mu) ** 2, 0) / (m - 1);
    }
    L.tidy(() => { L.batchNorm2d(x, g, b, rm, rv, { training: true, momentum: 0.3 }); });
    const em1 = rm0.map((v, i) => 0.7 * v + 0.3 * mean[i]!), ev1 = rv0.map((v, i) => 0.7 * v + 0.3 * uvar[i]!);
    // float32 statistics of 30 values with |x| ~ 10: 1e-5 abs + 1e-5 rel.
    assertClose('runningMean after step 1', await rm.data(), em1, 1e-5, 1e-5);
    assertClose('runningVar after step 1', await rv.data(), ev1, 1e-5, 1e-5);
    L.tidy(() => { L.batchNorm2d(x, g, b, rm, rv, { training: true }); });
    assertClose('runningMean after step 2', await rm.data(), em1.map((v, i) => 0.9 * v + 0.1 * mean[i]!), 1e-5, 1e-5);
    assertClose('runningVar after step 2', await rv.data(), ev1.map((v, i) => 0.9 * v + 0.1 * uvar[i]!), 1e-5, 1e-5);
    // eval mode leaves them alone
    L.tidy(() => { L.batchNorm2d(x, g, b, rm, rv, { training: false }); });
    assertClose('runningMean after eval', await rm.data(), em1.map((v, i) => 0.9 * v + 0.1 * mean[i]!), 1e-5, 1e-5);
    L.dispose([x, g, b, rm, rv]);
  });

  it('backward works when forward and backward are in different tidy scopes', async () => {
    const x = L.requireGrad(L.tensor(L.randnArray(2 * 3 * 4 * 4, 5), [2, 3, 4, 4]));
    const g = L.requireGrad(L.ones([3])), b = L.requireGrad(L.zeros([3]));
    const y = L.tidy(() => L.layerNorm2d(x, g, b));
    const z = L.tidy(() => L.batchNorm2d(y, g, b, L.zeros([3]), L.ones([3]), { training: true }));
    L.tidy(() => L.backward(L.sum(z)));
    // sum of a batch-normalised tensor depends on beta only: BN's dbeta = N*H*W = 32 and the
    // gradient reaching y (so layerNorm2d's dbeta and dx) is 0 up to rounding.
    assertClose('dbeta', await b.grad!.data(), [32, 32, 32], 1e-3, 1e-5);
    assertClose('dx', await x.grad!.data(), new Float32Array(x.size), 1e-4, 0);
    L.dispose([x, g, b, y, z]);
  });
});

describe('normalisation rejects bad inputs', () => {
  const x2 = () => L.zeros([2, 4]);
  const x4 = () => L.zeros([2, 3, 4, 4]);
  it('layerNorm gamma shape mismatch', () => {
    const x = x2(), g = L.ones([3]), b = L.zeros([4]);
    expect(() => L.layerNorm(x, g, b)).toThrow(/layerNorm: gamma has shape \[3\], expected \[4\].*\[2, 4\]/);
    expect(() => L.layerNorm(x, b, g)).toThrow(/layerNorm: beta has shape \[3\], expected \[4\]/);
    L.dispose([x, g, b]);
  });
  it('layerNorm eps <= 0', () => {
    const x = x2(), g = L.ones([4]), b = L.zeros([4]);
    expect(() => L.layerNorm(x, g, b, 0)).toThrow(/layerNorm: eps must be a positive.*\[2, 4\]/);
    L.dispose([x, g, b]);
  });
  it('layerNorm2d rank mismatch and gamma mismatch', () => {
    const x = x2(), y = x4(), g = L.ones([4]), b = L.zeros([3]);
    expect(() => L.layerNorm2d(x, g, b)).toThrow(/layerNorm2d: input must be \[N, C, H, W\], got \[2, 4\]/);
    expect(() => L.layerNorm2d(y, g, b)).toThrow(/layerNorm2d: gamma has shape \[4\], expected \[3\].*\[2, 3, 4, 4\]/);
    L.dispose([x, y, g, b]);
  });
  it('batchNorm2d rank, parameter shapes and options', () => {
    const x = x2(), y = x4(), g = L.ones([3]), b = L.zeros([3]), rm = L.zeros([3]), rv = L.ones([3]), bad = L.ones([2]);
    expect(() => L.batchNorm2d(x, g, b, rm, rv, { training: true })).toThrow(/batchNorm2d: input must be \[N, C, H, W\], got \[2, 4\]/);
    expect(() => L.batchNorm2d(y, bad, b, rm, rv, { training: true })).toThrow(/batchNorm2d: gamma has shape \[2\], expected \[3\]/);
    expect(() => L.batchNorm2d(y, g, b, bad, rv, { training: true })).toThrow(/batchNorm2d: runningMean has shape \[2\], expected \[3\]/);
    expect(() => L.batchNorm2d(y, g, b, rm, bad, { training: false })).toThrow(/batchNorm2d: runningVar has shape \[2\]/);
    expect(() => L.batchNorm2d(y, g, b, rm, rv, { training: true, momentum: 2 })).toThrow(/batchNorm2d: momentum must be in \[0, 1\], got 2/);
    expect(() => L.batchNorm2d(y, g, b, rm, rv, { training: true, eps: -1 })).toThrow(/batchNorm2d: eps must be a positive/);
    expect(() => L.batchNorm2d(y, g, b, rm, rv, { training: true, affine: false } as unknown as L.BatchNormOptions)).toThrow(/batchNorm2d: unknown option "affine"/);
    expect(() => L.batchNorm2d(y, g, b, rm, rv, {} as L.BatchNormOptions)).toThrow(/batchNorm2d: opts.training must be a boolean/);
    expect(() => L.batchNorm2d(y, g, b, rm, rm, { training: true })).toThrow(/batchNorm2d: runningMean and runningVar share one buffer/);
    L.dispose([x, y, g, b, rm, rv, bad]);
  });
  it('batchNorm2d training with one value per channel', () => {
    const x = L.zeros([1, 3, 1, 1]), g = L.ones([3]), b = L.zeros([3]), rm = L.zeros([3]), rv = L.ones([3]);
    expect(() => L.batchNorm2d(x, g, b, rm, rv, { training: true })).toThrow(/batchNorm2d: training needs more than one value per channel, got input \[1, 3, 1, 1\]/);
    L.dispose([x, g, b, rm, rv]);
  });
});
