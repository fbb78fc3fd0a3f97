import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Pure data movement: exact (atol 1e-7 only for representation noise).
const tol = { atol: 1e-7, rtol: 0, gradAtol: 1e-7, gradRtol: 0 };

// PyTorch pixel_shuffle as a reshape/transpose chain in tfjs.
const refShuffle = (x: tf.Tensor, r: number) => {
  const [n, cr, h, w] = x.shape as number[];
  const c = cr! / (r * r);
  return tf.reshape(tf.transpose(tf.reshape(x, [n!, c, r, r, h!, w!]), [0, 1, 4, 2, 5, 3]), [n!, c, h! * r, w! * r]);
};
const refUnshuffle = (x: tf.Tensor, r: number) => {
  const [n, c, hr, wr] = x.shape as number[];
  const h = hr! / r, w = wr! / r;
  return tf.reshape(tf.transpose(tf.reshape(x, [n!, c!, h, r, w, r]), [0, 1, 3, 5, 2, 4]), [n!, c! * r * r, h, w]);
};

describe('pixelShuffle / pixelUnshuffle vs tfjs', () => {
  const cases: [string, number[], number][] = [
    ['r=2 (vec2)', [2, 12, 3, 5], 2],
    ['r=4 (vec4), batch 7', [7, 16, 3, 2], 4],
    ['r=3 odd', [1, 9, 5, 3], 3],
    ['1x1 r=1', [1, 1, 1, 1], 1],
    ['1x1 spatial r=2', [1, 4, 1, 1], 2],
  ];
  for (const [label, shape, r] of cases) {
    it(`shuffle ${label}`, () => testOp({ name: `pixelShuffle ${label}`, shapes: [shape], ours: (x) => L.pixelShuffle(x, r), ref: (x) => refShuffle(x, r), ...tol }));
    const big = [shape[0]!, shape[1]! / (r * r), shape[2]! * r, shape[3]! * r];
    it(`unshuffle ${label}`, () => testOp({ name: `pixelUnshuffle ${label}`, shapes: [big], ours: (x) => L.pixelUnshuffle(x, r), ref: (x) => refUnshuffle(x, r), ...tol }));
  }
  it('rejects bad inputs', () => {
    const x = L.zeros([1, 6, 2, 2]);
    expect(() => L.pixelShuffle(x, 2)).toThrow(/pixelShuffle.*6.*\[1, 6, 2, 2\].*r² = 4/);
    expect(() => L.pixelShuffle(x, 0)).toThrow(/pixelShuffle.*positive integer/);
    expect(() => L.pixelUnshuffle(L.zeros([1, 1, 3, 4]), 2)).toThrow(/pixelUnshuffle.*\[1, 1, 3, 4\].*r = 2/);
    expect(() => L.pixelShuffle(L.zeros([4, 2, 2]), 2)).toThrow(/pixelShuffle.*NCHW.*\[4, 2, 2\]/);
    x.dispose();
  });
});
