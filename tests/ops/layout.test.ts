import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, programs } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Layout ops only move data: forward and gradients are exact (atol 0 would pass; 1e-7 guards only
// against -0 vs 0 style representation differences). Gradients that autograd sums over several
// pieces (split/chunk) add exact zeros, so they stay exact too.
const tol = { atol: 1e-7, rtol: 0, gradAtol: 1e-7, gradRtol: 0 };

describe('reshape / flatten', () => {
  it('reshape with -1', () => testOp({ name: 'reshape', shapes: [[2, 3, 4]], ours: (x) => L.reshape(x, [4, -1]), ref: (x) => tf.reshape(x, [4, 6]), ...tol }));
  it('reshape 1x1', () => testOp({ name: 'reshape 1x1', shapes: [[1, 1]], ours: (x) => L.reshape(x, [1]), ref: (x) => tf.reshape(x, [1]), ...tol }));
  it('flatten from 1', () => testOp({ name: 'flatten', shapes: [[7, 3, 5, 2]], ours: (x) => L.flatten(x), ref: (x) => tf.reshape(x, [7, 30]), ...tol }));
  it('flatten 1..2', () => testOp({ name: 'flatten mid', shapes: [[2, 3, 5, 2]], ours: (x) => L.flatten(x, 1, 2), ref: (x) => tf.reshape(x, [2, 15, 2]), ...tol }));
  it('rejects a size mismatch', () => {
    const x = L.zeros([2, 3]);
    expect(() => L.reshape(x, [4, 2])).toThrow(/reshape.*\[2, 3\].*\[4, 2\]/);
    expect(() => L.reshape(x, [-1, -1])).toThrow(/reshape.*more than one -1/);
    expect(() => L.reshape(x, [4, -1])).toThrow(/reshape.*\[2, 3\]/);
    x.dispose();
  });
});

describe('permute / transpose', () => {
  const cases: [string, number[], number[]][] = [
    ['NCHW->NHWC generic', [2, 3, 4, 5], [0, 2, 3, 1]],
    ['NCHW->NHWC vec4 transpose', [7, 8, 4, 3], [0, 2, 3, 1]],
    ['NHWC->NCHW vec4 transpose', [1, 4, 2, 8], [0, 3, 1, 2]],
    ['reverse rank 3 odd', [3, 5, 7], [2, 1, 0]],
    ['rank 6', [2, 1, 3, 2, 3, 2], [5, 0, 3, 1, 4, 2]],
    ['rank 8', [2, 2, 1, 3, 2, 1, 2, 2], [7, 6, 5, 4, 3, 2, 1, 0]],
    ['identity', [3, 4], [0, 1]],
    ['1x1', [1, 1], [1, 0]],
    ['negative entries', [2, 3, 5], [-1, 0, 1]],
  ];
  for (const [label, shape, perm] of cases) {
    const p = perm.map((a) => (a < 0 ? a + shape.length : a));
    it(`permute ${label}`, () => testOp({ name: `permute ${label}`, shapes: [shape], ours: (x) => L.permute(x, perm), ref: (x) => tf.transpose(x, p), ...tol }));
  }
  it('transpose 2-D 12x8 (vec4 blocks)', () => testOp({ name: 'transpose', shapes: [[12, 8]], ours: (x) => L.transpose(x, 0, 1), ref: (x) => tf.transpose(x), ...tol }));
  it('transpose(1, -1) batch 7', () => testOp({ name: 'transpose', shapes: [[7, 3, 5]], ours: (x) => L.transpose(x, 1, -1), ref: (x) => tf.transpose(x, [0, 2, 1]), ...tol }));
  it('rejects bad permutations', () => {
    const x = L.zeros([2, 3, 4]);
    expect(() => L.permute(x, [0, 1])).toThrow(/permute.*rank 3.*\[2, 3, 4\]/);
    expect(() => L.permute(x, [0, 1, 1])).toThrow(/permute.*not a permutation.*\[2, 3, 4\]/);
    expect(() => L.permute(x, [0, 1, 3])).toThrow(/permute.*not a permutation/);
    expect(() => L.transpose(x, 0, 3)).toThrow(/transpose.*axis 3/);
    x.dispose();
  });
});

describe('concat / split / chunk / slice', () => {
  it('concat axis 1 (odd sizes, scalar path)', () =>
    testOp({ name: 'concat', shapes: [[2, 3, 5], [2, 1, 5], [2, 4, 5]], ours: (a, b, c) => L.concat([a!, b!, c!], 1), ref: (a, b, c) => tf.concat([a!, b!, c!], 1), ...tol }));
  it('concat channels NCHW (vec4 path), batch 7', () =>
    testOp({ name: 'concat vec4', shapes: [[7, 2, 2, 2], [7, 3, 2, 2]], ours: (a, b) => L.concat([a!, b!], 1), ref: (a, b) => tf.concat([a!, b!], 1), ...tol }));
  it('concat/chunk of long rows (buffer-copy path, len >= 4096) mixed with a short one', () =>
    testOp({ name: 'concat copies', shapes: [[2, 2, 48, 48], [2, 1, 48, 48]], ours: (a, b) => { const [p, q] = L.chunk(L.concat([a!, b!], 1), 2, 1); return L.concat([q!, p!], 1); },
      ref: (a, b) => { const [p, q] = tf.split(tf.concat([a!, b!], 1), [2, 1], 1); return tf.concat([q!, p!], 1); }, ...tol }));
  it('concat axis 0 and last, 1x1', () =>
    testOp({ name: 'concat 1x1', shapes: [[1, 1], [1, 1]], ours: (a, b) => L.concat([L.concat([a!, b!], 0), L.concat([b!, a!], 0)], -1), ref: (a, b) => tf.concat([tf.concat([a!, b!], 0), tf.concat([b!, a!], 0)], 1), ...tol }));
  it('concat with only the second input needing grad', () =>
    testOp({ name: 'concat partial grad', shapes: [[3, 2], [3, 4]], gradInputs: [1], ours: (a, b) => L.concat([a!, b!], 1), ref: (a, b) => tf.concat([a!, b!], 1), ...tol }));
  it('split then concat in another order', () =>
    testOp({ name: 'split', shapes: [[2, 6, 3]], ours: (x) => { const [a, b, c] = L.split(x, [1, 3, 2], 1); return L.concat([c!, a!, b!], 1); },
      ref: (x) => { const [a, b, c] = tf.split(x, [1, 3, 2], 1); return tf.concat([c!, a!, b!], 1); }, ...tol }));
  it('split with only one piece used gets the right gradient', () =>
    testOp({ name: 'split partly used', shapes: [[7, 6, 2]], ours: (x) => L.split(x, [2, 3, 1], 1)[1]!, ref: (x) => tf.slice(x, [0, 2, 0], [7, 3, 2]), ...tol }));
  it('split with two pieces used twice', () =>
    testOp({ name: 'split reuse', shapes: [[5, 4]], ours: (x) => { const [a, , c] = L.split(x, [2, 1, 2], 0); return L.mul(L.add(a!, c!), c!); },
      ref: (x) => { const [a, , c] = tf.split(x, [2, 1, 2], 0); return tf.mul(tf.add(a!, c!), c!); }, ...tol, gradAtol: 1e-5, gradRtol: 1e-6 }));
  // Pieces' gradients are PartialGrads (autograd.ts): the first materialised, the others added into
  // it in place, region by region; the cases below mix them with whole gradients of the same input.
  it('split pieces and the whole input used together (in-place region adds after a full gradient)', () =>
    testOp({ name: 'split + whole', shapes: [[3, 8, 5]], ours: (x) => { const [a, b] = L.split(x, [3, 5], 1); return L.add(L.mul(x, x), L.concat([L.mul(b!, b!), L.scale(a!, 3)], 1)); },
      ref: (x) => { const [a, b] = tf.split(x, [3, 5], 1); return tf.add(tf.mul(x, x), tf.concat([tf.mul(b!, b!), tf.mul(a!, 3)], 1)); }, ...tol, gradAtol: 1e-5, gradRtol: 1e-6 }));
  for (const order of [0, 1]) {
    // Both orders of the graph's inputs: one runs the pieces' backward before add's, the other add's
    // (which hands one tensor to u and v) first; either way u's gradient sums all three.
    it(`split pieces of an input that add also feeds (order ${order})`, () =>
      testOp({ name: 'split shared grad', shapes: [[4, 6]], ours: (x) => {
        const u = L.scale(x, 2), v = L.scale(x, -1);
        const [p, q] = L.split(u, [2, 4], 1);
        const w = L.concat([L.mul(p!, p!), q!], 1);
        const z = L.add(u, v);
        return order ? L.concat([v, L.add(w, z)], 1) : L.concat([L.add(z, w), v], 1);
      }, ref: (x) => {
        const u = tf.mul(x, 2), v = tf.mul(x, -1);
        const [p, q] = tf.split(u, [2, 4], 1);
        const w = tf.concat([tf.mul(p!, p!), q!], 1);
        const z = tf.add(u, v);
        return order ? tf.concat([v, tf.add(w, z)], 1) : tf.concat([tf.add(z, w), v], 1);
      }, ...tol, gradAtol: 1e-5, gradRtol: 1e-6 }));
  }
  it('a split piece\'s gradient lands in a parameter only via its region (leaf, chunk of 4)', async () => {
    const x = L.requireGrad(L.tensor(Float32Array.from({ length: 2 * 8 * 3 }, (_, i) => i), [2, 8, 3]));
    const pieces = L.chunk(x, 4, 1);
    const y = L.tidy(() => L.backward(L.add(L.sum(L.mul(pieces[0]!, pieces[0]!)), L.add(L.sum(pieces[2]!), L.sum(L.scale(pieces[3]!, 5))))));
    void y;
    const g = await x.grad!.data();
    const xv = await x.data();
    for (let i = 0; i < g.length; i++) {
      const c = Math.floor(i / 3) % 8;
      const want = c < 2 ? 2 * xv[i]! : c < 4 ? 0 : c < 6 ? 1 : 5;
      expect(g[i]).toBe(want);
    }
    x.grad!.dispose();
    for (const t of [x, ...pieces]) t.dispose();
  });
  it('chunk 7 into 3 (3, 3, 1) along the last axis', () =>
    testOp({ name: 'chunk', shapes: [[2, 3, 7]], ours: (x) => { const p = L.chunk(x, 3, -1); expect(p.map((t) => t.shape[2])).toEqual([3, 3, 1]); return L.concat([p[2]!, p[0]!], 2); },
      ref: (x) => { const p = tf.split(x, [3, 3, 1], 2); return tf.concat([p[2]!, p[0]!], 2); }, ...tol }));
  it('slice general 4-D (strided gather)', () =>
    testOp({ name: 'slice 4d', shapes: [[3, 4, 5, 6]], ours: (x) => L.slice(x, [1, 1, 2, 1], [2, 2, 3, 4]), ref: (x) => tf.slice(x, [1, 1, 2, 1], [2, 2, 3, 4]), ...tol }));
  it('slice rows (region copy, vec4) with -1', () =>
    testOp({ name: 'slice rows', shapes: [[7, 8, 4]], ours: (x) => L.slice(x, [0, 2], [-1, -1]), ref: (x) => tf.slice(x, [0, 2, 0], [7, 6, 4]), ...tol }));
  it('slice stride-2 style crop (odd sizes)', () =>
    testOp({ name: 'slice crop', shapes: [[1, 3, 9, 9]], ours: (x) => L.slice(x, [0, 0, 1, 1], [1, 3, 7, 7]), ref: (x) => tf.slice(x, [0, 0, 1, 1], [1, 3, 7, 7]), ...tol }));
  it('pad NCHW H and W asymmetric (TF same padding of a stride-2 conv)', () =>
    testOp({ name: 'pad hw', shapes: [[2, 3, 7, 6]], ours: (x) => L.pad(x, [[0, 0], [0, 0], [0, 1], [0, 1]]), ref: (x) => tf.pad(x, [[0, 0], [0, 0], [0, 1], [0, 1]]), ...tol }));
  it('pad every dim, rows (region path), a short list, nothing', async () => {
    await testOp({ name: 'pad all', shapes: [[3, 2, 4]], ours: (x) => L.pad(x, [[1, 2], [0, 3], [2, 1]]), ref: (x) => tf.pad(x, [[1, 2], [0, 3], [2, 1]]), ...tol });
    await testOp({ name: 'pad rows', shapes: [[5, 8]], ours: (x) => L.pad(x, [[0, 0], [4, 0]]), ref: (x) => tf.pad(x, [[0, 0], [4, 0]]), ...tol });
    await testOp({ name: 'pad short list', shapes: [[2, 3]], ours: (x) => L.pad(x, [[1, 1]]), ref: (x) => tf.pad(x, [[1, 1], [0, 0]]), ...tol });
    await testOp({ name: 'pad nothing', shapes: [[2, 3]], ours: (x) => L.pad(x, []), ref: (x) => tf.add(x, 0), ...tol });
  });
  it('rejects bad inputs', () => {
    const a = L.zeros([2, 3]), b = L.zeros([3, 3]);
    expect(() => L.pad(a, [[0, 0], [-1, 0]])).toThrow(/pad.*dim 1.*non-negative/);
    expect(() => L.pad(a, [[0, 0], [0, 0], [0, 0]])).toThrow(/pad.*at most 2 pairs.*\[2, 3\]/);
    expect(() => L.concat([a, b], 1)).toThrow(/concat.*\[2, 3\], \[3, 3\]/);
    expect(() => L.concat([], 0)).toThrow(/concat/);
    expect(() => L.split(a, [1, 1], 1)).toThrow(/split.*\[1,1\].*3.*\[2, 3\]/);
    expect(() => L.split(a, [-1, 4], 1)).toThrow(/split.*sum/);
    expect(() => L.chunk(a, 0, 1)).toThrow(/chunk.*positive/);
    expect(() => L.slice(a, [1, 1], [2, 1])).toThrow(/slice.*exceeds \[2, 3\]/);
    expect(() => L.slice(a, [0, 4], [1, 1])).toThrow(/slice.*begin 4.*\[2, 3\]/);
    expect(() => L.slice(a, [0, 0, 0], [1, 1, 1])).toThrow(/slice.*\[2, 3\]/);
    a.dispose();
    b.dispose();
  });
});

describe('concatChannelsLast (concat along C of NCHW pieces, written NHWC)', () => {
  // Pure data movement: exact, as tol above; against tfjs's transpose(concat(xs, 1)).
  const ref = (...xs: tf.Tensor[]) => tf.transpose(tf.concat(xs as tf.Tensor4D[], 1), [0, 2, 3, 1]);
  const cases: [string, number[][]][] = [
    ['one piece', [[2, 5, 3, 4]]],
    ['EdgeFace-XXS stage 1: 2 x 24 channels, 14x14', [[2, 24, 14, 14], [2, 24, 14, 14]]],
    ['3 pieces of unequal widths, 7x7', [[3, 30, 7, 7], [3, 30, 7, 7], [3, 28, 7, 7]]],
    ['EdgeFace-XXS stage 3: 4 x 42 channels, 3x3', [[2, 42, 3, 3], [2, 42, 3, 3], [2, 42, 3, 3], [2, 42, 3, 3]]],
    ['5 pieces (concat, then permute)', [[1, 2, 2, 3], [1, 1, 2, 3], [1, 3, 2, 3], [1, 2, 2, 3], [1, 1, 2, 3]]],
    ['all widths and H·W multiples of 4 (concat, then the 4x4 permute)', [[2, 4, 2, 2], [2, 8, 2, 2]]],
  ];
  for (const [label, shapes] of cases) {
    it(label, () => testOp({ name: `concatChannelsLast ${label}`, shapes, ours: (...xs) => L.concatChannelsLast(xs), ref, ...tol }));
  }
  it('is one kernel each way for up to 4 pieces, except where H·W and the widths are multiples of 4', () => {
    const run = (shapes: number[][]) => {
      const xs = shapes.map((s) => L.requireGrad(L.rand(s, 1)));
      const C = shapes.reduce((a, s) => a + s[1]!, 0);
      const names = programs(() => L.backward(L.concatChannelsLast(xs), L.rand([2, shapes[0]![2]!, shapes[0]![3]!, C], 2)));
      L.dispose(xs);
      return names.filter((n) => n.startsWith('concat') || n.startsWith('permute'));
    };
    expect(run([[2, 3, 4, 5], [2, 2, 4, 5], [2, 4, 4, 5]])).toEqual(['concatChannelsLast', 'concatChannelsLast_backward']);
    const aligned = run([[2, 4, 4, 5], [2, 8, 4, 5]]); // H·W = 20, widths 4 and 8
    expect(aligned).not.toContain('concatChannelsLast');
    expect(aligned).toContain('permute_t4');
    expect(run([[2, 4, 3, 5], [2, 8, 3, 5]])).toEqual(['concatChannelsLast', 'concatChannelsLast_backward']); // H·W = 15
  });
  it('rejects pieces that do not line up', () => {
    const a = L.zeros([2, 3, 4, 5]), b = L.zeros([2, 3, 4, 6]);
    expect(() => L.concatChannelsLast([a, b])).toThrow(/concatChannelsLast: pieces must be NCHW with the same N, H, W; got \[2, 3, 4, 5\], \[2, 3, 4, 6\]/);
    expect(() => L.concatChannelsLast([])).toThrow(/needs at least one tensor/);
    L.dispose([a, b]);
  });
});
