// Node helpers: face-api's TinyFaceDetector and tiny 68-point landmark net with the weights shipped
// by npm @vladmandic/face-api (its model folder, or another folder with the same files).
import { buildModel } from '../nn/registry.js';
import { loadTinyFaceDetectorWeights, type TinyFaceDetector } from '../nn/tiny-face-detector.js';
import { loadLandmarkTinyWeights, type FaceLandmark68Tiny } from '../nn/face-landmarks-tiny.js';
import { loadTfjsWeightsFromDir } from './files.js';
import { faceApiModelDir } from './dlib.js';

export const TINY_FACE_DETECTOR_MANIFEST = 'tiny_face_detector_model-weights_manifest.json';
export const LANDMARK_TINY_MANIFEST = 'face_landmark_68_tiny_model-weights_manifest.json';

/** Builds a TinyFaceDetector (eval mode) from `manifest` + its shards in `dir` (default: face-api's model folder). */
export async function loadTinyFaceDetectorFromFaceApi(dir?: string, manifest = TINY_FACE_DETECTOR_MANIFEST): Promise<TinyFaceDetector> {
  const weights = await loadTfjsWeightsFromDir(dir ?? faceApiModelDir(), manifest);
  const model = buildModel('tiny-face-detector', {}, 1).eval();
  try {
    loadTinyFaceDetectorWeights(model, weights);
  } catch (e) {
    model.dispose();
    throw new Error(`${manifest}: ${(e as Error).message}`, { cause: e });
  }
  return model;
}

/** Builds a FaceLandmark68Tiny (eval mode) from `manifest` + its shards in `dir` (default: face-api's model folder). */
export async function loadLandmarkTinyFromFaceApi(dir?: string, manifest = LANDMARK_TINY_MANIFEST): Promise<FaceLandmark68Tiny> {
  const weights = await loadTfjsWeightsFromDir(dir ?? faceApiModelDir(), manifest);
  const model = buildModel('face-landmarks-tiny', {}, 1).eval();
  try {
    loadLandmarkTinyWeights(model, weights);
  } catch (e) {
    model.dispose();
    throw new Error(`${manifest}: ${(e as Error).message}`, { cause: e });
  }
  return model;
}
