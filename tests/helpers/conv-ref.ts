// Conv references shared by the conv tests: tfjs (NCHW <-> NHWC around tf.conv2d) and float64 CPU
// implementations of conv2d / convTranspose2d in PyTorch semantics (groups, stride, padding,
// dilation, output padding), plus our ops with the same option object, seeded normal inputs and a
// scoped override of convVariants.
import * as tf from '@tensorflow/tfjs';
import * as L from '../../src/runtime/index.js';
import type { Shape } from '../../src/runtime/index.js';

export type P2 = [number, number];
export interface Cfg { stride?: number | P2; padding?: number | P2; dilation?: number | P2; groups?: number; outputPadding?: number | P2 }
export const two = (v: number | P2 | undefined, d: number): P2 => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v);

export function tfConv(o: Cfg) {
  const [sh, sw] = two(o.stride, 1), [ph, pw] = two(o.padding, 0), [dh, dw] = two(o.dilation, 1);
  return (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => {
    const y = tf.conv2d(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D, [sh, sw],
      [[0, 0], [ph, ph], [pw, pw], [0, 0]], 'NHWC', [dh, dw]);
    return tf.transpose(b ? tf.add(y, b) : y, [0, 3, 1, 2]);
  };
}

// float64 (gradients by central differences: conv is linear in each input, so they are exact up to
// float64 rounding).
export function conv64(o: Cfg) {
  const [sh, sw] = two(o.stride, 1), [ph, pw] = two(o.padding, 0), [dh, dw] = two(o.dilation, 1), G = o.groups ?? 1;
  return (xs: Float64Array[], shapes: Shape[]): Float64Array => {
    const [x, w, b] = xs as [Float64Array, Float64Array, Float64Array | undefined];
    const [N, Ci, H, W] = shapes[0]! as number[], [Co, cig, kh, kw] = shapes[1]! as number[];
    const Ho = Math.floor((H! + 2 * ph - dh * (kh! - 1) - 1) / sh) + 1, Wo = Math.floor((W! + 2 * pw - dw * (kw! - 1) - 1) / sw) + 1;
    const cog = Co! / G;
    const y = new Float64Array(N! * Co! * Ho * Wo);
    for (let n = 0; n < N!; n++) for (let co = 0; co < Co!; co++) {
      const g = Math.floor(co / cog);
      for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
        let s = b ? b[co]! : 0;
        for (let ci = 0; ci < cig!; ci++) for (let ky = 0; ky < kh!; ky++) for (let kx = 0; kx < kw!; kx++) {
          const ih = oh * sh - ph + ky * dh, iw = ow * sw - pw + kx * dw;
          if (ih < 0 || ih >= H! || iw < 0 || iw >= W!) continue;
          s += x[((n * Ci! + g * cig! + ci) * H! + ih) * W! + iw]! * w[((co * cig! + ci) * kh! + ky) * kw! + kx]!;
        }
        y[((n * Co! + co) * Ho + oh) * Wo + ow] = s;
      }
    }
    return y;
  };
}

export function convT64(o: Cfg) {
  const [sh, sw] = two(o.stride, 1), [ph, pw] = two(o.padding, 0), [dh, dw] = two(o.dilation, 1), G = o.groups ?? 1;
  const [oph, opw] = two(o.outputPadding, 0);
  return (xs: Float64Array[], shapes: Shape[]): Float64Array => {
    const [x, w, b] = xs as [Float64Array, Float64Array, Float64Array | undefined];
    const [N, Ci, H, W] = shapes[0]! as number[], [, cog, kh, kw] = shapes[1]! as number[];
    const Ho = (H! - 1) * sh - 2 * ph + dh * (kh! - 1) + oph + 1, Wo = (W! - 1) * sw - 2 * pw + dw * (kw! - 1) + opw + 1;
    const Co = cog! * G, cig = Ci! / G;
    const y = new Float64Array(N! * Co * Ho * Wo);
    for (let n = 0; n < N!; n++) for (let co = 0; co < Co; co++) for (let i = 0; i < Ho * Wo; i++) y[(n * Co + co) * Ho * Wo + i] = b ? b[co]! : 0;
    for (let n = 0; n < N!; n++) for (let ci = 0; ci < Ci!; ci++) {
      const g = Math.floor(ci / cig);
      for (let ih = 0; ih < H!; ih++) for (let iw = 0; iw < W!; iw++) {
        const v = x[((n * Ci! + ci) * H! + ih) * W! + iw]!;
        for (let c = 0; c < cog!; c++) for (let ky = 0; ky < kh!; ky++) for (let kx = 0; kx < kw!; kx++) {
          const oh = ih * sh - ph + ky * dh, ow = iw * sw - pw + kx * dw;
          if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
          y[((n * Co + g * cog! + c) * Ho + oh) * Wo + ow] += v * w[((ci * cog! + c) * kh! + ky) * kw! + kx]!;
        }
      }
    }
    return y;
  };
}

export const ours = (o: Cfg) => (x: L.Tensor, w: L.Tensor, b?: L.Tensor) => L.conv2d(x, w, b ?? null, o);
export const oursT = (o: Cfg) => (x: L.Tensor, w: L.Tensor, b?: L.Tensor) => L.convTranspose2d(x, w, b ?? null, o);

/** n seeded N(0, 1) floats. */
export function randn(n: number, seed: number): Float32Array {
  const rng = new L.Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** Runs fn with convVariants overridden by v, restoring them after. */
export async function withConvVariants<T>(v: Partial<typeof L.convVariants> | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = { ...L.convVariants };
  Object.assign(L.convVariants, v ?? {});
  try {
    return await fn();
  } finally {
    Object.assign(L.convVariants, saved);
  }
}
