// One representative case per kernel for `lrfr doctor` (the full edge-shape sets, and the reasons
// for each tolerance, live in tests/ops/). Each case runs the forward and, where the op has a
// backward, the gradients, against tfjs on its CPU backend (or a float64 CPU reference).
import type * as TF from '@tensorflow/tfjs';
import * as L from '../runtime/index.js';
import type { OpCase } from '../check/opcheck.js';
import { tfConv2d, tfDepthwise, tfConvTranspose, tfLayerNorm, tfMaxPool, tfAvgPool, tfXca } from '../check/refs.js';

type tfT = typeof TF;
export interface KernelCheck {
  name: string;
  /** An op case for checkOp, or a custom check returning the largest |diff| (throwing on failure). */
  make: (tf: tfT) => OpCase;
}

export interface CustomCheck {
  name: string;
  atol: number;
  run: () => Promise<number>;
}

/** AdamW (PyTorch semantics) on the GPU vs float64 on the CPU, 3 steps with fixed gradients. */
async function adamwCheck(): Promise<number> {
  const { AdamW } = await import('../train/optim.js');
  const n = 37;
  const p0 = L.randnArray(n, 1), gs = [L.randnArray(n, 2), L.randnArray(n, 3), L.randnArray(n, 4)];
  const p = L.keep(L.tensor(p0, [n]));
  p.requiresGrad = true;
  const opt = new AdamW([p], { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 });
  const ref = Float64Array.from(p0), m = new Float64Array(n), v = new Float64Array(n);
  for (let t = 1; t <= 3; t++) {
    if (p.grad) p.grad.dispose();
    p.grad = L.keep(L.tensor(gs[t - 1]!, [n]));
    opt.step();
    for (let i = 0; i < n; i++) {
      const g = gs[t - 1]![i]!;
      ref[i] = ref[i]! * (1 - 0.01 * 0.1);
      m[i] = 0.9 * m[i]! + 0.1 * g;
      v[i] = 0.999 * v[i]! + 0.001 * g * g;
      ref[i] = ref[i]! - (0.01 * (m[i]! / (1 - 0.9 ** t))) / (Math.sqrt(v[i]! / (1 - 0.999 ** t)) + 1e-8);
    }
  }
  const got = await p.data();
  opt.dispose();
  p.dispose();
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(got[i]! - ref[i]!));
  if (!(max <= 1e-5)) throw new Error(`AdamW: max |diff| ${max} > 1e-5 after 3 steps`);
  return max;
}

export const CUSTOM_CHECKS: CustomCheck[] = [{ name: 'AdamW (3 steps, float64 ref)', atol: 1e-5, run: adamwCheck }];

const exact = { atol: 1e-6, rtol: 1e-6, gradAtol: 1e-5, gradRtol: 1e-5 };
const conv = { atol: 1e-4, rtol: 1e-4, gradAtol: 1e-3, gradRtol: 1e-3 };
const norm = { atol: 1e-5, rtol: 1e-4, gradAtol: 1e-4, gradRtol: 1e-3 };
const soft = { atol: 1e-6, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 };
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const positive = (_i: number, s: readonly number[], seed: number) => L.randArray(size(s), seed, 0.5, 2);
const labels = [3, 0, 7, 7, 1];

export const KERNEL_CHECKS: KernelCheck[] = [
  // elementwise and reductions
  { name: 'add (broadcast)', make: (tf) => ({ name: 'add', shapes: [[2, 3, 4, 5], [1, 3, 1, 1]], ours: L.add, ref: tf.add, ...exact }) },
  { name: 'sub (broadcast)', make: (tf) => ({ name: 'sub', shapes: [[2, 3, 4, 5], [5]], ours: L.sub, ref: tf.sub, ...exact }) },
  { name: 'mul (broadcast)', make: (tf) => ({ name: 'mul', shapes: [[7, 3], [7, 1]], ours: L.mul, ref: tf.mul, ...exact }) },
  { name: 'div', make: (tf) => ({ name: 'div', shapes: [[7, 3], [7, 3]], ours: L.div, ref: tf.div, atol: 1e-6, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-4,
    init: (i, s, seed) => (i === 1 ? positive(i, s, seed) : L.randnArray(size(s), seed)) }) },
  { name: 'scale', make: (tf) => ({ name: 'scale', shapes: [[3, 5]], ours: (x) => L.scale(x, -2.5), ref: (x) => tf.mul(x, -2.5), ...exact }) },
  { name: 'sum (axes 0,2,3)', make: (tf) => ({ name: 'sum', shapes: [[2, 3, 4, 5]], ours: (x) => L.sum(x, [0, 2, 3]), ref: (x) => tf.sum(x, [0, 2, 3]), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6 }) },
  { name: 'mean (last, keepDims)', make: (tf) => ({ name: 'mean', shapes: [[7, 33]], ours: (x) => L.mean(x, -1, true), ref: (x) => tf.mean(x, -1, true), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-6 }) },
  { name: 'max (axis 1)', make: (tf) => ({ name: 'max', shapes: [[3, 200, 5]], ours: (x) => L.max(x, 1), ref: (x) => tf.max(x, 1), atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0 }) },
  // matmul
  { name: 'matmul 33x17x9', make: (tf) => ({ name: 'matmul', shapes: [[33, 17], [17, 9]], ours: (a, b) => L.matmul(a, b), ref: (a, b) => tf.matMul(a, b), ...conv }) },
  { name: 'matmul batched transA transB', make: (tf) => ({ name: 'bmm', shapes: [[3, 8, 5], [3, 7, 8]], ours: (a, b) => L.matmul(a, b, { transA: true, transB: true }), ref: (a, b) => tf.matMul(a, b, true, true), ...conv }) },
  { name: 'linear (bias)', make: (tf) => ({ name: 'linear', shapes: [[7, 24], [10, 24], [10]], ours: (x, w, b) => L.linear(x, w, b), ref: (x, w, b) => tf.add(tf.matMul(x, w, false, true), b), ...conv }) },
  // convolutions
  { name: 'conv2d 3x3 s1 p1', make: (tf) => ({ name: 'conv2d', shapes: [[2, 5, 9, 7], [6, 5, 3, 3], [6]], ours: (x, w, b) => L.conv2d(x, w, b, { padding: 1 }), ref: tfConv2d(tf, 1, 1), ...conv }) },
  { name: 'conv2d 3x3 s2 p1', make: (tf) => ({ name: 'conv2d s2', shapes: [[1, 4, 9, 9], [8, 4, 3, 3], [8]], ours: (x, w, b) => L.conv2d(x, w, b, { stride: 2, padding: 1 }), ref: tfConv2d(tf, 2, 1), ...conv }) },
  { name: 'conv2d 4x4 s4 stem', make: (tf) => ({ name: 'stem', shapes: [[2, 3, 16, 16], [24, 3, 4, 4], [24]], ours: (x, w, b) => L.conv2d(x, w, b, { stride: 4 }), ref: tfConv2d(tf, 4, 0), ...conv }) },
  // tfjs has no gradient for dilated conv: forward here; tests/ops/conv.test.ts checks the gradient against float64.
  { name: 'conv2d dilation 2 (forward)', make: (tf) => ({ name: 'dilated', shapes: [[1, 3, 9, 9], [4, 3, 3, 3]], ours: (x, w) => L.conv2d(x, w, null, { padding: 2, dilation: 2 }), ref: tfConv2d(tf, 1, 2, 2), atol: 1e-4, rtol: 1e-4 }) },
  { name: 'depthwise 7x7', make: (tf) => ({ name: 'depthwise', shapes: [[2, 8, 14, 14], [8, 1, 7, 7], [8]], ours: (x, w, b) => L.conv2d(x, w, b, { padding: 3, groups: 8 }), ref: tfDepthwise(tf, 1, 3), ...conv }) },
  { name: 'convTranspose2d s2', make: (tf) => ({ name: 'convT', shapes: [[2, 4, 5, 5], [4, 3, 4, 4]], ours: (x, w) => L.convTranspose2d(x, w, null, { stride: 2, padding: 1 }), ref: tfConvTranspose(tf, 2, 1, [10, 10]), ...conv }) },
  // normalisation, pooling, softmax
  { name: 'layerNorm (last dim)', make: (tf) => ({ name: 'layerNorm', shapes: [[7, 48], [48], [48]], ours: (x, g, b) => L.layerNorm(x, g, b, 1e-5), ref: tfLayerNorm(tf, 1e-5, -1), ...norm }) },
  { name: 'layerNorm2d (channels)', make: (tf) => ({ name: 'layerNorm2d', shapes: [[2, 8, 5, 5], [8], [8]], ours: (x, g, b) => L.layerNorm2d(x, g, b, 1e-6), ref: tfLayerNorm(tf, 1e-6, 1), ...norm }) },
  { name: 'layerNorm2d to channels-last', make: (tf) => ({ name: 'layerNorm2dToChannelsLast', shapes: [[2, 8, 5, 5], [8], [8]], ours: (x, g, b) => L.layerNorm2dToChannelsLast(x, g, b, 1e-6),
    ref: (x, g, b) => tf.transpose(tfLayerNorm(tf, 1e-6, 1)(x, g, b), [0, 2, 3, 1]), ...norm }) },
  { name: 'batchNorm2d (eval)', make: (tf) => ({ name: 'batchNorm2d', shapes: [[2, 3, 4, 4], [3], [3], [3], [3]], gradInputs: [0, 1, 2],
    ours: (x, g, b, m, v) => L.batchNorm2d(x, g, b, m, v, { training: false }),
    ref: (x, g, b, m, v) => tf.add(tf.mul(tf.div(tf.sub(x, tf.reshape(m, [1, 3, 1, 1])), tf.sqrt(tf.add(tf.reshape(v, [1, 3, 1, 1]), 1e-5))), tf.reshape(g, [1, 3, 1, 1])), tf.reshape(b, [1, 3, 1, 1])),
    init: (i, s, seed) => (i === 4 ? positive(i, s, seed) : L.randnArray(size(s), seed)), atol: 1e-6, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 }) },
  { name: 'maxPool2d 3x3 s2 p1', make: (tf) => ({ name: 'maxPool', shapes: [[2, 3, 9, 9]], ours: (x) => L.maxPool2d(x, 3, 2, 1), ref: tfMaxPool(tf, 3, 2, 1), atol: 0, rtol: 0, gradAtol: 1e-6, gradRtol: 0 }) },
  { name: 'avgPool2d 2x2', make: (tf) => ({ name: 'avgPool', shapes: [[2, 3, 8, 6]], ours: (x) => L.avgPool2d(x, 2), ref: tfAvgPool(tf, 2, 2), atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 }) },
  { name: 'globalAvgPool', make: (tf) => ({ name: 'gap', shapes: [[3, 5, 7, 7]], ours: (x) => L.globalAvgPool(x), ref: (x) => tf.mean(x, [2, 3], true), atol: 1e-6, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 }) },
  { name: 'softmax (axis 1)', make: (tf) => ({ name: 'softmax', shapes: [[4, 10, 3]], ours: (x) => L.softmax(x, 1), ref: (x) => tf.transpose(tf.softmax(tf.transpose(x, [0, 2, 1])), [0, 2, 1]), ...soft }) },
  { name: 'logSoftmax', make: (tf) => ({ name: 'logSoftmax', shapes: [[7, 33]], ours: (x) => L.logSoftmax(x), ref: (x) => tf.logSoftmax(x), ...soft }) },
  { name: 'l2Normalize', make: (tf) => ({ name: 'l2Normalize', shapes: [[7, 16]], ours: (x) => L.l2Normalize(x), ref: (x) => tf.div(x, tf.norm(x, 2, -1, true)), ...soft }) },
  // activations
  { name: 'relu', make: (tf) => ({ name: 'relu', shapes: [[3, 41]], ours: L.relu, ref: tf.relu, ...exact }) },
  { name: 'leakyRelu', make: (tf) => ({ name: 'leakyRelu', shapes: [[3, 41]], ours: (x) => L.leakyRelu(x, 0.2), ref: (x) => tf.leakyRelu(x, 0.2), ...exact }) },
  { name: 'prelu (per channel)', make: (tf) => ({ name: 'prelu', shapes: [[2, 3, 4, 4], [3]], ours: L.prelu, ref: (x, a) => tf.prelu(x, tf.reshape(a, [1, 3, 1, 1])), ...exact }) },
  { name: 'gelu (erf)', make: (tf) => ({ name: 'gelu', shapes: [[3, 41]], ours: L.gelu, ref: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))), atol: 1e-6, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 }) },
  { name: 'sigmoid', make: (tf) => ({ name: 'sigmoid', shapes: [[3, 41]], ours: L.sigmoid, ref: tf.sigmoid, atol: 1e-6, rtol: 2e-6, gradAtol: 1e-6, gradRtol: 1e-5 }) },
  { name: 'tanh', make: (tf) => ({ name: 'tanh', shapes: [[3, 41]], ours: L.tanh, ref: tf.tanh, atol: 1e-6, rtol: 2e-6, gradAtol: 1e-6, gradRtol: 1e-5 }) },
  // layout and image ops
  { name: 'permute', make: (tf) => ({ name: 'permute', shapes: [[2, 3, 4, 5]], ours: (x) => L.permute(x, [0, 2, 3, 1]), ref: (x) => tf.transpose(x, [0, 2, 3, 1]), atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0 }) },
  { name: 'addChannelsLast (scaled)', make: (tf) => ({ name: 'addChannelsLast', shapes: [[2, 6, 3, 5], [2, 3, 5, 6], [6]], ours: (x, y, s) => L.addChannelsLast(x, y, s),
    ref: (x, y, s) => tf.add(x, tf.mul(tf.transpose(y, [0, 3, 1, 2]), tf.reshape(s, [1, 6, 1, 1]))), atol: 1e-6, rtol: 1e-6, gradAtol: 1e-5, gradRtol: 1e-5 }) },
  { name: 'concatChannelsLast (3 pieces)', make: (tf) => ({ name: 'concatChannelsLast', shapes: [[2, 3, 5, 3], [2, 2, 5, 3], [2, 4, 5, 3]], ours: (a, b, c) => L.concatChannelsLast([a, b, c]),
    ref: (a, b, c) => tf.transpose(tf.concat([a, b, c], 1), [0, 2, 3, 1]), atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0 }) },
  { name: 'xcaAttention (7 tokens, 2 heads of 6)', make: (tf) => ({ name: 'xca', shapes: [[2, 7, 36], [2, 1, 1]], ours: (qkv, t) => L.xcaAttention(qkv, t, 2), ref: tfXca(tf, 2), ...soft }) },
  { name: 'concat (axis 1)', make: (tf) => ({ name: 'concat', shapes: [[2, 3, 4], [2, 5, 4]], ours: (a, b) => L.concat([a, b], 1), ref: (a, b) => tf.concat([a, b], 1), atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0 }) },
  { name: 'split/chunk', make: (tf) => ({ name: 'chunk', shapes: [[2, 9, 4]], ours: (x) => L.mul(L.chunk(x, 3, 1)[1]!, L.chunk(x, 3, 1)[2]!), ref: (x) => { const [, b, c] = tf.split(x, 3, 1); return tf.mul(b!, c!); }, ...exact }) },
  { name: 'pixelShuffle r=2', make: (tf) => ({ name: 'pixelShuffle', shapes: [[2, 12, 3, 5]], ours: (x) => L.pixelShuffle(x, 2),
    ref: (x) => tf.reshape(tf.transpose(tf.reshape(x, [2, 3, 2, 2, 3, 5]), [0, 1, 4, 2, 5, 3]), [2, 3, 6, 10]), atol: 0, rtol: 0, gradAtol: 0, gradRtol: 0 }) },
  { name: 'resizeBilinear 7x9->14x5', make: (tf) => ({ name: 'resizeBilinear', shapes: [[2, 3, 7, 9]], ours: (x) => L.resizeBilinear(x, [14, 5]),
    ref: (x) => tf.transpose(tf.image.resizeBilinear(tf.transpose(x, [0, 2, 3, 1]) as TF.Tensor4D, [14, 5], false, true), [0, 3, 1, 2]), atol: 1e-5, rtol: 1e-4 }) },
  { name: 'haarDwt LL + inverse', make: (tf) => ({ name: 'haar', shapes: [[2, 3, 6, 8]], ours: (x) => { const b = L.haarDwt(x); return L.haarIdwt(b.ll, b.lh, b.hl, b.hh); }, ref: (x) => tf.clone(x), atol: 1e-6, rtol: 1e-6, gradAtol: 1e-5, gradRtol: 1e-5 }) },
  { name: 'weightNorm', make: (tf) => ({ name: 'weightNorm', shapes: [[4, 3, 3, 3], [4, 1, 1, 1]], ours: (v, g) => L.weightNorm(v, g, 0),
    ref: (v, g) => tf.mul(g, tf.div(v, tf.sqrt(tf.sum(tf.square(v), [1, 2, 3], true)))), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-4, gradRtol: 1e-4 }) },
  // losses and margins
  { name: 'l1Loss', make: (tf) => ({ name: 'l1', shapes: [[4, 9], [4, 9]], ours: (a, b) => L.l1Loss(a, b), ref: (a, b) => tf.mean(tf.abs(tf.sub(a, b))), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 }) },
  { name: 'mseLoss', make: (tf) => ({ name: 'mse', shapes: [[4, 9], [4, 9]], ours: (a, b) => L.mseLoss(a, b), ref: (a, b) => tf.mean(tf.square(tf.sub(a, b))), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 }) },
  { name: 'cosineLoss', make: (tf) => ({ name: 'cosine', shapes: [[5, 16], [5, 16]], ours: (a, b) => L.cosineLoss(a, b),
    ref: (a, b) => tf.mean(tf.sub(1, tf.div(tf.sum(tf.mul(a, b), 1), tf.mul(tf.norm(a, 2, 1), tf.norm(b, 2, 1))))), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 }) },
  { name: 'klDivLoss T=4', make: (tf) => ({ name: 'kl', shapes: [[5, 10], [5, 10]], ours: (s, t) => L.klDivLoss(s, t, 4),
    ref: (s, t) => { const pt = tf.softmax(tf.div(t, 4)); return tf.mul(16 / 5, tf.sum(tf.mul(pt, tf.sub(tf.log(pt), tf.logSoftmax(tf.div(s, 4)))))); },
    atol: 1e-5, rtol: 1e-5, gradAtol: 1e-5, gradRtol: 1e-4 }) },
  { name: 'crossEntropy', make: (tf) => ({ name: 'ce', shapes: [[5, 10]], ours: (z) => L.crossEntropy(z, labels),
    ref: (z) => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, 10), tf.logSoftmax(z)), 1))), atol: 1e-5, rtol: 1e-5, gradAtol: 1e-6, gradRtol: 1e-5 }) },
  { name: 'ArcFace margin logits', make: (tf) => ({ name: 'arcface', shapes: [[5, 10]], ours: (c) => L.marginLogits(c, labels, { s: 64, m1: 1, m2: 0.5, m3: 0 }),
    init: (_i, s, seed) => L.randArray(size(s), seed, -0.9, 0.9),
    ref: (c) => { const th = tf.acos(c); const oh = tf.oneHot(labels, 10); return tf.mul(64, tf.add(tf.mul(oh, tf.cos(tf.add(th, 0.5))), tf.mul(tf.sub(1, oh), c))); },
    atol: 2e-4, rtol: 1e-5, gradAtol: 1e-3, gradRtol: 1e-4 }) },
];
