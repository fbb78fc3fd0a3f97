// Pooling on NCHW: globalAvgPool, avgPool2d (count_include_pad = true, PyTorch's default), maxPool2d
// (gradient to the first maximum of each window; also TensorFlow's 'same' padding). Forward and
// backward side by side; the backward gathers per input element over the windows covering it (no
// atomics). floor output sizes (ceil_mode = false), dilation 1.
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record } from '../autograd.js';

export type Size2 = number | readonly [number, number];

interface PoolGeo { n: number; c: number; h: number; w: number; oh: number; ow: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number }

function pair(op: string, what: string, v: Size2, min: number): [number, number] {
  const p: readonly number[] = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((d) => Number.isInteger(d) && d >= min)) {
    throw new Error(`${op}: ${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0]!, p[1]!];
}

/**
 * TensorFlow's 'same' padding along one axis: out = ceil(n / s), total padding
 * max((out - 1) s + k - n, 0), the smaller half before (so 2x2 stride 2 on an odd side pads one
 * -inf column after it only). The pool kernels clip each window to the input, so the padding after
 * needs no uniform: it is implied by the output size.
 */
function samePadding(n: number, k: number, s: number): { out: number; before: number } {
  const out = Math.ceil(n / s);
  return { out, before: Math.floor(Math.max((out - 1) * s + k - n, 0) / 2) };
}

function poolGeo(op: string, x: Tensor, kernel: Size2, stride: Size2 | undefined, padding: Size2 | 'same'): PoolGeo {
  x.check(op);
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = pair(op, 'kernel', kernel, 1);
  const [sh, sw] = pair(op, 'stride', stride ?? kernel, 1);
  if (padding === 'same') {
    if (h < 1 || w < 1) throw new Error(`${op}: input ${fmtShape(x.shape)} has an empty spatial dim`);
    const y = samePadding(h, kh, sh), xx = samePadding(w, kw, sw);
    return { n, c, h, w, kh, kw, sh, sw, ph: y.before, pw: xx.before, oh: y.out, ow: xx.out };
  }
  const [ph, pw] = pair(op, 'padding', padding, 0);
  if (2 * ph > kh || 2 * pw > kw) throw new Error(`${op}: padding [${ph}, ${pw}] must be at most half the kernel [${kh}, ${kw}]`);
  if (h + 2 * ph < kh || w + 2 * pw < kw) {
    throw new Error(`${op}: kernel [${kh}, ${kw}] is larger than the padded input ${fmtShape(x.shape)} (padding [${ph}, ${pw}])`);
  }
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh: Math.floor((h + 2 * ph - kh) / sh) + 1, ow: Math.floor((w + 2 * pw - kw) / sw) + 1 };
}

function uniforms(g: PoolGeo, count: number, inv: number, wb = 0) {
  // wb: runs of 4 pixels per row (backward).
  return [u32(count), u32(g.h), u32(g.w), u32(g.oh), u32(g.ow), u32(g.kh), u32(g.kw), u32(g.sh), u32(g.sw), u32(g.ph), u32(g.pw), f32(inv), u32(wb)];
}

type Kind = 'avg' | 'max' | 'argmax' | 'global';

function poolForward(name: string, kind: Kind, x: Tensor, g: PoolGeo): Tensor {
  const out = empty([g.n, g.c, g.oh, g.ow]);
  const count = out.size;
  getEngine().run({
    name, shader: 'pool', defines: { MAX: kind === 'max' || kind === 'argmax', ARGMAX: kind === 'argmax', GLOBAL: kind === 'global' },
    inputs: [x], outputs: [out], uniforms: uniforms(g, count, 1 / (g.kh * g.kw)), workgroups: grid1d(count, 64),
  });
  return out;
}

function poolBackward(name: string, kind: 'avg' | 'max' | 'global', x: Tensor, gy: Tensor, g: PoolGeo): Tensor {
  const dx = empty(x.shape);
  const idx = kind === 'max' ? poolForward(`${name}_argmax`, 'argmax', x, g) : gy;
  // Global: one invocation per element; else one per run of 4 pixels along a row.
  const wb = Math.ceil(g.w / 4);
  const count = kind === 'global' ? dx.size : g.n * g.c * g.h * wb;
  getEngine().run({
    name: `${name}_backward`, shader: 'pool_backward', defines: { MAX: kind === 'max', GLOBAL: kind === 'global' },
    inputs: [gy, idx], outputs: [dx], uniforms: uniforms(g, count, 1 / (g.kh * g.kw), wb), workgroups: grid1d(count, 64),
  });
  return dx;
}

/** Mean over H and W: [N, C, H, W] -> [N, C, 1, 1]. */
export function globalAvgPool(x: Tensor): Tensor {
  const op = 'globalAvgPool';
  x.check(op);
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h * w === 0) throw new Error(`${op}: input ${fmtShape(x.shape)} has an empty plane`);
  const g: PoolGeo = { n, c, h, w, oh: 1, ow: 1, kh: h, kw: w, sh: 1, sw: 1, ph: 0, pw: 0 };
  const out = poolForward(op, 'global', x, g);
  return record(op, [x], out, (gy) => [poolBackward(op, 'global', x, gy, g)]);
}

/**
 * Average pooling with zero padding counted in the divisor (count_include_pad = true, PyTorch's
 * default): every window divides by kh*kw. stride defaults to the kernel.
 */
export function avgPool2d(x: Tensor, kernel: Size2, stride?: Size2, padding: Size2 = 0): Tensor {
  const op = 'avgPool2d';
  const g = poolGeo(op, x, kernel, stride, padding);
  const out = poolForward(op, 'avg', x, g);
  return record(op, [x], out, (gy) => [poolBackward(op, 'avg', x, gy, g)]);
}

/**
 * Max pooling (padding is -inf); the gradient goes to the first maximum of each window (row-major).
 * padding 'same' is TensorFlow's (tf.maxPool(..., 'same')): output ceil(H / stride), the padding
 * split with the smaller half before (see samePadding).
 */
export function maxPool2d(x: Tensor, kernel: Size2, stride?: Size2, padding: Size2 | 'same' = 0): Tensor {
  const op = 'maxPool2d';
  const g = poolGeo(op, x, kernel, stride, padding);
  const out = poolForward(op, 'max', x, g);
  return record(op, [x], out, (gy) => [poolBackward(op, 'max', x, gy, g)]);
}
