// The kernel cases: inputs, our op, the tfjs reference (CPU, in our layout) and the tfjs op we time.
// Our tensors are NCHW; the tfjs peers are timed in NHWC, their native layout (inputs transposed
// once, untimed). Correctness compares our output with tfjs CPU on the same inputs.
import * as rt from '../../src/runtime/index.js';
import type { Tensor } from '../../src/runtime/tensor.js';
import { tf } from './peers.js';

/** The ops the cases need; some are still being written, so each is looked up at run time. */
export interface Ops {
  matmul(a: Tensor, b: Tensor, o?: { transA?: boolean; transB?: boolean }): Tensor;
  conv2d(x: Tensor, w: Tensor, bias: Tensor | null, o: { stride: number; padding: number; dilation: number; groups: number }): Tensor;
  pixelShuffle(x: Tensor, r: number): Tensor;
  layerNorm2d(x: Tensor, gamma: Tensor, beta: Tensor, eps: number): Tensor;
  arcfaceHead(emb: Tensor, weight: Tensor, labels: unknown, o: { s: number; m1: number; m2: number; m3: number }): Tensor;
  crossEntropy(logits: Tensor, labels: unknown): Tensor;
  add(a: Tensor, b: Tensor): Tensor;
  sum(x: Tensor, axes?: number | readonly number[], keepDims?: boolean): Tensor;
}
const ops = rt as unknown as Partial<Ops>;

function op<K extends keyof Ops>(name: K): Ops[K] {
  const f = ops[name];
  if (typeof f !== 'function') throw new Error(`op ${name} not available`);
  return f as Ops[K];
}

/** Names of the ops (from `needs`) that the runtime does not export yet. */
export function missingOps(needs: readonly (keyof Ops)[]): string[] {
  return needs.filter((n) => typeof ops[n] !== 'function');
}

export interface Input {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What a case does, built once per run. */
export interface CaseRun {
  /** One launch of our op (runs inside tidy; anything it returns is disposed unless kept). */
  ours(): Tensor[];
  /** Outputs of one launch for the correctness check (may differ from ours() for training steps). */
  oursCheck?(): Tensor[];
  /** tfjs reference on the CPU backend, in our layout, same order as ours(). */
  ref(): tf.Tensor[];
  /** Creates the peer's inputs on the current tfjs backend (untimed); returns the timed op. */
  peer(): () => tf.Tensor | tf.Tensor[];
  dispose(): void;
}

export interface CaseDef {
  name: string;
  /** Shapes and parameters, human-readable. */
  what: string;
  needs: (keyof Ops)[];
  /** Work per launch: FLOP (or bytes, for unit GB/s). */
  work: number;
  unit: 'GFLOP/s' | 'GB/s';
  formula: string;
  /** Max abs diff allowed vs tfjs CPU. */
  tol: number;
  note?: string;
  build(): CaseRun;
}

// Seeded inputs: same numbers for us and for tfjs.
function input(name: string, shape: number[], seed: number, std = 1): Input {
  return { name, shape, data: rt.randnArray(shape.reduce((a, b) => a * b, 1), seed, std) };
}
const ourT = (i: Input): Tensor => rt.tensor(i.data, i.shape);
const tfT = (i: Input): tf.Tensor => tf.tensor(i.data, i.shape);
const toNHWC = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t as tf.Tensor4D, [0, 2, 3, 1]);
const toNCHW = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t as tf.Tensor4D, [0, 3, 1, 2]);
/** OIHW (ours) -> HWIO (tfjs conv2d filter). */
const oihwToHwio = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t as tf.Tensor4D, [2, 3, 1, 0]);

/** Builds peer inputs on the current backend, kept out of tidy, disposed by the returned dispose. */
function peerInputs<T extends tf.Tensor[]>(make: () => T): T {
  return tf.tidy(make);
}

const disposers: (() => void)[] = [];
/** Disposes every peer input created so far (called between cases). */
export function disposePeerInputs(): void {
  for (const d of disposers.splice(0)) d();
}
function track<T extends tf.Tensor[]>(ts: T): T {
  disposers.push(() => tf.dispose(ts));
  return ts;
}

export const CASES: CaseDef[] = [
  // Smoke case (ops that existed first); run with --smoke.
  {
    name: 'add+sum (smoke)',
    what: 'sum(a + b) over all of [8, 88, 14, 14]',
    needs: ['add', 'sum'],
    work: 2 * 8 * 88 * 14 * 14,
    unit: 'GFLOP/s',
    formula: '2·numel (one add, one sum term per element)',
    tol: 1e-2,
    build() {
      const A = input('a', [8, 88, 14, 14], 1), B = input('b', [8, 88, 14, 14], 2);
      const a = ourT(A), b = ourT(B);
      return {
        ours: () => [op('sum')(op('add')(a, b))],
        ref: () => [tf.sum(tf.add(tfT(A), tfT(B)))],
        peer: () => {
          const [pa, pb] = track(peerInputs(() => [tfT(A), tfT(B)]));
          return () => tf.sum(tf.add(pa!, pb!));
        },
        dispose: () => rt.dispose([a, b]),
      };
    },
  },
  {
    name: 'matmul 1024³',
    what: 'A[1024,1024] · B[1024,1024]',
    needs: ['matmul'],
    work: 2 * 1024 ** 3,
    unit: 'GFLOP/s',
    formula: '2·M·N·K',
    tol: 1e-2, // |C| ~ 32 (sums of 1024 products of N(0,1)); fp32 summation order differs
    build() {
      const A = input('a', [1024, 1024], 11), B = input('b', [1024, 1024], 12);
      const a = ourT(A), b = ourT(B);
      return {
        ours: () => [op('matmul')(a, b)],
        ref: () => [tf.matMul(tfT(A) as tf.Tensor2D, tfT(B) as tf.Tensor2D)],
        peer: () => {
          const [pa, pb] = track(peerInputs(() => [tfT(A) as tf.Tensor2D, tfT(B) as tf.Tensor2D]));
          return () => tf.matMul(pa!, pb!);
        },
        dispose: () => rt.dispose([a, b]),
      };
    },
  },
  {
    name: 'conv2d 3×3',
    what: 'x[8,112,32,32] * w[112,112,3,3], stride 1, pad 1 → [8,112,32,32], no bias',
    needs: ['conv2d'],
    work: 2 * 8 * 112 * 32 * 32 * 112 * 9,
    unit: 'GFLOP/s',
    formula: '2·N·Cout·Ho·Wo·Cin·kh·kw',
    tol: 1e-2, // |y| ~ 10 (1008-term sums with w std 1/3)
    build() {
      const X = input('x', [8, 112, 32, 32], 21), W = input('w', [112, 112, 3, 3], 22, 1 / 3);
      const x = ourT(X), w = ourT(W);
      return {
        ours: () => [op('conv2d')(x, w, null, { stride: 1, padding: 1, dilation: 1, groups: 1 })],
        ref: () => [toNCHW(tf.conv2d(toNHWC(tfT(X)), oihwToHwio(tfT(W)), 1, 'same'))],
        peer: () => {
          const [px, pw] = track(peerInputs(() => [toNHWC(tfT(X)), oihwToHwio(tfT(W))]));
          return () => tf.conv2d(px!, pw!, 1, 'same');
        },
        dispose: () => rt.dispose([x, w]),
      };
    },
  },
  {
    name: 'depthwise 7×7',
    what: 'x[8,88,14,14] * w[88,1,7,7], groups 88, stride 1, pad 3 → [8,88,14,14], no bias',
    needs: ['conv2d'],
    work: 2 * 8 * 88 * 14 * 14 * 49,
    unit: 'GFLOP/s',
    formula: '2·N·C·Ho·Wo·kh·kw',
    tol: 1e-3,
    build() {
      const X = input('x', [8, 88, 14, 14], 31), W = input('w', [88, 1, 7, 7], 32, 1 / 7);
      const x = ourT(X), w = ourT(W);
      // tfjs depthwise filter: [kh, kw, C, 1]
      const dwFilter = (t: tf.Tensor): tf.Tensor4D => tf.transpose(t as tf.Tensor4D, [2, 3, 0, 1]);
      return {
        ours: () => [op('conv2d')(x, w, null, { stride: 1, padding: 3, dilation: 1, groups: 88 })],
        ref: () => [toNCHW(tf.depthwiseConv2d(toNHWC(tfT(X)), dwFilter(tfT(W)), 1, 'same'))],
        peer: () => {
          const [px, pw] = track(peerInputs(() => [toNHWC(tfT(X)), dwFilter(tfT(W))]));
          return () => tf.depthwiseConv2d(px!, pw!, 1, 'same');
        },
        dispose: () => rt.dispose([x, w]),
      };
    },
  },
  {
    name: 'add (floor)',
    what: 'x[8,88,14,14] + y[8,88,14,14] (the depthwise case\'s tensor: what one pass over it costs)',
    needs: ['add'],
    work: 3 * 4 * 8 * 88 * 14 * 14,
    unit: 'GB/s',
    formula: 'bytes = 3·4·numel (two reads + one write, fp32)',
    tol: 0, // one float add per element, same rounding everywhere
    note: 'a reference point, not a kernel of interest: the cost of touching the depthwise case\'s tensor once on this adapter (launch + per-element loads and stores)',
    build() {
      const X = input('x', [8, 88, 14, 14], 33), Y = input('y', [8, 88, 14, 14], 34);
      const x = ourT(X), y = ourT(Y);
      return {
        ours: () => [op('add')(x, y)],
        ref: () => [tf.add(tfT(X), tfT(Y))],
        peer: () => {
          const [px, py] = track(peerInputs(() => [toNHWC(tfT(X)), toNHWC(tfT(Y))]));
          return () => tf.add(px!, py!);
        },
        dispose: () => rt.dispose([x, y]),
      };
    },
  },
  {
    name: 'pixel shuffle r=4',
    what: 'x[8,48,28,28] → [8,3,112,112] (×4 super-resolution head, 3·16 channels)',
    needs: ['pixelShuffle'],
    work: 2 * 4 * 8 * 48 * 28 * 28,
    unit: 'GB/s',
    formula: 'bytes = 2·4·numel (read + write, fp32)',
    tol: 0, // a permutation: exact
    note: 'tfjs peers time tf.depthToSpace (NHWC; DCR channel order instead of PyTorch CRD, same data movement)',
    build() {
      const X = input('x', [8, 48, 28, 28], 41);
      const x = ourT(X);
      return {
        ours: () => [op('pixelShuffle')(x, 4)],
        // PyTorch semantics: out[n, c, h·r+i, w·r+j] = x[n, c·r² + i·r + j, h, w]
        ref: () => [tf.reshape(tf.transpose(tf.reshape(tfT(X), [8, 3, 4, 4, 28, 28]), [0, 1, 4, 2, 5, 3]), [8, 3, 112, 112])],
        peer: () => {
          const [px] = track(peerInputs(() => [toNHWC(tfT(X))]));
          return () => tf.depthToSpace(px!, 4, 'NHWC');
        },
        dispose: () => x.dispose(),
      };
    },
  },
  {
    name: 'LayerNorm2d',
    what: 'x[8,88,14,14], normalised over C per (n,h,w), γ/β [88], eps 1e-6',
    needs: ['layerNorm2d'],
    work: 8 * 8 * 88 * 14 * 14,
    unit: 'GFLOP/s',
    formula: '≈ 8·numel (mean, variance, normalise, affine)',
    tol: 1e-3,
    note: 'tfjs peers: moments over the last axis of NHWC, (x−μ)·rsqrt(σ²+ε)·γ+β',
    build() {
      const X = input('x', [8, 88, 14, 14], 51), G = input('g', [88], 52, 0.5), Bt = input('b', [88], 53, 0.5);
      const eps = 1e-6;
      const x = ourT(X), g = ourT(G), b = ourT(Bt);
      const ln = (t: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, axis: number) => {
        const { mean, variance } = tf.moments(t, axis, true);
        return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
      };
      return {
        ours: () => [op('layerNorm2d')(x, g, b, eps)],
        ref: () => [ln(tfT(X), tf.reshape(tfT(G), [1, 88, 1, 1]), tf.reshape(tfT(Bt), [1, 88, 1, 1]), 1)],
        peer: () => {
          const [px, pg, pb] = track(peerInputs(() => [toNHWC(tfT(X)), tfT(G), tfT(Bt)]));
          return () => ln(px!, pg!, pb!, 3);
        },
        dispose: () => rt.dispose([x, g, b]),
      };
    },
  },
  {
    name: 'ArcFace fwd+bwd',
    what: 'emb[32,512], W[1000,512], s=64 m1=1 m2=0.5 m3=0: l2-norm, cos=ê·Ŵᵀ, margin, CE; grads to emb and W',
    needs: ['arcfaceHead', 'crossEntropy'],
    work: 6 * 32 * 1000 * 512,
    unit: 'GFLOP/s',
    formula: '≈ 6·N·K·D (forward cos GEMM + two backward GEMMs; normalisation and softmax ignored)',
    tol: 2e-3,
    note: 'tfjs peers: tf.valueAndGrads of the same composition (margin via acos/cos on the target logit)',
    build() {
      const N = 32, D = 512, K = 1000;
      const opts = { s: 64, m1: 1, m2: 0.5, m3: 0 };
      const E = input('emb', [N, D], 61), W = input('w', [K, D], 62, 0.05);
      const rng = new rt.Rng(63);
      const labelInts = Int32Array.from({ length: N }, () => rng.int(K));
      const emb = rt.requireGrad(ourT(E)), w = rt.requireGrad(ourT(W));
      const labels = ourLabels(labelInts);
      const step = (): Tensor[] => {
        rt.zeroGrad([emb, w]);
        const logits = op('arcfaceHead')(emb, w, labels, opts);
        const loss = op('crossEntropy')(logits, labels);
        rt.backward(loss);
        return [loss];
      };
      const tfLoss = (onehot: tf.Tensor) => (e: tf.Tensor, wt: tf.Tensor): tf.Scalar => {
        const en = tf.div(e, tf.norm(e, 'euclidean', 1, true));
        const wn = tf.div(wt, tf.norm(wt, 'euclidean', 1, true));
        const cos = tf.matMul(en, wn, false, true);
        const ct = tf.sum(tf.mul(cos, onehot), 1, true);
        const theta = tf.acos(tf.clipByValue(ct, -1 + 1e-7, 1 - 1e-7));
        const target = tf.sub(tf.cos(tf.add(tf.mul(theta, opts.m1), opts.m2)), opts.m3);
        const logits = tf.mul(tf.add(cos, tf.mul(onehot, tf.sub(target, ct))), opts.s);
        return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
      };
      const vg = (onehot: tf.Tensor, e: tf.Tensor, wt: tf.Tensor) => {
        const { value, grads } = tf.valueAndGrads(tfLoss(onehot))([e, wt]);
        return [value, grads[0]!, grads[1]!];
      };
      return {
        ours: step,
        oursCheck: () => {
          const [loss] = step();
          return [loss!, emb.grad!, w.grad!];
        },
        ref: () => vg(tf.oneHot(tf.tensor1d(labelInts, 'int32'), K), tfT(E), tfT(W)),
        peer: () => {
          const [oh, pe, pw] = track(peerInputs(() => [tf.oneHot(tf.tensor1d(labelInts, 'int32'), K), tfT(E), tfT(W)]));
          return () => vg(oh!, pe!, pw!);
        },
        dispose: () => {
          rt.zeroGrad([emb, w], true);
          rt.dispose([emb, w]);
          labels.dispose();
        },
      };
    },
  },
];

/**
 * Class labels as a [N] tensor of indices (a Labels form our loss ops take): an Int32Array would be
 * range-checked and uploaded on every call, and an upload flushes the engine's batch.
 */
function ourLabels(ints: Int32Array): Tensor {
  return rt.tensor(Float32Array.from(ints), [ints.length]);
}
