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
  // A shuffle into an output up to r - 1 rows and columns larger (a patchify conv's backward-data where
  // the patches leave the input's last rows or columns unused): zeros there, also in a pooled buffer
  // that held other values (one of the output's size is filled with NaN and freed first).
  for (const [label, shape, r, bh, bw] of [
    ['r=2, 1 row and 1 column more (EdgeFace-XXS 7 -> 3)', [2, 12, 3, 3], 2, 7, 7],
    ['r=4, 2 rows and 3 columns more', [3, 32, 4, 3], 4, 18, 15],
    ['r=3, columns only', [1, 9, 2, 5], 3, 6, 17],
  ] as [string, number[], number, number, number][]) {
    it(`shuffle into a larger output: ${label}`, async () => {
      const [n, cr, h, w] = shape as [number, number, number, number];
      const c = cr / (r * r);
      const data = Float32Array.from({ length: n * cr * h * w }, (_, i) => Math.sin(i * 0.73) + 2);
      const dirty = L.tensor(new Float32Array(n * c * bh * bw).fill(NaN), [n, c, bh, bw]);
      await dirty.data();
      dirty.dispose();
      const x = L.tensor(data, shape);
      const y = L.pixelShuffleNoGrad(x, r, true, { h: bh, w: bw });
      expect(y.shape).toEqual([n, c, bh, bw]);
      const got = await y.data();
      const ref = await refShuffle(tf.tensor(data, shape), r).pad([[0, 0], [0, 0], [0, bh - h * r], [0, bw - w * r]]).data();
      expect(Array.from(got)).toEqual(Array.from(ref));
      L.dispose([x, y]);
    });
  }
  it('rejects a larger output it cannot fill', () => {
    const x = L.zeros([1, 8, 2, 2]);
    expect(() => L.pixelShuffleNoGrad(x, 2, true, { h: 6, w: 4 })).toThrow(/pixel_shuffle.*6x4.*2x2 blocks of 2x2/);
    expect(() => L.pixelShuffleNoGrad(x, 2, true, { h: 3, w: 4 })).toThrow(/pixel_shuffle.*3x4/);
    const empty = L.zeros([1, 8, 0, 2]); // no blocks: nothing to put in a larger output
    expect(() => L.pixelShuffleNoGrad(empty, 2, true, { h: 1, w: 4 })).toThrow(/pixel_shuffle.*1x4.*0x2 blocks/);
    L.dispose([x, empty]);
  });
  it('rejects bad inputs', () => {
    const x = L.zeros([1, 6, 2, 2]);
    expect(() => L.pixelShuffle(x, 2)).toThrow(/pixelShuffle.*6.*\[1, 6, 2, 2\].*r² = 4/);
    expect(() => L.pixelShuffle(x, 0)).toThrow(/pixelShuffle.*positive integer/);
    expect(() => L.pixelUnshuffle(L.zeros([1, 1, 3, 4]), 2)).toThrow(/pixelUnshuffle.*\[1, 1, 3, 4\].*r = 2/);
    expect(() => L.pixelShuffle(L.zeros([4, 2, 2]), 2)).toThrow(/pixelShuffle.*NCHW.*\[4, 2, 2\]/);
    x.dispose();
  });
});
