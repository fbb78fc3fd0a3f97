import { describe, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Sums are accumulated in a different order than tfjs: atol 1e-4 + rtol 1e-5 (R up to 10^6).
const tol = { atol: 1e-4, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6 };

describe('reductions vs tfjs', () => {
  const cases: [number[], number[] | undefined, boolean][] = [
    [[2, 3, 4, 5], undefined, false],
    [[2, 3, 4, 5], [1], true],
    [[2, 3, 4, 5], [0, 2, 3], false],
    [[7, 33], [-1], false],
    [[1, 1], [0], false],
    [[3, 200, 50], [1, 2], true], // R = 10,000: two-pass split path
    [[1000, 1000], undefined, false], // a full-tensor sum of 10^6: many splits
  ];
  for (const [shape, axes, keep] of cases) {
    const label = `${JSON.stringify(shape)} axes ${JSON.stringify(axes)} keep ${keep}`;
    it(`sum ${label}`, () => testOp({ name: 'sum', shapes: [shape], ours: (x) => L.sum(x, axes, keep), ref: (x) => tf.sum(x, axes, keep), ...tol }));
    it(`mean ${label}`, () => testOp({ name: 'mean', shapes: [shape], ours: (x) => L.mean(x, axes, keep), ref: (x) => tf.mean(x, axes, keep), ...tol }));
    it(`sum (tree variant) ${label}`, async () => {
      L.reduceTuning.variant = 'tree';
      try {
        await testOp({ name: 'sum tree', shapes: [shape], ours: (x) => L.sum(x, axes, keep), ref: (x) => tf.sum(x, axes, keep), ...tol });
      } finally {
        L.reduceTuning.variant = 'split';
      }
    });
    it(`max ${label}`, () => testOp({ name: 'max', shapes: [shape], ours: (x) => L.max(x, axes, keep), ref: (x) => tf.max(x, axes, keep), atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0 }));
  }
});
