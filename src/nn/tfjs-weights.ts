// TensorFlow.js weights (model.json "weightsManifest" / *-weights_manifest.json + binary shards),
// browser-safe. The manifest is an array of groups { paths, weights: [{ name, shape, dtype,
// quantization? }] }; the shards of all groups, concatenated in order, hold the weights back to back
// in manifest order, each taking product(shape) × bytes of its stored dtype (the quantization dtype
// when quantized). Decoding matches tf.io.decodeWeights value for value: affine uint8/uint16 is
// q·scale + min computed in double and rounded once to float32 (int32 weights: Math.round of it, as int32),
// float16 is converted exactly, int32 and bool become float32 values.
import { fmtShape } from '../runtime/index.js';
import { f16ToF32, type NamedArray } from './safetensors.js';

export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
  original_dtype?: string;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  quantization?: TfjsQuantization;
}

export interface TfjsWeightsGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function fail(msg: string): never {
  throw new Error(`tfjs weights: ${msg}`);
}

/** A manifest value for an error message ("missing" when absent), cut to 80 characters. */
function show(x: unknown): string {
  return x === undefined ? '(missing)' : (JSON.stringify(x) ?? String(x)).slice(0, 80);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Checks the structure of a weights manifest (or a model.json object, whose `weightsManifest` is
 * used) and returns it typed. Every problem throws, naming the group/weight.
 */
export function parseTfjsManifest(manifest: unknown): TfjsWeightsGroup[] {
  if (isObject(manifest) && 'weightsManifest' in manifest) manifest = manifest.weightsManifest;
  if (!Array.isArray(manifest)) fail(`manifest must be an array of groups { paths, weights }, got ${manifest === null ? 'null' : typeof manifest}`);
  const names = new Set<string>();
  return manifest.map((g, gi) => {
    const wg = `group ${gi}`;
    if (!isObject(g)) fail(`${wg} must be an object { paths, weights }`);
    if (!Array.isArray(g.paths) || g.paths.some((p) => typeof p !== 'string')) fail(`${wg}: "paths" must be an array of strings`);
    if (!Array.isArray(g.weights)) fail(`${wg}: "weights" must be an array`);
    const weights = g.weights.map((w, wi): TfjsWeightSpec => {
      if (!isObject(w)) fail(`${wg} weight ${wi} must be an object { name, shape, dtype }`);
      if (typeof w.name !== 'string' || w.name === '') fail(`${wg} weight ${wi}: "name" must be a non-empty string`);
      const where = `weight "${w.name}"`;
      if (names.has(w.name)) fail(`${where} appears twice in the manifest`);
      names.add(w.name);
      if (!Array.isArray(w.shape) || w.shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
        fail(`${where}: shape must be an array of non-negative integers, got ${show(w.shape)}`);
      }
      const dtype = w.dtype;
      if (dtype === 'string' || dtype === 'complex64') fail(`${where}: dtype ${dtype} is not supported (supported: float32, int32, bool)`);
      if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') fail(`${where}: unknown dtype ${show(dtype)}`);
      const spec: TfjsWeightSpec = { name: w.name, shape: [...(w.shape as number[])], dtype };
      if (w.quantization !== undefined) {
        const q = w.quantization;
        if (!isObject(q)) fail(`${where}: quantization must be an object`);
        if (q.dtype !== 'uint8' && q.dtype !== 'uint16' && q.dtype !== 'float16') {
          fail(`${where}: unknown quantization dtype ${show(q.dtype)} (supported: uint8, uint16, float16)`);
        }
        if (q.dtype === 'float16') {
          if (dtype !== 'float32') fail(`${where}: float16 quantization only applies to float32 weights, not ${dtype}`);
        } else {
          if (dtype === 'bool') fail(`${where}: ${q.dtype} quantization does not apply to bool weights`);
          if (typeof q.scale !== 'number' || !Number.isFinite(q.scale) || typeof q.min !== 'number' || !Number.isFinite(q.min)) {
            fail(`${where}: ${q.dtype} quantization needs finite numbers "scale" and "min", got ${JSON.stringify({ scale: q.scale, min: q.min })}`);
          }
        }
        spec.quantization = { dtype: q.dtype, scale: q.scale as number | undefined, min: q.min as number | undefined };
        if (typeof q.original_dtype === 'string') spec.quantization.original_dtype = q.original_dtype;
      }
      return spec;
    });
    return { paths: [...(g.paths as string[])], weights };
  });
}

function concat(shards: readonly Uint8Array[]): Uint8Array {
  if (shards.length === 1) return shards[0]!;
  const total = shards.reduce((a, s) => a + s.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const s of shards) {
    out.set(s, p);
    p += s.length;
  }
  return out;
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes each weight takes in the shards (its stored dtype). */
export function tfjsWeightBytes(w: TfjsWeightSpec): number {
  return size(w.shape) * STORED_BYTES[w.quantization?.dtype ?? w.dtype]!;
}

/**
 * Decodes the weights of a manifest from its shards (all groups' shards, concatenated in manifest
 * order) to float32 arrays by weight name.
 */
export function decodeTfjsWeights(manifest: unknown, shards: readonly Uint8Array[]): Map<string, NamedArray> {
  const groups = parseTfjsManifest(manifest);
  if (!Array.isArray(shards) || shards.some((s) => !(s instanceof Uint8Array))) fail('shards must be an array of Uint8Array');
  const bytes = concat(shards);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Map<string, NamedArray>();
  let pos = 0;
  for (const g of groups) {
    for (const w of g.weights) {
      const n = size(w.shape);
      const nb = tfjsWeightBytes(w);
      if (pos + nb > bytes.length) {
        fail(`weight "${w.name}" ${fmtShape(w.shape)} needs bytes [${pos}, ${pos + nb}) but the shards hold only ${bytes.length} bytes (truncated shard?)`);
      }
      const data = new Float32Array(n);
      const q = w.quantization;
      if (q && q.dtype !== 'float16') {
        const scale = q.scale!, min = q.min!;
        const u16 = q.dtype === 'uint16';
        for (let i = 0; i < n; i++) {
          const v = u16 ? dv.getUint16(pos + 2 * i, true) : bytes[pos + i]!;
          // int32: stored as tfjs stores it (Int32Array: ToInt32 of the rounded value; -0 becomes 0).
          data[i] = w.dtype === 'int32' ? Math.round(v * scale + min) | 0 : v * scale + min;
        }
      } else if (q) {
        for (let i = 0; i < n; i++) data[i] = f16ToF32(dv.getUint16(pos + 2 * i, true));
      } else if (w.dtype === 'float32') {
        for (let i = 0; i < n; i++) data[i] = dv.getFloat32(pos + 4 * i, true);
      } else if (w.dtype === 'int32') {
        for (let i = 0; i < n; i++) data[i] = dv.getInt32(pos + 4 * i, true);
      } else {
        for (let i = 0; i < n; i++) data[i] = bytes[pos + i]!;
      }
      out.set(w.name, { shape: [...w.shape], data });
      pos += nb;
    }
  }
  if (pos < bytes.length) fail(`${bytes.length - pos} extra bytes after the last weight (manifest needs ${pos}, shards hold ${bytes.length})`);
  return out;
}
