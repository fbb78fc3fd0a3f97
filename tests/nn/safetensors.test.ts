// safetensors: byte-exact encoding against the reference implementation (fixtures produced by the
// Python `safetensors` package 0.x, safetensors.numpy.save), decoding F32/F16/BF16, validation of
// every structural problem, Module save/load (all problems in one error, module untouched on error)
// and atomic file saves.
import { describe, it, expect, afterEach, vi } from 'vitest';
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, tensor, getEngine, type Tensor } from '../../src/runtime/index.js';
import { Module, Sequential, Linear, BatchNorm2d } from '../../src/nn/index.js';
import {
  encodeSafetensors, decodeSafetensors, saveModuleBytes, loadModuleBytes, readTensors, type NamedArray,
} from '../../src/nn/safetensors.js';
import { saveSafetensorsFile, loadSafetensorsFile } from '../../src/node/files.js';

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('');

// safetensors.numpy.save({"b": np.array(0.25, f32), "a": np.array([[1.5, -2.0]], f32)},
//                        metadata={"format": "pt", "model": "tiny"})
const REF_A = hex(
  'a000000000000000' +
  '7b225f5f6d657461646174615f5f223a7b22666f726d6174223a227074222c226d6f64656c223a2274696e79227d2c2261223a7b22' +
  '6474797065223a22463332222c227368617065223a5b312c325d2c22646174615f6f666673657473223a5b302c385d7d2c2262223a' +
  '7b226474797065223a22463332222c227368617065223a5b5d2c22646174615f6f666673657473223a5b382c31325d7d7d2020202020' +
  '0000c03f000000c00000803e',
);
// safetensors.numpy.save({"x": np.array([1, -2.5, 65504], f16), "y": np.array([1, -3.140625], f32)})
const REF_B = hex(
  '7000000000000000' +
  '7b2279223a7b226474797065223a22463332222c227368617065223a5b325d2c22646174615f6f666673657473223a5b302c385d7d2c' +
  '2278223a7b226474797065223a22463136222c227368617065223a5b335d2c22646174615f6f666673657473223a5b382c31345d7d7d' +
  '20202020' + '0000803f000049c0' + '003c00c1ff7b',
);

/** A file from a header object and a data section (header padded like the reference). */
function build(header: unknown, data: Uint8Array | number = 0, rawHeader?: string): Uint8Array {
  let json = rawHeader ?? JSON.stringify(header);
  while (json.length % 8) json += ' ';
  const h = new TextEncoder().encode(json);
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

const F32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

function expectInvalid(bytes: Uint8Array, msg: RegExp | string): void {
  expect(() => decodeSafetensors(bytes)).toThrow(/^invalid safetensors file: /);
  expect(() => decodeSafetensors(bytes)).toThrow(msg);
}

describe('encodeSafetensors', () => {
  it('matches the reference implementation byte for byte', () => {
    const t = new Map<string, NamedArray>([
      ['b', { shape: [], data: new Float32Array([0.25]) }],
      ['a', { shape: [1, 2], data: new Float32Array([1.5, -2]) }],
    ]);
    const bytes = encodeSafetensors(t, { model: 'tiny', format: 'pt' });
    expect(toHex(bytes)).toBe(toHex(REF_A));
    // By hand: 155 bytes of JSON + 5 spaces = 160 = 0xa0, data = 1.5, -2, 0.25 (f32 LE).
    const header = '{"__metadata__":{"format":"pt","model":"tiny"},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}';
    expect(header.length).toBe(155);
    expect(new TextDecoder().decode(bytes.subarray(8, 168))).toBe(header + '     ');
    expect(bytes.length).toBe(8 + 160 + 12);
  });

  it('omits __metadata__ when empty, sorts keys by UTF-8 bytes, keeps integer-like names in order', () => {
    const t = new Map<string, NamedArray>([
      ['é', { shape: [1], data: new Float32Array([3]) }],
      ['10', { shape: [1], data: new Float32Array([2]) }],
      ['2', { shape: [1], data: new Float32Array([1]) }],
      ['z', { shape: [0], data: new Float32Array(0) }],
    ]);
    const bytes = encodeSafetensors(t, {});
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(n % 8).toBe(0);
    const json = new TextDecoder().decode(bytes.subarray(8, 8 + n)).trimEnd();
    expect(json).toBe('{"10":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"2":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},' +
      '"z":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"é":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}');
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({});
    expect([...back.tensors.get('é')!.data]).toEqual([3]);
    expect(back.tensors.get('z')!.shape).toEqual([0]);
  });

  it('rejects bad input', () => {
    expect(() => encodeSafetensors(new Map([['a', { shape: [3], data: new Float32Array(2) }]]), {})).toThrow(/"a" has 2 values, shape \[3\] needs 3/);
    expect(() => encodeSafetensors(new Map([['a', { shape: [-1], data: new Float32Array(0) }]]), {})).toThrow(/invalid shape/);
    expect(() => encodeSafetensors(new Map([['__metadata__', { shape: [0], data: new Float32Array(0) }]]), {})).toThrow(/invalid tensor name/);
    expect(() => encodeSafetensors(new Map(), { a: 1 as unknown as string })).toThrow(/metadata "a" must be a string/);
  });
});

describe('decodeSafetensors', () => {
  it('decodes the reference files (F32, F16, scalar, metadata)', () => {
    const a = decodeSafetensors(REF_A);
    expect(a.metadata).toEqual({ format: 'pt', model: 'tiny' });
    expect(a.tensors.get('a')).toEqual({ dtype: 'F32', shape: [1, 2], data: new Float32Array([1.5, -2]) });
    expect(a.tensors.get('b')).toEqual({ dtype: 'F32', shape: [], data: new Float32Array([0.25]) });
    const b = decodeSafetensors(REF_B);
    expect(b.metadata).toEqual({});
    expect(b.tensors.get('x')).toEqual({ dtype: 'F16', shape: [3], data: new Float32Array([1, -2.5, 65504]) });
    expect(b.tensors.get('y')).toEqual({ dtype: 'F32', shape: [2], data: new Float32Array([1, -3.140625]) });
  });

  it('converts F16 specials and BF16', () => {
    // f16: +0, -0, smallest subnormal, largest subnormal, inf, -inf, nan, 0.333251953125
    const f16 = new Uint16Array([0x0000, 0x8000, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x3555]);
    // bf16: 1, -2, 3.140625, 1e-38-ish subnormal bits, inf
    const bf16 = new Uint16Array([0x3f80, 0xc000, 0x4049, 0x0001, 0x7f80]);
    const data = new Uint8Array(26);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 16);
    const file = build({ h: { dtype: 'F16', shape: [8], data_offsets: [0, 16] }, b: { dtype: 'BF16', shape: [5], data_offsets: [16, 26] } }, data);
    const d = decodeSafetensors(file).tensors;
    const h = [...d.get('h')!.data];
    expect(Object.is(h[0], 0)).toBe(true);
    expect(Object.is(h[1], -0)).toBe(true);
    expect(h.slice(2, 6)).toEqual([2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity]);
    expect(Number.isNaN(h[6])).toBe(true);
    expect(h[7]).toBe(0.333251953125);
    const u = new Uint32Array(d.get('b')!.data.buffer);
    expect([...u]).toEqual([0x3f800000, 0xc0000000, 0x40490000, 0x00010000, 0x7f800000]);
  });

  it('round-trips random tensors (empty, scalar, large)', () => {
    const rng = new Rng(7);
    const t = new Map<string, NamedArray>();
    for (const [name, shape] of [['w', [17, 3, 3]], ['s', []], ['e', [0, 4]], ['big', [1000]]] as [string, number[]][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      t.set(name, { shape, data: Float32Array.from({ length: n }, () => rng.normal()) });
    }
    const back = decodeSafetensors(encodeSafetensors(t, { k: 'v' }));
    expect(back.metadata).toEqual({ k: 'v' });
    for (const [k, v] of t) expect(back.tensors.get(k)).toEqual({ dtype: 'F32', ...v });
  });

  it('decodes a Node Buffer that is a view into a larger pool (as readFileSync can return)', () => {
    const t = new Map<string, NamedArray>([['a', { shape: [3], data: new Float32Array([1.5, -2, 3.25]) }]]);
    const file = encodeSafetensors(t);
    // Bytes of the file at an offset inside a bigger ArrayBuffer full of other data.
    const pool = new Uint8Array(file.byteLength + 64).fill(0x7f);
    pool.set(file, 16);
    const buf = Buffer.from(pool.buffer, 16, file.byteLength);
    expect(buf.buffer.byteLength).toBeGreaterThan(file.byteLength);
    expect(decodeSafetensors(buf).tensors.get('a')?.data).toEqual(new Float32Array([1.5, -2, 3.25]));
  });

  describe('rejects malformed files with clear errors', () => {
    const good = encodeSafetensors(new Map([
      ['a', { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }],
      ['b', { shape: [4], data: new Float32Array([7, 8, 9, 10]) }],
    ]), { m: 'x' });
    const n = new DataView(good.buffer).getUint32(0, true);

    it('file shorter than 8 bytes', () => {
      for (const cut of [0, 1, 7]) expectInvalid(good.slice(0, cut), `file is ${cut} bytes, shorter than the 8-byte header length`);
    });

    it('truncated at several cut points', () => {
      for (const cut of [8, 9, 20, 8 + n - 1]) expectInvalid(good.slice(0, cut), /header length \d+ runs past the end of the file.*truncated/);
      for (const cut of [8 + n, 8 + n + 3, 8 + n + 24, good.length - 1]) {
        expectInvalid(good.slice(0, cut), /run past the end of the data section .*truncated/);
      }
      expect(() => decodeSafetensors(good)).not.toThrow();
    });

    it('absurd header length', () => {
      const f = good.slice();
      new DataView(f.buffer).setUint32(0, 200_000_000, true);
      expectInvalid(f, /header length 200000000 is absurd \(limit 100000000 bytes\)/);
      new DataView(f.buffer).setUint32(4, 1, true);
      expectInvalid(f, /header length \d+ \(≥ 2\^32\) is absurd/);
    });

    it('header not UTF-8 / not JSON / not an object', () => {
      const bad = good.slice();
      bad[12] = 0xff;
      expectInvalid(bad, 'header is not valid UTF-8');
      expectInvalid(build(null, 0, '{"a": '), /header is not valid JSON/);
      expectInvalid(build([1, 2]), 'header must be a JSON object, got an array');
      expectInvalid(build(null), 'header must be a JSON object, got null');
      expectInvalid(build(null, 0, '"hello"'), 'header must be a JSON object, got string');
    });

    it('entry fields', () => {
      expectInvalid(build({ a: 5 }), 'tensor "a": entry must be an object');
      expectInvalid(build({ a: { shape: [1], data_offsets: [0, 4] } }, 4), 'tensor "a": missing "dtype"');
      expectInvalid(build({ a: { dtype: 'F32', data_offsets: [0, 4] } }, 4), 'tensor "a": missing "shape"');
      expectInvalid(build({ a: { dtype: 'F32', shape: [1] } }, 4), 'tensor "a": missing "data_offsets"');
      expectInvalid(build({ a: { ...F32([1], 0, 4), dtype: 7 } }, 4), 'tensor "a": dtype must be a string');
      expectInvalid(build({ a: { ...F32([1], 0, 4), dtype: 'F33' } }, 4), 'tensor "a": unknown dtype "F33"');
      expectInvalid(build({ a: { ...F32([1], 0, 4), dtype: 'I32' } }, 4), 'tensor "a": dtype I32 is not supported (supported: F32, F16, BF16)');
      expectInvalid(build({ a: F32([-1], 0, 4) }, 4), 'tensor "a": shape must be an array of non-negative integers, got [-1]');
      expectInvalid(build({ a: F32([1.5], 0, 4) }, 4), 'got [1.5]');
      expectInvalid(build({ a: F32(['2'] as unknown as number[], 0, 8) }, 8), 'got ["2"]');
      expectInvalid(build({ a: { ...F32([1], 0, 4), shape: 3 } }, 4), 'got 3');
      expectInvalid(build({ a: { ...F32([1], 0, 4), data_offsets: [0] } }, 4), 'data_offsets must be [begin, end]');
      expectInvalid(build({ a: { ...F32([1], 0, 4), data_offsets: [-4, 0] } }, 4), 'data_offsets must be [begin, end]');
      expectInvalid(build({ a: F32([1], 4, 0) }, 4), 'end before they begin');
      expectInvalid(build({ __metadata__: { k: 1 } }), '"__metadata__.k" must be a string, got 1');
      expectInvalid(build({ __metadata__: [] }), '"__metadata__" must be an object of strings');
    });

    it('offsets: size mismatch, overlap, hole, out of range, trailing bytes', () => {
      expectInvalid(build({ a: F32([2], 0, 4) }, 4), 'tensor "a": data_offsets [0, 4] hold 4 bytes, but F32 [2] needs 8');
      expectInvalid(build({ a: F32([2], 0, 8), b: F32([1], 4, 8) }, 8), 'tensor "b" data_offsets [4, 8] overlap tensor "a" [0, 8]');
      expectInvalid(build({ a: F32([2], 0, 8), b: F32([2], 0, 8) }, 8), /overlap/);
      expectInvalid(build({ a: F32([1], 4, 8) }, 8), 'hole in the data section: bytes [0, 4) before tensor "a" belong to no tensor');
      expectInvalid(build({ a: F32([1], 0, 4), b: F32([1], 8, 12) }, 12), 'bytes [4, 8) before tensor "b"');
      expectInvalid(build({ a: F32([2], 0, 8) }, 4), 'tensor "a" data_offsets [0, 8] run past the end of the data section (4 bytes)');
      expectInvalid(build({ a: F32([1], 0, 4) }, 9), '5 trailing bytes after the last tensor');
      expectInvalid(build({}, 3), '3 trailing bytes');
      expect(decodeSafetensors(build({}, 0)).tensors.size).toBe(0);
    });

    it('random bytes (seeded) and mutated files only ever throw "invalid safetensors file"', () => {
      const rng = new Rng(1234);
      for (let i = 0; i < 300; i++) {
        const len = Math.floor(rng.uniform(0, 300));
        const f = Uint8Array.from({ length: len }, () => Math.floor(rng.uniform(0, 256)));
        if (i % 3 === 0 && len >= 8) new DataView(f.buffer).setUint32(0, Math.floor(rng.uniform(0, len)), true);
        if (i % 3 === 0 && len >= 8) new DataView(f.buffer).setUint32(4, 0, true);
        expect(() => decodeSafetensors(f)).toThrow(/^invalid safetensors file: /);
      }
      // Mutations of a valid file: each either decodes or throws the file error, never anything else.
      let errors = 0;
      for (let i = 0; i < 300; i++) {
        const f = good.slice();
        for (let k = 0; k < 1 + (i % 3); k++) f[Math.floor(rng.uniform(0, f.length))] = Math.floor(rng.uniform(0, 256));
        try {
          decodeSafetensors(f);
        } catch (e) {
          expect((e as Error).message).toMatch(/^invalid safetensors file: /);
          errors++;
        }
      }
      expect(errors).toBeGreaterThan(50);
    });
  });
});

// ------------------------------------------------------------------------------------------ modules

class Net extends Module {
  readonly body: Sequential;
  readonly bn: BatchNorm2d;
  constructor(seed: number, hidden = 5) {
    super();
    const rng = new Rng(seed);
    this.body = this.child('body', new Sequential(new Linear(3, hidden, { rng }), new Linear(hidden, 2, { rng })));
    this.bn = this.child('bn', new BatchNorm2d(4));
    // Non-default running statistics, so buffers are really checked.
    getEngine().upload(this.bn.runningMean.buffer, Float32Array.from({ length: 4 }, () => rng.normal()));
    getEngine().upload(this.bn.runningVar.buffer, Float32Array.from({ length: 4 }, () => rng.uniform(0.5, 2)));
  }
}

async function snapshot(m: Module): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [k, t] of m.stateDict()) out.set(k, [...(await t.data())]);
  return out;
}

const live: Module[] = [];
function net(seed: number, hidden = 5): Net {
  const n = new Net(seed, hidden);
  live.push(n);
  return n;
}
afterEach(() => {
  for (const m of live.splice(0)) m.dispose();
});

describe('saveModuleBytes / loadModuleBytes', () => {
  it('round-trips every parameter and buffer with metadata, reading back in one submit', async () => {
    const a = net(1);
    const engine = getEngine();
    const before = { ...engine.stats };
    const bytes = await saveModuleBytes(a, { model: 'net', config: { hidden: 5 }, epoch: 3 });
    expect(engine.stats.readbacks - before.readbacks).toBe(1);
    expect(engine.stats.submits - before.submits).toBeLessThanOrEqual(1);

    const file = decodeSafetensors(bytes);
    expect(file.metadata).toEqual({ model: 'net', config: '{"hidden":5}', epoch: '3', format: 'lrfr' });
    expect([...file.tensors.keys()].sort()).toEqual([
      'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.weight',
      'body.0.bias', 'body.0.weight', 'body.1.bias', 'body.1.weight',
    ]);
    expect(file.tensors.get('body.0.weight')!.shape).toEqual([5, 3]);

    const b = net(2);
    const sa = await snapshot(a);
    expect(await snapshot(b)).not.toEqual(sa);
    const res = loadModuleBytes(b, bytes);
    expect(res.metadata.model).toBe('net');
    expect(res.unexpected).toEqual([]);
    expect(await snapshot(b)).toEqual(sa);
  });

  it('readTensors reads many tensors (including empty ones) at once', async () => {
    const ts: Tensor[] = [tensor([1, 2, 3]), tensor([], [0]), tensor([4], [1, 1])];
    const got = await readTensors(ts);
    expect(got.map((d) => [...d])).toEqual([[1, 2, 3], [], [4]]);
    for (const t of ts) t.dispose();
    await expect(readTensors(ts)).rejects.toThrow(/is disposed/);
  });

  it('validates metadata', async () => {
    const a = net(1);
    await expect(saveModuleBytes(a, { model: '', config: {} })).rejects.toThrow(/metadata.model/);
    await expect(saveModuleBytes(a, { model: 'x', config: undefined })).rejects.toThrow(/metadata.config is required/);
    await expect(saveModuleBytes(a, { model: 'x', config: '{bad' })).rejects.toThrow(/not valid JSON/);
    await expect(saveModuleBytes(a, { model: 'x', config: {}, format: 'pt' })).rejects.toThrow(/format is reserved/);
    const ok = decodeSafetensors(await saveModuleBytes(a, { model: 'x', config: '{"a":1}' }));
    expect(ok.metadata.config).toBe('{"a":1}');
  });

  it('reports every problem in one error and leaves the module untouched', async () => {
    const src = net(1, 5);
    const bytes = await saveModuleBytes(src, { model: 'net', config: {} });
    // Same names, other hidden width: three shape mismatches.
    const other = net(9, 8);
    const before = await snapshot(other);
    let msg = '';
    try {
      loadModuleBytes(other, bytes);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('cannot load weights into Net: 3 problem(s)');
    expect(msg).toContain('body.0.weight: file has [5, 3], model expects [8, 3]');
    expect(msg).toContain('body.0.bias: file has [5], model expects [8]');
    expect(msg).toContain('body.1.weight: file has [2, 5], model expects [2, 8]');
    expect(await snapshot(other)).toEqual(before);

    // Missing + unexpected + mismatch together.
    const t = decodeSafetensors(bytes).tensors;
    t.delete('bn.running_var');
    t.set('extra.weight', { dtype: 'F32', shape: [1], data: new Float32Array([1]) });
    t.set('body.1.bias', { dtype: 'F32', shape: [3], data: new Float32Array(3) });
    const edited = encodeSafetensors(t, {});
    const target = net(3, 5);
    const before2 = await snapshot(target);
    expect(() => loadModuleBytes(target, edited)).toThrow(
      'cannot load weights into Net: 3 problem(s)\n' +
      '  body.1.bias: file has [3], model expects [2]\n' +
      '  bn.running_var: missing from the file (model expects [4])\n' +
      '  extra.weight: unexpected in the file (model has no such tensor)',
    );
    // Not strict: unexpected tensors are allowed, the rest still fails.
    expect(() => loadModuleBytes(target, edited, { strict: false })).toThrow(/2 problem\(s\)/);
    expect(await snapshot(target)).toEqual(before2);

    // strict: false with only an unexpected tensor loads and reports it.
    const t2 = decodeSafetensors(bytes).tensors;
    t2.set('extra.weight', { dtype: 'F32', shape: [1], data: new Float32Array([1]) });
    const res = loadModuleBytes(target, encodeSafetensors(t2, {}), { strict: false });
    expect(res.unexpected).toEqual(['extra.weight']);
    expect(await snapshot(target)).toEqual(await snapshot(src));
    // A corrupt file is a file error, module untouched.
    const other2 = net(4);
    const before3 = await snapshot(other2);
    expect(() => loadModuleBytes(other2, bytes.slice(0, bytes.length - 4))).toThrow(/invalid safetensors file/);
    expect(await snapshot(other2)).toEqual(before3);
  });
});

describe('saveSafetensorsFile / loadSafetensorsFile (node)', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'lrfr-st-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    vi.restoreAllMocks();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('saves and loads a file', async () => {
    const dir = tmp();
    const path = join(dir, 'net.safetensors');
    const a = net(1);
    await saveSafetensorsFile(path, a, { model: 'net', config: { hidden: 5 } });
    expect(readdirSync(dir)).toEqual(['net.safetensors']);
    const b = net(2);
    const res = await loadSafetensorsFile(path, b);
    expect(res.metadata.format).toBe('lrfr');
    expect(await snapshot(b)).toEqual(await snapshot(a));
    // Overwrite in place with other weights.
    await saveSafetensorsFile(path, net(5), { model: 'net', config: {} });
    expect(readdirSync(dir)).toEqual(['net.safetensors']);
  });

  it('errors name the path', async () => {
    const dir = tmp();
    const missing = join(dir, 'nope.safetensors');
    await expect(loadSafetensorsFile(missing, net(1))).rejects.toThrow(`cannot read ${missing}`);
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(bad, new Uint8Array(5));
    await expect(loadSafetensorsFile(bad, net(1))).rejects.toThrow(`${bad}: invalid safetensors file: file is 5 bytes`);
    const wrong = join(dir, 'wrong.safetensors');
    await saveSafetensorsFile(wrong, net(1, 5), { model: 'net', config: {} });
    await expect(loadSafetensorsFile(wrong, net(1, 6))).rejects.toThrow(`${wrong}: cannot load weights into Net: 3 problem(s)`);
  });

  it('a write failing midway (disk full) leaves the old file intact and no temp file', async () => {
    const dir = tmp();
    const path = join(dir, 'net.safetensors');
    await saveSafetensorsFile(path, net(1), { model: 'old', config: {} });
    const old = readFileSync(path);
    const realOpen = fs.promises.open.bind(fs.promises);
    let opened = '';
    vi.spyOn(fs.promises, 'open').mockImplementation((async (p: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
      const fh = await realOpen(p, flags, mode);
      if (flags === 'wx') {
        opened = String(p);
        const realWrite = fh.write.bind(fh) as (b: Uint8Array, o: number, l: number, pos: number) => Promise<{ bytesWritten: number }>;
        (fh as unknown as { write: unknown }).write = async (b: Uint8Array, o: number, l: number, pos: number) => {
          if (o > 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          return realWrite(b, o, Math.min(l, 100), pos); // a short write, then the disk is full
        };
      }
      return fh;
    }) as typeof fs.promises.open);
    await expect(saveSafetensorsFile(path, net(2), { model: 'new', config: {} })).rejects.toThrow(
      `cannot write ${path}: ENOSPC: no space left on device`,
    );
    expect(opened.startsWith(`${path}.tmp-${process.pid}-`)).toBe(true);
    expect(readFileSync(path).equals(old)).toBe(true);
    expect(readdirSync(dir)).toEqual(['net.safetensors']);
  });

  it('a failing rename leaves the old file intact and no temp file', async () => {
    const dir = tmp();
    const path = join(dir, 'net.safetensors');
    await saveSafetensorsFile(path, net(1), { model: 'old', config: {} });
    const old = readFileSync(path);
    vi.spyOn(fs.promises, 'rename').mockRejectedValue(new Error('EXDEV: simulated rename failure'));
    await expect(saveSafetensorsFile(path, net(2), { model: 'new', config: {} })).rejects.toThrow(/EXDEV: simulated/);
    expect(readFileSync(path).equals(old)).toBe(true);
    expect(readdirSync(dir)).toEqual(['net.safetensors']);
  });

  it('a disposed tensor fails the save before anything is written', async () => {
    const dir = tmp();
    const path = join(dir, 'net.safetensors');
    await saveSafetensorsFile(path, net(1), { model: 'old', config: {} });
    const old = readFileSync(path);
    const broken = net(2);
    broken.bn.runningVar.dispose();
    await expect(saveSafetensorsFile(path, broken, { model: 'new', config: {} })).rejects.toThrow(/running_var.*is disposed/);
    expect(readFileSync(path).equals(old)).toBe(true);
    expect(readdirSync(dir)).toEqual(['net.safetensors']);
  });

  it('a target in a missing directory fails cleanly', async () => {
    const dir = tmp();
    const path = join(dir, 'no', 'such', 'net.safetensors');
    await expect(saveSafetensorsFile(path, net(1), { model: 'x', config: {} })).rejects.toThrow(`cannot write ${path}: ENOENT`);
    expect(readdirSync(dir)).toEqual([]);
  });
});
