// Low-resolution synthesis on the CPU (float64 accumulation; independent of the GPU, deterministic).
//
// Resampling follows PyTorch F.interpolate(mode='bicubic', align_corners=False), written out here:
//   scale = in / out.
//   antialias=true (PyTorch _upsample_bicubic2d_aa, PIL-style): centre = scale*(i+0.5);
//     support = 2*max(scale, 1); taps j in [trunc(centre-support+0.5), trunc(centre+support+0.5)) ∩ [0, in);
//     weight = k((j - centre + 0.5) / max(scale, 1)), Keys cubic with a = -0.5, normalised per output.
//   antialias=false (upsample_bicubic2d): src = scale*(i+0.5) - 0.5, 4 taps floor(src)-1..+2 clamped to
//     the border, Keys cubic with a = -0.75.
// Separable: along W first, then along H (as PyTorch's CPU kernel).
//
// LR synthesis (the project's protocol): the aligned 112x112 crop -> S x S, S in {12, 16, 24, 32},
// bicubic antialiased (`downsample`). Brought back up to 112 for the recognizer / as SR baseline with
// plain bicubic (`upsample`: antialias=false, a = -0.75, = the GPU resizeBicubic(x, [112, 112]) default).
//
// Degradation model ("seed 003"; `sampleDegradation` / `degradeLR`), the classical
//   y = JPEG_q( (x ⊛ k)↓S + n ):
//   1. blur, applied with p = 0.5, on the 112x112 HR crop (border: replicate):
//        with p = 0.5 Gaussian, σ ~ U[0.5, 2.5] HR pixels (kernel radius ceil(3σ));
//        otherwise motion blur: a line of length ~ U[3, 11] HR pixels at angle ~ U[0°, 180°).
//   2. bicubic antialiased downsampling to S x S (always).
//   3. Gaussian noise, applied with p = 0.5: i.i.d. per pixel and channel, σ ~ U[2, 15] / 255; clamp [0, 1].
//   4. JPEG, applied with p = 0.5: quality ~ integer U{30..90}, 4:2:0, sharp (libjpeg) encode + decode.
//   The result is in [0, 1]; it is 8-bit quantised only when the JPEG step applied (clean LR: float).
// Every draw comes from Rng(mixSeed(seed, index)) in a fixed order (all parameters are drawn whether
// or not their step applies), so the same seed + image index give the same output, independent of
// the size S and of the other images.
//
// Resolution matching of the gallery ("seed 004", `matchGallery`): degrade the gallery 112 crop to
// the probe's size S (bicubic antialiased) and bring it back to 112 the same way the probe is
// (`upsample`), so both sides carry the same loss of detail.
import { Rng } from '../runtime/random.js';
import type { ChwImage } from './image.js';
import { decodeImage, encodeJpeg } from './image.js';

/** Probe sizes the evaluation takes: the project's 12-32 px, and 7, 14 and 28 (issue 14's methods: the ×16, ×8 and ×4 of the 112 crop). */
export const LR_SIZES = [7, 12, 14, 16, 24, 28, 32] as const;
export const HR_SIZE = 112;

/** Parameter ranges of the degradation model (see the header comment). */
export const DEGRADATION = {
  pBlur: 0.5,
  pGaussianGivenBlur: 0.5,
  gaussianSigma: [0.5, 2.5] as const, // HR (112) pixels
  motionLength: [3, 11] as const, // HR pixels
  motionAngleDeg: [0, 180] as const,
  pNoise: 0.5,
  noiseSigma: [2 / 255, 15 / 255] as const, // in [0, 1] units, at LR
  pJpeg: 0.5,
  jpegQuality: [30, 90] as const, // integer, inclusive
} as const;

function keys(x: number, a: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface AxisWeights {
  start: Int32Array; // first tap per output
  n: Int32Array; // taps per output
  idx: Int32Array; // [out * maxTaps] source index (clamped)
  w: Float64Array; // [out * maxTaps]
  maxTaps: number;
}

/** The 1-D resampling weights of one axis (exported for tests). */
export function axisWeights(lin: number, lout: number, antialias: boolean): AxisWeights {
  const scale = lin / lout;
  if (antialias) {
    const support = scale >= 1 ? 2 * scale : 2;
    const invscale = scale >= 1 ? 1 / scale : 1;
    const maxTaps = Math.ceil(support) * 2 + 1;
    const start = new Int32Array(lout), n = new Int32Array(lout);
    const idx = new Int32Array(lout * maxTaps), w = new Float64Array(lout * maxTaps);
    for (let i = 0; i < lout; i++) {
      const centre = scale * (i + 0.5);
      const xmin = Math.max(Math.trunc(centre - support + 0.5), 0);
      const xsize = Math.min(Math.trunc(centre + support + 0.5), lin) - xmin;
      let total = 0;
      for (let j = 0; j < xsize; j++) {
        const v = keys((j + xmin - centre + 0.5) * invscale, -0.5);
        w[i * maxTaps + j] = v;
        idx[i * maxTaps + j] = xmin + j;
        total += v;
      }
      if (total !== 0) for (let j = 0; j < xsize; j++) w[i * maxTaps + j]! /= total;
      start[i] = xmin;
      n[i] = xsize;
    }
    return { start, n, idx, w, maxTaps };
  }
  const maxTaps = 4;
  const start = new Int32Array(lout), n = new Int32Array(lout).fill(4);
  const idx = new Int32Array(lout * 4), w = new Float64Array(lout * 4);
  for (let i = 0; i < lout; i++) {
    const src = scale * (i + 0.5) - 0.5;
    const f = Math.floor(src);
    const t = src - f;
    for (let k = 0; k < 4; k++) {
      idx[i * 4 + k] = Math.min(Math.max(f - 1 + k, 0), lin - 1);
      w[i * 4 + k] = keys(t + 1 - k, -0.75);
    }
    start[i] = f - 1;
  }
  return { start, n, idx, w, maxTaps };
}

/**
 * Bicubic resize of a CHW image to oh x ow on the CPU (PyTorch semantics, see the header).
 * float64 accumulation, float32 result; no clamping (bicubic overshoots slightly outside [0, 1]).
 */
export function resizeBicubicCpu(img: ChwImage, oh: number, ow: number, opts: { antialias?: boolean } = {}): ChwImage {
  const aa = opts.antialias ?? false;
  const { data, c, h, w } = img;
  if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh < 1 || ow < 1) throw new Error(`resizeBicubicCpu: bad size ${oh}x${ow}`);
  if (data.length !== c * h * w) throw new Error(`resizeBicubicCpu: ${data.length} values is not ${c}x${h}x${w}`);
  if (oh === h && ow === w) return { data: new Float32Array(data), c, h, w };
  const ax = ow === w ? null : axisWeights(w, ow, aa);
  const ay = oh === h ? null : axisWeights(h, oh, aa);
  // pass 1 along W: [c, h, w] -> [c, h, ow] (float64)
  const tmp = new Float64Array(c * h * ow);
  for (let r = 0; r < c * h; r++) {
    const row = r * w;
    for (let i = 0; i < ow; i++) {
      if (!ax) { tmp[r * ow + i] = data[row + i]!; continue; }
      let s = 0;
      const base = i * ax.maxTaps;
      for (let k = 0; k < ax.n[i]!; k++) s += ax.w[base + k]! * data[row + ax.idx[base + k]!]!;
      tmp[r * ow + i] = s;
    }
  }
  // pass 2 along H: [c, h, ow] -> [c, oh, ow]
  const out = new Float32Array(c * oh * ow);
  for (let q = 0; q < c; q++) {
    for (let i = 0; i < oh; i++) {
      const o = (q * oh + i) * ow;
      if (!ay) { for (let x = 0; x < ow; x++) out[o + x] = tmp[(q * h + i) * ow + x]!; continue; }
      const base = i * ay.maxTaps;
      for (let x = 0; x < ow; x++) {
        let s = 0;
        for (let k = 0; k < ay.n[i]!; k++) s += ay.w[base + k]! * tmp[(q * h + ay.idx[base + k]!) * ow + x]!;
        out[o + x] = s;
      }
    }
  }
  return { data: out, c, h: oh, w: ow };
}

/** HR crop -> S x S, bicubic antialiased (a = -0.5). */
export function downsample(img: ChwImage, size: number): ChwImage {
  return resizeBicubicCpu(img, size, size, { antialias: true });
}

/** LR -> size x size (default 112), plain bicubic (a = -0.75, no antialias), clamped to [0, 1]. */
export function upsample(img: ChwImage, size: number = HR_SIZE): ChwImage {
  return clamp01(resizeBicubicCpu(img, size, size, { antialias: false }));
}

export function clamp01(img: ChwImage): ChwImage {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! < 0 ? 0 : d[i]! > 1 ? 1 : d[i]!;
  return img;
}

/** Crops the window (x, y, w, h) of a CHW image (must lie inside it). */
export function cropChw(img: ChwImage, x: number, y: number, w: number, h: number): ChwImage {
  if (x < 0 || y < 0 || x + w > img.w || y + h > img.h) throw new Error(`cropChw: window ${w}x${h}+${x}+${y} outside ${img.w}x${img.h}`);
  const out = new Float32Array(img.c * h * w);
  for (let q = 0; q < img.c; q++) {
    for (let r = 0; r < h; r++) {
      const s = q * img.h * img.w + (y + r) * img.w + x;
      out.set(img.data.subarray(s, s + w), (q * h + r) * w);
    }
  }
  return { data: out, c: img.c, h, w };
}

/** splitmix32-style mix of (seed, index) into a 32-bit seed for Rng. */
export function mixSeed(seed: number, index: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((index >>> 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Normalised 2-D Gaussian kernel, side 2*ceil(3σ)+1. */
export function gaussianKernel(sigma: number): { k: Float64Array; size: number } {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const size = 2 * r + 1;
  const k = new Float64Array(size * size);
  let s = 0;
  for (let y = -r; y <= r; y++) {
    for (let x = -r; x <= r; x++) {
      const v = Math.exp(-(x * x + y * y) / (2 * sigma * sigma));
      k[(y + r) * size + x + r] = v;
      s += v;
    }
  }
  for (let i = 0; i < k.length; i++) k[i]! /= s;
  return { k, size };
}

/**
 * Normalised linear motion-blur kernel: a segment of the given length (pixels) through the centre at
 * `angleDeg` (0 = horizontal, counter-clockwise), rasterised by bilinear splatting of 8 samples/pixel.
 */
export function motionKernel(length: number, angleDeg: number): { k: Float64Array; size: number } {
  const r = Math.max(1, Math.ceil(length / 2));
  const size = 2 * r + 1;
  const k = new Float64Array(size * size);
  const th = (angleDeg * Math.PI) / 180;
  const dx = Math.cos(th), dy = -Math.sin(th);
  const ns = Math.max(2, Math.ceil(length * 8));
  for (let s = 0; s <= ns; s++) {
    const t = -length / 2 + (length * s) / ns;
    const px = r + t * dx, py = r + t * dy;
    const x0 = Math.floor(px), y0 = Math.floor(py);
    const fx = px - x0, fy = py - y0;
    const splat = (xx: number, yy: number, v: number) => {
      if (xx >= 0 && yy >= 0 && xx < size && yy < size) k[yy * size + xx]! += v;
    };
    splat(x0, y0, (1 - fx) * (1 - fy));
    splat(x0 + 1, y0, fx * (1 - fy));
    splat(x0, y0 + 1, (1 - fx) * fy);
    splat(x0 + 1, y0 + 1, fx * fy);
  }
  let sum = 0;
  for (const v of k) sum += v;
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return { k, size };
}

/** 2-D correlation of each channel with a square kernel (odd side), replicate border. */
export function convolve2d(img: ChwImage, kernel: { k: Float64Array; size: number }): ChwImage {
  const { data, c, h, w } = img;
  const { k, size } = kernel;
  const r = (size - 1) >> 1;
  const out = new Float32Array(data.length);
  for (let q = 0; q < c; q++) {
    const off = q * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let ky = 0; ky < size; ky++) {
          const yy = Math.min(h - 1, Math.max(0, y + ky - r));
          for (let kx = 0; kx < size; kx++) {
            const wv = k[ky * size + kx]!;
            if (wv === 0) continue;
            const xx = Math.min(w - 1, Math.max(0, x + kx - r));
            s += wv * data[off + yy * w + xx]!;
          }
        }
        out[off + y * w + x] = s;
      }
    }
  }
  return { data: out, c, h, w };
}

/** Adds i.i.d. N(0, σ²) noise (Rng seeded by `seed`) and clamps to [0, 1]. */
export function addGaussianNoise(img: ChwImage, sigma: number, seed: number): ChwImage {
  const rng = new Rng(seed);
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, img.data[i]! + sigma * rng.normal()));
  return { data: out, c: img.c, h: img.h, w: img.w };
}

/** JPEG round trip (8-bit encode at `quality`, decode) with sharp. */
export async function jpegRoundTrip(img: ChwImage, quality: number): Promise<ChwImage> {
  const dec = await decodeImage(await encodeJpeg(img, quality));
  if (img.c === 1) return { data: dec.data.slice(0, dec.h * dec.w), c: 1, h: dec.h, w: dec.w };
  return dec;
}

/** The drawn parameters of one degradation (null = step not applied). */
export interface DegradationSpec {
  blur: { kind: 'gaussian'; sigma: number } | { kind: 'motion'; length: number; angleDeg: number } | null;
  noise: { sigma: number; seed: number } | null;
  jpeg: { quality: number } | null;
}

/** Draws the degradation of image `index` under `seed` (fixed draw order; see the header). */
export function sampleDegradation(seed: number, index: number): DegradationSpec {
  const D = DEGRADATION;
  const rng = new Rng(mixSeed(seed, index));
  const uBlur = rng.next(), uKind = rng.next();
  const sigma = rng.uniform(D.gaussianSigma[0], D.gaussianSigma[1]);
  const length = rng.uniform(D.motionLength[0], D.motionLength[1]);
  const angleDeg = rng.uniform(D.motionAngleDeg[0], D.motionAngleDeg[1]);
  const uNoise = rng.next();
  const noiseSigma = rng.uniform(D.noiseSigma[0], D.noiseSigma[1]);
  const noiseSeed = Math.floor(rng.next() * 4294967296) >>> 0;
  const uJpeg = rng.next();
  const quality = D.jpegQuality[0] + rng.int(D.jpegQuality[1] - D.jpegQuality[0] + 1);
  return {
    blur: uBlur < D.pBlur ? (uKind < D.pGaussianGivenBlur ? { kind: 'gaussian', sigma } : { kind: 'motion', length, angleDeg }) : null,
    noise: uNoise < D.pNoise ? { sigma: noiseSigma, seed: noiseSeed } : null,
    jpeg: uJpeg < D.pJpeg ? { quality } : null,
  };
}

/** Applies a drawn degradation: blur (HR) -> bicubic-AA downsample to S -> noise -> JPEG. */
export async function applyDegradation(hr: ChwImage, size: number, spec: DegradationSpec): Promise<ChwImage> {
  let x = hr;
  if (spec.blur) x = convolve2d(x, spec.blur.kind === 'gaussian' ? gaussianKernel(spec.blur.sigma) : motionKernel(spec.blur.length, spec.blur.angleDeg));
  x = downsample(x, size);
  x = spec.noise ? addGaussianNoise(x, spec.noise.sigma, spec.noise.seed) : clamp01(x);
  if (spec.jpeg) x = await jpegRoundTrip(x, spec.jpeg.quality);
  return x;
}

export interface LrOptions {
  /** 'clean': bicubic-AA only; 'degraded': the seed-003 model. Default 'clean'. */
  model?: 'clean' | 'degraded';
  /** Seed of the degradation model (default 3). */
  seed?: number;
  /** Index of the image in its list (so each image gets its own, reproducible draw). */
  index?: number;
}

/** The LR version (S x S) of an aligned 112 crop; values in [0, 1]. */
export async function degradeLR(hr: ChwImage, size: number, opts: LrOptions = {}): Promise<ChwImage> {
  if ((opts.model ?? 'clean') === 'clean') return clamp01(downsample(hr, size));
  return applyDegradation(hr, size, sampleDegradation(opts.seed ?? 3, opts.index ?? 0));
}

/** Resolution matching of a gallery image to a probe of size S: 112 -> S (bicubic AA) -> 112 (bicubic). */
export function matchGallery(gallery: ChwImage, probeSize: number, outSize: number = gallery.h): ChwImage {
  return upsample(clamp01(downsample(gallery, probeSize)), outSize);
}
