// One representative case per kernel for `lrfr doctor` (the full edge-shape sets live in tests/ops/).
// Each case runs the forward and, where the op has a backward, the gradients, against tfjs on its CPU
// backend (or a float64 CPU reference).
import type * as TF from '@tensorflow/tfjs';
import * as L from '../runtime/index.js';
import type { OpCase } from '../check/opcheck.js';

type tfT = typeof TF;
export interface KernelCheck {
  name: string;
  make: (tf: tfT) => OpCase;
}

const exact = { atol: 1e-6, rtol: 1e-6, gradAtol: 1e-5, gradRtol: 1e-5 };

export const KERNEL_CHECKS: KernelCheck[] = [
  { name: 'add (broadcast)', make: (tf) => ({ name: 'add', shapes: [[2, 3, 4, 5], [1, 3, 1, 1]], ours: L.add, ref: tf.add, ...exact }) },
  { name: 'sub (broadcast)', make: (tf) => ({ name: 'sub', shapes: [[2, 3, 4, 5], [5]], ours: L.sub, ref: tf.sub, ...exact }) },
  { name: 'mul (broadcast)', make: (tf) => ({ name: 'mul', shapes: [[7, 3], [7, 1]], ours: L.mul, ref: tf.mul, ...exact }) },
  { name: 'div', make: (tf) => ({ name: 'div', shapes: [[7, 3], [7, 3]], ours: L.div, ref: tf.div, atol: 1e-6, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-4,
    init: (i, s, seed) => { const a = L.randArray(s.reduce((x, y) => x * y, 1), seed, 0.5, 2); return i === 1 ? a : L.randnArray(a.length, seed); } }) },
  { name: 'scale', make: (tf) => ({ name: 'scale', shapes: [[3, 5]], ours: (x) => L.scale(x, -2.5), ref: (x) => tf.mul(x, -2.5), ...exact }) },
  { name: 'sum (axes 0,2,3)', make: (tf) => ({ name: 'sum', shapes: [[2, 3, 4, 5]], ours: (x) => L.sum(x, [0, 2, 3]), ref: (x) => tf.sum(x, [0, 2, 3]), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6 }) },
  { name: 'mean (last, keepDims)', make: (tf) => ({ name: 'mean', shapes: [[7, 33]], ours: (x) => L.mean(x, -1, true), ref: (x) => tf.mean(x, -1, true), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6 }) },
  { name: 'max (axis 1)', make: (tf) => ({ name: 'max', shapes: [[3, 200, 5]], ours: (x) => L.max(x, 1), ref: (x) => tf.max(x, 1), atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0 }) },
];
