// Reductions over any set of axes: sum, mean, max; sumTo (the backward of broadcasting).
import { Tensor, empty, fmtShape, type Shape } from '../tensor.js';
import { getEngine, grid1d, u32, f32, vec4u } from '../engine.js';
import { record } from '../autograd.js';
import { withVariant } from '../autotune.js';
import { reduceClass } from '../shape-class.js';
import { normAxes, pad8, sameShape, stridesOf } from '../shape.js';
import { mul as mulOp, binaryForward, broadcastTo } from './elementwise.js';

/**
 * Reduction strategy: 'split' (default) runs one invocation per (output, chunk of the reduced
 * range) with no barriers, then reduces the partials in a second pass: fast on lavapipe, and enough
 * parallelism for a full-tensor sum. 'tree' runs one 64-invocation workgroup per output with a
 * shared-memory tree (a GPU-style variant; the autotuner's 'reduce' tunable picks per adapter).
 * Problems of at most `singlePassMax` elements run in one pass (no split). Canonical shapes of the
 * form [A, C, B] -> C (rows, columns, per-channel) use the ACB/COLS kernels (no per-element index
 * math); other patterns, and 'tree', use the generic kernel over the canonical dims.
 */
export const reduceTuning: { variant: 'split' | 'tree'; targetThreads: number; minChunk: number; singlePassMax: number } = {
  variant: 'split', targetThreads: 8192, minChunk: 64, singlePassMax: 16384,
};

/**
 * Canonical form of a reduction: size-1 dims dropped, adjacent dims with the same role (reduced or
 * kept) merged. `dims[i]` is a size, `red[i]` whether it is reduced; roles alternate.
 */
export function canonicalReduce(shape: Shape, axes: readonly number[]): { dims: number[]; red: boolean[] } {
  const dims: number[] = [];
  const red: boolean[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const r = axes.includes(i);
    if (dims.length > 0 && red[red.length - 1] === r) dims[dims.length - 1]! *= d;
    else {
      dims.push(d);
      red.push(r);
    }
  });
  return { dims, red };
}

/** [A, C, B] -> C form of a canonical reduction (A and B reduced), or null if it has another pattern. */
function acbOf(c: { dims: number[]; red: boolean[] }): [number, number, number] | null {
  const { dims, red } = c;
  const n = dims.length;
  if (n === 0) return [1, 1, 1];
  if (n === 1) return red[0] ? [1, 1, dims[0]!] : [1, dims[0]!, 1];
  if (n === 2) return red[0] ? [dims[0]!, dims[1]!, 1] : [1, dims[0]!, dims[1]!];
  if (n === 3 && red[0]) return [dims[0]!, dims[1]!, dims[2]!];
  return null;
}

/** How many partial ranges each output's reduction of length R is split into (first pass). */
function splitsFor(nOut: number, R: number): number {
  // A small problem is one cheap pass: an extra pass costs a dispatch.
  if (nOut * R <= reduceTuning.singlePassMax) return 1;
  return Math.max(1, Math.min(Math.ceil(R / reduceTuning.minChunk), Math.ceil(reduceTuning.targetThreads / nOut)));
}

function reduceForward(kind: 'sum' | 'max', x: Tensor, axes: number[], scale: number): Tensor {
  const nOut = x.shape.reduce((a, d, i) => (axes.includes(i) ? a : a * d), 1);
  const R = axes.reduce((a, i) => a * x.shape[i]!, 1);
  return withVariant('reduce', reduceClass(nOut, R), () => reduceDispatch(kind, x, axes, scale));
}

function reduceDispatch(kind: 'sum' | 'max', x: Tensor, axes: number[], scale: number): Tensor {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const nOut = kept.reduce((a, b) => a * b, 1);
  const R = axes.reduce((a, i) => a * x.shape[i]!, 1);
  if (nOut === 0) return empty(kept);
  if (R === 0) throw new Error(`${kind}: reducing over an empty axis of ${fmtShape(x.shape)}`);
  const canon = canonicalReduce(x.shape, axes);
  const tree = reduceTuning.variant === 'tree' && R > 64;
  const acb = tree ? null : acbOf(canon);
  if (acb) {
    const r = reduceACB(kind, x, acb, scale);
    const v = r.viewAs(kept);
    r.dispose();
    return v;
  }
  // Generic kernel over the canonical dims.
  const cs = stridesOf(canon.dims);
  const keptC = canon.dims.map((d, i) => (canon.red[i] ? 1 : d));
  const redC = canon.dims.map((d, i) => (canon.red[i] ? d : 1));
  const splits = tree ? 1 : splitsFor(nOut, R);
  const chunk = Math.ceil(R / splits);
  const out = empty(splits > 1 ? [nOut, splits] : kept);
  const k8 = pad8(keptC), ks = pad8(cs, 0), r8 = pad8(redC), rs = pad8(cs, 0);
  getEngine().run({
    name: kind, shader: 'reduce', defines: { MAX: kind === 'max', PER_THREAD: !tree, ACB: false, COLS: false },
    inputs: [x], outputs: [out],
    uniforms: [u32(nOut), u32(R), u32(canon.dims.length), f32(splits > 1 ? 1 : scale), u32(chunk), u32(splits),
      vec4u(k8.slice(0, 4)), vec4u(k8.slice(4)), vec4u(ks.slice(0, 4)), vec4u(ks.slice(4)),
      vec4u(r8.slice(0, 4)), vec4u(r8.slice(4)), vec4u(rs.slice(0, 4)), vec4u(rs.slice(4))],
    workgroups: tree ? grid1d(nOut, 1) : grid1d(nOut * splits, 64),
  });
  if (splits === 1) return out;
  // Second pass over the partials [nOut, splits]: rows.
  const final = reduceACB(kind, out, [1, nOut, splits], scale);
  out.dispose();
  const v = final.viewAs(kept);
  final.dispose();
  return v;
}

/** out[c] = reduce over a, b of x[a, c, b] (x viewed as [A, C, B]), times scale; returns [C]. */
function reduceACB(kind: 'sum' | 'max', x: Tensor, [A, C, B]: [number, number, number], scale: number): Tensor {
  const R = A * B;
  const splits = splitsFor(C, R);
  const chunk = Math.ceil(R / splits);
  const out = empty(splits > 1 ? [splits, C] : [C]);
  const cols = B === 1;
  getEngine().run({
    name: kind, shader: 'reduce', defines: { MAX: kind === 'max', PER_THREAD: false, ACB: !cols, COLS: cols },
    inputs: [x], outputs: [out],
    uniforms: [u32(C), u32(R), u32(B), u32(C * B), f32(splits > 1 ? 1 : scale), u32(chunk), u32(splits)],
    workgroups: grid1d(C * splits, 64),
  });
  if (splits === 1) return out;
  // Second pass over the partials [splits, C]: columns.
  const final = reduceACB(kind, out, [splits, C, 1], scale);
  out.dispose();
  return final;
}

function outShape(x: Shape, axes: number[], keepDims: boolean): number[] {
  return keepDims ? x.map((d, i) => (axes.includes(i) ? 1 : d)) : x.filter((_, i) => !axes.includes(i));
}

/** Sum over `axes` (all by default). */
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  x.check('sum');
  const ax = normAxes('sum', axes, x.rank);
  const r = reduceForward('sum', x, ax, 1);
  const out = keepDims ? r : r.viewAs(outShape(x.shape, ax, false));
  return record('sum', [x], out, (g) => [expandTo(g.viewAs(r.shape), x.shape)]);
}

export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  x.check('mean');
  const ax = normAxes('mean', axes, x.rank);
  const R = ax.reduce((a, i) => a * x.shape[i]!, 1);
  const r = reduceForward('sum', x, ax, 1 / R);
  const out = keepDims ? r : r.viewAs(outShape(x.shape, ax, false));
  return record('mean', [x], out, (g) => [expandTo(g.viewAs(r.shape), x.shape, 1 / R)]);
}

/** Max over `axes`; the gradient goes to every position equal to the max (ties share it fully). */
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  x.check('max');
  const ax = normAxes('max', axes, x.rank);
  const r = reduceForward('max', x, ax, 1);
  const out = keepDims ? r : r.viewAs(outShape(x.shape, ax, false));
  return record('max', [x], out, (g) => [maxBackward(x, out.viewAs(r.shape), g.viewAs(r.shape))]);
}

/**
 * Column sums of two matrices with the same number of rows, in one dispatch (shaders/colsum2.wgsl):
 * a [P, Da], b [P, Db] -> [Da], [Db]. Unrecorded: for backward kernels that leave per-chunk partial
 * sums of two parameters' gradients (LayerNorm's gamma and beta, a depthwise conv's weight and bias),
 * which took a sum dispatch each.
 */
export function sumRows2(a: Tensor, b: Tensor): [Tensor, Tensor] {
  if (a.rank !== 2 || b.rank !== 2 || a.shape[0] !== b.shape[0]) {
    throw new Error(`sumRows2: needs two matrices with the same rows, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  const [P, da] = a.shape as [number, number];
  const db = b.shape[1]!;
  const oa = empty([da]), ob = empty([db]);
  if (da + db === 0) return [oa, ob];
  if (P === 0) throw new Error(`sumRows2: no rows to sum in ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  getEngine().run({
    name: 'sum2', shader: 'colsum2', inputs: [a, b], outputs: [oa, ob],
    uniforms: [u32(P), u32(da), u32(db)], workgroups: grid1d(da + db, 64),
  });
  return [oa, ob];
}

/** Sums a broadcast gradient back down to `shape` (right-aligned, numpy rules). */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const off = g.rank - shape.length;
  if (off < 0) throw new Error(`sumTo: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    const d = i < off ? 1 : shape[i - off]!;
    if (i < off || (d === 1 && g.shape[i] !== 1)) axes.push(i);
    else if (d !== g.shape[i]) throw new Error(`sumTo: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  }
  return reduceForward('sum', g, axes, 1).viewAs(shape);
}

// Broadcast g (whose reduced dims are 1) back to `shape`, times s: out = s * g[broadcast] (one kernel).
function expandTo(g: Tensor, shape: Shape, s = 1): Tensor {
  return broadcastTo(g, shape, s);
}

// dx = g[broadcast] * (x == max[broadcast])
function maxBackward(x: Tensor, m: Tensor, g: Tensor): Tensor {
  return mulOp(binaryForward('eq', x, m), g);
}
