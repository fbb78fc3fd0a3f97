// EdgeFace-XXS (George et al., "EdgeFace: Efficient Face Recognition Model for Edge Devices", T-BIOM
// 2024): timm's `edgenext_xx_small` with its classifier reset to a 512-D embedding.
//
// What this follows, read from the sources:
//  - otroshi/edgeface backbones/__init__.py: `edgeface_xxs` = get_timmfrv2('edgenext_xx_small'),
//    no low-rank Linear replacement (that is only for the *_gamma_* variants); backbones/timmfr.py
//    TimmFRWrapperV2: timm.create_model(name) then model.reset_classifier(512) (so their checkpoint
//    keys carry a "model." prefix in front of the timm names used here). Input transform in the
//    README: ToTensor + Normalize(mean 0.5, std 0.5), i.e. (x - 0.5) / 0.5 on [0, 1] RGB.
//  - huggingface/pytorch-image-models timm/models/edgenext.py:
//    edgenext_xx_small(): depths (2,2,6,2), dims (24,48,88,168), heads (4,4,4,4); EdgeNeXt.__init__
//    defaults: global_block_counts (0,1,1,1), kernel_sizes (3,5,7,9), d2_scales (2,2,3,4),
//    use_pos_emb (False,True,False,False) (so only the SDTA block of stage 1 (0-based), width 48),
//    ls_init_value 1e-6, expand_ratio 4, conv_bias True, stem_type 'patch' (4x4/4 conv +
//    LayerNorm2d eps 1e-6), head_norm_first False (head = global avg pool -> LayerNorm2d -> flatten
//    -> fc). Stage i > 0 downsamples with LayerNorm2d + 2x2/2 conv (EdgeNeXtStage). ConvBlock:
//    dw conv k x k (padding k//2) -> NHWC -> LayerNorm(eps 1e-6) -> Mlp(fc1 C->4C, GELU, fc2) ->
//    gamma -> NCHW -> + shortcut. SplitTransposeBlock: chunk channels into max(1, scales-1)+1 pieces
//    (torch.chunk: ceil(C/n) each), cumulative 3x3 dw convs on all but the last, concat, tokens
//    [B, HW, C], + PositionalEncodingFourier (hidden 32, temperature 1e4, 1x1 conv 64->C) where
//    enabled, x + gamma_xca * XCA(norm_xca(x)), then norm -> Mlp -> gamma, + the block's input.
//    CrossCovarianceAttn: qkv Linear C->3C (bias: SplitTransposeBlock passes qkv_bias=True),
//    reshape(B,N,3,h,C/h).permute(2,0,3,4,1) -> q,k,v [B,h,C/h,N]; F.normalize(q|k, dim=-1)
//    (along tokens, eps 1e-12); attn = softmax((q kᵀ) * temperature[h]) (C/h x C/h); out = attn v,
//    permute(0,3,1,2) -> [B,N,C], proj Linear. _init_weights: trunc_normal_tf_(std .02) for every
//    Conv2d/Linear weight (truncated at ±2σ), zero biases; layer scales 1e-6; temperature 1.
//    reset_classifier(512) builds a fresh nn.Linear(168, 512) AFTER that init, so head.fc keeps
//    PyTorch's default init (U(±1/√168) for weight and bias); we do the same.
//
// How it runs here: the ConvBlock's dw conv → NHWC → LayerNorm is layerNorm2dToChannelsLast, its Mlp
// one mlp op and its gamma + shortcut addChannelsLast; the SDTA block's concat → tokens is
// concatChannelsLast and CrossCovarianceAttn's attention between qkv and proj is xcaAttention (one
// kernel each way where the adapter has 8-lane subgroups; src/runtime/ops/attention.ts).
//
// Parameter names and shapes are timm's (stem.0.weight, stages.2.blocks.5.xca.qkv.weight,
// xca.temperature [h,1,1], head.fc.weight, ...), so an EdgeFace checkpoint maps by stripping "model.".
//
// Input: forward() takes the NORMALISED image [N, 3, 112, 112] (what EdgeFace's transform gives);
// EdgeFaceXXS.normalize() maps [0, 1] RGB to it ((x - 0.5) / 0.5 = 2x - 1) and embed() does both.
import {
  Tensor, Rng, tensor, conv2d, linear, mlp, reshape, concatChannelsLast, chunk, globalAvgPool, add, affine, keep,
  getEngine, fmtShape, layerNorm2dToChannelsLast, addChannelsLast, addScaled, xcaAttention,
} from '../runtime/index.js';
import { Module, Sequential } from './module.js';
import { Conv2d, Linear, LayerNorm, LayerNorm2d } from './layers.js';

export interface EdgeNeXtConfig {
  inChans: number;
  depths: readonly number[];
  dims: readonly number[];
  globalBlockCounts: readonly number[];
  kernelSizes: readonly number[];
  heads: readonly number[];
  d2Scales: readonly number[];
  usePosEmb: readonly boolean[];
  expandRatio: number;
  lsInitValue: number;
  /** LayerNorm / LayerNorm2d eps everywhere. */
  eps: number;
  /** Embedding size (reset_classifier(512)). */
  embeddingSize: number;
  /** Input resolution (square). */
  inputSize: number;
  /** PositionalEncodingFourier hidden_dim / temperature. */
  posHiddenDim: number;
  posTemperature: number;
}

export const EDGEFACE_XXS_CONFIG: EdgeNeXtConfig = Object.freeze({
  inChans: 3,
  depths: [2, 2, 6, 2],
  dims: [24, 48, 88, 168],
  globalBlockCounts: [0, 1, 1, 1],
  kernelSizes: [3, 5, 7, 9],
  heads: [4, 4, 4, 4],
  d2Scales: [2, 2, 3, 4],
  usePosEmb: [false, true, false, false],
  expandRatio: 4,
  lsInitValue: 1e-6,
  eps: 1e-6,
  embeddingSize: 512,
  inputSize: 112,
  posHiddenDim: 32,
  posTemperature: 10000,
});

type Fwd = { forward(x: Tensor): Tensor };

/** timm Mlp (fc1 -> GELU -> fc2) on channels-last input. */
class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(dim: number, hidden: number, rng: Rng) {
    super();
    this.fc1 = this.child('fc1', new Linear(dim, hidden, { rng }));
    this.fc2 = this.child('fc2', new Linear(hidden, dim, { rng }));
  }
  /** fc2(GELU(fc1(x))): one mlp op, GELU and its derivative in the products' stores. */
  forward(x: Tensor): Tensor {
    return mlp(x, this.fc1.weight, this.fc1.bias, this.fc2.weight, this.fc2.bias);
  }
}

const full1d = (n: number, v: number) => tensor(new Float32Array(n).fill(v), [n]);

/** timm ConvBlock (dim_out = dim, stride 1): dw conv -> LN (channels-last) -> MLP -> gamma -> residual. */
class ConvBlock extends Module {
  readonly convDw: Conv2d;
  readonly norm: LayerNorm;
  readonly mlp: Mlp;
  readonly gamma: Tensor;
  constructor(readonly dim: number, readonly kernel: number, cfg: EdgeNeXtConfig, rng: Rng) {
    super();
    this.convDw = this.child('conv_dw', new Conv2d(dim, dim, kernel, { padding: kernel >> 1, groups: dim, rng }));
    this.norm = this.child('norm', new LayerNorm(dim, cfg.eps));
    this.mlp = this.child('mlp', new Mlp(dim, cfg.expandRatio * dim, rng));
    this.gamma = this.param('gamma', full1d(dim, cfg.lsInitValue));
  }
  forward(x: Tensor): Tensor {
    // dw conv (NCHW) -> LN written channels-last (NHWC) -> MLP -> x + gamma · (NHWC -> NCHW): no permute pass
    const y = layerNorm2dToChannelsLast(this.convDw.forward(x), this.norm.weight, this.norm.bias, this.norm.eps);
    return addChannelsLast(x, this.mlp.forward(y), this.gamma);
  }
}

/**
 * The 64-channel Fourier feature map of timm's PositionalEncodingFourier before its 1x1 projection,
 * as tokens [H*W, 2*hidden] (row-major over (h, w); channels pos_y then pos_x, each interleaving
 * sin(even) / cos(odd)). Computed in float64 on the CPU, exactly as the torch code does in float32
 * up to rounding.
 */
export function fourierFeatures(H: number, W: number, hidden = 32, temperature = 10000): Float32Array {
  const scale = 2 * Math.PI, eps = 1e-6;
  const dimT = new Float64Array(hidden);
  for (let i = 0; i < hidden; i++) dimT[i] = Math.pow(temperature, (2 * Math.floor(i / 2)) / hidden);
  const out = new Float32Array(H * W * 2 * hidden);
  for (let h = 0; h < H; h++) {
    for (let w = 0; w < W; w++) {
      const ye = ((h + 1) / (H + eps)) * scale; // cumsum of ones along H, divided by the last + eps
      const xe = ((w + 1) / (W + eps)) * scale;
      const o = (h * W + w) * 2 * hidden;
      for (let i = 0; i < hidden; i++) {
        // stack((sin of even i, cos of odd i), dim=4).flatten(3): position 2j = sin(p/d[2j]), 2j+1 = cos(p/d[2j+1]).
        out[o + i] = i % 2 === 0 ? Math.sin(ye / dimT[i]!) : Math.cos(ye / dimT[i]!);
        out[o + hidden + i] = i % 2 === 0 ? Math.sin(xe / dimT[i]!) : Math.cos(xe / dimT[i]!);
      }
    }
  }
  return out;
}

/** timm PositionalEncodingFourier: fixed Fourier features -> 1x1 conv (token_projection) -> [H*W, C]. */
class PositionalEncodingFourier extends Module {
  readonly tokenProjection: Conv2d;
  private readonly cache = new Map<string, Tensor>();
  constructor(readonly dim: number, readonly hidden: number, readonly temperature: number, rng: Rng) {
    super();
    this.tokenProjection = this.child('token_projection', new Conv2d(2 * hidden, dim, 1, { rng }));
  }
  /** Positional tokens [H*W, C] (the same for every image of the batch). */
  forward(H: number, W: number): Tensor {
    const key = `${H}x${W}`;
    let f = this.cache.get(key);
    if (!f || f.disposed) {
      f = keep(tensor(fourierFeatures(H, W, this.hidden, this.temperature), [H * W, 2 * this.hidden]));
      this.cache.set(key, f);
    }
    const w = reshape(this.tokenProjection.weight, [this.dim, 2 * this.hidden]);
    return linear(f, w, this.tokenProjection.bias);
  }
  /** Frees the cached Fourier features (Module.dispose() of a parent does not reach this). */
  clearCache(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }
  override dispose(): void {
    super.dispose();
    this.clearCache();
  }
}

/** timm CrossCovarianceAttn (XCA): channel attention, C/h x C/h per head, on tokens [B, N, C]. */
class CrossCovarianceAttn extends Module {
  readonly temperature: Tensor;
  readonly qkv: Linear;
  readonly proj: Linear;
  constructor(readonly dim: number, readonly numHeads: number, rng: Rng) {
    super();
    if (dim % numHeads) throw new Error(`CrossCovarianceAttn: dim ${dim} is not divisible by ${numHeads} heads`);
    this.temperature = this.param('temperature', tensor(new Float32Array(numHeads).fill(1), [numHeads, 1, 1]));
    this.qkv = this.child('qkv', new Linear(dim, 3 * dim, { rng }));
    this.proj = this.child('proj', new Linear(dim, dim, { rng }));
  }
  /** proj(XCA(qkv(x))) on tokens [B, N, C]; the attention between the two linears is one kernel each way. */
  forward(x: Tensor): Tensor {
    return this.proj.forward(xcaAttention(this.qkv.forward(x), this.temperature, this.numHeads, 1e-12));
  }
}

/** timm SplitTransposeBlock (SDTA). */
class SplitTransposeBlock extends Module {
  readonly width: number;
  readonly convs: Conv2d[];
  readonly posEmbd: PositionalEncodingFourier | null;
  readonly normXca: LayerNorm;
  readonly gammaXca: Tensor;
  readonly xca: CrossCovarianceAttn;
  readonly norm: LayerNorm;
  readonly mlp: Mlp;
  readonly gamma: Tensor;
  constructor(readonly dim: number, readonly numScales: number, numHeads: number, usePosEmb: boolean, cfg: EdgeNeXtConfig, rng: Rng) {
    super();
    this.width = Math.max(Math.ceil(dim / numScales), Math.floor(dim / numScales));
    const nConvs = Math.max(1, numScales - 1);
    const convs = this.child('convs', new ModuleList());
    this.convs = [];
    for (let i = 0; i < nConvs; i++) {
      this.convs.push(convs.add(new Conv2d(this.width, this.width, 3, { padding: 1, groups: this.width, rng })));
    }
    this.posEmbd = usePosEmb ? this.child('pos_embd', new PositionalEncodingFourier(dim, cfg.posHiddenDim, cfg.posTemperature, rng)) : null;
    this.normXca = this.child('norm_xca', new LayerNorm(dim, cfg.eps));
    this.gammaXca = this.param('gamma_xca', full1d(dim, cfg.lsInitValue));
    this.xca = this.child('xca', new CrossCovarianceAttn(dim, numHeads, rng));
    this.norm = this.child('norm', new LayerNorm(dim, cfg.eps));
    this.mlp = this.child('mlp', new Mlp(dim, cfg.expandRatio * dim, rng));
    this.gamma = this.param('gamma', full1d(dim, cfg.lsInitValue));
  }
  forward(x: Tensor): Tensor {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const spx = chunk(x, this.convs.length + 1, 1);
    if (spx.length !== this.convs.length + 1 || spx[0]!.shape[1] !== this.width) {
      throw new Error(`SplitTransposeBlock: input ${fmtShape(x.shape)} does not split into ${this.convs.length + 1} chunks of width ${this.width}`);
    }
    const spo: Tensor[] = [];
    let sp = spx[0]!;
    this.convs.forEach((conv, i) => {
      if (i > 0) sp = add(sp, spx[i]!);
      sp = conv.forward(sp);
      spo.push(sp);
    });
    spo.push(spx[spx.length - 1]!);
    // [B, C, H, W] -> tokens [B, H*W, C]
    let t = reshape(concatChannelsLast(spo), [B, H * W, C]);
    if (this.posEmbd) t = add(t, this.posEmbd.forward(H, W));
    t = addScaled(t, this.xca.forward(this.normXca.forward(t)), this.gammaXca); // t + gamma_xca · XCA(LN(t))
    // the block's input + gamma · MLP(LN(t)), back to channels-first in the add
    return addChannelsLast(x, reshape(this.mlp.forward(this.norm.forward(t)), [B, H, W, C]), this.gamma);
  }
}

/** An indexed list of child modules (names "0", "1", ...), like nn.ModuleList. */
class ModuleList extends Module {
  private n = 0;
  add<M extends Module>(m: M): M {
    return this.child(String(this.n++), m);
  }
}

class EdgeNeXtStage extends Module {
  readonly downsample: Sequential | null;
  readonly blocks: (Module & Fwd)[] = [];
  constructor(inChs: number, outChs: number, i: number, cfg: EdgeNeXtConfig, rng: Rng) {
    super();
    // Stage 0 keeps stride 4 (the stem's); the others downsample by 2.
    this.downsample = i === 0 ? null : this.child('downsample', new Sequential(
      new LayerNorm2d(inChs, cfg.eps),
      new Conv2d(inChs, outChs, 2, { stride: 2, rng }),
    ));
    if (i === 0 && inChs !== outChs) throw new Error('EdgeNeXtStage: stage 0 must keep the stem width');
    const list = this.child('blocks', new ModuleList());
    const depth = cfg.depths[i]!;
    for (let j = 0; j < depth; j++) {
      this.blocks.push(list.add(j < depth - cfg.globalBlockCounts[i]!
        ? new ConvBlock(outChs, cfg.kernelSizes[i]!, cfg, rng)
        : new SplitTransposeBlock(outChs, cfg.d2Scales[i]!, cfg.heads[i]!, cfg.usePosEmb[i]!, cfg, rng)));
    }
  }
  forward(x: Tensor): Tensor {
    if (this.downsample) x = this.downsample.forward(x);
    for (const b of this.blocks) x = b.forward(x);
    return x;
  }
}

class Head extends Module {
  readonly norm: LayerNorm2d;
  readonly fc: Linear;
  constructor(features: number, out: number, cfg: EdgeNeXtConfig, rng: Rng) {
    super();
    this.norm = this.child('norm', new LayerNorm2d(features, cfg.eps));
    this.fc = this.child('fc', new Linear(features, out, { rng })); // PyTorch default init (reset_classifier)
  }
  forward(x: Tensor): Tensor {
    const p = this.norm.forward(globalAvgPool(x)); // [N, C, 1, 1]
    return this.fc.forward(reshape(p, [x.shape[0]!, x.shape[1]!]));
  }
}

/** timm trunc_normal_tf_(std): N(0, 1) truncated to [-2, 2] (rejection sampling), times std. */
function truncNormal(n: number, std: number, rng: Rng): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rng.normal();
    while (v < -2 || v > 2) v = rng.normal();
    a[i] = v * std;
  }
  return a;
}

export interface FlopCount {
  /** Multiply-accumulates of convolutions, linears and the two XCA matrix products (per image). */
  macs: number;
  /** 2 x macs. */
  flops: number;
  /** MACs by part (per image). */
  breakdown: Record<string, number>;
}

export class EdgeFaceXXS extends Module {
  readonly config: EdgeNeXtConfig;
  readonly stem: Sequential;
  readonly stages: EdgeNeXtStage[] = [];
  readonly head: Head;

  constructor(opts: { seed?: number; config?: Partial<EdgeNeXtConfig> } = {}) {
    super();
    const cfg: EdgeNeXtConfig = { ...EDGEFACE_XXS_CONFIG, ...opts.config };
    this.config = cfg;
    const rng = new Rng(opts.seed ?? 0);
    const d = cfg.dims;
    this.stem = this.child('stem', new Sequential(
      new Conv2d(cfg.inChans, d[0]!, 4, { stride: 4, rng }),
      new LayerNorm2d(d[0]!, cfg.eps),
    ));
    const stages = this.child('stages', new ModuleList());
    let inChs = d[0]!;
    for (let i = 0; i < cfg.depths.length; i++) {
      this.stages.push(stages.add(new EdgeNeXtStage(inChs, d[i]!, i, cfg, rng)));
      inChs = d[i]!;
    }
    this.head = this.child('head', new Head(inChs, cfg.embeddingSize, cfg, rng));
    this.timmInit(rng);
  }

  /**
   * timm _init_weights: trunc_normal_tf_(std .02) for every Conv2d / Linear weight, zero biases, except
   * head.fc (PyTorch default, as after reset_classifier). Norms 1 / 0, layer scales lsInitValue and
   * temperature 1 are set at construction.
   */
  private timmInit(rng: Rng): void {
    const e = getEngine();
    for (const [name, p] of this.namedParameters()) {
      if (name.startsWith('head.fc.')) continue;
      const isNorm = /(^|\.)(norm|norm_xca|stem\.1|downsample\.0)\./.test(name);
      if (isNorm || name.endsWith('gamma') || name.endsWith('gamma_xca') || name.endsWith('temperature')) continue;
      if (name.endsWith('.weight')) e.upload(p.buffer, truncNormal(p.size, 0.02, rng));
      else if (name.endsWith('.bias')) e.upload(p.buffer, new Float32Array(p.size));
      else throw new Error(`EdgeFaceXXS: no init rule for parameter ${name}`);
    }
  }

  /** [0, 1] RGB -> EdgeFace's input: (x - 0.5) / 0.5. */
  static normalize(x: Tensor): Tensor {
    return affine(x, 2, -1);
  }

  /** Normalised image [N, 3, S, S] -> embedding [N, 512] (not L2-normalised, as EdgeFace returns it). */
  forward(x: Tensor): Tensor {
    return this.forwardFeatures(x).embedding;
  }

  /**
   * forward() that also returns each stage's output (strides 4, 8, 16, 32): the multi-scale features
   * of the SR feature-matching loss.
   */
  forwardFeatures(x: Tensor): { embedding: Tensor; features: Tensor[] } {
    this.expectRank('EdgeFaceXXS', x, 4, 'an image batch [N, 3, H, W]');
    if (x.shape[1] !== this.config.inChans) throw new Error(`EdgeFaceXXS: expected ${this.config.inChans} input channels, got ${fmtShape(x.shape)}`);
    let h = this.stem.forward(x);
    const features: Tensor[] = [];
    for (const s of this.stages) features.push(h = s.forward(h));
    return { embedding: this.head.forward(h), features };
  }

  /** [0, 1] RGB [N, 3, S, S] -> embedding: forward(normalize(x)). */
  embed(x01: Tensor): Tensor {
    return this.forward(EdgeFaceXXS.normalize(x01));
  }

  override dispose(): void {
    super.dispose();
    for (const s of this.stages) for (const b of s.blocks) if (b instanceof SplitTransposeBlock) b.posEmbd?.clearCache();
  }

  countParams(): number {
    return this.numParameters();
  }

  /**
   * Analytic count per image at inputSize x inputSize: MACs of every conv (incl. the 1x1 positional
   * projection), linear, and XCA's q·kᵀ and attn·v products; flops = 2 x macs. Norms, GELU, softmax,
   * adds and pooling are not counted. At 112x112: 47.30 M MACs, 94.60 M = 2 x MACs, which is what the
   * EdgeFace README's "94.72 MFLOPs" counts (2 FLOPs per MAC, like torch's FlopCounterMode; the remaining
   * 0.13 % is presumably some of the uncounted elementwise work). MACs alone are half of it.
   */
  flops(inputSize = this.config.inputSize): FlopCount {
    const cfg = this.config;
    const br: Record<string, number> = {};
    const addTo = (k: string, v: number) => (br[k] = (br[k] ?? 0) + v);
    const conv = (co: number, cig: number, k: number, ho: number, wo: number) => co * ho * wo * cig * k * k;
    let H = Math.floor(inputSize / 4), W = H;
    const d = cfg.dims;
    addTo('stem', conv(d[0]!, cfg.inChans, 4, H, W));
    for (let i = 0; i < cfg.depths.length; i++) {
      const C = d[i]!;
      if (i > 0) {
        H = Math.floor(H / 2);
        W = Math.floor(W / 2);
        addTo(`stage${i}.downsample`, conv(C, d[i - 1]!, 2, H, W));
      }
      const N = H * W, hid = cfg.expandRatio * C;
      const mlp = 2 * N * C * hid;
      const depth = cfg.depths[i]!;
      for (let j = 0; j < depth; j++) {
        if (j < depth - cfg.globalBlockCounts[i]!) {
          addTo(`stage${i}.conv_blocks`, conv(C, 1, cfg.kernelSizes[i]!, H, W) + mlp);
        } else {
          const s = cfg.d2Scales[i]!;
          const width = Math.ceil(C / s);
          const nConvs = Math.max(1, s - 1);
          const heads = cfg.heads[i]!, ch = C / heads;
          let m = nConvs * conv(width, 1, 3, H, W);
          if (cfg.usePosEmb[i]) m += N * 2 * cfg.posHiddenDim * C;
          m += N * C * 3 * C + 2 * heads * ch * ch * N + N * C * C + mlp;
          addTo(`stage${i}.sdta`, m);
        }
      }
    }
    addTo('head.fc', d[d.length - 1]! * cfg.embeddingSize);
    const macs = Object.values(br).reduce((a, b) => a + b, 0);
    return { macs, flops: 2 * macs, breakdown: br };
  }
}
