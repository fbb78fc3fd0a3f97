// tfjs weights-manifest decoding, checked value for value against tfjs's own tf.io.decodeWeights:
// on the real face-api ResNet-34 face descriptor weights (uint8-quantized and float32) and on a
// synthetic manifest covering every stored dtype, split across groups and odd-sized shards.
import { describe, it, expect, afterEach } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync, mkdtempSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { Rng } from '../../src/runtime/index.js';
import { decodeTfjsWeights, parseTfjsManifest, tfjsWeightBytes, type TfjsWeightSpec } from '../../src/nn/tfjs-weights.js';
import { loadTfjsWeightsFromDir } from '../../src/node/files.js';

const require = createRequire(import.meta.url);
const FACE_DIR = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
const FACE_MANIFEST = 'face_recognition_model-weights_manifest.json';

function readFace(): { manifest: { paths: string[]; weights: TfjsWeightSpec[] }[]; bin: Uint8Array } {
  const manifest = JSON.parse(readFileSync(join(FACE_DIR, FACE_MANIFEST), 'utf8'));
  const bin = new Uint8Array(readFileSync(join(FACE_DIR, 'face_recognition_model.bin')));
  return { manifest, bin };
}

const ab = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

/** Decodes with tfjs and compares every weight bit for bit (NaN-safe via the raw bits). */
function expectSameAsTfjs(ours: Map<string, { shape: number[]; data: Float32Array }>, specs: TfjsWeightSpec[], bytes: Uint8Array): void {
  const ref = tf.io.decodeWeights(ab(bytes), specs as unknown as tf.io.WeightsManifestEntry[]);
  expect([...ours.keys()]).toEqual(specs.map((s) => s.name));
  for (const s of specs) {
    const r = ref[s.name]!;
    const o = ours.get(s.name)!;
    expect(o.shape, s.name).toEqual(r.shape);
    const rv = Float32Array.from(r.dataSync() as ArrayLike<number>);
    const a = new Uint32Array(o.data.buffer), b = new Uint32Array(rv.buffer);
    expect(a.length, s.name).toBe(b.length);
    let bad = -1;
    for (let i = 0; i < a.length && bad < 0; i++) if (a[i] !== b[i]) bad = i;
    expect(bad < 0 ? 'equal' : `${s.name}[${bad}]: ours ${o.data[bad]}, tfjs ${rv[bad]}`).toBe('equal');
    r.dispose();
  }
}

describe('decodeTfjsWeights on face-api face_recognition_model (dlib ResNet-34)', () => {
  it('uses uint8 affine quantization and float32, as this decoder expects', () => {
    const { manifest } = readFace();
    const kinds = new Set(manifest.flatMap((g) => g.weights.map((w) => `${w.dtype}/${w.quantization?.dtype ?? '-'}`)));
    expect([...kinds].sort()).toEqual(['float32/-', 'float32/uint8']);
    expect(manifest.flatMap((g) => g.weights).length).toBe(117);
  });

  it('equals tf.io.decodeWeights exactly for every weight', () => {
    const { manifest, bin } = readFace();
    const ours = decodeTfjsWeights(manifest, [bin]);
    expect(ours.size).toBe(117);
    expect(ours.get('conv32_down/conv/filters')!.shape).toEqual([7, 7, 3, 32]);
    expectSameAsTfjs(ours, manifest.flatMap((g) => g.weights), bin);
    // Also when the shard arrives in odd pieces.
    const pieces = [bin.subarray(0, 1), bin.subarray(1, 1001), bin.subarray(1001, 1001), bin.subarray(1001)];
    const again = decodeTfjsWeights(manifest, pieces);
    for (const [k, v] of ours) expect(Buffer.compare(Buffer.from(again.get(k)!.data.buffer), Buffer.from(v.data.buffer)), k).toBe(0);
  });

  it('loadTfjsWeightsFromDir reads the manifest and shards from disk', async () => {
    const w = await loadTfjsWeightsFromDir(FACE_DIR, FACE_MANIFEST);
    const { manifest, bin } = readFace();
    const ours = decodeTfjsWeights(manifest, [bin]);
    expect([...w.keys()]).toEqual([...ours.keys()]);
    for (const [k, v] of ours) expect(Buffer.compare(Buffer.from(w.get(k)!.data.buffer), Buffer.from(v.data.buffer)), k).toBe(0);
  });

  describe('on disk errors', () => {
    const dirs: string[] = [];
    afterEach(() => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    });
    const copy = (): string => {
      const d = mkdtempSync(join(tmpdir(), 'lrfr-tfjs-'));
      dirs.push(d);
      copyFileSync(join(FACE_DIR, FACE_MANIFEST), join(d, FACE_MANIFEST));
      return d;
    };

    it('a truncated shard names the weight that runs past the end, and the manifest path', async () => {
      const { manifest, bin } = readFace();
      const specs = manifest.flatMap((g) => g.weights);
      // Cut inside the 10th weight.
      const start = specs.slice(0, 9).reduce((a, w) => a + tfjsWeightBytes(w), 0);
      const cut = start + 5;
      const d = copy();
      writeFileSync(join(d, 'face_recognition_model.bin'), bin.subarray(0, cut));
      const name = specs[9]!.name;
      const mpath = join(d, FACE_MANIFEST);
      await expect(loadTfjsWeightsFromDir(d, FACE_MANIFEST)).rejects.toThrow(
        `${mpath}: tfjs weights: weight "${name}" [${specs[9]!.shape.join(', ')}] needs bytes [${start}, ${start + tfjsWeightBytes(specs[9]!)}) but the shards hold only ${cut} bytes (truncated shard?)`,
      );
      // In memory, cut at several points: always the weight containing the cut (or the last one).
      let pos = 0;
      const ends = specs.map((w) => (pos += tfjsWeightBytes(w)));
      for (const c of [0, 1, 1000, bin.length - 1]) {
        const i = ends.findIndex((e) => e > c);
        expect(() => decodeTfjsWeights(manifest, [bin.subarray(0, c)])).toThrow(`weight "${specs[i]!.name}"`);
      }
      expect(() => decodeTfjsWeights(manifest, [bin, new Uint8Array(3)])).toThrow('tfjs weights: 3 extra bytes after the last weight');
    });

    it('a missing shard or manifest names the file', async () => {
      const d = copy();
      await expect(loadTfjsWeightsFromDir(d, FACE_MANIFEST)).rejects.toThrow(`cannot read shard ${join(d, 'face_recognition_model.bin')}`);
      await expect(loadTfjsWeightsFromDir(d, 'nope.json')).rejects.toThrow(`cannot read tfjs manifest ${join(d, 'nope.json')}`);
      writeFileSync(join(d, 'bad.json'), '{"weightsManifest": 3}');
      await expect(loadTfjsWeightsFromDir(d, 'bad.json')).rejects.toThrow(`${join(d, 'bad.json')}: tfjs weights: manifest must be an array`);
    });
  });
});

describe('decodeTfjsWeights on a synthetic manifest (every stored dtype)', () => {
  // Each weight: spec + how to write n random stored values.
  function synthetic(): { manifest: { paths: string[]; weights: TfjsWeightSpec[] }[]; bytes: Uint8Array } {
    const rng = new Rng(42);
    const specs: TfjsWeightSpec[] = [
      { name: 'f32', shape: [3, 5], dtype: 'float32' },
      { name: 'u8', shape: [7], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.0123, min: -1.7 } },
      { name: 'u16', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'uint16', scale: 1.1e-5, min: 0.3 } },
      { name: 'f16', shape: [9], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'i32', shape: [4], dtype: 'int32' },
      { name: 'i32q', shape: [5], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.37, min: -20 } },
      { name: 'b', shape: [3], dtype: 'bool' },
      { name: 'scalar', shape: [], dtype: 'float32' },
      { name: 'empty', shape: [0, 3], dtype: 'float32' },
    ];
    const chunks: Uint8Array[] = [];
    for (const s of specs) {
      const n = s.shape.reduce((a, b) => a * b, 1);
      const q = s.quantization?.dtype;
      let arr: Uint8Array;
      if (q === 'uint8' || s.dtype === 'bool') arr = Uint8Array.from({ length: n }, () => (s.dtype === 'bool' ? (rng.next() < 0.5 ? 0 : 1) : Math.floor(rng.uniform(0, 256))));
      else if (q === 'uint16') arr = new Uint8Array(Uint16Array.from({ length: n }, () => Math.floor(rng.uniform(0, 65536))).buffer);
      else if (q === 'float16') {
        const h = Uint16Array.from({ length: n }, () => Math.floor(rng.uniform(0, 65536)));
        h.set([0x7c00, 0xfc00, 0x0001, 0x8000]); // inf, -inf, subnormal, -0
        arr = new Uint8Array(h.buffer);
      } else if (s.dtype === 'int32') arr = new Uint8Array(Int32Array.from({ length: n }, () => Math.floor(rng.uniform(-1e6, 1e6))).buffer);
      else arr = new Uint8Array(Float32Array.from({ length: n }, () => rng.normal()).buffer);
      chunks.push(arr);
    }
    const total = chunks.reduce((a, c) => a + c.length, 0);
    const bytes = new Uint8Array(total);
    let p = 0;
    for (const c of chunks) {
      bytes.set(c, p);
      p += c.length;
    }
    return { manifest: [{ paths: ['g1-shard1of2', 'g1-shard2of2'], weights: specs.slice(0, 4) }, { paths: ['g2'], weights: specs.slice(4) }], bytes };
  }

  it('equals tf.io.decodeWeights exactly (affine uint8/uint16, float16, int32, quantized int32, bool, scalar, empty)', () => {
    const { manifest, bytes } = synthetic();
    const shards = [bytes.subarray(0, 13), bytes.subarray(13, 77), bytes.subarray(77)];
    const ours = decodeTfjsWeights(manifest, shards);
    expectSameAsTfjs(ours, manifest.flatMap((g) => g.weights), bytes);
    const f16 = ours.get('f16')!.data;
    expect([f16[0], f16[1], f16[2]]).toEqual([Infinity, -Infinity, 2 ** -24]);
    expect(Object.is(f16[3], -0)).toBe(true);
    // model.json form
    expect(decodeTfjsWeights({ format: 'layers-model', weightsManifest: manifest }, [bytes]).size).toBe(9);
  });

  it('rejects malformed manifests with clear errors', () => {
    const ok = { name: 'w', shape: [2], dtype: 'float32' };
    const bad = (m: unknown, msg: string) => expect(() => decodeTfjsWeights(m, [new Uint8Array(8)])).toThrow(`tfjs weights: ${msg}`);
    bad(null, 'manifest must be an array of groups { paths, weights }, got null');
    bad({}, 'manifest must be an array of groups');
    bad([5], 'group 0 must be an object { paths, weights }');
    bad([{ weights: [ok] }], 'group 0: "paths" must be an array of strings');
    bad([{ paths: ['a'] }], 'group 0: "weights" must be an array');
    bad([{ paths: ['a'], weights: [7] }], 'group 0 weight 0 must be an object');
    bad([{ paths: ['a'], weights: [{ ...ok, name: '' }] }], 'group 0 weight 0: "name" must be a non-empty string');
    bad([{ paths: ['a'], weights: [{ ...ok, shape: [-2] }] }], 'weight "w": shape must be an array of non-negative integers, got [-2]');
    bad([{ paths: ['a'], weights: [{ ...ok, shape: [1.5] }] }], 'weight "w": shape must be an array of non-negative integers, got [1.5]');
    bad([{ paths: ['a'], weights: [{ ...ok, shape: undefined }] }], 'weight "w": shape must be');
    bad([{ paths: ['a'], weights: [{ ...ok, dtype: 'float64' }] }], 'weight "w": unknown dtype "float64"');
    bad([{ paths: ['a'], weights: [{ ...ok, dtype: 'string' }] }], 'weight "w": dtype string is not supported (supported: float32, int32, bool)');
    bad([{ paths: ['a'], weights: [{ ...ok, quantization: { dtype: 'int4' } }] }], 'weight "w": unknown quantization dtype "int4" (supported: uint8, uint16, float16)');
    bad([{ paths: ['a'], weights: [{ ...ok, quantization: 3 }] }], 'weight "w": quantization must be an object');
    bad([{ paths: ['a'], weights: [{ ...ok, quantization: { dtype: 'uint8', scale: 1 } }] }], 'weight "w": uint8 quantization needs finite numbers "scale" and "min"');
    bad([{ paths: ['a'], weights: [{ ...ok, dtype: 'int32', quantization: { dtype: 'float16' } }] }], 'weight "w": float16 quantization only applies to float32 weights, not int32');
    bad([{ paths: ['a'], weights: [ok] }, { paths: ['b'], weights: [ok] }], 'weight "w" appears twice in the manifest');
    expect(() => decodeTfjsWeights([{ paths: ['a'], weights: [ok] }], [new Uint8Array(12)])).toThrow('tfjs weights: 4 extra bytes after the last weight (manifest needs 8, shards hold 12)');
    expect(() => decodeTfjsWeights([{ paths: ['a'], weights: [ok] }], [new Float32Array(2) as unknown as Uint8Array])).toThrow('shards must be an array of Uint8Array');
    expect(parseTfjsManifest([{ paths: [], weights: [] }])).toEqual([{ paths: [], weights: [] }]);
  });
});
