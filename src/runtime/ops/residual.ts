// Layer-scaled residuals in one pass each way: x + s · permute(y, NHWC → NCHW), a residual branch
// computed channels-last (EdgeNeXt's ConvBlock: LayerNorm and the MLP run on [N, H, W, C] tokens)
// added to the channels-first trunk, and x + s · y on tokens (its SDTA block): no permute, no scaled
// copy of the branch's weights.
// Kernel: shaders/residual_cl.wgsl (forward and BACKWARD side by side).
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32 } from '../engine.js';
import { record } from '../autograd.js';
import { sameShape } from '../shape.js';
import { sum } from './reduce.js';
import { zeros } from './elementwise.js';

/**
 * x [N, C, H, W] + scale[c] · y[n, h, w, c] for y [N, H, W, C] (scale [C], or 1 when omitted) →
 * [N, C, H, W]: add(x, mul(permute(y, [0, 3, 1, 2]), reshape(scale, [C, 1, 1]))) as one op.
 * Gradients: x gets g itself, y gets scale · permute(g), scale gets Σ g · permute(y) over n, h, w.
 */
export function addChannelsLast(x: Tensor, y: Tensor, scale?: Tensor): Tensor {
  const op = 'addChannelsLast';
  x.check(op, 'x');
  y.check(op, 'y');
  scale?.check(op, 'scale');
  if (x.rank !== 4) throw new Error(`${op}: x must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (!sameShape(y.shape, [n, h, w, c])) throw new Error(`${op}: y ${fmtShape(y.shape)} must be x ${fmtShape(x.shape)} channels-last, [${n}, ${h}, ${w}, ${c}]`);
  if (scale && !sameShape(scale.shape, [c])) throw new Error(`${op}: scale ${fmtShape(scale.shape)} must be [${c}] (the channels of x ${fmtShape(x.shape)})`);
  return residual(op, x, y, scale, n, c, h * w);
}

/**
 * x + scale · y over the last dim (x, y [..., C], scale [C]): a layer-scaled residual of tokens (EdgeNeXt's
 * SDTA block: t + gamma · XCA(t), t + gamma · MLP(t)) as one op, the same kernel as addChannelsLast with
 * one pixel per row. Gradients: x gets g itself, y gets scale · g, scale gets Σ g · y over the rows.
 */
export function addScaled(x: Tensor, y: Tensor, scale: Tensor): Tensor {
  const op = 'addScaled';
  x.check(op, 'x');
  y.check(op, 'y');
  scale.check(op, 'scale');
  if (x.rank < 1 || !sameShape(x.shape, y.shape)) throw new Error(`${op}: x ${fmtShape(x.shape)} and y ${fmtShape(y.shape)} must have one shape with a last dim`);
  const c = x.shape[x.rank - 1]!;
  if (!sameShape(scale.shape, [c])) throw new Error(`${op}: scale ${fmtShape(scale.shape)} must be [${c}] (the last dim of x ${fmtShape(x.shape)})`);
  return residual(op, x, y, scale, c === 0 ? 0 : x.size / c, c, 1);
}

/** out[i, k, q] = x[i, k, q] + s[k] · y[i, q, k], i < n, k < c, q < p (s = 1 without scale). */
function residual(op: string, x: Tensor, y: Tensor, scale: Tensor | undefined, n: number, c: number, p: number): Tensor {
  const total = x.size;
  const out = empty(x.shape);
  const eng = getEngine();
  if (total > 0) {
    eng.run({
      name: op, shader: 'residual_cl', defines: { BACKWARD: false, SCALE: !!scale },
      inputs: scale ? [x, y, scale] : [x, y], outputs: [out],
      uniforms: [u32(n), u32(c), u32(p), u32(n * c)], workgroups: grid1d(n * c, 64),
    });
  }
  const inputs = scale ? [x, y, scale] : [x, y];
  return record(op, inputs, out, (g) => {
    if (!y.requiresGrad && !scale?.requiresGrad) return [g, null, null].slice(0, inputs.length);
    const gy = empty(y.shape);
    let gs: Tensor | null = null;
    if (total === 0) gs = scale?.requiresGrad ? zeros([c]) : null;
    else {
      const part = empty([n, c]);
      eng.run({
        name: `${op}_backward`, shader: 'residual_cl', defines: { BACKWARD: true, SCALE: !!scale },
        inputs: scale ? [g, y, scale] : [g, y], outputs: [gy, part],
        uniforms: [u32(n), u32(c), u32(p), u32(n * c)], workgroups: grid1d(n * c, 64),
      });
      if (scale?.requiresGrad) gs = sum(part, 0);
      part.dispose();
    }
    if (!y.requiresGrad) gy.dispose();
    return [x.requiresGrad ? g : null, y.requiresGrad ? gy : null, ...(scale ? [gs] : [])];
  });
}
