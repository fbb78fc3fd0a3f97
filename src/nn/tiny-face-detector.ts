// face-api's TinyFaceDetector (npm @vladmandic/face-api@1.7.15, MIT; weights
// model/tiny_face_detector_model.*): a YOLOv2-style single-class detector, and its box decoding.
//
// What this follows, read from face-api's sources (src/tinyFaceDetector/*, src/tinyYolov2/
// TinyYolov2Base.ts, depthwiseSeparableConv.ts, leaky.ts, src/dom/NetInput.ts, src/ops/*):
//  - input: the image padded to a square with zeros at the bottom or the right (toBatchTensor(size,
//    isCenterInputs = false)), resized to size x size (tf.image.resizeBilinear, alignCorners and
//    halfPixelCenters false; size a multiple of 32, default 416), RGB 0..255 minus the mean
//    [117.001, 114.697, 97.404], divided by 255.
//  - conv0: 3x3 'valid' conv 3 -> 16 + bias, leaky ReLU (slope 0.1); then maxPool 2x2 stride 2
//    'same'; conv1..conv5: zero pad 1, depthwise 3x3 + pointwise 1x1 + bias, leaky; after conv1..4
//    maxPool 2x2 stride 2 'same', after conv5 maxPool 2x2 stride 1 'same'; conv8: 1x1 512 -> 25 +
//    bias. 416 -> 414 -> 207 -> 104 -> 52 -> 26 -> 13 -> 13: a 13x13 grid (size / 32).
//  - output channel 5a + k of cell (row, col) is value k of anchor a (face-api's NHWC [g, g, 5, 5]):
//    tx, ty, tw, th, score logit; 5 anchors (in cells), one class (no class scores).
//  - decoding (extractBoxes + detect): score = sigmoid(logit), kept if > scoreThreshold (0.5);
//    centre ((col + sigmoid(tx)) / g, (row + sigmoid(ty)) / g), size (exp(tw) ax / g, exp(th) ay / g),
//    in fractions of the padded square, times inputSize / reshaped side per axis (the reshaped sides
//    are round(w * size / max(w, h)) and round(h * ...)), which makes them fractions of the image;
//    then greedy NMS over all kept boxes by score (IoU > 0.4 suppressed); finally x, w times the
//    image width and y, h times its height (FaceDetection's box).
//
// Parameter names mirror face-api's: conv0.weight [16, 3, 3, 3], conv0.bias; convK.depthwise.weight
// [C, 1, 3, 3], convK.pointwise.weight [Co, C, 1, 1], convK.pointwise.bias; conv8.weight [25, 512,
// 1, 1], conv8.bias.
import {
  Tensor, Rng, tensor, sub, scale, leakyRelu, maxPool2d, conv2d, keep, noGrad, fmtShape,
} from '../runtime/index.js';
import type { NamedArray } from './safetensors.js';
import { Module } from './module.js';
import { Conv2d } from './layers.js';
import { SeparableConv, faceApiParamName, loadFaceApiNet } from './faceapi-common.js';

export const TINY_FACE_MEAN_RGB = [117.001, 114.697, 97.404] as const;
/** Anchor sizes (width, height) in grid cells, face-api's BOX_ANCHORS. */
export const TINY_FACE_ANCHORS: readonly (readonly [number, number])[] = [
  [1.603231, 2.094468], [6.041143, 7.080126], [2.882459, 3.518061], [4.266906, 5.178857], [9.041765, 10.66308],
];
export const TINY_FACE_IOU_THRESHOLD = 0.4;
export const TINY_FACE_DEFAULT_INPUT_SIZE = 416;
export const TINY_FACE_DEFAULT_SCORE_THRESHOLD = 0.5;
/** face-api's leaky(): relu(x - 0.1 x) + 0.1 x with 0.1 as float32, i.e. a leaky ReLU of slope 0.1. */
const LEAKY_SLOPE = 0.10000000149011612;
const BOX_ENCODING = 5;

const SEPARABLE = [[16, 32], [32, 64], [64, 128], [128, 256], [256, 512]] as const;

/**
 * TinyFaceDetector: forward(x [N, 3, S, S], RGB 0..255, S a multiple of 32) -> the raw grid
 * [N, 25, S/32, S/32] (decode with decodeTinyFaceDetections).
 */
export class TinyFaceDetector extends Module {
  readonly conv0: Conv2d;
  readonly convs: SeparableConv[];
  readonly conv8: Conv2d;
  private readonly mean: Tensor;

  constructor(opts: { seed?: number } = {}) {
    super();
    const rng = new Rng(opts.seed ?? 1);
    this.conv0 = this.child('conv0', new Conv2d(3, 16, 3, { rng }));
    this.convs = SEPARABLE.map(([ci, co], i) => this.child(`conv${i + 1}`, new SeparableConv(ci, co, 1, rng)));
    this.conv8 = this.child('conv8', new Conv2d(512, TINY_FACE_ANCHORS.length * BOX_ENCODING, 1, { rng }));
    this.mean = keep(tensor(Float32Array.from(TINY_FACE_MEAN_RGB), [1, 3, 1, 1]));
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== 3) throw new Error(`TinyFaceDetector: expected x [N, 3, S, S] (RGB 0..255), got ${fmtShape(x.shape)}`);
    const s = x.shape[2]!;
    if (s !== x.shape[3] || s % 32 !== 0 || s < 32) {
      throw new Error(`TinyFaceDetector: expected a square input whose side is a multiple of 32 (face-api: 416, 320, 224, ...), got ${fmtShape(x.shape)}`);
    }
    let out = scale(sub(x, this.mean), 1 / 255);
    out = leakyRelu(this.conv0.forward(out), LEAKY_SLOPE);
    this.convs.forEach((c, i) => {
      out = maxPool2d(out, 2, 2, 'same');
      // tinyYolov2's separable conv: explicit zero pad 1, then 'valid' (= 'same' at stride 1)
      out = leakyRelu(c.forward(out), LEAKY_SLOPE);
      if (i === this.convs.length - 1) out = maxPool2d(out, 2, 1, 'same');
    });
    return conv2d(out, this.conv8.weight, this.conv8.bias);
  }

  /** forward() without recording gradients. */
  detectRaw(x: Tensor): Tensor {
    return noGrad(() => this.forward(x));
  }

  override dispose(): void {
    this.mean.dispose();
    super.dispose();
  }
}

/** Our parameter name for a face-api TinyFaceDetector weight name (null if it is not one of ours). */
export function tinyFaceDetectorNameToOurs(name: string): string | null {
  return faceApiParamName(name, (p) => /^conv[1-5]$/.test(p));
}

/** Fills `model` from face-api's tiny_face_detector_model weights (see loadFaceApiNet). */
export function loadTinyFaceDetectorWeights(model: TinyFaceDetector, weights: ReadonlyMap<string, NamedArray>): void {
  loadFaceApiNet(model, weights, 'loadTinyFaceDetectorWeights', tinyFaceDetectorNameToOurs);
}

/** A detected face: box in image pixels (x, y = top-left), score in (0, 1). */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export interface DecodeOptions {
  /** The detector's input side (the grid is inputSize / 32). */
  inputSize: number;
  /** The original image (before padding and resizing). */
  imageWidth: number;
  imageHeight: number;
  scoreThreshold?: number;
  iouThreshold?: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

interface Rect { x: number; y: number; width: number; height: number }

/** face-api's iou (isIOU = true): right = x + width, bottom = y + height. */
function iou(a: Rect, b: Rect): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * face-api's nonMaxSuppression: repeatedly pick the highest score (among equal scores the one
 * listed last, as its stable ascending sort + pop does) and drop the boxes overlapping it by more
 * than `threshold`. Returns the picked indices in pick order.
 */
export function nonMaxSuppression(boxes: readonly Rect[], scores: readonly number[], threshold: number): number[] {
  let order = scores.map((score, i) => ({ score, i })).sort((a, b) => a.score - b.score).map((c) => c.i);
  const pick: number[] = [];
  while (order.length > 0) {
    const cur = order.pop()!;
    pick.push(cur);
    order = order.filter((j) => iou(boxes[cur]!, boxes[j]!) <= threshold);
  }
  return pick;
}

/**
 * Decodes one image's raw grid ([25, g, g] NCHW, as read back from forward()) into face boxes in
 * the original image's pixels, exactly as face-api's TinyFaceDetector.locateFaces (see the header).
 */
export function decodeTinyFaceDetections(raw: Float32Array, opts: DecodeOptions): FaceBox[] {
  const { inputSize, imageWidth: W, imageHeight: H } = opts;
  const thr = opts.scoreThreshold ?? TINY_FACE_DEFAULT_SCORE_THRESHOLD;
  const iouThr = opts.iouThreshold ?? TINY_FACE_IOU_THRESHOLD;
  const A = TINY_FACE_ANCHORS.length;
  const g = inputSize / 32;
  if (!Number.isInteger(g) || g < 1) throw new Error(`decodeTinyFaceDetections: inputSize ${inputSize} is not a positive multiple of 32`);
  if (raw.length !== A * BOX_ENCODING * g * g) {
    throw new Error(`decodeTinyFaceDetections: expected ${A * BOX_ENCODING} x ${g} x ${g} = ${A * BOX_ENCODING * g * g} values for inputSize ${inputSize}, got ${raw.length}`);
  }
  if (!(W > 0 && H > 0)) throw new Error(`decodeTinyFaceDetections: image size ${W}x${H} must be positive`);
  if (!(thr > 0 && thr < 1)) throw new Error(`decodeTinyFaceDetections: scoreThreshold must be in (0, 1), got ${thr}`);
  // computeReshapedDimensions: the image's sides after scaling its longer side to inputSize, rounded
  const sc = inputSize / Math.max(W, H);
  const rw = Math.round(W * sc), rh = Math.round(H * sc);
  const side = Math.max(rw, rh);
  const cx = side / rw, cy = side / rh;
  const at = (ch: number, row: number, col: number) => raw[(ch * g + row) * g + col]!;
  const boxes: Rect[] = [];
  const scores: number[] = [];
  for (let row = 0; row < g; row++) {
    for (let col = 0; col < g; col++) {
      for (let a = 0; a < A; a++) {
        const c0 = a * BOX_ENCODING;
        const score = sigmoid(at(c0 + 4, row, col));
        if (!(score > thr)) continue;
        const ctX = ((col + sigmoid(at(c0, row, col))) / g) * cx;
        const ctY = ((row + sigmoid(at(c0 + 1, row, col))) / g) * cy;
        const w = ((Math.exp(at(c0 + 2, row, col)) * TINY_FACE_ANCHORS[a]![0]) / g) * cx;
        const h = ((Math.exp(at(c0 + 3, row, col)) * TINY_FACE_ANCHORS[a]![1]) / g) * cy;
        const x = ctX - w / 2, y = ctY - h / 2;
        // BoundingBox(x, y, x + w, y + h) stores width = right - left
        boxes.push({ x, y, width: x + w - x, height: y + h - y });
        scores.push(score);
      }
    }
  }
  // face-api runs NMS on the boxes scaled by inputSize (IoU is scale-free up to rounding)
  const scaled = boxes.map((b) => ({ x: b.x * inputSize, y: b.y * inputSize, width: b.width * inputSize, height: b.height * inputSize }));
  return nonMaxSuppression(scaled, scores, iouThr).map((i) => {
    const b = boxes[i]!;
    return { x: b.x * W, y: b.y * H, width: b.width * W, height: b.height * H, score: scores[i]! };
  });
}
