// The whole face pipeline of the browser app (web/app), browser-safe so Node runs the very same code
// (tests/browser/app.test.ts compares the two): detect (TinyFaceDetector) -> 68 landmarks -> align to
// the 112x112 crop -> LR probe (bicubic antialiased to S, as the project's protocol makes it) ->
// bicubic back to 112 and DSR -> EdgeFace-XXS embeddings of the HR crop, the bicubic and the DSR
// image -> cosine scores against a gallery. Also: models from weight bytes (safetensors for our
// models, tfjs manifests + shards for face-api's nets) with clear errors, and ahead-of-time pipeline
// compilation (Engine.collectPipelines / compilePipelines) so a page can show progress.
import * as L from '../runtime/index.js';
import { decodeSafetensors, loadStateInto } from './safetensors.js';
import { decodeTfjsWeights } from './tfjs-weights.js';
import { knownModelName, modelFromMetadata, buildModel } from './registry.js';
import type { EdgeFaceXXS } from './edgeface.js';
import { SR_NETWORKS, srNetworkName, srSizes, type SrNetwork } from './sr-network.js';
import { loadTinyFaceDetectorWeights, type TinyFaceDetector, type FaceBox, TINY_FACE_DEFAULT_INPUT_SIZE } from './tiny-face-detector.js';
import { loadLandmarkTinyWeights, LANDMARK_INPUT_SIZE, type FaceLandmark68Tiny, type Point } from './face-landmarks-tiny.js';
import { toFaceApiInput } from './faceapi-common.js';
import {
  detectFaces, detectLandmarks, alignmentTransform, warpSimilarity, faceImageTensor, ALIGNED_SIZE,
  type FaceImage, type Similarity,
} from './face-detect.js';

/** Probe sizes the app offers. */
export const APP_LR_SIZES = [16, 24, 32] as const;

// ---- models from bytes --------------------------------------------------------------------------

function withName<T>(what: string, fn: () => T, onError?: () => void): T {
  try {
    return fn();
  } catch (e) {
    onError?.();
    throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** An EdgeFace-XXS recognizer (eval mode) from safetensors bytes; errors say what the file is instead. */
export function recognizerFromBytes(bytes: Uint8Array, what = 'recognizer weights'): EdgeFaceXXS {
  const { metadata, tensors } = withName(what, () => decodeSafetensors(bytes));
  const kind = metadata.model;
  if (kind === undefined) throw new Error(`${what}: the file does not say which model it is for (no metadata.model); expected EdgeFace-XXS (edgeface-xxs) weights`);
  const name = knownModelName(kind);
  if (name !== 'edgeface-xxs') {
    throw new Error(`${what}: these are weights for "${kind}"${name ? ` (${name})` : ''}, not for the EdgeFace-XXS recognizer the app runs`);
  }
  const model = withName(what, () => modelFromMetadata(metadata, what).model.eval() as EdgeFaceXXS);
  withName(what, () => loadStateInto(model, tensors, metadata), () => model.dispose());
  return model;
}

/** A super-resolver (DSR or WDSR, eval mode) from safetensors bytes (metadata.model, metadata.config its config). */
export function dsrFromBytes(bytes: Uint8Array, what = 'DSR weights'): SrNetwork {
  const { metadata, tensors } = withName(what, () => decodeSafetensors(bytes));
  const name = srNetworkName(metadata.model);
  if (name === null) {
    const known = knownModelName(metadata.model!);
    throw new Error(`${what}: these are weights for "${metadata.model}"${known ? ` (${known})` : ''}, not for a super-resolver (${SR_NETWORKS.join(', ')})`);
  }
  const model = withName(what, () => modelFromMetadata({ ...metadata, model: name }, what).model.eval() as SrNetwork);
  withName(what, () => loadStateInto(model, tensors, metadata), () => model.dispose());
  if (model.config.outputSize !== ALIGNED_SIZE) {
    model.dispose();
    throw new Error(`${what}: the model outputs ${model.config.outputSize}x${model.config.outputSize}, the app needs ${ALIGNED_SIZE}x${ALIGNED_SIZE}`);
  }
  return model;
}

/** The probe sizes a super-resolver takes (config.inputSize and config.probeSizes). */
export const dsrSizes = srSizes;

/** face-api's TinyFaceDetector from its tfjs manifest (parsed JSON) and shard bytes. */
export function tinyFaceDetectorFromTfjs(manifest: unknown, shards: readonly Uint8Array[]): TinyFaceDetector {
  const weights = withName('tiny face detector weights', () => decodeTfjsWeights(manifest, shards));
  const m = buildModel('tiny-face-detector', {}, 1).eval();
  withName('tiny face detector weights', () => loadTinyFaceDetectorWeights(m, weights), () => m.dispose());
  return m;
}

/** face-api's 68-point tiny landmark net from its tfjs manifest (parsed JSON) and shard bytes. */
export function landmarksTinyFromTfjs(manifest: unknown, shards: readonly Uint8Array[]): FaceLandmark68Tiny {
  const weights = withName('landmark net weights', () => decodeTfjsWeights(manifest, shards));
  const m = buildModel('face-landmarks-tiny', {}, 1).eval();
  withName('landmark net weights', () => loadLandmarkTinyWeights(m, weights), () => m.dispose());
  return m;
}

// ---- the pipeline -------------------------------------------------------------------------------

export interface FaceModels {
  detector: TinyFaceDetector;
  landmarks: FaceLandmark68Tiny;
  recognizer: EdgeFaceXXS;
  /** null: no DSR loaded (the SR column is left empty). */
  dsr: SrNetwork | null;
}

export interface PipelineOptions {
  /** LR probe side (default 16). */
  lrSize?: number;
  /** Detector input side, a multiple of 32 (default 416). */
  inputSize?: number;
  /** Detector score threshold (default 0.5). */
  scoreThreshold?: number;
}

/** Milliseconds per stage; each includes reading its results back. */
export interface StageTimings {
  detect: number;
  align: number;
  sr: number;
  embed: number;
  search?: number;
}

export interface AnalyzedFace {
  /** The face's box in the image (the whole image for a face crop). */
  box: FaceBox;
  /** 68 landmarks (empty for a face crop). */
  landmarks: Point[];
  transform: Similarity | null;
  /** The aligned 112x112 crop (RGB CHW in [0, 1]); null when the input was itself a tiny crop. */
  hr: FaceImage | null;
  /** The LR probe S x S: hr resized with antialiased bicubic, clamped to [0, 1]. */
  lr: FaceImage;
  /** lr -> 112 by plain bicubic, clamped. */
  bicubic: FaceImage;
  /** lr -> 112 by the DSR, clamped (null without a DSR, or when it does not take this size). */
  sr: FaceImage | null;
  /** L2-normalised embeddings of hr, bicubic and sr (null where the image is). */
  embHr: Float32Array | null;
  embBicubic: Float32Array;
  embSr: Float32Array | null;
}

export interface AnalyzeResult {
  faces: AnalyzedFace[];
  timings: StageTimings;
  lrSize: number;
  /** Why there is no SR image (null when there is one, or when there are no faces). */
  srNote: string | null;
  /** 'photo': detected and aligned; 'crop': the input was taken for a face crop (see isFaceCrop). */
  mode: 'photo' | 'crop';
}

/** Inputs at most 112 px on each side are taken for face crops, not photos to detect faces in. */
export function isFaceCrop(img: { h: number; w: number }): boolean {
  return img.h <= ALIGNED_SIZE && img.w <= ALIGNED_SIZE;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

function splitImages(d: Float32Array, n: number, c: number, s: number): FaceImage[] {
  const px = c * s * s;
  return Array.from({ length: n }, (_, k) => ({ data: d.slice(k * px, (k + 1) * px), c, h: s, w: s }));
}

/** RGB copy of a 1- or 3-channel CHW image. */
export function toRgb(img: FaceImage): FaceImage {
  if (img.c === 3) return img;
  if (img.c !== 1) throw new Error(`expected 1 or 3 channels, got ${img.c}`);
  const hw = img.h * img.w;
  const d = new Float32Array(3 * hw);
  for (let k = 0; k < 3; k++) d.set(img.data, k * hw);
  return { data: d, c: 3, h: img.h, w: img.w };
}

/** The GPU part of the SR stage for a batch of aligned crops [n, 3, 112, 112]: LR, bicubic, DSR (kept tensors). */
export function srGraph(crops: L.Tensor, lrSize: number, dsr: SrNetwork | null): { lr: L.Tensor; bicubic: L.Tensor; sr: L.Tensor | null } {
  return L.noGrad(() => L.tidy(() => {
    const lr = L.clamp(L.resizeBicubic(crops, [lrSize, lrSize], { antialias: true }), 0, 1);
    const bicubic = L.clamp(L.resizeBicubic(lr, [ALIGNED_SIZE, ALIGNED_SIZE]), 0, 1);
    const sr = dsr ? L.clamp(dsr.forward(lr), 0, 1) : null;
    const out = { lr: L.keep(lr), bicubic: L.keep(bicubic), sr: sr ? L.keep(sr) : null };
    return out;
  }));
}

/** The recognizer on [n, 3, 112, 112] images in [0, 1] -> L2-normalised [n, dim] (kept tensor). */
export function embedGraph(recognizer: EdgeFaceXXS, x: L.Tensor): L.Tensor {
  return L.noGrad(() => L.tidy(() => L.keep(L.l2Normalize(recognizer.embed(x), -1))));
}

/** L2-normalised embeddings of 112x112 RGB images in [0, 1] (one batch). */
export async function embedImages(recognizer: EdgeFaceXXS, imgs: readonly FaceImage[]): Promise<Float32Array[]> {
  if (imgs.length === 0) return [];
  const px = 3 * ALIGNED_SIZE * ALIGNED_SIZE;
  const x = new Float32Array(imgs.length * px);
  imgs.forEach((im, k) => {
    if (im.c !== 3 || im.h !== ALIGNED_SIZE || im.w !== ALIGNED_SIZE) throw new Error(`embedImages: expected 3x${ALIGNED_SIZE}x${ALIGNED_SIZE} images, got ${im.c}x${im.h}x${im.w}`);
    x.set(im.data, k * px);
  });
  const input = L.tensor(x, [imgs.length, 3, ALIGNED_SIZE, ALIGNED_SIZE]);
  const e = embedGraph(recognizer, input);
  input.dispose();
  try {
    const d = await e.data();
    const dim = e.shape[1]!;
    return imgs.map((_, k) => d.slice(k * dim, (k + 1) * dim));
  } finally {
    e.dispose();
  }
}

function srNoteFor(models: FaceModels, lrSize: number): { dsr: SrNetwork | null; note: string | null } {
  if (!models.dsr) return { dsr: null, note: 'no DSR weights loaded' };
  if (!dsrSizes(models.dsr).includes(lrSize)) return { dsr: null, note: `the DSR takes ${dsrSizes(models.dsr).join(', ')} px probes, not ${lrSize}` };
  return { dsr: models.dsr, note: null };
}

function checkLrSize(lrSize: number): void {
  if (!Number.isInteger(lrSize) || lrSize < 4 || lrSize > ALIGNED_SIZE) throw new Error(`LR size must be an integer in 4..${ALIGNED_SIZE}, got ${lrSize}`);
}

/**
 * LR, bicubic, DSR and embeddings for `n` faces. `hr` [n, 3, 112, 112] (aligned crops) or null
 * with `lrIn` [n, 3, S, S] (tiny crops, taken as the LR probes). Fills timings.sr / .embed.
 */
async function srAndEmbed(
  models: FaceModels, hr: L.Tensor | null, lrIn: L.Tensor | null, n: number, lrSize: number, timings: StageTimings,
): Promise<Pick<AnalyzedFace, 'lr' | 'bicubic' | 'sr' | 'embHr' | 'embBicubic' | 'embSr'>[]> {
  const { dsr } = srNoteFor(models, lrSize);
  let t = now();
  const g = hr ? srGraph(hr, lrSize, dsr) : srFromLr(lrIn!, dsr);
  try {
    const [dl, db, ds] = await Promise.all([g.lr.data(), g.bicubic.data(), g.sr ? g.sr.data() : Promise.resolve(null)]);
    const lr = splitImages(dl, n, 3, lrSize);
    const bic = splitImages(db, n, 3, ALIGNED_SIZE);
    const sr = ds ? splitImages(ds, n, 3, ALIGNED_SIZE) : null;
    timings.sr = now() - t;

    t = now();
    const parts = [hr, g.bicubic, g.sr].filter((x): x is L.Tensor => x !== null);
    const all = L.tidy(() => L.concat(parts, 0));
    const e = embedGraph(models.recognizer, all);
    all.dispose();
    let d: Float32Array;
    try {
      d = await e.data();
    } finally {
      e.dispose();
    }
    timings.embed = now() - t;
    const dim = d.length / (parts.length * n);
    const row = (r: number) => d.slice(r * dim, (r + 1) * dim);
    const o = hr ? n : 0;
    return Array.from({ length: n }, (_, k) => ({
      lr: lr[k]!, bicubic: bic[k]!, sr: sr ? sr[k]! : null,
      embHr: hr ? row(k) : null, embBicubic: row(o + k), embSr: g.sr ? row(o + n + k) : null,
    }));
  } finally {
    g.lr.dispose();
    g.bicubic.dispose();
    g.sr?.dispose();
  }
}

/** SR stage for tiny crops that are the LR probes themselves [n, 3, S, S] (kept tensors). */
function srFromLr(lrIn: L.Tensor, dsr: SrNetwork | null): { lr: L.Tensor; bicubic: L.Tensor; sr: L.Tensor | null } {
  return L.noGrad(() => L.tidy(() => {
    const lr = L.clamp(lrIn, 0, 1);
    const bicubic = L.clamp(L.resizeBicubic(lr, [ALIGNED_SIZE, ALIGNED_SIZE]), 0, 1);
    const sr = dsr ? L.clamp(dsr.forward(lr), 0, 1) : null;
    return { lr: L.keep(lr), bicubic: L.keep(bicubic), sr: sr ? L.keep(sr) : null };
  }));
}

/** Detect every face, align it, make its LR probe, bicubic and DSR images, embed them. */
export async function analyzeImage(models: FaceModels, image: FaceImage, opts: PipelineOptions = {}): Promise<AnalyzeResult> {
  const lrSize = opts.lrSize ?? 16;
  checkLrSize(lrSize);
  const img = toRgb(image);
  const timings: StageTimings = { detect: 0, align: 0, sr: 0, embed: 0 };
  let t = now();
  const boxes = await detectFaces(models.detector, img, { inputSize: opts.inputSize ?? TINY_FACE_DEFAULT_INPUT_SIZE, scoreThreshold: opts.scoreThreshold });
  timings.detect = now() - t;
  if (boxes.length === 0) return { faces: [], timings, lrSize, srNote: null, mode: 'photo' };

  t = now();
  const aligned: { box: FaceBox; landmarks: Point[]; transform: Similarity; hr: FaceImage }[] = [];
  for (const box of boxes) {
    const landmarks = await detectLandmarks(models.landmarks, img, box);
    const transform = alignmentTransform(landmarks);
    aligned.push({ box, landmarks, transform, hr: warpSimilarity(img, transform) });
  }
  timings.align = now() - t;

  const n = aligned.length, px = 3 * ALIGNED_SIZE * ALIGNED_SIZE;
  const x = new Float32Array(n * px);
  aligned.forEach((a, k) => x.set(a.hr.data, k * px));
  const crops = L.tensor(x, [n, 3, ALIGNED_SIZE, ALIGNED_SIZE]);
  try {
    const rest = await srAndEmbed(models, crops, null, n, lrSize, timings);
    return { lrSize, timings, srNote: srNoteFor(models, lrSize).note, mode: 'photo', faces: aligned.map((a, k) => ({ ...a, ...rest[k]! })) };
  } finally {
    crops.dispose();
  }
}

/**
 * A face crop (isFaceCrop) instead of a photo: no detection. A 112x112 crop is taken for the
 * aligned HR crop; a smaller one for the LR probe itself (resized to lrSize first when it is not
 * that size: antialiased bicubic when shrinking, plain bicubic when growing); other shapes are
 * resized to a square first.
 */
export async function analyzeCrop(models: FaceModels, image: FaceImage, opts: PipelineOptions = {}): Promise<AnalyzeResult> {
  const lrSize = opts.lrSize ?? 16;
  checkLrSize(lrSize);
  const img = toRgb(image);
  const timings: StageTimings = { detect: 0, align: 0, sr: 0, embed: 0 };
  const t = now();
  const side = Math.max(img.h, img.w);
  const target = side >= ALIGNED_SIZE ? ALIGNED_SIZE : lrSize;
  const x = L.noGrad(() => L.tidy(() => {
    const t0 = L.tensor(img.data, [1, 3, img.h, img.w]);
    if (img.h === target && img.w === target) return t0;
    return L.resizeBicubic(t0, [target, target], { antialias: target < Math.max(img.h, img.w) });
  }));
  timings.align = now() - t;
  const box: FaceBox = { x: 0, y: 0, width: img.w, height: img.h, score: 1 };
  try {
    const hrT = target === ALIGNED_SIZE ? L.noGrad(() => L.tidy(() => L.clamp(x, 0, 1))) : null;
    let hr: FaceImage | null = null;
    if (hrT) hr = { data: await hrT.data(), c: 3, h: ALIGNED_SIZE, w: ALIGNED_SIZE };
    try {
      const [rest] = await srAndEmbed(models, hrT, hrT ? null : x, 1, lrSize, timings);
      return { lrSize, timings, srNote: srNoteFor(models, lrSize).note, mode: 'crop', faces: [{ box, landmarks: [], transform: null, hr, ...rest! }] };
    } finally {
      hrT?.dispose();
    }
  } finally {
    x.dispose();
  }
}

/**
 * The pipelines analyzeImage needs (for images of the given sizes and the given LR sizes) that are
 * not compiled yet: the programs are recorded on dummy inputs without running anything. Compile them
 * with getEngine().compilePipelines(specs, onProgress).
 */
export function pipelinesToCompile(models: FaceModels, opts: { inputSize?: number; lrSizes?: readonly number[] } = {}): L.PipelineSpec[] {
  const inputSize = opts.inputSize ?? TINY_FACE_DEFAULT_INPUT_SIZE;
  const lrSizes = opts.lrSizes ?? APP_LR_SIZES;
  return L.getEngine().collectPipelines(() => L.noGrad(() => L.tidy(() => {
    // a landscape and a portrait image (both pad directions) and a square one
    for (const [h, w] of [[60, 80], [80, 60], [250, 250], [inputSize, inputSize]] as const) {
      const img = faceImageTensor({ data: new Float32Array(3 * h * w), c: 3, h, w });
      models.detector.detectRaw(toFaceApiInput(img, inputSize, false).input);
    }
    for (const [h, w] of [[40, 30], [30, 40], [100, 100], [150, 150]] as const) {
      const crop = faceImageTensor({ data: new Float32Array(3 * h * w), c: 3, h, w });
      models.landmarks.predict(toFaceApiInput(crop, LANDMARK_INPUT_SIZE, true).input);
    }
    // one and two faces: some kernels pick their variant by batch size
    for (const n of [1, 2]) {
      const crops = L.empty([n, 3, ALIGNED_SIZE, ALIGNED_SIZE]);
      for (const s of lrSizes) {
        const dsr = models.dsr && dsrSizes(models.dsr).includes(s) ? models.dsr : null;
        const g = srGraph(crops, s, dsr);
        const all = L.concat(g.sr ? [crops, g.bicubic, g.sr] : [crops, g.bicubic], 0);
        embedGraph(models.recognizer, all).dispose();
        for (const t of [g.lr, g.bicubic, g.sr, all]) t?.dispose();
      }
    }
  })));
}

// ---- search -------------------------------------------------------------------------------------

export interface GalleryEntry {
  id: number;
  name: string;
  /** L2-normalised embedding. */
  embedding: Float32Array;
}

export interface Match {
  id: number;
  name: string;
  score: number;
}

/** Cosine similarity of two L2-normalised vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`cosine: vectors of length ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** The best `k` people for a probe: each person's best entry, by cosine, highest first. */
export function searchGallery(probe: Float32Array, gallery: readonly GalleryEntry[], k = 3): Match[] {
  const best = new Map<string, Match>();
  for (const g of gallery) {
    if (g.embedding.length !== probe.length) continue;
    const score = cosine(probe, g.embedding);
    const cur = best.get(g.name);
    if (!cur || score > cur.score) best.set(g.name, { id: g.id, name: g.name, score });
  }
  return [...best.values()].sort((a, b) => b.score - a.score).slice(0, k);
}
