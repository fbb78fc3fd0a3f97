import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, assertClose } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';

// Tolerances:
//  - relu, leakyRelu, prelu, square, abs, clamp: exact up to float32 rounding (atol/rtol 1e-6).
//  - exp, log, sqrt, sigmoid, tanh: lavapipe's exp/log are a few ulp off the correctly rounded
//    tfjs CPU results (Math.* in float64): rtol 2e-6, atol 1e-6.
//  - pow: computed as exp2(p·log2|x|), the log2 error is amplified by p: rtol 1e-5.
//  - gelu: erfc approximation with rel. error < 1.2e-7 plus float32 exp of -z²: atol 1e-6,
//    rtol 1e-5 against a float64 erf; its gradient (finite differences in float64) the same.
const exact = { atol: 1e-6, rtol: 1e-6, gradAtol: 1e-6, gradRtol: 1e-6 };
const transc = { atol: 1e-6, rtol: 2e-6, gradAtol: 1e-6, gradRtol: 5e-6 };

const shapes: [string, number[]][] = [
  ['1x1', [1, 1]],
  ['odd 3x5x7 (scalar path)', [3, 5, 7]],
  ['batch 7 NCHW (vec4 path)', [7, 3, 4, 4]],
  ['batch 1', [1, 5, 3, 3]],
];

const sz = (s: Shape) => s.reduce((a, b) => a * b, 1);
/** Positive inputs in [lo, hi] for log / sqrt / pow. */
const positive = (lo: number, hi: number) => (_i: number, s: Shape, seed: number) => L.randArray(sz(s), seed, lo, hi);

describe('unary ops vs tfjs', () => {
  for (const [label, s] of shapes) {
    it(`relu ${label}`, () => testOp({ name: 'relu', shapes: [s], ours: L.relu, ref: tf.relu, ...exact }));
    it(`leakyRelu ${label}`, () => testOp({ name: 'leakyRelu', shapes: [s], ours: (x) => L.leakyRelu(x, 0.2), ref: (x) => tf.leakyRelu(x, 0.2), ...exact }));
    it(`sigmoid ${label}`, () => testOp({ name: 'sigmoid', shapes: [s], ours: L.sigmoid, ref: tf.sigmoid, ...transc }));
    it(`tanh ${label}`, () => testOp({ name: 'tanh', shapes: [s], ours: L.tanh, ref: tf.tanh, ...transc }));
    it(`exp ${label}`, () => testOp({ name: 'exp', shapes: [s], ours: L.exp, ref: tf.exp, ...transc }));
    it(`log ${label}`, () => testOp({ name: 'log', shapes: [s], ours: L.log, ref: tf.log, init: positive(0.05, 5), ...transc }));
    it(`sqrt ${label}`, () => testOp({ name: 'sqrt', shapes: [s], ours: L.sqrt, ref: tf.sqrt, init: positive(0.05, 5), ...transc }));
    it(`square ${label}`, () => testOp({ name: 'square', shapes: [s], ours: L.square, ref: tf.square, ...exact }));
    it(`abs ${label}`, () => testOp({ name: 'abs', shapes: [s], ours: L.abs, ref: tf.abs, ...exact }));
    it(`clamp ${label}`, () => testOp({ name: 'clamp', shapes: [s], ours: (x) => L.clamp(x, -0.5, 0.7), ref: (x) => tf.clipByValue(x, -0.5, 0.7), ...exact }));
  }
  // 524,288 elements: the vec4 grid-stride path with several vec4s per invocation
  const big = [2, 16, 128, 128];
  it('relu large (grid-stride)', () => testOp({ name: 'relu', shapes: [big], ours: L.relu, ref: tf.relu, ...exact }));
  it('sigmoid large (grid-stride)', () => testOp({ name: 'sigmoid', shapes: [big], ours: L.sigmoid, ref: tf.sigmoid, ...transc }));
  it('gelu large forward (grid-stride)', () => testOp({ name: 'gelu', shapes: [big], ours: L.gelu, ref64: ([x]) => x!.map(gelu64tail), atol: 1e-6, rtol: 1e-5 }));
  it('leakyRelu default slope 0.01', () => testOp({ name: 'leakyRelu', shapes: [[4, 9]], ours: (x) => L.leakyRelu(x), ref: (x) => tf.leakyRelu(x, 0.01), ...exact }));
  it('tanh / sigmoid / exp saturate without NaN', async () => {
    const x = L.tensor([-200, -90, -20, 0, 20, 90, 200], [7]);
    const [t, s] = [await L.tanh(x).data(), await L.sigmoid(x).data()];
    expect([...t]).toEqual([-1, -1, -1, 0, 1, 1, 1]);
    expect(s.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(s[0]).toBe(0);
    expect(s[6]).toBe(1);
  });
  it('clamp one-sided (infinite bound)', () => testOp({ name: 'clamp', shapes: [[3, 5]], ours: (x) => L.clamp(x, 0, Infinity), ref: (x) => tf.relu(x), ...exact }));
  for (const p of [2, 3, 0.5, -1.5]) {
    it(`pow p=${p} positive x`, () =>
      testOp({ name: 'pow', shapes: [[3, 5, 7]], ours: (x) => L.pow(x, p), ref: (x) => tf.pow(x, tf.scalar(p)), init: positive(0.1, 3), atol: 1e-6, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-5 }));
  }
  for (const p of [2, 3, -1]) {
    it(`pow p=${p} negative x (integer exponent)`, () =>
      testOp({ name: 'pow', shapes: [[4, 8]], ours: (x) => L.pow(x, p), ref: (x) => tf.pow(x, tf.scalar(p)), init: positive(-3, -0.1), atol: 1e-6, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-5 }));
  }
  it('pow special values (PyTorch semantics)', async () => {
    const x = L.tensor([0, -2, 2, 0], [4]);
    expect([...(await L.pow(x, 0).data())]).toEqual([1, 1, 1, 1]);
    const h = await L.pow(x, 0.5).data();
    expect(h[0]).toBe(0);
    expect(Number.isNaN(h[1]!)).toBe(true);
    expect(h[2]).toBeCloseTo(Math.SQRT2, 6);
    expect((await L.pow(x, -1).data())[0]).toBe(Infinity);
  });
});

// float64 erf: Taylor series for |x| < 3, continued fraction of erfc beyond (both < 1e-14 abs).
function erf64(x: number): number {
  const a = Math.abs(x);
  if (a < 3) {
    let term = a, s = a;
    for (let n = 1; n < 200; n++) {
      term *= (-a * a) / n;
      const c = term / (2 * n + 1);
      s += c;
      if (Math.abs(c) < 1e-17 * Math.abs(s)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * s;
  }
  // erfc(a) = exp(-a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...))))
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}
const gelu64 = (x: number) => 0.5 * x * (1 + erf64(x / Math.SQRT2));
// Lower tail: 0.5·x·erfc(-x/√2) without cancellation.
function gelu64tail(x: number): number {
  const a = -x / Math.SQRT2;
  if (a < 3) return gelu64(x);
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  return 0.5 * x * (Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}

describe('gelu (exact erf form) vs float64', () => {
  for (const [label, s] of shapes) {
    it(`gelu ${label}`, () =>
      testOp({
        name: 'gelu', shapes: [s], ours: L.gelu, ref64: ([x]) => x!.map(gelu64tail),
        atol: 1e-6, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-5, init: (_i, sh, seed) => L.randnArray(sz(sh), seed, 2),
      }));
  }
  it('max error over [-8, 8] (measured)', async () => {
    const n = 4001;
    const xs = Float32Array.from({ length: n }, (_, i) => -8 + (16 * i) / (n - 1));
    const y = await L.gelu(L.tensor(xs)).data();
    const ref = Array.from(xs, gelu64tail);
    // Absolute error is what matters for a network; relative error is bounded in the lower tail too.
    assertClose('gelu sweep', y, ref, 2e-7, 2e-6);
  });
});

describe('prelu vs tfjs', () => {
  const cases: [string, number[], number[]][] = [
    ['per channel NCHW vec4', [2, 3, 4, 4], [3]],
    ['per channel odd spatial', [7, 5, 3, 3], [5]],
    ['per channel [N, C]', [6, 4], [4]],
    ['shared weight', [3, 2, 5], [1]],
    ['1x1', [1, 1, 1, 1], [1]],
  ];
  for (const [label, xs, ws] of cases) {
    it(label, () =>
      testOp({
        name: 'prelu', shapes: [xs, ws], ours: L.prelu,
        ref: (x, w) => tf.prelu(x, ws[0] === 1 ? w.reshape([]) : w.reshape([1, ws[0]!, ...new Array<number>(xs.length - 2).fill(1)])),
        // dw sums over N·H·W in another order than tfjs
        atol: 1e-6, rtol: 1e-6, gradAtol: 1e-5, gradRtol: 1e-5,
      }));
  }
});

describe('activation input checks', () => {
  const x = () => L.zeros([2, 3, 4, 4]);
  it('prelu rejects a weight of the wrong size', () => expect(() => L.prelu(x(), L.zeros([4]))).toThrow(/prelu.*\[4\].*\[2, 3, 4, 4\]/));
  it('prelu rejects a 2-D weight', () => expect(() => L.prelu(x(), L.zeros([3, 1]))).toThrow(/prelu.*\[3, 1\]/));
  it('prelu rejects per-channel weight on rank 1 input', () => expect(() => L.prelu(L.zeros([3]), L.zeros([3]))).toThrow(/prelu.*\[3\]/));
  it('clamp rejects lo > hi', () => expect(() => L.clamp(x(), 1, 0)).toThrow(/clamp.*lo 1, hi 0.*\[2, 3, 4, 4\]/));
  it('clamp rejects NaN bounds', () => expect(() => L.clamp(x(), NaN, 0)).toThrow(/clamp/));
  it('pow rejects a non-finite exponent', () => expect(() => L.pow(x(), NaN)).toThrow(/pow: exponent/));
  it('leakyRelu rejects a non-finite slope', () => expect(() => L.leakyRelu(x(), Infinity)).toThrow(/leakyRelu: slope/));
  it('ops reject disposed inputs', () => {
    const t = x();
    t.dispose();
    expect(() => L.relu(t)).toThrow(/relu.*disposed/);
  });
});
