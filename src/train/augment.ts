// Training-time image augmentation on the CPU (CHW float images in [0, 1]): horizontal flips,
// teacher-labelled "views" (scale, rotation, shift, brightness/contrast, blur) and the random
// framing shift. Every draw comes from a caller's Rng, so a seed (and a restored Rng state)
// reproduces the same images.
import type { Rng } from '../runtime/random.js';
import type { ChwImage } from './image.js';
import { mixSeed, gaussianKernel, convolve2d } from './degrade.js';
import { Rng as RngClass } from '../runtime/random.js';

/** Mirror left-right. */
export function flipH(img: ChwImage): ChwImage {
  const { c, h, w, data } = img;
  const out = new Float32Array(data.length);
  for (let q = 0; q < c; q++) for (let y = 0; y < h; y++) {
    const r = (q * h + y) * w;
    for (let x = 0; x < w; x++) out[r + x] = data[r + w - 1 - x]!;
  }
  return { data: out, c, h, w };
}

export interface ViewParams {
  /** Zoom about the centre (> 1: the face gets larger). */
  scale: number;
  /** Rotation in degrees (counter-clockwise). */
  angle: number;
  /** Translation in pixels. */
  dx: number;
  dy: number;
  brightness: number;
  contrast: number;
  /** Gaussian blur sigma in pixels (0: none). */
  blur: number;
}

export const IDENTITY_VIEW: ViewParams = { scale: 1, angle: 0, dx: 0, dy: 0, brightness: 1, contrast: 1, blur: 0 };

/** The parameters of view v (> 0) of image i under `seed`; view 0 is the image itself. */
export function viewParams(seed: number, image: number, view: number): ViewParams {
  if (view === 0) return IDENTITY_VIEW;
  const r = new RngClass(mixSeed(mixSeed(seed, image), view));
  return {
    scale: r.uniform(0.9, 1.1),
    angle: r.uniform(-8, 8),
    dx: r.uniform(-4, 4),
    dy: r.uniform(-4, 4),
    brightness: r.uniform(0.8, 1.2),
    contrast: r.uniform(0.8, 1.2),
    blur: r.next() < 0.3 ? r.uniform(0.3, 1.2) : 0,
  };
}

/** Bilinear affine warp about the image centre (border pixels extend outward). */
export function affineWarp(img: ChwImage, p: Pick<ViewParams, 'scale' | 'angle' | 'dx' | 'dy'>): ChwImage {
  const { c, h, w, data } = img;
  const out = new Float32Array(data.length);
  const cx = w / 2, cy = h / 2;
  const t = (p.angle * Math.PI) / 180, cos = Math.cos(t) / p.scale, sin = Math.sin(t) / p.scale;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    // output pixel centre -> source coordinates (inverse map)
    const ox = x + 0.5 - cx - p.dx, oy = y + 0.5 - cy - p.dy;
    const sx = Math.min(Math.max(cos * ox + sin * oy + cx - 0.5, 0), w - 1);
    const sy = Math.min(Math.max(-sin * ox + cos * oy + cy - 0.5, 0), h - 1);
    const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(x0 + 1, w - 1), y1 = Math.min(y0 + 1, h - 1);
    const fx = sx - x0, fy = sy - y0;
    for (let q = 0; q < c; q++) {
      const b = q * h * w;
      const v = (1 - fy) * ((1 - fx) * data[b + y0 * w + x0]! + fx * data[b + y0 * w + x1]!) + fy * ((1 - fx) * data[b + y1 * w + x0]! + fx * data[b + y1 * w + x1]!);
      out[b + y * w + x] = v;
    }
  }
  return { data: out, c, h, w };
}

/** Applies a view: warp, blur, then brightness/contrast (about the image mean), clamped to [0, 1]. */
export function applyView(img: ChwImage, p: ViewParams): ChwImage {
  if (p === IDENTITY_VIEW) return img;
  let x = affineWarp(img, p);
  if (p.blur > 0) x = convolve2d(x, gaussianKernel(p.blur));
  const d = x.data;
  let mean = 0;
  for (let i = 0; i < d.length; i++) mean += d[i]!;
  mean /= d.length;
  for (let i = 0; i < d.length; i++) {
    const v = ((d[i]! - mean) * p.contrast + mean) * p.brightness;
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return x;
}

/** An integer uniform in [lo, hi]. */
export function uniformInt(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}
