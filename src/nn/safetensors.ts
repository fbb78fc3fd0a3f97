// safetensors checkpoints (https://github.com/huggingface/safetensors), browser-safe (bytes only).
// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON header, then the data section.
// Header: { "<name>": { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } },
// offsets relative to the data section. Writing follows the reference implementation byte for byte
// (for F32): "__metadata__" first, tensors sorted by name, compact JSON, header padded with spaces to
// a multiple of 8. Reading validates the whole file before returning anything.
import { Tensor, getEngine, fmtShape, shapeSize } from '../runtime/index.js';
import type { Module } from './module.js';

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export interface DecodedTensor extends NamedArray {
  /** The dtype stored in the file (data is always converted to float32). */
  dtype: string;
}

export interface DecodedSafetensors {
  metadata: Record<string, string>;
  tensors: Map<string, DecodedTensor>;
}

/** Same limit as the reference implementation. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of every dtype the format defines (for size validation). */
const DTYPE_BYTES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const SUPPORTED = ['F32', 'F16', 'BF16'];

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------- encode

function utf8Compare(a: string, b: string, enc: TextEncoder): number {
  const x = enc.encode(a), y = enc.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Encodes float32 tensors as a safetensors file. Keys are sorted (by UTF-8 bytes, as the reference
 * implementation does); `__metadata__` is written first and omitted when `metadata` is empty.
 */
export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const enc = new TextEncoder();
  const names = [...tensors.keys()].sort((a, b) => utf8Compare(a, b, enc));
  const parts: string[] = [];
  const metaKeys = Object.keys(metadata).sort((a, b) => utf8Compare(a, b, enc));
  if (metaKeys.length) {
    const kv = metaKeys.map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new Error(`encodeSafetensors: metadata "${k}" must be a string, got ${typeof v}`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`"__metadata__":{${kv.join(',')}}`);
  }
  let offset = 0;
  for (const name of names) {
    if (name === '' || name === '__metadata__') throw new Error(`encodeSafetensors: invalid tensor name ${JSON.stringify(name)}`);
    const { shape, data } = tensors.get(name)!;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`encodeSafetensors: tensor "${name}" has invalid shape ${String(shape)}`);
    }
    if (!(data instanceof Float32Array)) throw new Error(`encodeSafetensors: tensor "${name}" data must be a Float32Array`);
    if (shapeSize(shape) !== data.length) {
      throw new Error(`encodeSafetensors: tensor "${name}" has ${data.length} values, shape ${fmtShape(shape)} needs ${shapeSize(shape)}`);
    }
    const end = offset + data.length * 4;
    parts.push(`${JSON.stringify(name)}:{"dtype":"F32","shape":[${shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = enc.encode(`{${parts.join(',')}}`);
  const pad = (8 - (json.length % 8)) % 8;
  const headerLen = json.length + pad;
  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen, true);
  view.setUint32(4, Math.floor(headerLen / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const name of names) {
    const { data } = tensors.get(name)!;
    if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    else for (let i = 0; i < data.length; i++) view.setFloat32(pos + 4 * i, data[i]!, true);
    pos += data.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------- decode

function fail(msg: string): never {
  throw new Error(`invalid safetensors file: ${msg}`);
}

/** IEEE half → float (exact: every f16 value is representable in f32). */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function convert(dtype: string, bytes: Uint8Array, n: number): Float32Array {
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    // A fresh, aligned copy. Not `bytes.slice().buffer`: a Node Buffer's slice() is a view into its
    // (pooled, larger) ArrayBuffer, so that would hand back other bytes of the pool.
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes.subarray(0, 4 * n));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  if (dtype === 'F32') {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  } else if (dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(2 * i, true));
  } else {
    const u = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Decodes a safetensors file to float32 tensors (F32, F16 and BF16 are converted; other dtypes are
 * rejected). Every structural problem throws an Error that starts with "invalid safetensors file:".
 */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  if (!(bytes instanceof Uint8Array)) fail('expected a Uint8Array');
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true), hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi !== 0 || n > MAX_HEADER_BYTES) fail(`header length ${hi ? `${n} (≥ 2^32)` : n} is absurd (limit ${MAX_HEADER_BYTES} bytes)`);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes): file truncated?`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, got ${Array.isArray(header) ? 'an array' : header === null ? 'null' : typeof header}`);

  const metadata: Record<string, string> = {};
  if ('__metadata__' in header) {
    const m = header.__metadata__;
    if (!isPlainObject(m)) fail('"__metadata__" must be an object of strings');
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') fail(`"__metadata__.${k}" must be a string, got ${JSON.stringify(v)}`);
      metadata[k] = v;
    }
  }

  interface Entry { name: string; dtype: string; shape: number[]; begin: number; end: number }
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const where = `tensor "${name}"`;
    if (!isPlainObject(info)) fail(`${where}: entry must be an object`);
    for (const f of ['dtype', 'shape', 'data_offsets']) if (!(f in info)) fail(`${where}: missing "${f}"`);
    const { dtype, shape, data_offsets: offs } = info;
    if (typeof dtype !== 'string') fail(`${where}: dtype must be a string, got ${JSON.stringify(dtype)}`);
    if (!(dtype in DTYPE_BYTES)) fail(`${where}: unknown dtype "${dtype}"`);
    if (!SUPPORTED.includes(dtype)) fail(`${where}: dtype ${dtype} is not supported (supported: ${SUPPORTED.join(', ')})`);
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
      fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || offs.some((o) => typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0)) {
      fail(`${where}: data_offsets must be [begin, end] (non-negative integers), got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    const count = shapeSize(shape as number[]);
    const need = count * DTYPE_BYTES[dtype]!;
    if (!Number.isSafeInteger(need)) fail(`${where}: shape ${fmtShape(shape as number[])} is too large`);
    if (end - begin !== need) {
      fail(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes, but ${dtype} ${fmtShape(shape as number[])} needs ${need}`);
    }
    entries.push({ name, dtype, shape: [...(shape as number[])], begin, end });
  }

  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | null = null;
  for (const e of sorted) {
    if (e.begin < pos) fail(`tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev!.name}" [${prev!.begin}, ${prev!.end}]`);
    if (e.begin > pos) fail(`hole in the data section: bytes [${pos}, ${e.begin}) before tensor "${e.name}" belong to no tensor`);
    if (e.end > dataLen) {
      fail(`tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] run past the end of the data section (${dataLen} bytes): file truncated?`);
    }
    pos = e.end;
    prev = e;
  }
  if (pos < dataLen) fail(`${dataLen - pos} trailing bytes after the last tensor (data section is ${dataLen} bytes, tensors end at ${pos})`);

  const tensors = new Map<string, DecodedTensor>();
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: convert(e.dtype, raw, shapeSize(e.shape)) });
  }
  return { metadata, tensors };
}

// ---------------------------------------------------------------------------------------- modules

/**
 * Reads many tensors back with one submit and one map: every tensor is copied into a shared
 * staging buffer (chunked at maxBufferSize), then all maps are awaited together.
 */
export async function readTensors(tensors: readonly Tensor[]): Promise<Float32Array[]> {
  const engine = getEngine();
  const device = engine.device;
  const limit = Math.min(Number(device.limits.maxBufferSize) || 256 << 20, 1 << 30);
  const chunks: { buffer: GPUBuffer; items: { index: number; offset: number; bytes: number }[] }[] = [];
  let cur: { size: number; items: { index: number; offset: number; bytes: number }[] } = { size: 0, items: [] };
  const plans: (typeof cur)[] = [];
  tensors.forEach((t, index) => {
    const bytes = t.size * 4;
    void t.buffer; // throws (naming the tensor) if disposed, before anything is recorded
    if (bytes === 0) return;
    if (bytes > limit) throw new Error(`readTensors: tensor ${t.name ?? `#${t.id}`} ${fmtShape(t.shape)} exceeds maxBufferSize`);
    if (cur.size + bytes > limit) {
      plans.push(cur);
      cur = { size: 0, items: [] };
    }
    cur.items.push({ index, offset: cur.size, bytes });
    cur.size += bytes;
  });
  if (cur.items.length) plans.push(cur);
  for (const p of plans) {
    const buffer = device.createBuffer({ size: p.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    for (const it of p.items) engine.copyBuffer(tensors[it.index]!.buffer, 0, buffer, it.offset, it.bytes);
    chunks.push({ buffer, items: p.items });
  }
  engine.flush();
  engine.stats.readbacks += chunks.length;
  const out: Float32Array[] = tensors.map(() => new Float32Array(0));
  try {
    await Promise.all(chunks.map((c) => c.buffer.mapAsync(GPUMapMode.READ)));
    for (const c of chunks) {
      const range = c.buffer.getMappedRange();
      for (const it of c.items) out[it.index] = new Float32Array(range.slice(it.offset, it.offset + it.bytes));
      c.buffer.unmap();
    }
  } finally {
    for (const c of chunks) c.buffer.destroy();
  }
  engine.throwIfErrors();
  return out;
}

/** What saveModuleBytes stores in `__metadata__`: non-string values are JSON-encoded. */
export interface ModuleMetadata {
  /** Model name. */
  model: string;
  /** Model configuration (an object, JSON-encoded; or a JSON string). */
  config: unknown;
  [key: string]: unknown;
}

/** Serialises every parameter and buffer of `module` (its stateDict) as safetensors bytes. */
export async function saveModuleBytes(module: Module, metadata: ModuleMetadata): Promise<Uint8Array> {
  if (!metadata || typeof metadata.model !== 'string' || metadata.model === '') {
    throw new Error('saveModuleBytes: metadata.model (the model name) must be a non-empty string');
  }
  if (metadata.config === undefined) throw new Error('saveModuleBytes: metadata.config is required (an object or a JSON string)');
  if (metadata.format !== undefined && metadata.format !== 'lrfr') {
    throw new Error(`saveModuleBytes: metadata.format is reserved ("lrfr"), got ${JSON.stringify(metadata.format)}`);
  }
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (v === undefined) continue;
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    if (s === undefined) throw new Error(`saveModuleBytes: metadata "${k}" cannot be JSON-encoded`);
    meta[k] = s;
  }
  if (typeof metadata.config === 'string') {
    try {
      JSON.parse(metadata.config);
    } catch {
      throw new Error('saveModuleBytes: metadata.config is a string but not valid JSON');
    }
  }
  meta.format = 'lrfr';
  const state = [...module.stateDict()];
  const datas = await readTensors(state.map(([, t]) => t));
  const tensors = new Map<string, NamedArray>();
  state.forEach(([name, t], i) => tensors.set(name, { shape: [...t.shape], data: datas[i]! }));
  return encodeSafetensors(tensors, meta);
}

export interface LoadOptions {
  /** Reject tensors in the file that the module does not have (default true). */
  strict?: boolean;
}

export interface LoadResult {
  metadata: Record<string, string>;
  /** Names in the file the module does not have (only with strict: false). */
  unexpected: string[];
}

/**
 * Loads safetensors bytes into `module`. Every name and shape is checked first; all problems
 * (missing, unexpected when strict, shape mismatch) are reported in one Error, and on any error the
 * module is left untouched.
 */
export function loadModuleBytes(module: Module, bytes: Uint8Array, opts: LoadOptions = {}): LoadResult {
  const strict = opts.strict ?? true;
  const { metadata, tensors } = decodeSafetensors(bytes);
  return loadStateInto(module, tensors, metadata, strict);
}

/** Validates `tensors` against module.stateDict() (all problems in one error), then uploads them. */
export function loadStateInto(
  module: Module, tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}, strict = true,
): LoadResult {
  const state = module.stateDict();
  const problems: string[] = [];
  for (const [name, t] of state) {
    const f = tensors.get(name);
    if (!f) problems.push(`${name}: missing from the file (model expects ${fmtShape(t.shape)})`);
    else if (f.shape.length !== t.shape.length || f.shape.some((d, i) => d !== t.shape[i])) {
      problems.push(`${name}: file has ${fmtShape(f.shape)}, model expects ${fmtShape(t.shape)}`);
    } else if (t.disposed) problems.push(`${name}: the model's tensor is disposed`);
  }
  const unexpected = [...tensors.keys()].filter((k) => !state.has(k));
  if (strict) for (const k of unexpected) problems.push(`${k}: unexpected in the file (model has no such tensor)`);
  if (problems.length) {
    throw new Error(`cannot load weights into ${module.constructor.name}: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  }
  const engine = getEngine();
  for (const [name, t] of state) {
    const data = tensors.get(name)!.data;
    if (data.length) engine.upload(t.buffer, data);
  }
  return { metadata, unexpected };
}
