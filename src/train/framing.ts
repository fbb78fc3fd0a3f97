// The recognizers' framings of the aligned 112 crop: dlib's window, resampled straight from the crop.
//
// dlib framing from the 112 crop. dlib's ResNet wants the 108x108 window at (70, 76) of the 250x250
// deep-funneled image, resized to 150 (data.ts DLIB_WINDOW). The 112 crop is the 143x143 window at
// (53, 41) resized to 112, so that window is, in 143-crop pixels, at (70-53, 76-41) = (17, 35), size
// 108, and in 112-crop pixels (continuous coordinates, scale 112/143):
//   x0 = 17 * 112/143 = 13.3147, y0 = 35 * 112/143 = 27.4126, size = 108 * 112/143 = 84.5874
// (it ends at y = 112 exactly: the window's bottom edge is the crop's). frameWindow() resamples that
// fractional window to 150x150 directly (one bicubic pass per axis, no intermediate rounding):
// output pixel i samples source coordinate x0 + (i + 0.5) * size/150 (pixel centres at k + 0.5),
// Keys cubic a = -0.5 normalised over the taps inside the image (= degrade.ts resizeBicubicCpu with
// antialias, i.e. PyTorch's AA bicubic, generalised to a fractional window; for an upscale like this
// one (84.6 -> 150) the AA kernel is the plain 4-tap Keys kernel). Taps just outside the window but
// inside the crop are used (they are real pixels), unlike crop-then-resize.
import * as L from '../runtime/index.js';
import type { ChwImage } from './image.js';
import { ARCFACE_WINDOW, DLIB_WINDOW } from './data.js';
import { HR_SIZE } from './degrade.js';
import { DLIB_INPUT_SIZE } from '../nn/dlib-resnet.js';

export interface Window { x: number; y: number; size: number }

/** dlib's window (data.ts DLIB_WINDOW) in the coordinates of the 112 aligned crop (see the header). */
export function dlibWindowIn112(): Window {
  const s = ARCFACE_WINDOW.out / ARCFACE_WINDOW.size;
  return { x: (DLIB_WINDOW.x - ARCFACE_WINDOW.x) * s, y: (DLIB_WINDOW.y - ARCFACE_WINDOW.y) * s, size: DLIB_WINDOW.size * s };
}

function keys(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

/** 1-D weights of the window [x0, x0 + size) of an axis of length lin resampled to lout (see header). */
function windowWeights(lin: number, x0: number, size: number, lout: number): { start: Int32Array; n: Int32Array; w: Float64Array; taps: number } {
  const scale = size / lout;
  const support = scale >= 1 ? 2 * scale : 2;
  const inv = scale >= 1 ? 1 / scale : 1;
  const taps = Math.ceil(support) * 2 + 2;
  const start = new Int32Array(lout), n = new Int32Array(lout), w = new Float64Array(lout * taps);
  for (let i = 0; i < lout; i++) {
    const centre = x0 + scale * (i + 0.5);
    const lo = Math.max(Math.floor(centre - support + 0.5), 0);
    const hi = Math.min(Math.floor(centre + support + 0.5), lin);
    let tot = 0;
    for (let j = lo; j < hi; j++) {
      const v = keys((j + 0.5 - centre) * inv, -0.5);
      w[i * taps + j - lo] = v;
      tot += v;
    }
    if (tot !== 0) for (let j = lo; j < hi; j++) w[i * taps + j - lo]! /= tot;
    start[i] = lo;
    n[i] = hi - lo;
  }
  return { start, n, w, taps };
}

/** Resamples the square window `win` (fractional, in pixels of `img`) to out x out (see the header). */
export function frameWindow(img: ChwImage, win: Window, out: number): ChwImage {
  const { data, c, h, w } = img;
  const ax = windowWeights(w, win.x, win.size, out);
  const ay = windowWeights(h, win.y, win.size, out);
  const tmp = new Float64Array(c * h * out);
  for (let r = 0; r < c * h; r++) {
    for (let i = 0; i < out; i++) {
      let s = 0;
      const b = i * ax.taps, st = ax.start[i]!;
      for (let k = 0; k < ax.n[i]!; k++) s += ax.w[b + k]! * data[r * w + st + k]!;
      tmp[r * out + i] = s;
    }
  }
  const res = new Float32Array(c * out * out);
  for (let q = 0; q < c; q++) {
    for (let i = 0; i < out; i++) {
      const b = i * ay.taps, st = ay.start[i]!;
      for (let x = 0; x < out; x++) {
        let s = 0;
        for (let k = 0; k < ay.n[i]!; k++) s += ay.w[b + k]! * tmp[(q * h + st + k) * out + x]!;
        res[(q * out + i) * out + x] = s;
      }
    }
  }
  return { data: res, c, h: out, w: out };
}

export const DLIB_FRAMING = 'dlib window (70, 76, 108) of the 250 image = (13.315, 27.413, 84.587) in the 112 crop -> 150x150 (bicubic, a = -0.5)';

/**
 * The dlib input (RGB 0..255, 150x150, clamped) from an aligned 112 crop in [0, 1]; dx, dy shift the
 * window (crop pixels: the trainer's framing augmentation).
 */
export function dlibInputFrom112(img112: ChwImage, dx = 0, dy = 0): ChwImage {
  if (img112.h !== HR_SIZE || img112.w !== HR_SIZE) throw new Error(`dlibInputFrom112: expected a ${HR_SIZE}x${HR_SIZE} crop, got ${img112.w}x${img112.h}`);
  const w = dlibWindowIn112();
  const f = frameWindow(img112, { x: w.x + dx, y: w.y + dy, size: w.size }, DLIB_INPUT_SIZE);
  const d = f.data;
  for (let i = 0; i < d.length; i++) d[i] = 255 * (d[i]! < 0 ? 0 : d[i]! > 1 ? 1 : d[i]!);
  return f;
}

/** frameWindow along one axis as a dense matrix [lout, lin] (row i: output pixel i's weights). */
export function windowMatrix(lin: number, x0: number, size: number, lout: number): Float32Array {
  const a = windowWeights(lin, x0, size, lout);
  const m = new Float32Array(lout * lin);
  for (let i = 0; i < lout; i++) for (let k = 0; k < a.n[i]!; k++) m[i * lin + a.start[i]! + k] = a.w[i * a.taps + k]!;
  return m;
}

/**
 * dlibInputFrom112 for a batch of 112 crops on the GPU, differentiable: [N, 3, 112, 112] in [0, 1]
 * -> [N, 3, 150, 150] RGB 0..255 (the same resampling as frameWindow, as two matrix products with
 * windowMatrix along x and then y, then the clamp and the x255). What the SR task feeds a frozen dlib.
 */
export function dlibFrameTensor(x: L.Tensor): L.Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (x.rank !== 4 || h !== HR_SIZE || w !== HR_SIZE) throw new Error(`dlibFrameTensor: expected [N, C, ${HR_SIZE}, ${HR_SIZE}], got [${x.shape.join(', ')}]`);
  const win = dlibWindowIn112();
  const O = DLIB_INPUT_SIZE;
  const ax = L.tensor(windowMatrix(w, win.x, win.size, O), [O, w]);
  const ay = L.tensor(windowMatrix(h, win.y, win.size, O), [O, h]);
  // rows (n, c, y) x columns x -> (n, c, y, X)
  const t = L.matmul(L.reshape(x, [n * c * h, w]), ax, { transB: true });
  // (n, c, X, y) x y -> (n, c, X, Y) -> (n, c, Y, X)
  const ty = L.permute(L.reshape(t, [n * c, h, O]), [0, 2, 1]);
  const u = L.matmul(L.reshape(ty, [n * c * O, h]), ay, { transB: true });
  const f = L.permute(L.reshape(u, [n * c, O, O]), [0, 2, 1]);
  return L.scale(L.clamp(L.reshape(f, [n, c, O, O]), 0, 1), 255);
}
