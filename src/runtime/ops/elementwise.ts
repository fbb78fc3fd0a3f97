// Broadcasting binary ops (add, sub, mul, div), the affine map (scale, add scalar), fills and the
// in-place helpers autograd and optimizers use. Forward and backward side by side.
import { Tensor, empty, fmtShape, type Shape } from '../tensor.js';
import { getEngine, grid1d, u32, f32, vec4u, type UniformValue } from '../engine.js';
import { record } from '../autograd.js';
import { broadcastShapes, broadcastStrides, pad8, sameShape } from '../shape.js';
import { sumTo } from './reduce.js';

// ---- fill -------------------------------------------------------------------------------------

export function fillInPlace(t: Tensor, value: number): Tensor {
  t.check('fill');
  getEngine().run({ name: 'fill', shader: 'fill', inputs: [], outputs: [t], uniforms: [u32(t.size), f32(value)], workgroups: grid1d(t.size, 64) });
  return t;
}
export const full = (shape: Shape, value: number): Tensor => fillInPlace(empty(shape), value);
export const zeros = (shape: Shape): Tensor => full(shape, 0);
export const ones = (shape: Shape): Tensor => full(shape, 1);
export const zerosLike = (t: Tensor): Tensor => zeros(t.shape);
export const onesLike = (t: Tensor): Tensor => ones(t.shape);

// ---- affine: alpha * x + beta -------------------------------------------------------------------

function affineForward(x: Tensor, alpha: number, beta: number): Tensor {
  const out = empty(x.shape);
  getEngine().run({
    name: 'affine', shader: 'affine', defines: { IN_PLACE: false, ACCUMULATE: false },
    inputs: [x], outputs: [out], uniforms: [u32(x.size), f32(alpha), f32(beta)], workgroups: grid1d(x.size, 64),
  });
  return out;
}

/** alpha * x + beta */
export function affine(x: Tensor, alpha: number, beta = 0): Tensor {
  x.check('affine');
  const out = affineForward(x, alpha, beta);
  return record('affine', [x], out, (g) => [affineForward(g, alpha, 0)]);
}
export const scale = (x: Tensor, s: number): Tensor => affine(x, s, 0);
export const neg = (x: Tensor): Tensor => affine(x, -1, 0);
export const addScalar = (x: Tensor, c: number): Tensor => affine(x, 1, c);

/** x <- alpha * x + beta (no autograd). */
export function affineInPlace(x: Tensor, alpha: number, beta = 0): Tensor {
  x.check('affineInPlace');
  getEngine().run({
    name: 'affine_inplace', shader: 'affine', defines: { IN_PLACE: true, ACCUMULATE: false },
    inputs: [], outputs: [x], uniforms: [u32(x.size), f32(alpha), f32(beta)], workgroups: grid1d(x.size, 64),
  });
  return x;
}

/** dst <- dst + alpha * src (no autograd; same element count). */
export function addInPlace(dst: Tensor, src: Tensor, alpha = 1): Tensor {
  dst.check('addInPlace', 'dst');
  src.check('addInPlace', 'src');
  if (dst.size !== src.size) throw new Error(`addInPlace: dst ${fmtShape(dst.shape)} and src ${fmtShape(src.shape)} differ in size`);
  getEngine().run({
    name: 'accumulate', shader: 'affine', defines: { IN_PLACE: false, ACCUMULATE: true },
    inputs: [src], outputs: [dst], uniforms: [u32(dst.size), f32(alpha), f32(0)], workgroups: grid1d(dst.size, 64),
  });
  return dst;
}

/** dst <- src (same element count). */
export function copyInto(dst: Tensor, src: Tensor): Tensor {
  if (dst.size !== src.size) throw new Error(`copyInto: dst ${fmtShape(dst.shape)} and src ${fmtShape(src.shape)} differ in size`);
  getEngine().copyBuffer(src.check('copyInto', 'src').buffer, 0, dst.check('copyInto', 'dst').buffer, 0, src.size * 4);
  return dst;
}

/** A copy with its own buffer (autograd: identity). */
export function clone(x: Tensor): Tensor {
  const out = copyInto(empty(x.shape), x.check('clone'));
  return record('clone', [x], out, (g) => [g]);
}

// ---- broadcasting binary ops ------------------------------------------------------------------

type BinOp = 'add' | 'sub' | 'mul' | 'div' | 'eq';

export function binaryForward(op: BinOp, a: Tensor, b: Tensor): Tensor {
  a.check(op, 'a');
  b.check(op, 'b');
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = empty(shape);
  const same = sameShape(a.shape, shape) && sameShape(b.shape, shape);
  const scalarB = !same && b.size === 1 && sameShape(a.shape, shape);
  const uniforms: UniformValue[] = [u32(out.size), u32(shape.length)];
  const s8 = pad8(shape), sa = pad8(broadcastStrides(a.shape, shape), 0), sb = pad8(broadcastStrides(b.shape, shape), 0);
  uniforms.push(vec4u(s8.slice(0, 4)), vec4u(s8.slice(4)), vec4u(sa.slice(0, 4)), vec4u(sa.slice(4)), vec4u(sb.slice(0, 4)), vec4u(sb.slice(4)));
  getEngine().run({
    name: op, shader: 'binary',
    defines: { ADD: op === 'add', SUB: op === 'sub', MUL: op === 'mul', EQ: op === 'eq', SAME: same, SCALAR_B: scalarB },
    inputs: [a, b], outputs: [out], uniforms, workgroups: grid1d(out.size, 64),
  });
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  const out = binaryForward('add', a, b);
  return record('add', [a, b], out, (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  const out = binaryForward('sub', a, b);
  return record('sub', [a, b], out, (g) => [sumTo(g, a.shape), b.requiresGrad ? sumTo(affineForward(g, -1, 0), b.shape) : null]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const out = binaryForward('mul', a, b);
  return record('mul', [a, b], out, (g) => [
    a.requiresGrad ? sumTo(binaryForward('mul', g, b), a.shape) : null,
    b.requiresGrad ? sumTo(binaryForward('mul', g, a), b.shape) : null,
  ]);
}

export function div(a: Tensor, b: Tensor): Tensor {
  const out = binaryForward('div', a, b);
  return record('div', [a, b], out, (g) => [
    a.requiresGrad ? sumTo(binaryForward('div', g, b), a.shape) : null,
    // d(a/b)/db = -(a/b)/b = -out/b
    b.requiresGrad ? sumTo(affineForward(binaryForward('div', binaryForward('mul', g, out), b), -1, 0), b.shape) : null,
  ]);
}
