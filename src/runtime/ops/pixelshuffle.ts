// Pixel shuffle / unshuffle (PyTorch semantics); each is the other's backward.
// Kernel: shaders/pixelshuffle.wgsl (one thread per coarse pixel, vec2 / vec4 rows when r = 2 / 4).
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32 } from '../engine.js';
import { record } from '../autograd.js';

function checkR(op: string, x: Tensor, r: number): void {
  if (!Number.isInteger(r) || r < 1) throw new Error(`${op}: upscale factor r must be a positive integer, got ${r} (input ${fmtShape(x.shape)})`);
  if (x.rank !== 4) throw new Error(`${op}: expects an NCHW tensor, got ${fmtShape(x.shape)}`);
}

// small [N, C*r*r, H, W] <-> big [N, C, H*r, W*r]; shuffle: small -> big. A shuffle's big side may
// be [N, C, bh, bw] with up to r - 1 more rows and columns, written as zeros.
function run(shuffle: boolean, x: Tensor, r: number, n: number, c: number, h: number, w: number, bh = h * r, bw = w * r): Tensor {
  const cropped = bh !== h * r || bw !== w * r;
  if (cropped && (!shuffle || h < 1 || w < 1 || bh < h * r || bh >= h * r + r || bw < w * r || bw >= w * r + r)) {
    throw new Error(`pixel_shuffle: a big side of ${bh}x${bw} does not hold ${h}x${w} blocks of ${r}x${r} with fewer than ${r} rows and columns to spare`);
  }
  const out = empty(shuffle ? [n, c, bh, bw] : [n, c * r * r, h, w]);
  const coarse = n * c * h * w;
  if (coarse === 0) return out;
  const vec = !cropped && (r === 2 || r === 4) ? r : 0;
  getEngine().run({
    name: shuffle ? 'pixel_shuffle' : 'pixel_unshuffle', shader: 'pixelshuffle', defines: { SHUFFLE: shuffle, VEC: vec, VEC4: vec === 4, FDIV: coarse < 2 ** 24 },
    inputs: [x], outputs: [out], uniforms: [u32(coarse), u32(r), u32(h), u32(w), u32(bh), u32(bw)], workgroups: grid1d(coarse, 64),
  });
  return out;
}

/**
 * pixelShuffle (shuffle) or pixelUnshuffle of x, unrecorded (for ops that record their own backward);
 * big: a shuffle's output height and width where they exceed H·r and W·r (by less than r; zeros there).
 */
export function pixelShuffleNoGrad(x: Tensor, r: number, shuffle: boolean, big?: { h: number; w: number }): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  return shuffle ? run(true, x, r, n, c / (r * r), h, w, big?.h, big?.w) : run(false, x, r, n, c, h / r, w / r);
}

/** [N, C*r², H, W] -> [N, C, H*r, W*r]: out[n, c, h*r+i, w*r+j] = x[n, c*r*r + i*r + j, h, w]. */
export function pixelShuffle(x: Tensor, r: number): Tensor {
  x.check('pixelShuffle');
  checkR('pixelShuffle', x, r);
  const [n, cr, h, w] = x.shape as [number, number, number, number];
  if (cr % (r * r) !== 0) throw new Error(`pixelShuffle: channels ${cr} of ${fmtShape(x.shape)} are not divisible by r² = ${r * r}`);
  const c = cr / (r * r);
  const out = run(true, x, r, n, c, h, w);
  return record('pixelShuffle', [x], out, (g) => [run(false, g, r, n, c, h, w)]);
}

/** [N, C, H*r, W*r] -> [N, C*r², H, W] (inverse of pixelShuffle). */
export function pixelUnshuffle(x: Tensor, r: number): Tensor {
  x.check('pixelUnshuffle');
  checkR('pixelUnshuffle', x, r);
  const [n, c, hr, wr] = x.shape as [number, number, number, number];
  if (hr % r !== 0 || wr % r !== 0) throw new Error(`pixelUnshuffle: height and width of ${fmtShape(x.shape)} are not divisible by r = ${r}`);
  const h = hr / r, w = wr / r;
  const out = run(false, x, r, n, c, h, w);
  return record('pixelUnshuffle', [x], out, (g) => [run(true, g, r, n, c, h, w)]);
}
