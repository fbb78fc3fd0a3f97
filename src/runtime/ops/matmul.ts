// Matrix products: matmul (2-D and batched 3-D with batch broadcasting, transposed operands read in
// place) and linear (PyTorch nn.Linear: x · Wᵀ + b). Forward and backward side by side.
// Kernel: shaders/matmul.wgsl (register-blocked by default; shared-memory tiled variant by define).
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32 } from '../engine.js';
import { record, isGradEnabled } from '../autograd.js';
import { sumTo } from './reduce.js';
import { geluNoGrad, geluBackwardNoGrad } from './activation.js';
import { withVariant } from '../autotune.js';
import { matmulClass, type MatmulClass } from '../shape-class.js';
import { addMacs } from '../macs.js';
import { fixedSubgroupSize } from '../device.js';
import { SUBGROUP_LANES, subgroupMatmulDefines, subgroupMatmulVec4Defines, subgroupTile } from './matmul-subgroup.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** Kernel variant and register-block shape (src/runtime/tunables.ts: the autotuner's variants over these). */
export interface MatmulTuning {
  /** Shared-memory tiled variant (32x32 tiles, 64 invocations) instead of the register-blocked default. */
  tiled: boolean;
  /** Register-blocked variant: rows per invocation (4, 8 or 16). */
  tm: number;
  /** Register-blocked variant: vec4 columns per invocation (1, 2, 4 or 8). */
  tnv: number;
  /** Block used instead of (tm, tnv) when B is read transposed (its per-k reads are scalar there). */
  transB: { tm: number; tnv: number };
  /** Register-blocked variant: K in chunks of 4 with vec4 loads along K (fewer, wider loads; for real
   *  GPUs). Off: one k at a time, fewer live registers (much faster on lavapipe). */
  kvec: boolean;
  /** Largest workgroup shape (wgx along N); shrunk for small N / M, keeping wgx * wgy invocations. */
  wgx: number;
  wgy: number;
  /** Shared-memory tiled variant with vec4 tiles (tfjs-webgpu's matmul_packed layout; SwiftShader):
   *  8 x 8 invocations, each tm rows x 4 * tnv columns (tm 4 or 8, tnv 1 or 2). Wins over `tiled` and
   *  the register-blocked knobs; null: off. */
  tiledVec4: { tm: number; tnv: number } | null;
  /** Register-blocked variant: shrink the workgroup along N to the columns the problem has (wgx =
   *  the power of 2 covering ceil(N / (4 * tnv)) when that is under 8, wgy grows to keep wgx * wgy
   *  invocations), so 8-lane SIMD groups hold lanes of several rows instead of lanes past N. Off: wgx
   *  as tuned unless all of N fits one lane. */
  fitN: boolean;
  /** Register-blocked variant: split K when the output has few tiles (weight gradients gᵀ·x with
   *  K = batch * H * W): split s sums a K chunk into a partial [M, N] and one reduce adds the splits
   *  (+ bias). Used when K >= minK and tiles * batch < workgroups; splits = ceil(workgroups /
   *  (tiles * batch)), each chunk at least minChunk k. null: off. */
  splitK: { minK: number; workgroups: number; minChunk: number } | null;
  /** Subgroup-broadcast kernel (shaders/matmul_subgroup.wgsl) on devices with fixed 8-lane subgroups
   *  (lavapipe), instead of the register-blocked one: a workgroup is one subgroup computing 8·tm rows x
   *  8·tb columns (tm 2, 4, 8 or 16; tb 1, 2, 4 or 8), ku k's per loop step (1, 2 or 4; default 1).
   *  Ignored elsewhere, and under tiled / tiledVec4; split-K applies as for the register-blocked
   *  kernel. vec4 (default on): with ku 4, read both operands as vec4 where they are aligned
   *  (matmul-subgroup.ts, subgroupMatmulVec4Defines); false: scalar reads. out4 (default on): store
   *  four columns at a time as a vec4 where N % 4 == 0; false: scalar stores. null: off. */
  subgroup: { tm: number; tb: number; ku?: number; vec4?: boolean; out4?: boolean } | null;
}

// Measured on lavapipe (bench/probe-matmul.ts): one k at a time with 8 x 16 blocks (8 x 8 for transB);
// where 8-lane subgroups exist, the subgroup kernel with 32 x 32 tiles and 4 k per loop step
// (bench/probe-matmul-subgroup.ts: 20 % less time than 64 x 32 tiles one k at a time over EdgeFace-XXS's
// largest products, and half the compile time, 1.3 vs 2.7 s).
export const matmulTuning: MatmulTuning = { tiled: false, tm: 8, tnv: 4, transB: { tm: 16, tnv: 2 }, kvec: false, wgx: 16, wgy: 4, tiledVec4: null,
  fitN: true, splitK: { minK: 4096, workgroups: 16, minChunk: 256 }, subgroup: { tm: 4, tb: 4, ku: 4 },
};

function checkTuning(t: MatmulTuning): void {
  for (const [what, tm, tnv] of [['', t.tm, t.tnv], ['transB.', t.transB.tm, t.transB.tnv]] as const) {
    if (![4, 8, 16].includes(tm)) throw new Error(`matmul: tuning.${what}tm must be 4, 8 or 16, got ${tm}`);
    if (![1, 2, 4, 8].includes(tnv)) throw new Error(`matmul: tuning.${what}tnv must be 1, 2, 4 or 8, got ${tnv}`);
  }
  for (const [k, v] of [['wgx', t.wgx], ['wgy', t.wgy]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 256 || (v & (v - 1)) !== 0) throw new Error(`matmul: tuning.${k} must be a power of 2 in 1..256, got ${v}`);
  }
  if (t.wgx * t.wgy > 256) throw new Error(`matmul: tuning workgroup ${t.wgx}x${t.wgy} exceeds 256 invocations`);
  const v4 = t.tiledVec4;
  if (v4 && (![4, 8].includes(v4.tm) || ![1, 2].includes(v4.tnv))) throw new Error(`matmul: tuning.tiledVec4 must have tm 4 or 8 and tnv 1 or 2, got tm ${v4.tm}, tnv ${v4.tnv}`);
  const sg = t.subgroup;
  if (sg && (![2, 4, 8, 16].includes(sg.tm) || ![1, 2, 4, 8].includes(sg.tb) || ![undefined, 1, 2, 4].includes(sg.ku) || ![undefined, true, false].includes(sg.vec4) || ![undefined, true, false].includes(sg.out4))) throw new Error(`matmul: tuning.subgroup must have tm 2, 4, 8 or 16, tb 1, 2, 4 or 8 and ku 1, 2 or 4 (vec4 and out4 booleans), got ${JSON.stringify(sg)}`);
  const sk = t.splitK;
  if (sk && !([sk.minK, sk.workgroups, sk.minChunk].every((x) => Number.isInteger(x) && x >= 1))) {
    throw new Error(`matmul: tuning.splitK needs positive integers minK, workgroups, minChunk, got ${JSON.stringify(sk)}`);
  }
}

const MAX_BATCH_PER_DISPATCH = 65535;

/** One matmul dispatch as the kernel saw it (after folding a shared-B batch into M). */
export interface MatmulTraceEntry {
  op: string; cls: string; batch: number; M: number; K: number; N: number; transA: boolean; transB: boolean;
  /** 'tiled', 'v4', 'reg', 'sg' (subgroup: rows tm per lane, 4·tnv = 8·tb columns per tile, wgx 8 lanes) */
  kernel: string; tm: number; tnv: number; wgx: number; wgy: number; splits: number; tiles: number;
  /** The kernel also summed the rows of op(A) (a linear's bias gradient with its weight gradient). */
  rowSums: boolean;
  /** The subgroup kernel read both operands as vec4 (tuning.subgroup.vec4 and the alignment it needs). */
  vec4: boolean;
  /** The subgroup kernel stored four columns at a time (tuning.subgroup.out4, N % 4 == 0). */
  out4: boolean;
}

/** Diagnostics: when set, called once per matmul program run (bench/probe-edgeface-matmul.ts pairs
 *  these with the profiler's records to rank the shapes by GPU time). */
export const matmulTrace: { fn: ((e: MatmulTraceEntry) => void) | null } = { fn: null };

interface Dims {
  batch: number;
  M: number;
  K: number;
  N: number;
  /** Element batch strides of A and B (0 when that side is broadcast). */
  sA: number;
  sB: number;
  outShape: number[];
}

function describe(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Dims {
  const ra = a.rank, rb = b.rank;
  if (ra < 2 || ra > 3 || rb < 2 || rb > 3) {
    throw new Error(`${op}: operands must be 2-D or 3-D, got a ${fmtShape(a.shape)} and b ${fmtShape(b.shape)}`);
  }
  const ba = ra === 3 ? a.shape[0]! : 1;
  const bb = rb === 3 ? b.shape[0]! : 1;
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const M = transA ? a1 : a0, Ka = transA ? a0 : a1;
  const Kb = transB ? b1 : b0, N = transB ? b0 : b1;
  const what = `a ${fmtShape(a.shape)}${transA ? ' (transA)' : ''} and b ${fmtShape(b.shape)}${transB ? ' (transB)' : ''}`;
  if (Ka !== Kb) throw new Error(`${op}: inner dimensions differ (${Ka} vs ${Kb}) for ${what}`);
  if (ba !== bb && ba !== 1 && bb !== 1) throw new Error(`${op}: batch dimensions ${ba} and ${bb} do not broadcast for ${what}`);
  const batch = Math.max(ba, bb);
  const outShape = ra === 2 && rb === 2 ? [M, N] : [batch, M, N];
  return { batch, M, K: Ka, N, sA: ba === 1 ? 0 : M * Ka, sB: bb === 1 ? 0 : Ka * N, outShape };
}

/**
 * Block and workgroup shape for one problem: the tuned ones, narrowed for small N so that the 8-lane
 * SIMD groups of lavapipe stay busy. Few distinct shapes (each is a pipeline compile, ~1 s on lavapipe).
 */
function blockFor(t: MatmulTuning, N: number, transB: boolean) {
  const base = transB ? t.transB : t;
  const tnv = N <= 4 ? 1 : base.tnv;
  const threads = t.wgx * t.wgy;
  // All of N in one column block: one invocation per row block (wgx 1), so the SIMD lanes run rows.
  let wgx = N <= 4 * tnv ? 1 : t.wgx;
  // fitN: fewer than 8 lanes' worth of columns (lavapipe's SIMD width): lanes of the next rows fill
  // the rest of each 8-lane group. From 8 lanes on, the idle lanes form whole groups that exit at once
  // and taller tiles only cost workgroups (measured slower), so the tuned wgx stays.
  const lanes = 2 ** Math.ceil(Math.log2(Math.ceil(N / (4 * tnv))));
  if (t.fitN && lanes < 8) wgx = Math.min(wgx, lanes);
  return { tm: base.tm, tnv, wgx, wgy: threads / wgx };
}

/** Split-K factor (tuning.splitK) and K per split (a multiple of 4): 1 split unless the output has few tiles. */
function splitFor(t: MatmulTuning, reg: boolean, tiles: number, batch: number, K: number): { splits: number; kChunk: number } {
  const sk = t.splitK;
  const groups = tiles * batch;
  if (!reg || !sk || K < sk.minK || groups >= sk.workgroups) return { splits: 1, kChunk: K };
  let splits = Math.min(Math.ceil(sk.workgroups / groups), Math.floor(K / sk.minChunk));
  if (splits <= 1) return { splits: 1, kChunk: K };
  const kChunk = Math.ceil(K / splits / 4) * 4;
  splits = Math.ceil(K / kChunk);
  return splits <= 1 ? { splits: 1, kChunk: K } : { splits, kChunk };
}

/** Runs the kernel: out = op(a) · op(b) (+ bias), no autograd, with the tuned variant of its shape class. */
function matmulKernel(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean, bias: Tensor | null, d: Dims): Tensor {
  return matmulKernelRows(op, a, b, transA, transB, bias, d, false).out;
}

/**
 * The store epilogue (shaders/matmul_epi.wgsl), applied to op(A) · op(B) (+ bias) = v: 'gelu' out =
 * gelu(v); 'gelu-keep' out = v and act = gelu(v); 'dgelu' out = v · gelu'(pre) (pre shaped like out,
 * no bias). Where the product is split along K the epilogue is a pass after the reduce (the same
 * functions).
 */
type MatmulEpi = { kind: 'gelu' } | { kind: 'gelu-keep' } | { kind: 'dgelu'; pre: Tensor };

interface MatmulResult {
  out: Tensor;
  /** Σ_k op(A)[m, k] per row m, where asked for and the kernel computed them on the way; else null. */
  rows: Tensor | null;
  /** gelu(v) with the epilogue 'gelu-keep'; else null. */
  act: Tensor | null;
}

/**
 * matmulKernel, and with rowSums (batch 1, no bias, no epilogue) also rows[m] = Σ_k op(A)[m, k]
 * where the kernel computes them on the way (the subgroup kernel); rows is null where it does not.
 */
function matmulKernelRows(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean, bias: Tensor | null, d: Dims, rowSums: boolean, epi: MatmulEpi | null = null): MatmulResult {
  const folded = d.batch > 1 && d.sB === 0 && !transA;
  const sample: MatmulClass = { M: folded ? d.batch * d.M : d.M, K: d.K, N: d.N, transA, transB, batch: folded ? 1 : d.batch };
  const cls = matmulClass(sample.M, sample.K, sample.N, transA, transB, sample.batch);
  // The sizes go with the class: autotune(fn) times the class on this product (tunables.ts).
  return withVariant('matmul', cls, () => matmulDispatch(op, a, b, transA, transB, bias, d, rowSums, epi), sample);
}

function matmulDispatch(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean, bias: Tensor | null, d: Dims, rowSums: boolean, epi: MatmulEpi | null): MatmulResult {
  const { M, K, N } = d;
  const pre = epi?.kind === 'dgelu' ? epi.pre : null;
  if (pre && bias) throw new Error(`${op}: the 'dgelu' epilogue takes no bias`);
  if (pre && pre.size !== d.batch * M * N) throw new Error(`${op}: the 'dgelu' epilogue's pre ${fmtShape(pre.shape)} does not match the product's [${d.outShape.join(', ')}]`);
  let { batch, sA } = d;
  // A batched, non-transposed A against a shared B: one [batch * M, K] x [K, N] product.
  let Mk = M;
  if (batch > 1 && d.sB === 0 && !transA) {
    Mk = batch * M;
    batch = 1;
    sA = 0;
  }
  const out = empty(d.outShape);
  const act = epi?.kind === 'gelu-keep' ? empty(d.outShape) : null;
  if (out.size === 0) return { out, rows: null, act };
  const t = matmulTuning;
  checkTuning(t);
  const blk = blockFor(t, N, transB);
  const v4 = t.tiledVec4;
  const sg = t.subgroup && !t.tiled && !v4 && fixedSubgroupSize() === SUBGROUP_LANES ? subgroupTile(t.subgroup, Mk, N) : null;
  const tileM = v4 ? 8 * v4.tm : t.tiled ? 32 : sg ? SUBGROUP_LANES * sg.tm : blk.tm * blk.wgy;
  const tileN = v4 ? 32 * v4.tnv : t.tiled ? 32 : sg ? SUBGROUP_LANES * sg.tb : 4 * blk.tnv * blk.wgx;
  const tilesN = Math.ceil(N / tileN);
  const tiles = tilesN * Math.ceil(Mk / tileM);
  const K0 = K === 0;
  // vec4 reads only where every vec4 the kernel reads is aligned (see shaders/matmul.wgsl).
  // Bound as vec4 only where a vec4 read is used: along M / N in the per-k reads, along K with kvec.
  // tiledVec4: vec4 tile loads of A along K, B along N (untransposed operands only).
  const reg = !t.tiled && !v4;
  const vecA = v4 ? !transA && !K0 && K % 4 === 0 : reg && !K0 && (transA ? Mk % 4 === 0 : t.kvec && K % 4 === 0);
  const vecB = v4 ? !transB && !K0 && N % 4 === 0 : reg && !K0 && (transB ? t.kvec && K % 4 === 0 : N % 4 === 0);
  const defines = {
    TRANS_A: transA,
    TRANS_B: transB,
    VEC_A: vecA,
    VEC_B: vecB,
    A_VEC_M: transA && vecA,
    B_VEC_N: !transB && vecB,
    HAS_BIAS: bias !== null,
    ROW_SUMS: false, // the subgroup kernel's (shaders/matmul_io.wgsl)
    OUT4: false, // likewise
    TILED: t.tiled && !v4,
    TILED_V4: !!v4,
    TM: v4 ? v4.tm : blk.tm,
    TNV: v4 ? v4.tnv : blk.tnv,
    WGX: blk.wgx,
    WGY: blk.wgy,
    // Chunks of 4 k (tuning.kvec): both operands read 4 k at a time, vec4 along K where possible.
    KVEC: t.kvec,
  };
  const eng = getEngine();
  const wg = grid1d(tiles, 1, eng.maxWorkgroups);
  const { splits, kChunk } = splitFor(t, reg, tiles, batch, K);
  // Row sums ride along in the subgroup kernel only: [splits, M] partials, summed below where split.
  const rs = rowSums && !!sg && batch === 1 && !bias && !epi;
  const rows = rs ? empty([splits * Mk]) : null;
  // The subgroup kernel's vec4 reads (subgroupMatmulVec4Defines): 4 k per step, every vec4 aligned and whole.
  const sgVec4 = !!sg && t.subgroup!.vec4 !== false && (t.subgroup!.ku ?? 1) === 4 && K % 4 === 0 && sA % 4 === 0 && d.sB % 4 === 0 &&
    (!transA || (Mk % 4 === 0 && sg.tm % 4 === 0)) && (transB || (N % 4 === 0 && sg.tb % 4 === 0));
  // The subgroup kernel's vec4 stores (OUT4): out, act and pre as vec4s where rows are whole vec4s.
  const out4 = !!sg && t.subgroup!.out4 !== false && N % 4 === 0;
  matmulTrace.fn?.({
    op, cls: matmulClass(Mk, K, N, transA, transB, batch), batch, M: Mk, K, N, transA, transB,
    kernel: v4 ? 'v4' : t.tiled ? 'tiled' : sg ? 'sg' : 'reg', tm: sg ? sg.tm : defines.TM, tnv: sg ? 2 * sg.tb : defines.TNV,
    wgx: sg ? SUBGROUP_LANES : blk.wgx, wgy: sg ? 1 : blk.wgy, splits, tiles, rowSums: rs, vec4: sgVec4, out4,
  });
  // The product's program (the split-K reduce below is matmul.wgsl's either way).
  const sgDefines = (e: boolean, withBias: boolean) => sgVec4
    ? { VEC4: true, OUT4: out4, ...subgroupMatmulVec4Defines(sg!.tm, sg!.tb, transA, transB, rs, e, withBias, out4) }
    : { VEC4: false, OUT4: out4, ...subgroupMatmulDefines(sg!.tm, sg!.tb, rs, t.subgroup!.ku ?? 1, e, withBias, out4) };
  // The epilogue in the product's stores (not in split-K partials: see below).
  const epiDefines = (on: boolean) => ({ GELU: on && epi?.kind === 'gelu', GELU_KEEP: on && epi?.kind === 'gelu-keep', DGELU: on && !!pre });
  const product = (splitK: boolean, withBias: boolean) => sg
    ? { shader: 'matmul_subgroup', defines: { TRANS_A: transA, TRANS_B: transB, HAS_BIAS: withBias, SPLIT_K: splitK, ROW_SUMS: rs, ...epiDefines(!splitK), ...sgDefines(!splitK && !!epi, withBias) } }
    : { shader: 'matmul', defines: { ...defines, HAS_BIAS: withBias, SPLIT_K: splitK, REDUCE: false, ...epiDefines(!splitK) } };
  const uni = (b0: number) =>
    [u32(Mk), u32(N), u32(K), u32(tilesN), u32(tiles), u32(sA), u32(d.sB), u32(b0), u32(splits), u32(kChunk), u32(0), u32(0)];
  if (splits === 1) {
    const inputs = bias ? [a, b, bias] : pre ? [a, b, pre] : [a, b];
    const outputs = rows ? [out, rows] : act ? [out, act] : [out];
    for (let b0 = 0; b0 < batch; b0 += MAX_BATCH_PER_DISPATCH) {
      const nb = Math.min(MAX_BATCH_PER_DISPATCH, batch - b0);
      eng.run({
        name: op, ...product(false, bias !== null), inputs, outputs,
        uniforms: uni(b0), workgroups: [wg[0], wg[1], nb],
      });
    }
    return { out, rows, act };
  }
  // Split-K: partial products [batch, splits, M, N] (no bias), then one reduce over the splits.
  const MN = Mk * N;
  const part = empty([batch * splits * MN]);
  const perDispatch = Math.floor(MAX_BATCH_PER_DISPATCH / splits);
  for (let b0 = 0; b0 < batch; b0 += perDispatch) {
    const nb = Math.min(perDispatch, batch - b0);
    eng.run({
      name: op, ...product(true, false), inputs: [a, b], outputs: rows ? [part, rows] : [part],
      uniforms: uni(b0), workgroups: [wg[0], wg[1], nb * splits],
    });
  }
  const total = batch * MN;
  const rg = grid1d(total, 64, eng.maxWorkgroups);
  eng.run({
    name: `${op}_splitk_reduce`, shader: 'matmul', defines: { ...defines, SPLIT_K: false, REDUCE: true, HAS_BIAS: bias !== null, ...epiDefines(false) }, // other defines unused there
    inputs: bias ? [part, bias] : [part], outputs: [out],
    uniforms: [u32(MN), u32(N), u32(splits), u32(total)], workgroups: [rg[0], rg[1], 1],
  });
  part.dispose();
  // The epilogue as a pass of its own after the reduce.
  let res = out;
  if (epi?.kind === 'gelu') res = geluNoGrad(out);
  else if (act) geluNoGrad(out, act);
  else if (pre) res = geluBackwardNoGrad(out, pre);
  if (res !== out) out.dispose();
  if (!rows) return { out: res, rows, act };
  const summed = sumTo(rows.viewAs([splits, Mk]), [Mk]);
  rows.dispose();
  return { out: res, rows: summed, act };
}

export function matmulNoGrad(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return matmulKernel('matmul', a, b, transA, transB, null, describe('matmul', a, b, transA, transB));
}

function checkOpts(op: string, opts: object, allowed: readonly string[]): void {
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new Error(`${op}: unknown option "${k}" (supported: ${allowed.join(', ')})`);
  }
}

/**
 * op(a) · op(b), op = transpose where transA / transB (read in place, never materialised).
 * a [M, K] or [B, M, K] (transA: [K, M] / [B, K, M]); b [K, N] or [B, K, N] (transB: [N, K] / [B, N, K]).
 * Batches broadcast when one side has batch 1 or is 2-D. Out: [M, N] for two 2-D operands, else [B, M, N].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  a.check('matmul', 'a');
  b.check('matmul', 'b');
  checkOpts('matmul', opts, ['transA', 'transB']);
  const transA = !!opts.transA, transB = !!opts.transB;
  for (const [k, v] of [['transA', opts.transA], ['transB', opts.transB]] as const) {
    if (v !== undefined && typeof v !== 'boolean') throw new Error(`matmul: option ${k} must be a boolean, got ${String(v)}`);
  }
  const d = describe('matmul', a, b, transA, transB);
  addMacs('matmul', d.batch * d.M * d.K * d.N);
  const out = matmulKernel('matmul', a, b, transA, transB, null, d);
  return record('matmul', [a, b], out, (g) => [
    a.requiresGrad ? sumTo(gradA(b, g, transA, transB), a.shape) : null,
    b.requiresGrad ? sumTo(gradB(a, b, g, transA, transB, d), b.shape) : null,
  ]);
}

// With C = op(A) op(B): d op(A) = g op(B)ᵀ and d op(B) = op(A)ᵀ g; a transposed operand takes the
// transpose of that, again expressed with the flags.
function gradA(b: Tensor, g: Tensor, transA: boolean, transB: boolean): Tensor {
  if (!transA) return matmulNoGrad(g, b, false, !transB); // g op(B)ᵀ
  return matmulNoGrad(b, g, transB, true); // (g op(B)ᵀ)ᵀ = op(B) gᵀ
}

function gradB(a: Tensor, b: Tensor, g: Tensor, transA: boolean, transB: boolean, d: Dims): Tensor {
  // B shared across a batched, non-transposed A: Σ_b A_bᵀ g_b = A_flatᵀ g_flat, one product, no sum.
  if (d.sB === 0 && d.batch > 1 && !transA) {
    const A2 = a.viewAs([d.batch * d.M, d.K]);
    const g2 = g.viewAs([d.batch * d.M, d.N]);
    return (transB ? matmulNoGrad(g2, A2, true, false) : matmulNoGrad(A2, g2, true, false)).viewAs(b.shape);
  }
  if (!transB) return matmulNoGrad(a, g, !transA, false);
  return matmulNoGrad(g, a, true, transA);
}

/**
 * PyTorch nn.Linear: x [..., in], weight [out, in], bias [out] → [..., out] = x · weightᵀ + bias
 * (bias added inside the kernel).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  x.check('linear', 'x');
  weight.check('linear', 'weight');
  if (bias) bias.check('linear', 'bias');
  const shapes = `x ${fmtShape(x.shape)}, weight ${fmtShape(weight.shape)}${bias ? `, bias ${fmtShape(bias.shape)}` : ''}`;
  if (x.rank < 1) throw new Error(`linear: x must have at least 1 dimension (${shapes})`);
  if (weight.rank !== 2) throw new Error(`linear: weight must be 2-D [out, in] (${shapes})`);
  const [outF, inF] = weight.shape as [number, number];
  if (x.shape[x.rank - 1] !== inF) throw new Error(`linear: x's last dimension ${x.shape[x.rank - 1]} does not match weight's in-features ${inF} (${shapes})`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== outF)) throw new Error(`linear: bias must be [${outF}] (${shapes})`);
  const rows = x.size / inF || x.shape.slice(0, -1).reduce((p, q) => p * q, 1);
  const x2 = x.viewAs([rows, inF]);
  const d = describe('linear', x2, weight, false, true);
  addMacs('linear', d.batch * d.M * d.K * d.N);
  const out2 = matmulKernel('linear', x2, weight, false, true, bias ?? null, d);
  const out = out2.viewAs([...x.shape.slice(0, -1), outF]);
  out2.dispose();
  x2.dispose();
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record('linear', inputs, out, (g) => {
    const g2 = g.viewAs([rows, outF]);
    const { gw, gb } = linearParamGrads(g2, x.viewAs([rows, inF]), weight, bias ?? null);
    return [x.requiresGrad ? matmulNoGrad(g2, weight, false, false).viewAs(x.shape) : null, gw, ...(bias ? [gb] : [])];
  });
}

/**
 * A linear's parameter gradients from g2 [rows, out] and its input xf [rows, in]: gw = g2ᵀ · xf, and
 * gb = Σ_rows g2, which the weight gradient's kernel sums on the way where it can (it reads every
 * g2[r, o] per output o); each null where its parameter needs none.
 */
function linearParamGrads(g2: Tensor, xf: Tensor, weight: Tensor, bias: Tensor | null): { gw: Tensor | null; gb: Tensor | null } {
  const wg = weight.requiresGrad ? matmulKernelRows('matmul', g2, xf, true, false, null, describe('matmul', g2, xf, true, false), !!bias?.requiresGrad) : null;
  return { gw: wg?.out ?? null, gb: bias?.requiresGrad ? wg?.rows ?? sumTo(g2, [g2.shape[1]!]) : null };
}

/**
 * linear(gelu(linear(x, w1, b1)), w2, b2): timm's Mlp (fc1 → GELU → fc2) as one op, with GELU in the
 * stores of fc1's product and, in the backward, GELU's derivative in the stores of the hidden
 * gradient's product (dh = (g · w2) · gelu'(pre); shaders/matmul_epi.wgsl): the hidden activations
 * get no elementwise pass of their own, forward or backward. x [..., in], w1 [hidden, in], b1
 * [hidden] or null, w2 [out, hidden], b2 [out] or null → [..., out]. Same sums as the three ops.
 */
export function mlp(x: Tensor, w1: Tensor, b1: Tensor | null, w2: Tensor, b2: Tensor | null): Tensor {
  for (const [t, what] of [[x, 'x'], [w1, 'w1'], [b1, 'b1'], [w2, 'w2'], [b2, 'b2']] as const) t?.check('mlp', what);
  const shapes = `x ${fmtShape(x.shape)}, w1 ${fmtShape(w1.shape)}, w2 ${fmtShape(w2.shape)}`;
  if (x.rank < 1 || w1.rank !== 2 || w2.rank !== 2) throw new Error(`mlp: x needs a dimension and w1, w2 must be 2-D [out, in] (${shapes})`);
  const [hidden, inF] = w1.shape as [number, number];
  const [outF, h2] = w2.shape as [number, number];
  if (x.shape[x.rank - 1] !== inF) throw new Error(`mlp: x's last dimension ${x.shape[x.rank - 1]} does not match w1's in-features ${inF} (${shapes})`);
  if (h2 !== hidden) throw new Error(`mlp: w2's in-features ${h2} do not match w1's out-features ${hidden} (${shapes})`);
  if (b1 && (b1.rank !== 1 || b1.shape[0] !== hidden)) throw new Error(`mlp: b1 must be [${hidden}], got ${fmtShape(b1.shape)}`);
  if (b2 && (b2.rank !== 1 || b2.shape[0] !== outF)) throw new Error(`mlp: b2 must be [${outF}], got ${fmtShape(b2.shape)}`);
  const inputs = [x, w1, ...(b1 ? [b1] : []), w2, ...(b2 ? [b2] : [])];
  const recorded = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const rows = x.size / inF || x.shape.slice(0, -1).reduce((p, q) => p * q, 1);
  const x2 = x.viewAs([rows, inF]);
  const d1 = describe('mlp', x2, w1, false, true);
  addMacs('linear', d1.M * d1.K * d1.N);
  // Recorded: h is the pre-activation (the backward's), act = gelu(h); else h = gelu(...) itself.
  const { out: h, act } = matmulKernelRows('linear', x2, w1, false, true, b1, d1, false, { kind: recorded ? 'gelu-keep' : 'gelu' });
  x2.dispose();
  const a = act ?? h;
  const d2 = describe('mlp', a, w2, false, true);
  addMacs('linear', d2.M * d2.K * d2.N);
  const y2 = matmulKernel('linear', a, w2, false, true, b2, d2);
  const y = y2.viewAs([...x.shape.slice(0, -1), outF]);
  y2.dispose();
  if (!recorded) {
    a.dispose();
    return y;
  }
  const pre = h;
  return record('mlp', inputs, y, (g) => {
    const g2 = g.viewAs([rows, outF]);
    const xf = x.viewAs([rows, inF]);
    // fc2's parameters from g and act; dh = g · w2, times gelu'(pre) in its stores; fc1's from dh and x.
    const fc2 = linearParamGrads(g2, a, w2, b2);
    const need1 = x.requiresGrad || w1.requiresGrad || !!b1?.requiresGrad;
    const dh = need1 ? matmulKernelRows('matmul', g2, w2, false, false, null, describe('matmul', g2, w2, false, false), false, { kind: 'dgelu', pre }).out : null;
    const fc1 = dh ? linearParamGrads(dh, xf, w1, b1) : { gw: null, gb: null };
    const gx = dh && x.requiresGrad ? matmulNoGrad(dh, w1, false, false).viewAs(x.shape) : null;
    dh?.dispose();
    return [gx, fc1.gw, ...(b1 ? [fc1.gb] : []), fc2.gw, ...(b2 ? [fc2.gb] : [])];
  });
}
