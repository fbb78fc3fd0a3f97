// 3x3 convolutions at stride 1 as Winograd F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016): each 4x4 block of output pixels is Aᵀ [U ⊙ V] A, with
// U = G g Gᵀ the 6x6 transform of a 3x3 kernel and V = Bᵀ d B that of the 6x6 input patch, so the
// channel sums become 36 independent products
//   M[e] [Co, T] = U[e] [Co, Ci] · V[e] [Ci, T]     (e < 36, T = 4x4 output tiles of the batch)
// through the tuned matmul: 36·Co·Ci·T multiply-adds where the direct conv does 9·Co·Ci·16·T, 4x
// fewer. Three small kernels around it (shaders/winograd_{w,in,out}.wgsl): the weight transform, the
// input transform (patches past the image read 0, so any padding works) and the output transform
// (+ bias, PReLU). The backward-data of a stride-1 3x3 conv is the forward of dy with the rotated,
// channel-swapped kernel and padding 2 - p: the same path with the weight transform's FLIP. The
// weight gradient is the transpose of the forward: dU[e] [Co, Ci] = D[e] [Co, T] · V[e]ᵀ with
// D = A dY Aᵀ the transform of each 4x4 tile of dy (shaders/winograd_dy.wgsl), then dw = Gᵀ dU G
// (shaders/winograd_wback.wgsl).
// The gradient of a conv2dPixelShuffle (the upsampler: conv, then pixelShuffle(r)) is read through the
// shuffle by the transforms of dy (IN_SHUFFLE: the plane_of of shaders/winograd_plane.wgsl): no
// unshuffle pass over it (at batch 32, DSR-cpu's two upsamplers' unshuffles took ~50 ms of a ~2 s step).
// The transform domain's buffers (V: 36·Ci·T floats, M: 36·Co·T) are chunked over whole images to
// stay within convVariants.winogradMaxBytes and the storage-binding limit.
// Rounding: the transforms' coefficients (up to 8 and 1/24) cost precision against the direct sum:
// ~4-7e-6 of the output's largest value in float32 (direct: ~1e-6), ~1-3e-5 for the weight gradient
// (float64 reference, 32-128 channels; tests/ops/conv-winograd.test.ts checks against tf.grads).
// No autograd here: conv.ts records conv2d and calls corrWinograd in forward and backward.
import { Tensor, empty, derivedIf } from '../tensor.js';
import { getEngine, grid1d, u32, i32, f32 } from '../engine.js';
import { noGrad } from '../autograd.js';
import { matmulNoGrad } from './matmul.js';
import { addInPlace } from './elementwise.js';
import { sum } from './reduce.js';
import type { Geom } from './conv.js';

/** The geometry of the conv this path computes: input [N, Cin, H, W] -> output [N, Cout, Ho, Wo]. */
interface WinoGeom { N: number; Cin: number; H: number; W: number; Cout: number; Ho: number; Wo: number; ph: number; pw: number }

/** The forward conv (transposed: the backward-data of g at stride 1, as a forward conv of dy). */
function winoGeom(g: Geom, transposed: boolean): WinoGeom {
  return transposed
    ? { N: g.N, Cin: g.Co, H: g.Ho, W: g.Wo, Cout: g.Ci, Ho: g.H, Wo: g.W, ph: 2 - g.ph, pw: 2 - g.pw }
    : { N: g.N, Cin: g.Ci, H: g.H, W: g.W, Cout: g.Co, Ho: g.Ho, Wo: g.Wo, ph: g.ph, pw: g.pw };
}

const tilesOf = (q: WinoGeom) => ({ th: Math.ceil(q.Ho / 4), tw: Math.ceil(q.Wo / 4) });

/** Largest transform-domain buffer of one image, in bytes. */
function perImageBytes(q: WinoGeom): number {
  const { th, tw } = tilesOf(q);
  return 36 * Math.max(q.Cin, q.Cout) * th * tw * 4;
}

/** Bytes one chunk's transform buffer may take: maxBytes, the storage-binding limit, 2^24 floats. */
const chunkLimit = (maxBytes: number) => Math.min(getEngine().maxBinding, maxBytes, 2 ** 24 * 4);

/** Whole images per chunk (at least 1). */
const imagesPerChunk = (q: WinoGeom, maxBytes: number) => Math.max(1, Math.min(q.N, Math.floor(chunkLimit(maxBytes) / perImageBytes(q))));

/** Convolutions this path takes: groups 1, 3x3, stride 1, dilation 1, padding 0 to 2 (the backward-data's
 *  padding 2 - p stays in range), at least minChannels input and output channels, and one image's
 *  transform buffers within the chunk limit. */
export function winogradOk(g: Geom, minChannels: number, maxBytes: number): boolean {
  if (g.G !== 1 || g.kh !== 3 || g.kw !== 3 || g.sh !== 1 || g.sw !== 1 || g.dh !== 1 || g.dw !== 1) return false;
  if (g.ph < 0 || g.ph > 2 || g.pw < 0 || g.pw > 2 || g.Ho < 1 || g.Wo < 1 || Math.min(g.Ci, g.Co) < minChannels) return false;
  const lim = chunkLimit(maxBytes);
  return perImageBytes(winoGeom(g, false)) <= lim && perImageBytes(winoGeom(g, true)) <= lim;
}

/**
 * V [36, Cin, T]: the input transform of the chunk's T tiles from global tile t0 (shaders/winograd_in.wgsl);
 * r > 1: x holds pixelShuffle(input, r). dyToo (x = dy of a 3x3 conv at padding 1, backwardWinograd):
 * the same pass also writes the weight gradient's transform of dy into dyToo.D [36, Cin, T] and, given
 * dyToo.S [Cin, T], its tile sums (the shader's DY_TOO, TILE_SUMS).
 */
function inputTransform(x: Tensor, q: WinoGeom, T: number, t0: number, tw: number, perImage: number, r = 1,
  dyToo: { D: Tensor; S: Tensor | null } | null = null): Tensor {
  const V = empty([36, q.Cin, T]);
  const ni = q.Cin * T;
  getEngine().run({
    name: dyToo ? 'winograd_input_dy' : 'winograd_input', shader: 'winograd_in',
    defines: { IN_SHUFFLE: r > 1 ? r : 0, DY_TOO: !!dyToo, TILE_SUMS: !!dyToo?.S },
    inputs: [x], outputs: [V, ...(dyToo ? [dyToo.D] : []), ...(dyToo?.S ? [dyToo.S] : [])],
    uniforms: [u32(ni), u32(T), u32(q.Cin), u32(t0), u32(tw), u32(perImage), u32(q.H), u32(q.W), i32(q.ph), i32(q.pw), u32(0), u32(0)],
    workgroups: grid1d(ni, 64),
  });
  return V;
}

export interface WinogradOpts {
  /** r > 1: write pixelShuffle(out, r) (the stores of shaders/winograd_out.wgsl's SHUFFLE). */
  shuffle?: number;
  /** r > 1: x holds pixelShuffle(input, r) (a conv2dPixelShuffle's gradient), read through it. */
  inShuffle?: number;
  /** Where the forward leaves its input transforms for the weight gradient (wgradWinograd's savedV). */
  keepV?: Tensor[] | null;
  /** The epilogue of an inference conv (conv.ts conv2dFused): max(y, 0) after the bias. */
  relu?: boolean;
  /** The epilogue of an inference conv: out = residual.t + residual.scale · y (not with shuffle). */
  residual?: { t: Tensor; scale: number } | null;
  /**
   * Keep the weight transform U with w (Tensor.derived) and reuse it while w is unwritten: for an
   * inference forward, whose weights stay the same from one batch to the next.
   */
  cacheWeights?: boolean;
}

/**
 * out = conv(x, w) + bias (then PReLU with alpha) by F(4x4, 3x3); transposed: the backward-data at
 * stride 1 (x is dy [N, Co, Ho, Wo], the result [N, Ci, H, W], bias per Ci). out is written in full.
 */
export function corrWinograd(x: Tensor, w: Tensor, bias: Tensor | null, alpha: Tensor | null, out: Tensor, g: Geom,
  transposed: boolean, maxBytes: number, o: WinogradOpts = {}): void {
  const { shuffle = 1, inShuffle = 1, keepV = null, relu = false, residual = null, cacheWeights = false } = o;
  if (residual && shuffle > 1) throw new Error('corrWinograd: a residual epilogue with a pixel shuffle');
  const q = winoGeom(g, transposed);
  const { th, tw } = tilesOf(q);
  const perImage = th * tw;
  const nb = imagesPerChunk(q, maxBytes);
  noGrad(() => {
    const { t: U, release } = derivedIf(cacheWeights, w, transposed ? 'winograd-U-flipped' : 'winograd-U', () => weightTransform(w, q, transposed));
    for (let n0 = 0; n0 < q.N; n0 += nb) {
      const T = Math.min(nb, q.N - n0) * perImage, t0 = n0 * perImage;
      const V = inputTransform(x, q, T, t0, tw, perImage, inShuffle);
      const M = matmulNoGrad(U, V, false, false);
      if (keepV && !transposed) keepV.push(V);
      else V.dispose();
      outputTransform(M, bias, alpha, out, q, T, t0, tw, perImage, transposed, { shuffle, relu, residual });
      M.dispose();
    }
    release();
  });
}

/** U [36, Cout, Cin]: the transforms of w's 3x3 kernels (shaders/winograd_w.wgsl; flip: rotated, channels swapped). */
function weightTransform(w: Tensor, q: WinoGeom, flip: boolean): Tensor {
  const U = empty([36, q.Cout, q.Cin]);
  const nw = q.Cout * q.Cin;
  getEngine().run({
    name: 'winograd_weight', shader: 'winograd_w', defines: { FLIP: flip },
    inputs: [w], outputs: [U], uniforms: [u32(nw), u32(q.Cin), u32(q.Cout), u32(0)],
    workgroups: grid1d(nw, 64),
  });
  return U;
}

/** out's chunk of T tiles from global tile t0 = Aᵀ M A (+ bias, then the epilogues; shaders/winograd_out.wgsl). */
function outputTransform(M: Tensor, bias: Tensor | null, alpha: Tensor | null, out: Tensor, q: WinoGeom, T: number, t0: number,
  tw: number, perImage: number, transposed: boolean, o: Pick<WinogradOpts, 'shuffle' | 'relu' | 'residual'> = {}): void {
  const { shuffle = 1, relu = false, residual = null } = o;
  const no = q.Cout * T;
  getEngine().run({
    name: transposed ? 'conv2d_transposed_winograd' : 'conv2d_winograd', shader: 'winograd_out',
    defines: { HAS_BIAS: !!bias, HAS_PRELU: !!alpha, RELU: relu, RESIDUAL: !!residual, SHUFFLE: shuffle > 1 ? shuffle : 0 },
    inputs: [M, bias ?? M, alpha ?? M, residual?.t ?? M], outputs: [out],
    uniforms: [u32(no), u32(T), u32(q.Cout), u32(t0), u32(tw), u32(perImage), u32(q.Ho), u32(q.Wo),
      f32(residual?.scale ?? 1), u32(0), u32(0), u32(0)],
    workgroups: grid1d(no, 64),
  });
}

/**
 * dw [Co, Ci, 3, 3] = the weight gradient of conv(x, w) for dy [N, Co, Ho, Wo], by F(4x4, 3x3).
 * savedV: the forward's input transforms of x, one per chunk (corrWinograd's keepV), used when they
 * are all there with this chunking's shapes; else x is transformed again. dyShuffle r > 1: dy holds
 * pixelShuffle(dy, r) (a conv2dPixelShuffle's gradient), read through it. bias: gets the bias gradient,
 * sum(dy, [0, 2, 3]), from the transform's tile sums.
 */
export function wgradWinograd(dy: Tensor, x: Tensor, g: Geom, maxBytes: number, savedV: readonly Tensor[] | null = null, dyShuffle = 1,
  bias?: { gb: Tensor | null }): Tensor {
  const q = winoGeom(g, false);
  const { th, tw } = tilesOf(q);
  const perImage = th * tw;
  const nb = imagesPerChunk(q, maxBytes);
  const saved = savedFor(savedV, q, nb, perImage);
  const e = getEngine();
  return noGrad(() => {
    let dU: Tensor | null = null;
    for (let n0 = 0; n0 < q.N; n0 += nb) {
      const T = Math.min(nb, q.N - n0) * perImage, t0 = n0 * perImage;
      const V = saved ? saved[n0 / nb]! : inputTransform(x, q, T, t0, tw, perImage);
      const D = empty([36, q.Cout, T]);
      const S = bias ? empty([q.Cout, T]) : null;
      const nd = q.Cout * T;
      e.run({
        name: 'winograd_dy', shader: 'winograd_dy', defines: { TILE_SUMS: !!S, IN_SHUFFLE: dyShuffle > 1 ? dyShuffle : 0 },
        inputs: [dy], outputs: S ? [D, S] : [D],
        uniforms: [u32(nd), u32(T), u32(q.Cout), u32(t0), u32(tw), u32(perImage), u32(q.Ho), u32(q.Wo)],
        workgroups: grid1d(nd, 64),
      });
      if (bias && S) accumulateBiasGrad(bias, S);
      dU = accumulate(dU, matmulNoGrad(D, V, false, true));
      if (!saved) V.dispose();
      D.dispose();
    }
    return weightBack(dU!, q);
  });
}

/** bias.gb += the sum of the chunk's tile sums S [Co, T] over t; S disposed. */
function accumulateBiasGrad(bias: { gb: Tensor | null }, S: Tensor): void {
  const gb = sum(S, 1);
  S.dispose();
  bias.gb = accumulate(bias.gb, gb);
}

/** acc + part (part disposed), or part when there is no acc yet. */
function accumulate(acc: Tensor | null, part: Tensor): Tensor {
  if (!acc) return part;
  addInPlace(acc, part);
  part.dispose();
  return acc;
}

/** dw [Co, Ci, 3, 3] = Gᵀ dU G (shaders/winograd_wback.wgsl); dU disposed. */
function weightBack(dU: Tensor, q: WinoGeom): Tensor {
  const dw = empty([q.Cout, q.Cin, 3, 3]);
  const nw = q.Cout * q.Cin;
  getEngine().run({
    name: 'conv2d_weight_grad_winograd', shader: 'winograd_wback', defines: {},
    inputs: [dU], outputs: [dw], uniforms: [u32(nw), u32(0), u32(0), u32(0)],
    workgroups: grid1d(nw, 64),
  });
  dU.dispose();
  return dw;
}

/** The forward's kept input transforms when they are all there with this chunking's shapes, else null. */
function savedFor(savedV: readonly Tensor[] | null, q: WinoGeom, nb: number, perImage: number): readonly Tensor[] | null {
  const chunks = Math.ceil(q.N / nb);
  return savedV && savedV.length === chunks && savedV.every((v, i) => !v.disposed &&
    v.shape.join() === [36, q.Cin, Math.min(nb, q.N - i * nb) * perImage].join()) ? savedV : null;
}

/**
 * Both gradients of conv(x, w) (3x3, stride 1, padding 1) from dy at once: per chunk one pass over dy
 * writes the backward-data's input transform and the weight gradient's transform of dy (shaders/
 * winograd_in.wgsl DY_TOO: the same tiles of dy, read once instead of twice), then each gradient
 * goes on as corrWinograd (transposed) and wgradWinograd would. The same values to the bit.
 * maxBytes of each (their tuned variants may differ); null where the two would chunk differently or
 * the tile grids differ (padding other than 1): the caller then runs them apart.
 */
export function backwardWinograd(dy: Tensor, x: Tensor, w: Tensor, g: Geom, maxBytesData: number, maxBytesWeight: number,
  savedV: readonly Tensor[] | null, dyShuffle: number, bias?: { gb: Tensor | null }): { gx: Tensor; gw: Tensor } | null {
  const qT = winoGeom(g, true), qF = winoGeom(g, false);
  if (g.ph !== 1 || g.pw !== 1 || qT.Ho !== qF.Ho || qT.Wo !== qF.Wo) return null;
  const nb = imagesPerChunk(qT, maxBytesData);
  if (nb !== imagesPerChunk(qF, maxBytesWeight)) return null;
  const { th, tw } = tilesOf(qT);
  const perImage = th * tw;
  const saved = savedFor(savedV, qF, nb, perImage);
  return noGrad(() => {
    const U = weightTransform(w, qT, true);
    const gx = empty([g.N, g.Ci, g.H, g.W]);
    let dU: Tensor | null = null;
    for (let n0 = 0; n0 < g.N; n0 += nb) {
      const T = Math.min(nb, g.N - n0) * perImage, t0 = n0 * perImage;
      const D = empty([36, g.Co, T]);
      const S = bias ? empty([g.Co, T]) : null;
      const Vdy = inputTransform(dy, qT, T, t0, tw, perImage, dyShuffle, { D, S });
      const M = matmulNoGrad(U, Vdy, false, false);
      Vdy.dispose();
      outputTransform(M, null, null, gx, qT, T, t0, tw, perImage, true);
      M.dispose();
      if (bias && S) accumulateBiasGrad(bias, S);
      const V = saved ? saved[n0 / nb]! : inputTransform(x, qF, T, t0, tw, perImage);
      dU = accumulate(dU, matmulNoGrad(D, V, false, true));
      if (!saved) V.dispose();
      D.dispose();
    }
    U.dispose();
    return { gx, gw: weightBack(dU!, qF) };
  });
}
