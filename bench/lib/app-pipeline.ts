// The browser app's face pipeline twice, for scripts/app-timings.mts (Node) and web/bench/app-page.ts
// (Chromium): ours (src/nn/face-pipeline.ts analyzeImage, the code the app runs) and the same
// computation in tfjs on whichever tfjs backend is current (webgpu or wasm):
//   detect + 68 landmarks: @vladmandic/face-api itself (TinyFaceDetector, FaceLandmark68TinyNet; the
//     weights through its own loadFromWeightMap from the same manifests and shards as ours);
//   align: the same CPU similarity fit and warp (src/nn/face-detect.ts; CPU code in both);
//   LR probe 16 px (antialiased bicubic), bicubic back to 112, DSR, EdgeFace-XXS embeddings of the HR
//     crop, the bicubic and the DSR image: the tfjs re-implementations the tests check our models
//     against (tests/reference/dsr-tfjs.ts, edgeface-tfjs.ts), with our committed weights;
//   L2 normalisation and the cosine search against the same gallery.
// Browser-safe: no Node APIs (weights come in as bytes).
import * as tf from '@tensorflow/tfjs';
import * as L from '../../src/runtime/index.js';
import {
  analyzeImage, searchGallery, recognizerFromBytes, dsrFromBytes, tinyFaceDetectorFromTfjs, landmarksTinyFromTfjs,
  type FaceModels, type GalleryEntry, type StageTimings,
} from '../../src/nn/face-pipeline.js';
import { alignmentTransform, warpSimilarity, faceCrop, ALIGNED_SIZE, type FaceImage } from '../../src/nn/face-detect.js';
import { landmarksToImage } from '../../src/nn/face-landmarks-tiny.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';
import { edgefaceTf, XXS, type Weights as EdgeWeights } from '../../tests/reference/edgeface-tfjs.js';
import { dsrTf, dsrTfWeights, bicubicWeights64, type DsrTfConfig } from '../../tests/reference/dsr-tfjs.js';

export const LR_SIZE = 16;
export const DETECTOR_INPUT = 416;
export type Impl = 'ours' | 'tfjs-webgpu' | 'tfjs-wasm';
export const IMPLS: readonly Impl[] = ['ours', 'tfjs-webgpu', 'tfjs-wasm'];

/** Everything both pipelines load: the bytes of our safetensors files and face-api's manifests + shards. */
export interface ModelBytes {
  recognizer: Uint8Array;
  dsr: Uint8Array;
  detector: { manifest: unknown; shards: Uint8Array[] };
  landmarks: { manifest: unknown; shards: Uint8Array[] };
}

/** The part of face-api used here (its Node and browser builds both have it). */
export interface FaceApiLike {
  TinyFaceDetector: new () => { loadFromWeightMap(m: tf.NamedTensorMap): void; locateFaces(input: tf.Tensor3D, opts: unknown): Promise<FaceApiDetection[]>; dispose(): void };
  FaceLandmark68TinyNet: new () => { loadFromWeightMap(m: tf.NamedTensorMap): void; runNet(input: unknown): tf.Tensor; dispose(): void };
  extractFaceTensors(input: tf.Tensor3D, dets: FaceApiDetection[]): Promise<tf.Tensor3D[]>;
  toNetInput(t: tf.Tensor3D): Promise<unknown>;
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  tf: { engine(): unknown };
}
interface FaceApiDetection { score: number; box: { x: number; y: number; width: number; height: number } }

/** One face's result, the same fields from both pipelines. */
export interface FaceOut {
  box: { x: number; y: number; width: number; height: number; score: number };
  embHr: Float32Array;
  embBicubic: Float32Array;
  embSr: Float32Array;
  /** Best gallery match of the SR probe. */
  best: string | null;
}

export interface RunOut {
  faces: FaceOut[];
  /** ms per stage (detect includes the landmarks for tfjs, as face-api runs them in one call; ours splits them into detect / align). */
  timings: StageTimings;
  totalMs: number;
}

export interface Pipeline {
  impl: Impl;
  run(img: FaceImage, gallery: readonly GalleryEntry[]): Promise<RunOut>;
  dispose(): void;
}

const now = (): number => performance.now();

// ---- ours ---------------------------------------------------------------------------------------

export function oursModels(b: ModelBytes): FaceModels {
  return {
    detector: tinyFaceDetectorFromTfjs(b.detector.manifest, b.detector.shards),
    landmarks: landmarksTinyFromTfjs(b.landmarks.manifest, b.landmarks.shards),
    recognizer: recognizerFromBytes(b.recognizer),
    dsr: dsrFromBytes(b.dsr),
  };
}

export function oursPipeline(b: ModelBytes): Pipeline {
  const m = oursModels(b);
  return {
    impl: 'ours',
    async run(img, gallery) {
      const t0 = now();
      const r = await analyzeImage(m, img, { lrSize: LR_SIZE, inputSize: DETECTOR_INPUT });
      const t = now();
      const faces = r.faces.map((f) => {
        if (!f.embHr || !f.embSr) throw new Error('ours: a face without its HR or SR embedding');
        return { box: { ...f.box }, embHr: f.embHr, embBicubic: f.embBicubic, embSr: f.embSr, best: searchGallery(f.embSr, gallery, 1)[0]?.name ?? null };
      });
      r.timings.search = now() - t;
      return { faces, timings: r.timings, totalMs: now() - t0 };
    },
    dispose() {
      for (const x of [m.detector, m.landmarks, m.recognizer, m.dsr]) x?.dispose();
    },
  };
}

// ---- tfjs ---------------------------------------------------------------------------------------

function concatShards(shards: readonly Uint8Array[]): ArrayBuffer {
  const n = shards.reduce((s, x) => s + x.byteLength, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const s of shards) { out.set(s, o); o += s.byteLength; }
  return out.buffer;
}

/** face-api's own weight decoding (tf.io.decodeWeights over the manifest's groups). */
function faceApiWeightMap(w: { manifest: unknown; shards: Uint8Array[] }): tf.NamedTensorMap {
  const groups = w.manifest as { weights: tf.io.WeightsManifestEntry[] }[];
  return tf.io.decodeWeights(concatShards(w.shards), groups.flatMap((g) => g.weights));
}

/** Bicubic resize of NCHW [N, C, H, W] -> [N, C, out, out] as two matmuls with PyTorch's weights (dsr-tfjs.ts). */
function resizeNchw(x: tf.Tensor4D, out: number, antialias: boolean): tf.Tensor4D {
  const [n, c, h, w] = x.shape;
  if (h === out && w === out) return x;
  const wh = tf.tensor2d(Float32Array.from(bicubicWeights64(h, out, antialias)), [out, h]);
  const ww = tf.tensor2d(Float32Array.from(bicubicWeights64(w, out, antialias)), [out, w]);
  const a = tf.matMul(x.reshape([n * c * h, w]), ww, false, true).reshape([n * c, h, out]); // along W
  const b = tf.matMul(a.transpose([0, 2, 1]).reshape([n * c * out, h]), wh, false, true); // along H: [n*c*out(w), out(h)]
  return b.reshape([n, c, out, out]).transpose([0, 1, 3, 2]) as tf.Tensor4D;
}

export interface TfModels {
  edge: EdgeWeights;
  dsr: tf.NamedTensorMap;
  dsrCfg: DsrTfConfig;
}

/** Our safetensors weights as tf tensors (our names and PyTorch layouts, as the references take them). */
export function tfModels(b: ModelBytes): TfModels {
  const e = decodeSafetensors(b.recognizer);
  const edge: EdgeWeights = new Map();
  for (const [k, v] of e.tensors) edge.set(k, tf.tensor(v.data, [...v.shape]));
  const d = decodeSafetensors(b.dsr);
  const dsrCfg = JSON.parse(d.metadata.config!) as DsrTfConfig;
  const arrays = new Map([...d.tensors].map(([k, v]) => [k, v.data]));
  const w = dsrTfWeights(dsrCfg, arrays);
  return { edge, dsr: Object.fromEntries(w), dsrCfg };
}

/**
 * The SR and embed stages in tfjs for aligned crops NCHW [n, 3, 112, 112] in [0, 1], as srGraph +
 * embedGraph + DSR.forward compute them: LR = clamp(bicubic-aa(hr, 16)); bicubic = clamp(bicubic(LR,
 * 112)); DSR(LR) = the net on LR resized to its inputSize (plain bicubic), its 128 output fitted to 112
 * (antialiased), plus bicubic(LR, 112) (the skip); then clamp; embeddings L2-normalised.
 */
function tfSrGraph(m: TfModels, hr: tf.Tensor4D): { lr: tf.Tensor4D; bicubic: tf.Tensor4D; sr: tf.Tensor4D } {
  const O = ALIGNED_SIZE;
  const lr = resizeNchw(hr, LR_SIZE, true).clipByValue(0, 1) as tf.Tensor4D;
  const bicubic = resizeNchw(lr, O, false).clipByValue(0, 1) as tf.Tensor4D;
  const S = m.dsrCfg.inputSize;
  const x = resizeNchw(lr, S, S < LR_SIZE);
  const net = dsrTf(m.dsrCfg, new Map(Object.entries(m.dsr)), x, { preResize: true });
  const y = resizeNchw(net, O, O < net.shape[2]);
  const skip = resizeNchw(lr, O, false);
  const sr = (m.dsrCfg.bicubicSkip ? y.add(skip) : y.add(0.5)).clipByValue(0, 1) as tf.Tensor4D;
  return { lr, bicubic, sr };
}

function l2n(x: tf.Tensor2D): tf.Tensor2D {
  return x.div(tf.maximum(x.square().sum(-1, true).sqrt(), 1e-12)) as tf.Tensor2D;
}

/** Waits for the backend's queued work (webgpu: a 1-element readback of the last result). */
export function tfPipeline(impl: 'tfjs-webgpu' | 'tfjs-wasm', b: ModelBytes, fa: FaceApiLike): Pipeline {
  if (fa.tf.engine() !== tf.engine()) throw new Error('face-api runs on another tfjs instance than @tensorflow/tfjs');
  // own net instances per pipeline: tensors stay on the backend they were made on (moving a webgpu
  // tensor to wasm needs a synchronous readback, which tfjs-webgpu cannot do in Node)
  const detector = new fa.TinyFaceDetector();
  detector.loadFromWeightMap(faceApiWeightMap(b.detector));
  const lmNet = new fa.FaceLandmark68TinyNet();
  lmNet.loadFromWeightMap(faceApiWeightMap(b.landmarks));
  const m = tfModels(b);
  const opts = new fa.TinyFaceDetectorOptions({ inputSize: DETECTOR_INPUT, scoreThreshold: 0.5 });
  return {
    impl,
    async run(img, gallery) {
      const want = impl === 'tfjs-webgpu' ? 'webgpu' : 'wasm';
      if (tf.getBackend() !== want) throw new Error(`tfjs backend is ${tf.getBackend()}, not ${want}`);
      const timings: StageTimings = { detect: 0, align: 0, sr: 0, embed: 0 };
      const t0 = now();
      let t = t0;
      // face-api takes HWC 0..255
      const { data, c, h, w } = img;
      const hwc = new Float32Array(h * w * 3);
      for (let i = 0; i < h * w; i++) for (let k = 0; k < 3; k++) hwc[3 * i + k] = 255 * data[(c === 1 ? 0 : k) * h * w + i]!;
      const input = tf.tensor3d(hwc, [h, w, 3]);
      // face-api's nets, called the way withFaceLandmarks(true) calls them but with async readbacks
      // (its own landmark step reads with dataSync, which tfjs-webgpu in Node cannot do): boxes from
      // locateFaces, each face cut as extractFaceTensors cuts it, the landmark net's raw 136 outputs
      // mapped to image pixels by the same CPU post-processing as ours (landmarksToImage).
      const dets: { box: FaceOut['box']; positions: { x: number; y: number }[] }[] = [];
      try {
        for (const d of await detector.locateFaces(input, opts)) {
          const box = { x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height, score: d.score };
          const crop = faceCrop(box, w, h);
          const [face] = await fa.extractFaceTensors(input, [d]);
          const raw = lmNet.runNet(await fa.toNetInput(face!));
          const r = (await raw.data()) as Float32Array;
          tf.dispose([face!, raw]);
          dets.push({ box, positions: landmarksToImage(r, crop.width, crop.height, crop.x, crop.y) });
        }
      } finally {
        input.dispose();
      }
      timings.detect = now() - t;
      if (dets.length === 0) return { faces: [], timings, totalMs: now() - t0 };
      t = now();
      const rgb: FaceImage = c === 3 ? img : { data: Float32Array.from({ length: 3 * h * w }, (_, i) => data[i % (h * w)]!), c: 3, h, w };
      const crops = dets.map((d) => warpSimilarity(rgb, alignmentTransform(d.positions)));
      timings.align = now() - t;
      t = now();
      const n = crops.length, px = 3 * ALIGNED_SIZE * ALIGNED_SIZE;
      const x = new Float32Array(n * px);
      crops.forEach((cr, k) => x.set(cr.data, k * px));
      const hr = tf.tensor4d(x, [n, 3, ALIGNED_SIZE, ALIGNED_SIZE]);
      const g = tf.tidy(() => tfSrGraph(m, hr));
      await Promise.all([g.lr.data(), g.bicubic.data(), g.sr.data()]); // the images, as ours reads them back
      timings.sr = now() - t;
      t = now();
      const e = tf.tidy(() => l2n(edgefaceTf(m.edge, tf.concat([hr, g.bicubic, g.sr], 0).mul(2).sub(1) as tf.Tensor4D, XXS)));
      const d = (await e.data()) as Float32Array;
      tf.dispose([hr, g.lr, g.bicubic, g.sr, e]);
      timings.embed = now() - t;
      t = now();
      const dim = d.length / (3 * n);
      const row = (r: number) => d.slice(r * dim, (r + 1) * dim);
      const faces = dets.map((dt, k) => {
        const embSr = row(2 * n + k);
        return { box: dt.box, embHr: row(k), embBicubic: row(n + k), embSr, best: searchGallery(embSr, gallery, 1)[0]?.name ?? null };
      });
      timings.search = now() - t;
      return { faces, timings, totalMs: now() - t0 };
    },
    dispose() {
      detector.dispose();
      lmNet.dispose();
      tf.dispose([...m.edge.values(), ...Object.values(m.dsr)]);
    },
  };
}

// ---- checks and statistics ----------------------------------------------------------------------

export interface Agreement {
  faces: [number, number];
  /** max |box coordinate difference| (px). */
  boxPx: number;
  /** max |embedding difference| over the HR, bicubic and SR embeddings (L2-normalised, 512-D). */
  emb: { hr: number; bicubic: number; sr: number };
  sameMatch: boolean;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m; };

/** How a peer's result compares with ours (faces paired in order: both sort by score). */
export function agreement(ours: RunOut, peer: RunOut): Agreement {
  const a: Agreement = { faces: [ours.faces.length, peer.faces.length], boxPx: 0, emb: { hr: 0, bicubic: 0, sr: 0 }, sameMatch: true };
  ours.faces.forEach((f, k) => {
    const p = peer.faces[k];
    if (!p) return;
    a.boxPx = Math.max(a.boxPx, ...(['x', 'y', 'width', 'height'] as const).map((q) => Math.abs(f.box[q] - p.box[q])));
    a.emb.hr = Math.max(a.emb.hr, maxAbsDiff(f.embHr, p.embHr));
    a.emb.bicubic = Math.max(a.emb.bicubic, maxAbsDiff(f.embBicubic, p.embBicubic));
    a.emb.sr = Math.max(a.emb.sr, maxAbsDiff(f.embSr, p.embSr));
    if (f.best !== p.best) a.sameMatch = false;
  });
  return a;
}

/** Tolerances a peer must meet before it is timed. */
export const TOL = { boxPx: 0.05, emb: 2e-3 };

export function agrees(a: Agreement): boolean {
  return a.faces[0] === a.faces[1] && a.faces[0] > 0 && a.boxPx <= TOL.boxPx && Math.max(a.emb.hr, a.emb.bicubic, a.emb.sr) <= TOL.emb && a.sameMatch;
}

export interface Stats { median: number; min: number; max: number; n: number; samples: number[] }

export function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return { median: s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2, min: s[0]!, max: s[s.length - 1]!, n: s.length, samples: [...xs] };
}

/** A gallery: `enrolled` (name -> L2-normalised embedding) plus `extra` seeded random unit vectors. */
export function makeGallery(enrolled: Record<string, Float32Array>, extra = 98, dim = 512): GalleryEntry[] {
  const rng = new L.Rng(7);
  const g: GalleryEntry[] = Object.entries(enrolled).map(([name, embedding], id) => ({ id, name, embedding }));
  for (let i = 0; i < extra; i++) {
    const v = Float32Array.from({ length: dim }, () => rng.normal());
    const n = Math.hypot(...v);
    g.push({ id: g.length, name: `random-${i}`, embedding: v.map((x) => x / n) });
  }
  return g;
}

export interface ImplResult { impl: Impl; total?: Stats; stages?: Record<string, number>; agreement?: Agreement; ok?: boolean; error?: string }

/**
 * Correctness first (ours must find one face matched to `person`; each peer must agree with ours, see
 * agrees(), or it is not timed), then `warmup` untimed runs each, then `repeats` interleaved rounds
 * (ours, tfjs-webgpu, tfjs-wasm, ours, ...). `setBackend` switches tfjs before a peer runs.
 */
export async function timePipelines(
  pipes: Map<Impl, Pipeline>, img: FaceImage, gallery: GalleryEntry[], o: { repeats: number; warmup: number; person: string },
  setBackend: (impl: Impl) => Promise<void>, log: (s: string) => void,
): Promise<ImplResult[]> {
  const res = new Map<Impl, ImplResult>();
  await setBackend('ours');
  const ref = await pipes.get('ours')!.run(img, gallery);
  if (ref.faces.length !== 1 || ref.faces[0]!.best !== o.person) throw new Error(`ours: ${ref.faces.length} faces, best match ${ref.faces[0]?.best}; expected 1 face of ${o.person}`);
  res.set('ours', { impl: 'ours', ok: true });
  for (const impl of IMPLS.filter((i) => i !== 'ours')) {
    if (!pipes.has(impl)) continue;
    try {
      await setBackend(impl);
      const r = await pipes.get(impl)!.run(img, gallery);
      const a = agreement(ref, r);
      const ok = agrees(a);
      res.set(impl, { impl, agreement: a, ok });
      log(`${impl} vs ours: faces ${a.faces.join('/')}, box ${a.boxPx.toExponential(1)} px, embeddings max |diff| hr ${a.emb.hr.toExponential(1)} bicubic ${a.emb.bicubic.toExponential(1)} sr ${a.emb.sr.toExponential(1)}, same match ${a.sameMatch}: ${ok ? 'ok' : 'FAIL (not timed)'}`);
    } catch (e) {
      res.set(impl, { impl, error: (e as Error).message });
      log(`${impl}: ${(e as Error).message}`);
    }
  }
  const timed = IMPLS.filter((i) => res.get(i)?.ok);
  for (const impl of timed) { await setBackend(impl); for (let k = 0; k < o.warmup; k++) await pipes.get(impl)!.run(img, gallery); }
  const samples = new Map<Impl, number[]>(timed.map((i) => [i, []]));
  const stageSamples = new Map<Impl, Record<string, number[]>>(timed.map((i) => [i, {}]));
  for (let r = 0; r < o.repeats; r++) {
    for (const impl of timed) {
      await setBackend(impl);
      const out = await pipes.get(impl)!.run(img, gallery);
      samples.get(impl)!.push(out.totalMs);
      const st = stageSamples.get(impl)!;
      for (const [k, v] of Object.entries(out.timings)) (st[k] ??= []).push(v as number);
    }
    log(`round ${r + 1}/${o.repeats}: ${timed.map((i) => `${i} ${samples.get(i)!.at(-1)!.toFixed(0)} ms`).join(', ')}`);
  }
  for (const impl of timed) {
    const r = res.get(impl)!;
    r.total = stats(samples.get(impl)!);
    r.stages = Object.fromEntries(Object.entries(stageSamples.get(impl)!).map(([k, v]) => [k, stats(v).median]));
  }
  return IMPLS.map((i) => res.get(i) ?? { impl: i, error: 'not available' });
}
