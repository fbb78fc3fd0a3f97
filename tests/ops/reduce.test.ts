import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, programs } from '../helpers/op.js';
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

// Canonical forms (size-1 dims dropped, same-role dims merged) and the kernel each one takes:
// ACB ([A, C, B] -> C, A or B reduced, either may be 1), COLS (B = 1) or the generic kernel.
describe('reduction canonical forms', () => {
  it('canonicalReduce drops size-1 dims and merges same-role neighbours', () => {
    const c = (s: number[], a: number[]) => L.canonicalReduce(s, a);
    expect(c([32, 24, 28, 28], [0, 2, 3])).toEqual({ dims: [32, 24, 784], red: [true, false, true] });
    expect(c([32, 28, 28, 24], [0, 1, 2])).toEqual({ dims: [25088, 24], red: [true, false] });
    expect(c([1, 5, 1, 7], [1, 2])).toEqual({ dims: [5, 7], red: [true, false] });
    expect(c([2, 3, 4, 5, 6], [1, 3])).toEqual({ dims: [2, 3, 4, 5, 6], red: [false, true, false, true, false] });
    expect(c([1, 1], [0])).toEqual({ dims: [], red: [] });
  });

  // Every case: [shape, axes (negative allowed), keepDims]. Sizes are odd where possible.
  const cases: [number[], number[] | number | undefined, boolean][] = [
    [[13], undefined, false], // rank 1, [R] -> 1 (rows with C = 1)
    [[13], [0], true],
    [[1], [0], false], // nothing to reduce
    [[1, 1, 1], [1], true],
    [[7, 1, 5], [1], false], // reducing a size-1 dim: a copy
    [[9, 37], -1, false], // rows
    [[37, 9], 0, true], // columns
    [[5, 1, 9], [-3], false], // columns through a size-1 dim
    [[3, 5, 7], [0, 2], false], // per-channel [A, C, B]
    [[3, 5, 7], [-1, -3], true],
    [[2, 3, 1, 5, 7], [0, 3, 4], false], // rank 5 per-channel with a size-1 dim
    [[2, 3, 5, 7, 3], [0, 1, 3, 4], true], // [6, 5, 21] per-channel after merging
    [[3, 4, 5], [1], false], // kept, reduced, kept: generic kernel
    [[2, 3, 4, 5, 6], [1, 3], false], // generic, rank 5
    [[2, 3, 4, 5, 6], [0, 2, 4], true], // generic: reduced, kept, reduced, kept, reduced
    [[4, 6, 3, 3], [0, 2, 3], false], // EdgeFace-like bias grad (small)
    [[33, 7, 117], [0, 2], false], // per-channel, R = 3,861: split into partials
    [[3001, 5], [0], false], // long columns: split
    [[5, 3001], [1], true], // long rows: split
    [[40000], undefined, false], // one output, R = 40,000: split, then partials
    [[3, 50, 7, 21], [0, 1, 3], false], // per-channel with a split where runs cross rows of b
  ];
  const variants: [string, () => void][] = [
    ['default', () => {}],
    ['always split', () => { L.reduceTuning.singlePassMax = 0; L.reduceTuning.minChunk = 4; }],
    ['tree', () => { L.reduceTuning.variant = 'tree'; }],
  ];
  const saved = { ...L.reduceTuning };
  for (const [vname, set] of variants) {
    for (const [shape, axes, keep] of cases) {
      const label = `${vname}: ${JSON.stringify(shape)} axes ${JSON.stringify(axes)} keep ${keep}`;
      const run = async (f: () => Promise<void>) => {
        set();
        try {
          await f();
        } finally {
          Object.assign(L.reduceTuning, saved);
        }
      };
      it(`sum ${label}`, () => run(() => testOp({ name: 'sum', shapes: [shape], ours: (x) => L.sum(x, axes, keep), ref: (x) => tf.sum(x, axes, keep), ...tol })));
      it(`mean ${label}`, () => run(() => testOp({ name: 'mean', shapes: [shape], ours: (x) => L.mean(x, axes, keep), ref: (x) => tf.mean(x, axes, keep), ...tol })));
      it(`max ${label}`, () =>
        run(() => testOp({ name: 'max', shapes: [shape], ours: (x) => L.max(x, axes, keep), ref: (x) => tf.max(x, axes, keep), atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0 })));
    }
  }

  // sumTo is the backward of broadcasting; it is exercised by the binary-op gradients, and here
  // directly on the shapes a training step gives it (parameters [C, 1, 1], [C], biases).
  const sumToCases: [number[], number[]][] = [
    [[3, 5, 7, 9], [5, 1, 1]],
    [[3, 7, 9, 5], [5]],
    [[6, 11], [11]],
    [[6, 11], [6, 1]],
    [[2, 3, 4], [1, 1, 1]],
    [[2, 3, 4], [2, 3, 4]],
  ];
  for (const [from, to] of sumToCases) {
    it(`sumTo ${JSON.stringify(from)} -> ${JSON.stringify(to)}`, () =>
      testOp({
        name: 'sumTo', shapes: [from], ours: (x) => L.sumTo(x, to), atol: 1e-4, rtol: 1e-5,
        ref64: ([x], [s]) => {
          const out = new Float64Array(to.reduce((a, b) => a * b, 1));
          const sh = s!;
          const off = sh.length - to.length;
          for (let i = 0; i < x!.length; i++) {
            let rem = i, o = 0, mul = 1;
            for (let d = sh.length - 1; d >= 0; d--) {
              const c = rem % sh[d]!;
              rem = Math.floor(rem / sh[d]!);
              if (d >= off && to[d - off] !== 1) {
                o += c * mul;
                mul *= to[d - off]!;
              }
            }
            out[o]! += x![i]!;
          }
          return out;
        },
      }));
  }
});

describe('sumRows2 (two matrices\' column sums in one dispatch)', () => {
  it('equals each matrix summed over its rows, in one program', async () => {
    // [P, Da] and [P, Db] with Da + Db over one workgroup (64) and columns of both in a lane group
    const P = 7, da = 45, db = 30;
    const av = Float32Array.from({ length: P * da }, (_, i) => Math.sin(i * 0.37));
    const bv = Float32Array.from({ length: P * db }, (_, i) => Math.cos(i * 0.11));
    const a = L.tensor(av, [P, da]), b = L.tensor(bv, [P, db]);
    let oa: L.Tensor | null = null, ob: L.Tensor | null = null;
    const names = programs(() => { [oa, ob] = L.sumRows2(a, b).map((t) => L.keep(t)) as [L.Tensor, L.Tensor]; });
    expect(names).toEqual(['sum2']);
    const ra = await oa!.data(), rb = await ob!.data();
    expect(ra.length).toBe(da);
    expect(rb.length).toBe(db);
    for (let k = 0; k < da; k++) {
      let s = 0;
      for (let p = 0; p < P; p++) s += av[p * da + k]!;
      expect(Math.abs(ra[k]! - s)).toBeLessThan(1e-5); // 7 float32 terms of magnitude ≤ 1
    }
    for (let k = 0; k < db; k++) {
      let s = 0;
      for (let p = 0; p < P; p++) s += bv[p * db + k]!;
      expect(Math.abs(rb[k]! - s)).toBeLessThan(1e-5);
    }
    L.dispose([a, b, oa!, ob!]);
  });
  it('rejects matrices with different rows', () => {
    const a = L.zeros([3, 4]), b = L.zeros([2, 4]);
    expect(() => L.sumRows2(a, b)).toThrow(/sumRows2: needs two matrices with the same rows, got \[3, 4\] and \[2, 4\]/);
    L.dispose([a, b]);
  });
});
