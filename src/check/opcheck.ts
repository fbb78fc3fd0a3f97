// One checker for every op (after tinygrad's helper_test_op), shared by the test suite
// (tests/helpers/op.ts) and `lrfr doctor`: seeded random inputs, our forward vs a reference, and our
// gradients vs the reference's. The reference is tfjs on its CPU backend (forward, and tf.grads for
// gradients), or a float64 CPU implementation differentiated by central finite differences where
// tfjs has no such op.
// Pass criterion everywhere: |ours - ref| <= atol + rtol * |ref|, element by element.
// tfjs is the reference only (a dev dependency): it is passed in, never imported at run time here.
import type * as TF from '@tensorflow/tfjs';
import { Tensor, tensor, backward, tidy, randnArray, type Shape } from '../runtime/index.js';

type tfT = typeof TF;
type TfTensor = TF.Tensor;

export type Arr = Float32Array | Float64Array | number[];

/** Throws unless ours ≈ ref elementwise; returns the largest |ours - ref|. */
export function assertClose(name: string, ours: ArrayLike<number>, ref: ArrayLike<number>, atol: number, rtol: number): number {
  if (ours.length !== ref.length) throw new Error(`${name}: ${ours.length} values, reference has ${ref.length}`);
  let worst = -1;
  let worstExcess = 0;
  let maxAbs = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = ours[i]!, b = ref[i]!;
    const d = Math.abs(a - b);
    maxAbs = Math.max(maxAbs, d);
    const excess = d - (atol + rtol * Math.abs(b));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(a))) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`${name}: element ${worst} is ${ours[worst]}, reference ${ref[worst]} (atol ${atol}, rtol ${rtol}; max |diff| ${maxAbs.toExponential(3)})`);
  }
  return maxAbs;
}

export interface OpCase {
  name: string;
  /** Input shapes. */
  shapes: Shape[];
  /** Our op. */
  ours: (...xs: Tensor[]) => Tensor;
  /** tfjs reference (CPU backend). */
  ref?: (...xs: TfTensor[]) => TfTensor;
  /** float64 CPU reference, used when `ref` is absent (gradients by finite differences). */
  ref64?: (xs: Float64Array[], shapes: Shape[]) => Float64Array;
  atol: number;
  rtol: number;
  /** Gradient tolerances; omit both to skip the gradient check (forward-only ops). */
  gradAtol?: number;
  gradRtol?: number;
  /** Inputs whose gradients are checked (default: all). */
  gradInputs?: number[];
  /** Custom input data (default: seeded N(0,1)). */
  init?: (i: number, shape: Shape, seed: number) => Float32Array;
  seed?: number;
  /** Finite-difference step for ref64 gradients. */
  eps?: number;
}

const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

function fdGrad(f: (xs: Float64Array[]) => Float64Array, xs: Float64Array[], dy: Float64Array, k: number, eps: number): Float64Array {
  const x = xs[k]!;
  const g = new Float64Array(x.length);
  const dot = (y: Float64Array) => {
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * dy[i]!;
    return s;
  };
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = v + eps;
    const fp = dot(f(xs));
    x[i] = v - eps;
    const fm = dot(f(xs));
    x[i] = v;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

/**
 * Runs one op case: forward vs reference, then (if tolerances given) gradients vs reference.
 * Throws on the first mismatch; returns the largest |diff| seen.
 */
export async function checkOp(tf: tfT, c: OpCase): Promise<number> {
  let maxAbs = 0;
  const seed = c.seed ?? 1234;
  const datas = c.shapes.map((s, i) => (c.init ? c.init(i, s, seed + 101 * i) : randnArray(size(s), seed + 101 * i)));
  // ---- ours
  const xs = datas.map((d, i) => tensor(d, c.shapes[i]!));
  const checkGrad = c.gradAtol !== undefined || c.gradRtol !== undefined;
  const gradIdx = c.gradInputs ?? c.shapes.map((_, i) => i);
  if (checkGrad) for (const i of gradIdx) xs[i]!.requiresGrad = true;
  // Forward and backward are recorded in one tidy (as in a training step); only `out` survives it.
  let dyUsed: Float32Array | null = null;
  const out = tidy(() => {
    const o = c.ours(...xs);
    if (checkGrad) {
      dyUsed = randnArray(o.size, seed + 7);
      const dy = tensor(dyUsed, o.shape);
      backward(o, dy);
      dy.dispose();
    }
    return o;
  });
  const ourOut = await out.data();
  // ---- reference forward
  let refOut: ArrayLike<number>;
  let refShape: number[] | null = null;
  if (c.ref) {
    const r = tf.tidy(() => c.ref!(...datas.map((d, i) => tf.tensor(d, c.shapes[i] as number[]))));
    refOut = await r.data();
    refShape = r.shape;
    r.dispose();
  } else if (c.ref64) {
    refOut = c.ref64(datas.map((d) => Float64Array.from(d)), c.shapes);
  } else throw new Error(`${c.name}: no reference`);
  if (refShape && refShape.join(',') !== out.shape.join(',')) {
    throw new Error(`${c.name}: output shape [${out.shape.join(', ')}], reference [${refShape.join(', ')}]`);
  }
  maxAbs = Math.max(maxAbs, assertClose(`${c.name} forward`, ourOut, refOut, c.atol, c.rtol));
  // ---- gradients
  if (checkGrad) {
    const dyData = dyUsed!;
    let refGrads: ArrayLike<number>[];
    if (c.ref) {
      const gfn = tf.grads((...ins: TfTensor[]) => c.ref!(...ins));
      const gs = tf.tidy(() => gfn(datas.map((d, i) => tf.tensor(d, c.shapes[i] as number[])), tf.tensor(dyData, out.shape as number[])));
      refGrads = await Promise.all(gs.map((g) => g.data()));
      gs.forEach((g) => g.dispose());
    } else {
      const x64 = datas.map((d) => Float64Array.from(d));
      const dy64 = Float64Array.from(dyData);
      refGrads = c.shapes.map((_, k) => (gradIdx.includes(k) ? fdGrad((z) => c.ref64!(z, c.shapes), x64, dy64, k, c.eps ?? 1e-4) : new Float64Array(0)));
    }
    for (const i of gradIdx) {
      const g = xs[i]!.grad;
      if (!g) throw new Error(`${c.name}: input ${i} got no gradient`);
      maxAbs = Math.max(maxAbs, assertClose(`${c.name} grad[${i}]`, await g.data(), refGrads[i]!, c.gradAtol ?? 0, c.gradRtol ?? 0));
    }
  }
  out.dispose();
  xs.forEach((x) => x.dispose());
  return maxAbs;
}
