// dlib's ResNet-34 face descriptor (src/nn/dlib-resnet.ts) with face-api's shipped weights vs
// face-api's own FaceRecognitionNet run by tfjs (WASM backend; tests/reference/faceapi.ts), on 64
// real LFW faces: the first 64 people of lfw-deepfunneled in sorted order, image _0001 each, window
// x=70, y=76, 108x108 resized to 150x150 with sharp's cubic kernel (both networks get the same
// float tensor). Needs the data root ($LRFR_DATA or ../shared/data); fails (not skips) without it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as L from '../../src/runtime/index.js';
import { DlibResNet, loadFaceApiWeights, faceApiNameToOurs } from '../../src/nn/dlib-resnet.js';
import { loadDlibFromFaceApi, faceApiModelDir } from '../../src/node/dlib.js';
import { loadTfjsWeightsFromDir } from '../../src/node/files.js';
import {
  lfwDataRoot, requireLfw, firstLfwPeople, lfwImagePath, readLfwCropHwc, hwcToNchw, readLfwPairs,
} from '../../src/node/data-lfw-mini.js';
import { faceApiDescriptors, useTfWasm } from '../reference/faceapi.js';

const S = 150;
const PX = S * S * 3;
const N = 64;

let model: DlibResNet | null = null;
let hwc: Float32Array;
let names: string[];
let ref: Float32Array;

async function embed(m: DlibResNet, nchw: Float32Array, n: number): Promise<Float32Array> {
  const y = L.tidy(() => m.embed(L.tensor(nchw, [n, 3, S, S])));
  const d = await y.data();
  y.dispose();
  return d;
}

/** Ours in chunks of `b` (keeps lavapipe's buffers modest). */
async function embedAll(m: DlibResNet, b = 32): Promise<Float32Array> {
  const out = new Float32Array(N * 128);
  for (let i = 0; i < N; i += b) {
    const k = Math.min(b, N - i);
    out.set(await embed(m, hwcToNchw(hwc.subarray(i * PX, (i + k) * PX), k, S, S), k), i * 128);
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function dist(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

describe('dlib ResNet (face-api FaceRecognitionNet)', () => {
  beforeAll(async () => {
    requireLfw(); // throws "LFW data not found under ...: put the data there or set LRFR_DATA"
    names = firstLfwPeople(N);
    hwc = new Float32Array(N * PX);
    for (let i = 0; i < N; i++) hwc.set(await readLfwCropHwc(lfwImagePath(names[i]!, 1), S), i * PX);
    const prev = tf.getBackend();
    await useTfWasm();
    const t0 = performance.now();
    try {
      ref = await faceApiDescriptors(hwc, N);
    } finally {
      await tf.setBackend(prev);
    }
    console.log(`face-api (tfjs ${tf.version.tfjs}, wasm) ${N} faces: ${((performance.now() - t0) / N).toFixed(1)} ms/image`);
    model = await loadDlibFromFaceApi();
  });
  afterAll(() => model?.dispose());

  it(`finds the LFW data under ${lfwDataRoot()}`, () => {
    expect(() => requireLfw()).not.toThrow();
    expect(names.length).toBe(N);
  });

  it('maps every face-api weight to a parameter of the same size', async () => {
    const w = await loadTfjsWeightsFromDir(faceApiModelDir(), 'face_recognition_model-weights_manifest.json');
    const params = new Map(model!.namedParameters());
    expect(w.size).toBe(params.size);
    let total = 0;
    for (const [k, a] of w) {
      const p = params.get(faceApiNameToOurs(k)!);
      expect(p, k).toBeDefined();
      expect(p!.size).toBe(a.data.length);
      total += p!.size;
    }
    expect(model!.numParameters()).toBe(total);
    console.log(`DlibResNet parameters: ${total.toLocaleString('en-US')}`);
    // A weight of the wrong shape or a missing one is refused, naming it.
    const bad = new DlibResNet();
    try {
      const fc = w.get('fc')!;
      expect(() => loadFaceApiWeights(bad, new Map([['fc', { shape: [128, 256], data: fc.data }]]))).toThrow(/"fc" \[128, 256\]/);
      const part = new Map(w);
      part.delete('conv32_1/conv2/scale/biases');
      expect(() => loadFaceApiWeights(bad, part)).toThrow(/conv32_1\.conv2\.scale\.bias/);
      expect(() => loadFaceApiWeights(bad, new Map([...w, ['extra/conv/bias', w.get('conv32_1/conv1/conv/bias')!]]))).toThrow(/"extra\/conv\/bias"/);
    } finally {
      bad.dispose();
    }
  });

  it(`matches face-api's own descriptors on ${N} LFW faces within 1e-4 (scales folded and not)`, async () => {
    const fused = await embedAll(model!);
    model!.unfuse();
    let plain: Float32Array;
    try {
      plain = await embedAll(model!);
    } finally {
      model!.fuse();
    }
    expect(fused.length).toBe(N * 128);
    let refMax = 0;
    for (const v of ref) refMax = Math.max(refMax, Math.abs(v));
    const dF = maxAbsDiff(fused, ref), dP = maxAbsDiff(plain, ref);
    console.log(`max |ours - face-api| over ${N}x128: fused ${dF.toExponential(2)}, unfused ${dP.toExponential(2)} (max |ref| ${refMax.toFixed(3)})`);
    expect(Number.isFinite(dF) && Number.isFinite(dP)).toBe(true);
    expect(dF).toBeLessThanOrEqual(1e-4);
    expect(dP).toBeLessThanOrEqual(1e-4);
  });

  it('embeds to 128-D; LFW same-person pairs are closer than different-person pairs', async () => {
    const pairs = readLfwPairs();
    const pick = [...pairs.filter((p) => p.same).slice(0, 3), ...pairs.filter((p) => !p.same).slice(0, 3)];
    const faces = pick.flatMap((p) => [p.a, p.b]);
    const buf = new Float32Array(faces.length * PX);
    for (let i = 0; i < faces.length; i++) buf.set(await readLfwCropHwc(lfwImagePath(faces[i]!.name, faces[i]!.index), S), i * PX);
    const y = L.tidy(() => model!.embed(L.tensor(hwcToNchw(buf, faces.length, S, S), [faces.length, 3, S, S])));
    expect(y.shape).toEqual([faces.length, 128]);
    const e = await y.data();
    y.dispose();
    const d = pick.map((_, i) => dist(e.subarray(2 * i * 128, (2 * i + 1) * 128), e.subarray((2 * i + 1) * 128, (2 * i + 2) * 128)));
    const same = d.slice(0, 3), diff = d.slice(3);
    console.log(`LFW pair distances: same ${same.map((v) => v.toFixed(3)).join(', ')}; different ${diff.map((v) => v.toFixed(3)).join(', ')}`);
    expect(Math.max(...same)).toBeLessThan(Math.min(...diff));
    expect(Math.max(...same)).toBeLessThan(0.6); // face-api's default match threshold
    expect(Math.min(...diff)).toBeGreaterThan(0.6);
  });

});

// Training the dlib ResNet (the cross-resolution student) needs gradients to reach every parameter:
// a reshape that bypassed autograd once cut them off at the head. Central differences (float32,
// eps 2e-3 on one weight each) against the analytic gradient of L = sum(y * R), pretrained weights,
// scales not folded, one 150x150 input; tolerance 5% relative + 0.01 absolute (float32 rounding of a
// loss of magnitude ~0.3 divided by 2 eps, and ReLU kinks: measured differences 1-8% on the stem,
// where a weight of 0.009 sits behind a scale of 13).
describe('dlib ResNet gradients', () => {
  it('every parameter gets a gradient, and sampled weights match central differences (5% + 0.01)', async () => {
    const m = await loadDlibFromFaceApi(undefined, { fuse: false });
    m.train();
    const x = L.rand([1, 3, S, S], 11, 0, 255);
    const R = L.randn([1, 128], 12, 1);
    const loss = async () => { const l = L.noGrad(() => L.tidy(() => L.sum(L.mul(m.forward(x), R)))); const v = await l.item(); l.dispose(); return v; };
    L.tidy(() => L.backward(L.sum(L.mul(m.forward(x), R))));
    const params = m.namedParameters();
    const missing = params.filter(([, p]) => !p.grad).map(([n]) => n);
    expect(missing).toEqual([]);
    const picks: [string, number][] = [['conv32_down.conv.weight', 5], ['conv32_1.conv1.scale.weight', 3], ['conv32_1.conv1.conv.weight', 50], ['conv64_down.conv1.conv.bias', 7], ['conv128_2.conv2.scale.bias', 11], ['conv256_down_out.conv2.conv.weight', 123], ['fc.weight', 300]];
    const byName = new Map(params);
    for (const [name, i] of picks) {
      const p = byName.get(name)!;
      const g = (await p.grad!.data())[i]!;
      const w = await p.data();
      const eps = 2e-3;
      const at = async (v: number) => { const c = w.slice(); c[i] = v; L.getEngine().upload(p.buffer, c); return loss(); };
      const num = ((await at(w[i]! + eps)) - (await at(w[i]! - eps))) / (2 * eps);
      L.getEngine().upload(p.buffer, w);
      expect(Math.abs(num - g), `${name}[${i}]: analytic ${g}, numeric ${num}`).toBeLessThanOrEqual(0.05 * Math.max(Math.abs(g), Math.abs(num)) + 0.01);
    }
    x.dispose(); R.dispose(); m.dispose();
  }, 300_000);
});
