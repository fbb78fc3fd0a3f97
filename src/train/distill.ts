// The recognizer-training task: a student distilled from the frozen dlib ResNet (the teacher) on the
// training people only (BLUFR split1 train1, ../shared/data/README.md).
//
// Two students share this task (configs/):
//  - dlib cross-resolution student (configs/dlib-student.json): a copy of the pretrained dlib ResNet,
//    fine-tuned so that its embedding of a low-resolution face (S x S, bicubic back to 112, framed
//    for dlib) matches the frozen dlib's embedding of the HR face (squared Euclidean distance).
//    The gallery side stays with the frozen dlib.
//  - EdgeFace-XXS (configs/edgeface-xxs.json): from scratch; its 512-D embedding goes through a
//    learned 512 -> 128 projection; loss = cosine to the teacher's HR embedding (centred on the
//    training mean and L2-normalised: dlib's embeddings share a large common direction) + the
//    relational term (batch cosine matrices) + ArcFace (s = 64, m = 0.5) on the training identities.
//
// A sample: image i, view v (teacher-labelled augmentation; v = 0 is the image), flip f. The teacher
// embeds every (i, v, f) of the HR crops once (cached under the run folder's parent). The student sees
// the same view either at full resolution (p = 1 - pLowRes) or at LR size S ~ U{lrMin..lrMax}
// (optionally through the degradation model), bicubic back to 112, with a random framing shift.
// Validation (picks the checkpoint): held-out training people with >= 2 images; gallery = their first
// image at full resolution, probes = the others at each validation size; rank-1 per size.
//
// WaveResNet (issue 15's method C, configs/wave-resnet*.json): a dlib-resnet student with
// { downsample: 'haar', centre: true } started from the teacher's weights, trained with ArcFace on
// the training identities (the head starts at the teacher's class centres), the class-distribution
// distillation (loss.kd) and the wavelet similarity of its early feature maps to the teacher's on the
// HR face (loss.wavelet); it embeds both sides (validation gallery included).
//
// The cycle's C1 (configs/*-c1-*.json): student.init = a trained recognizer's file, data.sr = the C0
// DSR (frozen): the LR samples and validation probes go through it instead of bicubic, mixed with HR
// samples (1 - pLowRes), the distillation term to the teacher's HR embedding keeping HR.
import * as L from '../runtime/index.js';
import { buildModel, modelConfig, type ModelName, type ModelConfigs, type ArcFaceHead, type Projection } from '../nn/registry.js';
import type { Module } from '../nn/module.js';
import type { DlibResNet } from '../nn/dlib-resnet.js';
import { EdgeFaceXXS } from '../nn/edgeface.js';
import { MobileFaceNet } from '../nn/mobilefacenet.js';
import type { SrNetwork } from '../nn/sr-network.js';
import { runDsr, runDsrMixed } from './sr-task.js';
import { stackImages, embedAll } from './batching.js';
import { AdamW, type GradClip } from './optim.js';
import { TrainingState } from './state.js';
import type { TrainConfig } from './train-config.js';
import type { TrainTask, ValidationResult } from './trainer.js';
import type { ChwImage } from './image.js';
import { downsample, upsample, clamp01, applyDegradation, sampleDegradation, HR_SIZE } from './degrade.js';
import { frameWindow, dlibInputFrom112 } from './framing.js';
import { scoreMatrix } from './scoring.js';
import { cmc } from './metrics.js';
import { flipH, viewParams, applyView, uniformInt } from './augment.js';

export interface DistillData {
  /** HR 112 crops of the training samples, their identity labels (0..classes-1). */
  train: ChwImage[];
  labels: number[];
  classes: number;
  /** Validation: per person, HR crops; [0] is the gallery image. */
  val: ChwImage[][];
}

export interface DistillDeps {
  /** The frozen teacher (eval mode, fused). */
  teacher: DlibResNet;
  /** A second, trainable copy of the teacher (student.init = 'teacher'). */
  loadTeacherCopy: () => Promise<DlibResNet>;
  /** Hash of the teacher's weights (the target cache key). */
  teacherHash: string;
  /** Target cache (optional): get/put Float32Array by key. */
  cache?: { get(key: string): Promise<Float32Array | null>; put(key: string, v: Float32Array): Promise<void> };
  log?: (s: string) => void;
  /** Progress callback for the teacher labelling (done, total). */
  progress?: (label: string, done: number, total: number) => void;
  /** Loads a trained recognizer to start from (student.init = a file), in the student's kind. */
  loadStudent?: (path: string) => Promise<Student>;
  /** The frozen super-resolver of data.sr (eval mode): LR samples and validation probes go through it. */
  sr?: SrNetwork;
}

interface Batch {
  x: Float32Array;
  shape: [number, number, number, number];
  targets: Float32Array;
  labels: number[];
  /** loss.kd: the teacher targets centred on their mean and normalised, [N, 128]. */
  teacherUnit?: Float32Array;
  /** loss.wavelet: the HR faces in the student's framing (same view, flip and shift), for the teacher. */
  hr?: Float32Array;
}

/** Stage-1 and stage-2 maps are compared on their top-left 34² and 16² (dlib's 35², 17²; WaveResNet's 36², 18²). */
const WAVELET_CROPS = [34, 16] as const;

/** A student that takes the aligned 112 crop in [0, 1] (EdgeFace-XXS, MobileFaceNet). */
type CropStudent = EdgeFaceXXS | MobileFaceNet;
type Student = DlibResNet | CropStudent;

const TD = 128;

/** The student's input from an aligned 112 crop: dlib framing (150, 0..255) or the crop itself. */
function frameFor(model: TrainConfig['student']['model'], img: ChwImage, dx: number, dy: number): ChwImage {
  if (model === 'dlib-resnet') return dlibInputFrom112(img, dx, dy);
  if (dx === 0 && dy === 0) return img;
  const f = frameWindow(img, { x: dx, y: dy, size: HR_SIZE }, HR_SIZE);
  return clamp01(f);
}

/** Rank-1 of probes against a gallery with one image per person (gallery row p = person p). */
function rank1(probes: Float32Array, probeLabels: number[], gallery: Float32Array, dim: number, metric: 'euclidean' | 'cosine'): number {
  const galleryLabels = Array.from({ length: gallery.length / dim }, (_, p) => p);
  return cmc(scoreMatrix(probes, gallery, dim, metric), probeLabels, galleryLabels, 1).cmc[0]!;
}

export class DistillTask implements TrainTask<Batch> {
  readonly state: TrainingState;
  readonly epochSize: number;
  readonly batchSize: number;
  readonly params: L.Tensor[];
  private readonly student: Student;
  private readonly proj: Projection | null;
  private readonly head: ArcFaceHead | null;
  private readonly optStudent: AdamW;
  private readonly optHeads: AdamW | null;
  private readonly baseLr: [number, number];
  /** The student's embedding is centred and normalised (student.config.centre). */
  private readonly centred: boolean;
  /** Teacher targets [images, views, 2 (flip), 128] (centred + normalised when configured). */
  private targets!: Float32Array;
  /** Centred student: the teacher targets centred on their mean and normalised (rows as targets). */
  private unitTargets: Float32Array | null = null;
  /** loss.kd: the teacher's normalised class centres [classes, 128] on the GPU (fixed: both distributions are over the teacher's classifier). */
  private centresTensor: L.Tensor | null = null;
  private valGallery!: Float32Array;
  private valProbes!: { imgs: ChwImage[]; labels: number[] };

  private constructor(readonly cfg: TrainConfig, private readonly data: DistillData, private readonly deps: DistillDeps, student: Student) {
    this.batchSize = cfg.batch;
    this.epochSize = data.train.length * cfg.data.views;
    this.student = student;
    const sdim = cfg.student.model === 'dlib-resnet' ? TD : (student as CropStudent).config.embeddingSize;
    const needProj = cfg.loss.projection || sdim !== TD;
    this.centred = cfg.student.model === 'dlib-resnet' && (student as DlibResNet).centre !== null;
    this.proj = needProj ? buildModel('projection', { in: sdim, out: TD }, cfg.seed + 11) : null;
    this.head = cfg.loss.arcface > 0 ? buildModel('arcface-head', { classes: data.classes, dim: sdim }, cfg.seed + 13) : null;
    student.train();
    const s = TrainingState.paramNames('student', student);
    const heads = [this.proj ? TrainingState.paramNames('proj', this.proj) : null, this.head ? TrainingState.paramNames('head', this.head) : null].filter((x) => x !== null);
    this.baseLr = [cfg.optim.lr * cfg.optim.studentLrFactor, cfg.optim.lr];
    this.optStudent = new AdamW(s.params, { lr: this.baseLr[0], weightDecay: cfg.optim.weightDecay });
    this.optHeads = heads.length ? new AdamW(heads.flatMap((h) => h.params), { lr: this.baseLr[1], weightDecay: cfg.optim.weightDecay }) : null;
    this.params = [...s.params, ...heads.flatMap((h) => h.params)];
    const models: Record<string, { name: ModelName; config: unknown; module: Module }> = {
      student: { name: cfg.student.model, config: modelConfig(cfg.student.model, student), module: student },
    };
    if (this.proj) models.proj = { name: 'projection', config: modelConfig('projection', this.proj), module: this.proj };
    if (this.head) models.head = { name: 'arcface-head', config: modelConfig('arcface-head', this.head), module: this.head };
    const optimizers: Record<string, { opt: AdamW; names: string[] }> = { student: { opt: this.optStudent, names: s.names } };
    if (this.optHeads) optimizers.heads = { opt: this.optHeads, names: heads.flatMap((h) => h.names) };
    this.state = new TrainingState(models, optimizers, new L.Rng(cfg.seed), cfg.seed + 1);
    this.state.phase = cfg.name;
  }

  static async create(cfg: TrainConfig, data: DistillData, deps: DistillDeps): Promise<DistillTask> {
    let student: Student;
    const init = cfg.student.init;
    if (init !== 'teacher' && init !== 'random') {
      if (!deps.loadStudent) throw new Error(`student.init ${init}: no loader for a recognizer file was given`);
      student = await deps.loadStudent(init);
      const kind = student instanceof EdgeFaceXXS ? 'edgeface-xxs' : student instanceof MobileFaceNet ? 'mobilefacenet' : 'dlib-resnet';
      if (kind !== cfg.student.model) { student.dispose(); throw new Error(`student.init ${init}: holds a ${kind}, but student.model is ${cfg.student.model}`); }
      if (kind === 'dlib-resnet') (student as DlibResNet).unfuse();
    } else if (cfg.student.model === 'dlib-resnet') {
      const config = (cfg.student.config ?? {}) as ModelConfigs['dlib-resnet'];
      student = buildModel('dlib-resnet', config, cfg.seed);
      if (init === 'teacher') {
        // The teacher's weights, by name (a WaveResNet has dlib's parameters, names and shapes).
        const copy = await deps.loadTeacherCopy();
        const from = new Map(copy.namedParameters());
        for (const [n, p] of student.namedParameters()) L.copyInto(p, from.get(n)!);
        copy.dispose();
      }
      student.unfuse();
    } else {
      student = buildModel(cfg.student.model, cfg.student.config as never, cfg.seed);
    }
    if (deps.sr) {
      const sizes = [deps.sr.config.inputSize, ...deps.sr.probeSizes];
      const bad = cfg.valSizes.filter((S) => S !== null && !sizes.includes(S));
      if (bad.length) { student.dispose(); throw new Error(`valSizes ${bad.join(', ')}: the DSR of data.sr takes ${sizes.join(', ')}-pixel probes only`); }
      deps.sr.eval();
    }
    const task = new DistillTask(cfg, data, deps, student);
    await task.labelWithTeacher();
    return task;
  }

  /** Teacher embeddings of every (image, view, flip), and of the validation gallery. Cached. */
  private async labelWithTeacher(): Promise<void> {
    const { cfg, data, deps } = this;
    const V = cfg.data.views, N = data.train.length;
    const raw = new Float32Array(N * V * 2 * TD);
    const teach = (t: L.Tensor) => deps.teacher.forward(t);
    const framed = (img: ChwImage) => frameFor('dlib-resnet', img, 0, 0);
    let done = 0;
    const total = N * V * 2;
    for (let v = 0; v < V; v++) {
      for (let f = 0; f < 2; f++) {
        const key = `teacher-${deps.teacherHash}-n${N}-h${hashImages(data.train)}-s${cfg.seed}-v${v}-f${f}`;
        let e = deps.cache ? await deps.cache.get(key) : null;
        if (!e || e.length !== N * TD) {
          const imgs = data.train.map((img, i) => {
            let x = applyView(img, viewParams(cfg.seed, i, v));
            if (f) x = flipH(x);
            return framed(x);
          });
          e = await embedAll(teach, imgs, 32, (n) => { done += n; deps.progress?.('teacher labels', done, total); });
          await deps.cache?.put(key, e);
        } else {
          done += N;
          deps.progress?.('teacher labels', done, total);
        }
        for (let i = 0; i < N; i++) raw.set(e.subarray(i * TD, (i + 1) * TD), ((i * V + v) * 2 + f) * TD);
      }
    }
    if (cfg.loss.centreTargets || this.centred) {
      const mean = new Float64Array(TD);
      const rows = raw.length / TD;
      for (let r = 0; r < rows; r++) for (let k = 0; k < TD; k++) mean[k]! += raw[r * TD + k]! / rows;
      const unit = new Float32Array(raw.length);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let k = 0; k < TD; k++) { const v = raw[r * TD + k]! - mean[k]!; unit[r * TD + k] = v; s += v * v; }
        const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
        for (let k = 0; k < TD; k++) unit[r * TD + k]! *= inv;
      }
      if (this.centred) this.initCentred(Float32Array.from(mean), unit);
      if (cfg.loss.centreTargets) raw.set(unit);
    }
    this.targets = raw;
    // validation: gallery = first image of each held-out person; probes = the rest
    const gal = data.val.map((imgs) => imgs[0]!);
    this.valProbes = { imgs: data.val.flatMap((imgs) => imgs.slice(1)), labels: data.val.flatMap((imgs, p) => imgs.slice(1).map(() => p)) };
    this.valGallery = this.galleryByTeacher ? await embedAll(teach, gal.map(framed)) : new Float32Array(0);
  }

  /**
   * Centred student: its centre buffer = the teacher's mean embedding over the training samples; the
   * class centres = the normalised mean of each identity's unit targets, which the head starts at
   * (a resumed run then loads its trained head over it) and the teacher's kd logits use.
   */
  private initCentred(mean: Float32Array, unit: Float32Array): void {
    const { cfg, data } = this;
    const V = cfg.data.views;
    const C = data.classes;
    const centres = new Float32Array(C * TD);
    for (let i = 0; i < data.train.length; i++) {
      const c = data.labels[i]!;
      for (let r = i * V * 2; r < (i + 1) * V * 2; r++) for (let k = 0; k < TD; k++) centres[c * TD + k]! += unit[r * TD + k]!;
    }
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let k = 0; k < TD; k++) s += centres[c * TD + k]! ** 2;
      const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
      for (let k = 0; k < TD; k++) centres[c * TD + k]! *= inv;
    }
    const e = L.getEngine();
    e.upload((this.student as DlibResNet).centre!.buffer, mean);
    if (this.head) e.upload(this.head.weight.buffer, centres);
    if (cfg.loss.kd > 0) this.centresTensor = L.keep(L.tensor(centres, [C, TD]));
    this.unitTargets = unit;
  }

  /** s cos(u, teacher class centre c) for unit rows u [N, 128]: [N, classes] (loss.kd, both sides). */
  private classLogits(u: L.Tensor): L.Tensor {
    return L.scale(L.matmul(u, this.centresTensor!, { transB: true }), this.cfg.loss.arcfaceS);
  }

  async prepare(indices: number[]): Promise<Batch> {
    const { cfg, data } = this;
    const rng = this.state.rng;
    const V = cfg.data.views;
    const imgs: ChwImage[] = [];
    const shifts: [number, number][] = [];
    const viaSr: number[] = [];
    const targets = new Float32Array(indices.length * TD);
    const labels: number[] = [];
    const rows: number[] = [];
    const hrs: ChwImage[] = [];
    const srSizes = this.deps.sr ? [this.deps.sr.config.inputSize, ...this.deps.sr.probeSizes] : null;
    for (let k = 0; k < indices.length; k++) {
      const s = indices[k]!;
      const i = Math.floor(s / V), v = s % V;
      const f = cfg.data.flip && rng.next() < 0.5 ? 1 : 0;
      const lowRes = rng.next() < cfg.data.pLowRes;
      const size = srSizes ? srSizes[uniformInt(rng, 0, srSizes.length - 1)]! : uniformInt(rng, cfg.data.lrMin, cfg.data.lrMax);
      const degrade = rng.next() < cfg.data.pDegrade;
      const degSeed = Math.floor(rng.next() * 4294967296) >>> 0;
      const dx = rng.uniform(-cfg.data.shift, cfg.data.shift), dy = rng.uniform(-cfg.data.shift, cfg.data.shift);
      let x = applyView(data.train[i]!, viewParams(cfg.seed, i, v));
      if (f) x = flipH(x);
      hrs.push(x);
      if (lowRes) {
        const lr = degrade ? await applyDegradation(x, size, sampleDegradation(degSeed, 0)) : clamp01(downsample(x, size));
        if (srSizes) viaSr.push(k);
        x = srSizes ? lr : upsample(lr, HR_SIZE);
      }
      imgs.push(x);
      shifts.push([dx, dy]);
      const row = (i * V + v) * 2 + f;
      targets.set(this.targets.subarray(row * TD, (row + 1) * TD), k * TD);
      rows.push(row);
      labels.push(data.labels[i]!);
    }
    if (viaSr.length) {
      const ys = await runDsrMixed(this.deps.sr!, viaSr.map((k) => imgs[k]!));
      viaSr.forEach((k, j) => (imgs[k] = ys[j]!));
    }
    const batch: Batch = { ...stackImages(imgs.map((x, k) => frameFor(cfg.student.model, x, shifts[k]![0], shifts[k]![1]))), targets, labels };
    if (cfg.loss.kd > 0) {
      const u = this.unitTargets!;
      batch.teacherUnit = new Float32Array(rows.length * TD);
      rows.forEach((r, k) => batch.teacherUnit!.set(u.subarray(r * TD, (r + 1) * TD), k * TD));
    }
    if (cfg.loss.wavelet > 0) batch.hr = stackImages(hrs.map((x, k) => frameFor(cfg.student.model, x, shifts[k]![0], shifts[k]![1]))).x;
    return batch;
  }

  /** A dlib student trained into the teacher's space (raw embedding term) is validated against the teacher's gallery; any other student embeds its own. */
  private get galleryByTeacher(): boolean {
    return this.cfg.student.model === 'dlib-resnet' && !this.centred && this.cfg.loss.embeddingWeight > 0;
  }

  private embedStudent(x: L.Tensor): L.Tensor {
    return this.cfg.student.model === 'dlib-resnet' ? (this.student as DlibResNet).forward(x) : (this.student as CropStudent).embed(x);
  }

  losses(b: Batch): { terms: Record<string, L.Tensor> } {
    const { cfg } = this;
    const x = L.tensor(b.x, b.shape);
    const t = L.tensor(b.targets, [b.labels.length, TD]);
    let e: L.Tensor;
    let features: L.Tensor[] = [];
    if (cfg.loss.wavelet > 0) ({ embedding: e, features } = (this.student as DlibResNet).forwardFeatures(x));
    else e = this.embedStudent(x);
    const p = this.proj ? this.proj.forward(e) : e;
    const terms: Record<string, L.Tensor> = {};
    const n = b.labels.length;
    if (cfg.loss.embeddingWeight > 0) {
      if (cfg.loss.embedding === 'sqeuclid') {
        // mean over the batch of |p - t|^2 = TD * mse
        terms.embedding = L.scale(L.mseLoss(p, t), TD * cfg.loss.embeddingWeight);
      } else {
        terms.embedding = L.scale(L.cosineLoss(p, t), cfg.loss.embeddingWeight);
      }
    }
    if (cfg.loss.relational > 0) {
      const pn = L.l2Normalize(p, 1);
      const tn = L.l2Normalize(t, 1);
      const ss = L.matmul(pn, pn, { transB: true });
      const tt = L.matmul(tn, tn, { transB: true });
      terms.relational = L.scale(L.mseLoss(ss, tt), cfg.loss.relational * (n * n) / (n * n - n || 1));
    }
    if (this.head && cfg.loss.arcface > 0) {
      const logits = L.arcfaceHead(e, this.head.weight, b.labels, { s: cfg.loss.arcfaceS, m1: 1, m2: cfg.loss.arcfaceM, m3: 0 });
      terms.arcface = L.scale(L.crossEntropy(logits, b.labels), cfg.loss.arcface);
    }
    if (cfg.loss.kd > 0) {
      // both class distributions over the teacher's classifier: s cos(unit embedding, teacher class
      // centre), no margin; the centred student's embedding is a unit vector already. (Over a
      // trainable head the two could co-adapt: the head would move to fit the student instead of
      // the student to the teacher.)
      const zs = this.classLogits(e);
      const zt = this.classLogits(L.tensor(b.teacherUnit!, [n, TD]));
      terms.kd = L.scale(L.klDivLoss(zs, zt, cfg.loss.kdT), cfg.loss.kd);
    }
    if (cfg.loss.wavelet > 0) terms.wavelet = L.scale(this.waveletDistance(features, L.tensor(b.hr!, b.shape)), cfg.loss.wavelet);
    if (cfg.faults?.nanAtStep && !(cfg.faults.term! in terms) && cfg.faults.term !== 'gradient') {
      throw new Error(`config: faults.term "${cfg.faults.term}" is not a loss term of this run (terms: ${Object.keys(terms).join(', ')}, or "gradient")`);
    }
    return { terms };
  }

  /**
   * Mean over stages 1-2 and the four Haar bands of MSE(student band, teacher band) / mean square of
   * the teacher band: each band counts alike, so the detail bands (small energy) are not drowned by
   * LL. (Summed unweighted, the bands would give back the plain feature MSE: the DWT is orthonormal.)
   */
  private waveletDistance(student: L.Tensor[], hr: L.Tensor): L.Tensor {
    const teacher = L.noGrad(() => this.deps.teacher.stageFeatures(hr, WAVELET_CROPS.length));
    const parts: L.Tensor[] = [];
    WAVELET_CROPS.forEach((c, st) => {
      const crop = (f: L.Tensor) => L.slice(f, [0, 0, 0, 0], [-1, -1, c, c]);
      const sb = L.haarDwt(crop(student[st]!));
      const tb = L.noGrad(() => L.haarDwt(crop(teacher[st]!)));
      for (const band of ['ll', 'lh', 'hl', 'hh'] as const) {
        const energy = L.noGrad(() => L.affine(L.mean(L.mul(tb[band], tb[band])), 1, 1e-8));
        parts.push(L.div(L.mseLoss(sb[band], tb[band]), energy));
      }
    });
    return L.scale(parts.reduce((a, p) => L.add(a, p)), 1 / parts.length);
  }

  setLrFactor(f: number): void {
    this.optStudent.lr = this.baseLr[0] * f;
    if (this.optHeads) this.optHeads.lr = this.baseLr[1] * f;
  }

  stepOptimizers(clip?: GradClip): void {
    this.optStudent.step(clip);
    this.optHeads?.step(clip);
  }

  zeroGrad(): void {
    this.optStudent.zeroGrad();
    this.optHeads?.zeroGrad();
  }

  async validate(): Promise<ValidationResult> {
    const { cfg } = this;
    this.student.eval();
    try {
      const metrics: Record<string, number> = {};
      const isDlib = cfg.student.model === 'dlib-resnet';
      const dim = isDlib ? TD : (this.student as CropStudent).config.embeddingSize;
      const net = (t: L.Tensor) => this.embedStudent(t);
      let gallery = this.valGallery;
      if (!this.galleryByTeacher) gallery = await embedAll(net, this.data.val.map((imgs) => frameFor(cfg.student.model, imgs[0]!, 0, 0)));
      let sum = 0;
      for (const S of cfg.valSizes) {
        const lrs = S === null ? null : this.valProbes.imgs.map((img) => clamp01(downsample(img, S)));
        const sr = lrs === null ? this.valProbes.imgs : this.deps.sr ? await runDsr(this.deps.sr, lrs) : lrs.map((x) => upsample(x, HR_SIZE));
        const probes = sr.map((img) => frameFor(cfg.student.model, img, 0, 0));
        const e = await embedAll(net, probes);
        const r = rank1(e, this.valProbes.labels, gallery, dim, isDlib ? 'euclidean' : 'cosine');
        metrics[`rank1_${S === null ? 'hr' : S}`] = r;
        sum += r;
      }
      return { score: sum / cfg.valSizes.length, metrics };
    } finally {
      this.student.train();
    }
  }

  exportModel(): { name: ModelName; config: unknown; module: Module } {
    return { name: this.cfg.student.model, config: modelConfig(this.cfg.student.model, this.student), module: this.student };
  }

  dispose(): void {
    this.optStudent.dispose();
    this.optHeads?.dispose();
    this.centresTensor?.dispose();
    this.student.dispose();
    this.proj?.dispose();
    this.head?.dispose();
  }
}

/** A short content hash of a list of images (the target cache key: the same images in the same order). */
function hashImages(imgs: readonly ChwImage[]): string {
  let h = 2166136261 >>> 0;
  for (const m of imgs) {
    const d = m.data;
    for (let i = 0; i < d.length; i += 97) {
      h ^= Math.round(d[i]! * 65535);
      h = Math.imul(h, 16777619) >>> 0;
    }
  }
  return h.toString(16);
}
