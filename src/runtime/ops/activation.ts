// Activations and unary math: relu, leakyRelu, prelu, gelu (exact erf form), sigmoid, tanh, exp,
// log, sqrt, square, abs, pow, clamp. Forward and backward side by side.
// All unary ops share shaders/unary.wgsl (forward, OP = f_<op>) and shaders/unary_grad.wgsl
// (backward, OP = d_<op>), with the op functions in shaders/unary_fns.wgsl.
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record } from '../autograd.js';
import { sum } from './reduce.js';
import { withVariant } from '../autotune.js';
import { elementwiseClass } from '../shape-class.js';

type UnaryOp = 'relu' | 'leaky' | 'gelu' | 'sigmoid' | 'tanh' | 'exp' | 'log' | 'sqrt' | 'square' | 'abs' | 'pow' | 'clamp';

/** Ops whose backward is cheaper from the output y than from the input x. */
const GRAD_FROM_Y: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['relu', 'sigmoid', 'tanh', 'exp', 'sqrt']);

/**
 * Grid size of the vec4 elementwise kernels: at least `minInvocations` (to fill a real GPU), else
 * `vec4PerInvocation` vec4s per invocation (lavapipe pays per workgroup: 16 measured ~1.5x faster
 * than 1 on 1M elements). Not a define; the autotuner's 'elementwise' tunable (tunables.ts) sets it
 * per adapter and size class, with binaryTuning.vec4.
 */
export const elementwiseTuning = { vec4PerInvocation: 16, minInvocations: 16384 };
export function elementwiseInvocations(m: number): number {
  return Math.min(m, Math.max(elementwiseTuning.minInvocations, Math.ceil(m / elementwiseTuning.vec4PerInvocation)));
}

function runUnary(shader: 'unary' | 'unary_grad', fn: string, inputs: Tensor[], out: Tensor, a: number, b: number): void {
  withVariant('elementwise', elementwiseClass(out.size), () => unaryDispatch(shader, fn, inputs, out, a, b));
}

function unaryDispatch(shader: 'unary' | 'unary_grad', fn: string, inputs: Tensor[], out: Tensor, a: number, b: number): void {
  const n = out.size;
  const vec4 = n % 4 === 0;
  const m = Math.ceil(n / 4);
  const T = vec4 ? elementwiseInvocations(m) : m;
  getEngine().run({
    name: fn, shader, defines: { OP: fn, VEC4: vec4 },
    inputs, outputs: [out], uniforms: [u32(n), u32(m), f32(a), f32(b), u32(T)], workgroups: grid1d(T, 64),
  });
}

function unary(name: string, op: UnaryOp, x: Tensor, a = 0, b = 0): Tensor {
  x.check(name);
  const out = empty(x.shape);
  runUnary('unary', `f_${op}`, [x], out, a, b);
  return record(name, [x], out, (g) => {
    const dx = empty(x.shape);
    runUnary('unary_grad', `d_${op}`, [g, GRAD_FROM_Y.has(op) ? out : x], dx, a, b);
    return [dx];
  });
}

/** gelu(x) without autograd, into `out` when given (the matmul epilogue's pass after a split-K reduce). */
export function geluNoGrad(x: Tensor, out: Tensor = empty(x.shape)): Tensor {
  runUnary('unary', 'f_gelu', [x], out, 0, 0);
  return out;
}

/** g · gelu'(x) without autograd (gelu's backward; the matmul epilogue's pass after a split-K reduce). */
export function geluBackwardNoGrad(g: Tensor, x: Tensor): Tensor {
  const dx = empty(x.shape);
  runUnary('unary_grad', 'd_gelu', [g, x], dx, 0, 0);
  return dx;
}

/** g · relu'(x) from y = relu(x) (the mask y > 0) without autograd: relu's backward (conv2dFused's under recording). */
export function reluBackwardNoGrad(g: Tensor, y: Tensor): Tensor {
  const dx = empty(y.shape);
  runUnary('unary_grad', 'd_relu', [g, y], dx, 0, 0);
  return dx;
}

function finiteParam(op: string, what: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${op}: ${what} must be a finite number, got ${String(v)}`);
  return v;
}

export const relu = (x: Tensor): Tensor => unary('relu', 'relu', x);
/** x > 0 ? x : slope * x */
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => unary('leakyRelu', 'leaky', x, finiteParam('leakyRelu', 'slope', slope));
/** Exact GELU x·Φ(x), Φ via an erfc approximation with relative error < 1.2e-7 (see unary_fns.wgsl). */
export const gelu = (x: Tensor): Tensor => unary('gelu', 'gelu', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', 'sigmoid', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', 'tanh', x);
export const exp = (x: Tensor): Tensor => unary('exp', 'exp', x);
/** Natural log (log(0) = -inf, log(x < 0) = NaN). */
export const log = (x: Tensor): Tensor => unary('log', 'log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', 'sqrt', x);
export const square = (x: Tensor): Tensor => unary('square', 'square', x);
/** |x|; the gradient at 0 is 0 (PyTorch's sign(0) = 0). */
export const abs = (x: Tensor): Tensor => unary('abs', 'abs', x);
/** x^p for a scalar exponent (PyTorch semantics for x = 0 and negative x). */
export const pow = (x: Tensor, p: number): Tensor => unary('pow', 'pow', x, finiteParam('pow', 'exponent', p));

/** min(max(x, lo), hi); infinite bounds are allowed (one-sided clamp). Gradient passes for lo <= x <= hi. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (typeof lo !== 'number' || typeof hi !== 'number' || Number.isNaN(lo) || Number.isNaN(hi) || !(lo <= hi)) {
    throw new Error(`clamp: bounds must be numbers with lo <= hi, got lo ${String(lo)}, hi ${String(hi)} for ${fmtShape(x.shape)}`);
  }
  return unary('clamp', 'clamp', x, lo, hi);
}

// ---- prelu --------------------------------------------------------------------------------------

/**
 * PReLU: x > 0 ? x : weight[c] * x, with c the channel (dim 1, NCHW) for weight [C], or one
 * weight [1] shared by all elements. Gradients to x and weight.
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  x.check('prelu', 'x');
  weight.check('prelu', 'weight');
  if (weight.rank !== 1) throw new Error(`prelu: weight must be [C] or [1], got ${fmtShape(weight.shape)} for x ${fmtShape(x.shape)}`);
  const C = weight.shape[0]!;
  if (C !== 1 && (x.rank < 2 || x.shape[1] !== C)) {
    throw new Error(`prelu: weight ${fmtShape(weight.shape)} does not match channel dim 1 of x ${fmtShape(x.shape)}`);
  }
  const inner = C === 1 ? 1 : x.shape.slice(2).reduce((a, b) => a * b, 1);
  const n = x.size;
  const vec4 = inner % 4 === 0 && n % 4 === 0;
  const uniforms = [u32(n), u32(inner), u32(C)];
  const workgroups = grid1d(vec4 ? n / 4 : n, 64);
  const out = empty(x.shape);
  getEngine().run({ name: 'prelu', shader: 'prelu', defines: { VEC4: vec4, GRAD: false }, inputs: [x, weight], outputs: [out], uniforms, workgroups });
  return record('prelu', [x, weight], out, (g) => {
    const dx = empty(x.shape);
    const gwe = empty(x.shape);
    getEngine().run({ name: 'prelu_grad', shader: 'prelu', defines: { VEC4: vec4, GRAD: true }, inputs: [g, x, weight], outputs: [dx, gwe], uniforms, workgroups });
    let dw: Tensor | null = null;
    if (weight.requiresGrad) {
      dw = C === 1 ? sum(gwe).viewAs([1]) : sum(gwe.viewAs([n / (C * inner), C, inner]), [0, 2]);
    }
    return [x.requiresGrad ? dx : null, dw];
  });
}
