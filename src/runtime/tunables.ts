// The built-in tunables: the kernel variants the autotuner times per adapter and shape class, and a
// representative workload for each class (src/runtime/shape-class.ts writes and parses classes).
//   matmul           matmulTuning: with 8-lane subgroups the subgroup kernel, 32 x 32 tiles, 4 k per
//                    step (default) / 2 k / 1 k, 64 x 32 with 2 k / 1 k, 32 x 64 with 4 k, or the
//                    register-blocked kernel; register blocks
//                    8x16 (the default elsewhere) / 8x8 / 4x4 / 16x16, vec4-along-K, fitN off;
//                    shared-memory tiled, vec4 shared-memory tiles (tiledVec4), split-K (on from
//                    K 4096 by default; more / fewer splits, from K 1024, or off)
//   conv             conv2d forward, groups 1: 3x3 at stride 1 with 8+ channels Winograd F(4x4, 3x3)
//                    (default; any other variant turns it off); with 8-lane subgroups the implicit GEMM of
//                    conv_subgroup, 32 x 64 tiles a kernel row per step (default) / 64 x 32 / 32 x 32
//                    rows, 64 x 32 one k per step, or direct; direct (conv_fwd, register block of
//                    channels x pixels) or GEMM (im2col + the tuned matmul, ops/conv-gemm.ts)
//   conv-dgrad       conv2d backward-data: Winograd as the forward (default there); with 8-lane subgroups at stride 1 conv_subgroup's
//                    transposed form (default, the conv's block) or direct; direct (conv_tgather) or
//                    GEMM (matmul + col2im)
//   conv-wgrad       conv2d backward-weight: Winograd as the forward (default there); with 8-lane subgroups the split-K GEMM of
//                    conv_wgrad_subgroup (default; 64 x 32 blocks, more splits), or
//                    direct (conv_wgrad: weights per invocation, reduction
//                    split) or GEMM (one product against the transposed im2col)
//   depthwise        depthwise forward and backward-data (depthwise_rows: rows per invocation, vec4
//                    loads of x, split accumulators; or the generic kernel)
//   depthwise-wgrad  depthwise backward-weight (depthwise_wgrad)
//   reduce           sum / mean / max: split into partial sums (two passes) or a shared-memory tree
//   elementwise      unary / binary / broadcast kernels: vec4s per invocation (grid-stride), or one
//                    output per invocation (GPU style)
// The default (variants[0], {}) is the lavapipe choice; the output of every other variant must match
// it (tune()) before it can win.
import { registerTunable, type Variant } from './autotune.js';
import { rand } from './random.js';
import { matmul, matmulTuning } from './ops/matmul.js';
import { SUBGROUP_LANES } from './ops/matmul-subgroup.js';
import { fixedSubgroupSize } from './device.js';
import { convKernels, convVariants } from './ops/conv.js';
import { isMatmulSample, parseMatmulClass, parseConvClass, parseDepthwiseClass, parseElementwiseClass, parseReduceClass } from './shape-class.js';
import { sum, reduceTuning } from './ops/reduce.js';
import { add, binaryTuning } from './ops/elementwise.js';
import { elementwiseTuning } from './ops/activation.js';

const v = (id: string, knobs: Record<string, unknown> = {}): Variant => ({ id, knobs });
const sg8 = () => fixedSubgroupSize() === SUBGROUP_LANES;

registerTunable({
  name: 'matmul',
  target: matmulTuning,
  variants: [
    v('default'), // the subgroup kernel (32 x 32 tiles, 4 k per step, vec4 reads where aligned) where the device has 8-lane subgroups, else reg 8x16
    // Subgroup kernel blocks (8·tm x 8·tb tiles, ku k's per loop step; lavapipe).
    { ...v('sg-32x32-k2', { subgroup: { tm: 4, tb: 4, ku: 2 } }), when: sg8 },
    { ...v('sg-32x32-k1', { subgroup: { tm: 4, tb: 4, ku: 1 } }), when: sg8 },
    { ...v('sg-64x32-k2', { subgroup: { tm: 8, tb: 4, ku: 2 } }), when: sg8 },
    { ...v('sg-64x32-k1', { subgroup: { tm: 8, tb: 4, ku: 1 } }), when: sg8 },
    { ...v('sg-32x64-k4', { subgroup: { tm: 4, tb: 8, ku: 4 } }), when: sg8 },
    { ...v('sg-64x32-k4', { subgroup: { tm: 8, tb: 4, ku: 4 } }), when: sg8 },
    { ...v('sg-32x32-k4-scalar', { subgroup: { tm: 4, tb: 4, ku: 4, vec4: false } }), when: sg8 }, // the default block without vec4 reads
    // Register-blocked kernel (the default where there are no 8-lane subgroups).
    { ...v('reg', { subgroup: null }), when: sg8 },
    v('reg-8x8', { subgroup: null, tm: 8, tnv: 2, transB: { tm: 8, tnv: 2 } }),
    v('reg-4x4', { subgroup: null, tm: 4, tnv: 1, transB: { tm: 4, tnv: 1 } }),
    v('reg-16x16', { subgroup: null, tm: 16, tnv: 4, transB: { tm: 16, tnv: 4 } }),
    v('reg-kvec', { subgroup: null, kvec: true }),
    v('reg-no-fitn', { subgroup: null, fitN: false }), // workgroup as tuned along N even where N needs fewer than 8 lanes
    v('tiled', { tiled: true }),
    v('v4-8x8', { tiledVec4: { tm: 8, tnv: 2 } }), // vec4 shared-memory tiles, 8x8 per invocation (SwiftShader)
    v('splitk-32', { splitK: { minK: 1024, workgroups: 32, minChunk: 256 } }), // split-K: more splits, from K 1024
    v('splitk-8', { splitK: { minK: 1024, workgroups: 8, minChunk: 256 } }), // fewer splits, from K 1024
    v('no-splitk', { splitK: null }),
  ],
  shapeClasses: ['nn.m1024.k1024.n1024', 'nt.m64.k512.n512', 'tn.m128.k32768.n32'],
  // Timed on the real product where autotune(fn) met one (the sample ops/matmul.ts passes): the
  // class's sizes are rounded and M, N capped at 1024, and on a 2-core CPU the tile count itself
  // decides (split-K of EdgeFace-XXS's tn 96 x 25088 x 24, 3 tiles: 1.19x faster split; its class's
  // representative tn 128 x 32768 x 32, 4 tiles, ran fastest whole, 2026-12-07).
  workload(shapeClass, sample) {
    const { transA, transB, M, K, N, batch } = isMatmulSample(sample, shapeClass) ? sample : parseMatmulClass(shapeClass);
    const lead = batch > 1 ? [batch] : [];
    const a = rand([...lead, ...(transA ? [K, M] : [M, K])], 1, -1, 1);
    const b = rand([...lead, ...(transB ? [N, K] : [K, N])], 2, -1, 1);
    return {
      run: () => matmul(a, b, { transA, transB }),
      dispose: () => { a.dispose(); b.dispose(); },
      inner: batch * M * K * N >= 2 ** 28 ? 2 : 8,
    };
  },
});

type Geom = Parameters<typeof convKernels.corr>[3];

/** A conv geometry for a class: output side hw (input hw * stride), "same"-style padding. */
function convGeom(c: ReturnType<typeof parseConvClass>): Geom {
  const ph = Math.floor((c.dh * (c.kh - 1)) / 2), pw = Math.floor((c.dw * (c.kw - 1)) / 2);
  const H = c.hw * c.sh, W = c.hw * c.sw;
  const Ho = Math.floor((H + 2 * ph - c.dh * (c.kh - 1) - 1) / c.sh) + 1;
  const Wo = Math.floor((W + 2 * pw - c.dw * (c.kw - 1) - 1) / c.sw) + 1;
  return { N: c.n, Ci: c.ci, H, W, Co: c.co, Ho, Wo, kh: c.kh, kw: c.kw, sh: c.sh, sw: c.sw, ph, pw, dh: c.dh, dw: c.dw, G: 1 };
}

function depthwiseGeom(c: ReturnType<typeof parseDepthwiseClass>): Geom {
  const p = (c.k - 1) >> 1;
  const Ho = c.hw + 2 * p - c.k + 1;
  return { N: c.n, Ci: c.c, H: c.hw, W: c.hw, Co: c.c, Ho, Wo: Ho, kh: c.k, kw: c.k, sh: 1, sw: 1, ph: p, pw: p, dh: 1, dw: 1, G: c.c };
}

type Which = 'corr' | 'corrT' | 'wgrad';

function convWorkload(g: Geom, which: Which) {
  const x = rand([g.N, g.Ci, g.H, g.W], 3, -1, 1);
  const w = rand([g.Co, g.Ci / g.G, g.kh, g.kw], 4, -1, 1);
  const dy = rand([g.N, g.Co, g.Ho, g.Wo], 5, -1, 1);
  const flops = 2 * g.N * g.Co * g.Ho * g.Wo * (g.Ci / g.G) * g.kh * g.kw;
  return {
    run: () =>
      which === 'corr' ? convKernels.corr(x, w, null, g)
        : which === 'corrT' ? convKernels.corrT(dy, w, null, g)
          : convKernels.wgrad(dy, x, g),
    dispose: () => { x.dispose(); w.dispose(); dy.dispose(); },
    inner: flops >= 2e9 ? 2 : flops >= 2e8 ? 4 : 8,
  };
}

const convBlocks = [
  v('default'), v('px8', { px: 8 }), v('cb8', { cb: 8 }), v('px8-cb8', { px: 8, cb: 8 }), v('px4-cb4', { px: 4, cb: 4 }),
  v('gemm', { gemm: true }),
];
const CONV_CLASSES = ['k3x3.s1x1.ci128.co128.hw32.n8', 'k1x1.s1x1.ci64.co128.hw14.n32'];

registerTunable({
  name: 'conv',
  target: convVariants,
  // The default is the subgroup implicit GEMM where the device has 8-lane subgroups (px / cb then
  // tune nothing); 'direct' is conv_fwd there.
  // Winograd (3x3, stride 1, 8+ channels) is the default for its classes; every other variant turns it off.
  variants: [
    ...[
      ...convBlocks,
      { ...v('sg-64x32-row', { subgroup: { tm: 8, tb: 4, rowStep: true } }), when: sg8 },
      { ...v('sg-32x64-row', { subgroup: { tm: 4, tb: 8, rowStep: true } }), when: sg8 },
      { ...v('sg-64x32-k1', { subgroup: { tm: 8, tb: 4, rowStep: false } }), when: sg8 },
      { ...v('direct', { subgroup: null }), when: sg8 },
    ].map((x, i) => (i === 0 ? x : { ...x, knobs: { ...x.knobs, winograd: false } })),
    v('no-winograd', { winograd: false }),
  ],
  shapeClasses: CONV_CLASSES,
  workload: (c) => convWorkload(convGeom(parseConvClass(c)), 'corr'),
});

registerTunable({
  name: 'conv-dgrad',
  target: convVariants,
  variants: [
    ...[
      ...convBlocks, // with 8-lane subgroups, stride 1: conv_subgroup's transposed form
      { ...v('sg-64x32-row', { subgroup: { tm: 8, tb: 4, rowStep: true } }), when: sg8 },
      { ...v('sg-32x64-row', { subgroup: { tm: 4, tb: 8, rowStep: true } }), when: sg8 },
      { ...v('gather', { subgroupDgrad: false }), when: sg8 },
    ].map((x, i) => (i === 0 ? x : { ...x, knobs: { ...x.knobs, winogradDgrad: false } })),
    v('no-winograd', { winogradDgrad: false }),
  ],
  shapeClasses: CONV_CLASSES,
  workload: (c) => convWorkload(convGeom(parseConvClass(c)), 'corrT'),
});

registerTunable({
  name: 'conv-wgrad',
  target: convVariants,
  // default: Winograd for 3x3 stride 1, 8+ channels; otherwise with 8-lane subgroups (groups 1, 8+
  // channels) the subgroup split-K GEMM, else conv_wgrad. Every other variant turns Winograd off.
  variants: [
    v('default'),
    ...[
      { ...v('sg-64x32', { subgroupWgrad: { tm: 8, tb: 4, ku: 4, workgroups: 128 } }), when: sg8 },
      { ...v('sg-more-splits', { subgroupWgrad: { tm: 4, tb: 8, ku: 4, workgroups: 512 } }), when: sg8 },
      { ...v('direct', { subgroupWgrad: null }), when: sg8 },
      v('j4', { subgroupWgrad: null, wgradCiJ: 4, wgradKxJ: 4 }),
      v('split-more', { subgroupWgrad: null, wgradMinInvocations: 32768, wgradMinRowsPerSplit: 2 }),
      v('split-less', { subgroupWgrad: null, wgradMinInvocations: 2048 }),
      v('gemm', { gemm: true }),
      v('no-winograd'),
    ].map((x) => ({ ...x, knobs: { ...x.knobs, winogradWgrad: false } })),
  ],
  shapeClasses: CONV_CLASSES,
  workload: (c) => convWorkload(convGeom(parseConvClass(c)), 'wgrad'),
});

registerTunable({
  name: 'depthwise',
  target: convVariants,
  variants: [
    v('default'),
    v('rows2', { dwRows: 2 }),
    v('rows8', { dwRows: 8 }),
    v('rows8-skip', { dwRows: 8, dwTapSkip: true, dwRowSkip: true }),
    v('no-plane', { dwPlane: false }),
    v('plane-all', { dwPlaneMaxTaps: 1 << 30 }),
    v('no-x4', { dwX4: false }),
    v('unsplit', { dwSplit: false, dwX4: false, dwRows: 2 }),
    v('seg8', { dwSeg: 8 }),
    v('uniformC', { dwSegUniformC: true }),
    v('generic', { dwFast: false }),
  ],
  shapeClasses: ['k3.c64.hw56.n4', 'k7.c128.hw28.n4'],
  workload: (c) => convWorkload(depthwiseGeom(parseDepthwiseClass(c)), 'corr'),
});

registerTunable({
  name: 'depthwise-wgrad',
  target: convVariants,
  variants: [
    v('default'),
    v('seg16', { dwWgradSeg: 16 }),
    v('ky2', { dwWgradKyRows: 2 }),
    v('split-more', { dwWgradMinInvocations: 16384 }),
    v('generic', { dwFast: false }),
  ],
  shapeClasses: ['k7.c88.hw14.n32'],
  workload: (c) => convWorkload(depthwiseGeom(parseDepthwiseClass(c)), 'wgrad'),
});

// One knob object over two: elementwiseTuning (activation.ts) and binaryTuning (elementwise.ts).
const elementwiseKnobs = {
  get vec4PerInvocation() { return elementwiseTuning.vec4PerInvocation; },
  set vec4PerInvocation(v: number) { elementwiseTuning.vec4PerInvocation = v; },
  get minInvocations() { return elementwiseTuning.minInvocations; },
  set minInvocations(v: number) { elementwiseTuning.minInvocations = v; },
  get binaryVec4() { return binaryTuning.vec4; },
  set binaryVec4(v: boolean) { binaryTuning.vec4 = v; },
};

registerTunable({
  name: 'elementwise',
  target: elementwiseKnobs,
  variants: [
    v('default'),
    v('vec4x4', { vec4PerInvocation: 4 }),
    v('vec4x1', { vec4PerInvocation: 1 }),
    v('scalar', { binaryVec4: false, vec4PerInvocation: 1 }),
  ],
  shapeClasses: ['n65536', 'n1048576'],
  workload(c) {
    const n = parseElementwiseClass(c);
    const x = rand([n], 6, -1, 1), y = rand([n], 7, -1, 1);
    return { run: () => add(x, y), dispose: () => { x.dispose(); y.dispose(); }, inner: 16 };
  },
});

registerTunable({
  name: 'reduce',
  target: reduceTuning,
  variants: [
    v('default'),
    v('tree', { variant: 'tree' }),
    v('split-wide', { targetThreads: 32768 }),
    v('one-pass', { singlePassMax: 1 << 20 }),
  ],
  shapeClasses: ['o64.r65536', 'o1.r1048576'],
  workload(c) {
    const { nOut, R } = parseReduceClass(c);
    // Rows of the reduced length (capped so the proxy stays under 2^24 elements).
    const r = Math.min(R, Math.max(1, Math.floor((1 << 24) / nOut)));
    const x = rand([nOut, r], 8, -1, 1);
    return { run: () => sum(x, 1), dispose: () => x.dispose(), inner: 8 };
  },
});
