// The GEMM (im2col + matmul) convolution path of src/runtime/ops/conv-gemm.ts: forward, backward-data
// and backward-weight against tfjs CPU / float64 references (through conv2d / convTranspose2d with
// convVariants.gemm on), against the direct kernels (same inputs, gemm off), with chunking over the
// batch forced, both weight-gradient variants, and the geometries it rejects (groups > 1).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, assertClose, programs } from '../helpers/op.js';
import { tfConv, conv64, convT64, ours, oursT, two, type Cfg } from '../helpers/conv-ref.js';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';
import { gemmOk, gemmVariants, corrGemm, corrTGemm, wgradGemm } from '../../src/runtime/ops/conv-gemm.js';
import type { Geom } from '../../src/runtime/ops/conv.js';

// Tolerances as in conv.test.ts. Forward: each output is a dot product of Cin*kh*kw <= ~150 float32
// terms of N(0,1) inputs, summed in another order than the reference: atol 1e-4, rtol 1e-4.
// Gradients: the weight gradient sums N*Ho*Wo (up to ~300) products (over chunks / splits here), the
// data gradient Cout*kh*kw terms: atol 1e-3, rtol 1e-3. GEMM vs direct kernels: both float32 with
// different summation orders, same bounds.
const tol = { atol: 1e-4, rtol: 1e-4, gradAtol: 1e-3, gradRtol: 1e-3 };


const saved = { gemm: L.convVariants.gemm, ...gemmVariants };
function restore(): void {
  L.convVariants.gemm = saved.gemm;
  Object.assign(gemmVariants, { maxColsBytes: saved.maxColsBytes, wgrad: saved.wgrad, wgradSplits: saved.wgradSplits, wgradMinOutputs: saved.wgradMinOutputs });
}
afterAll(restore);

/** Runs fn with the GEMM path on (and gemmVariants overrides), restoring the defaults after. */
async function withGemm<T>(fn: () => Promise<T>, v: Partial<typeof gemmVariants> = {}): Promise<T> {
  L.convVariants.gemm = true;
  Object.assign(gemmVariants, v);
  try {
    return await fn();
  } finally {
    restore();
  }
}


// ---- references ---------------------------------------------------------------------------------


/** The conv geometry of conv2d(x, w, opts) (as conv.ts builds it). */
function geom(xs: number[], ws: number[], o: Cfg): Geom {
  const [sh, sw] = two(o.stride, 1), [ph, pw] = two(o.padding, 0), [dh, dw] = two(o.dilation, 1);
  const [N, Ci, H, W] = xs as [number, number, number, number];
  const [Co, , kh, kw] = ws as [number, number, number, number];
  const Ho = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1, Wo = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  return { N, Ci, H, W, Co, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, G: o.groups ?? 1 };
}

// [label, x shape, weight shape, options, with bias]
type Case = [string, number[], number[], Cfg, boolean];

// groups 1; tfjs handles these (no dilation), gradients by tf.grads.
const convCases: Case[] = [
  ['1x1 (no im2col), batch 3', [3, 8, 5, 7], [6, 8, 1, 1], {}, true],
  ['1x1 (no im2col), batch 1, 4x4', [1, 12, 4, 4], [8, 12, 1, 1], {}, false],
  ['1x1 stride 2 (im2col subsample), odd 7x7', [2, 4, 7, 7], [5, 4, 1, 1], { stride: 2 }, true],
  ['3x3 p1 batch 3, odd 7x9', [3, 5, 7, 9], [6, 5, 3, 3], { padding: 1 }, true],
  ['3x3 p1 batch 1, 8x8', [1, 4, 8, 8], [7, 4, 3, 3], { padding: 1 }, false],
  ['2x2 s2 downsample (EdgeFace), batch 3', [3, 6, 8, 8], [10, 6, 2, 2], { stride: 2 }, true],
  ['2x2 s2 odd 7x9 (unused border)', [1, 3, 7, 9], [4, 3, 2, 2], { stride: 2 }, true],
  ['4x4 s4 stem (EdgeFace), 3 -> 8', [2, 3, 16, 16], [8, 3, 4, 4], { stride: 4 }, true],
  ['4x4 s2 p1, odd 9x7', [3, 3, 9, 7], [5, 3, 4, 4], { stride: 2, padding: 1 }, true],
  ['rectangular kernel / stride / padding', [2, 3, 9, 8], [4, 3, 3, 2], { stride: [2, 1], padding: [1, 0] }, true],
  ['1x1 image, 3x3 p1', [1, 3, 1, 1], [2, 3, 3, 3], { padding: 1 }, true],
];

// float64 references (dilation; convTranspose2d).
const conv64Cases: Case[] = [
  ['dilation 2, p2, batch 2', [2, 3, 7, 9], [4, 3, 3, 3], { padding: 2, dilation: 2 }, true],
  ['dilation 2 stride 2, batch 3', [3, 2, 9, 8], [3, 2, 3, 3], { stride: 2, padding: 1, dilation: 2 }, false],
];

const convTCases: Case[] = [
  ['3x3 s1 p1', [2, 3, 5, 6], [3, 4, 3, 3], { padding: 1 }, true],
  ['3x3 s2 p1 op1 (2x upsample), batch 3', [3, 4, 4, 5], [4, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }, true],
  ['4x4 s2 p1', [2, 2, 3, 3], [2, 5, 4, 4], { stride: 2, padding: 1 }, false],
  ['2x2 s2, batch 3', [3, 3, 2, 3], [3, 2, 2, 2], { stride: 2 }, true],
  ['1x1 (no col2im)', [2, 4, 3, 5], [4, 3, 1, 1], {}, true],
  ['1x1 input, 3x3', [1, 2, 1, 1], [2, 3, 3, 3], {}, true],
  ['dilation 2', [1, 2, 4, 5], [2, 3, 3, 3], { padding: 1, dilation: 2 }, false],
  ['stride 2 dilation 2 (taps on even offsets only)', [2, 2, 4, 4], [2, 3, 3, 3], { stride: 2, padding: 1, dilation: 2 }, true],
  ['stride 3 dilation 2', [1, 2, 3, 3], [2, 2, 3, 3], { stride: 3, dilation: 2 }, false],
  ['stride 3, rectangular', [1, 2, 3, 4], [2, 2, 2, 3], { stride: [3, 2], padding: [0, 1], outputPadding: [2, 1] }, true],
];

describe('conv2d GEMM path vs tfjs (forward, dx, dw, db)', () => {
  for (const [label, xs, ws, o, b] of convCases) {
    it(label, () => withGemm(() => testOp({ name: `conv2d gemm ${label}`, shapes: b ? [xs, ws, [ws[0]!]] : [xs, ws], ours: ours(o), ref: tfConv(o), ...tol })));
  }
});

describe('conv2d GEMM path vs float64 reference (dilation)', () => {
  for (const [label, xs, ws, o, b] of conv64Cases) {
    it(label, () => withGemm(() => testOp({ name: `conv2d gemm ${label}`, shapes: b ? [xs, ws, [ws[0]!]] : [xs, ws], ours: ours(o), ref64: conv64(o), ...tol })));
  }
});

describe('convTranspose2d GEMM path vs float64 reference', () => {
  for (const [label, xs, ws, o, b] of convTCases) {
    it(label, () =>
      withGemm(() => testOp({ name: `convTranspose2d gemm ${label}`, shapes: b ? [xs, ws, [ws[1]!]] : [xs, ws], ours: oursT(o), ref64: convT64(o), ...tol })));
  }
});

// ---- GEMM vs the direct kernels ---------------------------------------------------------------------

/** conv2d forward and its three gradients, as arrays. */
async function convAll(xs: number[], ws: number[], o: Cfg, bias: boolean, seed: number): Promise<Float32Array[]> {
  const x = L.randn(xs, seed), w = L.randn(ws, seed + 1), b = bias ? L.randn([ws[0]!], seed + 2) : null;
  const params = [x, w, ...(b ? [b] : [])];
  for (const p of params) p.requiresGrad = true;
  const y = L.tidy(() => {
    const out = L.conv2d(x, w, b, o);
    const dy = L.randn(out.shape, seed + 3);
    L.backward(out, dy);
    return out;
  });
  const r = [await y.data(), ...(await Promise.all(params.map((p) => p.grad!.data())))];
  y.dispose();
  params.forEach((p) => p.dispose());
  return r;
}

async function compareWithDirect(label: string, xs: number[], ws: number[], o: Cfg, bias: boolean, v: Partial<typeof gemmVariants> = {}): Promise<void> {
  const direct = await convAll(xs, ws, o, bias, 77);
  const gemm = await withGemm(() => convAll(xs, ws, o, bias, 77), v);
  const what = ['forward', 'dx', 'dw', 'db'];
  direct.forEach((d, i) => assertClose(`${label} gemm vs direct ${what[i]}`, gemm[i]!, d, i === 0 ? tol.atol : tol.gradAtol, i === 0 ? tol.rtol : tol.gradRtol));
}

describe('conv2d GEMM path vs the direct kernels', () => {
  it('every case above, same inputs', async () => {
    for (const [label, xs, ws, o, b] of [...convCases, ...conv64Cases]) await compareWithDirect(label, xs, ws, o, b);
  });
  it('bench-like 3x3 p1 16 -> 24 on 12x12, batch 3', () => compareWithDirect('3x3 16->24', [3, 16, 12, 12], [24, 16, 3, 3], { padding: 1 }, true));
  it('EdgeFace-like 1x1 24 -> 40 on 6x6 (P not a multiple of 4), batch 3', () => compareWithDirect('1x1 24->40', [3, 24, 6, 6], [40, 24, 1, 1], {}, true));
  it('chunked over the batch (one image per chunk)', async () => {
    for (const [label, xs, ws, o, b] of [convCases[3]!, convCases[5]!, convCases[8]!, conv64Cases[1]!]) {
      await compareWithDirect(`${label} chunked`, xs, ws, o, b, { maxColsBytes: 1 });
    }
  });
  it('chunks of 2 images out of 3 (a partial last chunk)', async () => {
    const [label, xs, ws, o, b] = convCases[3]!;
    const K = 5 * 9, P = 7 * 9;
    await compareWithDirect(`${label} chunks of 2`, xs, ws, o, b, { maxColsBytes: 2 * (K * P + 6 * P) * 4 + 4 });
  });
  it("weight gradient variant 'batched'", async () => {
    for (const [label, xs, ws, o, b] of [convCases[0]!, convCases[3]!, convCases[5]!]) await compareWithDirect(`${label} batched`, xs, ws, o, b, { wgrad: 'batched' });
  });
  it("weight gradient variant 'flat' with batch splits 3", async () => {
    for (const [label, xs, ws, o, b] of [convCases[0]!, convCases[3]!, convCases[5]!]) await compareWithDirect(`${label} splits`, xs, ws, o, b, { wgradSplits: 3 });
  });
  it('the exported kernels directly (corrGemm, corrTGemm, wgradGemm) vs conv2d with the direct kernels', async () => {
    const xs = [3, 5, 7, 9], ws = [6, 5, 3, 3], o: Cfg = { stride: 2, padding: 1 };
    const g = geom(xs, ws, o);
    const [y, dx, dw, db] = await convAll(xs, ws, o, true, 77);
    const x = L.randn(xs, 77), w = L.randn(ws, 78), b = L.randn([6], 79), dy = L.randn([3, 6, g.Ho, g.Wo], 80);
    const r = L.tidy(() => [corrGemm(x, w, b, g), corrTGemm(dy, w, null, g), wgradGemm(dy, x, g)]);
    assertClose('corrGemm', await r[0]!.data(), y!, tol.atol, tol.rtol);
    assertClose('corrTGemm', await r[1]!.data(), dx!, tol.gradAtol, tol.gradRtol);
    assertClose('wgradGemm', await r[2]!.data(), dw!, tol.gradAtol, tol.gradRtol);
    expect(db!.length).toBe(6);
    [...r, x, w, b, dy].forEach((t) => t.dispose());
  });
});

// ---- which path runs, rejections --------------------------------------------------------------------

describe('GEMM path selection', () => {
  const run = (xs: number[], ws: number[], o: Cfg) => programs(() => {
    const x = L.randn(xs, 1), w = L.randn(ws, 2);
    x.requiresGrad = true;
    w.requiresGrad = true;
    const y = L.conv2d(x, w, null, o);
    L.backward(y, L.randn(y.shape, 3));
    x.grad!.dispose();
    w.grad!.dispose();
  });
  it('3x3: im2col, matmul and col2im with gemm on; none with it off (the default)', async () => {
    expect(L.convVariants.gemm).toBe(false);
    const off = run([2, 4, 6, 6], [5, 4, 3, 3], { padding: 1 });
    expect(off.filter((n) => ['im2col', 'col2im', 'matmul'].includes(n))).toEqual([]);
    const on = await withGemm(async () => run([2, 4, 6, 6], [5, 4, 3, 3], { padding: 1 }));
    expect(on).toContain('im2col');
    expect(on).toContain('col2im');
    expect(on).toContain('matmul');
    expect(on.filter((n) => n.startsWith('conv2d_'))).toEqual([]);
  });
  it('1x1 stride 1: no im2col / col2im in forward and backward-data', async () => {
    const on = await withGemm(async () => run([2, 4, 6, 6], [5, 4, 1, 1], {}));
    expect(on).not.toContain('col2im');
    // Only the weight gradient's transposed im2col ('flat' variant) remains.
    expect(on.filter((n) => n === 'im2col').length).toBe(1);
  });
  it('groups > 1 and depthwise are rejected (conv2d takes the direct kernels, still correct)', async () => {
    expect(gemmOk(geom([1, 4, 7, 7], [6, 2, 3, 3], { groups: 2 }))).toBe(false);
    expect(gemmOk(geom([1, 4, 7, 7], [4, 1, 3, 3], { groups: 4 }))).toBe(false);
    expect(gemmOk(geom([1, 4, 7, 7], [6, 4, 3, 3], {}))).toBe(true);
    const on = await withGemm(async () => run([1, 4, 7, 7], [6, 2, 3, 3], { stride: 2, padding: 1, groups: 2 }));
    expect(on.filter((n) => ['im2col', 'col2im', 'matmul'].includes(n))).toEqual([]);
    await withGemm(() => testOp({ name: 'conv2d gemm on, groups 2', shapes: [[1, 4, 7, 7], [6, 2, 3, 3], [6]], ours: ours({ stride: 2, padding: 1, groups: 2 }), ref64: conv64({ stride: 2, padding: 1, groups: 2 }), ...tol }));
    await withGemm(() => testOp({ name: 'conv2d gemm on, depthwise', shapes: [[2, 4, 6, 6], [4, 1, 3, 3]], ours: ours({ padding: 1, groups: 4 }), ref64: conv64({ padding: 1, groups: 4 }), ...tol }));
  });
  it('a geometry whose one-image cols exceed the storage binding limit is rejected', () => {
    const lim = L.getEngine().maxBinding;
    // K * P * 4 > lim with small tensors: K = 4096 * 9 taps over a P large enough.
    const P = Math.ceil(lim / (4 * 4096 * 9)) + 1;
    expect(gemmOk({ N: 1, Ci: 4096, H: 1, W: P, Co: 1, Ho: 1, Wo: P, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, G: 1 })).toBe(false);
    const z = L.zeros([1, 1, 1, 1]);
    expect(() => corrGemm(z, z, null, { N: 1, Ci: 4, H: 5, W: 5, Co: 4, Ho: 5, Wo: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, G: 2 }))
      .toThrow(/corrGemm: geometry not supported by the GEMM path \(groups 2/);
    z.dispose();
  });
  it('leaves no tensors behind (chunked forward and backward)', async () => {
    const before = L.liveTensors().length;
    await withGemm(async () => {
      for (const [, xs, ws, o, b] of [convCases[0]!, convCases[3]!, convCases[5]!]) await convAll(xs, ws, o, b, 5);
    }, { maxColsBytes: 1 });
    expect(L.liveTensors().length).toBe(before);
  });
});
