import { describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Elementwise ops are exact up to float32 rounding: atol 1e-6, rtol 1e-6; gradients that sum over
// broadcast dims accumulate in a different order than tfjs: atol 1e-5, rtol 1e-5.
const tol = { atol: 1e-6, rtol: 1e-6, gradAtol: 1e-5, gradRtol: 1e-5 };

const cases: [string, number[], number[]][] = [
  ['same shape', [2, 3, 4, 5], [2, 3, 4, 5]],
  ['scalar b', [7, 3], [1]],
  ['channel bias', [2, 3, 4, 4], [1, 3, 1, 1]],
  ['row vs col', [5, 1], [1, 6]],
  ['rank mismatch', [2, 3, 4], [4]],
  ['1x1', [1, 1], [1, 1]],
  ['batch 7 odd', [7, 1, 3, 5], [7, 2, 1, 5]],
];

describe('binary ops vs tfjs', () => {
  for (const [label, sa, sb] of cases) {
    it(`add ${label}`, () => testOp({ name: 'add', shapes: [sa, sb], ours: L.add, ref: tf.add, ...tol }));
    it(`sub ${label}`, () => testOp({ name: 'sub', shapes: [sa, sb], ours: L.sub, ref: tf.sub, ...tol }));
    it(`mul ${label}`, () => testOp({ name: 'mul', shapes: [sa, sb], ours: L.mul, ref: tf.mul, ...tol }));
    it(`div ${label}`, () =>
      testOp({
        name: 'div', shapes: [sa, sb], ours: L.div, ref: tf.div, atol: 1e-6, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-4,
        // keep |b| away from 0
        init: (i, s, seed) => { const a = L.randnArray(s.reduce((x, y) => x * y, 1), seed); if (i === 1) for (let k = 0; k < a.length; k++) a[k] = Math.sign(a[k]!) * (0.5 + Math.abs(a[k]!)); return a; },
      }));
  }
  it('folds grids over 65,535 workgroups (5M elements)', () =>
    testOp({ name: 'add big', shapes: [[5, 1000, 1000], [1000]], ours: L.add, ref: tf.add, atol: 1e-6, rtol: 1e-6 }));
});

describe('affine', () => {
  it('scale', () => testOp({ name: 'scale', shapes: [[3, 5]], ours: (x) => L.scale(x, -2.5), ref: (x) => tf.mul(x, -2.5), ...tol }));
  it('addScalar', () => testOp({ name: 'addScalar', shapes: [[3, 5]], ours: (x) => L.addScalar(x, 0.75), ref: (x) => tf.add(x, 0.75), ...tol }));
});
