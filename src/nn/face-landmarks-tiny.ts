// face-api's 68-point TINY landmark net, FaceLandmark68TinyNet (npm @vladmandic/face-api@1.7.15,
// MIT; weights model/face_landmark_68_tiny_model.*), and the mapping of its output to image points.
//
// What this follows, read from face-api's sources (src/faceLandmarkNet/FaceLandmark68NetBase.ts,
// FaceLandmark68TinyNet.ts, src/faceFeatureExtractor/TinyFaceFeatureExtractor.ts, denseBlock.ts,
// src/common/depthwiseSeparableConv.ts, src/faceProcessor/FaceProcessor.ts, src/dom/NetInput.ts,
// src/dom/extractFaceTensors.ts, src/factories/WithFaceLandmarks.ts):
//  - input: the face crop padded to a square with zeros CENTRED (toBatchTensor(112, true): round(diff
//    / 2) after, the rest before), resized to 112x112 (tf.image.resizeBilinear, alignCorners and
//    halfPixelCenters false), RGB 0..255 minus [122.782, 117.001, 104.298], divided by 255.
//  - three dense blocks (denseBlock3): out1 = relu(conv0(x)) (stride 2, TF 'same': 112 -> 56 -> 28
//    -> 14; dense0's conv0 is a plain 3x3 conv 3 -> 32 + bias, dense1/2's a separable conv), out2 =
//    sep1(out1), out3 = sep2(relu(out1 + out2)), block = relu(out1 + (out2 + out3)); separable convs
//    are depthwise 3x3 'same' + pointwise + bias, no activation; widths 32, 64, 128.
//  - avgPool 14x14 (the whole 14x14 map) -> 128, fc 128 -> 136 (+ bias): x0, y0, x1, y1, ... as
//    fractions of the 112 input.
//  - postProcess: point = (v * 112 - pad) / (side * 112 / max(w, h)) per axis, with pad = |w - h| / 2
//    * 112 / max(w, h) on the shorter axis (face-api's own pad is round(diff / 2) after; its
//    postProcess assumes an even split, and so do we, to match it), a fraction of the crop's width /
//    height; times the crop's size, plus the crop's origin in the image.
//  - the crop (extractFaceTensors): the detection box clipped to the image and floored (x, y, width,
//    height each), cut out of the image. face-api then shifts the points by the UNclipped, unfloored
//    box origin (extendWithFaceLandmarks); we shift by the origin of the pixels the net saw (the
//    floored, clipped box), so points land where the face is even for a box at the border: up to one
//    pixel from face-api's on an unclipped box.
//
// Parameter names mirror face-api's: dense0.conv0.weight [32, 3, 3, 3], dense0.conv0.bias,
// denseK.convJ.depthwise.weight / .pointwise.weight / .pointwise.bias, fc.weight [136, 128], fc.bias.
import {
  Tensor, Rng, tensor, sub, scale, relu, add, globalAvgPool, reshape, keep, noGrad, fmtShape,
} from '../runtime/index.js';
import type { NamedArray } from './safetensors.js';
import { Module } from './module.js';
import { Conv2d, Linear } from './layers.js';
import { SeparableConv, tfConv2d, faceApiParamName, loadFaceApiNet } from './faceapi-common.js';

export const LANDMARK_TINY_MEAN_RGB = [122.782, 117.001, 104.298] as const;
export const LANDMARK_INPUT_SIZE = 112;
export const LANDMARK_POINTS = 68;

/** face-api's denseBlock3: a strided first conv, two separable convs, dense (summed) skips. */
export class DenseBlock3 extends Module {
  readonly conv0: Conv2d | SeparableConv;
  readonly conv1: SeparableConv;
  readonly conv2: SeparableConv;
  constructor(readonly ci: number, readonly co: number, readonly first: boolean, rng: Rng) {
    super();
    this.conv0 = this.child('conv0', first ? new Conv2d(ci, co, 3, { rng }) : new SeparableConv(ci, co, 2, rng));
    this.conv1 = this.child('conv1', new SeparableConv(co, co, 1, rng));
    this.conv2 = this.child('conv2', new SeparableConv(co, co, 1, rng));
  }
  forward(x: Tensor): Tensor {
    const c0 = this.conv0;
    const out1 = relu(c0 instanceof Conv2d ? tfConv2d(x, c0.weight, c0.bias, 2, 'same') : c0.forward(x));
    const out2 = this.conv1.forward(out1);
    const out3 = this.conv2.forward(relu(add(out1, out2)));
    return relu(add(out1, add(out2, out3)));
  }
}

/**
 * FaceLandmark68TinyNet: forward(x [N, 3, 112, 112], RGB 0..255) -> [N, 136], point k at (out[2k],
 * out[2k + 1]) in fractions of the 112 input (map to the image with landmarksToImage).
 */
export class FaceLandmark68Tiny extends Module {
  readonly dense0: DenseBlock3;
  readonly dense1: DenseBlock3;
  readonly dense2: DenseBlock3;
  readonly fc: Linear;
  private readonly mean: Tensor;

  constructor(opts: { seed?: number } = {}) {
    super();
    const rng = new Rng(opts.seed ?? 1);
    this.dense0 = this.child('dense0', new DenseBlock3(3, 32, true, rng));
    this.dense1 = this.child('dense1', new DenseBlock3(32, 64, false, rng));
    this.dense2 = this.child('dense2', new DenseBlock3(64, 128, false, rng));
    this.fc = this.child('fc', new Linear(128, 2 * LANDMARK_POINTS, { rng }));
    this.mean = keep(tensor(Float32Array.from(LANDMARK_TINY_MEAN_RGB), [1, 3, 1, 1]));
  }

  forward(x: Tensor): Tensor {
    const S = LANDMARK_INPUT_SIZE;
    if (x.rank !== 4 || x.shape[1] !== 3 || x.shape[2] !== S || x.shape[3] !== S) {
      throw new Error(`FaceLandmark68Tiny: expected x [N, 3, ${S}, ${S}] (RGB 0..255; face-api pads and resizes the crop to ${S} first), got ${fmtShape(x.shape)}`);
    }
    let out = scale(sub(x, this.mean), 1 / 255);
    out = this.dense2.forward(this.dense1.forward(this.dense0.forward(out)));
    // tf.avgPool(14, 2, 'valid') over the 14x14 map is its mean
    return this.fc.forward(reshape(globalAvgPool(out), [x.shape[0]!, 128]));
  }

  /** forward() without recording gradients. */
  predict(x: Tensor): Tensor {
    return noGrad(() => this.forward(x));
  }

  override dispose(): void {
    this.mean.dispose();
    super.dispose();
  }
}

/** Our parameter name for a face-api face_landmark_68_tiny weight name (null if it is not one of ours). */
export function landmarkTinyNameToOurs(name: string): string | null {
  return faceApiParamName(name, (p) => /^dense[0-2]\.conv[0-2]$/.test(p) && p !== 'dense0.conv0');
}

/** Fills `model` from face-api's face_landmark_68_tiny_model weights (see loadFaceApiNet). */
export function loadLandmarkTinyWeights(model: FaceLandmark68Tiny, weights: ReadonlyMap<string, NamedArray>): void {
  loadFaceApiNet(model, weights, 'loadLandmarkTinyWeights', landmarkTinyNameToOurs);
}

export interface Point { x: number; y: number }

/**
 * The net's output for one crop (136 values) -> 68 points in image pixels: face-api's postProcess
 * (see the header) for a crop of cropWidth x cropHeight whose top-left is (originX, originY).
 */
export function landmarksToImage(out: ArrayLike<number>, cropWidth: number, cropHeight: number, originX = 0, originY = 0): Point[] {
  if (out.length !== 2 * LANDMARK_POINTS) throw new Error(`landmarksToImage: expected ${2 * LANDMARK_POINTS} values (68 points), got ${out.length}`);
  if (!(cropWidth > 0 && cropHeight > 0)) throw new Error(`landmarksToImage: crop size ${cropWidth}x${cropHeight} must be positive`);
  const S = LANDMARK_INPUT_SIZE;
  const sc = S / Math.max(cropWidth, cropHeight);
  const w = cropWidth * sc, h = cropHeight * sc;
  const padX = w < h ? Math.abs(w - h) / 2 : 0;
  const padY = h < w ? Math.abs(w - h) / 2 : 0;
  const pts: Point[] = [];
  for (let k = 0; k < LANDMARK_POINTS; k++) {
    const rx = (out[2 * k]! * S - padX) / w;
    const ry = (out[2 * k + 1]! * S - padY) / h;
    pts.push({ x: rx * cropWidth + originX, y: ry * cropHeight + originY });
  }
  return pts;
}
