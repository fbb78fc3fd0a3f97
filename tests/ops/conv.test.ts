import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { testOp, programs } from '../helpers/op.js';
import { tfConv, conv64, convT64, ours, oursT, two, type Cfg } from '../helpers/conv-ref.js';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';
import { convKernels } from '../../src/runtime/ops/conv.js';

// Tolerances. Forward: each output is a dot product of Cin/groups*kh*kw <= ~200 float32 terms of
// N(0,1) inputs, summed in a different order than the reference: atol 1e-4, rtol 1e-4.
// Gradients: the weight gradient sums N*Ho*Wo (up to ~500) products and is split into partial
// sums, and the data gradient sums Cout/groups*kh*kw terms: atol 1e-3, rtol 1e-3.
const tol = { atol: 1e-4, rtol: 1e-4, gradAtol: 1e-3, gradRtol: 1e-3 };

// tfjs depthwise reference (NCHW <-> NHWC); conv2d / convTranspose2d references: tests/helpers/conv-ref.ts.
function tfDepthwise(o: Cfg) {
  const [sh, sw] = two(o.stride, 1), [ph, pw] = two(o.padding, 0), [dh, dw] = two(o.dilation, 1);
  return (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => {
    const y = tf.depthwiseConv2d(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, tf.transpose(w, [2, 3, 0, 1]) as tf.Tensor4D, [sh, sw],
      [[0, 0], [ph, ph], [pw, pw], [0, 0]], 'NHWC', [dh, dw]);
    return tf.transpose(b ? tf.add(y, b) : y, [0, 3, 1, 2]);
  };
}

// [label, x shape, weight shape, options, with bias]
type Case = [string, number[], number[], Cfg, boolean];

describe('conv2d vs tfjs (groups = 1)', () => {
  const cases: Case[] = [
    ['3x3 s1 p1 odd 7x9', [2, 3, 7, 9], [5, 3, 3, 3], { padding: 1 }, true],
    ['3x3 s2 p1 odd 8x7', [1, 4, 8, 7], [6, 4, 3, 3], { stride: 2, padding: 1 }, true],
    ['3x3 s1 p1 batch 7', [7, 2, 5, 5], [4, 2, 3, 3], { padding: 1 }, false],
    ['3x3 wide rows 5x19 (several pixel blocks)', [1, 5, 5, 19], [8, 5, 3, 3], { padding: 1 }, true],
    ['1x1 kernel batch 7', [7, 5, 5, 5], [9, 5, 1, 1], {}, false],
    ['1x1 image, 3x3 p1', [1, 3, 1, 1], [2, 3, 3, 3], { padding: 1 }, true],
    ['1x1 image, 1x1 kernel', [1, 1, 1, 1], [1, 1, 1, 1], {}, true],
    ['EdgeNeXt stem 4x4 s4, 3 -> 24', [2, 3, 16, 16], [24, 3, 4, 4], { stride: 4 }, true],
    ['2x2 s2 downsample', [2, 8, 6, 6], [12, 8, 2, 2], { stride: 2 }, true],
    ['rectangular kernel / stride / padding', [2, 3, 9, 8], [4, 3, 3, 2], { stride: [2, 1], padding: [1, 0] }, true],
    ['no padding, stride 3 (unused border)', [1, 2, 8, 8], [3, 2, 3, 3], { stride: 3 }, true],
    ['7x7 p3 on a 6x21 row (row strips past both borders)', [2, 5, 6, 21], [3, 5, 7, 7], { padding: 3 }, true],
    // conv_fwd reads row strips as aligned vec4s where W % 4 == 0 (X4): borders of 1, 2, 3 and 0
    // columns, a pixel block wider than the row (12 of 16), several blocks (20 wide: 16 + 4); and
    // conv_wgrad (fewer than 8 outputs, 4+ inputs) dy and x where W and Wo are multiples of 4.
    ['3x3 p1, 3 outputs, 12-wide rows (vec4 strips)', [2, 6, 5, 12], [3, 6, 3, 3], { padding: 1 }, true],
    ['5x5 p2 on 8-wide rows (vec4 strips)', [1, 4, 6, 8], [5, 4, 5, 5], { padding: 2 }, false],
    ['7x7 p3 on 20-wide rows (vec4 strips)', [1, 4, 7, 20], [2, 4, 7, 7], { padding: 3 }, true],
    ['5x5 p0 on 12-wide rows (vec4 strips)', [2, 4, 6, 12], [4, 4, 5, 5], {}, true],
  ];
  for (const [label, xs, ws, o, b] of cases) {
    it(label, () => testOp({ name: `conv2d ${label}`, shapes: b ? [xs, ws, [ws[0]!]] : [xs, ws], ours: ours(o), ref: tfConv(o), ...tol }));
  }
  // Where the device has 8-lane subgroups the forward above is the implicit GEMM of
  // shaders/conv_subgroup.wgsl; the direct kernel (conv_fwd) runs these with it off, and the subgroup
  // kernel's smallest and largest block knobs (shrunk to these small shapes by subgroupTile), one k
  // or a whole kernel row (kw 2, 3, 4) per loop step, run the strided, padded and rectangular cases.
  const SG8 = L.fixedSubgroupSize() === 8;
  const pick = ['3x3 s2 p1 odd 8x7', '3x3 wide rows 5x19 (several pixel blocks)', '3x3 s1 p1 batch 7', 'EdgeNeXt stem 4x4 s4, 3 -> 24', 'rectangular kernel / stride / padding'];
  // The weight gradient likewise: conv_wgrad with the subgroup kernels off; the subgroup split-K GEMM
  // with a 2 x 1 block, one pixel per step and a split per output row (partials summed), and with a
  // 16 x 8 block, 4 pixels per step and no split.
  type Wg = typeof L.convVariants.subgroupWgrad;
  const small: Wg = { tm: 2, tb: 1, ku: 1, workgroups: 100000 }, large: Wg = { tm: 16, tb: 8, ku: 4, workgroups: 1 };
  // conv_fwd and conv_wgrad run stride-1 rows as strips (KW: each input read once for every kx; in
  // conv_wgrad for 4+ input channels: the 5x19 and 7x7 cases) and, with convVariants.stripMaxKw 0, one
  // input per (kx, pixel).
  const blocks: [string, L.SubgroupConvBlock | null, Wg, number][] = [['conv_fwd (subgroup off)', null, null, 7], ['conv_fwd without row strips', null, null, 0]];
  if (SG8) {
    blocks.push(['subgroup tm 2 tb 1', { tm: 2, tb: 1, rowStep: false }, small, 7], ['subgroup tm 16 tb 8', { tm: 16, tb: 8, rowStep: false }, large, 7]);
    blocks.push(['subgroup tm 2 tb 1 row step', { tm: 2, tb: 1, rowStep: true }, large, 7], ['subgroup tm 16 tb 8 row step', { tm: 16, tb: 8, rowStep: true }, small, 7]);
  }
  for (const [kernel, sg, wg, strip] of blocks) {
    for (const [label, xs, ws, o, b] of cases.filter((c) => pick.includes(c[0]) || (sg === null && (c[0].startsWith('7x7') || c[0].includes('vec4'))))) {
      it(`${label}, ${kernel}`, async () => {
        const saved = { ...L.convVariants };
        // the gradient's stride-1 conv^T too; every channel count (blocks mostly past M)
        Object.assign(L.convVariants, { subgroup: sg, subgroupDgrad: sg !== null, subgroupMinM: 1, subgroupWgrad: wg, stripMaxKw: strip });
        try {
          await testOp({ name: `conv2d ${label} ${kernel}`, shapes: b ? [xs, ws, [ws[0]!]] : [xs, ws], ours: ours(o), ref: tfConv(o), ...tol });
        } finally {
          Object.assign(L.convVariants, saved);
        }
      });
    }
  }
});

describe("a patchify conv's backward-data (kernel = stride) as a product and a pixel shuffle", () => {
  // convPaths.patchifyDgrad: dx = pixelShuffle(wᵀ·dy, s) by the matmul and the shuffle kernel;
  // off conv_tgather. Both against tf.grads above ('2x2 s2 downsample', the stem); here which kernels
  // ran, and the two agreeing (where the patches leave rows or columns unused, their zeros too).
  const cases: [string, number[], number[], number][] = [
    ['2x2 s2, 8 -> 12', [2, 8, 6, 6], [12, 8, 2, 2], 2],
    ['4x4 s4, 3 -> 24 (the stem)', [2, 3, 16, 12], [24, 3, 4, 4], 4],
    ['2x2 s2 on 7x7 (the last row and column unused)', [2, 8, 7, 7], [12, 8, 2, 2], 2],
    ['4x4 s4 on 18x15 (2 rows and 3 columns unused)', [3, 5, 18, 15], [7, 5, 4, 4], 4],
    ['3x3 s3 on 7x9 (1 row unused; r = 3 has no vector path)', [2, 4, 7, 9], [6, 4, 3, 3], 3],
  ];
  const dgrad = async (xs: number[], ws: number[], s: number, on: boolean) => {
    const saved = L.convPaths.patchifyDgrad;
    L.convPaths.patchifyDgrad = on;
    const x = L.tensor(Float32Array.from({ length: xs.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.37)), xs);
    const w = L.tensor(Float32Array.from({ length: ws.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.11)), ws);
    x.requiresGrad = true;
    const yShape = [xs[0]!, ws[0]!, Math.floor(xs[2]! / s), Math.floor(xs[3]! / s)];
    const r = L.tensor(Float32Array.from({ length: yShape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 0.91 + 1)), yShape);
    try {
      const ran = programs(() => L.backward(L.sum(L.mul(L.conv2d(x, w, null, { stride: s }), r))));
      return { gx: await x.grad!.data(), ran };
    } finally {
      L.convPaths.patchifyDgrad = saved;
      L.dispose([x, w, r]); // and x.grad with x
    }
  };
  it('frees every temporary when called outside any scope (as a tuning workload might)', async () => {
    const pool = L.getEngine().pool;
    const g = { N: 2, Ci: 8, H: 6, W: 6, Co: 12, Ho: 3, Wo: 3, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, dh: 1, dw: 1, G: 1 };
    const dy = L.tensor(Float32Array.from({ length: 2 * 12 * 9 }, (_, i) => Math.sin(i)), [2, 12, 3, 3]);
    const w = L.tensor(Float32Array.from({ length: 12 * 8 * 4 }, (_, i) => Math.cos(i)), [12, 8, 2, 2]);
    const before = pool.getStats().bytesInUse;
    const dx = convKernels.corrT(dy, w, null, g);
    expect(dx.shape).toEqual([2, 8, 6, 6]);
    await dx.data();
    dx.dispose();
    expect(pool.getStats().bytesInUse).toBe(before);
    L.dispose([dy, w]);
  });
  for (const [label, xs, ws, s] of cases) {
    it(label, async () => {
      const on = await dgrad(xs, ws, s, true), off = await dgrad(xs, ws, s, false);
      // (at stride > 1 conv2d_transposed_gather is conv_tgather: the subgroup conv's transposed form is stride 1 only)
      expect(on.ran.includes('pixel_shuffle')).toBe(true);
      expect(on.ran.includes('matmul')).toBe(true);
      expect(on.ran.includes('conv2d_transposed_gather')).toBe(false);
      expect(off.ran.includes('conv2d_transposed_gather')).toBe(true);
      const scale = Math.max(...off.gx.map(Math.abs));
      const worst = Math.max(...on.gx.map((v, i) => Math.abs(v - off.gx[i]!)));
      expect(worst / scale).toBeLessThan(1e-6); // two summation orders of the same 12-24 products
    });
  }
});

describe('depthwise conv2d vs tfjs', () => {
  for (const k of [3, 5, 7, 9]) {
    it(`k=${k} same padding, odd 9x11`, () =>
      testOp({ name: `depthwise k${k}`, shapes: [[2, 6, 9, 11], [6, 1, k, k], [6]], ours: ours({ padding: k >> 1, groups: 6 }), ref: tfDepthwise({ padding: k >> 1 }), ...tol }));
  }
  it('EdgeFace-like 7x7 on 14x14, batch 1', () =>
    testOp({ name: 'depthwise 7x7 14x14', shapes: [[1, 8, 14, 14], [8, 1, 7, 7], [8]], ours: ours({ padding: 3, groups: 8 }), ref: tfDepthwise({ padding: 3 }), ...tol }));
  it('3x3 stride 2 p1, batch 7', () =>
    testOp({ name: 'depthwise s2', shapes: [[7, 4, 7, 7], [4, 1, 3, 3]], ours: ours({ stride: 2, padding: 1, groups: 4 }), ref: tfDepthwise({ stride: 2, padding: 1 }), ...tol }));
  it('1x1 image, 3x3 p1', () =>
    testOp({ name: 'depthwise 1x1 image', shapes: [[1, 3, 1, 1], [3, 1, 3, 3], [3]], ours: ours({ padding: 1, groups: 3 }), ref: tfDepthwise({ padding: 1 }), ...tol }));
  it('odd height 5 (row pairs), no padding', () =>
    testOp({ name: 'depthwise 5x6 valid', shapes: [[2, 3, 7, 6], [3, 1, 3, 3]], ours: ours({ groups: 3 }), ref: tfDepthwise({}), ...tol }));
});

// depthwise_rows under each of its variants (convVariants dw* knobs; the autotuner may pick any):
// forward and, through the gradient check, backward-data (the same kernel, flipped).
describe('depthwise conv2d variants (depthwise_rows knobs)', () => {
  const variants: Partial<typeof L.convVariants>[] = [
    { dwSplit: false, dwX4: false, dwRows: 2 }, { dwSplit: false, dwX4: true, dwRows: 1, dwSeg: 4 },
    { dwSplit: true, dwX4: false, dwRows: 1 }, { dwSplit: true, dwX4: true, dwRows: 3, dwSeg: 4 },
    { dwSplit: true, dwX4: true, dwRows: 4, dwSegUniformC: true },
    { dwRows: 7, dwPlane: false }, { dwRows: 8, dwTapSkip: true, dwRowSkip: true, dwPlane: false },
    { dwRows: 16, dwTapSkip: true, dwRowSkip: true, dwVStore: false, dwPlane: false },
    { dwRows: 5, dwX4: false, dwTapSkip: true, dwPlane: false }, { dwPlane: true, dwPlaneMaxTaps: 1 << 30 },
    { dwPlane: true, dwPlaneMaxTaps: 1 << 30, dwVStore: false, dwX4: false },
  ];
  // Whole-plane invocations (dwPlane) where Ho <= 16 and Ho * k fits, vec4 stores where Ho*Wo % 4
  // == 0 (the 4x4 and 12x8 planes), larger R than rows where not (20 rows), row blocks with a tail.
  const shapes: [string, Shape, number, number][] = [
    ['k3 p1 odd 9x11, batch 2', [2, 6, 9, 11], 3, 1], ['k5 p1 (shrinks) 7x13, batch 3', [3, 3, 7, 13], 5, 1],
    ['k9 p4 4x4', [2, 4, 4, 4], 9, 4], ['k7 p3 12x8', [2, 3, 12, 8], 7, 3], ['k3 p1 20x6', [1, 2, 20, 6], 3, 1],
  ];
  for (const v of variants) {
    for (const [label, xs, k, p] of shapes) {
      it(`${JSON.stringify(v)} ${label}`, async () => {
        const saved = { ...L.convVariants };
        Object.assign(L.convVariants, v);
        try {
          await testOp({ name: `depthwise ${label}`, shapes: [xs, [xs[1]!, 1, k, k], [xs[1]!]], ours: ours({ padding: p, groups: xs[1]! }), ref: tfDepthwise({ padding: p }), ...tol });
        } finally {
          Object.assign(L.convVariants, saved);
        }
      });
    }
  }
});

describe('conv2d vs float64 reference (groups, dilation)', () => {
  const cases: Case[] = [
    ['groups 3 (Cin 6 -> 9)', [2, 6, 5, 7], [9, 2, 3, 3], { padding: 1, groups: 3 }, true],
    ['groups 2 stride 2', [1, 4, 7, 7], [6, 2, 3, 3], { stride: 2, padding: 1, groups: 2 }, true],
    ['dilation 2', [2, 3, 7, 9], [4, 3, 3, 3], { padding: 2, dilation: 2 }, true],
    ['dilation 2 with groups 2', [1, 4, 7, 8], [4, 2, 3, 3], { padding: 1, dilation: 2, groups: 2 }, false],
    ['depthwise dilation 2', [2, 4, 7, 7], [4, 1, 3, 3], { padding: 2, dilation: 2, groups: 4 }, true],
    ['depthwise dilation 2 stride 2', [1, 3, 9, 8], [3, 1, 3, 3], { stride: 2, padding: 2, dilation: 2, groups: 3 }, false],
    ['channel multiplier (groups = Cin = 3, Cout 6)', [2, 3, 5, 5], [6, 1, 3, 3], { padding: 1, groups: 3 }, true],
    ['groups 3, 5 output channels per group', [1, 3, 4, 4], [15, 1, 3, 3], { groups: 3 }, false],
  ];
  for (const [label, xs, ws, o, b] of cases) {
    it(label, () => testOp({ name: `conv2d ${label}`, shapes: b ? [xs, ws, [ws[0]!]] : [xs, ws], ours: ours(o), ref64: conv64(o), ...tol }));
  }
  it('float64 reference agrees with tfjs (sanity)', () =>
    testOp({ name: 'conv64 sanity', shapes: [[1, 3, 5, 6], [4, 3, 3, 3], [4]], ours: ours({ stride: 2, padding: 1 }), ref64: conv64({ stride: 2, padding: 1 }), atol: 1e-4, rtol: 1e-4 }));
});

describe('convTranspose2d vs float64 reference', () => {
  const cases: Case[] = [
    ['3x3 s1 p1', [2, 3, 5, 6], [3, 4, 3, 3], { padding: 1 }, true],
    ['3x3 s2 p1 op1 (2x upsample)', [1, 4, 4, 5], [4, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }, true],
    ['4x4 s2 p1', [2, 2, 3, 3], [2, 5, 4, 4], { stride: 2, padding: 1 }, false],
    ['2x2 s2', [7, 3, 2, 3], [3, 2, 2, 2], { stride: 2 }, true],
    ['1x1 input', [1, 2, 1, 1], [2, 3, 3, 3], {}, true],
    ['groups 2', [1, 4, 4, 4], [4, 3, 3, 3], { stride: 2, padding: 1, groups: 2 }, true],
    ['dilation 2', [1, 2, 4, 5], [2, 3, 3, 3], { padding: 1, dilation: 2 }, false],
    ['depthwise (groups = C)', [2, 3, 5, 5], [3, 1, 3, 3], { stride: 2, padding: 1, groups: 3 }, true],
    ['stride 3, rectangular', [1, 2, 3, 4], [2, 2, 2, 3], { stride: [3, 2], padding: [0, 1], outputPadding: [2, 1] }, true],
  ];
  for (const [label, xs, ws, o, b] of cases) {
    it(label, () => testOp({ name: `convTranspose2d ${label}`, shapes: b ? [xs, ws, [ws[1]! * (o.groups ?? 1)]] : [xs, ws], ours: oursT(o), ref64: convT64(o), ...tol }));
  }
  // Stride 1, groups 1: conv^T through the subgroup implicit GEMM (convVariants.subgroupDgrad; with a
  // bias and dilation; one k or a kernel row per loop step), where the device has 8-lane subgroups.
  for (const [label, xs, ws, o, b] of cases.filter((c) => c[0] === '3x3 s1 p1' || c[0] === 'dilation 2')) {
    for (const rowStep of [false, true]) {
      it.runIf(L.fixedSubgroupSize() === 8)(`${label}, subgroup kernel${rowStep ? ', row step' : ''}`, async () => {
        const saved = { ...L.convVariants };
        L.convVariants.subgroupDgrad = true;
        L.convVariants.subgroup = { tm: 8, tb: 4, rowStep };
        L.convVariants.subgroupMinM = 1;
        try {
          await testOp({ name: `convTranspose2d ${label} subgroup${rowStep ? ' row step' : ''}`, shapes: b ? [xs, ws, [ws[1]!]] : [xs, ws], ours: oursT(o), ref64: convT64(o), ...tol });
        } finally {
          Object.assign(L.convVariants, saved);
        }
      });
    }
  }
  it('matches tfjs conv2dTranspose (groups 1, sanity)', () =>
    testOp({
      name: 'convT vs tfjs', shapes: [[1, 3, 4, 4], [3, 2, 3, 3]], ours: oursT({ stride: 2 }), atol: 1e-4, rtol: 1e-4,
      ref: (x, w) => {
        // tfjs filter [kh, kw, outC, inC]; 'valid' output size (H-1)*s + k.
        const y = tf.conv2dTranspose(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, [1, 9, 9, 2], 2, 'valid');
        return tf.transpose(y, [0, 3, 1, 2]);
      },
    }));
});

describe('conv2d splits long weight-gradient reductions', () => {
  it('batch 7, 16x16, few weights (many splits)', () =>
    testOp({ name: 'conv2d long reduction', shapes: [[7, 2, 16, 16], [3, 2, 3, 3], [3]], ours: ours({ padding: 1 }), ref: tfConv({ padding: 1 }), ...tol }));
});

describe('conv bad inputs', () => {
  const z = (s: number[]) => L.zeros(s);
  it('channel mismatch', () => expect(() => L.conv2d(z([1, 4, 5, 5]), z([2, 3, 3, 3]), null)).toThrow(/conv2d.*channel mismatch.*\[1, 4, 5, 5\].*\[2, 3, 3, 3\]/));
  it('Cin not divisible by groups', () => expect(() => L.conv2d(z([1, 5, 5, 5]), z([4, 2, 3, 3]), null, { groups: 2 })).toThrow(/conv2d.*5.*not divisible by groups 2/));
  it('Cout not divisible by groups', () => expect(() => L.conv2d(z([1, 4, 5, 5]), z([3, 2, 3, 3]), null, { groups: 2 })).toThrow(/conv2d.*output channels 3.*not divisible/));
  it('kernel larger than the padded input', () => expect(() => L.conv2d(z([1, 1, 2, 2]), z([1, 1, 5, 5]), null, { padding: 1 })).toThrow(/conv2d.*larger than the padded input.*empty output/));
  it('bias of the wrong size', () => expect(() => L.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), z([3]))).toThrow(/conv2d.*bias \[3\] must be \[4\]/));
  it('x of rank 3', () => expect(() => L.conv2d(z([3, 5, 5]), z([4, 3, 3, 3]), null)).toThrow(/conv2d.*x must have rank 4.*\[3, 5, 5\]/));
  it('weight of rank 2', () => expect(() => L.conv2d(z([1, 3, 5, 5]), z([4, 3]), null)).toThrow(/conv2d.*weight must have rank 4/));
  it('stride 0', () => expect(() => L.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), null, { stride: 0 })).toThrow(/conv2d.*stride/));
  it('negative padding', () => expect(() => L.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), null, { padding: -1 })).toThrow(/conv2d.*padding/));
  it('string padding is not accepted', () =>
    expect(() => L.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), null, { padding: 'same' as unknown as number })).toThrow(/conv2d.*padding/));
  it('unknown option', () => expect(() => L.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), null, { outputPadding: 1 } as never)).toThrow(/conv2d.*unknown option "outputPadding"/));
  it('groups 0', () => expect(() => L.conv2d(z([1, 3, 5, 5]), z([4, 3, 3, 3]), null, { groups: 0 })).toThrow(/conv2d.*groups/));
  it('convTranspose2d channel mismatch', () => expect(() => L.convTranspose2d(z([1, 4, 5, 5]), z([3, 2, 3, 3]), null)).toThrow(/convTranspose2d.*channel mismatch/));
  it('convTranspose2d outputPadding too large', () =>
    expect(() => L.convTranspose2d(z([1, 2, 5, 5]), z([2, 2, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(/convTranspose2d.*outputPadding/));
  it('convTranspose2d bias of the wrong size', () => expect(() => L.convTranspose2d(z([1, 2, 5, 5]), z([2, 3, 3, 3]), z([2]))).toThrow(/convTranspose2d.*bias \[2\] must be \[3\]/));
  it('convTranspose2d empty output', () => expect(() => L.convTranspose2d(z([1, 1, 1, 1]), z([1, 1, 1, 1]), null, { padding: 1 })).toThrow(/convTranspose2d.*empty output/));
  it('convTranspose2d x of rank 5', () => expect(() => L.convTranspose2d(z([1, 1, 1, 1, 1]), z([1, 1, 1, 1]), null)).toThrow(/convTranspose2d.*rank 4/));
});
