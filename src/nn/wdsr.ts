// WDSR-A: the wide-activation super-resolution network (Yu et al., "Wide Activation for Efficient
// and Accurate Image Super-Resolution", 2018), issue 14's method A SRNet. It maps a low-resolution
// face [N, 3, S, S] to the 112x112 crop the recognizers take.
//
//   x (RGB in [0, 1]) -> x' = (x - 0.5) / 0.5 (WDSR's mean shift and 127.5 scaling, flat mean)
//     body branch: head  wn-conv3x3 3 -> C
//                  B x Block: wn-conv3x3 C -> eC, ReLU, wn-conv3x3 eC -> C, x resScale, + block input
//                  tail  wn-conv3x3 C -> 3r², pixelShuffle(r)
//     skip branch: wn-conv5x5 3 -> 3r², pixelShuffle(r)
//     -> body + skip, x 0.5 + 0.5 (undo the scaling)
//     -> resize to 112 when S·r != 112 (bicubic, antialiased when shrinking)
// Every convolution is weight-normalised (WnConv2d: w = g·v/||v||); no normalisation layers. The wide
// activation (expand e = 4 before the ReLU, then reduce) is what distinguishes WDSR from EDSR (DSR).
//
// Scale: one sub-pixel stage of factor r = round(112 / S), the whole upscaling at once as in WDSR.
// Our crop is square, so the method's 112x96 faces become 112x112 here and its 7x6 / 14x12 / 28x24
// probes become 7x7 / 14x14 / 28x28 (the same x16 / x8 / x4). 16 -> r = 7 (112 exactly); 24 -> r = 5
// (120, shrunk to 112); 32 -> r = 4 (128 -> 112).
//
// Multi-scale (probeSizes): a probe of another size is first resized to inputSize (bicubic,
// antialiased when shrinking), as DSR does.
//
// Value range: input and output RGB in [0, 1]; the output is not clamped (see dsr.ts).
import { Tensor, Rng, relu, add, affine, scale, pixelShuffle } from '../runtime/index.js';
import { Module } from './module.js';
import { WnConv2d } from './layers.js';
import { checkProbe, checkProbeSizes, fitTo } from './sr-common.js';

export interface WdsrConfig {
  /** Feature channels C of the body. */
  channels: number;
  /** Residual blocks B. */
  blocks: number;
  /** Width multiplier e before the ReLU (WDSR-A: 4). */
  expand: number;
  /** Residual scaling of each block's branch (WDSR: 1). */
  resScale: number;
  /** Probe size S (square); fixes r, hence the tail's and skip's channels. */
  inputSize: number;
  /** Output size (square). */
  outputSize: number;
  /** Other probe sizes this model takes, resized to inputSize first (multi-scale). */
  probeSizes?: number[];
}

/** The size trained on this machine: C = 32, B = 8, e = 4 (WDSR-A's small model has C = 32, B = 16). */
export const WDSR_CPU: WdsrConfig = { channels: 32, blocks: 8, expand: 4, resScale: 1, inputSize: 16, outputSize: 112 };

/** r = round(outputSize / inputSize) (at least 1) and the network's own output size S·r. */
export function wdsrGeometry(cfg: Pick<WdsrConfig, 'inputSize' | 'outputSize'>): { scale: number; netOutSize: number } {
  const S = cfg.inputSize, O = cfg.outputSize;
  if (!Number.isInteger(O) || O < 1) throw new Error(`WDSR: outputSize must be a positive integer, got ${O}`);
  if (!Number.isInteger(S) || S < 4 || S > O) throw new Error(`WDSR: unsupported input size ${S} (supported: integers 4..${O})`);
  const r = Math.max(1, Math.round(O / S));
  return { scale: r, netOutSize: S * r };
}

function checkConfig(cfg: WdsrConfig): { scale: number; netOutSize: number } {
  for (const k of ['channels', 'blocks', 'expand'] as const) {
    const min = k === 'blocks' ? 0 : 1;
    if (!Number.isInteger(cfg[k]) || cfg[k] < min) throw new Error(`WDSR: ${k} must be an integer >= ${min}, got ${cfg[k]}`);
  }
  if (!Number.isFinite(cfg.resScale)) throw new Error(`WDSR: resScale must be finite, got ${cfg.resScale}`);
  checkProbeSizes('WDSR', cfg.probeSizes, cfg.outputSize);
  return wdsrGeometry(cfg);
}

/** Analytic parameter count: a wn-conv k×k (ci -> co) has k² ci co (v) + co (g) + co (bias). */
export function wdsrParamCount(cfg: WdsrConfig): number {
  const { scale: r } = checkConfig(cfg);
  const C = cfg.channels, E = cfg.expand * C, o = 3 * r * r;
  const wn = (k: number, ci: number, co: number) => k * k * ci * co + 2 * co;
  return wn(3, 3, C) + cfg.blocks * (wn(3, C, E) + wn(3, E, C)) + wn(3, C, o) + wn(5, 3, o);
}

/** Conv MACs per image at cfg.inputSize (k² ci co per output pixel); flops = 2 x macs (as dsrFlops). */
export function wdsrFlops(cfg: WdsrConfig): { macs: number; flops: number; breakdown: Record<string, number> } {
  const { scale: r } = checkConfig(cfg);
  const C = cfg.channels, E = cfg.expand * C, o = 3 * r * r, hw = cfg.inputSize ** 2;
  const br: Record<string, number> = {
    head: 9 * 3 * C * hw,
    body: cfg.blocks * 2 * 9 * C * E * hw,
    tail: 9 * C * o * hw,
    skip: 25 * 3 * o * hw,
  };
  const macs = Object.values(br).reduce((a, b) => a + b, 0);
  return { macs, flops: 2 * macs, breakdown: br };
}

/** wn-conv3x3 C -> eC, ReLU, wn-conv3x3 eC -> C, scaled by resScale, added to the input. */
export class WdsrBlock extends Module {
  readonly expandConv: WnConv2d;
  readonly reduceConv: WnConv2d;
  constructor(channels: number, expand: number, readonly resScale: number, rng: Rng) {
    super();
    this.expandConv = this.child('expand', new WnConv2d(channels, expand * channels, 3, { padding: 1, rng }));
    this.reduceConv = this.child('reduce', new WnConv2d(expand * channels, channels, 3, { padding: 1, rng }));
  }
  forward(x: Tensor): Tensor {
    const r = this.reduceConv.forward(relu(this.expandConv.forward(x)));
    return add(x, this.resScale === 1 ? r : scale(r, this.resScale));
  }
}

/**
 * Parameters (PyTorch default conv init, g = ||v||, seeded): head.*, body.{i}.expand.*,
 * body.{i}.reduce.*, tail.*, skip.*, each weight_g [O, 1, 1, 1], weight_v [O, I, k, k], bias [O].
 */
export class WDSR extends Module {
  readonly config: WdsrConfig;
  readonly scale: number;
  readonly head: WnConv2d;
  readonly body: WdsrBlock[] = [];
  readonly tail: WnConv2d;
  readonly skip: WnConv2d;

  constructor(opts: { config?: Partial<WdsrConfig>; seed?: number } = {}) {
    super();
    const cfg: WdsrConfig = { ...WDSR_CPU, ...opts.config };
    this.scale = checkConfig(cfg).scale;
    this.config = cfg;
    const rng = new Rng(opts.seed ?? 0);
    const C = cfg.channels, o = 3 * this.scale ** 2;
    this.head = this.child('head', new WnConv2d(3, C, 3, { padding: 1, rng }));
    for (let i = 0; i < cfg.blocks; i++) this.body.push(this.child(`body.${i}`, new WdsrBlock(C, cfg.expand, cfg.resScale, rng)));
    this.tail = this.child('tail', new WnConv2d(C, o, 3, { padding: 1, rng }));
    this.skip = this.child('skip', new WnConv2d(3, o, 5, { padding: 2, rng }));
  }

  /** The probe sizes forward() takes besides inputSize. */
  get probeSizes(): number[] {
    return this.config.probeSizes ?? [];
  }

  /** [N, 3, S, S] RGB in [0, 1] -> [N, 3, 112, 112] RGB in [0, 1] (unclamped). */
  forward(lr: Tensor): Tensor {
    this.expectRank('WDSR', lr, 4, 'an image batch [N, 3, S, S]');
    checkProbe('WDSR', lr, this.config.inputSize, this.probeSizes);
    const x = affine(fitTo(lr, this.config.inputSize), 2, -1);
    let f = this.head.forward(x);
    for (const b of this.body) f = b.forward(f);
    const y = add(pixelShuffle(this.tail.forward(f), this.scale), pixelShuffle(this.skip.forward(x), this.scale));
    return fitTo(affine(y, 0.5, 0.5), this.config.outputSize);
  }

  countParams(): number {
    return this.numParameters();
  }

  /** Conv MACs / FLOPs per image for probe size S (default: the model's). */
  flops(S = this.config.inputSize): { macs: number; flops: number; breakdown: Record<string, number> } {
    return wdsrFlops({ ...this.config, inputSize: S });
  }
}
