// The model registry: every model lrfr builds, by name + config. Evaluation, tune, profile, the
// benchmarks, the trainer and checkpoints all build through buildModel(), and a weights file names
// its model the same way (safetensors metadata.model + metadata.config), so a file can be turned
// back into the module that wrote it (modelFromMetadata).
//
// | name          | what                                                           | config              |
// |---------------|----------------------------------------------------------------|---------------------|
// | edgeface-xxs  | EdgeFace-XXS recognizer, 112x112 -> 512-D                      | Partial<EdgeNeXtConfig> |
// | dsr           | DSR super-resolver, S x S -> 112x112                           | Partial<DsrConfig> (+ preset) |
// | wdsr          | WDSR-A super-resolver, S x S -> 112x112 (issue 14's SRNet)     | Partial<WdsrConfig> |
// | unet          | pix2pix U-Net super-resolver, S x S -> 112x112 (issue 14, B)   | Partial<UNetConfig> |
// | dlib-resnet   | dlib's ResNet-34 descriptor, 150x150 RGB 0..255 -> 128-D       | { downsample?: 'haar' (WaveResNet), centre?: true } |
// | mobilefacenet | MobileFaceNet, 112x112 -> 128-D (issue 14's FRNet)          | Partial<MobileFaceNetConfig> |
// | arcface-head  | ArcFace class centres [classes, dim] (normalised in the loss)  | { classes, dim }    |
// | projection    | a linear map dim -> out (no bias), e.g. the student's 512 -> 128 | { in, out }       |
// | tiny-face-detector | face-api's TinyFaceDetector, S x S RGB 0..255 -> [25, S/32, S/32] grid | {}    |
// | face-landmarks-tiny | face-api's 68-point tiny landmark net, 112x112 RGB 0..255 -> 136 | {}       |
import { Tensor, Rng, randn } from '../runtime/index.js';
import { Module } from './module.js';
import { Linear } from './layers.js';
import { EdgeFaceXXS, type EdgeNeXtConfig } from './edgeface.js';
import { DSR, DSR_CPU, DSR_PAPER, type DsrConfig } from './dsr.js';
import { WDSR, type WdsrConfig } from './wdsr.js';
import { UNet, type UNetConfig } from './unet.js';
import { DlibResNet, type DlibDownsample } from './dlib-resnet.js';
import { MobileFaceNet, type MobileFaceNetConfig } from './mobilefacenet.js';
import { TinyFaceDetector } from './tiny-face-detector.js';
import { FaceLandmark68Tiny } from './face-landmarks-tiny.js';

/** ArcFace class centres [classes, dim] (the weight of arcfaceHead; rows are normalised there). */
export class ArcFaceHead extends Module {
  readonly weight: Tensor;
  constructor(readonly classes: number, readonly dim: number, seed = 0) {
    super();
    if (!Number.isInteger(classes) || classes < 2) throw new Error(`ArcFaceHead: classes must be an integer >= 2, got ${classes}`);
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`ArcFaceHead: dim must be a positive integer, got ${dim}`);
    this.weight = this.param('weight', randn([classes, dim], seed, 0.01));
  }
}

/** A bias-free linear map in -> out (the distillation projection). */
export class Projection extends Module {
  readonly fc: Linear;
  constructor(readonly inFeatures: number, readonly outFeatures: number, seed = 0) {
    super();
    this.fc = this.child('fc', new Linear(inFeatures, outFeatures, { bias: false, rng: new Rng(seed) }));
  }
  forward(x: Tensor): Tensor {
    return this.fc.forward(x);
  }
}

export interface ModelConfigs {
  'edgeface-xxs': Partial<EdgeNeXtConfig>;
  dsr: Partial<DsrConfig> & { preset?: 'cpu' | 'paper' };
  wdsr: Partial<WdsrConfig>;
  unet: Partial<UNetConfig>;
  'dlib-resnet': { downsample?: DlibDownsample; centre?: boolean };
  mobilefacenet: Partial<MobileFaceNetConfig>;
  'arcface-head': { classes: number; dim: number };
  projection: { in: number; out: number };
  'tiny-face-detector': Record<string, never>;
  'face-landmarks-tiny': Record<string, never>;
}
export type ModelName = keyof ModelConfigs;
export const MODEL_NAMES = ['edgeface-xxs', 'dsr', 'wdsr', 'unet', 'dlib-resnet', 'mobilefacenet', 'arcface-head', 'projection', 'tiny-face-detector', 'face-landmarks-tiny'] as const satisfies readonly ModelName[];

export interface ModelTypes {
  'edgeface-xxs': EdgeFaceXXS;
  dsr: DSR;
  wdsr: WDSR;
  unet: UNet;
  'dlib-resnet': DlibResNet;
  mobilefacenet: MobileFaceNet;
  'arcface-head': ArcFaceHead;
  projection: Projection;
  'tiny-face-detector': TinyFaceDetector;
  'face-landmarks-tiny': FaceLandmark68Tiny;
}

/** Older or alternative spellings of metadata.model, mapped to registry names. */
const ALIASES: [RegExp, ModelName][] = [
  [/^(edgeface|edgenext)/i, 'edgeface-xxs'],
  [/dlib/i, 'dlib-resnet'],
  [/^mobile_?face_?net$/i, 'mobilefacenet'],
  [/^dsr/i, 'dsr'],
  [/^wdsr/i, 'wdsr'],
  [/^u-?net$/i, 'unet'],
  [/^arcface/i, 'arcface-head'],
  [/^projection$/i, 'projection'],
  [/tiny_?face_?detector/i, 'tiny-face-detector'],
  [/landmark.*tiny/i, 'face-landmarks-tiny'],
];

/** The registry name for a model name as written in a file (exact names first, then aliases). */
export function canonicalModelName(name: string): ModelName {
  if ((MODEL_NAMES as readonly string[]).includes(name)) return name as ModelName;
  for (const [re, n] of ALIASES) if (re.test(name)) return n;
  throw new Error(`unknown model "${name}" (known: ${MODEL_NAMES.join(', ')})`);
}

/** The registry name of `name` (a file's metadata.model, say), or null when the registry does not know it. */
export function knownModelName(name: string): ModelName | null {
  try {
    return canonicalModelName(name);
  } catch {
    return null;
  }
}

/** Builds a model by registry name with seeded initial weights. */
export function buildModel<N extends ModelName>(name: N, config?: ModelConfigs[N], seed = 0): ModelTypes[N] {
  const n = canonicalModelName(name);
  const c = (config ?? {}) as Record<string, unknown>;
  switch (n) {
    case 'edgeface-xxs':
      return new EdgeFaceXXS({ seed, config: c as Partial<EdgeNeXtConfig> }) as ModelTypes[N];
    case 'dsr': {
      const { preset, ...rest } = c as ModelConfigs['dsr'];
      if (preset !== undefined && preset !== 'cpu' && preset !== 'paper') throw new Error(`dsr: unknown preset "${String(preset)}" (known: cpu, paper)`);
      const base = preset === 'paper' ? DSR_PAPER : DSR_CPU;
      return new DSR({ seed, config: { ...base, ...rest } }) as ModelTypes[N];
    }
    case 'wdsr': {
      const known = ['channels', 'blocks', 'expand', 'resScale', 'inputSize', 'outputSize', 'probeSizes'];
      const extra = Object.keys(c).filter((k) => !known.includes(k));
      if (extra.length) throw new Error(`wdsr: unknown config field ${extra.join(', ')} (known: ${known.join(', ')})`);
      return new WDSR({ seed, config: c as Partial<WdsrConfig> }) as ModelTypes[N];
    }
    case 'unet': {
      const known = ['channels', 'depth', 'dropout', 'workSize', 'inputSize', 'outputSize', 'probeSizes'];
      const extra = Object.keys(c).filter((k) => !known.includes(k));
      if (extra.length) throw new Error(`unet: unknown config field ${extra.join(', ')} (known: ${known.join(', ')})`);
      return new UNet({ seed, config: c as Partial<UNetConfig> }) as ModelTypes[N];
    }
    case 'dlib-resnet': {
      const extra = Object.keys(c).filter((k) => k !== 'downsample' && k !== 'centre');
      if (extra.length) throw new Error(`dlib-resnet: unknown config field ${extra.join(', ')} (known: downsample, centre)`);
      const d = c as ModelConfigs['dlib-resnet'];
      return new DlibResNet({ seed, downsample: d.downsample, centre: d.centre === true }) as ModelTypes[N];
    }
    case 'mobilefacenet':
      return new MobileFaceNet({ seed, config: c as Partial<MobileFaceNetConfig> }) as ModelTypes[N];
    case 'arcface-head': {
      const { classes, dim } = c as ModelConfigs['arcface-head'];
      return new ArcFaceHead(classes, dim, seed) as ModelTypes[N];
    }
    case 'projection': {
      const p = c as ModelConfigs['projection'];
      if (!Number.isInteger(p.in) || !Number.isInteger(p.out) || p.in < 1 || p.out < 1) throw new Error(`projection: config needs positive integers in and out, got ${JSON.stringify(c)}`);
      return new Projection(p.in, p.out, seed) as ModelTypes[N];
    }
    case 'tiny-face-detector':
      return new TinyFaceDetector({ seed }) as ModelTypes[N];
    case 'face-landmarks-tiny':
      return new FaceLandmark68Tiny({ seed }) as ModelTypes[N];
  }
}

/** The config a built model reports (what goes into a weights file's metadata.config). */
export function modelConfig(name: ModelName, m: Module): Record<string, unknown> {
  switch (canonicalModelName(name)) {
    case 'edgeface-xxs': return { ...(m as EdgeFaceXXS).config };
    case 'dsr': return { ...(m as DSR).config };
    case 'wdsr': return { ...(m as WDSR).config };
    case 'unet': return { ...(m as UNet).config };
    case 'dlib-resnet': {
      const d = m as DlibResNet;
      return { ...(d.downsample === 'haar' ? { downsample: 'haar' } : {}), ...(d.centre ? { centre: true } : {}) };
    }
    case 'mobilefacenet': { const m2 = m as MobileFaceNet; return { ...m2.config, stages: m2.config.stages.map((s) => [...s]) }; }
    case 'arcface-head': return { classes: (m as ArcFaceHead).classes, dim: (m as ArcFaceHead).dim };
    case 'projection': return { in: (m as Projection).inFeatures, out: (m as Projection).outFeatures };
    case 'tiny-face-detector': return {};
    case 'face-landmarks-tiny': return {};
  }
}

/** Builds the module a weights file describes (metadata.model, metadata.config as JSON); weights not loaded. */
export function modelFromMetadata(metadata: Record<string, string>, what = 'weights'): { name: ModelName; model: Module } {
  const kind = metadata.model;
  if (!kind) throw new Error(`${what}: metadata.model is missing (cannot tell which model the weights are for)`);
  let config: unknown = {};
  if (metadata.config !== undefined) {
    try {
      config = JSON.parse(metadata.config);
    } catch {
      throw new Error(`${what}: metadata.config is not valid JSON`);
    }
  }
  const name = canonicalModelName(kind);
  return { name, model: buildModel(name, config as never) };
}
