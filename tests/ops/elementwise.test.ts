import { describe, expect, it } from 'vitest';
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
  it('folds grids over 65,535 workgroups (5M elements, one output per thread: 78,125 workgroups)', async () => {
    L.binaryTuning.vec4 = false;
    try {
      await testOp({ name: 'add big', shapes: [[5, 1000, 1000], [1000]], ours: L.add, ref: tf.add, atol: 1e-6, rtol: 1e-6 });
    } finally {
      L.binaryTuning.vec4 = true;
    }
  });
});

describe('affine', () => {
  it('scale', () => testOp({ name: 'scale', shapes: [[3, 5]], ours: (x) => L.scale(x, -2.5), ref: (x) => tf.mul(x, -2.5), ...tol }));
  it('addScalar', () => testOp({ name: 'addScalar', shapes: [[3, 5]], ours: (x) => L.addScalar(x, 0.75), ref: (x) => tf.add(x, 0.75), ...tol }));
});

// Canonical forms of a broadcast (output size-1 dims dropped, dims merged where both operands have
// the same broadcast pattern) and the kernels they take: SAME, SCALAR_A/B, RANK3 (float divmod),
// VEC4 (innermost canonical dim % 4 == 0), generic (canonical rank > 3). Run with VEC4 on and off.
describe('binary ops: canonical forms', () => {
  it('canonicalBroadcast merges dims with one pattern', () => {
    expect(L.canonicalBroadcast([32, 4, 42, 42], [4, 1, 1], [32, 4, 42, 42])).toEqual({ dims: [32, 4, 1764], sa: [7056, 1764, 1], sb: [0, 1, 0] });
    expect(L.canonicalBroadcast([32, 28, 28, 24], [24], [32, 28, 28, 24])).toEqual({ dims: [25088, 24], sa: [24, 1], sb: [0, 1] });
    expect(L.canonicalBroadcast([5, 1], [1, 6], [5, 6])).toEqual({ dims: [5, 6], sa: [1, 0], sb: [0, 1] });
    expect(L.canonicalBroadcast([1, 3, 1], [1, 3, 1], [1, 3, 1])).toEqual({ dims: [3], sa: [1], sb: [1] });
    expect(L.canonicalBroadcast([1], [1], [1])).toEqual({ dims: [], sa: [], sb: [] });
  });

  const shapes: [string, number[], number[]][] = [
    ['same, odd', [3, 5, 7], [3, 5, 7]],
    ['same, size-1 dims', [1, 4, 1, 6], [1, 4, 1, 6]],
    ['scalar a', [1], [3, 8]],
    ['scalar a, odd', [1, 1], [3, 7]],
    ['scalar b, rank 5', [2, 3, 1, 5, 4], [1, 1, 1, 1, 1]],
    ['per-channel [A,C,B] op [C,1,1], B % 4 = 0', [3, 5, 4, 4], [5, 1, 1]],
    ['per-channel, B odd', [3, 5, 3, 3], [5, 1, 1]],
    ['per-channel operand first', [5, 1, 1], [2, 5, 4, 2]],
    ['row broadcast [A,B] op [B], B % 4 = 0', [7, 3, 12], [12]],
    ['row broadcast, B odd', [7, 3, 11], [11]],
    ['row broadcast [B] op [A,B]', [12], [5, 12]],
    ['column [A,B] op [A,1]', [9, 8], [9, 1]],
    ['column, odd', [9, 7], [9, 1]],
    ['outer [A,1] op [1,B]', [7, 1], [1, 8]],
    ['rank 4 both broadcast', [3, 1, 4, 8], [1, 5, 4, 1]],
    ['generic (canonical rank 5)', [2, 1, 3, 1, 5], [1, 4, 1, 6, 1]],
    ['generic, innermost % 4 = 0', [2, 1, 3, 1, 4], [1, 4, 1, 6, 1]],
  ];
  for (const vec4 of [true, false]) {
    for (const [label, sa, sb] of shapes) {
      const run = async (f: () => Promise<void>) => {
        L.binaryTuning.vec4 = vec4;
        try {
          await f();
        } finally {
          L.binaryTuning.vec4 = true;
        }
      };
      const v = vec4 ? 'vec4' : 'scalar';
      it(`add ${label} (${v})`, () => run(() => testOp({ name: 'add', shapes: [sa, sb], ours: L.add, ref: tf.add, ...tol })));
      it(`mul ${label} (${v})`, () => run(() => testOp({ name: 'mul', shapes: [sa, sb], ours: L.mul, ref: tf.mul, ...tol })));
      it(`sub ${label} (${v})`, () => run(() => testOp({ name: 'sub', shapes: [sa, sb], ours: L.sub, ref: tf.sub, ...tol })));
    }
  }

  // broadcastTo(x, shape, s) = s * x broadcast (the backward of sum and mean): exact.
  const bt: [number[], number[], number][] = [
    [[1, 5, 1, 1], [3, 5, 4, 4], 1],
    [[1, 5, 1, 1], [3, 5, 3, 3], 0.5],
    [[1, 1], [6, 7], -2],
    [[7], [3, 7], 0.25],
    [[4, 1], [4, 12], 3],
    [[2, 1, 3], [2, 5, 3], 1],
    [[2, 1, 3, 1, 5], [2, 4, 3, 6, 5], 1.5],
    [[3, 5], [3, 5], 2],
  ];
  for (const vec4 of [true, false]) {
    for (const [from, to, s] of bt) {
      it(`broadcastTo ${JSON.stringify(from)} -> ${JSON.stringify(to)} x ${s} (${vec4 ? 'vec4' : 'scalar'})`, async () => {
        L.binaryTuning.vec4 = vec4;
        try {
          await testOp({ name: 'broadcastTo', shapes: [from], ours: (x) => L.broadcastTo(x, to, s), ref: (x) => tf.mul(tf.broadcastTo(x, to), s), atol: 0, rtol: 1e-7 });
        } finally {
          L.binaryTuning.vec4 = true;
        }
      });
    }
  }
  it('broadcastTo rejects shapes that do not broadcast', () => {
    const x = L.zeros([3, 2]);
    expect(() => L.broadcastTo(x, [3, 4])).toThrow('broadcastTo: shapes [3, 2] and [3, 4] do not broadcast');
    expect(() => L.broadcastTo(x, [2])).toThrow('broadcastTo: [3, 2] does not broadcast to [2]');
    x.dispose();
  });
});
