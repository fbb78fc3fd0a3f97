// The identity-preserving UNet super-resolver (issue 14, method B): pix2pix's U-Net generator on the
// bicubic-upsampled low-resolution face.
//
//   lr [N, 3, S, S] (RGB in [0, 1]) -> bicubic to workSize (128) -> x' = 2x - 1
//   level 0 (outermost):  conv4x4/2 3 -> C                                        ... up: ReLU, convT4x4/2 2C -> 3 (+bias), tanh
//   level 1..depth-2:     LeakyReLU 0.2, conv4x4/2, BN                              ... up: ReLU, convT4x4/2, BN (+ dropout), concat with the level's input
//   level depth-1 (innermost): LeakyReLU 0.2, conv4x4/2 (no BN)                    ... up: ReLU, convT4x4/2, BN, concat
//   -> (tanh + 1) / 2 -> resize to 112 (antialiased)
// Channels as pix2pix's unet_128 (depth 7: 128 -> 1 x 1): C, 2C, 4C, 8C, 8C, 8C, 8C; dropout (p 0.5,
// training only) on the up path of the depth - 5 middle levels of 8C, the decoder's first stages.
// Convolutions before a BatchNorm have no bias (pix2pix). Output RGB in [0, 1].
//
// Dropout needs a seed per forward in training mode (`forward(lr, { dropoutSeed })`): the training
// task draws it from its checkpointed RNG, so a resumed run draws the same masks.
import { Tensor, Rng, tensor, relu, leakyRelu, tanh, affine, mul, concat } from '../runtime/index.js';
import { Module } from './module.js';
import { Conv2d, ConvTranspose2d, BatchNorm2d, convBnFolded, convTBnFolded } from './layers.js';
import { checkProbe, checkProbeSizes, fitTo } from './sr-common.js';

export interface UNetConfig {
  /** Channels of the first level (pix2pix ngf, 64); level l has min(2^l, 8) x that. */
  channels: number;
  /** Down / up levels; workSize must be divisible by 2^depth. */
  depth: number;
  /** Dropout probability on the decoder's 8C middle levels (training only). */
  dropout: number;
  /** The size the network runs at (the bicubic-upsampled probe). */
  workSize: number;
  /** The probe size S this model was built for. */
  inputSize: number;
  /** Output size (square). */
  outputSize: number;
  /** Other probe sizes it takes (method B trains one model on a mix of sizes). */
  probeSizes?: number[];
}

/** pix2pix's unet_128 at a quarter of its width (C = 16), small enough for this machine. */
export const UNET_CPU: UNetConfig = { channels: 16, depth: 7, dropout: 0.5, workSize: 128, inputSize: 16, outputSize: 112 };

/** Channels of level l's output (its `inner` width) for base C. */
const width = (C: number, l: number) => C * Math.min(2 ** l, 8);

function checkConfig(cfg: UNetConfig): void {
  for (const k of ['channels', 'depth', 'workSize', 'outputSize', 'inputSize'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new Error(`UNet: ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (cfg.depth < 2) throw new Error(`UNet: depth must be at least 2, got ${cfg.depth}`);
  if (cfg.workSize % 2 ** cfg.depth !== 0) throw new Error(`UNet: workSize ${cfg.workSize} is not divisible by 2^depth = ${2 ** cfg.depth}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`UNet: dropout must be in [0, 1), got ${cfg.dropout}`);
  if (cfg.inputSize < 4 || cfg.inputSize > cfg.outputSize) throw new Error(`UNet: unsupported input size ${cfg.inputSize} (supported: integers 4..${cfg.outputSize})`);
  checkProbeSizes('UNet', cfg.probeSizes, cfg.outputSize);
}

/** One level: its down conv (+ BN), and its up conv (+ BN); level 0 has no BN and an up bias. */
class UNetLevel extends Module {
  readonly down: Conv2d;
  readonly downNorm: BatchNorm2d | null;
  readonly up: ConvTranspose2d;
  readonly upNorm: BatchNorm2d | null;
  constructor(readonly level: number, readonly innermost: boolean, outer: number, inner: number, upIn: number, rng: Rng) {
    super();
    const k = { padding: 1, stride: 2 } as const;
    this.down = this.child('down', new Conv2d(outer, inner, 4, { ...k, bias: level === 0, rng }));
    this.downNorm = level > 0 && !innermost ? this.child('down_norm', new BatchNorm2d(inner)) : null;
    this.up = this.child('up', new ConvTranspose2d(upIn, outer, 4, { ...k, bias: level === 0, rng }));
    this.upNorm = level > 0 ? this.child('up_norm', new BatchNorm2d(outer)) : null;
  }
}

/** Parameters: levels.{l}.down.*, levels.{l}.down_norm.*, levels.{l}.up.*, levels.{l}.up_norm.* (PyTorch init, seeded). */
export class UNet extends Module {
  readonly config: UNetConfig;
  readonly levels: UNetLevel[] = [];

  constructor(opts: { config?: Partial<UNetConfig>; seed?: number } = {}) {
    super();
    const cfg: UNetConfig = { ...UNET_CPU, ...opts.config };
    checkConfig(cfg);
    this.config = cfg;
    const rng = new Rng(opts.seed ?? 0);
    const C = cfg.channels, D = cfg.depth;
    for (let l = 0; l < D; l++) {
      const outer = l === 0 ? 3 : width(C, l - 1), inner = width(C, l);
      const innermost = l === D - 1;
      // the up conv reads the level below's output concatenated with its input (innermost: its own down output)
      this.levels.push(this.child(`levels.${l}`, new UNetLevel(l, innermost, outer, inner, innermost ? inner : 2 * inner, rng)));
    }
  }

  get probeSizes(): number[] {
    return this.config.probeSizes ?? [];
  }

  /** Whether level l's up path has dropout: the depth - 5 middle levels of 8C (pix2pix). */
  hasDropout(l: number): boolean {
    return this.config.dropout > 0 && l >= 4 && l < this.config.depth - 1;
  }

  /** [N, 3, S, S] RGB in [0, 1] -> [N, 3, outputSize, outputSize]. Training mode with dropout needs opts.dropoutSeed. */
  forward(lr: Tensor, opts: { dropoutSeed?: number } = {}): Tensor {
    this.expectRank('UNet', lr, 4, 'an image batch [N, 3, S, S]');
    checkProbe('UNet', lr, this.config.inputSize, this.probeSizes);
    const dropping = this.training && this.levels.some((_, l) => this.hasDropout(l));
    if (dropping && opts.dropoutSeed === undefined) throw new Error('UNet: training-mode dropout needs forward(lr, { dropoutSeed }) (the training task draws it from its RNG)');
    const rng = new Rng(opts.dropoutSeed ?? 0);
    const x = affine(fitTo(lr, this.config.workSize), 2, -1);
    const y = tanh(this.levelForward(0, x, rng));
    return fitTo(affine(y, 0.5, 0.5), this.config.outputSize);
  }

  private levelForward(l: number, x: Tensor, rng: Rng): Tensor {
    const lv = this.levels[l]!;
    // Eval mode: each BatchNorm folded into the conv before it (one pass over the activations, not two).
    const down = (t: Tensor) => (!lv.downNorm ? lv.down.forward(t) : lv.downNorm.training ? lv.downNorm.forward(lv.down.forward(t)) : convBnFolded(lv.down, lv.downNorm, t));
    const up = (t: Tensor) => (!lv.upNorm ? lv.up.forward(t) : lv.upNorm.training ? lv.upNorm.forward(lv.up.forward(t)) : convTBnFolded(lv.up, lv.upNorm, t));
    const d = down(l === 0 ? x : leakyRelu(x, 0.2));
    const below = lv.innermost ? d : this.levelForward(l + 1, d, rng);
    let u = up(relu(below));
    if (l === 0) return u;
    if (this.training && this.hasDropout(l)) u = dropout(u, this.config.dropout, rng);
    return concat([x, u], 1);
  }

  countParams(): number {
    return this.numParameters();
  }
}

/** x * mask / (1 - p), the mask Bernoulli(1 - p) per element drawn from rng (on the CPU: seeded, resumable). */
export function dropout(x: Tensor, p: number, rng: Rng): Tensor {
  const m = new Float32Array(x.size);
  const keep = 1 / (1 - p);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() < p ? 0 : keep;
  return mul(x, tensor(m, [...x.shape]));
}
