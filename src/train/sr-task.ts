// The super-resolution phase of the cycle (seed 000): DSR trained against a FROZEN recognizer on the
// training people only (BLUFR split1 train1, person-level validation split of distill-data.ts).
// Also issue 14's methods: sr.model 'wdsr' trains a WDSR-A instead (A), 'unet' the U-Net (B; its
// dropout masks come from a seed drawn per batch from the state's RNG), and recognizerLrFactor > 0
// trains the recognizer with it (A's joint SR + FR), the HR side then a frozen copy of its start.
//
// A batch: training faces (HR 112 crops, optionally flipped), all downsampled to one probe size S
// drawn per batch from data.sizes (antialiased bicubic; optionally through the degradation model).
// DSR maps the S x S probes to 112 x 112. Loss terms (each weighted by the config):
//  - pixel:    L1(SR, HR) over the 112 crop (unclamped SR output, so every pixel gets a gradient);
//  - identity: the recognizer's embedding of clamp(SR) against its embedding of HR: 1 - cosine, or
//              the squared Euclidean distance (dlib's own metric) (loss.identityMetric);
//  - features: feature matching on the recognizer's multi-scale activations (dlib: the last block of
//              each resolution, EdgeFace: each stage's output): per tap MSE(SR, HR) / mean(HR²), mean
//              over taps. This is the perceptual term: no VGG weights can be obtained here, so the
//              recognizer's own features stand in for VGG's.
// The recognizer sees the SR output exactly as evaluation gives it: clamped to [0, 1], framed for it
// (dlib: framing.ts dlibFrameTensor, the same resampling as dlibInputFrom112; EdgeFace: the crop). Its
// parameters are frozen (no weight gradients are computed), only the image gradient flows to DSR.
//
// galleryRecognizer (optional): the HR side (identity targets, validation gallery) is embedded by
// another recognizer, as lrfr eval --gallery-recognizer does (the cycle's C2 against a dlib
// cross-resolution student, whose gallery is the frozen dlib's).
//
// Validation (picks the weights): the held-out training people; gallery = each person's first image
// at full resolution through the (gallery) recognizer, probes = the others at each valSizes size through DSR;
// rank-1 per size (the recognizer's metric) and PSNR of SR against HR. Score = mean rank-1.
import * as L from '../runtime/index.js';
import { buildModel, modelConfig } from '../nn/registry.js';
import type { SrNetwork } from '../nn/sr-network.js';
import { UNet } from '../nn/unet.js';
import { EdgeFaceXXS } from '../nn/edgeface.js';
import type { MobileFaceNet } from '../nn/mobilefacenet.js';
import type { DlibResNet } from '../nn/dlib-resnet.js';
import { AdamW, type GradClip } from './optim.js';
import { TrainingState } from './state.js';
import type { SrTrainConfig } from './train-config.js';
import type { TrainTask, ValidationResult, ExportedModel } from './trainer.js';
import type { ChwImage } from './image.js';
import { downsample, upsample, clamp01, applyDegradation, sampleDegradation, HR_SIZE } from './degrade.js';
import { dlibFrameTensor } from './framing.js';
import { scoreMatrix } from './scoring.js';
import { cmc, psnr } from './metrics.js';
import { flipH } from './augment.js';
import type { RecognizerModel } from './recognizers.js';
import { stackImages, embedAll } from './batching.js';

export interface SrData {
  /** HR 112 crops of the training images. */
  train: ChwImage[];
  /** Validation: per held-out person, HR crops; [0] is the gallery image. */
  val: ChwImage[][];
}

export interface SrDeps {
  /** The frozen recognizer (eval mode; its parameters are set to not require gradients). */
  recognizer: RecognizerModel;
  /**
   * The recognizer that embeds the HR side (the identity targets and the validation gallery), when
   * not `recognizer` (config galleryRecognizer: a cross-resolution student's gallery is the frozen
   * dlib's). Same embedding dimension.
   */
  galleryRecognizer?: RecognizerModel;
  /**
   * With cfg.recognizerLrFactor > 0 (joint training): the HR side's frozen recognizer when
   * galleryRecognizer is not given, a second copy of the starting recognizer (never trained).
   */
  frozenCopy?: RecognizerModel;
  /** Loads the weights to start from into the seeded super-resolver (sr.init = a file); absent: the seeded init. */
  initWeights?: (sr: SrNetwork) => void;
}

interface Batch {
  /** The UNet's dropout masks' seed, drawn from the state's RNG (0 for the other networks, which draw none). */
  dropoutSeed: number;
  lr: Float32Array;
  hr: Float32Array;
  n: number;
  size: number;
}

/** The recognizer on a batch of 112 crops in [0, 1]: embedding and multi-scale features (differentiable in x). */
export function recognizeTensor(rec: RecognizerModel, x112: L.Tensor): { embedding: L.Tensor; features: L.Tensor[] } {
  if (rec.kind === 'dlib-resnet') return (rec.model as DlibResNet).forwardFeatures(dlibFrameTensor(x112));
  // EdgeFace-XXS and MobileFaceNet take (x - 0.5) / 0.5 of the crop
  return (rec.model as EdgeFaceXXS | MobileFaceNet).forwardFeatures(EdgeFaceXXS.normalize(x112));
}

/** A super-resolver (no grad) on LR probes of one size, in batches of 32: 112 crops clamped to [0, 1]. */
export async function runDsr(dsr: SrNetwork, lrs: readonly ChwImage[]): Promise<ChwImage[]> {
  const out: ChwImage[] = [];
  if (lrs.length === 0) return out;
  const S = lrs[0]!.h;
  const px = 3 * HR_SIZE * HR_SIZE;
  for (let i = 0; i < lrs.length; i += 32) {
    const part = lrs.slice(i, i + 32);
    const y = L.noGrad(() => L.tidy(() => L.clamp(dsr.forward(L.tensor(stackImages(part).x, [part.length, 3, S, S])), 0, 1)));
    let d: Float32Array;
    try { d = await y.data(); } finally { y.dispose(); }
    part.forEach((_, k) => out.push({ data: d.slice(k * px, (k + 1) * px), c: 3, h: HR_SIZE, w: HR_SIZE }));
  }
  return out;
}

/** runDsr on probes of mixed sizes (grouped by size; the order is kept). */
export async function runDsrMixed(dsr: SrNetwork, lrs: readonly ChwImage[]): Promise<ChwImage[]> {
  const out: ChwImage[] = new Array(lrs.length);
  const bySize = new Map<number, number[]>();
  lrs.forEach((x, k) => bySize.set(x.h, [...(bySize.get(x.h) ?? []), k]));
  for (const ks of bySize.values()) {
    const ys = await runDsr(dsr, ks.map((k) => lrs[k]!));
    ks.forEach((k, j) => (out[k] = ys[j]!));
  }
  return out;
}

export class SrTask implements TrainTask<Batch> {
  readonly state: TrainingState;
  readonly epochSize: number;
  readonly batchSize: number;
  readonly params: L.Tensor[];
  /** The super-resolver being trained (a DSR, or a WDSR with sr.model 'wdsr'). */
  readonly dsr: SrNetwork;
  private readonly opt: AdamW;
  /** The recognizer's optimizer when it is trained jointly (recognizerLrFactor > 0). */
  private readonly recOpt: AdamW | null = null;
  private readonly rec: RecognizerModel;
  private readonly gal: RecognizerModel;
  private readonly metric: 'euclidean' | 'cosine';
  private valGallery: Float32Array | null = null;

  constructor(readonly cfg: SrTrainConfig, private readonly data: SrData, deps: SrDeps) {
    if (data.train.length === 0) throw new Error('SR task: no training images');
    this.batchSize = cfg.batch;
    this.epochSize = data.train.length;
    this.rec = deps.recognizer;
    const joint = cfg.recognizerLrFactor > 0;
    if (joint && !deps.galleryRecognizer && !deps.frozenCopy) throw new Error('SR task: joint training needs a frozen copy of the recognizer for the HR side');
    this.gal = deps.galleryRecognizer ?? (joint ? deps.frozenCopy! : deps.recognizer);
    for (const r of [this.rec, this.gal]) {
      r.model.eval(); // a jointly trained recognizer keeps its BatchNorm statistics
      for (const p of r.model.parameters()) p.requiresGrad = false;
    }
    this.metric = this.rec.kind === 'dlib-resnet' ? 'euclidean' : 'cosine';
    const sizes = [...new Set([...cfg.data.sizes, ...cfg.valSizes])].sort((a, b) => a - b);
    const inputSize = cfg.sr.config.inputSize ?? Math.max(...sizes);
    const probeSizes = sizes.filter((s) => s !== inputSize);
    this.dsr = cfg.sr.model === 'dsr'
      ? buildModel('dsr', { ...cfg.sr.config, inputSize, probeSizes, preset: cfg.sr.preset }, cfg.seed)
      : buildModel(cfg.sr.model, { ...cfg.sr.config, inputSize, probeSizes }, cfg.seed);
    deps.initWeights?.(this.dsr);
    this.dsr.train();
    const p = TrainingState.paramNames('sr', this.dsr);
    this.opt = new AdamW(p.params, { lr: cfg.optim.lr, weightDecay: cfg.optim.weightDecay });
    const models: ConstructorParameters<typeof TrainingState>[0] = { sr: { name: cfg.sr.model, config: modelConfig(cfg.sr.model, this.dsr), module: this.dsr } };
    const optimizers: ConstructorParameters<typeof TrainingState>[1] = { sr: { opt: this.opt, names: p.names } };
    this.params = p.params;
    if (joint) {
      const q = TrainingState.paramNames('recognizer', this.rec.model);
      for (const t of q.params) t.requiresGrad = true;
      this.recOpt = new AdamW(q.params, { lr: cfg.optim.lr * cfg.recognizerLrFactor, weightDecay: cfg.optim.weightDecay });
      models.recognizer = { name: this.rec.kind, config: modelConfig(this.rec.kind, this.rec.model), module: this.rec.model };
      optimizers.recognizer = { opt: this.recOpt, names: q.names };
      this.params = [...p.params, ...q.params];
    }
    this.state = new TrainingState(models, optimizers, new L.Rng(cfg.seed), cfg.seed + 1);
    this.state.phase = cfg.name;
  }

  async prepare(indices: number[]): Promise<Batch> {
    const { cfg, data } = this;
    const rng = this.state.rng;
    const sizes = cfg.data.sizes;
    const size = sizes[Math.min(sizes.length - 1, Math.floor(rng.next() * sizes.length))]!;
    const lrs: ChwImage[] = [], hrs: ChwImage[] = [];
    for (const i of indices) {
      const flip = cfg.data.flip && rng.next() < 0.5;
      const degrade = rng.next() < cfg.data.pDegrade;
      const degSeed = Math.floor(rng.next() * 4294967296) >>> 0;
      const hr = flip ? flipH(data.train[i]!) : data.train[i]!;
      lrs.push(degrade ? await applyDegradation(hr, size, sampleDegradation(degSeed, 0)) : clamp01(downsample(hr, size)));
      hrs.push(hr);
    }
    // only the UNet draws (so the other networks' runs keep their RNG stream)
    const dropoutSeed = this.dsr instanceof UNet ? Math.floor(rng.next() * 4294967296) >>> 0 : 0;
    return { dropoutSeed, lr: stackImages(lrs).x, hr: stackImages(hrs).x, n: indices.length, size };
  }

  losses(b: Batch): { terms: Record<string, L.Tensor> } {
    const { cfg } = this;
    const w = cfg.loss;
    const hr = L.tensor(b.hr, [b.n, 3, HR_SIZE, HR_SIZE]);
    const lr = L.tensor(b.lr, [b.n, 3, b.size, b.size]);
    const sr = this.dsr instanceof UNet ? this.dsr.forward(lr, { dropoutSeed: b.dropoutSeed }) : this.dsr.forward(lr);
    const terms: Record<string, L.Tensor> = {};
    if (w.pixel > 0) terms.pixel = L.scale(L.l1Loss(sr, hr), w.pixel);
    if (w.identity > 0 || w.features > 0) {
      // the feature targets: the frozen HR side's when it is the same network (joint training), else the recognizer's own
      const t = L.noGrad(() => recognizeTensor(this.gal !== this.rec && this.gal.kind === this.rec.kind ? this.gal : this.rec, hr));
      const s = recognizeTensor(this.rec, L.clamp(sr, 0, 1));
      if (w.identity > 0) {
        const target = this.gal === this.rec ? t.embedding : L.noGrad(() => recognizeTensor(this.gal, hr).embedding);
        const dim = s.embedding.shape[1]!;
        if (target.shape[1] !== dim) throw new Error(`SR task: the gallery recognizer's embedding has ${target.shape[1]} dimensions, the recognizer's ${dim}`);
        terms.identity = w.identityMetric === 'cosine'
          ? L.scale(L.cosineLoss(s.embedding, target), w.identity)
          : L.scale(L.mseLoss(s.embedding, target), dim * w.identity);
      }
      if (w.features > 0) {
        let f: L.Tensor | null = null;
        s.features.forEach((sf, k) => {
          const tf = t.features[k]!;
          const rel = L.div(L.mseLoss(sf, tf), L.noGrad(() => L.affine(L.mean(L.mul(tf, tf)), 1, 1e-8)));
          f = f ? L.add(f, rel) : rel;
        });
        terms.features = L.scale(f!, w.features / s.features.length);
      }
    }
    if (cfg.faults?.nanAtStep && !(cfg.faults.term! in terms) && cfg.faults.term !== 'gradient') {
      throw new Error(`config: faults.term "${cfg.faults.term}" is not a loss term of this run (terms: ${Object.keys(terms).join(', ')}, or "gradient")`);
    }
    return { terms };
  }

  setLrFactor(f: number): void {
    this.opt.lr = this.cfg.optim.lr * f;
    if (this.recOpt) this.recOpt.lr = this.cfg.optim.lr * this.cfg.recognizerLrFactor * f;
  }

  stepOptimizers(clip?: GradClip): void {
    this.opt.step(clip);
    this.recOpt?.step(clip);
  }

  zeroGrad(): void {
    this.opt.zeroGrad();
    this.recOpt?.zeroGrad();
  }

  /** Embeddings of 112 crops through a recognizer (no grad), in batches. */
  private embed112(imgs: readonly ChwImage[], rec = this.rec): Promise<Float32Array> {
    return embedAll((t) => recognizeTensor(rec, t).embedding, imgs);
  }

  /** SR of LR probes (all S x S): 112 crops clamped to [0, 1]. `bicubic` = the baseline. */
  async superResolve(lrs: readonly ChwImage[], bicubic = false): Promise<ChwImage[]> {
    if (bicubic) return lrs.map((x) => clamp01(upsample(x, HR_SIZE)));
    return runDsr(this.dsr, lrs);
  }

  /** Rank-1 and PSNR on the held-out people at each validation size (through DSR, or bicubic). */
  async validateWith(bicubic: boolean): Promise<ValidationResult> {
    const val = this.data.val;
    this.valGallery ??= await this.embed112(val.map((imgs) => imgs[0]!), this.gal);
    const probes = val.flatMap((imgs) => imgs.slice(1));
    const labels = val.flatMap((imgs, p) => imgs.slice(1).map(() => p));
    const galleryLabels = val.map((_, p) => p);
    const dim = this.valGallery.length / val.length;
    const metrics: Record<string, number> = {};
    let sum = 0;
    for (const S of this.cfg.valSizes) {
      const sr = await this.superResolve(probes.map((img) => clamp01(downsample(img, S))), bicubic);
      const e = await this.embed112(sr);
      const r = cmc(scoreMatrix(e, this.valGallery, dim, this.metric), labels, galleryLabels, 1).cmc[0]!;
      metrics[`rank1_${S}`] = r;
      metrics[`psnr_${S}`] = sr.reduce((a, y, k) => a + psnr(y.data, probes[k]!.data), 0) / sr.length;
      sum += r;
    }
    return { score: sum / this.cfg.valSizes.length, metrics };
  }

  async validate(): Promise<ValidationResult> {
    this.dsr.eval();
    try {
      return await this.validateWith(false);
    } finally {
      this.dsr.train();
    }
  }

  exportModel(): ExportedModel {
    const sr = { name: this.cfg.sr.model, config: modelConfig(this.cfg.sr.model, this.dsr), module: this.dsr };
    if (!this.recOpt) return sr;
    return { ...sr, companions: { recognizer: { name: this.rec.kind, config: modelConfig(this.rec.kind, this.rec.model), module: this.rec.model } } };
  }

  dispose(): void {
    this.opt.dispose();
    this.recOpt?.dispose();
    this.dsr.dispose();
  }
}
