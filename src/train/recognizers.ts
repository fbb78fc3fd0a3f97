// Recognizers (112 crop -> embedding) and super-resolvers (LR probe -> 112 crop) for evaluation, built
// from weights files through the model registry (src/nn/registry.ts). dlib's face-api weights are
// read by a loader the caller injects (src/train imports nothing from src/node: lrfr eval passes
// src/node/dlib.ts's loadFaceApiDlib).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import * as L from '../runtime/index.js';
import type { ChwImage } from './image.js';
import { upsample, clamp01, HR_SIZE } from './degrade.js';
import { hashBytes, hashString } from './embed-cache.js';
import { DLIB_FRAMING, dlibInputFrom112 } from './framing.js';
import { DLIB_EMBEDDING_SIZE, type DlibResNet } from '../nn/dlib-resnet.js';
import type { EdgeFaceXXS } from '../nn/edgeface.js';
import type { MobileFaceNet } from '../nn/mobilefacenet.js';
import { SR_NETWORKS, srNetworkName, type SrNetwork } from '../nn/sr-network.js';
import { decodeSafetensors, loadStateInto } from '../nn/safetensors.js';
import { knownModelName, modelFromMetadata } from '../nn/registry.js';

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
  /** Parameters of the network as run (dlib: with its scale layers fused into the convs). */
  params: number;
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

/**
 * Compiling a model's pipelines before its first forward of each input shape (Node: src/node/prime.ts
 * primeFirstRun, which spreads a cold compile over the cores); null: compiled on first dispatch. Given
 * a function that records the forward, under Engine.collectPipelines. Set by the CLI (lrfr eval, demo).
 */
export const evalPrime: { fn: ((forward: () => void) => Promise<unknown>) | null } = { fn: null };
const primedShapes = new WeakMap<object, Set<string>>();

/** Whether (model, shape) is met for the first time in `seen` (and marks it). */
function firstUse(seen: WeakMap<object, Set<string>>, model: object, shape: readonly number[]): boolean {
  const s = seen.get(model) ?? new Set<string>();
  seen.set(model, s);
  const key = shape.join('x');
  if (s.has(key)) return false;
  s.add(key);
  return true;
}

/** Before a model's first forward of an input shape: autotune (if on), then prime its pipelines (if set). */
async function beforeFirstUse(model: object, fn: (x: L.Tensor) => L.Tensor, x: Float32Array, shape: readonly number[]): Promise<void> {
  if (evalAutotune.enabled && firstUse(tunedShapes, model, shape)) await L.autotune(() => L.noGrad(() => fn(L.tensor(x, shape))));
  const prime = evalPrime.fn;
  if (prime && firstUse(primedShapes, model, shape)) await prime(() => void L.noGrad(() => fn(L.tensor(x, shape))));
}

async function runModel(model: object, fn: (x: L.Tensor) => L.Tensor, x: Float32Array, shape: readonly [number, number, number, number]): Promise<Float32Array> {
  await beforeFirstUse(model, fn, x, shape);
  const y = L.noGrad(() => L.tidy(() => fn(L.tensor(x, shape))));
  evalCounters.forwards += shape[0];
  evalCounters.batches++;
  try {
    return await y.data();
  } finally {
    y.dispose();
  }
}

/**
 * Loads the `dlib` recognizer (face-api's shipped weights, fused, eval mode) and the hash of the
 * files it came from (the embedding cache key). In Node: src/node/dlib.ts loadFaceApiDlib.
 */
export type DlibLoader = () => Promise<{ model: DlibResNet; hash: string }>;

export interface LoadRecognizerOptions {
  /** How `dlib` is loaded (required for the spec `dlib`). */
  loadDlib?: DlibLoader;
}

function dlibRecognizer(model: DlibResNet, name: string, hash: string): Recognizer {
  return {
    name, hash, dim: DLIB_EMBEDDING_SIZE, metric: 'euclidean', framing: DLIB_FRAMING, params: model.numParameters(),
    prepare: dlibInputFrom112,
    embed: (x, shape) => runModel(model, (t) => model.forward(t), x, shape),
    dispose: () => model.dispose(),
  };
}

/** A recognizer's module as loaded (eval mode; dlib fused), for callers that run it themselves. */
export interface RecognizerModel {
  kind: 'dlib-resnet' | 'edgeface-xxs' | 'mobilefacenet';
  model: DlibResNet | EdgeFaceXXS | MobileFaceNet;
  name: string;
  /** Hash of the weight bytes. */
  hash: string;
}

/**
 * `dlib` (face-api's shipped weights, fused) or a safetensors file saved by saveSafetensorsFile whose
 * metadata.model names dlib (DlibResNet), EdgeFace (EdgeFaceXXS) or MobileFaceNet (metadata.config its
 * config), as a module in eval mode. A file that fails to load throws the loader's message.
 */
export async function loadRecognizerModel(spec: string, opts: LoadRecognizerOptions = {}): Promise<RecognizerModel> {
  if (spec === 'dlib') {
    if (!opts.loadDlib) throw new Error('recognizer dlib: no loader for face-api\'s weights was given (pass loadDlib; in Node, loadFaceApiDlib from src/node/dlib.ts)');
    const { model, hash } = await opts.loadDlib();
    return { kind: 'dlib-resnet', model, name: 'dlib', hash };
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
  const known = knownModelName(kind);
  if (known !== 'dlib-resnet' && known !== 'edgeface-xxs' && known !== 'mobilefacenet') {
    throw new Error(`${spec}: unknown recognizer model "${kind}" in the file's metadata (known: dlib, edgeface, mobilefacenet)`);
  }
  const model = wrap(spec, () => modelFromMetadata(metadata, spec).model.eval());
  wrap(spec, () => loadStateInto(model, tensors, metadata), () => model.dispose());
  if (known === 'dlib-resnet') (model as DlibResNet).fuse();
  return { kind: known, model: model as DlibResNet | EdgeFaceXXS | MobileFaceNet, name, hash };
}

/** loadRecognizerModel wrapped for evaluation (framing, batched embedding, metric). */
export async function loadRecognizer(spec: string, opts: LoadRecognizerOptions = {}): Promise<Recognizer> {
  const r = await loadRecognizerModel(spec, opts);
  if (r.kind === 'dlib-resnet') return dlibRecognizer(r.model as DlibResNet, r.name, r.hash);
  // EdgeFace-XXS and MobileFaceNet: the 112 crop in [0, 1], cosine
  const ef = r.model as EdgeFaceXXS | MobileFaceNet;
  return {
    name: r.name, hash: r.hash, dim: ef.config.embeddingSize, metric: 'cosine', framing: 'the aligned 112 crop as is', params: ef.numParameters(),
    prepare: (img) => img,
    embed: (x, shape) => runModel(ef, (t) => ef.embed(t), x, shape),
    dispose: () => ef.dispose(),
  };
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
  /** Parameters of its network at each probe size (bicubic: none; several files: the one for that size). */
  paramsAt(size: number): number;
  dispose(): void;
}

export const BICUBIC: SuperResolver = {
  name: 'bicubic', hash: 'bicubic', sizes: null, paramsAt: () => 0,
  run: async (lr) => lr.map((x) => upsample(x, HR_SIZE)),
  dispose: () => {},
};

/** A super-resolver's safetensors file (DSR or WDSR; metadata.config its config) as a module in eval mode, and the hash of its bytes. */
export function loadDsrModel(f: string): { model: SrNetwork; hash: string } {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(f));
  } catch (e) {
    throw new Error(`cannot read SR model ${f}: ${(e as Error).message}`, { cause: e });
  }
  const { metadata, tensors } = wrap(f, () => decodeSafetensors(bytes));
  // a file without metadata.model is taken for a DSR (metadata.config its DsrConfig)
  const name = srNetworkName(metadata.model);
  if (name === null) throw new Error(`${f}: not a super-resolver (metadata.model is "${metadata.model}"; known: ${SR_NETWORKS.join(', ')})`);
  const m = wrap(f, () => modelFromMetadata({ ...metadata, model: name }, f).model.eval() as SrNetwork);
  wrap(f, () => loadStateInto(m, tensors, metadata), () => m.dispose());
  return { model: m, hash: hashBytes(bytes) };
}

/**
 * 'bicubic', or one or more DSR safetensors files (comma-separated; metadata.config = the DsrConfig,
 * one model per probe size config.inputSize).
 */
export async function loadSuperResolver(spec: string): Promise<SuperResolver> {
  if (spec === 'bicubic') return BICUBIC;
  const files = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const models = new Map<number, SrNetwork>();
  const hashes: string[] = [];
  const disposeAll = () => { for (const m of new Set(models.values())) m.dispose(); };
  try {
    for (const f of files) {
      const { model: m, hash } = loadDsrModel(f);
      hashes.push(hash);
      if (m.config.outputSize !== HR_SIZE) { m.dispose(); throw new Error(`${f}: the model outputs ${m.config.outputSize}x${m.config.outputSize}, expected ${HR_SIZE}`); }
      const own = [m.config.inputSize, ...m.probeSizes];
      const dup = own.find((S) => models.has(S));
      if (dup !== undefined) { m.dispose(); throw new Error(`${f}: a second SR model for ${dup}x${dup} probes`); }
      for (const S of own) models.set(S, m);
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
    paramsAt: (S) => models.get(S)?.numParameters() ?? 0,
    async run(lr) {
      if (lr.length === 0) return [];
      const S = lr[0]!.h;
      const m = models.get(S);
      if (!m) throw new Error(`no SR model for ${S}x${S} probes (the models given take ${sizes.join(', ')})`);
      const n = lr.length, px = 3 * S * S;
      const x = new Float32Array(n * px);
      lr.forEach((img, k) => x.set(img.data, k * px));
      await beforeFirstUse(m, (t) => m.forward(t), x, [n, 3, S, S]);
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
