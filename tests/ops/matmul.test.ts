import { describe, it, expect, afterEach } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp } from '../helpers/op.js';
import * as L from '../../src/runtime/index.js';

// Tolerances: a dot product of K float32 terms accumulated in a different order (and with fma) than
// tfjs: error ~ K·eps·Σ|a·b|; with N(0,1) inputs and K <= 70 that stays well under
// atol 1e-4 + rtol 1e-4. Gradients sum over N (dA), M·batch (dB, up to 7·64 = 448 terms) or the
// broadcast batch: atol 2e-4, rtol 2e-4.
const tol = { atol: 1e-4, rtol: 1e-4, gradAtol: 2e-4, gradRtol: 2e-4 };

const defaultTuning = { ...L.matmulTuning, transB: { ...L.matmulTuning.transB } };
afterEach(() => Object.assign(L.matmulTuning, defaultTuning, { transB: { ...defaultTuning.transB } }));

type Case = [label: string, M: number, K: number, N: number, batchA: number | null, batchB: number | null];
// batch null: a 2-D operand.
const cases: Case[] = [
  ['1x1x1', 1, 1, 1, null, null],
  ['odd 7x13x5', 7, 13, 5, null, null],
  ['aligned 8x16x12', 8, 16, 12, null, null],
  ['K tail 37x70x45', 37, 70, 45, null, null],
  ['batch 1', 5, 8, 12, 1, 1],
  ['batch 7 odd', 9, 7, 11, 7, 7],
  ['broadcast 2-D b', 6, 9, 8, 3, null],
  ['broadcast 2-D a', 6, 12, 7, null, 3],
  ['broadcast batch-1 a', 5, 4, 9, 1, 4],
  ['broadcast batch-1 b', 8, 5, 4, 4, 1],
];
const combos: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

function shapesOf(M: number, K: number, N: number, ba: number | null, bb: number | null, tA: boolean, tB: boolean): number[][] {
  const a = tA ? [K, M] : [M, K];
  const b = tB ? [N, K] : [K, N];
  return [ba === null ? a : [ba, ...a], bb === null ? b : [bb, ...b]];
}

// tfjs reference: batch broadcasting made explicit with broadcastTo (its gradient sums it back).
function refMatmul(tA: boolean, tB: boolean) {
  return (a: tf.Tensor, b: tf.Tensor): tf.Tensor => {
    if (a.rank === 2 && b.rank === 2) return tf.matMul(a, b, tA, tB);
    const batch = Math.max(a.rank === 3 ? a.shape[0]! : 1, b.rank === 3 ? b.shape[0]! : 1);
    const a3 = tf.broadcastTo(a.rank === 3 ? a : a.expandDims(0), [batch, ...a.shape.slice(-2)]);
    const b3 = tf.broadcastTo(b.rank === 3 ? b : b.expandDims(0), [batch, ...b.shape.slice(-2)]);
    return tf.matMul(a3, b3, tA, tB);
  };
}

function matmulCase(label: string, M: number, K: number, N: number, ba: number | null, bb: number | null, tA: boolean, tB: boolean) {
  return testOp({
    name: `matmul ${label} tA=${tA} tB=${tB}`,
    shapes: shapesOf(M, K, N, ba, bb, tA, tB),
    ours: (a, b) => L.matmul(a, b, { transA: tA, transB: tB }),
    ref: refMatmul(tA, tB),
    ...tol,
  });
}

// Every case checks the forward and both gradients, so the backward's transposed reads (dA = g·op(B)ᵀ,
// dB = op(A)ᵀ·g) are exercised by every case too. All four flag combinations run on the shapes that
// select different kernel paths (scalar / vec4 reads, K tail); the other edge shapes run plain and with
// both flags. (Each kernel variant is a pipeline compile of seconds on lavapipe: keep the set small.)
const allCombos = new Set(['odd 7x13x5', 'aligned 8x16x12', 'K tail 37x70x45']);

// The default kernel is the subgroup one where the device has fixed 8-lane subgroups (lavapipe), else
// the register-blocked one; the describes below pin each (subgroup: null = register-blocked).
const SG8 = L.fixedSubgroupSize() === 8;
const REG = { subgroup: null };

describe('matmul vs tfjs (default kernel)', () => {
  for (const [label, M, K, N, ba, bb] of cases) {
    for (const [tA, tB] of allCombos.has(label) ? combos : [[false, false], [true, true]] as [boolean, boolean][]) {
      it(`${label} transA=${tA} transB=${tB}`, () => matmulCase(label, M, K, N, ba, bb, tA, tB));
    }
  }
  it('64x64x64', () => matmulCase('64^3', 64, 64, 64, null, null, false, false));
  it('batch 7 of 64x64x64, transB', () => matmulCase('7x64^3', 64, 64, 64, 7, 7, false, true));
});

describe('matmul register-blocked kernel (subgroup off)', () => {
  for (const label of allCombos) {
    const [, M, K, N, ba, bb] = cases.find((c) => c[0] === label)!;
    for (const [tA, tB] of combos) {
      it(`${label} transA=${tA} transB=${tB}`, () => {
        Object.assign(L.matmulTuning, REG);
        return matmulCase(label, M, K, N, ba, bb, tA, tB);
      });
    }
  }
});

describe.runIf(SG8)('matmul subgroup kernel (8-lane subgroups)', () => {
  const kernelsOf = async (f: () => Promise<unknown>) => {
    const seen: L.MatmulTraceEntry[] = [];
    L.matmulTrace.fn = (e) => seen.push(e);
    try {
      await f();
    } finally {
      L.matmulTrace.fn = null;
    }
    return seen;
  };
  it('is the default here, block 4x32 shrunk to small M and N', async () => {
    const seen = await kernelsOf(() => matmulCase('default sg', 100, 20, 40, null, null, false, false));
    expect(seen.every((e) => e.kernel === 'sg')).toBe(true);
    expect([seen[0]!.tm, 4 * seen[0]!.tnv]).toEqual([4, 32]); // forward: 100 rows, 40 columns
    const small = await kernelsOf(() => matmulCase('small sg', 12, 20, 12, 3, 3, false, false));
    expect([small[0]!.tm, 4 * small[0]!.tnv]).toEqual([2, 16]); // 12 x 12: 16 x 16 tiles
  });
  // The extremes of each knob (tm 2 / 16, tb 1 / 8), with every flag combination, a K tail, a batch
  // and tiles cut by M and N; the gradients run the transposed products through the same block.
  // (M 130: a 128-row tile and a 2-row one; the block shrinks only where all of M or N fits less.)
  // ku (k's per loop step) 1 and 2 here, 4 (the default) everywhere else; K 70 leaves a tail of 2.
  const blocks: [string, { tm: number; tb: number; ku: number }, number][] = [['16x8', { tm: 16, tb: 1, ku: 1 }, 130], ['2x64k2', { tm: 2, tb: 8, ku: 2 }, 37]];
  for (const [label, sg, M] of blocks) {
    for (const [tA, tB] of combos) {
      it(`${label} blocks, K tail ${M}x70x45 batch 2 transA=${tA} transB=${tB}`, async () => {
        L.matmulTuning.subgroup = sg;
        const seen = await kernelsOf(() => matmulCase(`sg ${label}`, M, 70, 45, 2, 2, tA, tB));
        expect(seen[0]!.kernel).toBe('sg');
        expect(seen[0]!.tm).toBe(sg.tm);
      });
    }
  }
  // The bias gradient comes from the weight-gradient product (ROW_SUMS), split or not: testOp checks
  // it against tfjs's, the trace that the fused product ran.
  it('linear with bias, rank 3, and split-K with bias', async () => {
    const shapes = [[7, 3, 10], [6, 10], [6]];
    const plain = await kernelsOf(() => testOp({ name: 'linear sg', shapes, ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => refLinear(x, w, b), ...tol }));
    expect(plain.filter((e) => e.rowSums).map((e) => [e.transA, e.M, e.K, e.N, e.splits])).toEqual([[true, 6, 21, 10, 1]]);
    L.matmulTuning.splitK = { minK: 8, workgroups: 64, minChunk: 4 };
    const seen = await kernelsOf(() => testOp({ name: 'linear sg split-K', shapes, ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => refLinear(x, w, b), ...tol }));
    expect(seen[0]!.kernel).toBe('sg');
    expect(seen[0]!.splits).toBeGreaterThan(1);
    expect(seen.filter((e) => e.rowSums).map((e) => e.splits)).toEqual([3]);
  });
  it('linear bias gradient over row and column tiles: 130 outputs (5 row tiles), 45 inputs (2 column tiles), 37 rows', async () => {
    L.matmulTuning.subgroup = { tm: 4, tb: 4, ku: 4 }; // 32 x 32 tiles
    const seen = await kernelsOf(() => testOp({ name: 'linear sg tiles', shapes: [[37, 45], [130, 45], [130]], ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => refLinear(x, w, b), ...tol }));
    const fused = seen.filter((e) => e.rowSums);
    expect(fused.length).toBe(1);
    expect(fused[0]!.tiles).toBe(10);
  });
  // vec4 reads (the default block, ku 4, where every vec4 is aligned): along k for a plain A / a
  // transposed B, along m / n for a transposed A / a plain B. M 68 and N 44 leave partial row and
  // column tiles (the last vec4 groups clamped), batch 2 moves both operands by their strides. The
  // vec4 kernel sums in the same order as the scalar one: outputs equal to the bit.
  for (const [tA, tB] of combos) {
    it(`vec4 reads, 68x36x44 batch 2 transA=${tA} transB=${tB}: vs tfjs, and equal to the scalar reads`, async () => {
      const seen = await kernelsOf(() => matmulCase('sg vec4', 68, 36, 44, 2, 2, tA, tB));
      expect(seen.map((e) => e.vec4)).toEqual([true, true, true]); // forward, dA, dB
      const a = L.tensor(L.randnArray(2 * 68 * 36, 5), tA ? [2, 36, 68] : [2, 68, 36]);
      const b = L.tensor(L.randnArray(2 * 36 * 44, 6), tB ? [2, 44, 36] : [2, 36, 44]);
      const v = await L.matmul(a, b, { transA: tA, transB: tB }).data();
      L.matmulTuning.subgroup = { tm: 4, tb: 4, ku: 4, vec4: false };
      const scalar = await kernelsOf(async () => expect(await L.matmul(a, b, { transA: tA, transB: tB }).data()).toEqual(v));
      expect(scalar.map((e) => e.vec4)).toEqual([false]);
    });
  }
  it('vec4 reads off where a vec4 would be misaligned or partial: K 70, M 66 with transA, N 42', async () => {
    const cases: [number, number, number, boolean, boolean][] = [[68, 70, 44, false, true], [66, 36, 44, true, true], [68, 36, 42, false, false]];
    for (const [M, K, N, tA, tB] of cases) {
      const seen = await kernelsOf(async () => { await L.matmul(L.zeros(tA ? [K, M] : [M, K]), L.zeros(tB ? [N, K] : [K, N]), { transA: tA, transB: tB }).data(); });
      expect([M, K, N, seen[0]!.vec4]).toEqual([M, K, N, false]);
    }
  });
  it('vec4 linear: bias gradient (ROW_SUMS) over a vec4 weight-gradient product, split and not', async () => {
    const shapes = [[40, 44], [68, 44], [68]];
    const plain = await kernelsOf(() => testOp({ name: 'linear sg vec4', shapes, ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => refLinear(x, w, b), ...tol }));
    expect(plain.filter((e) => e.rowSums).map((e) => [e.vec4, e.splits])).toEqual([[true, 1]]);
    L.matmulTuning.splitK = { minK: 8, workgroups: 64, minChunk: 4 };
    const split = await kernelsOf(() => testOp({ name: 'linear sg vec4 split-K', shapes, ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => refLinear(x, w, b), ...tol }));
    const fused = split.filter((e) => e.rowSums);
    expect(fused.map((e) => e.vec4)).toEqual([true]);
    expect(fused[0]!.splits).toBeGreaterThan(1);
  });
  // vec4 stores (out4, N % 4 == 0): out, and act / pre of the GELU epilogues, four columns a store. The
  // same values are stored, so every output equals the scalar stores' to the bit: a linear with a bias
  // (44 columns: a partial column tile), split-K partials, the MLP's GELU forward (inference) and under
  // autograd its GELU-keeping forward and the GELU-derivative epilogue of its backward.
  it('vec4 stores: linear with a bias, split-K, the MLP forward and backward, equal to scalar stores', async () => {
    const init: [Float32Array, number[]][] = [[L.randnArray(37 * 36, 7), [37, 36]], [L.randnArray(44 * 36, 8), [44, 36]],
      [L.randnArray(44, 9), [44]], [L.randnArray(20 * 44, 10), [20, 44]], [L.randnArray(20, 11), [20]]];
    const [x, w, b, w2, b2] = init.map(([d, sh]) => L.tensor(d, sh)) as [L.Tensor, L.Tensor, L.Tensor, L.Tensor, L.Tensor];
    const run = async () => {
      const out: Float32Array[] = [await L.linear(x, w, b).data(), await L.mlp(x, w, b, w2, b2).data()];
      const saved = L.matmulTuning.splitK;
      L.matmulTuning.splitK = { minK: 8, workgroups: 64, minChunk: 4 };
      out.push(await L.matmul(x, w, { transB: true }).data());
      L.matmulTuning.splitK = saved;
      const ps = init.map(([d, sh]) => L.requireGrad(L.tensor(d, sh)));
      const y = L.keep(L.mlp(ps[0]!, ps[1]!, ps[2]!, ps[3]!, ps[4]!));
      L.backward(L.sum(L.mul(y, y)));
      out.push(await y.data());
      for (const p of ps) out.push(await p.grad!.data());
      y.dispose();
      ps.forEach((p) => p.dispose());
      return out;
    };
    const seen = await kernelsOf(async () => {
      const vec = await run();
      L.matmulTuning.subgroup = { ...L.matmulTuning.subgroup!, out4: false };
      const scalar = await run();
      expect(vec.length).toBe(scalar.length);
      vec.forEach((v, i) => expect(v).toEqual(scalar[i]));
    });
    const n = seen.length / 2;
    // In the first run every product with N % 4 == 0 stored vec4s and no other did; in the second none did.
    expect(seen.slice(0, n).some((e) => e.out4 && e.N === 44)).toBe(true);
    expect(seen.slice(0, n).every((e) => e.out4 === (e.N % 4 === 0))).toBe(true);
    expect(seen.slice(n).every((e) => !e.out4)).toBe(true);
    expect(seen.some((e) => e.out4 && e.splits > 1)).toBe(true);
  });
  it('bad block', () => {
    L.matmulTuning.subgroup = { tm: 3, tb: 4 };
    expect(() => L.matmul(L.zeros([2, 2]), L.zeros([2, 2]))).toThrow(/tuning.subgroup must have tm 2, 4, 8 or 16, tb 1, 2, 4 or 8 and ku 1, 2 or 4/);
    L.matmulTuning.subgroup = { tm: 4, tb: 4, ku: 3 };
    expect(() => L.matmul(L.zeros([2, 2]), L.zeros([2, 2]))).toThrow(/and ku 1, 2 or 4 \(vec4 and out4 booleans\), got \{"tm":4,"tb":4,"ku":3\}/);
    L.matmulTuning.subgroup = { tm: 4, tb: 4, out4: 1 as unknown as boolean };
    expect(() => L.matmul(L.zeros([2, 2]), L.zeros([2, 2]))).toThrow(/out4 booleans\), got \{"tm":4,"tb":4,"out4":1\}/);
  });
});

describe('matmul register-block shapes and kvec variant', () => {
  const blocks: [string, Partial<L.MatmulTuning>][] = [
    ['4x4 blocks', { tm: 4, tnv: 1 }],
    ['kvec 4x4', { tm: 4, tnv: 1, kvec: true }],
  ];
  // Plain and both flags (the gradients run the mixed combinations).
  const ends: [boolean, boolean][] = [[false, false], [true, true]];
  for (const [label, tu] of blocks) {
    for (const [tA, tB] of ends) {
      it(`${label} transA=${tA} transB=${tB}`, () => {
        Object.assign(L.matmulTuning, REG, tu, { transB: { tm: tu.tm, tnv: tu.tnv } });
        return matmulCase(label, 37, 70, 45, 2, 2, tA, tB);
      });
    }
  }
  // Forward only (one compile each): the larger blocks and other workgroup shapes.
  const fwd = (name: string, shapes: number[][], tA = false, tB = false) =>
    testOp({ name, shapes, ours: (a, b) => L.matmul(a, b, { transA: tA, transB: tB }), ref: refMatmul(tA, tB), atol: tol.atol, rtol: tol.rtol });
  it('16x32 blocks, aligned, transA', () => {
    Object.assign(L.matmulTuning, REG, { tm: 16, tnv: 8 });
    return fwd('16x32', [[20, 24], [20, 40]], true, false);
  });
  it('kvec 8x8 blocks, aligned, transB', () => {
    Object.assign(L.matmulTuning, REG, { kvec: true, transB: { tm: 8, tnv: 2 } });
    return fwd('kvec 8x8', [[3, 24, 20], [40, 20]], false, true);
  });
  for (const [wgx, wgy] of [[64, 1], [2, 32]] as const) {
    it(`workgroup ${wgx}x${wgy}`, () => {
      Object.assign(L.matmulTuning, REG, { wgx, wgy });
      return fwd(`wg ${wgx}x${wgy}`, [[70, 33], [33, 130]]);
    });
  }
});

describe('matmul shared-memory tiled variant', () => {
  for (const [tA, tB] of [[false, false], [true, true]] as [boolean, boolean][]) {
    it(`K tail 37x70x45 batch 2 transA=${tA} transB=${tB}`, () => {
      L.matmulTuning.tiled = true;
      return matmulCase('tiled', 37, 70, 45, 2, 2, tA, tB);
    });
  }
  it('1x1x1', () => {
    L.matmulTuning.tiled = true;
    return matmulCase('tiled 1x1x1', 1, 1, 1, null, null, false, false);
  });
  it('broadcast 2-D a, 64x64x64', () => {
    L.matmulTuning.tiled = true;
    return matmulCase('tiled 64^3', 64, 64, 64, null, 3, false, false);
  });
});

// tfjs-webgpu-style vec4 tiles (tuning.tiledVec4, chosen for SwiftShader): scalar edge loads (K tail,
// transposed operands: every flag combination through the gradients), aligned vec4 loads (K and N
// multiples of 4, batched and broadcast), both block shapes, and the fused bias of linear.
describe('matmul vec4-tiled variant (tiledVec4)', () => {
  for (const [tA, tB] of [[false, false], [true, true]] as [boolean, boolean][]) {
    it(`4x4 blocks, K tail 37x70x45 batch 2 transA=${tA} transB=${tB}`, () => {
      L.matmulTuning.tiledVec4 = { tm: 4, tnv: 1 };
      return matmulCase('tiledVec4', 37, 70, 45, 2, 2, tA, tB);
    });
  }
  it('4x4 blocks, aligned 8x16x12 (vec4 loads)', () => {
    L.matmulTuning.tiledVec4 = { tm: 4, tnv: 1 };
    return matmulCase('tiledVec4 aligned', 8, 16, 12, null, null, false, false);
  });
  it('8x8 blocks, broadcast 2-D a, 72x40x68 (vec4 loads, partial tiles)', () => {
    L.matmulTuning.tiledVec4 = { tm: 8, tnv: 2 };
    return matmulCase('tiledVec4 8x8', 72, 40, 68, null, 3, false, false);
  });
  it('8x8 blocks, 1x1x1', () => {
    L.matmulTuning.tiledVec4 = { tm: 8, tnv: 2 };
    return matmulCase('tiledVec4 1x1x1', 1, 1, 1, null, null, false, false);
  });
  it('linear with bias, rank 3', () => {
    L.matmulTuning.tiledVec4 = { tm: 4, tnv: 1 };
    return testOp({ name: 'linear tiledVec4', shapes: [[7, 3, 10], [6, 10], [6]], ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => refLinear(x, w, b), ...tol });
  });
  it('bad block', () => {
    L.matmulTuning.tiledVec4 = { tm: 16, tnv: 1 };
    const t = (sh: number[]) => L.tensor(new Float32Array(sh.reduce((a, b) => a * b, 1)), sh);
    expect(() => L.matmul(t([2, 3]), t([3, 2]))).toThrow(/matmul: tuning.tiledVec4 must have tm 4 or 8 and tnv 1 or 2, got tm 16, tnv 1/);
  });
});

describe('matmul split-K and fitN knobs', () => {
  // Small minK / minChunk force split-K on the small shapes (splits = min(ceil(64 / tiles), K / 4)):
  // uneven chunks and a K tail in the last split, batches (z = batch * splits), broadcast sides,
  // bias through the reduce (linear), and the backward's products split too.
  const force = { minK: 8, workgroups: 64, minChunk: 4 };
  const splitCases: Case[] = [
    ['K tail 37x70x45', 37, 70, 45, null, null],
    ['batch 3', 9, 70, 11, 3, 3],
    ['broadcast 2-D b', 6, 29, 8, 3, null],
    ['broadcast 2-D a', 6, 33, 7, null, 3],
  ];
  for (const [label, M, K, N, ba, bb] of splitCases) {
    for (const [tA, tB] of label.startsWith('K tail') ? combos : [[false, false], [true, true]] as [boolean, boolean][]) {
      it(`split-K ${label} transA=${tA} transB=${tB}`, async () => {
        L.matmulTuning.splitK = force;
        const splits: number[] = [];
        L.matmulTrace.fn = (e) => splits.push(e.splits);
        try {
          await matmulCase(`split-K ${label}`, M, K, N, ba, bb, tA, tB);
        } finally {
          L.matmulTrace.fn = null;
        }
        expect(splits[0]).toBeGreaterThan(1); // the forward product was split
      });
    }
  }
  it('split-K with kvec (vec4 along K: chunks stay multiples of 4), aligned 8x48x12, transB', () => {
    Object.assign(L.matmulTuning, REG, { kvec: true, splitK: force });
    return matmulCase('split-K kvec', 8, 48, 12, null, null, false, true);
  });
  for (const [label, xs, outF] of [['odd', [7, 13], 5], ['rank 3 batch 7', [7, 3, 10], 6]] as [string, number[], number][]) {
    it(`split-K linear with bias, ${label}`, () => {
      L.matmulTuning.splitK = force;
      const inF = xs[xs.length - 1]!;
      return testOp({ name: `linear split-K ${label}`, shapes: [xs, [outF, inF], [outF]], ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => refLinear(x, w, b), ...tol });
    });
  }
  // Default knobs: K >= 4096 with few output tiles splits (the weight gradient gᵀ·x of a linear).
  // Tolerance: K = 5000 products of N(0,1) inputs (|sum| ~ 70): float32 accumulation error ~ sqrt(K)·eps·|sum|
  // ~ 3e-4 in either summation order; atol / rtol 1e-3.
  it('default split-K: transA 24x5000x20 (weight-gradient shape)', async () => {
    const splits: number[] = [];
    L.matmulTrace.fn = (e) => splits.push(e.splits);
    try {
      await testOp({
        name: 'matmul split-K default', shapes: [[5000, 24], [5000, 20]],
        ours: (a, b) => L.matmul(a, b, { transA: true }), ref: refMatmul(true, false),
        atol: 1e-3, rtol: 1e-3, gradAtol: 1e-3, gradRtol: 1e-3,
      });
    } finally {
      L.matmulTrace.fn = null;
    }
    expect(splits[0]).toBe(16); // one tile: ceil(16 workgroups / 1), chunks of 316 k (the last one 260)
  });
  for (const [tA, tB] of combos) {
    it(`fitN off: K tail 37x70x45 transA=${tA} transB=${tB}`, () => {
      Object.assign(L.matmulTuning, REG, { fitN: false });
      return matmulCase('fitN off', 37, 70, 45, null, null, tA, tB);
    });
  }
  it('fitN: 2 and 4 lanes along N (N 20 and 9 with 8x8 blocks), batch 2', () => {
    Object.assign(L.matmulTuning, REG, { tm: 8, tnv: 2, transB: { tm: 8, tnv: 2 } });
    return Promise.all([
      matmulCase('fitN 4 lanes', 19, 11, 20, 2, 2, false, false),
      matmulCase('fitN 2 lanes', 19, 11, 9, 2, 2, true, true),
    ]);
  });
  it('shape class: K from 4096 in powers of two of its own (split-K pays at 25088, not at 4096)', () => {
    expect(L.matmulClass(96, 25088, 24, true, false)).toBe('tn.m128.k32768.n32');
    expect(L.matmulClass(96, 6272, 24, true, false)).toBe('tn.m128.k8192.n32');
    expect(L.matmulClass(96, 5000, 24, true, false)).toBe('tn.m128.k4096.n32');
    expect(L.matmulClass(96, 4096, 24, true, false)).toBe('tn.m128.k4096.n32');
    expect(L.matmulClass(96, 3000, 24, true, false)).toBe('tn.m128.k1024.n32');
    expect(L.matmulClass(96, 1 << 22, 24, true, false)).toBe('tn.m128.k1048576.n32');
    expect(L.parseMatmulClass('tn.m128.k32768.n32').K).toBe(32768);
  });
});

describe('matmul grids', () => {
  it('folds more than 65,535 tiles (1x1 workgroups, 1040x1x1040)', () => {
    Object.assign(L.matmulTuning, REG, { wgx: 1, wgy: 1, tm: 4, tnv: 1 });
    return testOp({ name: 'matmul fold', shapes: [[1040, 1], [1, 1040]], ours: (a, b) => L.matmul(a, b), ref: refMatmul(false, false), atol: 1e-6, rtol: 1e-6 });
  });
  it('splits more than 65,535 batches across dispatches', () =>
    testOp({ name: 'matmul big batch', shapes: [[65537, 1, 2], [65537, 2, 1]], ours: (a, b) => L.matmul(a, b), ref: refMatmul(false, false), atol: 1e-6, rtol: 1e-6 }));
  it('K = 0 gives zeros (and the bias in linear)', async () => {
    const a = L.tensor([], [3, 0]), b = L.tensor([], [0, 5]);
    const c = L.matmul(a, b);
    expect([...c.shape]).toEqual([3, 5]);
    expect([...(await c.data())]).toEqual(new Array(15).fill(0));
    const w = L.tensor([], [2, 0]), bias = L.tensor([1, 2], [2]);
    const y = L.linear(a, w, bias);
    expect([...(await y.data())]).toEqual([1, 2, 1, 2, 1, 2]);
    L.dispose([a, b, c, w, bias, y]);
  });
});

// linear: x [..., in] · Wᵀ + b
function refLinear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const [outF, inF] = w.shape as [number, number];
  const y = tf.matMul(tf.reshape(x, [-1, inF]), w, false, true);
  return tf.reshape(b ? tf.add(y, b) : y, [...x.shape.slice(0, -1), outF]);
}

describe('linear vs tfjs', () => {
  const lin: [string, number[], number, boolean][] = [
    ['1x1', [1, 1], 1, true],
    ['odd', [7, 13], 5, true],
    ['odd no bias', [7, 13], 5, false],
    ['aligned', [8, 16], 12, true],
    ['aligned no bias', [8, 16], 12, false],
    ['rank 3 batch 7', [7, 3, 10], 6, true],
    ['rank 1', [9], 4, true],
    ['batch 1', [1, 32], 20, true],
  ];
  for (const [label, xs, outF, hasBias] of lin) {
    const inF = xs[xs.length - 1]!;
    const shapes = hasBias ? [xs, [outF, inF], [outF]] : [xs, [outF, inF]];
    it(label, () => testOp({
      name: `linear ${label}`, shapes,
      ours: (x, w, b) => L.linear(x, w, b),
      ref: (x, w, b) => refLinear(x, w, b),
      ...tol,
    }));
    if (label === 'odd' || label === 'rank 3 batch 7') it(`${label} (tiled)`, () => {
      L.matmulTuning.tiled = true;
      return testOp({ name: `linear tiled ${label}`, shapes, ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => refLinear(x, w, b), ...tol });
    });
  }
});

describe('bad inputs', () => {
  const t = (s: number[]) => L.tensor(new Float32Array(s.reduce((a, b) => a * b, 1)), s);
  it('matmul: inner dimension mismatch', () => expect(() => L.matmul(t([2, 3]), t([4, 5]))).toThrow(/matmul: inner dimensions differ \(3 vs 4\) for a \[2, 3\] and b \[4, 5\]/));
  it('matmul: inner mismatch under transB', () => expect(() => L.matmul(t([2, 3]), t([3, 5]), { transB: true })).toThrow(/matmul: inner dimensions differ \(3 vs 5\).*\(transB\)/));
  it('matmul: rank 1', () => expect(() => L.matmul(t([3]), t([3, 2]))).toThrow(/matmul: operands must be 2-D or 3-D, got a \[3\] and b \[3, 2\]/));
  it('matmul: rank 4', () => expect(() => L.matmul(t([1, 2, 2, 3]), t([3, 2]))).toThrow(/matmul: operands must be 2-D or 3-D/));
  it('matmul: batch mismatch', () => expect(() => L.matmul(t([2, 3, 4]), t([3, 4, 5]))).toThrow(/matmul: batch dimensions 2 and 3 do not broadcast for a \[2, 3, 4\] and b \[3, 4, 5\]/));
  it('matmul: unknown option', () => expect(() => L.matmul(t([2, 3]), t([3, 2]), { transC: true } as L.MatmulOptions)).toThrow(/matmul: unknown option "transC"/));
  it('matmul: non-boolean flag', () => expect(() => L.matmul(t([2, 3]), t([3, 2]), { transA: 1 } as unknown as L.MatmulOptions)).toThrow(/matmul: option transA must be a boolean/));
  it('matmul: bad tuning', () => {
    L.matmulTuning.tm = 3;
    expect(() => L.matmul(t([2, 3]), t([3, 2]))).toThrow(/matmul: tuning.tm must be 4, 8 or 16, got 3/);
    L.matmulTuning.tm = 8;
    L.matmulTuning.wgx = 3;
    expect(() => L.matmul(t([2, 3]), t([3, 2]))).toThrow(/matmul: tuning.wgx must be a power of 2/);
    L.matmulTuning.wgx = 16;
    L.matmulTuning.splitK = { minK: 8, workgroups: 0, minChunk: 4 };
    expect(() => L.matmul(t([2, 3]), t([3, 2]))).toThrow(/matmul: tuning.splitK needs positive integers/);
  });
  it('linear: weight in-features mismatch', () => expect(() => L.linear(t([4, 3]), t([5, 4]))).toThrow(/linear: x's last dimension 3 does not match weight's in-features 4 \(x \[4, 3\], weight \[5, 4\]\)/));
  it('linear: weight not 2-D', () => expect(() => L.linear(t([4, 3]), t([5, 3, 1]))).toThrow(/linear: weight must be 2-D \[out, in\] \(x \[4, 3\], weight \[5, 3, 1\]\)/));
  it('linear: bias shape mismatch', () => expect(() => L.linear(t([4, 3]), t([5, 3]), t([4]))).toThrow(/linear: bias must be \[5\] \(x \[4, 3\], weight \[5, 3\], bias \[4\]\)/));
  it('linear: scalar x', () => expect(() => L.linear(t([]), t([5, 3]))).toThrow(/linear: x must have at least 1 dimension/));
});
