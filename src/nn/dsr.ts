// DSR: the identity-aware super-resolution network (EDSR-style) that turns a low-resolution face
// probe [N, 3, S, S] into the 112x112 face the recogniser expects.
//
//   x (RGB in [0, 1]) -> centre (x - 0.5, EDSR's MeanShift with a flat mean)
//     -> head: conv3x3 3 -> C                                            h0
//     -> body: B x ResBlock (conv3x3 C->C, ReLU, conv3x3 C->C, * resScale, + block input)
//     -> bodyEnd: conv3x3 C->C, + h0 (global skip)
//     -> up: k stages of conv3x3 C -> 4C + pixelShuffle(2)  (EDSR Upsampler for scale 2^k)
//     -> tail: conv3x3 C -> 3
//     -> fit to 112x112 (see `fit`)
//     -> + bicubic(x -> 112x112) when `bicubicSkip`, else + 0.5 (undo the centring)
//
// Value range: input and output are RGB in [0, 1] (the EdgeFace recogniser takes [0, 1] and
// normalises itself). The output is NOT clamped (a clamp would kill gradients of the identity loss
// outside [0, 1]); clamp for display only.
//
// Upsampling factor. 112 = 7 x 16 is not S x 2^k for the probe sizes we care about (16, 24, 32), so
// there is one rule for both fits: k = round(log2(112 / S)), the power of two that brings S closest
// to 112 on a log scale. S = 16 -> x8 (k = 3), 24 -> x4 (k = 2), 32 -> x4 (k = 2). (The "smallest
// power of two with S*2^k >= 112" rule would give 24 -> x8 -> 192: a third conv C->4C stage at
// 96x96 costs 4.2 G MACs for C = 112, twice the whole 16-block body at 24x24 (2.1 G), 2.2x the
// network in all (7.7 vs 3.5 G MACs), only for a 192 -> 112 downscale to throw most of it away;
// x4 -> 96 and a mild 96 -> 112 bicubic upscale of the 3-channel output costs almost nothing.
// For 16 and 32 both rules agree.)
//
// fit (how 112 is reached):
//  - 'resize-output' (DEFAULT): the network runs on the probe as given, produces S*2^k (128 for 16
//    and 32, 96 for 24), and the 3-channel output is resized to 112 with bicubic interpolation,
//    antialiased when shrinking (PyTorch F.interpolate(mode='bicubic', antialias=True), a = -0.5),
//    plain bicubic (a = -0.75) when enlarging. No probe information is discarded; costs ~1.3x the
//    FLOPs of 'resize-input' at 16 and 32 (body at 32² instead of 28², tail at 128² instead of 112²)
//    and the resize itself is on 3 channels only (negligible).
//  - 'resize-input': the probe is first resized (bicubic, antialiased when shrinking) to
//    T = 112 / 2^k (14 for 16, 28 for 24 and 32) and the network produces exactly 112. Cheaper, but
//    for 16 -> 14 and 32 -> 28 it low-pass filters away the probe's finest detail (~23% of the
//    samples), the very detail an identity-aware SR net is meant to exploit; for 24 -> 28 it runs
//    the body on 36% more pixels than the probe has, for no information gain.
// Default 'resize-output': the probes are tiny, and every input sample carries identity cues we do
// not want to blur before the network has seen them; the extra cost is ~30%.
//
// bicubicSkip (DEFAULT true): output = net(x) + bicubic(x -> 112) (the probe as given, plain bicubic,
// a = -0.75). Residual learning over the bicubic upsample is the standard for face/image SR trained
// from scratch (VDSR, many face-SR nets): at initialisation the output is already the bicubic image,
// so a small network trained briefly on a CPU starts from (and cannot do much worse than) bicubic.
// EDSR itself has no such skip (it learns the image through the tail); set false for that.
//
// Supported input sizes: 7 <= S <= 112 (S >= 7 so that 'resize-input' has T = 112/2^k >= 7).
import {
  Tensor, Rng, add, affine, resizeBicubic, concat, split, getEngine,
} from '../runtime/index.js';
import { Module } from './module.js';
import { Conv2d } from './layers.js';
import { checkProbe, checkProbeSizes, fitTo } from './sr-common.js';

export type DsrFit = 'resize-output' | 'resize-input';

export interface DsrConfig {
  /** Feature channels C. */
  channels: number;
  /** Residual blocks B. */
  blocks: number;
  /** Residual scaling of each block's branch (EDSR: 0.1). */
  resScale: number;
  /** Probe size S (square); fixes the number of x2 stages, hence the parameters. */
  inputSize: number;
  /** Output size (square). */
  outputSize: number;
  fit: DsrFit;
  /** output += bicubic(x) (true) or += 0.5 (false). */
  bicubicSkip: boolean;
  /**
   * Other probe sizes this one model takes (multi-scale): such a probe is first resized to inputSize
   * (bicubic; antialiased when shrinking) inside forward(); the bicubic skip still upsamples the probe
   * as given. Default: none (only inputSize).
   */
  probeSizes?: number[];
}

/** The paper configuration: C = 112, B = 16, for 32x32 probes. */
export const DSR_PAPER: DsrConfig = {
  channels: 112, blocks: 16, resScale: 0.1, inputSize: 32, outputSize: 112, fit: 'resize-output', bicubicSkip: true,
};

/** Small enough to train on a 2-core CPU through lavapipe. */
export const DSR_CPU: DsrConfig = {
  channels: 32, blocks: 6, resScale: 0.1, inputSize: 32, outputSize: 112, fit: 'resize-output', bicubicSkip: true,
};

export interface DsrGeometry {
  /** Number of conv + pixelShuffle(2) stages. */
  stages: number;
  /** Spatial size the network body runs at (S, or T for 'resize-input'). */
  workSize: number;
  /** Spatial size of the tail's output (workSize * 2^stages). */
  netOutSize: number;
}

/** k = round(log2(out / S)); workSize and netOutSize per `fit` (see the header). Throws on bad sizes. */
export function dsrGeometry(cfg: Pick<DsrConfig, 'inputSize' | 'outputSize' | 'fit'>): DsrGeometry {
  const S = cfg.inputSize, O = cfg.outputSize;
  if (!Number.isInteger(O) || O < 1) throw new Error(`DSR: outputSize must be a positive integer, got ${O}`);
  if (cfg.fit !== 'resize-output' && cfg.fit !== 'resize-input') throw new Error(`DSR: fit must be 'resize-output' or 'resize-input', got '${String(cfg.fit)}'`);
  const minS = O % 16 === 0 ? O / 16 : 1;
  if (!Number.isInteger(S) || S < minS || S > O) throw new Error(`DSR: unsupported input size ${S} (supported: integers ${minS}..${O})`);
  const stages = Math.max(0, Math.round(Math.log2(O / S)));
  if (cfg.fit === 'resize-input') {
    const T = O / 2 ** stages;
    if (!Number.isInteger(T)) throw new Error(`DSR: fit 'resize-input' needs outputSize ${O} divisible by 2^${stages} (input size ${S})`);
    return { stages, workSize: T, netOutSize: O };
  }
  return { stages, workSize: S, netOutSize: S * 2 ** stages };
}

function checkConfig(cfg: DsrConfig): DsrGeometry {
  for (const k of ['channels', 'blocks'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < (k === 'blocks' ? 0 : 1)) throw new Error(`DSR: ${k} must be a ${k === 'blocks' ? 'non-negative' : 'positive'} integer, got ${cfg[k]}`);
  }
  if (!Number.isFinite(cfg.resScale)) throw new Error(`DSR: resScale must be finite, got ${cfg.resScale}`);
  checkProbeSizes('DSR', cfg.probeSizes, cfg.outputSize);
  return dsrGeometry(cfg);
}

/** Analytic parameter count: conv3x3(ci, co) = 9 ci co + co. */
export function dsrParamCount(cfg: DsrConfig): number {
  const { stages } = checkConfig(cfg);
  const C = cfg.channels;
  const conv = (ci: number, co: number) => 9 * ci * co + co;
  return conv(3, C) + cfg.blocks * 2 * conv(C, C) + conv(C, C) + stages * conv(C, 4 * C) + conv(C, 3);
}

export interface DsrFlops {
  /** Multiply-accumulates of the convolutions per image. */
  macs: number;
  /** 2 x macs. */
  flops: number;
  breakdown: Record<string, number>;
}

/**
 * Per image, for cfg with inputSize = S: MACs of every conv (9 ci co per output pixel); flops = 2 x
 * macs. Biases, ReLU, adds, the residual scaling, pixel shuffle and the bicubic resizes (3 channels,
 * < 0.1% of the total) are not counted (fvcore/thop convention).
 */
export function dsrFlops(cfg: DsrConfig): DsrFlops {
  const g = checkConfig(cfg);
  const C = cfg.channels;
  const conv = (ci: number, co: number, hw: number) => 9 * ci * co * hw * hw;
  const W = g.workSize;
  const br: Record<string, number> = {
    head: conv(3, C, W),
    body: cfg.blocks * 2 * conv(C, C, W),
    bodyEnd: conv(C, C, W),
    up: 0,
    tail: conv(C, 3, g.netOutSize),
  };
  for (let j = 0; j < g.stages; j++) br.up! += conv(C, 4 * C, W * 2 ** j);
  const macs = Object.values(br).reduce((a, b) => a + b, 0);
  return { macs, flops: 2 * macs, breakdown: br };
}

/** conv3x3 -> ReLU -> conv3x3, scaled by resScale, added to the input. */
export class ResBlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  constructor(channels: number, readonly resScale: number, rng: Rng) {
    super();
    this.conv1 = this.child('conv1', new Conv2d(channels, channels, 3, { padding: 1, rng }));
    this.conv2 = this.child('conv2', new Conv2d(channels, channels, 3, { padding: 1, rng }));
  }
  forward(x: Tensor): Tensor {
    // conv2dFused: in inference the ReLU, the scale and the add ride in the convs' stores.
    const h = this.conv1.forwardFused(x, { relu: true });
    return this.conv2.forwardFused(h, { residual: x, residualScale: this.resScale });
  }
}

/**
 * Parameters (PyTorch default init, seeded): head.{weight,bias}, body.{i}.conv{1,2}.{weight,bias},
 * body_end.{weight,bias}, up.{j}.{weight,bias} (C -> 4C, before pixelShuffle(2)), tail.{weight,bias}.
 */
export class DSR extends Module {
  readonly config: DsrConfig;
  readonly geometry: DsrGeometry;
  readonly head: Conv2d;
  readonly body: ResBlock[] = [];
  readonly bodyEnd: Conv2d;
  readonly up: Conv2d[] = [];
  readonly tail: Conv2d;

  constructor(opts: { config?: Partial<DsrConfig>; seed?: number } = {}) {
    super();
    const cfg: DsrConfig = { ...DSR_CPU, ...opts.config };
    this.geometry = checkConfig(cfg);
    this.config = cfg;
    const rng = new Rng(opts.seed ?? 0);
    const C = cfg.channels;
    const c3 = (ci: number, co: number) => new Conv2d(ci, co, 3, { padding: 1, rng });
    this.head = this.child('head', c3(3, C));
    for (let i = 0; i < cfg.blocks; i++) this.body.push(this.child(`body.${i}`, new ResBlock(C, cfg.resScale, rng)));
    this.bodyEnd = this.child('body_end', c3(C, C));
    for (let j = 0; j < this.geometry.stages; j++) this.up.push(this.child(`up.${j}`, c3(C, 4 * C)));
    this.tail = this.child('tail', c3(C, 3));
  }

  /** [N, 3, S, S] RGB in [0, 1] -> [N, 3, 112, 112] RGB in [0, 1] (unclamped). */
  forward(lr: Tensor): Tensor {
    this.expectRank('DSR', lr, 4, 'an image batch [N, 3, S, S]');
    checkProbe('DSR', lr, this.config.inputSize, this.probeSizes);
    // The largest activations are the last upsampling conv's output (4C channels at half the final
    // size) and its pixel-shuffled form (C channels at the final size): C * netOut^2 floats. Batches whose activations would exceed the adapter's storage binding limit run in
    // chunks; split/concat keep autograd intact.
    const n = lr.shape[0]!;
    const perImage = this.config.channels * (this.geometry.workSize * 2 ** this.geometry.stages) ** 2 * 4;
    const maxN = Math.max(1, Math.floor(getEngine().maxBinding / perImage));
    if (n > maxN) {
      const sizes: number[] = [];
      for (let i = 0; i < n; i += maxN) sizes.push(Math.min(maxN, n - i));
      return concat(split(lr, sizes, 0).map((part) => this.forwardChunk(part)), 0);
    }
    return this.forwardChunk(lr);
  }

  /** The probe sizes forward() takes: inputSize and config.probeSizes. */
  get probeSizes(): number[] {
    return this.config.probeSizes ?? [];
  }

  private forwardChunk(lr: Tensor): Tensor {
    const O = this.config.outputSize;
    const probe = fitTo(lr, this.config.inputSize);
    const x = this.config.fit === 'resize-input' ? fitTo(probe, this.geometry.workSize) : probe;
    const h0 = this.head.forward(affine(x, 1, -0.5));
    let f = h0;
    for (const b of this.body) f = b.forward(f);
    f = this.bodyEnd.forwardFused(f, { residual: h0 });
    for (const u of this.up) f = u.forwardPixelShuffle(f, 2);
    const y = fitTo(this.tail.forward(f), O);
    return this.config.bicubicSkip ? add(y, resizeBicubic(lr, [O, O])) : affine(y, 1, 0.5);
  }

  countParams(): number {
    return this.numParameters();
  }

  /** Conv MACs / FLOPs (2 x MACs) per image for probe size S (default: the model's). */
  flops(S = this.config.inputSize): DsrFlops {
    return dsrFlops({ ...this.config, inputSize: S });
  }
}
