// Layers over the runtime's ops. Initialisation follows PyTorch's defaults (seeded):
// Linear/Conv weights and biases ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (kaiming_uniform with a = sqrt(5)),
// norms gamma = 1, beta = 0.
import {
  Tensor, Rng, tensor, zeros, ones, linear, conv2d, conv2dPixelShuffle, conv2dFused, conv2dPrelu, convTranspose2d, layerNorm, layerNorm2d, batchNorm2d, prelu, full, weightNorm,
  pow, addScalar, mul, sub, add, reshape, isGradEnabled, keep, tidy, getEngine, inferenceWeightCache,
} from '../runtime/index.js';
import { Module } from './module.js';

function uniform(shape: number[], bound: number, rng: Rng): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = rng.uniform(-bound, bound);
  return tensor(d, shape);
}

type Pair = number | [number, number];

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; rng: Rng }) {
    super();
    const b = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', uniform([outFeatures, inFeatures], b, opts.rng));
    this.bias = opts.bias === false ? null : this.param('bias', uniform([outFeatures], b, opts.rng));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias ?? undefined);
  }
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  rng: Rng;
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: Pair, readonly opts: Conv2dOptions) {
    super();
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const groups = opts.groups ?? 1;
    if (inChannels % groups || outChannels % groups) throw new Error(`Conv2d: channels ${inChannels}→${outChannels} not divisible by groups ${groups}`);
    const fanIn = (inChannels / groups) * kh * kw;
    const b = 1 / Math.sqrt(fanIn);
    this.weight = this.param('weight', uniform([outChannels, inChannels / groups, kh, kw], b, opts.rng));
    this.bias = opts.bias === false ? null : this.param('bias', uniform([outChannels], b, opts.rng));
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.opts;
    return conv2d(x, this.weight, this.bias, { stride, padding, dilation, groups });
  }
  /** pixelShuffle(forward(x), r), the shuffle folded into the conv's stores (conv2dPixelShuffle). */
  forwardPixelShuffle(x: Tensor, r: number): Tensor {
    const { stride, padding, dilation, groups } = this.opts;
    return conv2dPixelShuffle(x, this.weight, this.bias, r, { stride, padding, dilation, groups });
  }
  /** forward(x), then ReLU and / or residual + residualScale · y, fused where it can be (conv2dFused). */
  forwardFused(x: Tensor, epi: { relu?: boolean; residual?: Tensor; residualScale?: number }): Tensor {
    const { stride, padding, dilation, groups } = this.opts;
    return conv2dFused(x, this.weight, this.bias, { stride, padding, dilation, groups, ...epi });
  }
}

/**
 * A convolution with weight normalisation (torch.nn.utils.weight_norm(nn.Conv2d(...)), dim 0): the
 * kernel is w = g · v / ||v|| per output channel, recomputed on every forward where a gradient is
 * recorded (in inference kept until v or g is written); parameters weight_g
 * [O, 1, 1, 1], weight_v [O, I/groups, kh, kw] and bias (PyTorch's names). Init as PyTorch: v is the
 * default conv init and g = ||v||, so w = v at the start.
 */
export class WnConv2d extends Module {
  readonly weightG: Tensor;
  readonly weightV: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: Pair, readonly opts: Conv2dOptions) {
    super();
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const groups = opts.groups ?? 1;
    if (inChannels % groups || outChannels % groups) throw new Error(`WnConv2d: channels ${inChannels}→${outChannels} not divisible by groups ${groups}`);
    const per = (inChannels / groups) * kh * kw;
    const b = 1 / Math.sqrt(per);
    const v = new Float32Array(outChannels * per);
    for (let i = 0; i < v.length; i++) v[i] = opts.rng.uniform(-b, b);
    const g = new Float32Array(outChannels);
    for (let o = 0; o < outChannels; o++) {
      let ss = 0;
      for (let i = o * per; i < (o + 1) * per; i++) ss += v[i]! * v[i]!;
      g[o] = Math.sqrt(ss);
    }
    this.weightG = this.param('weight_g', tensor(g, [outChannels, 1, 1, 1]));
    this.weightV = this.param('weight_v', tensor(v, [outChannels, inChannels / groups, kh, kw]));
    this.bias = opts.bias === false ? null : this.param('bias', uniform([outChannels], b, opts.rng));
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups } = this.opts;
    // In inference the kernel is kept with weight_v while neither it nor weight_g is written (and the
    // conv then keeps its Winograd transform with that kernel): two dispatches fewer per conv and batch.
    const w = inferenceWeightCache()
      ? this.weightV.derived('weight-norm-dim0', () => weightNorm(this.weightV, this.weightG, 0), [this.weightG])
      : weightNorm(this.weightV, this.weightG, 0);
    return conv2d(x, w, this.bias, { stride, padding, dilation, groups });
  }
}

export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: Pair,
    readonly opts: Conv2dOptions & { outputPadding?: Pair }) {
    super();
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const groups = opts.groups ?? 1;
    const fanIn = (outChannels / groups) * kh * kw; // PyTorch computes fan_in from weight.size(1)
    const b = 1 / Math.sqrt(fanIn);
    this.weight = this.param('weight', uniform([inChannels, outChannels / groups, kh, kw], b, opts.rng));
    this.bias = opts.bias === false ? null : this.param('bias', uniform([outChannels], b, opts.rng));
  }
  forward(x: Tensor): Tensor {
    const { stride, padding, dilation, groups, outputPadding } = this.opts;
    return convTranspose2d(x, this.weight, this.bias, { stride, padding, dilation, groups, outputPadding });
  }
}

/** LayerNorm over the last dim. */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly dim: number, readonly eps = 1e-5) {
    super();
    this.weight = this.param('weight', ones([dim]));
    this.bias = this.param('bias', zeros([dim]));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/** LayerNorm over channels of NCHW ("channels_first", EdgeNeXt/ConvNeXt). */
export class LayerNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly channels: number, readonly eps = 1e-6) {
    super();
    this.weight = this.param('weight', ones([channels]));
    this.bias = this.param('bias', zeros([channels]));
  }
  forward(x: Tensor): Tensor {
    return layerNorm2d(x, this.weight, this.bias, this.eps);
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(readonly channels: number, readonly opts: { momentum?: number; eps?: number } = {}) {
    super();
    this.weight = this.param('weight', ones([channels]));
    this.bias = this.param('bias', zeros([channels]));
    this.runningMean = this.buffer('running_mean', zeros([channels]));
    this.runningVar = this.buffer('running_var', ones([channels]));
  }
  /** The last fold into the layer before it (foldBn), reused while its inputs are unchanged. */
  folded: FoldCache | null = null;
  forward(x: Tensor): Tensor {
    return batchNorm2d(x, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training, momentum: this.opts.momentum ?? 0.1, eps: this.opts.eps ?? 1e-5,
    });
  }
  override dispose(): void {
    dropFold(this);
    super.dispose();
  }
}

/** A folded weight and bias, and the tensors (with their write counts) they were computed from. */
interface FoldCache { sources: Tensor[]; writes: number[]; w: Tensor; b: Tensor }

function dropFold(bn: BatchNorm2d): void {
  if (!bn.folded) return;
  bn.folded.w.dispose();
  bn.folded.b.dispose();
  bn.folded = null;
}

/**
 * conv → BatchNorm in eval mode as one conv: BatchNorm's affine map on its running statistics folded
 * into the conv's weight and bias, per output channel s = γ / sqrt(σ² + eps), w' = w·s,
 * b' = β + (b − μ)·s. Equal to bn.forward(conv.forward(x)) up to rounding (tests/nn/conv-bn-fold.test.ts),
 * gradients included (it is built from autograd ops: x, the conv's weight and bias, γ and β all get
 * theirs); what it saves is BatchNorm's pass over the activations (37 % of MobileFaceNet's forward at
 * batch 32, `lrfr profile --model mobilefacenet`) for six dispatches on [C]-sized vectors, and in
 * inference (no gradient recorded) not even those after the first forward: the folded weight and
 * bias are kept on the BatchNorm until one of their inputs is written (foldBn).
 * Only for eval mode: training normalises with the batch's statistics. With `act`, the PReLU after
 * the BN too: fused into the conv's epilogue where no gradient is recorded (conv2dPrelu), its
 * separate pass over the activations saved as well.
 */
export function convBnFolded(conv: Conv2d, bn: BatchNorm2d, x: Tensor, act: PReLU | null = null): Tensor {
  const { w, b } = foldBn('convBnFolded', 'a conv', conv.weight, conv.bias, bn, [conv.outChannels, 1, 1, 1]);
  const { stride, padding, dilation, groups } = conv.opts;
  if (act && act.channels === conv.outChannels) return conv2dPrelu(x, w, b, act.weight, { stride, padding, dilation, groups });
  const y = conv2d(x, w, b, { stride, padding, dilation, groups });
  return act ? act.forward(y) : y;
}

/**
 * The fold itself: s = γ / sqrt(σ² + eps) per output channel, w' = w · s (s reshaped to sShape, the
 * weight's output-channel axis), b' = β + (b − μ) · s. Checks eval mode and the channel count.
 */
function foldBn(op: string, what: string, weight: Tensor, bias: Tensor | null, bn: BatchNorm2d, sShape: number[]): { w: Tensor; b: Tensor } {
  const outChannels = sShape.reduce((p, q) => p * q, 1);
  if (bn.training) throw new Error(`${op}: the BatchNorm is in training mode (it normalises with batch statistics there; fold only in eval mode)`);
  if (bn.channels !== outChannels) throw new Error(`${op}: BatchNorm over ${bn.channels} channels after ${what} with ${outChannels} outputs`);
  const fold = () => {
    const s = mul(bn.weight, pow(addScalar(bn.runningVar, bn.opts.eps ?? 1e-5), -0.5));
    const w = mul(weight, reshape(s, sShape));
    const shift = sub(bn.bias, mul(bn.runningMean, s));
    return { w, b: bias ? add(shift, mul(bias, s)) : shift };
  };
  // Recording a gradient: the fold is part of the graph (γ, β and the conv's weight get theirs).
  if (isGradEnabled()) return fold();
  // Inference: the fold is a function of six small tensors that do not change between batches, so
  // it is computed once and reused (its six dispatches per layer saved on every later forward) until
  // one of them is written (loaded weights, an optimizer step, a training-mode pass) or replaced.
  const sources = [weight, ...(bias ? [bias] : []), bn.weight, bn.bias, bn.runningMean, bn.runningVar];
  const engine = getEngine();
  const c = bn.folded;
  if (c && c.sources.length === sources.length && c.sources.every((t, i) => t === sources[i] && !t.disposed && engine.writeCount(t.buffer) === c.writes[i])) {
    return { w: c.w, b: c.b };
  }
  dropFold(bn);
  const { w, b } = tidy(fold);
  bn.folded = { sources, writes: sources.map((t) => engine.writeCount(t.buffer)), w: keep(w), b: keep(b) };
  return { w, b };
}

/**
 * Transposed conv → BatchNorm in eval mode as one transposed conv (convBnFolded's fold; the output
 * channels are the weight's dim 1, [Cin, Cout, kh, kw]). Groups 1 only (the UNet's decoder).
 */
export function convTBnFolded(conv: ConvTranspose2d, bn: BatchNorm2d, x: Tensor): Tensor {
  if ((conv.opts.groups ?? 1) !== 1) throw new Error(`convTBnFolded: groups ${conv.opts.groups} (only 1 is folded)`);
  const { w, b } = foldBn('convTBnFolded', 'a transposed conv', conv.weight, conv.bias, bn, [1, conv.outChannels, 1, 1]);
  const { stride, padding, dilation, groups, outputPadding } = conv.opts;
  return convTranspose2d(x, w, b, { stride, padding, dilation, groups, outputPadding });
}

export class PReLU extends Module {
  readonly weight: Tensor;
  constructor(readonly channels = 1, init = 0.25) {
    super();
    this.weight = this.param('weight', full([channels], init));
  }
  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }
}
