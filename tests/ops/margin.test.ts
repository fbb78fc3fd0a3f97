import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';

// Tolerances:
//  - marginLogits: elementwise; the m1 = 1 path uses c·cos m2 − sqrt((1−c)(1+c))·sin m2 instead of
//    tfjs's cos(acos(c) + m2) (equal in exact arithmetic), a few float32 ulp times s = 64:
//    atol 2e-5, rtol 1e-5; gradients contain 1/sin θ (up to ~10 for |c| <= 0.995): atol 1e-4, rtol 1e-4.
//    The m1 != 1 path uses lavapipe's acos / cos: same tolerances.
//  - arcfaceHead: sums over D of normalised rows, then the margin: atol 1e-4, rtol 1e-4 (s = 64 scales
//    float32 cosine errors of ~1e-6); the float64 reference's gradients are central finite
//    differences (eps 1e-3 on values of order 1; truncation error ~1e-6 · s): atol 5e-3, rtol 2e-3.
const ARC = { s: 64, m1: 1, m2: 0.5, m3: 0 };
const COS = { s: 30, m1: 1, m2: 0, m3: 0.35 };
const SPHERE = { s: 16, m1: 2, m2: 0, m3: 0 };
const COMBINED = { s: 32, m1: 1, m2: 0.3, m3: 0.2 };
const LO = -1 + 1e-7, HI = 1 - 1e-7;

const sz = (s: Shape) => s.reduce((a, b) => a * b, 1);
const cosInit = (_i: number, s: Shape, seed: number) => L.randArray(sz(s), seed, -0.995, 0.995);
const labelsFor = (N: number, K: number) => Array.from({ length: N }, (_, i) => (i * 5 + 2) % K);

function refMargin(c: tf.Tensor, labels: number[], o: { s: number; m1: number; m2: number; m3: number }): tf.Tensor {
  const [N, K] = c.shape as [number, number];
  const mask = tf.tensor2d(labels.flatMap((l) => Array.from({ length: K }, (_, j) => (j === l ? 1 : 0))), [N, K], 'bool');
  const theta = tf.acos(tf.clipByValue(c, LO, HI));
  const tgt = tf.mul(o.s, tf.sub(tf.cos(tf.add(tf.mul(o.m1, theta), o.m2)), o.m3));
  return tf.where(mask, tgt, tf.mul(o.s, c));
}

describe('marginLogits vs tfjs composition', () => {
  const shapes: [string, number, number][] = [['1x1', 1, 1], ['batch 7 x 10', 7, 10], ['batch 1 x 33', 1, 33], ['65 x 17', 65, 17]];
  for (const [label, N, K] of shapes) {
    for (const [name, o] of [['ArcFace', ARC], ['CosFace', COS], ['SphereFace m1=2', SPHERE], ['combined', COMBINED]] as const) {
      const labels = labelsFor(N, K);
      it(`${name} ${label}`, () =>
        testOp({ name: `marginLogits ${name}`, shapes: [[N, K]], ours: (c) => L.marginLogits(c, labels, o), ref: (c) => refMargin(c, labels, o), init: cosInit, atol: 2e-5, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-4 }));
    }
  }
  it('Int32Array and Tensor labels agree', async () => {
    const c = L.rand([4, 6], 3, -0.9, 0.9);
    const a = await L.marginLogits(c, Int32Array.from([0, 5, 2, 3]), ARC).data();
    const b = await L.marginLogits(c, L.tensor([0, 5, 2, 3], [4]), ARC).data();
    expect([...a]).toEqual([...b]);
  });
  it('clamps |cos| near 1 (finite output, zero gradient outside the clamp range)', async () => {
    const c = L.requireGrad(L.tensor([1, -1, 0.5, 0.5], [2, 2]));
    const out = L.marginLogits(c, [0, 1], ARC);
    const y = await out.data();
    expect(y.every(Number.isFinite)).toBe(true);
    expect(y[0]).toBeCloseTo(64 * Math.cos(Math.acos(Math.fround(HI)) + 0.5), 4); // the bound is float32
    L.backward(out, L.ones([2, 2]));
    const g = await c.grad!.data();
    expect([g[0], g[1], g[2]]).toEqual([0, 64, 64]); // clamped target: 0; other columns: s
  });
  it('Tensor label out of range makes the row NaN', async () => {
    const y = await L.marginLogits(L.zeros([2, 3]), L.tensor([0, 7], [2]), ARC).data();
    expect(Number.isNaN(y[0]!)).toBe(false);
    expect([3, 4, 5].every((i) => Number.isNaN(y[i]!))).toBe(true);
  });
});

function refHead(e: tf.Tensor, w: tf.Tensor, labels: number[], o: typeof ARC): tf.Tensor {
  const en = tf.div(e, tf.norm(e, 2, 1, true));
  const wn = tf.div(w, tf.norm(w, 2, 1, true));
  return refMargin(tf.matMul(en, wn, false, true), labels, o);
}

// float64 reference: normalise, cosine, margin (acos form).
function head64(xs: Float64Array[], shapes: Shape[], labels: number[], o: typeof ARC): Float64Array {
  const [e, w] = xs as [Float64Array, Float64Array];
  const [N, D] = shapes[0] as [number, number];
  const K = shapes[1]![0]!;
  const norm = (a: Float64Array, r: number) => {
    let s = 0;
    for (let j = 0; j < D; j++) s += a[r * D + j]! ** 2;
    return Math.max(Math.sqrt(s), 1e-12);
  };
  const out = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    const ne = norm(e, n);
    for (let k = 0; k < K; k++) {
      const nw = norm(w, k);
      let c = 0;
      for (let j = 0; j < D; j++) c += (e[n * D + j]! / ne) * (w[k * D + j]! / nw);
      out[n * K + k] = k === labels[n] ? o.s * (Math.cos(o.m1 * Math.acos(Math.min(Math.max(c, LO), HI)) + o.m2) - o.m3) : o.s * c;
    }
  }
  return out;
}

describe('arcfaceHead', () => {
  const cases: [string, number, number, number][] = [['1x1x1', 1, 1, 1], ['batch 7, D 8, K 10', 7, 8, 10], ['batch 1, D 5, K 3', 1, 5, 3], ['batch 9, D 33, K 21', 9, 33, 21]];
  for (const [label, N, D, K] of cases) {
    const labels = labelsFor(N, K);
    it(`vs tfjs ${label}`, () =>
      testOp({ name: 'arcfaceHead', shapes: [[N, D], [K, D]], ours: (e, w) => L.arcfaceHead(e, w, labels, ARC), ref: (e, w) => refHead(e, w, labels, ARC), atol: 1e-4, rtol: 1e-4, gradAtol: 1e-4, gradRtol: 1e-4 }));
  }
  it('vs float64 (CosFace, finite-difference gradients)', () => {
    const labels = labelsFor(5, 7);
    return testOp({ name: 'arcfaceHead f64', shapes: [[5, 6], [7, 6]], ours: (e, w) => L.arcfaceHead(e, w, labels, COS), ref64: (xs, sh) => head64(xs, sh, labels, COS), atol: 1e-4, rtol: 1e-4, gradAtol: 5e-3, gradRtol: 2e-3, eps: 1e-3 });
  });
  it('vs float64 (ArcFace, finite-difference gradients)', () => {
    const labels = labelsFor(4, 6);
    return testOp({ name: 'arcfaceHead f64', shapes: [[4, 12], [6, 12]], ours: (e, w) => L.arcfaceHead(e, w, labels, ARC), ref64: (xs, sh) => head64(xs, sh, labels, ARC), atol: 1e-4, rtol: 1e-4, gradAtol: 5e-3, gradRtol: 2e-3, eps: 1e-3 });
  });
  it('gradient flows through crossEntropy (training-shaped use)', async () => {
    const e = L.requireGrad(L.randn([6, 16], 1));
    const w = L.requireGrad(L.randn([10, 16], 2));
    const labels = [0, 1, 2, 3, 4, 5];
    const loss = L.tidy(() => {
      const l = L.crossEntropy(L.arcfaceHead(e, w, labels, ARC), labels);
      L.backward(l);
      return l;
    });
    expect(Number.isFinite(await loss.item())).toBe(true);
    const ref = tf.tidy(() => {
      const f = (a: tf.Tensor, b: tf.Tensor) => {
        const lg = refHead(a, b, labels, ARC);
        const oh = tf.tensor2d(labels.flatMap((l) => Array.from({ length: 10 }, (_, j) => (j === l ? 1 : 0))), [6, 10]);
        return tf.mean(tf.neg(tf.sum(tf.mul(oh, tf.logSoftmax(lg)), 1)));
      };
      return tf.grads(f)([tf.tensor(L.randnArray(96, 1), [6, 16]), tf.tensor(L.randnArray(160, 2), [10, 16])]).map((t) => t.dataSync());
    });
    const [ge, gw] = [await e.grad!.data(), await w.grad!.data()];
    for (let i = 0; i < ge.length; i++) expect(Math.abs(ge[i]! - ref[0]![i]!)).toBeLessThan(1e-4 + 1e-4 * Math.abs(ref[0]![i]!));
    for (let i = 0; i < gw.length; i++) expect(Math.abs(gw[i]! - ref[1]![i]!)).toBeLessThan(1e-4 + 1e-4 * Math.abs(ref[1]![i]!));
  });
});

describe('margin input checks', () => {
  const z = (...s: number[]) => L.zeros(s);
  it('marginLogits rejects rank 3', () => expect(() => L.marginLogits(z(2, 3, 4), [0, 1], ARC)).toThrow(/marginLogits.*\[2, 3, 4\]/));
  it('marginLogits rejects a label out of range', () => expect(() => L.marginLogits(z(2, 3), [0, 3], ARC)).toThrow(/marginLogits: label 3 at row 1 is out of range \[0, 3\) for cosine \[2, 3\]/));
  it('marginLogits rejects the wrong label count', () => expect(() => L.marginLogits(z(2, 3), [0], ARC)).toThrow(/marginLogits: 1 labels for cosine \[2, 3\]/));
  it('marginLogits rejects an unknown option', () => expect(() => L.marginLogits(z(2, 3), [0, 1], { s: 64, easyMargin: true } as L.MarginOptions)).toThrow(/marginLogits: unknown option "easyMargin"/));
  it('marginLogits rejects s <= 0', () => expect(() => L.marginLogits(z(2, 3), [0, 1], { s: 0 })).toThrow(/marginLogits: s must be > 0/));
  it('marginLogits rejects a non-finite margin', () => expect(() => L.marginLogits(z(2, 3), [0, 1], { s: 1, m2: NaN })).toThrow(/marginLogits: m2/));
  it('arcfaceHead rejects mismatched D', () => expect(() => L.arcfaceHead(z(2, 3), z(5, 4), [0, 1], ARC)).toThrow(/arcfaceHead.*\[2, 3\].*\[5, 4\]/));
  it('arcfaceHead rejects rank 1 emb', () => expect(() => L.arcfaceHead(z(3), z(5, 3), [0], ARC)).toThrow(/arcfaceHead.*\[3\]/));
  it('arcfaceHead rejects a label out of range', () => expect(() => L.arcfaceHead(z(2, 3), z(5, 3), [0, 5], ARC)).toThrow(/arcfaceHead: label 5 at row 1 .*\[5, 3\]/));
  it('arcfaceHead rejects a label tensor of the wrong shape', () => expect(() => L.arcfaceHead(z(2, 3), z(5, 3), z(3), ARC)).toThrow(/arcfaceHead: labels \[3\]/));
});
