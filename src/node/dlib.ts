// Node helper: dlib's face descriptor ResNet with the weights shipped by npm @vladmandic/face-api.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadFaceApiWeights, type DlibResNet } from '../nn/dlib-resnet.js';
import { buildModel } from '../nn/registry.js';
import { loadTfjsWeightsFromDir } from './files.js';
import { hashFiles } from '../train/embed-cache.js';

/** node_modules/@vladmandic/face-api/model, resolved from this package. */
export function faceApiModelDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('@vladmandic/face-api/package.json');
  } catch (e) {
    throw new Error('loadDlibFromFaceApi: @vladmandic/face-api is not installed (npm i -D @vladmandic/face-api@1.7.15), or pass the model folder', { cause: e });
  }
  return join(dirname(pkg), 'model');
}

/**
 * Builds a DlibResNet (eval mode) and fills it from face_recognition_model-weights_manifest.json +
 * its shards in `dir` (default: face-api's model folder). `fuse` folds the scale layers into the
 * convs for faster inference (default true).
 */
export async function loadDlibFromFaceApi(dir?: string, opts: { fuse?: boolean } = {}): Promise<DlibResNet> {
  const weights = await loadTfjsWeightsFromDir(dir ?? faceApiModelDir(), 'face_recognition_model-weights_manifest.json');
  const model = buildModel('dlib-resnet', {}, 1).eval();
  try {
    loadFaceApiWeights(model, weights);
  } catch (e) {
    model.dispose();
    throw e;
  }
  if (opts.fuse ?? true) model.fuse();
  return model;
}

/** The face-api files dlib's weights come from (hashed for the embedding cache). */
export function faceApiFiles(dir: string): string[] {
  const m = JSON.parse(readFileSync(`${dir}/face_recognition_model-weights_manifest.json`, 'utf8')) as { paths: string[] }[];
  return [`${dir}/face_recognition_model-weights_manifest.json`, ...m.flatMap((g) => g.paths.map((p) => `${dir}/${p}`))];
}

/**
 * The `dlib` recognizer of lrfr eval (src/train/recognizers.ts DlibLoader): face-api's weights from
 * `dir` (default its model folder), fused, and the hash of their files (the embedding cache key).
 */
export async function loadFaceApiDlib(dir: string = faceApiModelDir()): Promise<{ model: DlibResNet; hash: string }> {
  const model = await loadDlibFromFaceApi(dir);
  try {
    return { model, hash: hashFiles(faceApiFiles(dir)) };
  } catch (e) {
    model.dispose();
    throw e;
  }
}
