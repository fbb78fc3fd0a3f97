// A seeded fuzzer for every loader that reads outside data: safetensors weights (decoded and loaded
// into the model they name, as the app and the CLI load them), tfjs weight manifests + shards
// (face-api's detector), images (the gallery commands' decoder), gallery imports (JSON lines).
// Each generated input is a mutation of a valid seed: truncation, bit flips, overwritten or inserted
// bytes, and format-aware changes (header / JSON fields set to wrong types, absurd shapes and sizes,
// NaN payloads, huge image dimensions with valid checksums). Outcome per input: accepted, rejected
// with a clear error (an Error with a message that is not an internal JavaScript failure), or a
// crash (anything else, or an input over the time limit). tests/gallery/fuzz.test.ts runs a short
// pass in CI; scripts/fuzz-loaders.mts the full one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { dsrFromBytes, tinyFaceDetectorFromTfjs } from '../nn/face-pipeline.js';
import { decodeImageChecked } from '../gallery/embedder.js';
import { parseGalleryExport, EXPORT_FORMAT, EXPORT_VERSION } from '../gallery/exchange.js';
import { faceApiModelDir } from './dlib.js';
import { TINY_FACE_DETECTOR_MANIFEST } from './face-detect.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

// ---- byte mutations ------------------------------------------------------------------------------

export function truncate(b: Uint8Array, r: Rng): Uint8Array {
  return b.slice(0, int(r, b.length));
}

export function flipBits(b: Uint8Array, r: Rng): Uint8Array {
  const o = b.slice();
  const n = 1 + int(r, 8);
  for (let i = 0; i < n && o.length > 0; i++) o[int(r, o.length)]! ^= 1 << int(r, 8);
  return o;
}

export function overwrite(b: Uint8Array, r: Rng): Uint8Array {
  const o = b.slice();
  if (o.length === 0) return o;
  const at = int(r, o.length), len = 1 + int(r, 64);
  const v = pick(r, [0x00, 0xff, 0x7f, 0x80, -1]);
  for (let i = at; i < Math.min(o.length, at + len); i++) o[i] = v === -1 ? int(r, 256) : v;
  return o;
}

export function insert(b: Uint8Array, r: Rng): Uint8Array {
  const at = int(r, b.length + 1), len = 1 + int(r, 256);
  const ins = Uint8Array.from({ length: len }, () => int(r, 256));
  const o = new Uint8Array(b.length + len);
  o.set(b.subarray(0, at));
  o.set(ins, at);
  o.set(b.subarray(at), at + len);
  return o;
}

const BYTE_MUTATORS = [truncate, flipBits, overwrite, insert];

export function mutateBytes(b: Uint8Array, r: Rng): Uint8Array {
  return pick(r, BYTE_MUTATORS)(b, r);
}

// ---- JSON mutations ------------------------------------------------------------------------------

const WEIRD_VALUES: unknown[] = [
  null, -1, 0, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 64, 'NaN', '', 'x'.repeat(1000), [], [1e9, 1e9, 1e9], [-3], [0.5],
  {}, { a: 1 }, true, 'float64', 'string', 'complex64', 'U8', 'I64', [2 ** 31, 2 ** 31], [0, 1e15],
];

/** Replaces, deletes or adds a random field somewhere in a JSON value (in place; returns the root). */
export function mutateJson(root: unknown, r: Rng): unknown {
  const containers: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 6) return;
    if (Array.isArray(v)) v.forEach((x, i) => { containers.push({ parent: v, key: i }); walk(x, depth + 1); });
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { containers.push({ parent: v as Record<string, unknown>, key: k }); walk(x, depth + 1); }
  };
  walk(root, 0);
  if (containers.length === 0) return pick(r, WEIRD_VALUES);
  const { parent, key } = pick(r, containers);
  const op = int(r, 10);
  if (op === 0 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
  else if (op === 1 && !Array.isArray(parent)) (parent as Record<string, unknown>)[`extra${int(r, 100)}`] = pick(r, WEIRD_VALUES);
  else (parent as Record<string | number, unknown>)[key] = pick(r, WEIRD_VALUES);
  return root;
}

// ---- targets -------------------------------------------------------------------------------------

export interface FuzzTarget<T> {
  name: string;
  /** Valid inputs the mutations start from. */
  seeds(): Promise<T[]>;
  mutate(seed: T, r: Rng): T;
  /** Loads the input; throws on bad input. */
  run(input: T): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function safetensorsParts(b: Uint8Array): { header: unknown; data: Uint8Array } {
  const n = Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true));
  return { header: JSON.parse(dec.decode(b.subarray(8, 8 + n))), data: b.subarray(8 + n) };
}

function safetensorsBytes(header: unknown, data: Uint8Array): Uint8Array {
  const h = enc.encode(JSON.stringify(header));
  const o = new Uint8Array(8 + h.length + data.length);
  new DataView(o.buffer).setBigUint64(0, BigInt(h.length), true);
  o.set(h, 8);
  o.set(data, 8 + h.length);
  return o;
}

/** Safetensors weights (the committed C2 DSR) through dsrFromBytes: decode, check, build, load. */
export const safetensorsTarget: FuzzTarget<Uint8Array> = {
  name: 'safetensors (DSR weights, decoded and loaded)',
  async seeds() {
    return [new Uint8Array(readFileSync(join(REPO_ROOT, 'weights', 'edgeface-c2-dsr.safetensors')))];
  },
  mutate(seed, r) {
    const k = int(r, 4);
    if (k < 2) return mutateBytes(seed, r);
    let parts: { header: unknown; data: Uint8Array };
    try {
      parts = safetensorsParts(seed);
    } catch {
      return mutateBytes(seed, r); // a seed already mutated past parsing
    }
    const { header, data } = parts;
    if (data.length < 4) return mutateBytes(seed, r);
    if (k === 2) return safetensorsBytes(mutateJson(header, r), data);
    // NaN / Inf payload in some tensor's data
    const o = data.slice();
    const dv = new DataView(o.buffer);
    const v = pick(r, [NaN, Infinity, -Infinity, 3.4e38]);
    for (let i = 0, n = 1 + int(r, 1000); i < n; i++) dv.setFloat32(4 * int(r, o.length / 4), v, true);
    return safetensorsBytes(header, o);
  },
  async run(input) {
    dsrFromBytes(input).dispose();
  },
};

export interface TfjsInput { manifest: string; shard: Uint8Array }

/** face-api's TinyFaceDetector manifest + shard through tinyFaceDetectorFromTfjs. */
export const tfjsTarget: FuzzTarget<TfjsInput> = {
  name: 'tfjs weights manifest + shard (TinyFaceDetector)',
  async seeds() {
    const dir = faceApiModelDir();
    const manifest = readFileSync(join(dir, TINY_FACE_DETECTOR_MANIFEST), 'utf8');
    const paths = (JSON.parse(manifest) as { paths: string[] }[]).flatMap((g) => g.paths);
    return [{ manifest, shard: new Uint8Array(readFileSync(join(dir, paths[0]!))) }];
  },
  mutate(seed, r) {
    const k = int(r, 4);
    if (k === 0) return { manifest: seed.manifest, shard: mutateBytes(seed.shard, r) };
    if (k === 1) return { manifest: dec.decode(mutateBytes(enc.encode(seed.manifest), r)), shard: seed.shard };
    try {
      return { manifest: JSON.stringify(mutateJson(JSON.parse(seed.manifest), r)), shard: seed.shard };
    } catch {
      return { manifest: dec.decode(mutateBytes(enc.encode(seed.manifest), r)), shard: seed.shard };
    }
  },
  async run(input) {
    let m: unknown;
    try {
      m = JSON.parse(input.manifest);
    } catch (e) {
      throw new Error(`manifest is not JSON: ${(e as Error).message}`, { cause: e });
    }
    tinyFaceDetectorFromTfjs(m, [input.shard]).dispose();
  },
};

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A PNG whose IHDR says w x h (checksum fixed), pixel data unchanged. */
export function pngWithSize(png: Uint8Array, w: number, h: number): Uint8Array {
  const o = png.slice();
  if (o.length < 33 || o[0] !== 0x89 || o[12] !== 0x49 /* I */) return o; // not (or no longer) a PNG with its IHDR first
  const dv = new DataView(o.buffer);
  // signature 8, length 4, "IHDR" 4, width 4, height 4, ... (13 bytes of data), CRC over type + data
  dv.setUint32(16, w >>> 0);
  dv.setUint32(20, h >>> 0);
  dv.setUint32(29, crc32(o.subarray(12, 29)));
  return o;
}

/** A JPEG whose first SOF marker says w x h. */
export function jpegWithSize(jpg: Uint8Array, w: number, h: number): Uint8Array {
  const o = jpg.slice();
  for (let i = 2; i + 9 < o.length; ) {
    if (o[i] !== 0xff) break;
    const marker = o[i + 1]!;
    const len = (o[i + 2]! << 8) | o[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xc3) {
      o[i + 5] = (h >> 8) & 0xff; o[i + 6] = h & 0xff; o[i + 7] = (w >> 8) & 0xff; o[i + 8] = w & 0xff;
      return o;
    }
    i += 2 + len;
  }
  return o;
}

/** Images through decodeImageChecked (PNG, JPEG, a tiny crop; truncations, huge dimensions). */
export const imageTarget: FuzzTarget<Uint8Array> = {
  name: 'images (PNG, JPEG; decodeImageChecked)',
  async seeds() {
    const rgb = Buffer.alloc(112 * 112 * 3);
    const r = mulberry32(5);
    for (let i = 0; i < rgb.length; i++) rgb[i] = (i % 336) + int(r, 40);
    const raw = { raw: { width: 112, height: 112, channels: 3 as const } };
    return [
      new Uint8Array(await sharp(rgb, raw).png().toBuffer()),
      new Uint8Array(await sharp(rgb, raw).jpeg({ quality: 80 }).toBuffer()),
      new Uint8Array(await sharp(rgb, raw).resize(16, 16).png().toBuffer()),
    ];
  },
  mutate(seed, r) {
    const k = int(r, 5);
    const isPng = seed[0] === 0x89 && seed.length >= 33;
    if (k === 0) {
      const w = pick(r, [0, 1, 65535, 100_000, 2 ** 31 - 1, 50_000]), h = pick(r, [0, 1, 65535, 100_000, 2 ** 31 - 1, 50_000]);
      return isPng ? pngWithSize(seed, w, h) : jpegWithSize(seed, Math.min(w, 65535), Math.min(h, 65535));
    }
    return mutateBytes(seed, r);
  },
  async run(input) {
    await decodeImageChecked(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  },
};

function exportSeed(): string {
  const r = mulberry32(9);
  const dim = 16;
  const lines = [JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, model: 'edgeface.safetensors', modelHash: '0123456789abcdef', dim, rows: 5 })];
  for (let i = 0; i < 5; i++) {
    const v = Array.from({ length: dim }, () => r() - 0.5);
    const n = Math.hypot(...v);
    const f = new Float32Array(v.map((x) => x / n));
    lines.push(JSON.stringify({ id: `t-${(i + 10).toString(16).padStart(24, '0')}`, person: `p${i % 3}`, source: `/x/${i}.png`, kind: 'hr', enrolledAt: '2026-12-03T08:00:00.000Z', embedding: Buffer.from(f.buffer).toString('base64') }));
  }
  return lines.join('\n') + '\n';
}

/** Gallery exports through parseGalleryExport (what lrfr gallery import runs before writing). */
export const galleryImportTarget: FuzzTarget<string> = {
  name: 'gallery imports (JSON lines)',
  async seeds() {
    return [exportSeed()];
  },
  mutate(seed, r) {
    const k = int(r, 4);
    if (k === 0) return dec.decode(mutateBytes(enc.encode(seed), r));
    const lines = seed.trimEnd().split('\n');
    const li = int(r, lines.length);
    let obj: unknown;
    try {
      obj = JSON.parse(lines[li]!);
    } catch {
      return dec.decode(mutateBytes(enc.encode(seed), r)); // a seed already mutated past parsing
    }
    const emb = (obj as { embedding?: unknown } | null)?.embedding;
    if (k === 3 && li > 0 && typeof emb === 'string' && Buffer.from(emb, 'base64').length % 4 === 0 && Buffer.from(emb, 'base64').length > 0) {
      // NaN / Inf / denormal payload in an embedding
      const f = new Float32Array(Uint8Array.from(Buffer.from(emb, 'base64')).buffer);
      f[int(r, f.length)] = pick(r, [NaN, Infinity, -Infinity, 1e-45]);
      (obj as { embedding: string }).embedding = Buffer.from(f.buffer).toString('base64');
      lines[li] = JSON.stringify(obj);
    } else lines[li] = JSON.stringify(mutateJson(obj, r));
    return lines.join('\n') + '\n';
  },
  async run(input) {
    parseGalleryExport(input);
  },
};

export const FUZZ_TARGETS = [safetensorsTarget, tfjsTarget, imageTarget, galleryImportTarget] as FuzzTarget<unknown>[];

// ---- the loop ------------------------------------------------------------------------------------

/** Messages of internal JavaScript failures: a loader that throws these did not check its input. */
const INTERNAL = /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|Maximum call stack|Invalid typed array length|Invalid array length|Array buffer allocation failed|out of memory|Offset is outside the bounds|Start offset .* is outside|undefined|\[object Object\]/;

export interface FuzzCrash {
  index: number;
  kind: 'internal error' | 'not an Error' | 'timeout';
  message: string;
}

export interface FuzzReport {
  target: string;
  inputs: number;
  accepted: number;
  rejected: number;
  crashes: FuzzCrash[];
  /** Distinct error messages (digits folded), most common first (first 10). */
  topErrors: [string, number][];
  maxMs: number;
  totalMs: number;
}

export async function fuzz<T>(target: FuzzTarget<T>, n: number, seed: number, opts: { timeLimitMs?: number } = {}): Promise<FuzzReport> {
  const limit = opts.timeLimitMs ?? 5000;
  const seeds = await target.seeds();
  const r = mulberry32(seed);
  const rep: FuzzReport = { target: target.name, inputs: n, accepted: 0, rejected: 0, crashes: [], topErrors: [], maxMs: 0, totalMs: 0 };
  const msgs = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let input = target.mutate(pick(r, seeds), r);
    if (r() < 0.3) input = target.mutate(input, r); // stacked mutations
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        target.run(input),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new TimeoutError(`over the ${limit} ms limit`)), limit); }),
      ]);
      rep.accepted++;
    } catch (e) {
      if (e instanceof TimeoutError) rep.crashes.push({ index: i, kind: 'timeout', message: e.message });
      else if (!(e instanceof Error)) rep.crashes.push({ index: i, kind: 'not an Error', message: String(e) });
      else if (e.message === '' || INTERNAL.test(e.message) || e instanceof TypeError || e instanceof RangeError) rep.crashes.push({ index: i, kind: 'internal error', message: `${e.name}: ${e.message}` });
      else {
        rep.rejected++;
        const key = e.message.replace(/\d+(\.\d+)?(e[+-]?\d+)?/g, 'N').replace(/"[^"]*"/g, '"…"').slice(0, 90);
        msgs.set(key, (msgs.get(key) ?? 0) + 1);
      }
    } finally {
      clearTimeout(timer);
    }
    const ms = performance.now() - t0;
    rep.totalMs += ms;
    if (ms > rep.maxMs) rep.maxMs = ms;
    if (ms > limit && !rep.crashes.some((c) => c.index === i)) rep.crashes.push({ index: i, kind: 'timeout', message: `took ${ms.toFixed(0)} ms (limit ${limit})` });
  }
  rep.topErrors = [...msgs].sort((a, b) => b[1] - a[1]).slice(0, 10);
  return rep;
}

class TimeoutError extends Error {}
