// EdgeFace-XXS (timm edgenext_xx_small + 512-D fc) written a second time with tfjs ops, NHWC, as the
// reference for src/nn/edgeface.ts. Written from timm/models/edgenext.py directly (ConvBlock,
// SplitTransposeBlock, CrossCovarianceAttn, PositionalEncodingFourier, EdgeNeXt.forward_head), sharing
// no code with our model: weights come in a Map keyed by our (= timm's) parameter names, in our
// (= PyTorch's) layouts, and are rearranged here for tfjs (conv [Co, Ci/g, kh, kw] -> [kh, kw, Ci, Co],
// depthwise -> [kh, kw, C, 1]). The positional Fourier features are computed with tf ops in float32,
// like torch does.
import * as tf from '@tensorflow/tfjs';
import { Rng, getEngine } from '../../src/runtime/index.js';
import type { Module } from '../../src/nn/module.js';

export interface EdgeFaceTfConfig {
  depths: readonly number[];
  dims: readonly number[];
  globalBlockCounts: readonly number[];
  kernelSizes: readonly number[];
  heads: readonly number[];
  d2Scales: readonly number[];
  usePosEmb: readonly boolean[];
  eps: number;
}

export const XXS: EdgeFaceTfConfig = {
  depths: [2, 2, 6, 2],
  dims: [24, 48, 88, 168],
  globalBlockCounts: [0, 1, 1, 1],
  kernelSizes: [3, 5, 7, 9],
  heads: [4, 4, 4, 4],
  d2Scales: [2, 2, 3, 4],
  usePosEmb: [false, true, false, false],
  eps: 1e-6,
};

export type Weights = Map<string, tf.Tensor>;

/** Float32Array weights (our names and shapes) -> tf tensors (tf.variable-free; pass them to tf.grads). */
export function toTf(arrays: Map<string, { data: Float32Array; shape: readonly number[] }>): Weights {
  const m: Weights = new Map();
  for (const [k, v] of arrays) m.set(k, tf.tensor(v.data, [...v.shape]));
  return m;
}

function W(w: Weights, name: string): tf.Tensor {
  const t = w.get(name);
  if (!t) throw new Error(`edgeface-tfjs: missing weight ${name}`);
  return t;
}

/** LayerNorm over the last axis (torch: biased variance, eps inside the sqrt). */
function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).div(variance.add(eps).sqrt()).mul(g).add(b);
}

/** Exact (erf) GELU, nn.GELU's default. */
function gelu(x: tf.Tensor): tf.Tensor {
  return x.mul(0.5).mul(tf.erf(x.mul(Math.SQRT1_2)).add(1));
}

/** nn.Linear: x [..., in] · Wᵀ + b. */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const inF = w.shape[1]!;
  const lead = x.shape.slice(0, -1);
  const y = tf.matMul(x.reshape([-1, inF]), w, false, true).add(b);
  return y.reshape([...lead, w.shape[0]!]);
}

/** Full conv, NHWC, torch weight [Co, Ci, kh, kw], no padding. */
function conv(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor, stride: number): tf.Tensor4D {
  return tf.conv2d(x, w.transpose([2, 3, 1, 0]) as tf.Tensor4D, stride, 'valid').add(b) as tf.Tensor4D;
}

/** Depthwise conv, NHWC, torch weight [C, 1, k, k], stride 1, padding k//2 ('same' for odd k). */
function dwconv(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return tf.depthwiseConv2d(x, w.transpose([2, 3, 0, 1]) as tf.Tensor4D, 1, 'same').add(b) as tf.Tensor4D;
}

function mlp(w: Weights, p: string, x: tf.Tensor): tf.Tensor {
  return linear(gelu(linear(x, W(w, `${p}.fc1.weight`), W(w, `${p}.fc1.bias`))), W(w, `${p}.fc2.weight`), W(w, `${p}.fc2.bias`));
}

function convBlock(w: Weights, p: string, x: tf.Tensor4D, eps: number): tf.Tensor4D {
  let y: tf.Tensor = dwconv(x, W(w, `${p}.conv_dw.weight`), W(w, `${p}.conv_dw.bias`));
  y = layerNorm(y, W(w, `${p}.norm.weight`), W(w, `${p}.norm.bias`), eps);
  y = mlp(w, `${p}.mlp`, y).mul(W(w, `${p}.gamma`));
  return x.add(y) as tf.Tensor4D;
}

/** timm PositionalEncodingFourier.forward((B, H, W)) before the projection, NHWC [1, H, W, 2*hidden]. */
function fourier(H: number, Wd: number, hidden = 32, temperature = 10000): tf.Tensor4D {
  const eps = 1e-6, scale = 2 * Math.PI;
  const y = tf.range(1, H + 1, 1, 'float32').div(H + eps).mul(scale).reshape([H, 1, 1]).tile([1, Wd, 1]);
  const x = tf.range(1, Wd + 1, 1, 'float32').div(Wd + eps).mul(scale).reshape([1, Wd, 1]).tile([H, 1, 1]);
  const i = tf.range(0, hidden, 1, 'float32');
  const dimT = tf.pow(tf.scalar(temperature), tf.floorDiv(i, 2).mul(2 / hidden)); // [hidden]
  const even = tf.range(0, hidden, 1, 'int32').mod(2).equal(0); // sin on even, cos on odd
  const enc = (p: tf.Tensor) => {
    const a = p.div(dimT); // [H, W, hidden]
    return tf.where(even.reshape([1, 1, hidden]).tile([H, Wd, 1]), a.sin(), a.cos());
  };
  return tf.concat([enc(y), enc(x)], 2).expandDims(0) as tf.Tensor4D;
}

function xca(w: Weights, p: string, x: tf.Tensor, heads: number): tf.Tensor {
  const [B, N, C] = x.shape as [number, number, number];
  const ch = C / heads;
  const qkv = linear(x, W(w, `${p}.qkv.weight`), W(w, `${p}.qkv.bias`)).reshape([B, N, 3, heads, ch]).transpose([2, 0, 3, 4, 1]);
  const [q, k, v] = tf.unstack(qkv, 0) as [tf.Tensor, tf.Tensor, tf.Tensor]; // [B, h, ch, N]
  const normalize = (t: tf.Tensor) => t.div(tf.maximum(t.square().sum(-1, true).sqrt(), 1e-12));
  let attn = tf.matMul(normalize(q), normalize(k), false, true).mul(W(w, `${p}.temperature`)); // temp [h,1,1]
  attn = tf.softmax(attn, -1);
  const o = tf.matMul(attn, v); // [B, h, ch, N]
  return linear(o.transpose([0, 3, 1, 2]).reshape([B, N, C]), W(w, `${p}.proj.weight`), W(w, `${p}.proj.bias`));
}

function splitTransposeBlock(w: Weights, p: string, x: tf.Tensor4D, scales: number, heads: number, posEmb: boolean, eps: number): tf.Tensor4D {
  const [B, H, Wd, C] = x.shape;
  const nConvs = Math.max(1, scales - 1);
  const n = nConvs + 1, c = Math.ceil(C / n);
  const sizes: number[] = [];
  for (let off = 0; off < C; off += c) sizes.push(Math.min(c, C - off));
  const spx = tf.split(x, sizes, 3) as tf.Tensor4D[];
  const spo: tf.Tensor4D[] = [];
  let sp = spx[0]!;
  for (let i = 0; i < nConvs; i++) {
    if (i > 0) sp = sp.add(spx[i]!) as tf.Tensor4D;
    sp = dwconv(sp, W(w, `${p}.convs.${i}.weight`), W(w, `${p}.convs.${i}.bias`));
    spo.push(sp);
  }
  spo.push(spx[spx.length - 1]!);
  let t: tf.Tensor = tf.concat(spo, 3).reshape([B, H * Wd, C]);
  if (posEmb) {
    const pos = conv(fourier(H, Wd), W(w, `${p}.pos_embd.token_projection.weight`), W(w, `${p}.pos_embd.token_projection.bias`), 1);
    t = t.add(pos.reshape([1, H * Wd, C]));
  }
  t = t.add(xca(w, `${p}.xca`, layerNorm(t, W(w, `${p}.norm_xca.weight`), W(w, `${p}.norm_xca.bias`), eps), heads).mul(W(w, `${p}.gamma_xca`)));
  t = mlp(w, `${p}.mlp`, layerNorm(t, W(w, `${p}.norm.weight`), W(w, `${p}.norm.bias`), eps)).mul(W(w, `${p}.gamma`));
  return x.add(t.reshape([B, H, Wd, C])) as tf.Tensor4D;
}

/** Normalised images NCHW [N, 3, S, S] -> embeddings [N, 512]. */
export function edgefaceTf(w: Weights, xNchw: tf.Tensor4D, cfg: EdgeFaceTfConfig = XXS): tf.Tensor2D {
  const eps = cfg.eps;
  let x = xNchw.transpose([0, 2, 3, 1]) as tf.Tensor4D;
  x = conv(x, W(w, 'stem.0.weight'), W(w, 'stem.0.bias'), 4);
  x = layerNorm(x, W(w, 'stem.1.weight'), W(w, 'stem.1.bias'), eps) as tf.Tensor4D;
  for (let i = 0; i < cfg.depths.length; i++) {
    const p = `stages.${i}`;
    if (i > 0) {
      x = layerNorm(x, W(w, `${p}.downsample.0.weight`), W(w, `${p}.downsample.0.bias`), eps) as tf.Tensor4D;
      x = conv(x, W(w, `${p}.downsample.1.weight`), W(w, `${p}.downsample.1.bias`), 2);
    }
    const depth = cfg.depths[i]!;
    for (let j = 0; j < depth; j++) {
      const b = `${p}.blocks.${j}`;
      x = j < depth - cfg.globalBlockCounts[i]!
        ? convBlock(w, b, x, eps)
        : splitTransposeBlock(w, b, x, cfg.d2Scales[i]!, cfg.heads[i]!, cfg.usePosEmb[i]!, eps);
    }
  }
  const pooled = x.mean([1, 2]); // [N, C]
  const n = layerNorm(pooled, W(w, 'head.norm.weight'), W(w, 'head.norm.bias'), eps);
  return linear(n, W(w, 'head.fc.weight'), W(w, 'head.fc.bias')) as tf.Tensor2D;
}

// ---- test weights (shared with bench/lib/models-cases.ts) ----

const fanIn = (shape: readonly number[]) => shape.slice(1).reduce((a, b) => a * b, 1);

/**
 * Test weights: with timm's init (std .02, layer scales 1e-6) every block is nearly the identity and
 * a comparison proves little. Instead: conv/linear weights N(0, 1/fanIn) (every branch contributes
 * O(1)), biases N(0, .02²)·, norm gains 1 + N(0, .1²), norm shifts N(0, .1²), layer scales (gamma,
 * gamma_xca) U(0.3, 0.7) per channel, XCA temperatures U(0.5, 2) per head. Overwritten in place with
 * getEngine().upload.
 */
export function randomizeEdgeFaceForTest(m: Module, seed: number): void {
  const rng = new Rng(seed);
  const e = getEngine();
  for (const [name, p] of m.namedParameters()) {
    const a = new Float32Array(p.size);
    const leaf = name.slice(name.lastIndexOf('.') + 1);
    const isNorm = /(^|\.)(norm|norm_xca|stem\.1|downsample\.0)\./.test(name);
    for (let i = 0; i < a.length; i++) {
      if (leaf === 'gamma' || leaf === 'gamma_xca') a[i] = rng.uniform(0.3, 0.7);
      else if (leaf === 'temperature') a[i] = rng.uniform(0.5, 2);
      else if (isNorm) a[i] = leaf === 'weight' ? 1 + 0.1 * rng.normal() : 0.1 * rng.normal();
      else if (leaf === 'bias') a[i] = 0.02 * rng.normal();
      else a[i] = rng.normal() / Math.sqrt(fanIn(p.shape));
    }
    e.upload(p.buffer, a);
  }
}

