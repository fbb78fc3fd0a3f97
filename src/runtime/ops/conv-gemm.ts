// Convolution as GEMM (im2col + the tuned matmul): the "implicit GEMM" variants of the three conv
// kernels of conv.ts, on the same geometry g (input [N,Ci,H,W], output [N,Co,Ho,Wo], weight
// [Co, Ci, kh, kw]; K = Ci*kh*kw, P = Ho*Wo):
//   corrGemm:  out[n] = W[Co, K] · cols[n][K, P]            (batched matmul, shared A; NCHW directly)
//   corrTGemm: cols[n] = Wᵀ[K, Co] · dy[n][Co, P], then col2im (a gather: each input pixel sums its
//              taps, no atomics; stride / padding / dilation as in conv_tgather)
//   wgradGemm: dW[Co, K] = Σ_n dy[n][Co, P] · cols[n]ᵀ      (see gemmVariants.wgrad)
// 1x1 kernels with stride 1 and padding 0 need no im2col: x is viewed as [N, Ci, H*W] (and corrT's
// product is its output). Groups > 1 are rejected by gemmOk (conv.ts then takes the direct kernels;
// depthwise never comes here). cols buffers are chunked over the batch (gemmVariants.maxColsBytes, and
// never past the adapter's storage-binding limit or 2^24 elements, where the shaders' float index
// divisions stay exact); a geometry whose one-image cols (or input plane stack) exceed that is rejected
// by gemmOk. All grids fold past 65,535 workgroups (grid1d; matmul folds its own).
// Measured on lavapipe (bench/probe-conv-gemm.ts, process CPU time vs the direct kernels): forward
// 1.2-2.1x slower, backward-data 0.8-1.5x, backward-weight 0.5-1.1x (1x1 weight gradients ~1.5x faster);
// hence off by default (convVariants.gemm), for adapters where the tiled matmul wins.
// No autograd here: conv.ts records conv2d / convTranspose2d and calls these in forward and backward.
import { Tensor, empty } from '../tensor.js';
import { getEngine, grid1d, u32, i32 } from '../engine.js';
import { noGrad } from '../autograd.js';
import { matmulNoGrad } from './matmul.js';
import { permute } from './layout.js';
import { addInPlace } from './elementwise.js';
import { sum } from './reduce.js';
import type { Geom } from './conv.js';

/** Variants of the GEMM path (the autotuner may set these per adapter). */
export const gemmVariants = {
  /** Largest im2col buffer per chunk of the batch, in bytes (also capped by maxStorageBufferBindingSize). */
  maxColsBytes: 64 * 2 ** 20,
  /**
   * Weight gradient:
   *   'flat':    dy permuted to [Co, nb*P] times the transposed im2col [nb*P, K]: one plain product
   *              per chunk (split over the batch into `wgradSplits` partial products when asked).
   *   'batched': dy[n] [Co, P] times cols[n]ᵀ (B read transposed), [nb, Co, K], then a sum over n.
   */
  wgrad: 'flat' as 'flat' | 'batched',
  /** 'flat': partial products over batch splits (summed after); 0: automatic (wgradMinOutputs). */
  wgradSplits: 0,
  /** 'flat', automatic splits: aim for at least this many outputs (splits * Co * K). */
  wgradMinOutputs: 1 << 15,
};

const is1x1 = (g: Geom) => g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0 && g.Ho === g.H && g.Wo === g.W;

/**
 * im2col / col2im index with float divisions (integer division is scalarised on a CPU adapter), exact
 * below 2^24: a chunk's cols and col2im output stay below 2^24 elements.
 */
const MAX_ELEMS = 2 ** 24;

/** Byte budget for one chunk's buffers (cols, partial products). */
const colsBudget = () => Math.min(getEngine().maxBinding, gemmVariants.maxColsBytes, MAX_ELEMS * 4);

/** Geometries the GEMM path takes: groups 1, and one image's cols (and dy / x planes) within the binding limit. */
export function gemmOk(g: Geom): boolean {
  if (g.G !== 1) return false;
  const lim = getEngine().maxBinding;
  const K = g.Ci * g.kh * g.kw, P = g.Ho * g.Wo;
  if (K * P * 4 > lim || K * P > MAX_ELEMS || g.Ci * g.H * g.W > MAX_ELEMS) return false;
  // The whole tensors are bound by the direct kernels too; these are the GEMM path's extra buffers.
  if (g.N * g.Co * P * 4 > lim || g.N * g.Ci * g.H * g.W * 4 > lim) return false;
  return true;
}

function check(op: string, g: Geom): void {
  if (!gemmOk(g)) throw new Error(`${op}: geometry not supported by the GEMM path (groups ${g.G}, K ${g.Ci * g.kh * g.kw}, ${g.Ho}x${g.Wo} output); check gemmOk first`);
}

/** Images per chunk: cols of `perImage` bytes each within the budget (at least 1). */
function chunkOf(N: number, perImage: number): number {
  return Math.max(1, Math.min(N, Math.floor(colsBudget() / perImage)));
}

/** t viewed as `shape`, t itself released (the buffer lives on in the view). */
function as(t: Tensor, shape: number[]): Tensor {
  const v = t.viewAs(shape);
  t.dispose();
  return v;
}

/** Images n0..n0+nb of t [N, ...] as [nb, ...rest] (a view of t when that is all of it, else a copy). */
function batchSlice(t: Tensor, n0: number, nb: number): Tensor {
  const rest = t.shape.slice(1);
  const per = t.size / t.shape[0]!;
  if (n0 === 0 && nb === t.shape[0]) return t.viewAs([nb, ...rest]);
  const out = empty([nb, ...rest]);
  getEngine().copyBuffer(t.buffer, n0 * per * 4, out.buffer, 0, nb * per * 4);
  return out;
}

function im2col(x: Tensor, g: Geom, n0: number, nb: number, transposed: boolean): Tensor {
  const K = g.Ci * g.kh * g.kw, P = g.Ho * g.Wo;
  const cols = empty(transposed ? [nb * P, K] : [nb, K, P]);
  const blocks = Math.ceil((transposed ? K : P) / 4);
  const total = nb * (transposed ? P : K) * blocks;
  getEngine().run({
    name: 'im2col', shader: 'im2col', defines: { TRANSPOSED: transposed },
    inputs: [x], outputs: [cols],
    uniforms: [u32(total), u32(P), u32(K), u32(g.Wo), u32(g.kh), u32(g.kw), u32(g.H), u32(g.W),
      i32(g.sh), i32(g.sw), i32(g.ph), i32(g.pw), i32(g.dh), i32(g.dw), u32(n0 * g.Ci * g.H * g.W), u32(blocks), u32(g.Ci)],
    workgroups: grid1d(total, 64),
  });
  return cols;
}

/** out[n, c, p] += bias[c], then PReLU with slopes alpha[c] when given, in place (out [N, C, P]). */
function addBias(out: Tensor, bias: Tensor | null, C: number, P: number, alpha: Tensor | null = null): void {
  const vec = P % 4 === 0;
  const total = vec ? out.size / 4 : out.size;
  const any = (bias ?? alpha)!;
  getEngine().run({
    name: alpha ? 'conv2d_gemm_bias_prelu' : 'conv2d_gemm_bias', shader: 'conv_bias', defines: { VEC: vec, HAS_BIAS: !!bias, HAS_PRELU: !!alpha },
    inputs: [bias ?? any, alpha ?? any], outputs: [out],
    uniforms: [u32(total), u32(C), u32(vec ? P / 4 : P)],
    workgroups: grid1d(total, 64),
  });
}

/** y[N,Co,Ho,Wo] = conv(x[N,Ci,H,W], w) + bias[Co], then PReLU with slopes alpha [Co] when given; groups 1. */
export function corrGemm(x: Tensor, w: Tensor, bias: Tensor | null, g: Geom, alpha: Tensor | null = null): Tensor {
  check('corrGemm', g);
  return noGrad(() => {
    const K = g.Ci * g.kh * g.kw, P = g.Ho * g.Wo;
    const w2 = w.viewAs([g.Co, K]);
    let out: Tensor;
    if (is1x1(g)) {
      const x3 = x.viewAs([g.N, g.Ci, P]);
      out = as(matmulNoGrad(w2, x3, false, false), [g.N, g.Co, g.Ho, g.Wo]);
      x3.dispose();
    } else {
      const nb = chunkOf(g.N, K * P * 4 + (g.N > 1 ? g.Co * P * 4 : 0));
      if (nb === g.N) {
        const cols = im2col(x, g, 0, g.N, false);
        out = as(matmulNoGrad(w2, cols, false, false), [g.N, g.Co, g.Ho, g.Wo]);
        cols.dispose();
      } else {
        out = empty([g.N, g.Co, g.Ho, g.Wo]);
        for (let n0 = 0; n0 < g.N; n0 += nb) {
          const m = Math.min(nb, g.N - n0);
          const cols = im2col(x, g, n0, m, false);
          const o = matmulNoGrad(w2, cols, false, false);
          getEngine().copyBuffer(o.buffer, 0, out.buffer, n0 * g.Co * P * 4, m * g.Co * P * 4);
          o.dispose();
          cols.dispose();
        }
      }
    }
    w2.dispose();
    if (bias || alpha) addBias(out, bias, g.Co, P, alpha);
    return out;
  });
}

/** x'[N,Ci,H,W] = conv^T(y[N,Co,Ho,Wo], w) + bias[Ci], groups 1 (col2im gather, no atomics). */
export function corrTGemm(y: Tensor, w: Tensor, bias: Tensor | null, g: Geom): Tensor {
  check('corrTGemm', g);
  return noGrad(() => {
    const K = g.Ci * g.kh * g.kw, P = g.Ho * g.Wo;
    const w2 = w.viewAs([g.Co, K]);
    let out: Tensor;
    if (is1x1(g)) {
      const y3 = y.viewAs([g.N, g.Co, P]);
      out = as(matmulNoGrad(w2, y3, true, false), [g.N, g.Ci, g.H, g.W]);
      y3.dispose();
      if (bias) addBias(out, bias, g.Ci, P);
    } else {
      out = empty([g.N, g.Ci, g.H, g.W]);
      const nb = chunkOf(g.N, Math.max(K * P * 4 + (g.N > 1 ? g.Co * P * 4 : 0), g.Ci * g.H * g.W * 4));
      const HW = g.H * g.W;
      const gh = gcd(g.sh, g.dh), gw = gcd(g.sw, g.dw);
      for (let n0 = 0; n0 < g.N; n0 += nb) {
        const m = Math.min(nb, g.N - n0);
        const ys = as(batchSlice(y, n0, m), [m, g.Co, P]);
        const cols = matmulNoGrad(w2, ys, true, false);
        ys.dispose();
        const total = m * g.Ci * HW;
        getEngine().run({
          name: 'col2im', shader: 'col2im', defines: { HAS_BIAS: !!bias },
          inputs: [cols, bias ?? cols], outputs: [out],
          uniforms: [u32(total), u32(g.Ci), u32(g.H), u32(g.W), u32(g.Ho), u32(g.Wo), u32(g.kh), u32(g.kw),
            u32(g.sh), u32(g.sw), u32(g.ph), u32(g.pw), u32(g.dh), u32(g.dw), u32(n0 * g.Ci * HW),
            u32(g.sh / gh), u32(g.sw / gw), u32(g.dh / gh), u32(g.dw / gw)],
          workgroups: grid1d(total, 64),
        });
        cols.dispose();
      }
    }
    w2.dispose();
    return out;
  });
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Largest divisor of n that is at most k. */
function divisorAtMost(n: number, k: number): number {
  for (let d = Math.max(1, Math.min(n, k)); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/** dw[Co, Ci, kh, kw] = Σ_{n,oh,ow} dy[n,co,oh,ow] x[n,ci,ih,iw], groups 1. */
export function wgradGemm(dy: Tensor, x: Tensor, g: Geom): Tensor {
  check('wgradGemm', g);
  return noGrad(() => {
    const K = g.Ci * g.kh * g.kw, P = g.Ho * g.Wo;
    const wshape = [g.Co, g.Ci, g.kh, g.kw];
    const batched = gemmVariants.wgrad === 'batched';
    // Per image: cols, the dy copy / permutation, and ('batched') the partial product.
    const nb = chunkOf(g.N, K * P * 4 + g.Co * P * 4 + (batched ? g.Co * K * 4 : 0));
    let acc: Tensor | null = null;
    for (let n0 = 0; n0 < g.N; n0 += nb) {
      const m = Math.min(nb, g.N - n0);
      let part: Tensor;
      const ys = batchSlice(dy, n0, m);
      if (batched) {
        const y3 = ys.viewAs([m, g.Co, P]);
        const cols = is1x1(g) ? as(batchSlice(x, n0, m), [m, K, P]) : im2col(x, g, n0, m, false);
        const prod = matmulNoGrad(y3, cols, false, true); // [m, Co, K]
        part = m === 1 ? as(prod, [g.Co, K]) : sum(prod, 0);
        if (m !== 1) prod.dispose();
        cols.dispose();
        y3.dispose();
      } else {
        // S partial products over images (split-K), each [Co, (m/S)*P] · [(m/S)*P, K].
        const want = gemmVariants.wgradSplits || Math.ceil(gemmVariants.wgradMinOutputs / (g.Co * K));
        const S = divisorAtMost(m, want);
        const y4 = ys.viewAs([S, m / S, g.Co, P]);
        const yT = as(permute(y4, [0, 2, 1, 3]), [S, g.Co, (m / S) * P]);
        y4.dispose();
        const cols = as(im2col(x, g, n0, m, true), [S, (m / S) * P, K]);
        const prod = matmulNoGrad(yT, cols, false, false); // [S, Co, K]
        part = S === 1 ? as(prod, [g.Co, K]) : sum(prod, 0);
        if (S !== 1) prod.dispose();
        cols.dispose();
        yT.dispose();
      }
      ys.dispose();
      if (!acc) acc = part;
      else {
        addInPlace(acc, part);
        part.dispose();
      }
    }
    return as(acc!, wshape);
  });
}
