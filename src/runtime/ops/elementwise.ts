// Broadcasting binary ops (add, sub, mul, div), the affine map (scale, add scalar), fills and the
// in-place helpers autograd and optimizers use. Forward and backward side by side.
import { Tensor, empty, fmtShape, type Shape } from '../tensor.js';
import { getEngine, grid1d, u32, f32, vec4u, type UniformValue } from '../engine.js';
import { record } from '../autograd.js';
import { broadcastShapes, pad8, sameShape } from '../shape.js';
import { sumTo } from './reduce.js';
import { elementwiseInvocations } from './activation.js';
import { withVariant } from '../autotune.js';
import { elementwiseClass } from '../shape-class.js';

// ---- fill -------------------------------------------------------------------------------------

export function fillInPlace(t: Tensor, value: number): Tensor {
  t.check('fill');
  // Zeros: the queue's own buffer clear (a memset on a CPU adapter), no dispatch.
  if (value === 0 && !Object.is(value, -0)) {
    getEngine().clearBuffer(t.buffer, 0, t.size * 4);
    return t;
  }
  getEngine().run({ name: 'fill', shader: 'fill', inputs: [], outputs: [t], uniforms: [u32(t.size), f32(value)], workgroups: grid1d(t.size, 64) });
  return t;
}
export const full = (shape: Shape, value: number): Tensor => fillInPlace(empty(shape), value);
export const zeros = (shape: Shape): Tensor => full(shape, 0);
export const ones = (shape: Shape): Tensor => full(shape, 1);
export const zerosLike = (t: Tensor): Tensor => zeros(t.shape);
export const onesLike = (t: Tensor): Tensor => ones(t.shape);

// ---- affine: alpha * x + beta -------------------------------------------------------------------

/** The affine kernel on n elements: vec4 elements when n % 4 == 0. */
function runAffine(name: string, inputs: Tensor[], out: Tensor, inPlace: boolean, accumulate: boolean, alpha: number, beta: number): void {
  const v4 = out.size % 4 === 0;
  const n = v4 ? out.size / 4 : out.size;
  getEngine().run({
    name, shader: 'affine', defines: { IN_PLACE: inPlace, ACCUMULATE: accumulate, T: v4 ? 'vec4<f32>' : 'f32' },
    inputs, outputs: [out], uniforms: [u32(n), f32(alpha), f32(beta)], workgroups: grid1d(n, 64),
  });
}

function affineForward(x: Tensor, alpha: number, beta: number): Tensor {
  const out = empty(x.shape);
  runAffine('affine', [x], out, false, false, alpha, beta);
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
  runAffine('affine_inplace', [], x, true, false, alpha, beta);
  return x;
}

/** dst <- dst + alpha * src (no autograd; same element count). */
export function addInPlace(dst: Tensor, src: Tensor, alpha = 1): Tensor {
  dst.check('addInPlace', 'dst');
  src.check('addInPlace', 'src');
  if (dst.size !== src.size) throw new Error(`addInPlace: dst ${fmtShape(dst.shape)} and src ${fmtShape(src.shape)} differ in size`);
  runAffine('accumulate', [src], dst, false, true, alpha, 0);
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

/**
 * Canonical form of a broadcast of a and b to `shape`: the output's size-1 dims dropped, adjacent
 * dims merged where both operands have the same broadcast pattern (broadcast or not) on both.
 * Returns the canonical dims and each operand's element strides on them (0 where it broadcasts).
 */
export function canonicalBroadcast(aShape: Shape, bShape: Shape, shape: Shape): { dims: number[]; sa: number[]; sb: number[] } {
  const r = shape.length;
  const dims: number[] = [];
  const ba: boolean[] = [];
  const bb: boolean[] = [];
  for (let i = 0; i < r; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    const fa = (aShape[aShape.length - r + i] ?? 1) === 1;
    const fb = (bShape[bShape.length - r + i] ?? 1) === 1;
    const k = dims.length - 1;
    if (k >= 0 && ba[k] === fa && bb[k] === fb) dims[k]! *= d;
    else {
      dims.push(d);
      ba.push(fa);
      bb.push(fb);
    }
  }
  const stridesOn = (bcast: boolean[]) => {
    const st = new Array<number>(dims.length);
    let acc = 1;
    for (let i = dims.length - 1; i >= 0; i--) {
      st[i] = bcast[i] ? 0 : acc;
      if (!bcast[i]) acc *= dims[i]!;
    }
    return st;
  };
  return { dims, sa: stridesOn(ba), sb: stridesOn(bb) };
}

/**
 * vec4: where the innermost canonical dim is a multiple of 4 (and the canonical rank is at most 3),
 * threads compute 4 outputs at a time with vec4 reads, several vec4s per thread (grid-stride, as
 * the unary kernels: elementwiseInvocations); else one output per thread.
 */
export const binaryTuning: { vec4: boolean } = { vec4: true };

/** Largest output for the RANK3 path: its float divmod is exact below 2^24. */
const RANK3_MAX = 1 << 24;

// out = a (op) b broadcast to `shape`, or for 'expand' out = s * a broadcast to `shape` (b unused).
function broadcastRun(op: BinOp | 'expand', a: Tensor, b: Tensor, shape: Shape, s: number): Tensor {
  const size = shape.reduce((p, q) => p * q, 1);
  return withVariant('elementwise', elementwiseClass(size), () => broadcastDispatch(op, a, b, shape, s));
}

function broadcastDispatch(op: BinOp | 'expand', a: Tensor, b: Tensor, shape: Shape, s: number): Tensor {
  const out = empty(shape);
  if (out.size === 0) return out;
  const c = canonicalBroadcast(a.shape, op === 'expand' ? a.shape : b.shape, shape);
  const rank = c.dims.length;
  const noneA = c.sa.every((v) => v !== 0), noneB = c.sb.every((v) => v !== 0);
  const same = noneA && noneB;
  const scalarB = !same && noneA && b.size === 1;
  const scalarA = !same && !scalarB && noneB && a.size === 1;
  const inner = c.dims[rank - 1] ?? 1;
  const vec4 = binaryTuning.vec4 && rank >= 1 && rank <= 3 && inner % 4 === 0 && out.size / 4 < RANK3_MAX;
  const rank3 = !vec4 && !same && !scalarA && !scalarB && rank <= 3 && out.size < RANK3_MAX;
  // RANK3 reads dims and strides as [d0, d1, d2] in the first vec4: right-align, pad with 1 / 0.
  const lead = rank3 || vec4 ? 3 - rank : 0;
  const dims = [...new Array<number>(lead).fill(1), ...c.dims];
  let sa = [...new Array<number>(lead).fill(0), ...c.sa], sb = [...new Array<number>(lead).fill(0), ...c.sb];
  const aVec = vec4 && sa[2] === 1, bVec = vec4 && sb[2] === 1;
  if (vec4) {
    // Units of vec4 along d2 and for operands read as vec4.
    dims[2] = dims[2]! / 4;
    if (aVec) sa = [sa[0]! / 4, sa[1]! / 4, 1];
    if (bVec) sb = [sb[0]! / 4, sb[1]! / 4, 1];
  }
  const n = vec4 ? out.size / 4 : out.size;
  const s8 = pad8(dims), a8 = pad8(sa, 0), b8 = pad8(sb, 0);
  const T = vec4 ? elementwiseInvocations(n) : n;
  const uniforms: UniformValue[] = [u32(n), u32(vec4 ? T : dims.length), f32(s),
    vec4u(s8.slice(0, 4)), vec4u(s8.slice(4)), vec4u(a8.slice(0, 4)), vec4u(a8.slice(4)), vec4u(b8.slice(0, 4)), vec4u(b8.slice(4))];
  const V = 'vec4<f32>';
  getEngine().run({
    name: op, shader: 'binary',
    defines: {
      ADD: op === 'add', SUB: op === 'sub', MUL: op === 'mul', EQ: op === 'eq', EXPAND: op === 'expand',
      VEC4: vec4, SAME4: vec4 && same && aVec && bVec, A_T: aVec ? V : 'f32', B_T: bVec ? V : 'f32',
      SAME: !vec4 && same, SCALAR_B: !vec4 && scalarB, SCALAR_A: !vec4 && scalarA, RANK3: rank3,
    },
    inputs: [a, b], outputs: [out], uniforms, workgroups: grid1d(T, 64),
  });
  return out;
}

export function binaryForward(op: BinOp, a: Tensor, b: Tensor): Tensor {
  a.check(op, 'a');
  b.check(op, 'b');
  return broadcastRun(op, a, b, broadcastShapes(op, a.shape, b.shape), 1);
}

/** s * x broadcast to `shape` (numpy rules; no autograd): the backward of sum and mean. */
export function broadcastTo(x: Tensor, shape: Shape, s = 1): Tensor {
  x.check('broadcastTo');
  const full = broadcastShapes('broadcastTo', x.shape, shape);
  if (!sameShape(full, shape)) throw new Error(`broadcastTo: ${fmtShape(x.shape)} does not broadcast to ${fmtShape(shape)}`);
  return broadcastRun('expand', x, x, shape, s);
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
