// Weight normalisation (torch.nn.utils.weight_norm): w = g * v / ||v||, the norm over every dim of v
// except `dim`. Kernel: shaders/weightnorm.wgsl (forward, and one fused backward for v and g).
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32 } from '../engine.js';
import { record } from '../autograd.js';

/**
 * w = g · v / ||v||. `dim` (default 0) is the dim kept: g has v.shape[dim] elements, shaped like v
 * with every other dim 1 (PyTorch: [O, 1, 1, 1] for a conv weight with dim 0) or as a flat [D].
 * dim = null normalises by the norm of the whole tensor (PyTorch's dim=None) and g has one element.
 * Negative dims are rejected: PyTorch reads dim=-1 as "whole tensor", not "last dim".
 */
export function weightNorm(v: Tensor, g: Tensor, dim: number | null = 0): Tensor {
  v.check('weightNorm', 'v');
  g.check('weightNorm', 'g');
  const r = v.rank;
  if (dim !== null && (!Number.isInteger(dim) || dim < 0 || dim >= r)) {
    throw new Error(`weightNorm: dim ${dim} is not in [0, ${r}) for v ${fmtShape(v.shape)} (use null for the whole-tensor norm)`);
  }
  const D = dim === null ? 1 : v.shape[dim]!;
  const P = dim === null ? 1 : v.shape.slice(0, dim).reduce((a, b) => a * b, 1);
  const Q = dim === null ? v.size : v.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
  const keep = v.shape.map((n, i) => (i === dim ? n : 1));
  const okG = g.size === D && (g.rank <= 1 || (g.rank === r && g.shape.every((n, i) => n === keep[i])));
  if (!okG) throw new Error(`weightNorm: g ${fmtShape(g.shape)} does not match v ${fmtShape(v.shape)} with dim ${dim} (expected ${fmtShape(keep)} or [${D}])`);
  const R = P * Q;
  const out = empty(v.shape);
  const uniforms = [u32(D), u32(Math.max(Q, 1)), u32(R)];
  if (v.size > 0) {
    getEngine().run({
      name: 'weight_norm', shader: 'weightnorm', defines: { BACKWARD: false },
      inputs: [v, g], outputs: [out], uniforms, workgroups: grid1d(D, 1),
    });
  }
  return record('weightNorm', [v, g], out, (gw) => {
    const dv = empty(v.shape);
    const dg = empty(g.shape);
    if (v.size > 0) {
      getEngine().run({
        name: 'weight_norm_backward', shader: 'weightnorm', defines: { BACKWARD: true },
        inputs: [v, g, gw], outputs: [dv, dg], uniforms, workgroups: grid1d(D, 1),
      });
    }
    return [v.requiresGrad ? dv : null, g.requiresGrad ? dg : null];
  });
}
