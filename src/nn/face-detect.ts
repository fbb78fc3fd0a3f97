// Face detection, landmarks and alignment on our runtime: face-api's TinyFaceDetector
// (tiny-face-detector.ts) finds faces, its tiny 68-point landmark net (face-landmarks-tiny.ts) places
// the landmarks, and a similarity transform from five of them (eye centres, nose tip, mouth corners)
// to the project's canonical positions warps the face into the 112x112 crop the rest of the pipeline
// expects (the aligned-LFW framing of ../shared/data/README.md: the 143x143 window at (53, 41) of a
// 250x250 deep-funneled LFW image, resized to 112). Browser-safe.
//
// Images are CHW floats in [0, 1] (src/train/image.ts's ChwImage), 1 (grey, copied to RGB) or 3
// channels; the networks get RGB 0..255 as face-api does. Coordinates are continuous pixel
// coordinates: pixel (i, j) covers [j, j + 1) x [i, i + 1), its centre at (j + 0.5, i + 0.5).
import { Tensor, tensor, slice, tidy } from '../runtime/index.js';
import { toFaceApiInput } from './faceapi-common.js';
import {
  TinyFaceDetector, decodeTinyFaceDetections, TINY_FACE_DEFAULT_INPUT_SIZE, type FaceBox,
} from './tiny-face-detector.js';
import { FaceLandmark68Tiny, landmarksToImage, LANDMARK_INPUT_SIZE, type Point } from './face-landmarks-tiny.js';

/** A CHW image in [0, 1] (the shape of src/train/image.ts's ChwImage). */
export interface FaceImage {
  data: Float32Array;
  c: number;
  h: number;
  w: number;
}

/** One RGB image [1, 3, H, W] in 0..255 from a CHW [0, 1] image (grey copied to the 3 channels). */
export function faceImageTensor(img: FaceImage): Tensor {
  const { data, c, h, w } = img;
  if (c !== 1 && c !== 3) throw new Error(`face image: expected 1 (grey) or 3 (RGB) channels, got ${c}`);
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new Error(`face image: bad size ${w}x${h}`);
  if (!(data instanceof Float32Array) || data.length !== c * h * w) {
    throw new Error(`face image: ${data?.length} values do not make a ${c}x${h}x${w} CHW image`);
  }
  const hw = h * w;
  const out = new Float32Array(3 * hw);
  for (let k = 0; k < 3; k++) {
    const src = c === 1 ? 0 : k * hw;
    for (let i = 0; i < hw; i++) out[k * hw + i] = 255 * data[src + i]!;
  }
  return tensor(out, [1, 3, h, w]);
}

export interface DetectOptions {
  /** Detector input side, a multiple of 32 (face-api's default 416). */
  inputSize?: number;
  /** Keep boxes whose score is above this (face-api's default 0.5). */
  scoreThreshold?: number;
}

/** The detector's raw grid [25, g, g] for one image (face-api's forward(image, inputSize)). */
export async function tinyFaceDetectorRaw(det: TinyFaceDetector, img: FaceImage, inputSize = TINY_FACE_DEFAULT_INPUT_SIZE): Promise<Float32Array> {
  const raw = tidy(() => det.detectRaw(toFaceApiInput(faceImageTensor(img), inputSize, false).input));
  try {
    return await raw.data();
  } finally {
    raw.dispose();
  }
}

/** Faces in `img` (boxes in its pixels, best first), as face-api's detectAllFaces(img, TinyFaceDetectorOptions). */
export async function detectFaces(det: TinyFaceDetector, img: FaceImage, opts: DetectOptions = {}): Promise<FaceBox[]> {
  const inputSize = opts.inputSize ?? TINY_FACE_DEFAULT_INPUT_SIZE;
  if (!Number.isInteger(inputSize) || inputSize < 32 || inputSize % 32 !== 0) throw new Error(`detectFaces: inputSize must be a positive multiple of 32, got ${inputSize}`);
  const raw = await tinyFaceDetectorRaw(det, img, inputSize);
  return decodeTinyFaceDetections(raw, { inputSize, imageWidth: img.w, imageHeight: img.h, scoreThreshold: opts.scoreThreshold });
}

/** The integer crop face-api cuts for a box (extractFaceTensors: clipAtImageBorders, then floor). */
export function faceCrop(box: { x: number; y: number; width: number; height: number }, imageWidth: number, imageHeight: number): { x: number; y: number; width: number; height: number } {
  const x = Math.max(box.x, 0), y = Math.max(box.y, 0);
  const width = Math.min(box.x + box.width - x, imageWidth - x);
  const height = Math.min(box.y + box.height - y, imageHeight - y);
  const c = { x: Math.floor(x), y: Math.floor(y), width: Math.floor(width), height: Math.floor(height) };
  if (!(c.width > 0 && c.height > 0)) {
    throw new Error(`faceCrop: box ${JSON.stringify(box)} leaves no pixels inside the ${imageWidth}x${imageHeight} image`);
  }
  return c;
}

/** The landmark net's raw output (136 values) for the crop `crop` (integer pixels) of `img`. */
export async function landmarksRaw(net: FaceLandmark68Tiny, img: FaceImage, crop: { x: number; y: number; width: number; height: number }): Promise<Float32Array> {
  const { x, y, width, height } = crop;
  if (![x, y, width, height].every(Number.isInteger) || x < 0 || y < 0 || width < 1 || height < 1 || x + width > img.w || y + height > img.h) {
    throw new Error(`landmarksRaw: crop ${JSON.stringify(crop)} is not an integer rectangle inside the ${img.w}x${img.h} image`);
  }
  const out = tidy(() => {
    const part = slice(faceImageTensor(img), [0, 0, y, x], [1, 3, height, width]);
    return net.predict(toFaceApiInput(part, LANDMARK_INPUT_SIZE, true).input);
  });
  try {
    return await out.data();
  } finally {
    out.dispose();
  }
}

/** 68 landmarks (image pixels) of the face in `box`, as face-api's withFaceLandmarks(true) (see face-landmarks-tiny.ts). */
export async function detectLandmarks(net: FaceLandmark68Tiny, img: FaceImage, box: { x: number; y: number; width: number; height: number }): Promise<Point[]> {
  const crop = faceCrop(box, img.w, img.h);
  return landmarksToImage(await landmarksRaw(net, img, crop), crop.width, crop.height, crop.x, crop.y);
}

// ---- alignment ---------------------------------------------------------------------------------

export const ALIGNED_SIZE = 112;

/**
 * The five alignment points from the 68 (iBUG 300-W order): left-eye centre (mean of 36-41, the
 * eye on the image's left), right-eye centre (42-47), nose tip (30), mouth corners (48, 54).
 */
export function fivePoints(landmarks: readonly Point[]): Point[] {
  if (landmarks.length !== 68) throw new Error(`fivePoints: expected 68 landmarks, got ${landmarks.length}`);
  const mean = (a: number, b: number): Point => {
    let x = 0, y = 0;
    for (let i = a; i <= b; i++) { x += landmarks[i]!.x; y += landmarks[i]!.y; }
    return { x: x / (b - a + 1), y: y / (b - a + 1) };
  };
  return [mean(36, 41), mean(42, 47), landmarks[30]!, landmarks[48]!, landmarks[54]!];
}

/**
 * Canonical positions of fivePoints() in the 112x112 aligned crop (continuous coordinates): left
 * eye, right eye, nose tip, mouth left, mouth right. Derived, not assumed
 * (`npx tsx scripts/derive-face-template.mts 300`, 2026-12-02): our TinyFaceDetector (input 416,
 * threshold 0.5) + tiny landmark net with face-api's weights over the first image of each of the
 * first 300 people of BLUFR split1 train1.xml (deep-funneled LFW, 250x250: training people only);
 * the face used is the best detection whose box holds the image centre (264 faces; 36 images had
 * none); each face's five points mapped into the project's crop, (p - (53, 41)) * 112 / 143, and
 * averaged. Spread (standard deviation over the faces) 2.3-4.6 px per coordinate, so the mean is
 * good to ~0.3 px. For comparison, the common ArcFace 112 template is (38.3, 51.7), (73.5, 51.5),
 * (56.0, 71.7), (41.5, 92.4), (70.7, 92.2): close, but this one is what our landmarks give on the
 * project's own crop.
 */
export const ALIGN_TEMPLATE_112: readonly Point[] = [
  { x: 39.376, y: 55.792 },
  { x: 72.193, y: 55.049 },
  { x: 56.059, y: 74.793 },
  { x: 42.195, y: 91.345 },
  { x: 70.590, y: 91.070 },
];

/** A similarity transform p -> [a -b; b a] p + (tx, ty) (scale sqrt(a² + b²), rotation atan2(b, a)). */
export interface Similarity { a: number; b: number; tx: number; ty: number }

/** Least-squares similarity mapping src onto dst (Umeyama 1991, no reflection). */
export function fitSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new Error(`fitSimilarity: needs >= 2 point pairs, got ${n} and ${dst.length}`);
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) { sx += src[i]!.x; sy += src[i]!.y; dx += dst[i]!.x; dy += dst[i]!.y; }
  sx /= n; sy /= n; dx /= n; dy /= n;
  // minimise sum |[a -b; b a](s - s̄) - (d - d̄)|²: a = Σ(s·d) / Σ|s|², b = Σ(s × d) / Σ|s|²
  let ss = 0, dot = 0, cross = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i]!.x - sx, py = src[i]!.y - sy, qx = dst[i]!.x - dx, qy = dst[i]!.y - dy;
    ss += px * px + py * py;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
  }
  if (!(ss > 0)) throw new Error('fitSimilarity: the source points coincide');
  const a = dot / ss, b = cross / ss;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

export function applySimilarity(t: Similarity, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

/** The similarity that takes the image's landmarks to the canonical 112 crop positions. */
export function alignmentTransform(landmarks: readonly Point[]): Similarity {
  return fitSimilarity(fivePoints(landmarks), ALIGN_TEMPLATE_112);
}

/**
 * Warps `img` by the similarity `t` (image -> crop coordinates) into an out x out crop: each output
 * pixel centre is mapped back into the image and sampled bilinearly (pixel centres at k + 0.5; the
 * border pixels extend outside the image). Grey images come out grey (c = 1), RGB as RGB. No
 * antialiasing: fine for faces up to ~2x the crop (LFW's are 1.3x: the project crop's 143 -> 112),
 * faces much larger than that alias; the project's own crop uses antialiased bicubic.
 */
export function warpSimilarity(img: FaceImage, t: Similarity, out = ALIGNED_SIZE): FaceImage {
  const { data, c, h, w } = img;
  const det = t.a * t.a + t.b * t.b;
  if (!(det > 0)) throw new Error('warpSimilarity: degenerate transform (zero scale)');
  // inverse of [a -b; b a]: [a b; -b a] / det
  const ia = t.a / det, ib = t.b / det;
  const res = new Float32Array(c * out * out);
  const hw = h * w;
  for (let v = 0; v < out; v++) {
    for (let u = 0; u < out; u++) {
      const qx = u + 0.5 - t.tx, qy = v + 0.5 - t.ty;
      const sx = ia * qx + ib * qy - 0.5, sy = -ib * qx + ia * qy - 0.5;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      const cx0 = Math.min(Math.max(x0, 0), w - 1), cx1 = Math.min(Math.max(x0 + 1, 0), w - 1);
      const cy0 = Math.min(Math.max(y0, 0), h - 1), cy1 = Math.min(Math.max(y0 + 1, 0), h - 1);
      for (let k = 0; k < c; k++) {
        const p = data.subarray(k * hw, (k + 1) * hw);
        const top = p[cy0 * w + cx0]! * (1 - fx) + p[cy0 * w + cx1]! * fx;
        const bot = p[cy1 * w + cx0]! * (1 - fx) + p[cy1 * w + cx1]! * fx;
        res[(k * out + v) * out + u] = top * (1 - fy) + bot * fy;
      }
    }
  }
  return { data: res, c, h: out, w: out };
}

/** The aligned 112x112 crop of the face with these 68 landmarks (image pixels). */
export function alignFace(img: FaceImage, landmarks: readonly Point[]): FaceImage {
  return warpSimilarity(img, alignmentTransform(landmarks));
}

export interface AlignedFace {
  box: FaceBox;
  landmarks: Point[];
  transform: Similarity;
  crop: FaceImage;
}

/** Detect -> landmarks -> aligned 112 crop, for every face found (best score first). */
export async function detectAndAlign(det: TinyFaceDetector, net: FaceLandmark68Tiny, img: FaceImage, opts: DetectOptions = {}): Promise<AlignedFace[]> {
  const out: AlignedFace[] = [];
  for (const box of await detectFaces(det, img, opts)) {
    const landmarks = await detectLandmarks(net, img, box);
    const transform = alignmentTransform(landmarks);
    out.push({ box, landmarks, transform, crop: warpSimilarity(img, transform) });
  }
  return out;
}
