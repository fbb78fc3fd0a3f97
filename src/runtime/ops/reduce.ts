// Reductions over any set of axes: sum, mean, max; sumTo (the backward of broadcasting).
import { Tensor, empty, fmtShape, type Shape } from '../tensor.js';
import { getEngine, grid1d, u32, f32, vec4u } from '../engine.js';
import { record } from '../autograd.js';
import { normAxes, pad8, sameShape, stridesOf } from '../shape.js';
import { mul as mulOp, full, binaryForward } from './elementwise.js';

/**
 * Reduction strategy: 'split' (default) runs one invocation per (output, chunk of the reduced
 * range) with no barriers, then reduces the partials in a second pass: fast on lavapipe, and enough
 * parallelism for a full-tensor sum. 'tree' runs one 64-invocation workgroup per output with a
 * shared-memory tree (a GPU-style variant; the autotuner of a later issue picks per adapter).
 */
export const reduceTuning: { variant: 'split' | 'tree'; targetThreads: number; minChunk: number } = {
  variant: 'split', targetThreads: 8192, minChunk: 64,
};

function reduceForward(kind: 'sum' | 'max', x: Tensor, axes: number[], scale: number): Tensor {
  const rank = x.shape.length;
  const st = stridesOf(x.shape);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const red = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
  const nOut = kept.reduce((a, b) => a * b, 1);
  const R = red.reduce((a, b) => a * b, 1);
  if (nOut === 0) return empty(kept);
  if (R === 0) throw new Error(`${kind}: reducing over an empty axis of ${fmtShape(x.shape)}`);
  const tree = reduceTuning.variant === 'tree' && R > 64;
  const splits = tree ? 1 : Math.max(1, Math.min(Math.ceil(R / reduceTuning.minChunk), Math.ceil(reduceTuning.targetThreads / nOut)));
  const chunk = Math.ceil(R / splits);
  const out = empty(splits > 1 ? [nOut, splits] : kept);
  const k8 = pad8(kept), ks = pad8(st, 0), r8 = pad8(red), rs = pad8(st, 0);
  getEngine().run({
    name: kind, shader: 'reduce', defines: { MAX: kind === 'max', PER_THREAD: !tree },
    inputs: [x], outputs: [out],
    uniforms: [u32(nOut), u32(R), u32(rank), f32(splits > 1 ? 1 : scale), u32(chunk), u32(splits),
      vec4u(k8.slice(0, 4)), vec4u(k8.slice(4)), vec4u(ks.slice(0, 4)), vec4u(ks.slice(4)),
      vec4u(r8.slice(0, 4)), vec4u(r8.slice(4)), vec4u(rs.slice(0, 4)), vec4u(rs.slice(4))],
    workgroups: tree ? grid1d(nOut, 1) : grid1d(nOut * splits, 64),
  });
  if (splits === 1) return out;
  // Second pass over the partials.
  const final = reduceForward(kind, out, [1], scale);
  out.dispose();
  const v = final.viewAs(kept);
  final.dispose();
  return v;
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

// Broadcast g (whose reduced dims are 1) back to `shape`, times s: out = s * g[broadcast]
function expandTo(g: Tensor, shape: Shape, s = 1): Tensor {
  return mulOp(g, full(shape, s));
}

// dx = g[broadcast] * (x == max[broadcast])
function maxBackward(x: Tensor, m: Tensor, g: Tensor): Tensor {
  return mulOp(binaryForward('eq', x, m), g);
}
