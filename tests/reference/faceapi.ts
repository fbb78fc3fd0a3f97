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
