// dlib's ResNet-34 face descriptor (dlib_face_recognition_resnet_model_v1, 128-D) as shipped by
// npm @vladmandic/face-api@1.7.15 (MIT): FaceRecognitionNet, weights model/face_recognition_model.*.
//
// What this follows, read from face-api's sources (src/faceRecognitionNet/*.ts, src/ops/normalize.ts,
// src/dom/NetInput.ts):
//  - input: [N, 150, 150, 3] RGB in 0..255 (toBatchTensor(150): a 150x150 tensor is used as is),
//    minus the mean RGB [122.782, 117.001, 104.298], divided by 255 (not 256).
//  - convLayer = tf.conv2d(x, filters, strides, padding) + bias, then the "scale" layer
//    (x * weights + biases, per channel: dlib's affine layer, i.e. a frozen batch norm), then relu
//    if asked. conv / convNoRelu: 3x3 stride 1 'same' (= symmetric pad 1 for odd kernels at stride 1);
//    convDown: stride 2 'valid' (no padding at all: no asymmetric TF 'same' padding anywhere).
//  - conv32_down: 7x7/2 valid + scale + relu (150 -> 72); tf.maxPool(3, 2, 'valid') (72 -> 35).
//  - residual: relu(convNoRelu(conv(x)) + x).
//  - residualDown: out = convNoRelu(convDown(x)) (3x3/2 valid, then 3x3 same); pooled =
//    tf.avgPool(x, 2, 2, 'valid'); if out is smaller than pooled (8 -> 3 vs 4, 4 -> 1 vs 2) it is
//    padded with ONE row of zeros at the bottom and ONE column at the right (concat of zeros), and
//    if the channel counts differ pooled gets zero channels appended (concat along C: the new
//    channels are pooled ones followed by zeros); out = relu(pooled + out).
//  - blocks: conv32_1..3, conv64_down, conv64_1..3, conv128_down, conv128_1..2, conv256_down,
//    conv256_1..2, conv256_down_out; spatial 35, 17, 8, 4 (out 3 padded), 2 (out 1 padded).
//  - head: mean over H, W then tf.matMul(avg, fc) with fc [256, 128], no bias; no L2 normalisation.
//
// WaveResNet (config { downsample: 'haar' }, issue 15's method C): the same network with every
// downsampling done by the Haar DWT's low-pass band instead of strides and max pooling, so a
// downsampling keeps the low frequencies instead of aliasing the high ones into them. Each stride-2
// conv becomes a stride-1 conv followed by the LL band (the stem keeps its 'valid' padding: 150 -> 144
// -> 72; the blocks' convs pad 'same'), the 3x3/2 max pool becomes the LL band (72 -> 36), and the
// blocks' average-pooled shortcuts take the LL band too. An odd map (9, 5) gets one zero row and
// column (bottom, right) first, as face-api pads. The LL band is used halved, (a+b+c+d)/4: the
// orthonormal band is twice the 2x2 mean, and the halving keeps the activations on the scale the
// pretrained weights expect, so the student can start from dlib's weights (same names and shapes).
// Spatial sizes: 72, 36 (stage 1), 18, 9, 5, 3 (dlib: 72, 35, 17, 8, 4, 2). About 1.5x dlib's
// multiply-adds (the strided convs now run at the full resolution).
// With { centre: true } the embedding is L2-normalised after subtracting a stored centre (a buffer,
// saved with the weights; training sets it to the teacher's mean embedding): a recognizer trained
// with ArcFace compares by angle around that centre, and Euclidean distance between unit vectors
// ranks as the cosine does, so evaluation keeps dlib's Euclidean metric.
//
// Parameter names mirror face-api's weight names with '/' -> '.' and PyTorch-style leaves:
// conv32_1.conv1.conv.weight [Co, Ci, 3, 3] (tfjs filters are [kh, kw, Ci, Co]), .conv.bias [Co],
// .scale.weight / .scale.bias [Co] (face-api's scale/weights, scale/biases), fc.weight [128, 256]
// (face-api's fc transposed, as for linear()).
import {
  Tensor, Rng, tensor, conv2d, relu, add, sub, mul, scale, maxPool2d, avgPool2d, globalAvgPool, linear, concat, zeros,
  getEngine, fmtShape, tidy, noGrad, keep, reshape, haarLL, pad, l2Normalize,
} from '../runtime/index.js';
import type { NamedArray } from './safetensors.js';
import { Module } from './module.js';
import { Conv2d, Linear } from './layers.js';

/** face-api's FaceRecognitionNet mean RGB (subtracted before dividing by 255). */
export const DLIB_MEAN_RGB = [122.782, 117.001, 104.298] as const;
export const DLIB_INPUT_SIZE = 150;
export const DLIB_EMBEDDING_SIZE = 128;

/** Per-channel x * weight + bias (face-api's "scale" layer, dlib's affine layer). */
export class ScaleLayer extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(readonly channels: number) {
    super();
    this.weight = this.param('weight', tensor(new Float32Array(channels).fill(1), [channels]));
    this.bias = this.param('bias', tensor(new Float32Array(channels), [channels]));
  }
  forward(x: Tensor): Tensor {
    const c = this.channels;
    // reshape (not viewAs): the gradient must flow back to the [C] parameters
    return add(mul(x, reshape(this.weight, [1, c, 1, 1])), reshape(this.bias, [1, c, 1, 1]));
  }
}

/** How a DlibResNet downsamples: dlib's strides and max pool, or the Haar LL band (WaveResNet). */
export type DlibDownsample = 'stride' | 'haar';

/**
 * The halved Haar LL band of [N, C, H, W] (the 2x2 mean), after one zero row / column at the
 * bottom / right of an odd H / W.
 */
export function haarDown(x: Tensor): Tensor {
  const [, , h, w] = x.shape as [number, number, number, number];
  const even = h % 2 === 0 && w % 2 === 0 ? x : pad(x, [[0, 0], [0, 0], [0, h % 2], [0, w % 2]]);
  return scale(haarLL(even), 0.5);
}

/**
 * conv (with bias) -> scale -> optional relu. Stride 1 convs pad k/2 ('same'), stride 2 convs pad 0
 * ('valid'), as face-api does. With haar, the conv runs at stride 1 (padding: `haar.padding`) and
 * the halved Haar LL band downsamples before the scale (they commute, both per channel, except at
 * an odd map's zero padding: the fused path therefore adds the scale's shift after downsampling).
 * After fuse(), an inference-only copy of the weights with the scale folded in (w * s, b * s + t)
 * is used when gradients are off and the module is in eval mode.
 */
export class ConvScale extends Module {
  readonly conv: Conv2d;
  readonly scale: ScaleLayer;
  private fused: { w: Tensor; b: Tensor } | null = null;
  readonly haar: boolean;
  constructor(ci: number, co: number, readonly k: number, readonly stride: 1 | 2, readonly withRelu: boolean, rng: Rng, haar?: { padding: number }) {
    super();
    this.haar = stride === 2 && haar !== undefined;
    const padding = this.haar ? haar!.padding : stride === 1 ? (k - 1) / 2 : 0;
    this.conv = this.child('conv', new Conv2d(ci, co, k, { stride: this.haar ? 1 : stride, padding, rng }));
    this.scale = this.child('scale', new ScaleLayer(co));
  }
  forward(x: Tensor): Tensor {
    let out: Tensor;
    if (this.fused && !this.training) {
      out = conv2d(x, this.fused.w, this.fused.b, { stride: this.conv.opts.stride, padding: this.conv.opts.padding });
      // the scale's shift goes after the downsampling: an odd map's zero padding is padded before
      // the scale, as in the unfused path
      if (this.haar) out = add(haarDown(out), reshape(this.scale.bias, [1, this.conv.outChannels, 1, 1]));
    } else {
      out = this.conv.forward(x);
      if (this.haar) out = haarDown(out);
      out = this.scale.forward(out);
    }
    return this.withRelu ? relu(out) : out;
  }
  get isFused(): boolean {
    return this.fused !== null;
  }
  /** (Re)computes the folded weights from the current parameters. */
  fuse(): void {
    this.unfuse();
    const co = this.conv.outChannels;
    this.fused = noGrad(() => tidy(() => {
      const s = this.scale.weight.viewAs([co, 1, 1, 1]);
      const w = keep(mul(this.conv.weight, s));
      const b = keep(this.haar ? mul(this.conv.bias!, this.scale.weight) : add(mul(this.conv.bias!, this.scale.weight), this.scale.bias));
      return { w, b };
    }));
  }
  unfuse(): void {
    if (this.fused) {
      this.fused.w.dispose();
      this.fused.b.dispose();
      this.fused = null;
    }
  }
  override dispose(): void {
    this.unfuse();
    super.dispose();
  }
}

/**
 * face-api's residual (stride 1, same channels) and residualDown (stride 2, channels x1 or x2).
 * With haar, the down block's conv1 is a 'same' stride-1 conv + halved LL, and its shortcut the
 * halved LL of x (dlib's 2x2 average pool, with the odd-size padding).
 */
export class DlibResidual extends Module {
  readonly conv1: ConvScale;
  readonly conv2: ConvScale;
  constructor(readonly ci: number, readonly co: number, readonly down: boolean, rng: Rng, readonly haar = false) {
    super();
    if (!down && ci !== co) throw new Error(`DlibResidual: a non-down block keeps its channels, got ${ci} -> ${co}`);
    if (down && co !== ci && co !== 2 * ci) throw new Error(`DlibResidual: a down block keeps or doubles channels, got ${ci} -> ${co}`);
    this.conv1 = this.child('conv1', new ConvScale(ci, co, 3, down ? 2 : 1, true, rng, haar ? { padding: 1 } : undefined));
    this.conv2 = this.child('conv2', new ConvScale(co, co, 3, 1, false, rng));
  }
  forward(x: Tensor): Tensor {
    let out = this.conv2.forward(this.conv1.forward(x));
    if (!this.down) return relu(add(out, x));
    let pooled = this.haar ? haarDown(x) : avgPool2d(x, 2, 2, 0);
    const [n, c, ph, pw] = pooled.shape as [number, number, number, number];
    const [, co, oh, ow] = out.shape as [number, number, number, number];
    if (oh !== ph || ow !== pw) {
      // face-api pads by exactly one zero row and one zero column (bottom, right), whatever the gap.
      if (oh + 1 !== ph || ow + 1 !== pw) {
        throw new Error(`DlibResidual: conv output ${fmtShape(out.shape)} cannot be padded by one to the pooled ${fmtShape(pooled.shape)}`);
      }
      out = concat([out, zeros([n, co, 1, ow])], 2);
      out = concat([out, zeros([n, co, ph, 1])], 3);
    }
    if (c !== co) pooled = concat([pooled, zeros([n, co - c, ph, pw])], 1);
    return relu(add(pooled, out));
  }
}

export interface DlibResNetOptions {
  /** Seed of the (PyTorch-default) initialisation; real weights come from loadFaceApiWeights. */
  seed?: number;
  /** 'stride' (dlib, default) or 'haar' (WaveResNet: Haar LL downsampling, see the header). */
  downsample?: DlibDownsample;
  /** Embedding = L2-normalised (fc output - centre), centre a stored [128] buffer (see the header). */
  centre?: boolean;
}

/** Block names of face-api's FaceRecognitionNet, in order, with [in, out, down]. */
export const DLIB_BLOCKS: readonly (readonly [string, number, number, boolean])[] = [
  ['conv32_1', 32, 32, false], ['conv32_2', 32, 32, false], ['conv32_3', 32, 32, false],
  ['conv64_down', 32, 64, true], ['conv64_1', 64, 64, false], ['conv64_2', 64, 64, false], ['conv64_3', 64, 64, false],
  ['conv128_down', 64, 128, true], ['conv128_1', 128, 128, false], ['conv128_2', 128, 128, false],
  ['conv256_down', 128, 256, true], ['conv256_1', 256, 256, false], ['conv256_2', 256, 256, false],
  ['conv256_down_out', 256, 256, true],
];

const FEATURE_TAPS = new Set(['conv32_3', 'conv64_3', 'conv128_2', 'conv256_2']);

/**
 * dlib's face descriptor ResNet: forward(x [N, 3, 150, 150], RGB 0..255) -> [N, 128] (not
 * normalised; face-api compares descriptors by Euclidean distance, threshold 0.6).
 */
export class DlibResNet extends Module {
  readonly conv32_down: ConvScale;
  readonly blocks: DlibResidual[];
  readonly fc: Linear;
  readonly downsample: DlibDownsample;
  /** The embedding's centre ([128], a buffer) when the config has centre: true. */
  readonly centre: Tensor | null;
  private readonly mean: Tensor;

  constructor(opts: DlibResNetOptions = {}) {
    super();
    const rng = new Rng(opts.seed ?? 1);
    const ds = opts.downsample ?? 'stride';
    if (ds !== 'stride' && ds !== 'haar') throw new Error(`DlibResNet: downsample must be "stride" or "haar", got ${JSON.stringify(ds)}`);
    this.downsample = ds;
    const haar = ds === 'haar';
    this.conv32_down = this.child('conv32_down', new ConvScale(3, 32, 7, 2, true, rng, haar ? { padding: 0 } : undefined));
    this.blocks = DLIB_BLOCKS.map(([name, ci, co, down]) => this.child(name, new DlibResidual(ci, co, down, rng, haar)));
    this.fc = this.child('fc', new Linear(256, DLIB_EMBEDDING_SIZE, { bias: false, rng }));
    this.centre = opts.centre ? this.buffer('centre', tensor(new Float32Array(DLIB_EMBEDDING_SIZE), [DLIB_EMBEDDING_SIZE])) : null;
    this.mean = keep(tensor(Float32Array.from(DLIB_MEAN_RGB), [1, 3, 1, 1]));
  }

  /** RGB 0..255 -> (x - mean) / 255, as face-api's normalize(...).div(255). */
  normalize(x: Tensor): Tensor {
    return scale(sub(x, this.mean), 1 / 255);
  }

  forward(x: Tensor): Tensor {
    return this.forwardFeatures(x).embedding;
  }

  /**
   * forward() that also returns the activations at the end of each resolution (after conv32_3,
   * conv64_3, conv128_2 and conv256_2: 32 x 35², 64 x 17², 128 x 8², 256 x 4² at 150 input; the
   * WaveResNet's are 36², 18², 9², 5²): the multi-scale features of the SR feature-matching loss
   * and of the WaveResNet's wavelet-similarity term.
   */
  forwardFeatures(x: Tensor): { embedding: Tensor; features: Tensor[] } {
    const { out, features } = this.trunk(x, Infinity);
    let embedding = this.fc.forward(reshape(globalAvgPool(out), [out.shape[0]!, 256]));
    if (this.centre) embedding = l2Normalize(sub(embedding, this.centre.viewAs([1, DLIB_EMBEDDING_SIZE])), 1);
    return { embedding, features };
  }

  /** The activations of the first `stages` resolutions only (forwardFeatures' taps, without the rest). */
  stageFeatures(x: Tensor, stages: number): Tensor[] {
    return this.trunk(x, stages).features;
  }

  /** Stem and blocks up to the `stages`-th feature tap (every block when stages = Infinity). */
  private trunk(x: Tensor, stages: number): { out: Tensor; features: Tensor[] } {
    if (x.rank !== 4 || x.shape[1] !== 3) throw new Error(`DlibResNet: expected x [N, 3, 150, 150] (RGB 0..255), got ${fmtShape(x.shape)}`);
    if (x.shape[2] !== DLIB_INPUT_SIZE || x.shape[3] !== DLIB_INPUT_SIZE) {
      throw new Error(`DlibResNet: expected 150x150 input (face-api resizes to 150 first), got ${fmtShape(x.shape)}`);
    }
    let out = this.conv32_down.forward(this.normalize(x));
    out = this.downsample === 'haar' ? haarDown(out) : maxPool2d(out, 3, 2, 0);
    const features: Tensor[] = [];
    for (let i = 0; i < this.blocks.length && features.length < stages; i++) {
      out = this.blocks[i]!.forward(out);
      if (FEATURE_TAPS.has(DLIB_BLOCKS[i]![0])) features.push(out);
    }
    return { out, features };
  }

  /** Embeds a batch without recording gradients (eval mode is up to the caller). */
  embed(x: Tensor): Tensor {
    return noGrad(() => this.forward(x));
  }

  private convScales(): ConvScale[] {
    return [this.conv32_down, ...this.blocks.flatMap((b) => [b.conv1, b.conv2])];
  }

  /**
   * Folds every scale layer into its conv for inference (used in eval mode only; training mode
   * keeps the separate conv + scale). Call again after changing the weights.
   */
  fuse(): this {
    for (const c of this.convScales()) c.fuse();
    return this;
  }

  unfuse(): this {
    for (const c of this.convScales()) c.unfuse();
    return this;
  }

  get isFused(): boolean {
    return this.conv32_down.isFused;
  }

  override dispose(): void {
    this.unfuse();
    this.mean.dispose();
    super.dispose();
  }
}

/** Our parameter name for a face-api weight name (null for names that are not ours). */
export function faceApiNameToOurs(name: string): string | null {
  if (name === 'fc') return 'fc.weight';
  const m = /^(.*)\/(conv\/filters|conv\/bias|scale\/weights|scale\/biases)$/.exec(name);
  if (!m) return null;
  const leaf = { 'conv/filters': 'conv.weight', 'conv/bias': 'conv.bias', 'scale/weights': 'scale.weight', 'scale/biases': 'scale.bias' }[m[2]!]!;
  return `${m[1]!.replaceAll('/', '.')}.${leaf}`;
}

/** HWIO [kh, kw, ci, co] -> OIHW [co, ci, kh, kw]. */
function hwioToOihw(a: NamedArray): Float32Array {
  const [kh, kw, ci, co] = a.shape as [number, number, number, number];
  const out = new Float32Array(a.data.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) {
    const src = ((y * kw + x) * ci + i) * co;
    for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = a.data[src + o]!;
  }
  return out;
}

/**
 * Copies face-api's FaceRecognitionNet weights (decoded by decodeTfjsWeights /
 * loadTfjsWeightsFromDir: float32, dequantised) into `model`: filters HWIO -> OIHW, fc [256, 128]
 * -> [128, 256]. Every parameter must be filled and every weight used, with matching shapes;
 * anything else throws naming the weight. Re-fuses a fused model.
 */
export function loadFaceApiWeights(model: DlibResNet, weights: ReadonlyMap<string, NamedArray>): void {
  const params = new Map(model.namedParameters());
  const filled = new Set<string>();
  const e = getEngine();
  for (const [name, a] of weights) {
    const ours = faceApiNameToOurs(name);
    const p = ours ? params.get(ours) : undefined;
    if (!ours || !p) throw new Error(`loadFaceApiWeights: face-api weight "${name}" has no counterpart in DlibResNet`);
    let data: Float32Array;
    let shape: number[];
    if (a.shape.length === 4) {
      data = hwioToOihw(a);
      shape = [a.shape[3]!, a.shape[2]!, a.shape[0]!, a.shape[1]!];
    } else if (name === 'fc' && a.shape.length === 2) {
      const [i, o] = a.shape as [number, number];
      data = new Float32Array(i * o);
      for (let r = 0; r < i; r++) for (let c = 0; c < o; c++) data[c * i + r] = a.data[r * o + c]!;
      shape = [o, i];
    } else {
      data = a.data;
      shape = [...a.shape];
    }
    if (data.length !== a.shape.reduce((x, y) => x * y, 1)) throw new Error(`loadFaceApiWeights: "${name}" has ${data.length} values for shape ${fmtShape(a.shape)}`);
    if (shape.length !== p.shape.length || shape.some((d, i) => d !== p.shape[i])) {
      throw new Error(`loadFaceApiWeights: "${name}" ${fmtShape(a.shape)} (as ${fmtShape(shape)}) does not fit ${ours} ${fmtShape(p.shape)}`);
    }
    e.upload(p.buffer, data);
    filled.add(ours);
  }
  const missing = [...params.keys()].filter((k) => !filled.has(k));
  if (missing.length) throw new Error(`loadFaceApiWeights: ${missing.length} parameters not in the weights: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
  if (model.isFused) model.fuse();
}
