// Convolutions: conv2d (any stride / padding / dilation / groups, with a specialised depthwise
// kernel) and convTranspose2d, forward and backward side by side. NCHW, PyTorch weight layouts.
//
// Everything is expressed in terms of one "conv geometry" g (input [N,Ci,H,W], output
// [N,Co,Ho,Wo], weight [Co, Ci/G, kh, kw]) and three kernels:
//   corr   (conv_fwd / depthwise):            y  = conv(x, w)           [N,Ci,H,W]  -> [N,Co,Ho,Wo]
//   corrT  (conv_tgather / depthwise TRANSP.): x' = conv^T(y, w)         [N,Co,Ho,Wo] -> [N,Ci,H,W]
//   wgrad  (conv_wgrad):                       dw = sum dy (x) x         -> [Co, Ci/G, kh, kw]
// Depthwise (groups == Ci == Co) with stride 1 and dilation 1 takes register-blocked kernels
// (convVariants.dwFast): depthwise_rows for corr and for corrT (the rotated kernel, padding k-1-p)
// and depthwise_wgrad for wgrad; other depthwise geometries use depthwise / conv_wgrad.
// conv2d:          forward corr, backward-data corrT, backward-weight wgrad(dy, x).
// convTranspose2d: forward corrT (its weight [Cin, Cout/G, kh, kw] is the conv weight of the
//                  geometry with Co = Cin, Ci = Cout), backward-data corr, backward-weight wgrad(x, dy).
import { Tensor, empty, fmtShape, derivedIf } from '../tensor.js';
import { getEngine, grid1d, u32, i32 } from '../engine.js';
import { record, isGradEnabled, noGrad } from '../autograd.js';
import { prelu, relu as reluOp, reluBackwardNoGrad } from './activation.js';
import { add, scale, broadcastTo } from './elementwise.js';
import { pixelShuffleNoGrad } from './pixelshuffle.js';
import { matmulNoGrad } from './matmul.js';
import { sum, sumRows2 } from './reduce.js';
import { corrGemm, corrTGemm, wgradGemm, gemmOk } from './conv-gemm.js';
import { withVariant } from '../autotune.js';
import { corrWinograd, wgradWinograd, winogradOk, backwardWinograd } from './conv-winograd.js';
import { addMacs } from '../macs.js';
import { convClass, depthwiseClass } from '../shape-class.js';
import { sameShape } from '../shape.js';
import { fixedSubgroupSize } from '../device.js';
import { SUBGROUP_LANES, subgroupConvDefines, subgroupGrid, subgroupWgradDefines } from './matmul-subgroup.js';

type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/** Conv geometry (see the header). */
export interface Geom {
  N: number; Ci: number; H: number; W: number;
  Co: number; Ho: number; Wo: number;
  kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
  G: number;
}

/** The subgroup conv's block: 8·tm output channels x 8·tb pixels per subgroup; rowStep: a loop step
 *  takes a whole kernel row (kw k's, each accumulator written once; kernels 2 to MAX_ROW_STEP wide). */
export interface SubgroupConvBlock { tm: number; tb: number; rowStep: boolean }
const MAX_ROW_STEP = 7;

/**
 * Paths the autotuner does not choose between: not in convVariants, whose contents go into the
 * signature of every conv tunable (autotune.ts), so that a change here leaves the shipped table's
 * entries valid.
 */
export const convPaths = {
  /**
   * The backward-data of a patchify conv (kernel = stride s > 1, no padding or dilation:
   * EdgeFace-XXS's downsamplers) as one batched product wᵀ·dy (the tuned matmul) and a pixel shuffle
   * by s, instead of conv_tgather; the shuffle writes zeros to the rows and columns the patches leave
   * unused (H or W not a multiple of s). EdgeFace-XXS's three at batch 32 (28 -> 14, 24 -> 48
   * channels; 14 -> 7, 48 -> 88): 16.95 -> 5.23 and 10.22 -> 4.99 ms of kernel time (2026-12-07,
   * `npx tsx bench/probe-patchify-dgrad.ts 9`); 7 -> 3, 88 -> 168 (the last row and column unused)
   * 5.67 -> 2.17 ms (2026-12-08, the same command); the subgroup conv as a 1x1 conv with shuffled
   * stores was slower than the product (12.5 and 9.7 against 20.0 and 11.5 for conv_tgather, a
   * scratch run).
   */
  patchifyDgrad: true,
  /**
   * conv2dFused's epilogues (ReLU, residual + scale · y) in the Winograd output transform's stores
   * (under recording with one epilogue too); off: conv2dFused is the composition of the ops.
   */
  fuseEpilogues: true,
  /**
   * Where Winograd takes both gradients of a 3x3 conv at padding 1, one pass over dy per chunk writes
   * both transforms of dy (conv-winograd.ts backwardWinograd); off: the two backwards apart.
   */
  fuseDyTransforms: true,
  /**
   * An inference forward (no gradient recorded) keeps each weight's Winograd transform, or conv_fwd's /
   * conv_tgather's packed weight (convTranspose2d), and WnConv2d's weight-normalised kernel, with the
   * weight (Tensor.derived) and reuses it while the weight is unwritten (inferenceWeightCache).
   */
  cacheWeightTransforms: true,
  /**
   * In inference, a transposed conv with kernel 4, stride 2, padding 1 (pix2pix's, the UNet's decoder)
   * as a 3x3 conv of 4·Cout channels and a pixel shuffle (convTSubpixel), its weight rearranged once.
   */
  subpixelConvT: true,
  /**
   * ... where the input has at least this many pixels over the batch (N·H·W): below it, the 3x3 conv's
   * larger weight (2.25x, and Winograd's transform of it 4x the transposed kernel) costs more to read than
   * the few pixels save. The UNet at batch 1 (`npx lrfr profile --model unet --batch 1 --size 16`, GPU ms
   * per level, conv_tgather against sub-pixel): inputs 1x1 0.27 / 3.5+, 2x2 1.2 / 5.1, 4x4 2.8 / 5.1,
   * 8x8 5.5 / 4.0, 16x16 5.2 / 1.7, 32x32 6.4 / 1.4, 64x64 3.2 / 1.5 (2026-12-07).
   */
  subpixelMinPixels: 64,
};

/**
 * Whether a weight's transforms (Winograd's U, packed layouts, a weight-normalised kernel) are kept
 * with it now (Tensor.derived): no gradient is recorded (inference), convPaths.cacheWeightTransforms is
 * on, and no collectPipelines is running (it computes nothing).
 */
export function inferenceWeightCache(): boolean {
  return convPaths.cacheWeightTransforms && !isGradEnabled() && !getEngine().collectingPipelines;
}

/** Kernel knobs; src/runtime/tunables.ts defines the autotuner's variants over them. */
export const convVariants = {
  /** Groups-1 convolutions as im2col + matmul (conv-gemm.ts) where gemmOk; depthwise never. */
  gemm: false,
  /** Groups 1, at least 8 output channels, on devices with fixed 8-lane subgroups (lavapipe): the
   *  forward (and, with subgroupDgrad, the backward-data at stride 1) as the implicit GEMM of
   *  shaders/conv_subgroup.wgsl, 8·tm output channels x 8·tb pixels per subgroup, a kernel row per
   *  loop step. null: conv_fwd / conv_tgather. Row steps measured 0.98-1.38x conv_fwd's speed on DSR's
   *  and EdgeFace-XXS's convs at batch 32, where one k per step (64 x 32) measured 0.73-1.24x
   *  (2026-12-05, bench/probe-conv-subgroup.ts). 32 x 32 since 2026-12-07 (was 32 x 64): as fast or
   *  faster in whole steps (MobileFaceNet's forward 0.90x the time, DSR-cpu's training step 0.97x, the
   *  others 0.99-1.02x) and each pipeline compiles in ~2 s instead of 4-6 s (README, First run). */
  subgroup: { tm: 4, tb: 4, rowStep: true } as SubgroupConvBlock | null,
  /** The backward-data at stride 1 through the same kernel (with `subgroup`, at least 8 input
   *  channels): 1.31-1.36x conv_tgather's speed on 3x3 convs at batch 32 with row steps (one k per
   *  step: 0.85-0.93x; `bench/probe-conv-subgroup.ts --dgrad`). */
  subgroupDgrad: true,
  /** The subgroup kernels only for at least this many output channels (the kernel's rows: 3 of a
   *  block's 16 in use measured 0.48x conv_tgather's speed on a 3 -> 64 conv's backward-data). */
  subgroupMinM: SUBGROUP_LANES,
  /** The weight gradient, groups 1, at least subgroupMinM output channels, on 8-lane subgroups: the
   *  split-K GEMM of shaders/conv_wgrad_subgroup.wgsl, 8·tm output channels x 8·tb weight columns
   *  (ci, ky, kx) per subgroup, ku pixels per loop step, the pixels split so that there are about
   *  `workgroups` workgroups. null: conv_wgrad. */
  subgroupWgrad: { tm: 4, tb: 8, ku: 4, workgroups: 128 } as { tm: number; tb: number; ku: number; workgroups: number } | null,
  /** Groups-1 3x3 convolutions at stride 1 (padding 0-2) with at least winogradMinChannels input and
   *  output channels as Winograd F(4x4, 3x3): transforms around 36 products through the tuned
   *  matmul, 4x fewer multiply-adds (conv-winograd.ts). On lavapipe at batch 32 (2026-12-06,
   *  `bench/probe-conv-subgroup.ts 3 --winograd`): DSR's 32 -> 32 on 32x32 1.37-1.39x the subgroup
   *  conv's speed, 32 -> 128 on 64x64 1.86-1.91x, 64 -> 64 1.96-2.15x; 32 -> 3 0.90x (hence the
   *  minimum). Forwards that autograd records too, unless winogradRecorded is off. */
  winograd: true,
  /** Winograd also for forwards that autograd records (training). Its rounding (~6e-6 of the output's
   *  scale, ~8x the direct sum's) moves pre-activations within that of zero across a ReLU (or an L1
   *  loss's kink), and one such flip shifts the gradients upstream of it: DSR-cpu at batch 1, Winograd
   *  vs direct forwards, 2.5e-2 max diff / max on the weight gradient behind the flipped ReLU (6.1e-3
   *  in L2), ~2e-4 on the others. So the checks against a reference at 1e-3 turn it off, and check the
   *  Winograd step against the direct one in L2 (bench/lib/models-main.ts, tests/models/dsr.test.ts).
   *  On: DSR-cpu's training step at batch 32 1850 -> 1582 ms (`lrfr profile --model dsr --train`,
   *  2026-12-06). F(2x2, 3x3), as exact as the direct sum, measured no faster than the subgroup conv.
   *  The backward passes' rounding flips nothing (no kink behind them). */
  winogradRecorded: true,
  /** A recorded Winograd forward keeps its input transforms V (2.25x the input's bytes) until the
   *  backward, where the weight gradient uses them instead of transforming x again. */
  winogradKeepV: true,
  /** The backward-data of those convolutions the same way (the rotated kernel): 1.25-2.08x. */
  winogradDgrad: true,
  /** The weight gradient of those convolutions the same way (the transposed transforms, dU = D · Vᵀ
   *  over the tiles): 1.71-2.49x the subgroup split-K GEMM's speed on DSR's convs (`--wgrad
   *  --winograd`), at ~3e-5 of the gradient's largest value against the direct sum's ~1e-6 (the
   *  transform domain's sums over thousands of tiles cancel in Gᵀ dU G). */
  winogradWgrad: true,
  /** Winograd only where the conv computed (for the backward-data: dy -> dx) has at least this many
   *  input and output channels (the products' K and M). */
  winogradMinChannels: 8,
  /** Winograd: largest transform-domain buffer per chunk of images, in bytes. */
  winogradMaxBytes: 64 * 2 ** 20,
  /** conv_fwd and conv_wgrad: stride 1, dilation 1 along W, kernel width up to this: each input of a
   *  row segment read once per (ky, ci) for every kx (the shaders' KW; 0: off). */
  stripMaxKw: 7,
  /** conv_fwd's and conv_wgrad's row strips read as aligned vec4s where the rows are multiples of 4 (stripX4). */
  stripX4: true,
  /** conv_fwd / conv_tgather: output pixels per invocation at most (0: automatic). */
  px: 0,
  /** conv_fwd / conv_tgather: output channels per invocation at most, 4, 8 or 16 (0: automatic). */
  cb: 0,
  /** depthwise forward, shader depthwise (strided / dilated, or dwFast off): 2 output rows per invocation. */
  dwRows2: true,
  /** depthwise forward, shader depthwise: one (n, c) plane per workgroup row, so weight loads are uniform. */
  dwUniformC: false,
  /** depthwise, stride 1, dilation 1: the register-blocked kernels (depthwise_rows / depthwise_wgrad). */
  dwFast: true,
  /** depthwise_rows: largest kernel side it takes (its loops unroll per kernel size). */
  dwFastMaxK: 11,
  /** depthwise_rows: output pixels along W per invocation at most (the segment S). */
  dwSeg: 16,
  /**
   * depthwise_rows: output rows per invocation (1 to 16; see also dwPlane). Measured on lavapipe
   * (probe-conv.ts --depthwise): with dwSplit 4 is best (fewer input rows loaded per output row;
   * 5 to 8 and 14 measured no better on the kernel-bench case, 16 worse on 28x28 planes); without
   * dwSplit 2 beats 1, and 3 and 4 blow past Mesa's loop-unroll limit for k >= 5 (~7x slower).
   */
  dwRows: 4,
  /** depthwise_rows: output rows per invocation for 3x3 (and smaller) kernels on planes of <= 8 rows. */
  dwRowsSmall: 4,
  /** depthwise_rows: lanes of a workgroup share the channel (uniform weight loads). */
  dwSegUniformC: false,
  /**
   * depthwise_rows: x row segments read as unaligned vec4 loads (phase picked with selects).
   * lavapipe scalarises every non-uniform load per lane and per component, but checks bounds once
   * per vec4: measured 10-15% less CPU time on the kernel-bench case.
   */
  dwX4: true,
  /**
   * depthwise_rows: one explicit accumulator row and tap row per output row (no loop over rows,
   * which Mesa would leave rolled), so dwRows 3 and 4 compile well. With dwRows 4 and dwX4:
   * ~17% less CPU time than dwRows 2 without both on the kernel-bench case (lavapipe).
   */
  dwSplit: true,
  /** depthwise_rows (dwSplit): skip the taps of an output row for input rows outside its kernel window. */
  dwTapSkip: false,
  /** depthwise_rows (dwSplit): skip (no loads, no taps) input rows that lie in the padding. */
  dwRowSkip: false,
  /** depthwise_rows (dwSplit): an invocation owning a whole plane (R = Ho, S = Wo, Ho*Wo % 4 == 0) writes vec4s. */
  dwVStore: true,
  /**
   * depthwise_rows (dwSplit): one invocation per (n, c) plane (R = Ho, with dwTapSkip, dwRowSkip and
   * dwVStore: the row conditions are uniform) when Ho <= 16 and Ho * kw <= dwPlaneMaxTaps (the tap
   * rows it holds in registers). Measured on lavapipe (EdgeFace shapes, batch 32, process CPU per
   * call, interleaved): k5 48ch@14 -35%, k7 88ch@7 -30%, k9 168ch@4 -20..-33%; k7@14 (Ho * kw 98,
   * the kernel bench) no gain, so it keeps dwRows.
   */
  dwPlane: true,
  dwPlaneMaxTaps: 80,
  /** depthwise_wgrad: output pixels along W per segment at most. */
  dwWgradSeg: 8,
  /** depthwise_wgrad: tap rows per invocation (dy is loaded once for all of them). */
  dwWgradKyRows: 1,
  /** depthwise_wgrad: aim for at least this many invocations by splitting the N*Ho reduction. */
  dwWgradMinInvocations: 4096,
  /** wgrad: aim for at least this many invocations by splitting the N*Ho reduction. */
  wgradMinInvocations: 8192,
  /** wgrad: weights along kx per invocation when blocking along kx (depthwise). */
  wgradKxJ: 8,
  /** wgrad: weights along ci per invocation otherwise. */
  wgradCiJ: 8,
  /** wgrad: rows (n, oh) per split at least this many. */
  wgradMinRowsPerSplit: 4,
};

// ---- argument checking ------------------------------------------------------------------------

function pair(op: string, name: string, v: Pair | undefined, dflt: number, min: number): [number, number] {
  if (v === undefined) return [dflt, dflt];
  const p: readonly number[] = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) && typeof v !== 'number') throw new Error(`${op}: ${name} must be a number or [h, w], got ${String(v)}`);
  if (p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new Error(`${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0]!, p[1]!];
}

function checkKeys(op: string, opts: object, allowed: string[]): void {
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new Error(`${op}: unknown option "${k}" (supported: ${allowed.join(', ')})`);
  }
}

function checkRank4(op: string, what: string, t: Tensor): void {
  if (t.rank !== 4) throw new Error(`${op}: ${what} must have rank 4, got ${fmtShape(t.shape)}`);
}

function checkBias(op: string, bias: Tensor | null, C: number, x: Tensor, w: Tensor): void {
  if (!bias) return;
  bias.check(op, 'bias');
  if (bias.rank !== 1 || bias.shape[0] !== C) {
    throw new Error(`${op}: bias ${fmtShape(bias.shape)} must be [${C}] (x ${fmtShape(x.shape)}, weight ${fmtShape(w.shape)})`);
  }
}

// ---- kernels ------------------------------------------------------------------------------------

const isDepthwise = (g: Geom) => g.G === g.Ci && g.G === g.Co;

/**
 * Register block of conv_fwd / conv_tgather: CB output channels x PX pixels per invocation.
 * Measured on lavapipe (bench/probe-conv.ts, 3x3 112->112 on 32x32): 16x16 and 8x16 are the
 * fastest (divergent loads of x dominate, so more channels per load pay); clipped to the problem.
 */
function blockFor(channels: number, pixels: number): { px: number; cb: number } {
  let cb = convVariants.cb || 16;
  while (cb > 4 && cb / 2 >= channels) cb /= 2;
  let px = convVariants.px || 16;
  while (px > 2 && px / 2 >= pixels) px /= 2;
  return { px, cb };
}

/** conv_fwd's and conv_wgrad's KW: the kernel width where a row segment's inputs serve every kx (convVariants.stripMaxKw), else 0. */
const stripKw = (g: Geom) => (g.sw === 1 && g.dw === 1 && g.kw <= convVariants.stripMaxKw ? g.kw : 0);

/**
 * The vec4 row segments (X4) of conv_fwd and conv_wgrad: with row strips, W and px multiples of 4 and
 * convVariants.stripX4, the segment's PX + KW − 1 inputs come from X4N aligned vec4s starting
 * 4·ceil(pw / 4) columns left of the block (input s is element s + X4OFF of them); px 0: off.
 */
function stripX4(g: Geom, px: number): { X4: boolean; X4OFF: number; X4N: number } {
  const kw = stripKw(g);
  if (!convVariants.stripX4 || !kw || g.W % 4 !== 0 || px <= 0 || px % 4 !== 0 || g.pw < 0) return { X4: false, X4OFF: 0, X4N: 0 };
  const left = 4 * Math.ceil(g.pw / 4), right = 4 * Math.ceil(Math.max(0, kw - 1 - g.pw) / 4);
  return { X4: true, X4OFF: left - g.pw, X4N: (left + px + right) / 4 };
}

/** conv_wgrad's output pixels per step in its row-strip form (8 measured 4x slower than 2: spills). */
const WGRAD_STRIP_PX = 2;
/** The same with vec4 reads (X4): one vec4 of dy per channel (8 measured 4-7x slower than 4, 2026-12-07: spills). */
const WGRAD_X4_PX = 4;

function geomUniforms(g: Geom) {
  return [u32(g.kh), u32(g.kw), i32(g.sh), i32(g.sw), i32(g.ph), i32(g.pw), i32(g.dh), i32(g.dw)];
}

/** Weight [Co, Ci/G, kh, kw] repacked for vec4 loads over output (forTranspose: input) channels. */
/**
 * keep: the packed weight is kept with w (Tensor.derived: it depends on w, the groups and the multiple,
 * w's shape fixing the rest); release() disposes it unless kept.
 */
function packWeight(w: Tensor, g: Geom, forTranspose: boolean, multiple = 4, keep = false): { packed: Tensor; blocks: number; release: () => void } {
  const cig = g.Ci / g.G, cog = g.Co / g.G, K = g.kh * g.kw;
  const P = forTranspose ? cig : cog;
  const Q = forTranspose ? cog : cig;
  const Ppad = Math.ceil(P / multiple) * multiple;
  const n = g.G * K * Q * Ppad;
  const sG = cog * cig * K;
  const sP = forTranspose ? K : cig * K;
  const sQ = forTranspose ? cig * K : K;
  const { t: packed, release } = derivedIf(keep, w, `conv-pack${forTranspose ? 'T' : ''}-g${g.G}-m${multiple}`, () => {
    const t = empty([n]);
    getEngine().run({
      name: 'conv_pack', shader: 'conv_pack', inputs: [w], outputs: [t],
      uniforms: [u32(n), u32(K), u32(Q), u32(P), u32(Ppad), u32(sG), u32(sQ), u32(sP)],
      workgroups: grid1d(n, 64),
    });
    return t;
  });
  return { packed, blocks: Ppad / 4, release };
}

/** The register-blocked depthwise kernels apply: stride 1, dilation 1, a kernel they unroll. */
const dwFastOk = (g: Geom) =>
  convVariants.dwFast && isDepthwise(g) && g.sh === 1 && g.sw === 1 && g.dh === 1 && g.dw === 1 &&
  g.kh <= convVariants.dwFastMaxK && g.kw <= convVariants.dwFastMaxK;

/** depthwise_rows: most output rows per invocation (the shader's R2 .. R16 accumulator rows). */
const DW_MAX_ROWS = 16;

/** Segment width: at most `max`, the W extent split into equal segments (28 -> 14, 7 -> 7). */
function segWidth(W: number, max: number): number {
  return Math.ceil(W / Math.ceil(W / max));
}

/**
 * depthwise_rows: out[N,C,Ho,Wo] = conv(inp[N,C,Hi,Wi], w, padding ph/pw) + bias, stride 1, then
 * PReLU with slopes alpha [C] when given. flip: the kernel rotated by 180 degrees (backward-data as a
 * forward conv).
 */
function depthwiseRows(inp: Tensor, w: Tensor, bias: Tensor | null, out: Tensor, g: Geom, Hi: number, Wi: number,
  Ho: number, Wo: number, ph: number, pw: number, flip: boolean, alpha: Tensor | null = null): boolean {
  const N = g.N, C = g.Co;
  const S = segWidth(Wo, convVariants.dwSeg);
  const plane = convVariants.dwSplit && convVariants.dwPlane && Ho <= DW_MAX_ROWS && S === Wo &&
    Ho * g.kw <= convVariants.dwPlaneMaxTaps;
  const rows = plane ? Ho : g.kh <= 3 && Ho <= 8 ? convVariants.dwRowsSmall : convVariants.dwRows;
  const R = Math.max(1, Math.min(rows, Ho, DW_MAX_ROWS));
  const rowFlags: Record<string, boolean> = {};
  for (let q = 2; q <= DW_MAX_ROWS; q++) rowFlags[`R${q}`] = R >= q;
  const segs = Math.ceil(Wo / S);
  const rowBlocks = Math.ceil(Ho / R);
  const uni = convVariants.dwSegUniformC && C <= getEngine().maxWorkgroups;
  const vstore = convVariants.dwSplit && convVariants.dwVStore && R === Ho && S === Wo && (Ho * Wo) % 4 === 0;
  const total = (uni ? N : N * C) * rowBlocks * segs;
  if (N * C * rowBlocks * segs >= 1 << 24) return false; // the shader's float divmod is exact below 2^24
  getEngine().run({
    name: flip ? 'depthwise_conv2d_transposed' : 'depthwise_conv2d', shader: 'depthwise_rows',
    defines: { KH: g.kh, KW: g.kw, S, R, FLIP: flip, HAS_BIAS: !!bias, HAS_PRELU: !!alpha, UNIFORM_C: uni, X4: convVariants.dwX4,
      SPLIT: convVariants.dwSplit, TAPSKIP: plane || convVariants.dwTapSkip, ROWSKIP: plane || convVariants.dwRowSkip, VSTORE: vstore, ...rowFlags },
    inputs: [inp, w, bias ?? w, alpha ?? w], outputs: [out],
    uniforms: [u32(total), u32(segs), u32(rowBlocks), u32(C), u32(Hi), u32(Wi), u32(Ho), u32(Wo), i32(ph), i32(pw)],
    workgroups: uni ? [Math.ceil(total / 64), C, 1] : grid1d(total, 64),
  });
  return true;
}

/**
 * A conv's bias gradient, asked of the weight-gradient kernel: where that kernel can sum dy on the way
 * (depthwise_wgrad) it sets gb; else gb stays null and the caller reduces dy itself.
 */
interface BiasGrad { gb: Tensor | null }

/** depthwise_wgrad: dw[C,1,kh,kw] for stride 1, dilation 1 (and with bias, the bias gradient). */
function depthwiseWgrad(dy: Tensor, x: Tensor, g: Geom, bias?: BiasGrad): Tensor {
  const C = g.Co;
  const wshape = [C, 1, g.kh, g.kw];
  const wsize = C * g.kh * g.kw;
  const KB = Math.max(1, Math.min(convVariants.dwWgradKyRows, g.kh));
  const kyBlocks = Math.ceil(g.kh / KB);
  const items = C * kyBlocks;
  const rows = g.N * g.Ho;
  const S = segWidth(g.Wo, convVariants.dwWgradSeg);
  const want = Math.ceil(convVariants.dwWgradMinInvocations / items);
  let splits = Math.max(1, Math.min(want, rows, 65535));
  const rowsPerSplit = Math.ceil(rows / splits);
  splits = Math.ceil(rows / rowsPerSplit);
  const part = empty(splits === 1 ? wshape : [splits, wsize]);
  const pbias = bias ? empty(splits === 1 ? [C] : [splits, C]) : null;
  getEngine().run({
    name: 'depthwise_weight_grad', shader: 'depthwise_wgrad', defines: { KW: g.kw, KB, S, BIAS: !!pbias },
    inputs: [dy, x], outputs: pbias ? [part, pbias] : [part],
    uniforms: [u32(items), u32(rowsPerSplit), u32(rows), u32(g.Ho), u32(g.Wo), u32(C), u32(g.H), u32(g.W),
      u32(g.kh), u32(Math.ceil(g.Wo / S)), u32(wsize), i32(g.ph), i32(g.pw), u32(kyBlocks)],
    workgroups: [Math.ceil(items / 64), splits, 1],
  });
  if (splits === 1) {
    if (bias && pbias) bias.gb = pbias;
    return part;
  }
  let r: Tensor;
  if (bias && pbias) {
    // the weight's and the bias's partials summed in one dispatch
    const [w, b] = sumRows2(part, pbias);
    r = w.viewAs(wshape);
    w.dispose();
    bias.gb = b;
    pbias.dispose();
  } else r = sum(part, 0).viewAs(wshape);
  part.dispose();
  return r;
}

/** Whether corr runs g's forward on the subgroup kernel (when neither GEMM nor Winograd takes it). */
const subgroupFor = (g: Geom) => !!convVariants.subgroup && g.G === 1 && g.Co >= convVariants.subgroupMinM && fixedSubgroupSize() === SUBGROUP_LANES;

/** Whether corr runs g's forward by Winograd (recorded: autograd records it; see winogradRecorded). */
const winogradFwd = (g: Geom, recorded: boolean) => convVariants.winograd && (!recorded || convVariants.winogradRecorded) && winogradFor(g);

/** Whether g is a Winograd conv under the current knobs (the pass's own knob checked by the caller). */
const winogradFor = (g: Geom) => winogradOk(g, convVariants.winogradMinChannels, convVariants.winogradMaxBytes);

/** corr's options: see corr. */
interface CorrOpts {
  alpha?: Tensor | null;
  recorded?: boolean;
  shuffle?: number;
  keepV?: Tensor[] | null;
  /** Inference epilogues (conv2dFused): ReLU after the bias, then residual.t + residual.scale · y. */
  relu?: boolean;
  residual?: { t: Tensor; scale: number } | null;
}

/**
 * y[N,Co,Ho,Wo] = conv(x[N,Ci,H,W], w) + bias[Co], then PReLU with slopes alpha [Co] when given;
 * shuffle r > 1: pixelShuffle(y, r) [N, Co/r², Ho·r, Wo·r], folded into the stores of the Winograd and
 * subgroup kernels, a shuffle pass after the others. recorded: autograd records this forward (see
 * winogradFwd). keepV: where a Winograd forward leaves its input transforms for the weight gradient
 * (wgrad's savedV) instead of freeing them.
 */
function corr(x: Tensor, w: Tensor, bias: Tensor | null, g: Geom, o: CorrOpts = {}): Tensor {
  const { alpha = null, recorded = false, shuffle = 1, keepV = null, relu = false, residual = null } = o;
  // An inference forward (not recorded) keeps the Winograd weight transform or conv_fwd's packed weight
  // with w: a model's weights stay the same from one batch to the next (Tensor.derived; made again
  // after a write). Not while collecting pipelines: nothing is computed then.
  const cacheWeights = !recorded && inferenceWeightCache();
  if (relu || residual) {
    // The epilogues ride in the Winograd output transform; elsewhere they follow as their own passes.
    if (shuffle === 1 && !alpha && !isDepthwise(g) && !(convVariants.gemm && gemmOk(g)) && winogradFwd(g, recorded)) {
      const out = empty([g.N, g.Co, g.Ho, g.Wo]);
      corrWinograd(x, w, bias, null, out, g, false, convVariants.winogradMaxBytes, { keepV, relu, residual, cacheWeights });
      return out;
    }
    return noGrad(() => epiloguesApart(corr(x, w, bias, g, { ...o, relu: false, residual: null }), relu, residual, true));
  }
  if (shuffle > 1) {
    const shuffled = [g.N, g.Co / (shuffle * shuffle), g.Ho * shuffle, g.Wo * shuffle];
    const fused = g.N * g.Co * g.Ho * g.Wo > 0 && !(convVariants.gemm && gemmOk(g)) &&
      (winogradFwd(g, recorded) || subgroupFor(g));
    if (!fused) {
      const y = corr(x, w, bias, g, { ...o, shuffle: 1 });
      const s = pixelShuffleNoGrad(y, shuffle, true);
      y.dispose();
      return s;
    }
    const out = empty(shuffled);
    if (winogradFwd(g, recorded)) {
      corrWinograd(x, w, bias, alpha, out, g, false, convVariants.winogradMaxBytes, { shuffle, keepV, cacheWeights });
    } else {
      corrSubgroup(x, w, bias, alpha, out, g, convVariants.subgroup!, false, shuffle);
    }
    return out;
  }
  const out = empty([g.N, g.Co, g.Ho, g.Wo]);
  if (out.size === 0) return out;
  const e = getEngine();
  if (dwFastOk(g) && depthwiseRows(x, w, bias, out, g, g.H, g.W, g.Ho, g.Wo, g.ph, g.pw, false, alpha)) return out;
  if (isDepthwise(g)) {
    const rows2 = convVariants.dwRows2;
    const uni = convVariants.dwUniformC;
    const pxBlocks = Math.ceil(g.Wo / 4);
    const rowBlocks = rows2 ? Math.ceil(g.Ho / 2) : g.Ho;
    const planes = g.N * g.Co;
    const total = uni ? rowBlocks * pxBlocks : planes * rowBlocks * pxBlocks;
    const [py, pz] = grid1d(planes, 1);
    e.run({
      name: 'depthwise_conv2d', shader: 'depthwise', defines: { HAS_BIAS: !!bias, HAS_PRELU: !!alpha, TRANSPOSED: false, ROWS2: rows2, UNIFORM_C: uni },
      inputs: [x, w, bias ?? w, alpha ?? w], outputs: [out],
      uniforms: [u32(total), u32(pxBlocks), u32(g.Ho), u32(g.Co), u32(g.H), u32(g.W), u32(g.Wo), u32(g.kh), u32(g.kw),
        i32(g.sh), i32(g.sw), i32(g.ph), i32(g.pw), i32(g.dh), i32(g.dw), u32(0), u32(rowBlocks)],
      workgroups: uni ? [Math.ceil(total / 64), py, pz] : grid1d(total, 64),
    });
    return out;
  }
  if (convVariants.gemm && gemmOk(g)) {
    out.dispose();
    return corrGemm(x, w, bias, g, alpha);
  }
  if (winogradFwd(g, recorded)) {
    corrWinograd(x, w, bias, alpha, out, g, false, convVariants.winogradMaxBytes, { keepV, cacheWeights });
    return out;
  }
  if (subgroupFor(g)) {
    corrSubgroup(x, w, bias, alpha, out, g, convVariants.subgroup!, false);
    return out;
  }
  const { px, cb: CB } = blockFor(g.Co / g.G, g.Wo);
  const { packed, blocks, release } = packWeight(w, g, false, CB, cacheWeights);
  const wBlocks = Math.ceil(g.Wo / px);
  const cbPerGroup = Math.ceil(g.Co / g.G / CB);
  const total = g.N * g.Ho * wBlocks;
  // x: pixel blocks (folded into z past the limit); y: channel blocks (uniform weight loads).
  const [gx, gz] = grid1d(total, 64);
  e.run({
    name: 'conv2d_forward', shader: 'conv_fwd', defines: { HAS_BIAS: !!bias, HAS_PRELU: !!alpha, PX: px, CB, KW: stripKw(g), ...stripX4(g, px) },
    inputs: [x, packed, bias ?? packed, alpha ?? packed], outputs: [out],
    uniforms: [u32(total), u32(wBlocks), u32(g.Ho), u32(cbPerGroup), u32(blocks), u32(g.Ci / g.G), u32(g.Co / g.G), u32(g.Ci),
      u32(g.H), u32(g.W), u32(g.Wo), u32(g.Co), ...geomUniforms(g)],
    workgroups: [gx, g.G * cbPerGroup, gz],
  });
  release();
  return out;
}

/**
 * corr (transposed: corrT at stride 1) for groups 1 on 8-lane subgroups: the implicit GEMM of
 * shaders/conv_subgroup.wgsl. corrT reads y [N, Co, Ho, Wo] as its input image and writes
 * [N, Ci, H, W]: the geometry's roles swap and the offsets change sign (see the shader).
 */
function corrSubgroup(x: Tensor, w: Tensor, bias: Tensor | null, alpha: Tensor | null, out: Tensor, g: Geom, blk: SubgroupConvBlock, transposed: boolean, shuffle = 1): void {
  const [Cin, H, W, Cout, Ho, Wo] = transposed ? [g.Co, g.Ho, g.Wo, g.Ci, g.H, g.W] : [g.Ci, g.H, g.W, g.Co, g.Ho, g.Wo];
  const sgn = transposed ? -1 : 1;
  const M = Cout, HWo = Ho * Wo, N = g.N * HWo, K = Cin * g.kh * g.kw;
  const { tm, tb, tilesN, tiles } = subgroupGrid(blk, M, N);
  const [gx, gy] = grid1d(tiles, 1, getEngine().maxWorkgroups);
  getEngine().run({
    name: transposed ? 'conv2d_transposed_gather' : 'conv2d_forward', shader: 'conv_subgroup',
    defines: { TRANSPOSED: transposed, HAS_BIAS: !!bias, HAS_PRELU: !!alpha, SHUFFLE: shuffle > 1 ? shuffle : 0, ...subgroupConvDefines(tm, tb, blk.rowStep && g.kw > 1 && g.kw <= MAX_ROW_STEP ? g.kw : 0) },
    inputs: [x, w, bias ?? w, alpha ?? w], outputs: [out],
    uniforms: [u32(M), u32(N), u32(K), u32(tilesN), u32(tiles), u32(HWo), u32(Wo), u32(Cin), u32(H), u32(W), u32(g.kh), u32(g.kw),
      i32(transposed ? 1 : g.sh), i32(transposed ? 1 : g.sw), i32(sgn * g.ph), i32(sgn * g.pw), i32(sgn * g.dh), i32(sgn * g.dw), u32(0), u32(0)],
    workgroups: [gx, gy, 1],
  });
}

/** x'[N,Ci,H,W] = conv^T(y[N,Co,Ho,Wo], w) + bias[Ci] (gather form, no atomics) */
/**
 * The output gradient a conv's backward reads: dy itself, or (r > 1) pixelShuffle(dy, r), the gradient
 * of a conv2dPixelShuffle. The Winograd kernels read it through the shuffle; plain() unshuffles it, once,
 * for the others.
 */
class OutGrad {
  private unshuffled: Tensor | null = null;
  constructor(readonly t: Tensor, readonly r = 1) {}
  plain(): Tensor {
    if (this.r === 1) return this.t;
    return (this.unshuffled ??= pixelShuffleNoGrad(this.t, this.r, false));
  }
  /** sum(dy, [0, 2, 3]): the bias gradient, where the weight gradient's kernel did not give it. */
  biasGrad(): Tensor {
    return sum(this.plain(), [0, 2, 3]);
  }
  /** Frees the unshuffled copy, if one was made (not t). */
  dispose(): void {
    this.unshuffled?.dispose();
    this.unshuffled = null;
  }
}

/** Whether corrT runs g by Winograd. */
const winogradDgradFor = (g: Geom) => !isDepthwise(g) && !(convVariants.gemm && gemmOk(g)) && convVariants.winogradDgrad && winogradFor(g);

/** Whether corrT runs g as a product and a pixel shuffle (convPaths.patchifyDgrad). */
const patchifyDgradFor = (g: Geom) => convPaths.patchifyDgrad && g.G === 1 && g.sh > 1 && g.sh === g.sw && g.kh === g.sh &&
  g.kw === g.sw && g.ph === 0 && g.pw === 0 && g.dh === 1 && g.dw === 1 && g.H < (g.Ho + 1) * g.sh && g.W < (g.Wo + 1) * g.sw;

function corrT(dy: Tensor | OutGrad, w: Tensor, bias: Tensor | null, g: Geom, cacheWeights = false): Tensor {
  const out = empty([g.N, g.Ci, g.H, g.W]);
  if (out.size === 0) return out;
  const src = dy instanceof OutGrad ? dy : new OutGrad(dy);
  if (winogradDgradFor(g)) {
    corrWinograd(src.t, w, bias, null, out, g, true, convVariants.winogradMaxBytes, { inShuffle: src.r, cacheWeights });
    return out;
  }
  const y = src.plain();
  const e = getEngine();
  const qBlocks = Math.ceil(Math.ceil(g.W / g.sw) / 4);
  const pxBlocks = g.sw * qBlocks;
  // Stride 1: the transpose is the forward conv of y with the rotated kernel, padding k-1-p.
  if (dwFastOk(g) && depthwiseRows(y, w, bias, out, g, g.Ho, g.Wo, g.H, g.W, g.kh - 1 - g.ph, g.kw - 1 - g.pw, true)) return out;
  if (isDepthwise(g)) {
    const total = g.N * g.Ci * g.H * pxBlocks;
    e.run({
      name: 'depthwise_conv2d_transposed', shader: 'depthwise', defines: { HAS_BIAS: !!bias, HAS_PRELU: false, TRANSPOSED: true, ROWS2: false, UNIFORM_C: false },
      inputs: [y, w, bias ?? w, w], outputs: [out],
      uniforms: [u32(total), u32(pxBlocks), u32(g.H), u32(g.Ci), u32(g.Ho), u32(g.Wo), u32(g.W), u32(g.kh), u32(g.kw),
        i32(g.sh), i32(g.sw), i32(g.ph), i32(g.pw), i32(g.dh), i32(g.dw), u32(qBlocks), u32(g.H)],
      workgroups: grid1d(total, 64),
    });
    return out;
  }
  if (convVariants.gemm && gemmOk(g)) {
    out.dispose();
    return corrTGemm(y, w, bias, g);
  }
  if (!bias && patchifyDgradFor(g)) {
    // dx[n, ci, y·s + i, x·s + j] = Σ_co w[co, ci, i, j] dy[n, co, y, x]: row (ci·s + i)·s + j of
    // wᵀ·dy_n (w as [Co, Ci·s²], transposed in the read), pixel-shuffled by s; rows and columns the
    // patches leave unused (an input of 7 at stride 2) get zeros from the shuffle.
    out.dispose();
    const s = g.sh, rows = g.Ci * s * s;
    const w2 = w.viewAs([g.Co, rows]), y3 = y.viewAs([g.N, g.Co, g.Ho * g.Wo]);
    const prod = matmulNoGrad(w2, y3, true, false);
    const p4 = prod.viewAs([g.N, rows, g.Ho, g.Wo]);
    const dx = pixelShuffleNoGrad(p4, s, true, { h: g.H, w: g.W });
    // Views hold their base's buffer until disposed, scope or not.
    for (const t of [w2, y3, p4, prod]) t.dispose();
    return dx;
  }
  if (convVariants.subgroup && convVariants.subgroupDgrad && g.G === 1 && g.Ci >= convVariants.subgroupMinM && g.sh === 1 && g.sw === 1 && fixedSubgroupSize() === SUBGROUP_LANES) {
    corrSubgroup(y, w, bias, null, out, g, convVariants.subgroup, true);
    return out;
  }
  const { px, cb } = blockFor(g.Ci / g.G, Math.ceil(g.W / g.sw));
  const qBlocksP = Math.ceil(Math.ceil(g.W / g.sw) / px);
  const pxBlocksP = g.sw * qBlocksP;
  const { packed, blocks, release } = packWeight(w, g, true, cb, cacheWeights);
  const cbPerGroup = Math.ceil(g.Ci / g.G / cb);
  const total = g.N * g.H * pxBlocksP;
  const [gx, gz] = grid1d(total, 64);
  e.run({
    name: 'conv2d_transposed_gather', shader: 'conv_tgather', defines: { HAS_BIAS: !!bias, PX: px, CB: cb },
    inputs: [y, packed, bias ?? packed], outputs: [out],
    uniforms: [u32(total), u32(pxBlocksP), u32(g.H), u32(cbPerGroup), u32(blocks), u32(g.Co / g.G), u32(g.Ci / g.G), u32(g.Co),
      u32(g.Ho), u32(g.Wo), u32(g.W), u32(g.Ci), ...geomUniforms(g), u32(qBlocksP)],
    workgroups: [gx, g.G * cbPerGroup, gz],
  });
  release();
  return out;
}

/**
 * dw[Co, Ci/G, kh, kw] = sum_{n,oh,ow} dy[n,co,oh,ow] x[n,ci,ih,iw]; savedV: the Winograd forward's
 * input transforms of x (corr's keepV), used where they match instead of transforming x again.
 */
function wgrad(dyIn: Tensor | OutGrad, x: Tensor, g: Geom, savedV: readonly Tensor[] | null = null, bias?: BiasGrad): Tensor {
  const src = dyIn instanceof OutGrad ? dyIn : new OutGrad(dyIn);
  if (convVariants.winogradWgrad && winogradFor(g)) {
    return wgradWinograd(src.t, x, g, convVariants.winogradMaxBytes, savedV, src.r, bias);
  }
  const dy = src.plain();
  if (dwFastOk(g)) return depthwiseWgrad(dy, x, g, bias);
  if (convVariants.gemm && !isDepthwise(g) && gemmOk(g)) return wgradGemm(dy, x, g);
  const sg = convVariants.subgroupWgrad;
  if (sg && g.G === 1 && g.Co >= convVariants.subgroupMinM && fixedSubgroupSize() === SUBGROUP_LANES) return wgradSubgroup(dy, x, g, sg);
  const cig = g.Ci / g.G, cog = g.Co / g.G;
  const wshape = [g.Co, cig, g.kh, g.kw];
  const wsize = g.Co * cig * g.kh * g.kw;
  const rows = g.N * g.Ho;
  const kxBlock = cig < 4;
  let CB = 16;
  while (CB > 4 && CB / 2 >= cog) CB /= 2;
  // Row strips (the shader's KW): all kx of J channels per invocation, at most 16 vec4 sums.
  // DSR's 32 -> 3 tail at 128 x 128, batch 32: 139 -> 105 ms (`npx tsx bench/probe-conv-strip.ts`).
  const KW = !kxBlock && g.sw === 1 && g.dw === 1 && g.kw * (CB / 4) <= 16 ? stripKw(g) : 0;
  const J = KW ? Math.max(1, Math.min(4, Math.floor(16 / (KW * (CB / 4))), cig))
    : kxBlock ? Math.min(convVariants.wgradKxJ, g.kw) : Math.min(convVariants.wgradCiJ, 4 * Math.ceil(cig / 4));
  // vec4 reads of dy and x (the shader's X4) where rows are whole vec4s: 4 pixels a step.
  const x4 = stripX4(g, KW && g.Wo % 4 === 0 ? WGRAD_X4_PX : 0);
  const cbPerGroup = Math.ceil(cog / CB);
  const jBlocks = kxBlock ? Math.ceil(g.kw / J) : Math.ceil(cig / J);
  const items = g.kh * (kxBlock ? cig * jBlocks : KW ? jBlocks : jBlocks * g.kw);
  const blocksY = g.G * cbPerGroup;
  // Split the reduction over rows (n, oh) so there are enough invocations.
  const want = Math.ceil(convVariants.wgradMinInvocations / (items * blocksY));
  const maxSplits = Math.max(1, Math.floor(rows / convVariants.wgradMinRowsPerSplit));
  const { splits, rowsPerSplit } = rowSplits(rows, Math.min(want, maxSplits, 65535));
  const part = empty(splits === 1 ? wshape : [splits, wsize]);
  getEngine().run({
    name: 'conv2d_weight_grad', shader: 'conv_wgrad', defines: { KX_BLOCK: kxBlock, CB, J, KW, PX: x4.X4 ? WGRAD_X4_PX : WGRAD_STRIP_PX, ...x4 },
    inputs: [dy, x], outputs: [part],
    uniforms: [u32(items), u32(rowsPerSplit), u32(rows), u32(g.Ho), u32(g.Wo), u32(g.Co), u32(g.Ci), u32(g.H),
      u32(g.W), u32(cig), u32(cog), u32(cbPerGroup), u32(jBlocks), u32(g.kh), u32(g.kw), i32(g.sh),
      i32(g.sw), i32(g.ph), i32(g.pw), i32(g.dh), i32(g.dw), u32(wsize)],
    workgroups: [Math.ceil(items / 64), blocksY, splits],
  });
  return sumSplits(part, splits, wshape);
}

/** The reduction's rows split in about `want` parts (at least 1, at most one row each): parts and rows per part. */
function rowSplits(rows: number, want: number): { splits: number; rowsPerSplit: number } {
  const rowsPerSplit = Math.ceil(rows / Math.max(1, Math.min(want, rows)));
  return { splits: Math.ceil(rows / rowsPerSplit), rowsPerSplit };
}

/** A weight gradient written as [splits, size] partials: their sum as wshape (the tensor itself for one split). */
function sumSplits(part: Tensor, splits: number, wshape: number[]): Tensor {
  if (splits === 1) return part;
  const r = sum(part, 0).viewAs(wshape);
  part.dispose();
  return r;
}

/** wgrad for groups 1 on 8-lane subgroups (shaders/conv_wgrad_subgroup.wgsl): [splits, Co, Ci·kh·kw] partials, summed. */
function wgradSubgroup(dy: Tensor, x: Tensor, g: Geom, blk: { tm: number; tb: number; ku: number; workgroups: number }): Tensor {
  const M = g.Co, N = g.Ci * g.kh * g.kw, rows = g.N * g.Ho;
  const wshape = [g.Co, g.Ci, g.kh, g.kw];
  const { tm, tb, tilesN, tiles } = subgroupGrid(blk, M, N);
  const { splits, rowsPerSplit } = rowSplits(rows, Math.ceil(blk.workgroups / tiles));
  const part = empty(splits === 1 ? wshape : [splits, M * N]);
  const [gx, gy] = grid1d(tiles * splits, 1, getEngine().maxWorkgroups);
  getEngine().run({
    name: 'conv2d_weight_grad', shader: 'conv_wgrad_subgroup', defines: subgroupWgradDefines(tm, tb, blk.ku),
    inputs: [dy, x], outputs: [part],
    uniforms: [u32(M), u32(N), u32(tilesN), u32(tiles), u32(rows), u32(rowsPerSplit), u32(g.Ho), u32(g.Wo),
      u32(g.Ci), u32(g.H), u32(g.W), u32(g.kh * g.kw), u32(g.kw), i32(g.sh), i32(g.sw), i32(g.ph),
      i32(g.pw), i32(g.dh), i32(g.dw), u32(splits)],
    workgroups: [gx, gy, 1],
  });
  return sumSplits(part, splits, wshape);
}

// ---- tuned entry points: the autotuner's variant for the geometry's shape class (tunables.ts) ----

const fwdTunable = (g: Geom) => (isDepthwise(g) ? 'depthwise' : 'conv');
const fwdClass = (g: Geom) => (isDepthwise(g) ? depthwiseClass(g) : convClass(g));

/** corr with the tuned variant ('conv' / 'depthwise'). */
function corrTuned(x: Tensor, w: Tensor, bias: Tensor | null, g: Geom, o: CorrOpts = {}): Tensor {
  return withVariant(fwdTunable(g), fwdClass(g), () => corr(x, w, bias, g, o));
}

/** corrT with the tuned variant ('conv-dgrad' / 'depthwise': the same kernel, rotated weights). */
function corrTTuned(y: Tensor | OutGrad, w: Tensor, bias: Tensor | null, g: Geom, cacheWeights = false): Tensor {
  return withVariant(isDepthwise(g) ? 'depthwise' : 'conv-dgrad', fwdClass(g), () => corrT(y, w, bias, g, cacheWeights));
}

/** wgrad with the tuned variant ('conv-wgrad' / 'depthwise-wgrad'). */
function wgradTuned(dy: Tensor | OutGrad, x: Tensor, g: Geom, savedV: readonly Tensor[] | null = null, bias?: BiasGrad): Tensor {
  return withVariant(isDepthwise(g) ? 'depthwise-wgrad' : 'conv-wgrad', fwdClass(g), () => wgrad(dy, x, g, savedV, bias));
}

/**
 * Both gradients at once where the tuned choices run each by Winograd (convPaths.fuseDyTransforms:
 * backwardWinograd reads dy once for both); null elsewhere, and then corrTTuned and wgradTuned run apart.
 */
function backwardTuned(dy: OutGrad, x: Tensor, w: Tensor, g: Geom, savedV: readonly Tensor[] | null, bias?: BiasGrad): { gx: Tensor; gw: Tensor } | null {
  if (!convPaths.fuseDyTransforms || isDepthwise(g)) return null;
  const cls = fwdClass(g);
  const dataBytes = withVariant('conv-dgrad', cls, () => (winogradDgradFor(g) ? convVariants.winogradMaxBytes : 0));
  const weightBytes = withVariant('conv-wgrad', cls, () => (convVariants.winogradWgrad && winogradFor(g) ? convVariants.winogradMaxBytes : 0));
  if (!dataBytes || !weightBytes) return null;
  return backwardWinograd(dy.t, x, w, g, dataBytes, weightBytes, savedV, dy.r, bias);
}

/** The three tuned kernels on an explicit geometry, no autograd (the autotuner's workloads). */
export const convKernels = { corr: corrTuned, corrT: corrTTuned, wgrad: wgradTuned };

// ---- conv2d -------------------------------------------------------------------------------------

/**
 * convTranspose2d with kernel 4, stride 2, padding 1 (groups 1) in inference, as pixelShuffle(conv3x3(x,
 * w3, padding 1), 2) (shaders/convt_subpixel.wgsl): the conv then runs on the forward paths (Winograd or
 * the subgroup kernel, the shuffle in their stores) instead of conv_tgather, whose grid at the UNet's
 * small middle levels was a few workgroups. w3 [4·Cout, Cin, 3, 3] (2.25x the taps, 5 of 9 zero per
 * output phase) and the repeated bias are kept with the weight and the bias (Tensor.derived) unless
 * keepWeights is false (under collectPipelines: made, used and dropped).
 */
function convTSubpixel(x: Tensor, weight: Tensor, bias: Tensor | null, N: number, Cin: number, H: number, W: number, Cout: number,
  keepWeights: boolean): Tensor {
  const makeW3 = () => {
    const t = empty([4 * Cout, Cin, 3, 3]);
    const n = t.size;
    getEngine().run({
      name: 'convT_subpixel_weight', shader: 'convt_subpixel', inputs: [weight], outputs: [t],
      uniforms: [u32(n), u32(Cin), u32(Cout), u32(0)], workgroups: grid1d(n, 64),
    });
    return t;
  };
  const makeB3 = (b: Tensor) => () => {
    const col = b.viewAs([Cout, 1]), rep = broadcastTo(col, [Cout, 4]), flat = rep.viewAs([4 * Cout]);
    col.dispose();
    rep.dispose(); // flat keeps the buffer
    return flat;
  };
  const w3 = derivedIf(keepWeights, weight, 'convT-subpixel-k4s2p1', makeW3);
  const b3 = bias ? derivedIf(keepWeights, bias, 'convT-subpixel-bias', makeB3(bias)) : null;
  const g: Geom = { N, Ci: Cin, H, W, Co: 4 * Cout, Ho: H, Wo: W, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1, G: 1 };
  const out = corrTuned(x, w3.t, b3?.t ?? null, g, { shuffle: 2 });
  w3.release();
  b3?.release();
  return out;
}

/**
 * 2-D convolution (cross-correlation), PyTorch semantics: x [N,Cin,H,W], weight [Cout, Cin/groups,
 * kh, kw], bias [Cout] or null. Output [N, Cout, (H+2ph-dh(kh-1)-1)/sh+1, (W+2pw-dw(kw-1)-1)/sw+1].
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  return convRecorded(op, x, weight, bias, conv2dGeom(op, x, weight, bias, opts));
}

/** Multiply-adds of the conv g (the 'conv2d' counter of macs.ts). */
const convMacs = (g: Geom) => g.N * g.Co * g.Ho * g.Wo * (g.Ci / g.G) * g.kh * g.kw;

/**
 * conv2d's forward (shuffle r > 1: then pixelShuffle(·, r), folded into the kernel's stores where it
 * can be), recorded as op with conv2d's backward (dy read through the shuffle by the Winograd kernels,
 * unshuffled first for the others: OutGrad). epi (conv2dFused under recording, not with a shuffle):
 * relu(y), or residual.t + residual.scale · y, in the forward's stores where Winograd runs it; the
 * backward takes dy through them first (dy · (out > 0), or residual.scale · dy, the residual's gradient
 * dy itself), as relu, scale and add would.
 */
function convRecorded(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, g: Geom, shuffle = 1,
  epi: { relu: boolean; residual: { t: Tensor; scale: number } | null } | null = null): Tensor {
  if (epi && (shuffle > 1 || (epi.relu && epi.residual))) throw new Error(`${op}: a recorded epilogue takes no shuffle and one of relu and residual`);
  addMacs('conv2d', convMacs(g));
  const residual = epi?.residual ?? null;
  const inputs = [x, weight, ...(bias ? [bias] : []), ...(residual ? [residual.t] : [])];
  const recorded = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  // A Winograd forward's input transforms, kept for the weight gradient (convVariants.winogradKeepV).
  let keepV: Tensor[] | null = recorded && weight.requiresGrad && convVariants.winogradKeepV ? [] : null;
  const out = corrTuned(x, weight, bias, g, { recorded, shuffle, keepV, relu: epi?.relu ?? false, residual });
  return record(op, inputs, out, (dyOut) => {
    // the gradient at the conv's own output, through the epilogue
    const dyConv = epi?.relu ? reluBackwardNoGrad(dyOut, out) : residual && residual.scale !== 1 ? scale(dyOut, residual.scale) : dyOut;
    const dy = new OutGrad(dyConv, shuffle);
    const bg: BiasGrad | undefined = bias?.requiresGrad ? { gb: null } : undefined;
    const saved = keepV?.length ? keepV : null;
    const both = x.requiresGrad && weight.requiresGrad ? backwardTuned(dy, x, weight, g, saved, bg) : null;
    const gx = both ? both.gx : x.requiresGrad ? corrTTuned(dy, weight, null, g) : null;
    const gw = both ? both.gw : weight.requiresGrad ? wgradTuned(dy, x, g, saved, bg) : null;
    // Used once: a second backward through this graph transforms x again.
    for (const v of keepV ?? []) v.dispose();
    keepV = null;
    const gb = bg ? bg.gb ?? dy.biasGrad() : null;
    dy.dispose();
    if (dyConv !== dyOut) dyConv.dispose();
    return [gx, gw, ...(bias ? [gb] : []), ...(residual ? [dyOut] : [])];
  });
}

/**
 * pixelShuffle(conv2d(x, weight, bias, opts), r): the upsampler of EDSR / DSR (a conv to C·r² channels,
 * then the shuffle to [N, C, H·r, W·r]), with the shuffle folded into the conv kernel's stores where
 * the Winograd or the subgroup kernel runs the conv (no pass of its own over the output; a shuffle
 * pass after the other kernels). Backward: conv2d's, dy read through the shuffle (OutGrad).
 */
export function conv2dPixelShuffle(x: Tensor, weight: Tensor, bias: Tensor | null, r: number, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2dPixelShuffle';
  const g = conv2dGeom(op, x, weight, bias, opts);
  if (!Number.isInteger(r) || r < 1) throw new Error(`${op}: upscale factor r must be a positive integer, got ${r}`);
  if (g.Co % (r * r) !== 0) throw new Error(`${op}: output channels ${g.Co} of weight ${fmtShape(weight.shape)} are not divisible by r² = ${r * r}`);
  if (r === 1) return convRecorded('conv2d', x, weight, bias, g);
  return convRecorded(op, x, weight, bias, g, r);
}

/**
 * prelu(conv2d(x, weight, bias, opts), alpha), alpha [Cout]: the PReLU that follows a conv (MobileFaceNet's
 * conv → BN → PReLU, the BN folded in), fused into the conv kernel's epilogue when nothing needs a
 * gradient (inference: no pass over the activations of its own). When autograd records (grad enabled
 * and an input requiring a gradient), the two ops run apart, so the backward is theirs.
 */
export function conv2dPrelu(x: Tensor, weight: Tensor, bias: Tensor | null, alpha: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2dPrelu';
  alpha.check(op, 'alpha');
  const Co = weight.shape[0];
  if (alpha.rank !== 1 || alpha.shape[0] !== Co) {
    throw new Error(`${op}: alpha ${fmtShape(alpha.shape)} must be [${Co}] (one slope per output channel of weight ${fmtShape(weight.shape)})`);
  }
  if (isGradEnabled() && [x, weight, bias, alpha].some((t) => t?.requiresGrad)) return prelu(conv2d(x, weight, bias, opts), alpha);
  const g = conv2dGeom(op, x, weight, bias, opts);
  addMacs('conv2d', convMacs(g));
  return corrTuned(x, weight, bias, g, { alpha });
}

/** conv2dFused's options: conv2d's, and the epilogues. */
export interface Conv2dFusedOptions extends Conv2dOptions {
  /** ReLU after the bias. */
  relu?: boolean;
  /** Added to the (scaled) result: out = residual + residualScale · y; the output's shape. */
  residual?: Tensor | null;
  /** Default 1. */
  residualScale?: number;
}

/**
 * conv2d(x, weight, bias), then ReLU (relu), then residual + residualScale · y (residual): the convs
 * of a residual block (DSR's conv → ReLU → conv → × s → + x). Where no gradient is recorded and the
 * Winograd path takes the conv, the epilogues ride in its output transform's stores: one pass over
 * the output instead of up to four (convPaths.fuseEpilogues). Under recording too, with one of the two
 * epilogues (DSR's two convs): one op whose backward takes dy through the epilogue first (convRecorded);
 * with both, and on the other kernels, it is the composition of conv2d, relu, scale and add.
 */
export function conv2dFused(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dFusedOptions = {}): Tensor {
  const op = 'conv2dFused';
  const { relu: withRelu = false, residual = null, residualScale = 1, ...convOpts } = opts;
  const g = conv2dGeom(op, x, weight, bias, convOpts);
  if (residual) {
    residual.check(op, 'residual');
    const want = [g.N, g.Co, g.Ho, g.Wo];
    if (!sameShape(residual.shape, want)) {
      throw new Error(`${op}: residual ${fmtShape(residual.shape)} must have the output's shape ${fmtShape(want)}`);
    }
  }
  if (!Number.isFinite(residualScale)) throw new Error(`${op}: residualScale must be a finite number, got ${residualScale}`);
  const epi = residual ? { t: residual, scale: residualScale } : null;
  const recorded = isGradEnabled() && [x, weight, bias, residual].some((t) => t?.requiresGrad);
  // Recorded: one op with the epilogue's gradient in its backward, where one epilogue is asked for.
  if (!convPaths.fuseEpilogues || (recorded && withRelu && epi)) return epiloguesApart(conv2d(x, weight, bias, convOpts), withRelu, epi, false);
  if (recorded) return convRecorded(op, x, weight, bias, g, 1, { relu: withRelu, residual: epi });
  addMacs('conv2d', convMacs(g));
  return corrTuned(x, weight, bias, g, { relu: withRelu, residual: epi });
}

/**
 * relu(y), then residual.t + residual.scale · y, by the ops themselves (conv2dFused's epilogues where
 * they are not fused). owned: nothing records these ops, so y and each intermediate are disposed as soon
 * as the next is made.
 */
function epiloguesApart(y: Tensor, relu: boolean, residual: { t: Tensor; scale: number } | null, owned: boolean): Tensor {
  const then = (prev: Tensor, next: Tensor) => {
    if (owned) prev.dispose();
    return next;
  };
  let r = relu ? then(y, reluOp(y)) : y;
  if (residual && residual.scale !== 1) r = then(r, scale(r, residual.scale));
  if (residual) r = then(r, add(residual.t, r));
  return r;
}

/** Checks conv2d's arguments (errors named after op) and returns the geometry. */
function conv2dGeom(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions): Geom {
  x.check(op, 'x');
  weight.check(op, 'weight');
  checkKeys(op, opts, ['stride', 'padding', 'dilation', 'groups']);
  checkRank4(op, 'x', x);
  checkRank4(op, 'weight', weight);
  const [sh, sw] = pair(op, 'stride', opts.stride, 1, 1);
  const [ph, pw] = pair(op, 'padding', opts.padding, 0, 0);
  const [dh, dw] = pair(op, 'dilation', opts.dilation, 1, 1);
  const G = opts.groups ?? 1;
  const [N, Ci, H, W] = x.shape as [number, number, number, number];
  const [Co, cig, kh, kw] = weight.shape as [number, number, number, number];
  const shapes = `x ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}`;
  if (!Number.isInteger(G) || G < 1) throw new Error(`${op}: groups must be an integer >= 1, got ${G}`);
  if (Ci % G !== 0) throw new Error(`${op}: input channels ${Ci} are not divisible by groups ${G} (${shapes})`);
  if (Co % G !== 0) throw new Error(`${op}: output channels ${Co} are not divisible by groups ${G} (${shapes})`);
  if (cig !== Ci / G) throw new Error(`${op}: channel mismatch: weight expects ${cig * G} input channels (${cig} per group x ${G} groups), x has ${Ci} (${shapes})`);
  if (kh < 1 || kw < 1) throw new Error(`${op}: empty kernel (${shapes})`);
  checkBias(op, bias, Co, x, weight);
  const Ho = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  if (Ho < 1 || Wo < 1) {
    throw new Error(`${op}: kernel ${kh}x${kw} (dilation ${dh}x${dw}) is larger than the padded input ${H + 2 * ph}x${W + 2 * pw}: empty output (${shapes}, padding ${ph}x${pw})`);
  }
  return { N, Ci, H, W, Co, Ho, Wo, kh, kw, sh, sw, ph, pw, dh, dw, G };
}

// ---- convTranspose2d ----------------------------------------------------------------------------

/**
 * Transposed 2-D convolution, PyTorch semantics: x [N,Cin,H,W], weight [Cin, Cout/groups, kh, kw],
 * bias [Cout] or null. Output H' = (H-1)sh - 2ph + dh(kh-1) + outputPadding + 1 (same for W).
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: ConvTranspose2dOptions = {}): Tensor {
  const op = 'convTranspose2d';
  x.check(op, 'x');
  weight.check(op, 'weight');
  checkKeys(op, opts, ['stride', 'padding', 'outputPadding', 'dilation', 'groups']);
  checkRank4(op, 'x', x);
  checkRank4(op, 'weight', weight);
  const [sh, sw] = pair(op, 'stride', opts.stride, 1, 1);
  const [ph, pw] = pair(op, 'padding', opts.padding, 0, 0);
  const [dh, dw] = pair(op, 'dilation', opts.dilation, 1, 1);
  const [oph, opw] = pair(op, 'outputPadding', opts.outputPadding, 0, 0);
  const G = opts.groups ?? 1;
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [wi, cog, kh, kw] = weight.shape as [number, number, number, number];
  const shapes = `x ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}`;
  if (!Number.isInteger(G) || G < 1) throw new Error(`${op}: groups must be an integer >= 1, got ${G}`);
  if (Cin % G !== 0) throw new Error(`${op}: input channels ${Cin} are not divisible by groups ${G} (${shapes})`);
  if (wi !== Cin) throw new Error(`${op}: channel mismatch: weight has ${wi} input channels, x has ${Cin} (${shapes})`);
  if (kh < 1 || kw < 1) throw new Error(`${op}: empty kernel (${shapes})`);
  if ((oph >= sh && oph >= dh) || (opw >= sw && opw >= dw)) {
    throw new Error(`${op}: outputPadding ${oph}x${opw} must be smaller than stride ${sh}x${sw} or dilation ${dh}x${dw}`);
  }
  const Cout = cog * G;
  checkBias(op, bias, Cout, x, weight);
  const Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (Ho < 1 || Wo < 1) throw new Error(`${op}: padding ${ph}x${pw} leaves an empty output ${Ho}x${Wo} (${shapes})`);
  // The conv whose backward-data this is: conv input = our output, conv output = our input.
  const g: Geom = { N, Ci: Cout, H: Ho, W: Wo, Co: Cin, Ho: H, Wo: W, kh, kw, sh, sw, ph, pw, dh, dw, G };
  addMacs(op, N * Cin * H * W * cog * kh * kw);
  const cache = inferenceWeightCache();
  // The sub-pixel form is taken in inference whether or not pipelines are being collected (so that
  // collectPipelines finds its pipelines); only keeping its weight waits for a real forward.
  const inference = convPaths.cacheWeightTransforms && !isGradEnabled();
  if (inference && convPaths.subpixelConvT && G === 1 && kh === 4 && kw === 4 && sh === 2 && sw === 2 && ph === 1 && pw === 1 &&
    dh === 1 && dw === 1 && oph === 0 && opw === 0 && N * H * W >= convPaths.subpixelMinPixels) {
    return convTSubpixel(x, weight, bias, N, Cin, H, W, Cout, cache);
  }
  // In inference the weight's packed (or Winograd) form is kept with it (inferenceWeightCache).
  const out = corrTTuned(x, weight, bias, g, cache);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(op, inputs, out, (dy) => {
    const gx = x.requiresGrad ? corrTuned(dy, weight, null, g) : null;
    const gw = weight.requiresGrad ? wgradTuned(x, dy, g) : null;
    const gb = bias && bias.requiresGrad ? sum(dy, [0, 2, 3]) : null;
    return bias ? [gx, gw, gb] : [gx, gw];
  });
}
