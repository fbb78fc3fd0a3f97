// face-api's TinyFaceDetector and tiny 68-point landmark net on our runtime (src/nn/tiny-face-detector.ts,
// src/nn/face-landmarks-tiny.ts, src/nn/face-detect.ts) vs face-api's own networks run by tfjs (WASM
// backend; tests/reference/faceapi.ts), on real images read at test time from the data root
// ($LRFR_DATA or ../shared/data): 4 deep-funneled LFW images (250x250 RGB, square; one with two
// faces) and 2 ORL faces (92x112 grey, copied to RGB: exercises face-api's pad-to-square); the
// alignment test reads 8 more LFW images of test people. Fails (not skips) without the data.
//
// Tolerances (absolute, measured values are logged): raw detector grid (logits, |values| up to ~10)
// 1e-4; decoded boxes 1e-4 of the image side for x, y, width, height and 1e-4 for scores; landmark
// net output (fractions of its 112 input, and of the crop after postProcess) 1e-4; end-to-end
// landmarks in image pixels 1e-4 of the crop side. The differences come from float32 summation
// order (WebGPU kernels vs XNNPACK) and our float32 resize positions (tests/ops/resize.test.ts).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import sharp from 'sharp';
import * as L from '../../src/runtime/index.js';
import { TinyFaceDetector, tinyFaceDetectorNameToOurs, loadTinyFaceDetectorWeights } from '../../src/nn/tiny-face-detector.js';
import { FaceLandmark68Tiny, landmarkTinyNameToOurs, landmarksToImage } from '../../src/nn/face-landmarks-tiny.js';
import {
  detectFaces, tinyFaceDetectorRaw, faceCrop, landmarksRaw, detectLandmarks, faceImageTensor, detectAndAlign, alignFace,
  fitSimilarity, applySimilarity, warpSimilarity, ALIGN_TEMPLATE_112, ALIGNED_SIZE, type FaceImage,
} from '../../src/nn/face-detect.js';
import type { Point } from '../../src/nn/face-landmarks-tiny.js';
import { decodeImage } from '../../src/train/image.js';
import { frameLfw, ARCFACE_WINDOW } from '../../src/train/data.js';
import { parseSigset } from '../../src/train/protocol.js';
import { loadTinyFaceDetectorFromFaceApi, loadLandmarkTinyFromFaceApi, TINY_FACE_DETECTOR_MANIFEST, LANDMARK_TINY_MANIFEST } from '../../src/node/face-detect.js';
import { faceApiModelDir } from '../../src/node/dlib.js';
import { loadTfjsWeightsFromDir } from '../../src/node/files.js';
import { lfwDataRoot, requireLfw, firstLfwPeople, lfwImagePath } from '../../src/node/data-lfw-mini.js';
import {
  useTfWasm, faceApiTinyFaceDetector, faceApiLandmarksTiny, faceApiDetectWithLandmarks,
  type FaceApiDetectorResult,
} from '../reference/faceapi.js';

const TOL = 1e-4;
const INPUT = 416;

interface Sample { name: string; hwc: Float32Array; img: FaceImage; inputSize: number; scoreThreshold: number }

/** HWC float 0..255 (3 channels) and our CHW [0, 1] image of a file. */
async function readImage(path: string): Promise<{ hwc: Float32Array; img: FaceImage }> {
  const { data, info } = await sharp(path).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: ${info.channels} channels after toColourspace('srgb')`);
  const { width: w, height: h } = info;
  const hwc = Float32Array.from(data);
  const chw = new Float32Array(3 * h * w);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < 3; k++) chw[k * h * w + i] = data[3 * i + k]! / 255;
  return { hwc, img: { data: chw, c: 3, h, w } };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isFinite(m) ? m : Infinity;
}

/** face-api's [g, g, 25] (NHWC) -> our [25, g, g]. */
function nhwcToChw(raw: Float32Array, g: number, c: number): Float32Array {
  const out = new Float32Array(raw.length);
  for (let y = 0; y < g; y++) for (let x = 0; x < g; x++) for (let k = 0; k < c; k++) out[(k * g + y) * g + x] = raw[(y * g + x) * c + k]!;
  return out;
}

/** HWC crop of an HWC image. */
function cropHwc(hwc: Float32Array, w: number, c: { x: number; y: number; width: number; height: number }): Float32Array {
  const out = new Float32Array(c.width * c.height * 3);
  for (let y = 0; y < c.height; y++) out.set(hwc.subarray(((c.y + y) * w + c.x) * 3, ((c.y + y) * w + c.x + c.width) * 3), y * c.width * 3);
  return out;
}

let det: TinyFaceDetector | null = null;
let lm: FaceLandmark68Tiny | null = null;
const samples: Sample[] = [];
const refDet: FaceApiDetectorResult[] = [];
/** face-api on the first LFW image with a score threshold of 0.01: several boxes survive NMS. */
let refLow: FaceApiDetectorResult;
const LOW = 0.01;

beforeAll(async () => {
  det = await loadTinyFaceDetectorFromFaceApi();
  lm = await loadLandmarkTinyFromFaceApi();
});
afterAll(() => {
  det?.dispose();
  lm?.dispose();
});

describe('TinyFaceDetector + tiny landmarks (face-api) on real faces', () => {
  beforeAll(async () => {
    const root = lfwDataRoot();
    requireLfw(root);
    const orl = join(root, 'orl-faces');
    if (!fs.existsSync(join(orl, 's1', '1.png'))) throw new Error(`ORL data not found under ${orl}: expected s<N>/<K>.png (see ../shared/data/README.md); put it there or set LRFR_DATA`);
    for (const p of firstLfwPeople(3, root)) samples.push({ name: `LFW ${p}_0001`, ...(await readImage(lfwImagePath(p, 1, root))), inputSize: INPUT, scoreThreshold: 0.5 });
    // a picture with a second face in it (two detections after NMS)
    const two = 'Abdel_Nasser_Assidi';
    samples.push({ name: `LFW ${two}_0001 (two faces)`, ...(await readImage(lfwImagePath(two, 1, root))), inputSize: INPUT, scoreThreshold: 0.5 });
    // ORL's faces fill the frame, too big for the detector's anchors at its default threshold:
    // a lower threshold still exercises the decoding of non-square (padded) inputs.
    samples.push({ name: 'ORL s1/1', ...(await readImage(join(orl, 's1', '1.png'))), inputSize: INPUT, scoreThreshold: 0.05 });
    samples.push({ name: 'ORL s2/1 (input 224)', ...(await readImage(join(orl, 's2', '1.png'))), inputSize: 224, scoreThreshold: 0.05 });
    const prev = tf.getBackend();
    await useTfWasm();
    try {
      for (const s of samples) refDet.push(await faceApiTinyFaceDetector(s.hwc, s.img.h, s.img.w, s.inputSize, s.scoreThreshold));
      refLow = await faceApiTinyFaceDetector(samples[0]!.hwc, samples[0]!.img.h, samples[0]!.img.w, INPUT, LOW);
    } finally {
      await tf.setBackend(prev);
    }
  });

  it('maps every face-api weight of both nets to a parameter of the same size', async () => {
    for (const [manifest, model, toOurs] of [
      [TINY_FACE_DETECTOR_MANIFEST, det!, tinyFaceDetectorNameToOurs],
      [LANDMARK_TINY_MANIFEST, lm!, landmarkTinyNameToOurs],
    ] as const) {
      const w = await loadTfjsWeightsFromDir(faceApiModelDir(), manifest);
      const params = new Map(model.namedParameters());
      expect(w.size).toBe(params.size);
      let total = 0;
      for (const [k, a] of w) {
        const p = params.get(toOurs(k)!);
        expect(p, k).toBeDefined();
        expect(p!.size).toBe(a.data.length);
        total += p!.size;
      }
      expect(model.numParameters()).toBe(total);
      console.log(`${manifest}: ${w.size} weights, ${total.toLocaleString('en-US')} parameters`);
    }
  });

  it(`raw detector grid matches face-api's within ${TOL} on 6 images (LFW, ORL; input 416 and 224)`, async () => {
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      const g = s.inputSize / 32;
      const ours = await tinyFaceDetectorRaw(det!, s.img, s.inputSize);
      expect(ours.length).toBe(25 * g * g);
      const ref = nhwcToChw(refDet[i]!.raw, g, 25);
      const d = maxAbsDiff(ours, ref);
      const refMax = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      console.log(`${s.name}: raw grid ${g}x${g}x25, max |ours - face-api| ${d.toExponential(2)} (max |ref| ${refMax.toFixed(2)})`);
      expect(d).toBeLessThanOrEqual(TOL);
    }
  });

  it(`decoded boxes (sigmoid, anchors, score threshold, NMS, padding-to-square scaling) match face-api's within ${TOL}`, async () => {
    const runs = [...samples.map((s, i) => ({ s, ref: refDet[i]!.faces, thr: s.scoreThreshold, name: s.name })),
      { s: samples[0]!, ref: refLow.faces, thr: LOW, name: `${samples[0]!.name} threshold ${LOW}` }];
    for (const { s, ref, thr, name } of runs) {
      const ours = await detectFaces(det!, s.img, { inputSize: s.inputSize, scoreThreshold: thr });
      expect(ours.length, name).toBe(ref.length);
      expect(ref.length, `${name}: face-api finds a face`).toBeGreaterThan(0);
      let dBox = 0, dScore = 0;
      ours.forEach((b, k) => {
        const r = ref[k]!;
        dBox = Math.max(dBox, Math.abs(b.x - r.x) / s.img.w, Math.abs(b.width - r.width) / s.img.w, Math.abs(b.y - r.y) / s.img.h, Math.abs(b.height - r.height) / s.img.h);
        dScore = Math.max(dScore, Math.abs(b.score - r.score));
      });
      console.log(`${name} (${s.img.w}x${s.img.h}): ${ours.length} face(s), best ${JSON.stringify(ours[0], (_, v: unknown) => (typeof v === 'number' ? +v.toFixed(2) : v))}; max box diff ${dBox.toExponential(2)} of the image side, score ${dScore.toExponential(2)}`);
      expect(dBox).toBeLessThanOrEqual(TOL);
      expect(dScore).toBeLessThanOrEqual(TOL);
    }
  });

  it('a grey image (c = 1) gives the same detections and landmarks as its RGB copy', async () => {
    const s = samples.find((q) => q.name.startsWith('ORL s2'))!;
    const hw = s.img.h * s.img.w;
    const grey: FaceImage = { data: s.img.data.slice(0, hw), c: 1, h: s.img.h, w: s.img.w };
    const opts = { inputSize: s.inputSize, scoreThreshold: s.scoreThreshold };
    const [a, b] = [await detectFaces(det!, grey, opts), await detectFaces(det!, s.img, opts)];
    expect(a).toEqual(b);
    expect(await detectLandmarks(lm!, grey, a[0]!)).toEqual(await detectLandmarks(lm!, s.img, b[0]!));
  });

  it('finds exactly one face on an aligned LFW image, its box covering the face', async () => {
    // deep-funneled LFW centres the face: eyes, nose and mouth lie in x 90..160, y 95..165 of the
    // 250x250 image (the project's 112 crop's template mapped back); the box must hold that region
    // and be face-sized (not the whole picture).
    const s = samples[0]!;
    const faces = await detectFaces(det!, s.img);
    expect(faces.length).toBe(1);
    const b = faces[0]!;
    expect(b.score).toBeGreaterThan(0.5);
    expect(b.x).toBeLessThanOrEqual(90);
    expect(b.y).toBeLessThanOrEqual(95);
    expect(b.x + b.width).toBeGreaterThanOrEqual(160);
    expect(b.y + b.height).toBeGreaterThanOrEqual(165);
    expect(b.width).toBeLessThan(200);
    expect(b.height).toBeLessThan(200);
  });

  it(`landmark net output (raw and postProcess'ed) matches face-api's on the detected crops within ${TOL}`, async () => {
    const prev = tf.getBackend();
    let dRaw = 0, dRel = 0, n = 0;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      // the detected faces' crops, and the whole image for ORL (a tight 92x112 face crop: non-square)
      const crops = refDet[i]!.faces.map((f) => faceCrop(f, s.img.w, s.img.h));
      if (s.name.startsWith('ORL')) crops.push({ x: 0, y: 0, width: s.img.w, height: s.img.h });
      for (const crop of crops) {
        await useTfWasm();
        let ref;
        try {
          ref = await faceApiLandmarksTiny(cropHwc(s.hwc, s.img.w, crop), crop.height, crop.width);
        } finally {
          await tf.setBackend(prev);
        }
        const raw = await landmarksRaw(lm!, s.img, crop);
        const pts = landmarksToImage(raw, crop.width, crop.height);
        const rel = pts.flatMap((p) => [p.x / crop.width, p.y / crop.height]);
        dRaw = Math.max(dRaw, maxAbsDiff(raw, ref.raw));
        dRel = Math.max(dRel, maxAbsDiff(rel, ref.relative));
        n++;
      }
    }
    console.log(`landmarks on ${n} crops: max |ours - face-api| raw ${dRaw.toExponential(2)}, relative to the crop ${dRel.toExponential(2)}`);
    expect(n).toBeGreaterThanOrEqual(8);
    expect(dRaw).toBeLessThanOrEqual(TOL);
    expect(dRel).toBeLessThanOrEqual(TOL);
  });

  it(`end to end: detect + landmarks in image pixels match face-api's detectAllFaces().withFaceLandmarks(true) within ${TOL} of the crop side`, async () => {
    // face-api shifts the crop's points by the unfloored box origin, we by the crop's (floored,
    // clipped) origin, which is where the net's pixels came from: compare face-api's unshifted
    // points plus our crop origin.
    const prev = tf.getBackend();
    let worst = 0;
    for (const s of samples.slice(0, 4)) {
      await useTfWasm();
      let ref;
      try {
        ref = await faceApiDetectWithLandmarks(s.hwc, s.img.h, s.img.w, s.inputSize);
      } finally {
        await tf.setBackend(prev);
      }
      const faces = await detectFaces(det!, s.img, { inputSize: s.inputSize });
      expect(faces.length, s.name).toBe(ref.length);
      for (let k = 0; k < faces.length; k++) {
        const crop = faceCrop(faces[k]!, s.img.w, s.img.h);
        const ours = await detectLandmarks(lm!, s.img, faces[k]!);
        const r = ref[k]!.unshiftedLandmarks.positions;
        expect(ours.length).toBe(68);
        const side = Math.max(crop.width, crop.height);
        ours.forEach((p, j) => {
          worst = Math.max(worst, Math.abs(p.x - (r[j]!.x + crop.x)) / side, Math.abs(p.y - (r[j]!.y + crop.y)) / side);
        });
        // and face-api's own shifted points are within a pixel of ours (the floor of the origin)
        const shifted = ref[k]!.landmarks.positions;
        ours.forEach((p, j) => expect(Math.abs(p.x - shifted[j]!.x) + Math.abs(p.y - shifted[j]!.y)).toBeLessThan(2.01));
      }
    }
    console.log(`end to end: max landmark diff ${worst.toExponential(2)} of the crop side`);
    expect(worst).toBeLessThanOrEqual(TOL);
  });

  it('bad input gives a clear error naming the problem', async () => {
    const dir = faceApiModelDir();
    // the landmark net's manifest given to the detector
    await expect(loadTinyFaceDetectorFromFaceApi(dir, LANDMARK_TINY_MANIFEST)).rejects.toThrow(/face_landmark_68_tiny_model-weights_manifest\.json.*"dense0\/conv0\/filters" has no counterpart.*wrong weights manifest/);
    // a weight missing from a manifest, and one of the wrong shape
    const w = await loadTfjsWeightsFromDir(dir, TINY_FACE_DETECTOR_MANIFEST);
    const bad = new TinyFaceDetector();
    try {
      const part = new Map(w);
      part.delete('conv3/bias');
      expect(() => loadTinyFaceDetectorWeights(bad, part)).toThrow(/1 parameters not in the weights.*conv3\.pointwise\.bias/);
      const c8 = w.get('conv8/bias')!;
      expect(() => loadTinyFaceDetectorWeights(bad, new Map([...w, ['conv8/bias', { shape: [24], data: c8.data.slice(0, 24) }]]))).toThrow(/"conv8\/bias" \[24\].*does not fit conv8\.bias \[25\]/);
    } finally {
      bad.dispose();
    }
    // a truncated weights file
    const tmp = fs.mkdtempSync(join(tmpdir(), 'lrfr-tfd-'));
    try {
      fs.copyFileSync(join(dir, TINY_FACE_DETECTOR_MANIFEST), join(tmp, TINY_FACE_DETECTOR_MANIFEST));
      const bin = fs.readFileSync(join(dir, 'tiny_face_detector_model.bin'));
      fs.writeFileSync(join(tmp, 'tiny_face_detector_model.bin'), bin.subarray(0, bin.length - 1000));
      await expect(loadTinyFaceDetectorFromFaceApi(tmp)).rejects.toThrow(/tiny_face_detector_model-weights_manifest\.json.*needs bytes.*shards hold only \d+ bytes \(truncated shard\?\)/);
      await expect(loadLandmarkTinyFromFaceApi(tmp)).rejects.toThrow(/cannot read tfjs manifest.*face_landmark_68_tiny_model-weights_manifest\.json/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    // wrong image shapes
    const x = L.zeros([1, 3, 100, 100]);
    expect(() => det!.forward(x)).toThrow(/TinyFaceDetector: expected a square input whose side is a multiple of 32.*\[1, 3, 100, 100\]/);
    expect(() => lm!.forward(x)).toThrow(/FaceLandmark68Tiny: expected x \[N, 3, 112, 112\].*\[1, 3, 100, 100\]/);
    x.dispose();
    expect(() => faceImageTensor({ data: new Float32Array(10), c: 3, h: 4, w: 4 })).toThrow(/face image: 10 values do not make a 3x4x4 CHW image/);
    expect(() => faceImageTensor({ data: new Float32Array(32), c: 2, h: 4, w: 4 })).toThrow(/face image: expected 1 \(grey\) or 3 \(RGB\) channels, got 2/);
    await expect(detectFaces(det!, samples[0]!.img, { inputSize: 400 })).rejects.toThrow(/detectFaces: inputSize must be a positive multiple of 32, got 400/);
    expect(() => faceCrop({ x: 300, y: 0, width: 10, height: 10 }, 250, 250)).toThrow(/faceCrop: box .* leaves no pixels inside the 250x250 image/);
  });
});

describe('alignment to the project 112 crop', () => {
  it('fitSimilarity recovers a known similarity; warpSimilarity by the identity is the image', () => {
    const t = { a: 0.7 * Math.cos(0.2), b: 0.7 * Math.sin(0.2), tx: 12.5, ty: -3.25 };
    const src = [{ x: 10, y: 20 }, { x: 80, y: 25 }, { x: 40, y: 60 }, { x: 15, y: 90 }, { x: 70, y: 95 }];
    const fit = fitSimilarity(src, src.map((p) => applySimilarity(t, p)));
    for (const k of ['a', 'b', 'tx', 'ty'] as const) expect(Math.abs(fit[k] - t[k])).toBeLessThan(1e-12);
    const data = Float32Array.from({ length: 3 * 112 * 112 }, (_, i) => (i * 7919 % 256) / 255);
    const img = { data, c: 3, h: 112, w: 112 };
    const same = warpSimilarity(img, { a: 1, b: 0, tx: 0, ty: 0 });
    expect(maxAbsDiff(same.data, data)).toBeLessThan(1e-6);
    expect(() => fitSimilarity([{ x: 1, y: 1 }, { x: 1, y: 1 }], [{ x: 0, y: 0 }, { x: 1, y: 1 }])).toThrow(/fitSimilarity: the source points coincide/);
    expect(() => alignFace(img, src)).toThrow(/fivePoints: expected 68 landmarks, got 5/);
  });

  it('the canonical template is a plausible upright face inside the 112 crop', () => {
    expect(ALIGN_TEMPLATE_112.length).toBe(5);
    const [le, re, nose, ml, mr] = ALIGN_TEMPLATE_112 as [Point, Point, Point, Point, Point];
    for (const p of ALIGN_TEMPLATE_112) expect(p.x > 0 && p.x < ALIGNED_SIZE && p.y > 0 && p.y < ALIGNED_SIZE).toBe(true);
    expect(Math.abs(le.y - re.y)).toBeLessThan(2); // eyes level
    expect(Math.abs((le.x + re.x) / 2 - 56)).toBeLessThan(3); // centred
    expect(nose.y).toBeGreaterThan(le.y + 10);
    expect(ml.y).toBeGreaterThan(nose.y + 10);
    expect(ml.x).toBeLessThan(mr.x);
  });

  it('on aligned LFW test people, detect -> landmarks -> alignment reproduces the project crop', async () => {
    // The deep-funneled LFW images ARE aligned: for test people (BLUFR split1 gallery, never used to
    // derive the template) our transform must be close to the project's crop (the 143 window at (53, 41)
    // scaled by 112/143), and our aligned crop close to frameLfw's.
    const root = lfwDataRoot();
    const gallery = parseSigset(fs.readFileSync(join(root, 'lfw-protocol/openbr-sigset/BLUFR/split1/gallery1.xml'), 'utf8')).slice(0, 8);
    const target = ARCFACE_WINDOW.out / ARCFACE_WINDOW.size;
    const rows: string[] = [];
    let sumMad = 0, sumShiftMad = 0;
    const stats: { scale: number; rot: number; off: number }[] = [];
    for (const ref of gallery) {
      const img = await decodeImage(join(root, 'lfw-deepfunneled', ref.path));
      const faces = await detectAndAlign(det!, lm!, img);
      const face = faces.find((f) => f.box.x <= 125 && 125 <= f.box.x + f.box.width && f.box.y <= 125 && 125 <= f.box.y + f.box.height);
      expect(face, `${ref.path}: a face over the image centre`).toBeDefined();
      const t = face!.transform;
      const s = Math.hypot(t.a, t.b), rot = (Math.atan2(t.b, t.a) * 180) / Math.PI;
      const c = applySimilarity(t, { x: ARCFACE_WINDOW.x + ARCFACE_WINDOW.size / 2, y: ARCFACE_WINDOW.y + ARCFACE_WINDOW.size / 2 });
      const proj = frameLfw(img, 'arcface');
      const mad = maxMeanAbs(face!.crop.data, proj.data);
      // baseline: the project crop against itself shifted by 3 px (what a 3 px misalignment costs)
      const shifted = frameLfw(translate(img, 3), 'arcface');
      const base = maxMeanAbs(shifted.data, proj.data);
      sumMad += mad;
      sumShiftMad += base;
      rows.push(`${ref.path}: scale ${(s / target).toFixed(3)} of 112/143, rotation ${rot.toFixed(2)} deg, crop centre -> (${c.x.toFixed(1)}, ${c.y.toFixed(1)}), mean |ours - project crop| ${mad.toFixed(4)} (3 px shift: ${base.toFixed(4)})`);
      stats.push({ scale: s / target, rot, off: Math.hypot(c.x - 56, c.y - 56) });
      expect(face!.crop.w).toBe(112);
      expect(face!.crop.h).toBe(112);
    }
    console.log(rows.join('\n'));
    // deep funnelling leaves faces of somewhat different sizes and positions (the template's spread
    // is 2-5 px): per face within 20 % in scale, 8 degrees, 8 px; on average within 10 %, 4 px
    for (const st of stats) {
      expect(Math.abs(st.scale - 1)).toBeLessThan(0.2);
      expect(Math.abs(st.rot)).toBeLessThan(8);
      expect(st.off).toBeLessThan(8);
    }
    const avg = (f: (st: (typeof stats)[number]) => number) => stats.reduce((a, st) => a + f(st), 0) / stats.length;
    expect(avg((st) => Math.abs(st.scale - 1))).toBeLessThan(0.1);
    expect(avg((st) => st.off)).toBeLessThan(4);
    // on average our crop is closer to the project's than a 3-pixel shift of it
    expect(sumMad).toBeLessThan(sumShiftMad);
  });
});

/** Mean |a - b|. */
function maxMeanAbs(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
}

/** The image moved right and down by d pixels (edge replicated). */
function translate(img: FaceImage, d: number): FaceImage {
  const { c, h, w } = img;
  const out = new Float32Array(img.data.length);
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    out[(k * h + y) * w + x] = img.data[(k * h + Math.max(y - d, 0)) * w + Math.max(x - d, 0)]!;
  }
  return { data: out, c, h, w };
}
