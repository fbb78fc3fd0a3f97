// The app-pipeline timing page (scripts/app-timings.mts bundles and serves it; not for use by hand):
// ours (src/nn/face-pipeline.ts on the page's WebGPU adapter), and the same pipeline in tfjs-webgpu
// (its own GPUDevice on the same adapter) and tfjs-wasm (bench/lib/app-pipeline.ts), in one page.
//   ?cold=<impl>   one cold start: from navigation to the first result of that implementation
//                  (window.lrfrColdInput holds the photo; the result goes to window.lrfrCold);
//   otherwise      window.lrfrAppTimings.run(): correctness, warm-up and interleaved timing of all three.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths, setThreadsCount, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
// @ts-expect-error face-api's ESM build without bundled tfjs (its .d.ts is the bundled one's)
import * as faceapi from '@vladmandic/face-api/dist/face-api.esm-nobundle.js';
import * as L from '../../src/runtime/index.js';
import {
  oursPipeline, tfPipeline, makeGallery, timePipelines, IMPLS,
  type Impl, type ModelBytes, type Pipeline, type FaceApiLike,
} from '../../bench/lib/app-pipeline.js';
import type { FaceImage } from '../../src/nn/face-detect.js';

interface Photo { data: number[]; c: 3; h: number; w: number }

const fa = faceapi as unknown as FaceApiLike;
const logEl = document.getElementById('log');
const log = (s: string) => { console.log(s); if (logEl) logEl.textContent += `${s}\n`; };
const toImage = (p: Photo): FaceImage => ({ data: Float32Array.from(p.data), c: 3, h: p.h, w: p.w });

async function bytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function tfjsFiles(name: string): Promise<{ manifest: unknown; shards: Uint8Array[] }> {
  const manifest = (await (await fetch(`/m/${name}.json`)).json()) as { paths: string[] }[];
  const n = manifest.flatMap((g) => g.paths).length;
  return { manifest, shards: await Promise.all(Array.from({ length: n }, (_, i) => bytes(`/m/${name}.${i}`))) };
}

async function modelBytes(): Promise<ModelBytes> {
  const [recognizer, dsr, detector, landmarks] = await Promise.all([bytes('/m/recognizer'), bytes('/m/dsr'), tfjsFiles('detector'), tfjsFiles('landmarks')]);
  return { recognizer, dsr, detector, landmarks };
}

async function startWasm(): Promise<string | null> {
  try {
    setWasmPaths(new URL('/wasm/', location.href).href);
    setThreadsCount(1);
    if (!(await tf.setBackend('wasm'))) return "tf.setBackend('wasm') failed";
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

async function useBackend(impl: Impl): Promise<void> {
  if (impl === 'ours') return;
  const want = impl === 'tfjs-webgpu' ? 'webgpu' : 'wasm';
  if (tf.getBackend() !== want && !(await tf.setBackend(want))) throw new Error(`tf.setBackend('${want}') failed`);
}

async function pipeline(impl: Impl, b: ModelBytes): Promise<Pipeline> {
  if (impl === 'ours') {
    if (!L.hasDevice()) await L.initDevice();
    return oursPipeline(b);
  }
  await useBackend(impl);
  return tfPipeline(impl, b, fa);
}

async function cold(impl: Impl): Promise<void> {
  const w = window as unknown as { lrfrColdInput: { photo: Photo; person: string }; lrfrCold: unknown };
  try {
    tf.env().set('PROD', true);
    if (impl === 'tfjs-wasm') { const e = await startWasm(); if (e) throw new Error(e); }
    const b = await modelBytes();
    const pipe = await pipeline(impl, b);
    const loadedMs = performance.now();
    const gallery = makeGallery({ [w.lrfrColdInput.person]: new Float32Array(512).fill(1 / Math.sqrt(512)) });
    const t = performance.now();
    const r = await pipe.run(toImage(w.lrfrColdInput.photo), gallery);
    w.lrfrCold = { firstMs: performance.now(), loadedMs, runMs: performance.now() - t, faces: r.faces.length };
    pipe.dispose();
  } catch (e) {
    w.lrfrCold = { error: (e as Error).message };
  }
}

async function run(a: { enrol: Photo; probe: Photo; person: string; repeats: number; warmup: number }) {
  tf.env().set('PROD', true);
  const wasmError = await startWasm();
  const wasmThreads = wasmError ? null : getThreadsCount();
  const b = await modelBytes();
  const pipes = new Map<Impl, Pipeline>();
  const peers: Record<string, unknown> = { tfjs: tf.version.tfjs, wasm: wasmError ?? `ok, ${wasmThreads} thread(s)` };
  for (const impl of IMPLS) {
    if (impl === 'tfjs-wasm' && wasmError) continue;
    try {
      pipes.set(impl, await pipeline(impl, b));
    } catch (e) {
      peers[impl] = (e as Error).message;
      log(`${impl}: ${(e as Error).message}`);
    }
  }
  const enrol = await pipes.get('ours')!.run(toImage(a.enrol), []);
  const gallery = makeGallery({ [a.person]: enrol.faces[0]!.embHr });
  const results = await timePipelines(pipes, toImage(a.probe), gallery, { repeats: a.repeats, warmup: a.warmup, person: a.person }, useBackend, log);
  for (const p of pipes.values()) p.dispose();
  const ad = L.adapterSummary();
  return { adapter: ad.description || ad.key, peers, results };
}

const coldImpl = new URLSearchParams(location.search).get('cold') as Impl | null;
if (coldImpl) void cold(coldImpl);
else (window as unknown as { lrfrAppTimings: unknown }).lrfrAppTimings = { run };
