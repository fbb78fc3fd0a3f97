// softmax, logSoftmax and l2Normalize along any axis: x is viewed as [outer, D, inner] and one GPU
// invocation normalises one row (o, i) (no barriers: fast on lavapipe). Forward and backward side by side.
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record } from '../autograd.js';
import { normAxis } from '../shape.js';

type Mode = 'softmax' | 'logSoftmax' | 'l2Normalize';

function rowsOf(op: string, x: Tensor, axis: number) {
  x.check(op);
  if (x.rank === 0) throw new Error(`${op}: input ${fmtShape(x.shape)} is a scalar; it needs at least one axis`);
  const a = normAxis(op, axis, x.rank);
  const d = x.shape[a]!;
  const inner = x.shape.slice(a + 1).reduce((p, q) => p * q, 1);
  const outer = x.shape.slice(0, a).reduce((p, q) => p * q, 1);
  return { d, inner, rows: outer * inner };
}

function uniforms(g: { rows: number; d: number; inner: number }, eps: number) {
  return [u32(g.rows), u32(g.d), u32(Math.max(g.inner, 1)), f32(eps)];
}

function rowForward(mode: Mode, x: Tensor, geo: ReturnType<typeof rowsOf>, eps: number): Tensor {
  const out = empty(x.shape);
  if (geo.d === 0) return out;
  getEngine().run({
    name: mode, shader: 'softmax', defines: { LOG: mode === 'logSoftmax', L2: mode === 'l2Normalize' },
    inputs: [x], outputs: [out], uniforms: uniforms(geo, eps), workgroups: grid1d(geo.rows, 64),
  });
  return out;
}

function rowBackward(mode: Mode, saved: Tensor, g: Tensor, geo: ReturnType<typeof rowsOf>, eps: number): Tensor {
  const dx = empty(saved.shape);
  if (geo.d === 0) return dx;
  getEngine().run({
    name: `${mode}_backward`, shader: 'softmax_backward', defines: { LOG: mode === 'logSoftmax', L2: mode === 'l2Normalize' },
    inputs: [saved, g], outputs: [dx], uniforms: uniforms(geo, eps), workgroups: grid1d(geo.rows, 64),
  });
  return dx;
}

/** exp(x - max) / sum(exp(x - max)) along `axis`. */
export function softmax(x: Tensor, axis = -1): Tensor {
  const geo = rowsOf('softmax', x, axis);
  const out = rowForward('softmax', x, geo, 0);
  return record('softmax', [x], out, (g) => [rowBackward('softmax', out, g, geo, 0)]);
}

/** x - max - log(sum(exp(x - max))) along `axis`. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const geo = rowsOf('logSoftmax', x, axis);
  const out = rowForward('logSoftmax', x, geo, 0);
  return record('logSoftmax', [x], out, (g) => [rowBackward('logSoftmax', out, g, geo, 0)]);
}

/** x / max(||x||_2, eps) along `axis` (torch.nn.functional.normalize with p = 2). */
export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  const geo = rowsOf('l2Normalize', x, axis);
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`l2Normalize: eps must be a positive finite number, got ${eps} (input ${fmtShape(x.shape)})`);
  const out = rowForward('l2Normalize', x, geo, eps);
  return record('l2Normalize', [x], out, (g) => [rowBackward('l2Normalize', x, g, geo, eps)]);
}
