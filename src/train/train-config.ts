// Training configuration (configs/*.json): parsed and checked once, with errors that name the field.
// Every field has a default except name and task; unknown fields are errors (a typo must not be
// silently ignored).

import { SR_NETWORKS, type SrNetworkName } from '../nn/sr-network.js';

export interface StudentSpec {
  /** Registry name of the student: 'dlib-resnet', 'edgeface-xxs' or 'mobilefacenet'. */
  model: 'dlib-resnet' | 'edgeface-xxs' | 'mobilefacenet';
  /** Registry config of the student (edgeface-xxs: a partial EdgeNeXtConfig; mobilefacenet: a partial MobileFaceNetConfig). */
  config?: Record<string, unknown>;
  /**
   * 'teacher': start from the teacher's weights (dlib student); 'random': seeded init; otherwise the
   * path (repository-relative) of a recognizer's safetensors of student.model's kind (the cycle's C1
   * fine-tunes a trained recognizer).
   */
  init: string;
}

export interface DistillLoss {
  /** Distance between the student's (projected) embedding and the teacher's HR embedding. */
  embedding: 'sqeuclid' | 'cosine';
  embeddingWeight: number;
  /** Centre the teacher targets on the training mean and L2-normalise them first. */
  centreTargets: boolean;
  /** Weight of the relational term: MSE between the batch's student and teacher cosine matrices. */
  relational: number;
  /** Weight of ArcFace on the training identities (0: off), scale s and additive angular margin m. */
  arcface: number;
  arcfaceS: number;
  arcfaceM: number;
  /** Projection student dim -> teacher dim before the embedding loss (needed when they differ). */
  projection: boolean;
  /**
   * Weight of the class-distribution distillation (issue 15's method C): T^2 KL(teacher || student)
   * of softmax(s cos / T) over the training identities, each side's cosines to the teacher's
   * (fixed) class centres (0: off). Needs a centred student (student.config.centre).
   */
  kd: number;
  /** Temperature T of kd. */
  kdT: number;
  /**
   * Weight of the wavelet similarity: the Haar sub-bands of the student's stage-1 and stage-2
   * feature maps against the frozen teacher's on the same HR face, each band's MSE divided by the
   * teacher band's mean square (0: off). dlib-resnet students only.
   */
  wavelet: number;
}

export interface DataSpec {
  /** Fraction of the training people with >= 2 images held out for validation (never trained on). */
  valFraction: number;
  /** Probability that a sample is shown at low resolution (else at full resolution). */
  pLowRes: number;
  /** LR sizes drawn uniformly (integers, inclusive). */
  lrMin: number;
  lrMax: number;
  /** Probability of each step of the degradation model (blur, noise, JPEG) on an LR sample. */
  pDegrade: number;
  flip: boolean;
  /** Random shift of the framing window, in pixels of the 112 crop (uniform in [-shift, shift]). */
  shift: number;
  /** Teacher-labelled views per image (view 0 = the image; more: scale/rotation/colour/blur draws). */
  views: number;
  /** Limit the training people (tests); 0 = all. */
  limitPeople: number;
  /**
   * '' (default): LR samples and validation probes are upsampled with bicubic. Otherwise the path of
   * a DSR safetensors (frozen): they go through it instead (the cycle's C1), and LR sizes are drawn
   * from the DSR's probe sizes (lrMin..lrMax is ignored); valSizes must be among them.
   */
  sr: string;
}

export interface OptimSpec {
  lr: number;
  weightDecay: number;
  /** Linear warm-up steps, then cosine decay to lr * minLrFactor. */
  warmup: number;
  minLrFactor: number;
  /** Gradient-norm clipping (0: off; the norm is computed and logged either way). */
  clip: number;
  /** Learning-rate multiplier of the student's parameters (the heads use 1). */
  studentLrFactor: number;
}

/** What every training phase has: its name, seed, optimizer, length and intervals. */
export interface PhaseCommon {
  name: string;
  seed: number;
  optim: OptimSpec;
  batch: number;
  /** Training length: epochs over the training images, or steps (steps wins when > 0). */
  epochs: number;
  steps: number;
  checkpointEvery: number;
  validateEvery: number;
  /** Test-only fault injection: a non-finite value in a loss term or the gradient at a step. */
  faults?: { nanAtStep?: number; term?: string };
}

export interface TrainConfig extends PhaseCommon {
  task: 'distill';
  teacher: 'dlib';
  student: StudentSpec;
  loss: DistillLoss;
  data: DataSpec;
  /** Validation probe sizes (null = full resolution). */
  valSizes: (number | null)[];
}

const DEFAULTS = {
  seed: 1,
  teacher: 'dlib',
  loss: { embedding: 'sqeuclid', embeddingWeight: 1, centreTargets: false, relational: 0, arcface: 0, arcfaceS: 64, arcfaceM: 0.5, projection: false, kd: 0, kdT: 4, wavelet: 0 },
  data: { valFraction: 0.1, pLowRes: 0.7, lrMin: 12, lrMax: 32, pDegrade: 0, flip: true, shift: 2, views: 1, limitPeople: 0, sr: '' },
  optim: { lr: 1e-4, weightDecay: 0, warmup: 0, minLrFactor: 0, clip: 0, studentLrFactor: 1 },
  batch: 32,
  epochs: 10,
  steps: 0,
  checkpointEvery: 50,
  validateEvery: 200,
  valSizes: [null, 24, 16],
} as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(what: string, def: Obj, v: unknown): Obj {
  if (v === undefined) return { ...def };
  if (!isObj(v)) throw new Error(`config: ${what} must be an object`);
  for (const k of Object.keys(v)) if (!(k in def)) throw new Error(`config: unknown field ${what}.${k} (known: ${Object.keys(def).join(', ')})`);
  return { ...def, ...v };
}

function num(what: string, v: unknown, ok: (x: number) => boolean, rule: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`config: ${what} must be ${rule}, got ${JSON.stringify(v)}`);
  return v;
}
const int = (what: string, v: unknown, min: number) => num(what, v, (x) => Number.isInteger(x) && x >= min, `an integer >= ${min}`);
const prob = (what: string, v: unknown) => num(what, v, (x) => x >= 0 && x <= 1, 'in [0, 1]');
const nonneg = (what: string, v: unknown) => num(what, v, (x) => x >= 0, 'a number >= 0');
function oneOf<T extends string>(what: string, v: unknown, options: readonly T[]): T {
  if (!options.includes(v as T)) throw new Error(`config: ${what} must be one of ${options.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}
function bool(what: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`config: ${what} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Parses and checks a config object (as read from JSON). */
export function parseTrainConfig(raw: unknown): TrainConfig {
  if (!isObj(raw)) throw new Error('config: the file must hold a JSON object');
  const known = ['name', 'task', 'seed', 'teacher', 'student', 'loss', 'data', 'optim', 'batch', 'epochs', 'steps', 'checkpointEvery', 'validateEvery', 'valSizes', 'faults', 'description'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw new Error(`config: unknown field ${k} (known: ${known.join(', ')})`);
  const name = checkName(raw);
  if (raw.task === 'sr' || raw.task === 'cycle') throw new Error(`config: task "${raw.task}" is not a distill config (read it with parseAnyConfig)`);
  const task = oneOf('task', raw.task, ['distill', 'sr', 'cycle'] as const) as 'distill';
  const s = merge('student', { model: undefined, config: {}, init: 'random' }, raw.student);
  const student: StudentSpec = {
    model: oneOf('student.model', s.model, ['dlib-resnet', 'edgeface-xxs', 'mobilefacenet'] as const),
    config: isObj(s.config) ? s.config : (() => { throw new Error('config: student.config must be an object'); })(),
    init: typeof s.init === 'string' && s.init !== '' ? s.init : (() => { throw new Error(`config: student.init must be "teacher", "random" or the path of a recognizer's safetensors, got ${JSON.stringify(s.init)}`); })(),
  };
  if (student.init === 'teacher' && student.model !== 'dlib-resnet') throw new Error(`config: student.init "teacher" needs student.model "dlib-resnet" (the teacher's architecture), got ${student.model}`);
  const l = merge('loss', DEFAULTS.loss, raw.loss);
  const loss: DistillLoss = {
    embedding: oneOf('loss.embedding', l.embedding, ['sqeuclid', 'cosine'] as const),
    embeddingWeight: nonneg('loss.embeddingWeight', l.embeddingWeight),
    centreTargets: bool('loss.centreTargets', l.centreTargets),
    relational: nonneg('loss.relational', l.relational),
    arcface: nonneg('loss.arcface', l.arcface),
    arcfaceS: num('loss.arcfaceS', l.arcfaceS, (x) => x > 0, 'a number > 0'),
    arcfaceM: num('loss.arcfaceM', l.arcfaceM, (x) => x >= 0 && x < Math.PI / 2, 'in [0, pi/2)'),
    projection: bool('loss.projection', l.projection),
    kd: nonneg('loss.kd', l.kd),
    kdT: num('loss.kdT', l.kdT, (x) => x > 0, 'a number > 0'),
    wavelet: nonneg('loss.wavelet', l.wavelet),
  };
  const centred = student.model === 'dlib-resnet' && student.config?.centre === true;
  if (loss.kd > 0 && !centred) throw new Error('config: loss.kd needs a centred dlib-resnet student (student.config.centre: true): the class distributions are cosines around the teacher\'s mean');
  if (loss.wavelet > 0 && student.model !== 'dlib-resnet') throw new Error(`config: loss.wavelet compares dlib-resnet feature maps; student.model is ${student.model}`);
  if (centred && loss.embeddingWeight > 0 && !loss.centreTargets) throw new Error('config: a centred student (student.config.centre) outputs unit vectors around the teacher\'s mean; its embedding term needs loss.centreTargets: true (or loss.embeddingWeight: 0)');
  const d = merge('data', DEFAULTS.data, raw.data);
  const data: DataSpec = {
    valFraction: num('data.valFraction', d.valFraction, (x) => x >= 0 && x < 1, 'in [0, 1)'),
    pLowRes: prob('data.pLowRes', d.pLowRes),
    lrMin: int('data.lrMin', d.lrMin, 4),
    lrMax: int('data.lrMax', d.lrMax, 4),
    pDegrade: prob('data.pDegrade', d.pDegrade),
    flip: bool('data.flip', d.flip),
    shift: num('data.shift', d.shift, (x) => x >= 0 && x <= 16, 'in [0, 16]'),
    views: int('data.views', d.views, 1),
    limitPeople: int('data.limitPeople', d.limitPeople, 0),
    sr: typeof d.sr === 'string' ? d.sr : (() => { throw new Error(`config: data.sr must be "" (bicubic) or the path of a DSR safetensors, got ${JSON.stringify(d.sr)}`); })(),
  };
  if (data.lrMax < data.lrMin || data.lrMax > 112) throw new Error(`config: data.lrMin..lrMax must be a range inside 4..112, got ${data.lrMin}..${data.lrMax}`);
  const optim = parseOptim(raw.optim);
  const valSizes = raw.valSizes ?? DEFAULTS.valSizes;
  if (!Array.isArray(valSizes) || valSizes.length === 0 || !valSizes.every((v) => v === null || (Number.isInteger(v) && v >= 4 && v <= 112))) {
    throw new Error(`config: valSizes must be a non-empty list of probe sizes (4..112) or null (full resolution), got ${JSON.stringify(valSizes)}`);
  }
  const faults = parseFaults(raw.faults);
  const cfg: TrainConfig = {
    name, task, seed: int('seed', raw.seed ?? DEFAULTS.seed, 0), teacher: oneOf('teacher', raw.teacher ?? DEFAULTS.teacher, ['dlib'] as const),
    student, loss, data, optim,
    ...parseLength(raw),
    valSizes: valSizes as (number | null)[],
    faults,
  };
  return cfg;
}

/** The SR phase of the cycle (src/train/sr-task.ts). */
export interface SrLoss {
  /** L1 between the SR output and the HR crop. */
  pixel: number;
  /** The recognizer's embedding of SR against that of HR (the largest weight in seed 000). */
  identity: number;
  identityMetric: 'cosine' | 'sqeuclid';
  /** Feature matching on the recognizer's multi-scale activations (the perceptual term). */
  features: number;
}

export interface SrDataSpec {
  valFraction: number;
  /** Probe sizes; each batch draws one. */
  sizes: number[];
  /** Probability that a batch image goes through the degradation model (blur, noise, JPEG) instead of clean downsampling. */
  pDegrade: number;
  flip: boolean;
  limitPeople: number;
}

export interface SrTrainConfig extends PhaseCommon {
  task: 'sr';
  /** The frozen recognizer: 'dlib' (face-api's weights) or a recognizer's safetensors (repository-relative path). */
  recognizer: string;
  /** The recognizer of the HR side (identity targets, validation gallery); '' = recognizer. */
  galleryRecognizer: string;
  /**
   * 0 (default): the recognizer is frozen. > 0: SR and recognizer are trained jointly (issue 14's
   * "SR + FR"), the recognizer at optim.lr x this factor, BatchNorm statistics kept (eval mode); the HR
   * side (identity targets, validation gallery) is then a frozen copy of the starting recognizer (or
   * galleryRecognizer), so the identity term cannot be met by collapsing the recognizer.
   */
  recognizerLrFactor: number;
  /**
   * The super-resolver: model 'dsr' (default) or 'wdsr' (WDSR-A, issue 14), DSR's registry preset
   * ('paper' is DSR's only), config (inputSize defaults to the largest probe size), init 'random' or
   * a safetensors of the same model to start from.
   */
  sr: { preset: 'cpu' | 'paper'; config: { inputSize?: number } & Record<string, unknown>; init: string; model: SrNetworkName };
  loss: SrLoss;
  data: SrDataSpec;
  /** Validation probe sizes. */
  valSizes: number[];
}

/** A whole cycle: its phases' config files (repository-relative), run in order by one command. */
export interface CycleConfig {
  name: string;
  task: 'cycle';
  phases: string[];
}

export type AnyTrainConfig = TrainConfig | SrTrainConfig;

const SR_DEFAULTS = {
  loss: { pixel: 1, identity: 1, identityMetric: 'cosine', features: 0.1 },
  data: { valFraction: 0.1, sizes: [16, 24, 32], pDegrade: 0, flip: true, limitPeople: 0 },
  sr: { preset: 'cpu', config: {}, init: 'random', model: 'dsr' },
  valSizes: [16, 24],
} as const;

/** batch, epochs, steps, checkpointEvery, validateEvery. */
function parseLength(raw: Obj): Pick<PhaseCommon, 'batch' | 'epochs' | 'steps' | 'checkpointEvery' | 'validateEvery'> {
  return {
    batch: int('batch', raw.batch ?? DEFAULTS.batch, 2),
    epochs: num('epochs', raw.epochs ?? DEFAULTS.epochs, (x) => x > 0, 'a number > 0'),
    steps: int('steps', raw.steps ?? DEFAULTS.steps, 0),
    checkpointEvery: int('checkpointEvery', raw.checkpointEvery ?? DEFAULTS.checkpointEvery, 1),
    validateEvery: int('validateEvery', raw.validateEvery ?? DEFAULTS.validateEvery, 1),
  };
}

function parseOptim(raw: unknown): OptimSpec {
  const o = merge('optim', DEFAULTS.optim, raw);
  return {
    lr: num('optim.lr', o.lr, (x) => x > 0, 'a number > 0'),
    weightDecay: nonneg('optim.weightDecay', o.weightDecay),
    warmup: int('optim.warmup', o.warmup, 0),
    minLrFactor: prob('optim.minLrFactor', o.minLrFactor),
    clip: nonneg('optim.clip', o.clip),
    studentLrFactor: num('optim.studentLrFactor', o.studentLrFactor, (x) => x > 0, 'a number > 0'),
  };
}

function parseFaults(raw: unknown): TrainConfig['faults'] {
  if (raw === undefined) return undefined;
  const f = merge('faults', { nanAtStep: 0, term: 'embedding' }, raw);
  return { nanAtStep: int('faults.nanAtStep', f.nanAtStep, 1), term: String(f.term) };
}

function sizeList(what: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x >= 4 && x <= 112)) {
    throw new Error(`config: ${what} must be a non-empty list of probe sizes (integers 4..112), got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

function checkName(raw: Obj): string {
  if (typeof raw.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(raw.name)) throw new Error(`config: name must be a non-empty string of letters, digits, '.', '_' or '-', got ${JSON.stringify(raw.name)}`);
  return raw.name;
}

/** Parses and checks an SR phase config. */
export function parseSrConfig(raw: Obj): SrTrainConfig {
  const known = ['name', 'task', 'seed', 'recognizer', 'galleryRecognizer', 'recognizerLrFactor', 'sr', 'loss', 'data', 'optim', 'batch', 'epochs', 'steps', 'checkpointEvery', 'validateEvery', 'valSizes', 'faults', 'description'];
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw new Error(`config: unknown field ${k} (known: ${known.join(', ')})`);
  const name = checkName(raw);
  if (typeof raw.recognizer !== 'string' || raw.recognizer === '') throw new Error(`config: recognizer must be "dlib" or the path of a recognizer's safetensors, got ${JSON.stringify(raw.recognizer)}`);
  const srRaw = merge('sr', SR_DEFAULTS.sr, raw.sr);
  if (!isObj(srRaw.config)) throw new Error('config: sr.config must be an object');
  if (typeof srRaw.init !== 'string' || srRaw.init === '') throw new Error(`config: sr.init must be "random" or the path of a DSR safetensors, got ${JSON.stringify(srRaw.init)}`);
  const sr = { preset: oneOf('sr.preset', srRaw.preset, ['cpu', 'paper'] as const), config: srRaw.config as SrTrainConfig['sr']['config'], init: srRaw.init, model: oneOf('sr.model', srRaw.model, SR_NETWORKS) };
  if (sr.model !== 'dsr' && sr.preset !== 'cpu') throw new Error(`config: sr.preset "${sr.preset}" is DSR's; a ${sr.model.toUpperCase()} takes its size from sr.config`);
  const l = merge('loss', SR_DEFAULTS.loss, raw.loss);
  const loss: SrLoss = {
    pixel: nonneg('loss.pixel', l.pixel),
    identity: nonneg('loss.identity', l.identity),
    identityMetric: oneOf('loss.identityMetric', l.identityMetric, ['cosine', 'sqeuclid'] as const),
    features: nonneg('loss.features', l.features),
  };
  if (loss.pixel + loss.identity + loss.features === 0) throw new Error('config: every loss weight is 0 (loss.pixel, loss.identity, loss.features)');
  if ((raw.recognizerLrFactor ?? 0) !== 0 && loss.identity + loss.features === 0) throw new Error('config: recognizerLrFactor > 0 trains the recognizer, but neither loss.identity nor loss.features reaches it');
  const d = merge('data', SR_DEFAULTS.data, raw.data);
  const data: SrDataSpec = {
    valFraction: num('data.valFraction', d.valFraction, (x) => x > 0 && x < 1, 'in (0, 1)'),
    sizes: sizeList('data.sizes', d.sizes),
    pDegrade: prob('data.pDegrade', d.pDegrade),
    flip: bool('data.flip', d.flip),
    limitPeople: int('data.limitPeople', d.limitPeople, 0),
  };
  return {
    name, task: 'sr', seed: int('seed', raw.seed ?? DEFAULTS.seed, 0), recognizer: raw.recognizer,
    galleryRecognizer: typeof (raw.galleryRecognizer ?? '') === 'string' ? (raw.galleryRecognizer as string | undefined) ?? '' : (() => { throw new Error(`config: galleryRecognizer must be "", "dlib" or the path of a recognizer's safetensors, got ${JSON.stringify(raw.galleryRecognizer)}`); })(),
    recognizerLrFactor: nonneg('recognizerLrFactor', raw.recognizerLrFactor ?? 0),
    sr, loss, data,
    optim: parseOptim(raw.optim),
    ...parseLength(raw),
    valSizes: sizeList('valSizes', raw.valSizes ?? SR_DEFAULTS.valSizes),
    faults: parseFaults(raw.faults),
  };
}

/** Parses and checks a cycle config (the phases are parsed when they run). */
export function parseCycleConfig(raw: Obj): CycleConfig {
  for (const k of Object.keys(raw)) if (!['name', 'task', 'phases', 'description'].includes(k)) throw new Error(`config: unknown field ${k} (known: name, task, phases, description)`);
  const name = checkName(raw);
  const phases = raw.phases;
  if (!Array.isArray(phases) || phases.length === 0 || !phases.every((p) => typeof p === 'string' && p !== '')) throw new Error(`config: phases must be a non-empty list of config files, got ${JSON.stringify(phases)}`);
  return { name, task: 'cycle', phases: phases as string[] };
}

/** Any config file: a distill or SR phase, or a cycle. */
export function parseAnyConfig(raw: unknown): AnyTrainConfig | CycleConfig {
  if (!isObj(raw)) throw new Error('config: the file must hold a JSON object');
  if (raw.task === 'sr') return parseSrConfig(raw);
  if (raw.task === 'cycle') return parseCycleConfig(raw);
  return parseTrainConfig(raw);
}

/**
 * A stable hash of everything that changes the numbers (the checkpoint refuses another config).
 * Fields added after a config format was in use are left out at their default value, so older
 * checkpoints and manifests keep their key: data.sr ('', bicubic) and loss.kd / kdT / wavelet
 * (0, 4, 0) of distill configs.
 */
export function configKey(cfg: AnyTrainConfig): string {
  const { checkpointEvery: _c, validateEvery: _v, faults: _f, ...rest } = cfg;
  if (rest.task === 'distill') {
    const { sr, ...dataRest } = rest.data;
    const data = sr === '' ? dataRest : rest.data;
    const { kd, kdT, wavelet, ...lossRest } = rest.loss;
    const loss = kd === 0 && kdT === 4 && wavelet === 0 ? lossRest : rest.loss;
    return JSON.stringify({ ...rest, loss, data });
  }
  // sr.model 'dsr' (the default) is left out, so keys of configs written before it existed stay the same
  // so are recognizerLrFactor 0 (frozen, the default)
  if (rest.task === 'sr') {
    const { model: _m, ...srRest } = rest.sr;
    const { recognizerLrFactor, ...r } = rest;
    return JSON.stringify({ ...(recognizerLrFactor === 0 ? r : rest), sr: rest.sr.model === 'dsr' ? srRest : rest.sr });
  }
  return JSON.stringify(rest);
}
