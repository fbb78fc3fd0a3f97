// MobileFaceNet (Chen et al., 2018): the FRNet of issue 14's method A. 112x112 RGB in our crop (the
// method's own faces are 112x96; ours are square, so the last feature map is 7x7 instead of 7x6),
// [0, 1] RGB mapped by (x - 0.5) / 0.5 as EdgeFace-XXS does; out: a 128-D embedding (not normalised).
//
//   conv1      3x3/2, 64, BN, PReLU                                  112 -> 56
//   dw_conv1   depthwise 3x3, 64, BN, PReLU                           56
//   blocks     bottlenecks (t expansion, c out, n repeats, s stride of the first):
//              (2, 64, 5, 2) 56 -> 28, (4, 128, 1, 2) 28 -> 14, (2, 128, 6, 1),
//              (4, 128, 1, 2) 14 -> 7, (2, 128, 2, 1)
//   conv2      1x1, 512, BN, PReLU                                     7
//   gdconv     global depthwise conv 7x7 'valid' (instead of pooling), 512, BN, linear      7 -> 1
//   linear     1x1, 128, BN (linear)                                    -> [N, 128]
// Bottleneck: 1x1 expand (BN, PReLU) -> depthwise 3x3 stride s (BN, PReLU) -> 1x1 project (BN, no
// activation); a residual add when s = 1 and the channels match. PReLU per channel (init 0.25);
// convs without bias (each is followed by BN). Parameter names are PyTorch-style
// (blocks.3.dw.conv.weight, blocks.3.dw.bn.running_mean, ...).
import { Tensor, Rng, add, reshape, affine, fmtShape } from '../runtime/index.js';
import { Module } from './module.js';
import { Conv2d, BatchNorm2d, PReLU, convBnFolded } from './layers.js';

export interface MobileFaceNetConfig {
  inputSize: number;
  embeddingSize: number;
  /** Bottleneck stages: [expansion t, out channels c, repeats n, stride s of the first]. */
  stages: [number, number, number, number][];
  /** BatchNorm's eps (PyTorch's default 1e-5). */
  bnEps: number;
}

export const MOBILEFACENET: MobileFaceNetConfig = {
  inputSize: 112,
  embeddingSize: 128,
  stages: [[2, 64, 5, 2], [4, 128, 1, 2], [2, 128, 6, 1], [4, 128, 1, 2], [2, 128, 2, 1]],
  bnEps: 1e-5,
};

/** conv (no bias) -> BN -> PReLU (or linear). */
export class ConvBn extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  readonly act: PReLU | null;
  constructor(ci: number, co: number, k: number, opts: { stride?: number; padding?: number; groups?: number; prelu: boolean; rng: Rng; eps?: number }) {
    super();
    this.conv = this.child('conv', new Conv2d(ci, co, k, { stride: opts.stride ?? 1, padding: opts.padding ?? 0, groups: opts.groups ?? 1, bias: false, rng: opts.rng }));
    this.bn = this.child('bn', new BatchNorm2d(co, { eps: opts.eps }));
    this.act = opts.prelu ? this.child('act', new PReLU(co)) : null;
  }
  forward(x: Tensor): Tensor {
    // Eval mode: BatchNorm folded into the conv and the PReLU fused into its epilogue (one pass over
    // the activations instead of three).
    if (!this.bn.training) return convBnFolded(this.conv, this.bn, x, this.act);
    const y = this.bn.forward(this.conv.forward(x));
    return this.act ? this.act.forward(y) : y;
  }
}

/** Inverted residual: 1x1 expand -> depthwise 3x3 (stride) -> 1x1 linear project (+ x when shapes match). */
export class Bottleneck extends Module {
  readonly expand: ConvBn;
  readonly dw: ConvBn;
  readonly project: ConvBn;
  readonly residual: boolean;
  constructor(ci: number, co: number, t: number, stride: number, rng: Rng, eps?: number) {
    super();
    const h = ci * t;
    this.expand = this.child('expand', new ConvBn(ci, h, 1, { prelu: true, rng, eps }));
    this.dw = this.child('dw', new ConvBn(h, h, 3, { stride, padding: 1, groups: h, prelu: true, rng, eps }));
    this.project = this.child('project', new ConvBn(h, co, 1, { prelu: false, rng, eps }));
    this.residual = stride === 1 && ci === co;
  }
  forward(x: Tensor): Tensor {
    const y = this.project.forward(this.dw.forward(this.expand.forward(x)));
    return this.residual ? add(x, y) : y;
  }
}

export class MobileFaceNet extends Module {
  readonly config: MobileFaceNetConfig;
  readonly conv1: ConvBn;
  readonly dwConv1: ConvBn;
  readonly blocks: Bottleneck[] = [];
  readonly conv2: ConvBn;
  readonly gdconv: ConvBn;
  readonly linear: ConvBn;
  /** Spatial size before the global depthwise conv. */
  readonly finalSize: number;

  constructor(opts: { seed?: number; config?: Partial<MobileFaceNetConfig> } = {}) {
    super();
    const cfg = { ...MOBILEFACENET, ...opts.config };
    if (!Number.isInteger(cfg.inputSize) || cfg.inputSize < 16) throw new Error(`MobileFaceNet: inputSize must be an integer >= 16, got ${cfg.inputSize}`);
    if (!Number.isInteger(cfg.embeddingSize) || cfg.embeddingSize < 1) throw new Error(`MobileFaceNet: embeddingSize must be a positive integer, got ${cfg.embeddingSize}`);
    this.config = cfg;
    if (!(cfg.bnEps > 0)) throw new Error(`MobileFaceNet: bnEps must be > 0, got ${cfg.bnEps}`);
    const rng = new Rng(opts.seed ?? 1);
    const eps = cfg.bnEps;
    this.conv1 = this.child('conv1', new ConvBn(3, 64, 3, { stride: 2, padding: 1, prelu: true, rng, eps }));
    this.dwConv1 = this.child('dw_conv1', new ConvBn(64, 64, 3, { padding: 1, groups: 64, prelu: true, rng, eps }));
    let ci = 64;
    let size = Math.floor((cfg.inputSize - 1) / 2) + 1;
    for (const [t, c, n, s] of cfg.stages) {
      for (let i = 0; i < n; i++) {
        const stride = i === 0 ? s : 1;
        this.blocks.push(this.child(`blocks.${this.blocks.length}`, new Bottleneck(ci, c, t, stride, rng, eps)));
        if (stride === 2) size = Math.floor((size - 1) / 2) + 1;
        ci = c;
      }
    }
    this.finalSize = size;
    this.conv2 = this.child('conv2', new ConvBn(ci, 512, 1, { prelu: true, rng, eps }));
    this.gdconv = this.child('gdconv', new ConvBn(512, 512, size, { groups: 512, prelu: false, rng, eps }));
    this.linear = this.child('linear', new ConvBn(512, cfg.embeddingSize, 1, { prelu: false, rng, eps }));
  }

  /** [N, 3, S, S] normalised input -> [N, embeddingSize]. */
  forward(x: Tensor): Tensor {
    return this.forwardFeatures(x).embedding;
  }

  /**
   * forward() that also returns the activations at the end of each resolution (dw_conv1's, then
   * the last bottleneck's of each: 64 x 56², 64 x 28², 128 x 14², 128 x 7² at 112):
   * the multi-scale features of the SR feature-matching loss.
   */
  forwardFeatures(x: Tensor): { embedding: Tensor; features: Tensor[] } {
    const S = this.config.inputSize;
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== S || x.shape[3] !== S) {
      throw new Error(`MobileFaceNet: expected x [N, 3, ${S}, ${S}], got ${fmtShape(x.shape)}`);
    }
    let y = this.dwConv1.forward(this.conv1.forward(x));
    const features: Tensor[] = [];
    this.blocks.forEach((b, i) => {
      const next = this.blocks[i + 1];
      if (i === 0) features.push(y);
      y = b.forward(y);
      // the end of a resolution: the next block downsamples, or this is the last one
      if (!next || next.dw.conv.opts.stride === 2) features.push(y);
    });
    y = this.linear.forward(this.gdconv.forward(this.conv2.forward(y)));
    return { embedding: reshape(y, [x.shape[0]!, this.config.embeddingSize]), features };
  }

  /** [0, 1] RGB -> (x - 0.5) / 0.5. */
  static normalize(x: Tensor): Tensor {
    return affine(x, 2, -1);
  }

  /** [0, 1] RGB [N, 3, S, S] -> embedding. */
  embed(x01: Tensor): Tensor {
    return this.forward(MobileFaceNet.normalize(x01));
  }

  countParams(): number {
    return this.numParameters();
  }
}
