// scripts/app-timings.mts's peers (bench/lib/app-pipeline.ts): the app's pipeline in tfjs-webgpu (on
// Dawn, the same adapter as ours) and tfjs-wasm — face-api's own detector and landmark nets, the same
// alignment, tests/reference's DSR and EdgeFace-XXS with the committed weights — computes what ours
// computes on a real LFW photo (made in memory, not written), and the agreement check that gates the
// timing rejects results that differ.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { initPeers } from '../bench/lib/peers.js';
import {
  oursPipeline, tfPipeline, agreement, agrees, makeGallery, stats, TOL,
  type ModelBytes, type Pipeline, type FaceApiLike, type RunOut,
} from '../bench/lib/app-pipeline.js';
import { lfwImagePath, requireLfw } from '../src/node/data-lfw-mini.js';
import type { FaceImage } from '../src/nn/face-detect.js';

const require = createRequire(import.meta.url);
const PERSON = 'Aaron_Peirsol';
const faDir = dirname(require.resolve('@vladmandic/face-api/package.json'));

function tfjsFiles(manifest: string): { manifest: unknown; shards: Uint8Array[] } {
  const m = JSON.parse(readFileSync(join(faDir, 'model', manifest), 'utf8')) as { paths: string[] }[];
  return { manifest: m, shards: m.flatMap((g) => g.paths).map((p) => new Uint8Array(readFileSync(join(faDir, 'model', p)))) };
}

async function photo(i: number): Promise<FaceImage> {
  const { data, info } = await sharp(lfwImagePath(PERSON, i)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const hw = info.width * info.height;
  const d = new Float32Array(3 * hw);
  for (let p = 0; p < hw; p++) for (let k = 0; k < 3; k++) d[k * hw + p] = data[3 * p + k]! / 255;
  return { data: d, c: 3, h: info.height, w: info.width };
}

let bytes: ModelBytes;
let fa: FaceApiLike;
let ours: Pipeline;
let ref: RunOut;
let gallery: ReturnType<typeof makeGallery>;
let img: FaceImage;

beforeAll(async () => {
  requireLfw();
  const status = await initPeers();
  expect(status.webgpu, 'tfjs-webgpu').toBeNull();
  expect(status.wasm, 'tfjs-wasm').toBeNull();
  fa = require(join(faDir, 'dist', 'face-api.node-wasm.js')) as FaceApiLike;
  bytes = {
    recognizer: new Uint8Array(readFileSync('weights/edgeface-c1-recognizer.safetensors')),
    dsr: new Uint8Array(readFileSync('weights/edgeface-c2-dsr.safetensors')),
    detector: tfjsFiles('tiny_face_detector_model-weights_manifest.json'),
    landmarks: tfjsFiles('face_landmark_68_tiny_model-weights_manifest.json'),
  };
  ours = oursPipeline(bytes);
  const enrol = await ours.run(await photo(1), []);
  expect(enrol.faces).toHaveLength(1);
  gallery = makeGallery({ [PERSON]: enrol.faces[0]!.embHr });
  img = await photo(2);
  ref = await ours.run(img, gallery);
});

afterAll(async () => {
  ours?.dispose();
  await tf.setBackend('cpu');
});

describe('the app pipeline in tfjs (the timing peers)', () => {
  it('ours finds the face and matches it to the enrolled person', () => {
    expect(ref.faces).toHaveLength(1);
    expect(ref.faces[0]!.best).toBe(PERSON);
    expect(ref.totalMs).toBeGreaterThan(0);
  });

  it.each([['tfjs-webgpu', 'webgpu'], ['tfjs-wasm', 'wasm']] as const)('%s computes the same faces, boxes and embeddings', async (impl, backend) => {
    await tf.setBackend(backend);
    const p = tfPipeline(impl, bytes, fa);
    try {
      const r = await p.run(img, gallery);
      const a = agreement(ref, r);
      console.log(`${impl} vs ours: box ${a.boxPx.toExponential(1)} px, embeddings hr ${a.emb.hr.toExponential(1)} bicubic ${a.emb.bicubic.toExponential(1)} sr ${a.emb.sr.toExponential(1)}`);
      expect(a.faces).toEqual([1, 1]);
      expect(a.boxPx).toBeLessThan(TOL.boxPx);
      expect(Math.max(a.emb.hr, a.emb.bicubic, a.emb.sr)).toBeLessThan(TOL.emb);
      expect(a.sameMatch).toBe(true);
      expect(agrees(a)).toBe(true);
      // the three embeddings differ from each other (HR vs the 16 px probe's): the check compares like with like
      const f = r.faces[0]!;
      let d = 0;
      for (let i = 0; i < f.embHr.length; i++) d = Math.max(d, Math.abs(f.embHr[i]! - f.embBicubic[i]!));
      expect(d).toBeGreaterThan(10 * TOL.emb);
    } finally {
      p.dispose();
    }
  });

  it('the gate rejects a different embedding, a missing face and another match', () => {
    const f = ref.faces[0]!;
    const shifted: RunOut = { ...ref, faces: [{ ...f, embSr: f.embSr.map((v, i) => (i === 3 ? v + 0.01 : v)) }] };
    expect(agrees(agreement(ref, shifted))).toBe(false);
    expect(agrees(agreement(ref, { ...ref, faces: [] }))).toBe(false);
    expect(agrees(agreement(ref, { ...ref, faces: [{ ...f, best: 'someone else' }] }))).toBe(false);
    expect(agrees(agreement(ref, ref))).toBe(true);
  });

  it('stats: median of odd and even counts, min, max', () => {
    expect(stats([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3, n: 3 });
    expect(stats([4, 1, 3, 2])).toMatchObject({ median: 2.5, min: 1, max: 4, n: 4 });
  });
});
