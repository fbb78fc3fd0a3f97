// Reference for src/nn/dlib-resnet.ts: face-api's OWN FaceRecognitionNet (npm @vladmandic/face-api
// 1.7.15), run by our installed tfjs 4.22. We load face-api's Node WASM build
// (dist/face-api.node-wasm.js, CommonJS: require('@tensorflow/tfjs') + require('@tensorflow/
// tfjs-backend-wasm'), no bundled tfjs), so it shares the tfjs engine of `import * as tf from
// '@tensorflow/tfjs'` (checked). Weights: FaceRecognitionNet.loadFromDisk(face-api's model folder),
// i.e. tf.io's own loader and dequantisation, independent of src/nn/tfjs-weights.ts.
// Inference: net.forward([Tensor3D x N]) = forwardInput(toBatchTensor(150)), float32 [N, 128].
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

interface FaceRecognitionNetLike {
  loadFromDisk(path: string): Promise<void>;
  forward(input: tf.Tensor3D[] | tf.Tensor3D): Promise<tf.Tensor2D>;
  dispose(): void;
}
interface FaceApiLike {
  FaceRecognitionNet: new () => FaceRecognitionNetLike;
  tf: typeof tf;
  version?: unknown;
}

export function faceApiDir(): string {
  return dirname(require.resolve('@vladmandic/face-api/package.json'));
}

let faceApi: FaceApiLike | null = null;

/** face-api's Node WASM build, checked to run on our tfjs instance. */
export function loadFaceApi(): FaceApiLike {
  if (faceApi) return faceApi;
  const fa = require(join(faceApiDir(), 'dist', 'face-api.node-wasm.js')) as FaceApiLike;
  if (typeof fa.FaceRecognitionNet !== 'function') throw new Error('face-api: no FaceRecognitionNet export');
  if (fa.tf.engine() !== tf.engine()) throw new Error('face-api runs on another tfjs instance than @tensorflow/tfjs');
  faceApi = fa;
  return fa;
}

/** Switches tfjs to its WASM backend (one thread, SIMD when available). Returns the old backend. */
export async function useTfWasm(): Promise<string> {
  const prev = tf.getBackend();
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { setWasmPaths(p: string): void; setThreadsCount(n: number): void };
  if (!tf.findBackend('wasm') || tf.getBackend() !== 'wasm') {
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), '/'));
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
  }
  if (!(await tf.setBackend('wasm')) || tf.getBackend() !== 'wasm') throw new Error(`tf.setBackend('wasm') failed (backend is ${tf.getBackend()})`);
  return prev;
}

/**
 * face-api descriptors of `n` images given HWC float RGB 0..255 150x150 back to back; runs face-api
 * in batches of `batch`. Returns [n * 128] float32.
 */
export async function faceApiDescriptors(hwc: Float32Array, n: number, batch = 16): Promise<Float32Array> {
  const fa = loadFaceApi();
  const net = new fa.FaceRecognitionNet();
  await net.loadFromDisk(join(faceApiDir(), 'model'));
  const S = 150, px = S * S * 3;
  const out = new Float32Array(n * 128);
  try {
    for (let b0 = 0; b0 < n; b0 += batch) {
      const m = Math.min(batch, n - b0);
      const imgs = Array.from({ length: m }, (_, i) => tf.tensor3d(hwc.subarray((b0 + i) * px, (b0 + i + 1) * px), [S, S, 3]));
      const y = await net.forward(imgs);
      if (y.shape[0] !== m || y.shape[1] !== 128) throw new Error(`face-api gave ${JSON.stringify(y.shape)}`);
      out.set(await y.data() as Float32Array, b0 * 128);
      tf.dispose([y, ...imgs]);
    }
  } finally {
    net.dispose();
  }
  return out;
}

// ---- TinyFaceDetector and the tiny 68-point landmark net (src/nn/tiny-face-detector.ts,
// src/nn/face-landmarks-tiny.ts). face-api's own classes, weights by loadFromDisk (tf.io), inputs as
// tf.Tensor3D HWC 0..255 (face-api's tensor path: padToSquare + tf.image.resizeBilinear).

interface BoxLike { x: number; y: number; width: number; height: number }
interface TinyFaceDetectorLike {
  loadFromDisk(path: string): Promise<void>;
  forward(input: tf.Tensor3D, inputSize: number): Promise<tf.Tensor4D>;
  locateFaces(input: tf.Tensor3D, opts: { inputSize?: number; scoreThreshold?: number }): Promise<{ score: number; box: BoxLike }[]>;
  dispose(): void;
}
interface LandmarkNetLike {
  loadFromDisk(path: string): Promise<void>;
  forward(input: tf.Tensor3D): Promise<tf.Tensor2D>;
  runNet(input: unknown): tf.Tensor2D;
  dispose(): void;
}
interface FaceApiDetectLike {
  TinyFaceDetector: new () => TinyFaceDetectorLike;
  FaceLandmark68TinyNet: new () => LandmarkNetLike;
  TinyFaceDetectorOptions: new (o: { inputSize?: number; scoreThreshold?: number }) => unknown;
  toNetInput(input: tf.Tensor3D): Promise<unknown>;
  nets: { tinyFaceDetector: TinyFaceDetectorLike; faceLandmark68TinyNet: LandmarkNetLike };
  detectAllFaces(input: tf.Tensor3D, opts: unknown): { withFaceLandmarks(tiny: boolean): Promise<FaceApiFaceResult[]> };
}
interface FaceApiFaceResult {
  detection: { score: number; box: BoxLike };
  landmarks: { positions: { x: number; y: number }[] };
  unshiftedLandmarks: { positions: { x: number; y: number }[] };
}

function faceApiDetect(): FaceApiDetectLike {
  const fa = loadFaceApi() as unknown as FaceApiDetectLike;
  for (const k of ['TinyFaceDetector', 'FaceLandmark68TinyNet', 'TinyFaceDetectorOptions', 'toNetInput', 'detectAllFaces'] as const) {
    if (typeof fa[k] !== 'function') throw new Error(`face-api: no ${k} export`);
  }
  return fa;
}

export interface FaceApiDetectorResult {
  /** forward(image, inputSize)[0]: [g, g, 25] NHWC. */
  raw: Float32Array;
  /** locateFaces(image, { inputSize, scoreThreshold }): boxes in image pixels. */
  faces: { score: number; x: number; y: number; width: number; height: number }[];
}

/** face-api's TinyFaceDetector on one HWC 0..255 image (h x w x 3). */
export async function faceApiTinyFaceDetector(hwc: Float32Array, h: number, w: number, inputSize: number, scoreThreshold = 0.5): Promise<FaceApiDetectorResult> {
  const fa = faceApiDetect();
  const net = new fa.TinyFaceDetector();
  await net.loadFromDisk(join(faceApiDir(), 'model'));
  const img = tf.tensor3d(hwc, [h, w, 3]);
  try {
    const y = await net.forward(img, inputSize);
    const raw = (await y.data()) as Float32Array;
    y.dispose();
    const dets = await net.locateFaces(img, { inputSize, scoreThreshold });
    return { raw, faces: dets.map((d) => ({ score: d.score, x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height })) };
  } finally {
    img.dispose();
    net.dispose();
  }
}

export interface FaceApiLandmarkResult {
  /** runNet(crop): the fc output, 136 fractions of the 112 input. */
  raw: Float32Array;
  /** forward(crop): postProcess'ed, 136 fractions of the crop's width / height. */
  relative: Float32Array;
}

/** face-api's FaceLandmark68TinyNet on one HWC 0..255 crop (h x w x 3). */
export async function faceApiLandmarksTiny(hwc: Float32Array, h: number, w: number): Promise<FaceApiLandmarkResult> {
  const fa = faceApiDetect();
  const net = new fa.FaceLandmark68TinyNet();
  await net.loadFromDisk(join(faceApiDir(), 'model'));
  const img = tf.tensor3d(hwc, [h, w, 3]);
  try {
    const r = net.runNet(await fa.toNetInput(img));
    const raw = (await r.data()) as Float32Array;
    r.dispose();
    const p = await net.forward(img);
    const relative = (await p.data()) as Float32Array;
    p.dispose();
    return { raw, relative };
  } finally {
    img.dispose();
    net.dispose();
  }
}

/** face-api's whole detectAllFaces(image, TinyFaceDetectorOptions).withFaceLandmarks(true). */
export async function faceApiDetectWithLandmarks(hwc: Float32Array, h: number, w: number, inputSize: number): Promise<FaceApiFaceResult[]> {
  const fa = faceApiDetect();
  const dir = join(faceApiDir(), 'model');
  await fa.nets.tinyFaceDetector.loadFromDisk(dir);
  await fa.nets.faceLandmark68TinyNet.loadFromDisk(dir);
  const img = tf.tensor3d(hwc, [h, w, 3]);
  try {
    return await fa.detectAllFaces(img, new fa.TinyFaceDetectorOptions({ inputSize })).withFaceLandmarks(true);
  } finally {
    img.dispose();
  }
}
