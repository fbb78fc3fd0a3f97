// Orthonormal 2-D Haar DWT / inverse, and the LL band alone (a loss feature). Kernel:
// shaders/haar.wgsl. For the 2x2 block  a b / c d  of x (rows 2i, 2i+1; cols 2j, 2j+1):
//   ll = (a+b+c+d)/2   lh = (a+b-c-d)/2 (top - bottom)   hl = (a-b+c-d)/2 (left - right)   hh = (a-b-c+d)/2
// The transform is orthogonal and symmetric: haarIdwt is its exact inverse and its transpose, so
// each is the other's backward. A band on its own backpropagates through its row of the matrix.
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record } from '../autograd.js';

export interface HaarBands { ll: Tensor; lh: Tensor; hl: Tensor; hh: Tensor }

// Sign of b (left/right difference) and c (top/bottom difference) per band.
const SIGNS = { ll: [1, 1], lh: [1, -1], hl: [-1, 1], hh: [-1, -1] } as const;
type Band = keyof typeof SIGNS;

function geom(op: string, x: Tensor) {
  if (x.rank !== 4) throw new Error(`${op}: expects an NCHW tensor, got ${fmtShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`${op}: height and width must be even, got ${fmtShape(x.shape)}`);
  const vec = w % 4 === 0;
  const rowQ = vec ? w / 4 : w / 2; // threads per coarse row
  const threads = n * c * (h / 2) * rowQ;
  return { band: [n, c, h / 2, w / 2], vec, rowQ, threads };
}

function fwd(x: Tensor, llOnly: boolean): Tensor[] {
  const op = llOnly ? 'haarLL' : 'haarDwt';
  const gm = geom(op, x);
  const outs = (llOnly ? [0] : [0, 1, 2, 3]).map(() => empty(gm.band));
  if (gm.threads > 0) {
    getEngine().run({
      name: op, shader: 'haar', defines: { FWD: true, INV: false, LL_ONLY: llOnly, VEC: gm.vec },
      inputs: [x], outputs: outs, uniforms: [u32(gm.threads), u32(gm.rowQ), f32(1), f32(1)], workgroups: grid1d(gm.threads, 64),
    });
  }
  return outs;
}

function inv(bands: readonly Tensor[], xShape: readonly number[]): Tensor {
  const x = empty(xShape);
  const gm = geom('haarIdwt', x);
  if (gm.threads > 0) {
    getEngine().run({
      name: 'haarIdwt', shader: 'haar', defines: { FWD: false, INV: true, LL_ONLY: false, VEC: gm.vec },
      inputs: bands, outputs: [x], uniforms: [u32(gm.threads), u32(gm.rowQ), f32(1), f32(1)], workgroups: grid1d(gm.threads, 64),
    });
  }
  return x;
}

// dx of one band: its gradient spread over the 2x2 blocks with that band's signs.
function bandAdjoint(g: Tensor, band: Band, xShape: readonly number[]): Tensor {
  const x = empty(xShape);
  const gm = geom('haar backward', x);
  const [sb, sc] = SIGNS[band];
  if (gm.threads > 0) {
    getEngine().run({
      name: `haar_${band}_backward`, shader: 'haar', defines: { FWD: false, INV: false, LL_ONLY: false, VEC: gm.vec },
      inputs: [g], outputs: [x], uniforms: [u32(gm.threads), u32(gm.rowQ), f32(sb), f32(sc)], workgroups: grid1d(gm.threads, 64),
    });
  }
  return x;
}

/** One level of the orthonormal 2-D Haar DWT of [N, C, H, W] (H, W even); bands are [N, C, H/2, W/2]. */
export function haarDwt(x: Tensor): HaarBands {
  x.check('haarDwt');
  const [ll, lh, hl, hh] = fwd(x, false) as [Tensor, Tensor, Tensor, Tensor];
  // Each band records its own backward, so unused bands cost nothing and autograd sums the rest.
  const rec = (t: Tensor, b: Band) => record(`haarDwt.${b}`, [x], t, (g) => [bandAdjoint(g, b, x.shape)]);
  return { ll: rec(ll, 'll'), lh: rec(lh, 'lh'), hl: rec(hl, 'hl'), hh: rec(hh, 'hh') };
}

/** The LL band alone: (a+b+c+d)/2 per 2x2 block. */
export function haarLL(x: Tensor): Tensor {
  x.check('haarLL');
  const [ll] = fwd(x, true) as [Tensor];
  return record('haarLL', [x], ll, (g) => [bandAdjoint(g, 'll', x.shape)]);
}

/** Exact inverse of haarDwt: four [N, C, h, w] bands -> [N, C, 2h, 2w]. */
export function haarIdwt(ll: Tensor, lh: Tensor, hl: Tensor, hh: Tensor): Tensor {
  const bands = [ll, lh, hl, hh];
  bands.forEach((t, i) => t.check('haarIdwt', ['ll', 'lh', 'hl', 'hh'][i]));
  if (ll.rank !== 4 || bands.some((t) => t.rank !== 4 || t.shape.some((d, i) => d !== ll.shape[i]))) {
    throw new Error(`haarIdwt: bands must be four NCHW tensors of one shape, got ${bands.map((t) => fmtShape(t.shape)).join(', ')}`);
  }
  const [n, c, h, w] = ll.shape as [number, number, number, number];
  const x = inv(bands, [n, c, 2 * h, 2 * w]);
  return record('haarIdwt', bands, x, (g) => fwd(g, false));
}
