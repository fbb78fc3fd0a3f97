// The evaluation pipeline behind `lrfr eval`: recognizers, super-resolvers, the recognizer framing,
// embeddings (batched on our runtime, cached on disk), the protocols and their metrics.
//
// Resolutions. "full" = the aligned 112x112 HR crop (data.ts framings: LFW arcface window, ORL pad,
// Yale B crop). For an LR size S: probe = degradeLR(HR112, S) (clean bicubic-AA; with `degrade` the
// seed-3 degradation model, drawn per image from a hash of its key, so an image shared by two
// protocols gets the same probe) -> brought to 112 by the super-resolver (bicubic = degrade.ts
// upsample, or a DSR model) -> the recognizer's framing. The gallery side is always at full resolution.
//
// dlib framing from the 112 crop. dlib's ResNet wants the 108x108 window at (70, 76) of the 250x250
// deep-funneled image, resized to 150 (data.ts DLIB_WINDOW). The 112 crop is the 143x143 window at
// (53, 41) resized to 112, so that window is, in 143-crop pixels, at (70-53, 76-41) = (17, 35), size
// 108, and in 112-crop pixels (continuous coordinates, scale 112/143):
//   x0 = 17 * 112/143 = 13.3147, y0 = 35 * 112/143 = 27.4126, size = 108 * 112/143 = 84.5874
// (it ends at y = 112 exactly: the window's bottom edge is the crop's). frameWindow() resamples that
// fractional window to 150x150 directly (one bicubic pass per axis, no intermediate rounding):
// output pixel i samples source coordinate x0 + (i + 0.5) * size/150 (pixel centres at k + 0.5),
// Keys cubic a = -0.5 normalised over the taps inside the image (= degrade.ts resizeBicubicCpu with
// antialias, i.e. PyTorch's AA bicubic, generalised to a fractional window; for an upscale like this
// one (84.6 -> 150) the AA kernel is the plain 4-tap Keys kernel). Taps just outside the window but
// inside the crop are used (they are real pixels), unlike crop-then-resize.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as L from '../runtime/index.js';
import type { ChwImage } from './image.js';
import { loadFaces, checkDataRoot, ARCFACE_WINDOW, DLIB_WINDOW, type DataPart, type FaceSource } from './data.js';
import { degradeLR, upsample, clamp01, HR_SIZE, LR_SIZES } from './degrade.js';
import { buildLfwProtocol, buildOrlProtocol, buildYaleProtocol, type FaceRef, type Pair } from './protocol.js';
import { cmc, roc, tarAtFar, kFoldAccuracy } from './metrics.js';
import { EmbeddingCache, hashBytes, hashFiles, hashString, type CacheGroup } from './embed-cache.js';
import { Progress } from './progress.js';
import { DLIB_INPUT_SIZE, DLIB_EMBEDDING_SIZE, type DlibResNet } from '../nn/dlib-resnet.js';
import type { EdgeFaceXXS } from '../nn/edgeface.js';
import type { DSR } from '../nn/dsr.js';
import { decodeSafetensors, loadStateInto } from '../nn/safetensors.js';
import { canonicalModelName, modelFromMetadata, type ModelName } from '../nn/registry.js';

// ---------------------------------------------------------------------------------------------------
// Framing

export interface Window { x: number; y: number; size: number }

/** dlib's window (data.ts DLIB_WINDOW) in the coordinates of the 112 aligned crop (see the header). */
export function dlibWindowIn112(): Window {
  const s = ARCFACE_WINDOW.out / ARCFACE_WINDOW.size;
  return { x: (DLIB_WINDOW.x - ARCFACE_WINDOW.x) * s, y: (DLIB_WINDOW.y - ARCFACE_WINDOW.y) * s, size: DLIB_WINDOW.size * s };
}

function keys(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** 1-D weights of the window [x0, x0 + size) of an axis of length lin resampled to lout (see header). */
function windowWeights(lin: number, x0: number, size: number, lout: number): { start: Int32Array; n: Int32Array; w: Float64Array; taps: number } {
  const scale = size / lout;
  const support = scale >= 1 ? 2 * scale : 2;
  const inv = scale >= 1 ? 1 / scale : 1;
  const taps = Math.ceil(support) * 2 + 2;
  const start = new Int32Array(lout), n = new Int32Array(lout), w = new Float64Array(lout * taps);
  for (let i = 0; i < lout; i++) {
    const centre = x0 + scale * (i + 0.5);
    const lo = Math.max(Math.floor(centre - support + 0.5), 0);
    const hi = Math.min(Math.floor(centre + support + 0.5), lin);
    let tot = 0;
    for (let j = lo; j < hi; j++) {
      const v = keys((j + 0.5 - centre) * inv, -0.5);
      w[i * taps + j - lo] = v;
      tot += v;
    }
    if (tot !== 0) for (let j = lo; j < hi; j++) w[i * taps + j - lo]! /= tot;
    start[i] = lo;
    n[i] = hi - lo;
  }
  return { start, n, w, taps };
}

/** Resamples the square window `win` (fractional, in pixels of `img`) to out x out (see the header). */
export function frameWindow(img: ChwImage, win: Window, out: number): ChwImage {
  const { data, c, h, w } = img;
  const ax = windowWeights(w, win.x, win.size, out);
  const ay = windowWeights(h, win.y, win.size, out);
  const tmp = new Float64Array(c * h * out);
  for (let r = 0; r < c * h; r++) {
    for (let i = 0; i < out; i++) {
      let s = 0;
      const b = i * ax.taps, st = ax.start[i]!;
      for (let k = 0; k < ax.n[i]!; k++) s += ax.w[b + k]! * data[r * w + st + k]!;
      tmp[r * out + i] = s;
    }
  }
  const res = new Float32Array(c * out * out);
  for (let q = 0; q < c; q++) {
    for (let i = 0; i < out; i++) {
      const b = i * ay.taps, st = ay.start[i]!;
      for (let x = 0; x < out; x++) {
        let s = 0;
        for (let k = 0; k < ay.n[i]!; k++) s += ay.w[b + k]! * tmp[(q * h + st + k) * out + x]!;
        res[(q * out + i) * out + x] = s;
      }
    }
  }
  return { data: res, c, h: out, w: out };
}

export const DLIB_FRAMING = 'dlib window (70, 76, 108) of the 250 image = (13.315, 27.413, 84.587) in the 112 crop -> 150x150 (bicubic, a = -0.5)';

/** The dlib input (RGB 0..255, 150x150, clamped) from an aligned 112 crop in [0, 1]. */
export function dlibInputFrom112(img112: ChwImage): ChwImage {
  if (img112.h !== HR_SIZE || img112.w !== HR_SIZE) throw new Error(`dlibInputFrom112: expected a ${HR_SIZE}x${HR_SIZE} crop, got ${img112.w}x${img112.h}`);
  const f = frameWindow(img112, dlibWindowIn112(), DLIB_INPUT_SIZE);
  const d = f.data;
  for (let i = 0; i < d.length; i++) d[i] = 255 * (d[i]! < 0 ? 0 : d[i]! > 1 ? 1 : d[i]!);
  return f;
}

// ---------------------------------------------------------------------------------------------------
// Recognizers and super-resolvers

export type Metric = 'cosine' | 'euclidean';

export interface Recognizer {
  name: string;
  /** Hash of the weight bytes (the embedding cache key). */
  hash: string;
  dim: number;
  /** Default comparison: cosine similarity, or minus the Euclidean distance (dlib's own). */
  metric: Metric;
  /** How the aligned 112 crop is framed for it (for the report). */
  framing: string;
  /** Aligned 112 crop in [0, 1] -> the recognizer's input, CHW. */
  prepare(img112: ChwImage): ChwImage;
  /** A batch of prepared inputs [n, C, H, W] -> [n, dim]. Submits the GPU work before its first await. */
  embed(x: Float32Array, shape: readonly [number, number, number, number]): Promise<Float32Array>;
  dispose(): void;
}

/** Counts forwards (for tests and the throughput report). */
export const evalCounters = { forwards: 0, batches: 0 };

/**
 * Kernel autotuning on first use (off by default; `lrfr eval` / `lrfr sr` turn it on): the first
 * forward of each input shape first runs L.autotune, which times the kernel variants of every shape
 * class the model uses that the adapter's cache does not hold yet.
 */
export const evalAutotune = { enabled: false };
const tunedShapes = new WeakMap<object, Set<string>>();

async function tuneFirstUse(model: object, fn: (x: L.Tensor) => L.Tensor, x: Float32Array, shape: readonly number[]): Promise<void> {
  if (!evalAutotune.enabled) return;
  const seen = tunedShapes.get(model) ?? new Set<string>();
  tunedShapes.set(model, seen);
  const key = shape.join('x');
  if (seen.has(key)) return;
  seen.add(key);
  await L.autotune(() => L.noGrad(() => fn(L.tensor(x, shape))));
}

async function runModel(model: object, fn: (x: L.Tensor) => L.Tensor, x: Float32Array, shape: readonly [number, number, number, number]): Promise<Float32Array> {
  await tuneFirstUse(model, fn, x, shape);
  const y = L.noGrad(() => L.tidy(() => fn(L.tensor(x, shape))));
  evalCounters.forwards += shape[0];
  evalCounters.batches++;
  try {
    return await y.data();
  } finally {
    y.dispose();
  }
}

function dlibRecognizer(model: DlibResNet, name: string, hash: string): Recognizer {
  return {
    name, hash, dim: DLIB_EMBEDDING_SIZE, metric: 'euclidean', framing: DLIB_FRAMING,
    prepare: dlibInputFrom112,
    embed: (x, shape) => runModel(model, (t) => model.forward(t), x, shape),
    dispose: () => model.dispose(),
  };
}

/** The face-api files dlib's weights come from (hashed for the cache). */
function faceApiFiles(dir: string): string[] {
  const m = JSON.parse(readFileSync(`${dir}/face_recognition_model-weights_manifest.json`, 'utf8')) as { paths: string[] }[];
  return [`${dir}/face_recognition_model-weights_manifest.json`, ...m.flatMap((g) => g.paths.map((p) => `${dir}/${p}`))];
}

/**
 * `dlib` (face-api's shipped weights, fused) or a safetensors file saved by saveSafetensorsFile whose
 * metadata.model names dlib (DlibResNet) or EdgeFace (EdgeFaceXXS, metadata.config its config).
 * A file that fails to load throws the loader's message.
 */
export async function loadRecognizer(spec: string): Promise<Recognizer> {
  if (spec === 'dlib') {
    const { loadDlibFromFaceApi, faceApiModelDir } = await import('../node/dlib.js');
    const dir = faceApiModelDir();
    const model = await loadDlibFromFaceApi(dir);
    return dlibRecognizer(model, 'dlib', hashFiles(faceApiFiles(dir)));
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(spec));
  } catch (e) {
    throw new Error(`cannot read recognizer ${spec}: ${(e as Error).message}`, { cause: e });
  }
  const hash = hashBytes(bytes);
  const name = basename(spec);
  const { metadata, tensors } = wrap(spec, () => decodeSafetensors(bytes));
  const kind = metadata.model ?? '';
  const known = registryName(kind);
  if (known !== 'dlib-resnet' && known !== 'edgeface-xxs') {
    throw new Error(`${spec}: unknown recognizer model "${kind}" in the file's metadata (known: dlib, edgeface)`);
  }
  const model = wrap(spec, () => modelFromMetadata(metadata, spec).model.eval());
  wrap(spec, () => loadStateInto(model, tensors, metadata), () => model.dispose());
  if (known === 'dlib-resnet') {
    const dlib = model as DlibResNet;
    dlib.fuse();
    return dlibRecognizer(dlib, name, hash);
  }
  const ef = model as EdgeFaceXXS;
  return {
    name, hash, dim: ef.config.embeddingSize, metric: 'cosine', framing: 'the aligned 112 crop as is',
    prepare: (img) => img,
    embed: (x, shape) => runModel(ef, (t) => ef.embed(t), x, shape),
    dispose: () => ef.dispose(),
  };
}

/** The registry name of a file's metadata.model, or null when the registry does not know it. */
function registryName(kind: string): ModelName | null {
  try {
    return canonicalModelName(kind);
  } catch {
    return null;
  }
}

function wrap<T>(file: string, fn: () => T, onError?: () => void): T {
  try {
    return fn();
  } catch (e) {
    onError?.();
    const msg = (e as Error).message;
    throw new Error(msg.includes(file) ? msg : `${file}: ${msg}`, { cause: e });
  }
}

export interface SuperResolver {
  name: string;
  /** Hash of the weights ('bicubic' for bicubic). */
  hash: string;
  /** LR probes, all S x S, in [0, 1] -> 112x112 in [0, 1] (clamped). */
  run(lr: readonly ChwImage[]): Promise<ChwImage[]>;
  /** The probe sizes this super-resolver takes (null: any). */
  sizes: number[] | null;
  dispose(): void;
}

export const BICUBIC: SuperResolver = {
  name: 'bicubic', hash: 'bicubic', sizes: null,
  run: async (lr) => lr.map((x) => upsample(x, HR_SIZE)),
  dispose: () => {},
};

/**
 * 'bicubic', or one or more DSR safetensors files (comma-separated; metadata.config = the DsrConfig,
 * one model per probe size config.inputSize).
 */
export async function loadSuperResolver(spec: string): Promise<SuperResolver> {
  if (spec === 'bicubic') return BICUBIC;
  const files = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const models = new Map<number, DSR>();
  const hashes: string[] = [];
  const disposeAll = () => { for (const m of models.values()) m.dispose(); };
  try {
    for (const f of files) {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(f));
      } catch (e) {
        throw new Error(`cannot read SR model ${f}: ${(e as Error).message}`, { cause: e });
      }
      hashes.push(hashBytes(bytes));
      const { metadata, tensors } = wrap(f, () => decodeSafetensors(bytes));
      if (metadata.model !== undefined && registryName(metadata.model) !== 'dsr') throw new Error(`${f}: not a DSR model (metadata.model is "${metadata.model}")`);
      // a file without metadata.model is taken for a DSR (metadata.config its DsrConfig)
      const m = wrap(f, () => modelFromMetadata({ ...metadata, model: metadata.model ?? 'dsr' }, f).model.eval() as DSR);
      wrap(f, () => loadStateInto(m, tensors, metadata), () => m.dispose());
      const S = m.config.inputSize;
      if (models.has(S)) { m.dispose(); throw new Error(`${f}: a second SR model for ${S}x${S} probes`); }
      if (m.config.outputSize !== HR_SIZE) { m.dispose(); throw new Error(`${f}: the model outputs ${m.config.outputSize}x${m.config.outputSize}, expected ${HR_SIZE}`); }
      models.set(S, m);
    }
  } catch (e) {
    disposeAll();
    throw e;
  }
  const sizes = [...models.keys()].sort((a, b) => a - b);
  return {
    name: files.map((f) => basename(f)).join(','),
    hash: hashString(hashes.join('+')),
    sizes,
    async run(lr) {
      if (lr.length === 0) return [];
      const S = lr[0]!.h;
      const m = models.get(S);
      if (!m) throw new Error(`no SR model for ${S}x${S} probes (the models given take ${sizes.join(', ')})`);
      const n = lr.length, px = 3 * S * S;
      const x = new Float32Array(n * px);
      lr.forEach((img, k) => x.set(img.data, k * px));
      await tuneFirstUse(m, (t) => m.forward(t), x, [n, 3, S, S]);
      const y = L.noGrad(() => L.tidy(() => m.forward(L.tensor(x, [n, 3, S, S]))));
      let d: Float32Array;
      try {
        d = await y.data();
      } finally {
        y.dispose();
      }
      const hp = 3 * HR_SIZE * HR_SIZE;
      return lr.map((_, k) => clamp01({ data: d.slice(k * hp, (k + 1) * hp), c: 3, h: HR_SIZE, w: HR_SIZE }));
    },
    dispose: disposeAll,
  };
}

// ---------------------------------------------------------------------------------------------------
// Protocols

export const PROTOCOLS = ['lfw-verify', 'blufr-ident', 'orl', 'yaleb'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];
export type Dataset = 'lfw' | 'orl' | 'yaleb';

export interface Item { dataset: Dataset; path: string; person: string }

export const itemKey = (it: Item): string => `${it.dataset}/${it.path}`;

export interface VerifyPlan { kind: 'verify'; name: ProtocolName; pairs: { a: Item; b: Item; same: boolean; fold: number }[] }
export interface IdentPlan { kind: 'ident'; name: ProtocolName; gallery: Item[]; probes: Item[] }
export type ProtocolPlan = VerifyPlan | IdentPlan;

export function dataPartsFor(protocols: readonly ProtocolName[]): DataPart[] {
  const parts = new Set<DataPart>();
  for (const p of protocols) {
    if (p === 'lfw-verify' || p === 'blufr-ident') { parts.add('lfw'); parts.add('pairs'); parts.add('blufr'); }
    else parts.add(p);
  }
  return [...parts];
}

const lfwItem = (r: FaceRef): Item => ({ dataset: 'lfw', path: r.path, person: r.person });

/**
 * The protocols' image lists. `limit` (for quick runs): verification keeps about `limit` pairs, taken
 * evenly from every fold (half same, half different when possible); identification keeps the first
 * `limit` gallery entries and at most `limit` probes of those people.
 */
export function planProtocols(protocols: readonly ProtocolName[], root: string, limit?: number): ProtocolPlan[] {
  let lfw: ReturnType<typeof buildLfwProtocol> | null = null;
  const getLfw = () => (lfw ??= buildLfwProtocol(root));
  const out: ProtocolPlan[] = [];
  for (const name of protocols) {
    if (name === 'lfw-verify') {
      let pairs: Pair[] = getLfw().pairs;
      if (limit !== undefined) {
        const folds = [...new Set(pairs.map((p) => p.fold))].sort((a, b) => a - b);
        const per = Math.max(2, Math.ceil(limit / folds.length));
        pairs = folds.flatMap((f) => {
          const s = pairs.filter((p) => p.fold === f && p.same), d = pairs.filter((p) => p.fold === f && !p.same);
          return [...s.slice(0, Math.ceil(per / 2)), ...d.slice(0, Math.floor(per / 2))];
        });
      }
      out.push({ kind: 'verify', name, pairs: pairs.map((p) => ({ a: lfwItem(p.a), b: lfwItem(p.b), same: p.same, fold: p.fold })) });
      continue;
    }
    let gallery: Item[], probes: Item[];
    if (name === 'blufr-ident') {
      const p = getLfw();
      gallery = p.gallery.map(lfwItem);
      probes = p.probes.map(lfwItem);
    } else {
      const p = name === 'orl' ? buildOrlProtocol(root) : buildYaleProtocol(root);
      const ds: Dataset = name;
      gallery = p.gallery.map((r) => ({ dataset: ds, path: r.path, person: r.person }));
      probes = p.probes.map((r) => ({ dataset: ds, path: r.path, person: r.person }));
    }
    if (limit !== undefined) {
      gallery = gallery.slice(0, limit);
      const people = new Set(gallery.map((g) => g.person));
      probes = probes.filter((p) => people.has(p.person)).slice(0, limit);
    }
    out.push({ kind: 'ident', name, gallery, probes });
  }
  return out;
}

/** Images needed at full resolution and, separately, as LR probes (deduplicated across protocols). */
export function neededItems(plans: readonly ProtocolPlan[]): { hr: Item[]; lr: Item[] } {
  const hr = new Map<string, Item>(), lr = new Map<string, Item>();
  for (const p of plans) {
    if (p.kind === 'verify') {
      for (const q of p.pairs) { hr.set(itemKey(q.a), q.a); hr.set(itemKey(q.b), q.b); lr.set(itemKey(q.b), q.b); }
    } else {
      for (const g of p.gallery) hr.set(itemKey(g), g);
      for (const q of p.probes) { hr.set(itemKey(q), q); lr.set(itemKey(q), q); }
    }
  }
  return { hr: [...hr.values()], lr: [...lr.values()] };
}

// ---------------------------------------------------------------------------------------------------
// Embeddings

/** Version of the input pipeline (framings, LR synthesis); part of every cache group name. */
export const PIPELINE_VERSION = 'p1';

/** FNV-1a of a string: the per-image index of the degradation draw. */
export function stableIndex(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export interface Condition {
  /** null = full resolution. */
  size: number | null;
  degrade: boolean;
}

export const condLabel = (c: Condition): string => (c.size === null ? 'full' : `${c.size}x${c.size}`);

export function groupName(c: Condition, sr: SuperResolver): string {
  return c.size === null ? `${PIPELINE_VERSION}-hr` : `${PIPELINE_VERSION}-lr${c.size}-${c.degrade ? 'deg3' : 'clean'}-sr${sr.hash}`;
}

const FACE_SOURCE: Record<Dataset, FaceSource> = { lfw: { dataset: 'lfw', framing: 'arcface' }, orl: { dataset: 'orl' }, yaleb: { dataset: 'yaleb' } };

/** Loads the aligned 112 crops of some items (any datasets); undecodable ones come back null. */
export async function loadHr(items: readonly Item[], root: string, onSkip?: (key: string, reason: string) => void): Promise<(ChwImage | null)[]> {
  const out: (ChwImage | null)[] = new Array(items.length).fill(null);
  for (const ds of ['lfw', 'orl', 'yaleb'] as const) {
    const idx = items.map((it, i) => [it, i] as const).filter(([it]) => it.dataset === ds);
    if (!idx.length) continue;
    const b = await loadFaces(idx.map(([it]) => it.path), FACE_SOURCE[ds], {
      root, concurrency: 4, onSkip: (s) => onSkip?.(`${ds}/${s.path}`, s.reason),
    });
    const [, c, h, w] = b.shape;
    b.index.forEach((j, k) => { out[idx[j]![1]] = { data: b.data.slice(k * c * h * w, (k + 1) * c * h * w), c, h, w }; });
  }
  return out;
}

/** The probe of an item at `cond` brought to 112 by `sr` (or the HR crop for full resolution). */
export async function probeImages(hr: readonly ChwImage[], keys: readonly string[], cond: Condition, sr: SuperResolver): Promise<{ lr: ChwImage[]; up: ChwImage[] }> {
  if (cond.size === null) return { lr: [...hr], up: [...hr] };
  const S = cond.size;
  const lr = await Promise.all(hr.map((x, k) => degradeLR(x, S, { model: cond.degrade ? 'degraded' : 'clean', seed: 3, index: stableIndex(keys[k]!) })));
  return { lr, up: await sr.run(lr) };
}

export interface EmbedStats { computed: number; cached: number; skipped: string[]; seconds: number }

export interface EmbedJob { cond: Condition; items: Item[] }

/**
 * Makes sure every (item, condition) of `jobs` has an embedding in the cache: the missing ones are
 * computed in batches of `batch` (one GPU readback per batch; the CPU work of the next batch overlaps
 * the GPU work of the current one). Returns the counts; undecodable images are skipped (listed).
 */
export async function computeEmbeddings(
  jobs: readonly EmbedJob[], rec: Recognizer, sr: SuperResolver, cache: EmbeddingCache, root: string,
  opts: { batch?: number; progress?: boolean; log?: (s: string) => void } = {},
): Promise<EmbedStats> {
  const B = Math.max(1, opts.batch ?? 32);
  const t0 = performance.now();
  const skipped: string[] = [];
  let cached = 0;
  const batches: { group: CacheGroup; cond: Condition; items: Item[] }[] = [];
  for (const j of jobs) {
    const group = cache.group(groupName(j.cond, sr));
    const missing = j.items.filter((it) => !group.has(itemKey(it)));
    cached += j.items.length - missing.length;
    for (let i = 0; i < missing.length; i += B) batches.push({ group, cond: j.cond, items: missing.slice(i, i + B) });
  }
  const total = batches.reduce((a, b) => a + b.items.length, 0);
  const bar = opts.progress === false || total === 0 ? null : new Progress('embedding', total);
  let inflight: { group: CacheGroup; keys: string[]; n: number; res: Promise<Float32Array> } | null = null;
  const finish = async () => {
    if (!inflight) return;
    const f = inflight;
    inflight = null;
    f.group.put(f.keys, await f.res);
    bar?.tick(f.n);
  };
  try {
    for (const b of batches) {
      const hr = await loadHr(b.items, root, (key, reason) => {
        skipped.push(key);
        opts.log?.(`lrfr: skipping undecodable image ${key}: ${reason}`);
      });
      const ok = b.items.map((it, k) => [it, hr[k]] as const).filter((p): p is readonly [Item, ChwImage] => p[1] !== null);
      bar?.tick(b.items.length - ok.length);
      if (!ok.length) continue;
      const keys = ok.map(([it]) => itemKey(it));
      const { up } = await probeImages(ok.map(([, x]) => x), keys, b.cond, sr);
      const prepared = up.map((x) => rec.prepare(x));
      const p0 = prepared[0]!;
      const px = p0.c * p0.h * p0.w;
      const x = new Float32Array(prepared.length * px);
      prepared.forEach((p, k) => x.set(p.data, k * px));
      await finish();
      inflight = { group: b.group, keys, n: keys.length, res: rec.embed(x, [prepared.length, p0.c, p0.h, p0.w]) };
    }
    await finish();
  } finally {
    if (inflight) await (inflight as { res: Promise<unknown> }).res.catch(() => {});
    bar?.finish();
  }
  return { computed: total - skipped.length, cached, skipped, seconds: (performance.now() - t0) / 1000 };
}

// ---------------------------------------------------------------------------------------------------
// Scores and metrics

function normalizeRows(e: Float32Array, dim: number): Float32Array {
  const o = new Float32Array(e.length);
  for (let r = 0; r < e.length / dim; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += e[r * dim + i]! ** 2;
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let i = 0; i < dim; i++) o[r * dim + i] = e[r * dim + i]! * inv;
  }
  return o;
}

/** score(a_i, b_j) for all i, j (row-major [na, nb]): cosine, or -Euclidean distance. */
export function scoreMatrix(a: Float32Array, b: Float32Array, dim: number, metric: Metric): Float64Array {
  const na = a.length / dim, nb = b.length / dim;
  const A = metric === 'cosine' ? normalizeRows(a, dim) : a, Bm = metric === 'cosine' ? normalizeRows(b, dim) : b;
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      let s = 0;
      if (metric === 'cosine') for (let k = 0; k < dim; k++) s += A[i * dim + k]! * Bm[j * dim + k]!;
      else { for (let k = 0; k < dim; k++) { const d = A[i * dim + k]! - Bm[j * dim + k]!; s += d * d; } s = -Math.sqrt(s); }
      out[i * nb + j] = s;
    }
  }
  return out;
}

/** score(a_i, b_i) for paired rows. */
export function pairScores(a: Float32Array, b: Float32Array, dim: number, metric: Metric): Float64Array {
  const n = a.length / dim;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = scoreMatrix(a.subarray(i * dim, (i + 1) * dim), b.subarray(i * dim, (i + 1) * dim), dim, metric)[0]!;
  return out;
}

/** AUC = P(g > i) + P(g = i) / 2 over all genuine x impostor score pairs (= metrics.roc's AUC). */
export function aucMannWhitney(genuine: ArrayLike<number>, impostor: ArrayLike<number>): number {
  const g = Float64Array.from(genuine).sort(), im = Float64Array.from(impostor).sort();
  // j = #impostors < v, k = #impostors <= v, for the genuine scores v in increasing order
  let j = 0, k = 0, acc = 0;
  for (let i = 0; i < g.length; i++) {
    const v = g[i]!;
    while (j < im.length && im[j]! < v) j++;
    if (k < j) k = j;
    while (k < im.length && im[k]! === v) k++;
    acc += j + (k - j) / 2;
  }
  return acc / (g.length * im.length);
}

export interface ResultRow {
  protocol: ProtocolName;
  kind: 'verify' | 'ident';
  resolution: string;
  size: number | null;
  /** Pairs (verification) or probes (identification). */
  n: number;
  gallery?: number;
  genuine: number;
  impostors: number;
  rank1?: number;
  rank5?: number;
  rank10?: number;
  cmc?: number[];
  acc?: number;
  accStd?: number;
  foldAccuracies?: number[];
  tar1e2: number;
  tar1e3: number;
  /** The FAR actually reached by each TAR threshold (<= the asked one). */
  far1e2: number;
  far1e3: number;
  auc: number;
  /** ROC curve (verification), thinned to at most ~400 points. */
  roc?: { fpr: number[]; tpr: number[] };
  /** Entries dropped because an image could not be decoded. */
  dropped: number;
}

function thinRoc(r: { fpr: number[]; tpr: number[] }, max = 400): { fpr: number[]; tpr: number[] } {
  if (r.fpr.length <= max) return { fpr: r.fpr, tpr: r.tpr };
  const keep: number[] = [];
  const step = r.fpr.length / max;
  for (let i = 0; i < r.fpr.length; i += step) keep.push(Math.floor(i));
  // keep the low-FAR end densely (log axis): every point with FPR < 1e-2
  const low = r.fpr.map((f, i) => [f, i] as const).filter(([f]) => f < 1e-2).map(([, i]) => i);
  const idx = [...new Set([...keep, ...low, r.fpr.length - 1])].sort((a, b) => a - b);
  return { fpr: idx.map((i) => r.fpr[i]!), tpr: idx.map((i) => r.tpr[i]!) };
}

type Lookup = (it: Item, cond: Condition) => Float32Array | undefined;

function stack(vs: Float32Array[], dim: number): Float32Array {
  const o = new Float32Array(vs.length * dim);
  vs.forEach((v, i) => o.set(v, i * dim));
  return o;
}

/** The metrics of one protocol at one condition (see metrics.ts for the definitions). */
export function evaluatePlan(plan: ProtocolPlan, cond: Condition, get: Lookup, dim: number, metric: Metric): ResultRow {
  const full: Condition = { size: null, degrade: false };
  const base = { protocol: plan.name, kind: plan.kind, resolution: condLabel(cond), size: cond.size };
  if (plan.kind === 'verify') {
    const ok = plan.pairs.filter((p) => get(p.a, full) && get(p.b, cond));
    const A = stack(ok.map((p) => get(p.a, full)!), dim), Bv = stack(ok.map((p) => get(p.b, cond)!), dim);
    const s = pairScores(A, Bv, dim, metric);
    const same = ok.map((p) => p.same);
    const gen = s.filter((_, i) => same[i]), imp = s.filter((_, i) => !same[i]);
    const kf = kFoldAccuracy(s, same, ok.map((p) => p.fold));
    const r = roc(gen, imp);
    const t2 = tarAtFar(gen, imp, 1e-2), t3 = tarAtFar(gen, imp, 1e-3);
    return {
      ...base, n: ok.length, genuine: gen.length, impostors: imp.length, acc: kf.mean, accStd: kf.std, foldAccuracies: kf.accuracies,
      tar1e2: t2.tar, tar1e3: t3.tar, far1e2: t2.far, far1e3: t3.far, auc: r.auc, roc: thinRoc(r), dropped: plan.pairs.length - ok.length,
    };
  }
  const gal = plan.gallery.filter((g) => get(g, full));
  const galPeople = new Set(gal.map((g) => g.person));
  const probes = plan.probes.filter((p) => galPeople.has(p.person) && get(p, cond));
  const G = stack(gal.map((g) => get(g, full)!), dim), P = stack(probes.map((p) => get(p, cond)!), dim);
  const sim = scoreMatrix(P, G, dim, metric);
  const pl = probes.map((p) => p.person), gl = gal.map((g) => g.person);
  const c = cmc(sim, pl, gl, 20);
  const gen: number[] = [], imp = new Float64Array(sim.length);
  let ni = 0;
  for (let i = 0; i < probes.length; i++) for (let j = 0; j < gal.length; j++) {
    const v = sim[i * gal.length + j]!;
    if (pl[i] === gl[j]) gen.push(v); else imp[ni++] = v;
  }
  const impostors = imp.subarray(0, ni);
  const t2 = tarAtFar(gen, impostors, 1e-2), t3 = tarAtFar(gen, impostors, 1e-3);
  return {
    ...base, n: probes.length, gallery: gal.length, genuine: gen.length, impostors: ni,
    rank1: c.cmc[0]!, rank5: c.cmc[4]!, rank10: c.cmc[9]!, cmc: [...c.cmc],
    tar1e2: t2.tar, tar1e3: t3.tar, far1e2: t2.far, far1e3: t3.far, auc: aucMannWhitney(gen, impostors),
    dropped: plan.probes.length + plan.gallery.length - probes.length - gal.length,
  };
}

// ---------------------------------------------------------------------------------------------------
// The whole run

export interface EvalOptions {
  recognizer: string;
  sr: string;
  sizes: number[];
  degrade: boolean;
  protocols: ProtocolName[];
  dataRoot?: string;
  limit?: number;
  cacheDir: string;
  batch?: number;
  metric?: Metric;
  progress?: boolean;
  log?: (s: string) => void;
}

export interface EvalRun {
  rows: ResultRow[];
  plans: ProtocolPlan[];
  root: string;
  recognizer: { name: string; hash: string; dim: number; metric: Metric; framing: string };
  sr: { name: string; hash: string };
  conditions: Condition[];
  embed: EmbedStats & { images: number; perImageMs: number };
  /** Live objects for the figures (disposed by the caller with dispose()). */
  rec: Recognizer;
  srModel: SuperResolver;
  dispose(): void;
}

export function checkSizes(sizes: readonly number[]): void {
  for (const s of sizes) {
    if (!(LR_SIZES as readonly number[]).includes(s)) throw new Error(`unknown size ${s} (known: ${LR_SIZES.join(', ')})`);
  }
}

export async function runEvaluation(o: EvalOptions): Promise<EvalRun> {
  checkSizes(o.sizes);
  const root = checkDataRoot(o.dataRoot, dataPartsFor(o.protocols));
  const plans = planProtocols(o.protocols, root, o.limit);
  const rec = await loadRecognizer(o.recognizer);
  let sr: SuperResolver;
  try {
    sr = await loadSuperResolver(o.sr);
    if (sr.sizes) {
      const missing = o.sizes.filter((s) => !sr.sizes!.includes(s));
      if (missing.length) {
        sr.dispose();
        throw new Error(`the SR model(s) ${sr.name} take ${sr.sizes.join(', ')}x probes; none for ${missing.join(', ')} (pass one model per size, comma-separated, or choose --sizes ${sr.sizes.join(',')})`);
      }
    }
  } catch (e) {
    rec.dispose();
    throw e;
  }
  const dispose = () => { sr.dispose(); rec.dispose(); };
  try {
    const metric = o.metric ?? rec.metric;
    const cache = new EmbeddingCache(o.cacheDir, rec.hash, rec.dim);
    const { hr, lr } = neededItems(plans);
    const sizes = [...new Set(o.sizes)].sort((a, b) => b - a);
    const conditions: Condition[] = [{ size: null, degrade: false }, ...sizes.map((s) => ({ size: s, degrade: o.degrade }))];
    const jobs: EmbedJob[] = conditions.map((c) => ({ cond: c, items: c.size === null ? hr : lr }));
    const f0 = evalCounters.forwards;
    const stats = await computeEmbeddings(jobs, rec, sr, cache, root, { batch: o.batch, progress: o.progress, log: o.log });
    const images = evalCounters.forwards - f0;
    const get: Lookup = (it, c) => cache.group(groupName(c, sr)).get(itemKey(it));
    const rows: ResultRow[] = [];
    for (const p of plans) for (const c of conditions) rows.push(evaluatePlan(p, c, get, rec.dim, metric));
    return {
      rows, plans, root, conditions,
      recognizer: { name: rec.name, hash: rec.hash, dim: rec.dim, metric, framing: rec.framing },
      sr: { name: sr.name, hash: sr.hash },
      embed: { ...stats, images, perImageMs: images ? (1000 * stats.seconds) / images : 0 },
      rec, srModel: sr, dispose,
    };
  } catch (e) {
    dispose();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// Report

const pct = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? '—' : (100 * v).toFixed(d));

/** The markdown table of a run (see the CLI help for the columns). */
export function markdownTable(rows: readonly ResultRow[]): string {
  const head = ['protocol', 'resolution', 'rank-1', 'rank-5', 'rank-10', '10-fold acc', 'TAR@FAR=1e-2', 'TAR@FAR=1e-3 (impostors)', 'AUC', 'N'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const acc = r.acc === undefined ? '—' : `${pct(r.acc)} ± ${pct(r.accStd)}`;
    const n = r.kind === 'ident' ? `${r.n} probes / ${r.gallery} gallery` : `${r.n} pairs`;
    lines.push(`| ${[r.protocol, r.resolution, pct(r.rank1), pct(r.rank5), pct(r.rank10), acc, pct(r.tar1e2), `${pct(r.tar1e3)} (${r.impostors})`, pct(r.auc), n].join(' | ')} |`);
  }
  return lines.join('\n');
}
