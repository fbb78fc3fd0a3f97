// Bilinear and bicubic resizing of NCHW tensors with PyTorch F.interpolate(size=...) semantics,
// including antialias=True. Separable: one pass per axis (shaders/resize.wgsl), weights computed on
// the fly; the backward runs the transposed passes in gather form (no atomics). Without antialias,
// when both axes shrink enough, the forward is one 2-D pass instead (shaders/resize2d.wgsl).
//   scale = alignCorners ? (out > 1 ? (in-1)/(out-1) : 0) : in/out
//   non-antialiased source position: alignCorners ? scale*j : scale*(j+0.5) - 0.5 (bilinear clamps
//   it at 0; bilinear with halfPixelCenters = false: scale*j, TensorFlow's legacy resize); bilinear: 2 taps, bicubic: 4 taps (Keys a = -0.75), indices clamped to the border.
//   antialias (PyTorch's _upsample_*_aa, PIL-style): centre scale*(j+0.5), support = (2 or 4)/2 * max(scale, 1),
//   filter(x / max(scale, 1)) with the triangle (bilinear) or Keys cubic a = -0.5 (bicubic), weights
//   normalised per output; applied whenever antialias is true, also when upsampling (as PyTorch).
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record } from '../autograd.js';
import { copyInto } from './elementwise.js';

export interface ResizeOptions {
  alignCorners?: boolean;
  antialias?: boolean;
  /**
   * Bilinear only, default true. false: TensorFlow's legacy mapping (tf.image.resizeBilinear with
   * alignCorners = false, halfPixelCenters = false): source position scale*j, no half-pixel shift,
   * the resize face-api's NetInput.toBatchTensor does.
   */
  halfPixelCenters?: boolean;
}

type Kind = 'bilinear' | 'bicubic';

interface AxisPlan {
  lin: number;
  lout: number;
  scale: number;
  bias: number;
  support: number;
  invscale: number;
  cubicA: number;
  radius: number;
  clampSrc: boolean;
  taps: number;
}

function plan(kind: Kind, lin: number, lout: number, align: boolean, aa: boolean, halfPixel = true): AxisPlan {
  const scale = align ? (lout > 1 ? (lin - 1) / (lout - 1) : 0) : lin / lout;
  const interp = kind === 'bilinear' ? 2 : 4;
  if (aa) {
    const support = scale >= 1 ? (interp / 2) * scale : interp / 2;
    return {
      lin, lout, scale, bias: 0.5 * scale - 0.5, support, invscale: scale >= 1 ? 1 / scale : 1,
      cubicA: -0.5, radius: support + 1, clampSrc: false, taps: Math.ceil(support) * 2 + 1,
    };
  }
  return {
    lin, lout, scale, bias: align || !halfPixel ? 0 : 0.5 * scale - 0.5, support: 0, invscale: 1,
    cubicA: -0.75, radius: kind === 'bilinear' ? 2 : 3, clampSrc: kind === 'bilinear' && !align, taps: interp,
  };
}

/** One pass along an axis of src viewed as [outer, L, inner]; backward = transposed pass. */
function pass(kind: Kind, aa: boolean, p: AxisPlan, src: Tensor, outer: number, inner: number, backward: boolean, outShape: number[]): Tensor {
  const out = empty(outShape);
  const dlen = backward ? p.lin : p.lout;
  const lanesO = inner === 1;
  const vec4 = !lanesO && inner % 4 === 0;
  const nq = lanesO ? 1 : Math.ceil(inner / 4);
  const threads = lanesO ? Math.ceil(outer / 4) * dlen : outer * dlen * nq;
  if (threads === 0) return out;
  const name = `resize_${kind}${aa ? '_aa' : ''}${backward ? '_backward' : ''}`;
  const uniforms = (n: number) => [u32(n), u32(outer), u32(p.lin), u32(p.lout), u32(inner), u32(nq),
    f32(p.scale), f32(p.bias), f32(p.support), f32(p.invscale), f32(p.cubicA), f32(p.radius)];
  const defines = { CUBIC: kind === 'bicubic', AA: aa, CLAMP_SRC: p.clampSrc, BACKWARD: backward, LANES_O: lanesO, VEC4: vec4, NORMS: false, NORM_TABLE: false };
  const eng = getEngine();
  if (backward && aa) {
    // per-output normalisers, then the transposed pass reading them
    const norms = empty([p.lout]);
    eng.run({ name: `${name}_norms`, shader: 'resize', defines: { ...defines, BACKWARD: false, VEC4: false, NORMS: true }, inputs: [src], outputs: [norms], uniforms: uniforms(p.lout), workgroups: grid1d(p.lout, 64) });
    eng.run({ name, shader: 'resize', defines: { ...defines, NORM_TABLE: true }, inputs: [src, norms], outputs: [out], uniforms: uniforms(threads), workgroups: grid1d(threads, 64) });
    norms.dispose();
  } else {
    eng.run({ name, shader: 'resize', defines, inputs: [src], outputs: [out], uniforms: uniforms(threads), workgroups: grid1d(threads, 64) });
  }
  return out;
}

/** Non-antialiased forward in one 2-D pass (2x2 / 4x4 taps per output): shaders/resize2d.wgsl. */
function direct2d(kind: Kind, x: Tensor, ph: AxisPlan, pw: AxisPlan, outShape: number[]): Tensor {
  const out = empty(outShape);
  const nc = outShape[0]! * outShape[1]!;
  const jq = Math.ceil(pw.lout / 4);
  const threads = nc * ph.lout * jq;
  if (threads === 0) return out;
  getEngine().run({
    name: `resize_${kind}_2d`, shader: 'resize2d', defines: { CUBIC: kind === 'bicubic', CLAMP_SRC: pw.clampSrc },
    inputs: [x], outputs: [out],
    uniforms: [u32(threads), u32(ph.lin), u32(pw.lin), u32(ph.lout), u32(pw.lout), u32(jq),
      f32(ph.scale), f32(ph.bias), f32(pw.scale), f32(pw.bias), f32(pw.cubicA)],
    workgroups: grid1d(threads, 64),
  });
  return out;
}

function resize(kind: Kind, x: Tensor, size: readonly [number, number], opts: ResizeOptions = {}): Tensor {
  const op = kind === 'bilinear' ? 'resizeBilinear' : 'resizeBicubic';
  x.check(op);
  const known = kind === 'bilinear' ? ['alignCorners', 'antialias', 'halfPixelCenters'] : ['alignCorners', 'antialias'];
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw new Error(`${op}: unknown option "${k}" (supported: ${known.join(', ')})`);
  }
  const align = opts.alignCorners ?? false;
  const aa = opts.antialias ?? false;
  const halfPixel = opts.halfPixelCenters ?? true;
  if (typeof align !== 'boolean' || typeof aa !== 'boolean' || typeof halfPixel !== 'boolean') {
    throw new Error(`${op}: ${known.join(', ')} must be booleans`);
  }
  if (!halfPixel && (align || aa)) throw new Error(`${op}: halfPixelCenters = false is TensorFlow's legacy mapping, it does not combine with alignCorners or antialias`);
  if (x.rank !== 4) throw new Error(`${op}: expects an NCHW tensor, got ${fmtShape(x.shape)}`);
  if (!Array.isArray(size) || size.length !== 2) throw new Error(`${op}: size must be [outH, outW], got ${String(size)}`);
  const [oh, ow] = size;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (!Number.isInteger(oh) || !Number.isInteger(ow) || oh < 1 || ow < 1) throw new Error(`${op}: output size [${oh}, ${ow}] must be positive integers (input ${fmtShape(x.shape)})`);
  if (h < 1 || w < 1) throw new Error(`${op}: input ${fmtShape(x.shape)} has an empty spatial dim`);
  const nc = n * c;
  if (nc === 0) return empty([n, c, oh, ow]);
  const ph = plan(kind, h, oh, align, aa, halfPixel);
  const pw = plan(kind, w, ow, align, aa, halfPixel);
  const doH = h !== oh, doW = w !== ow; // a same-size axis is exactly the identity in every mode
  // Order: the cheaper of (W then H) and (H then W), counting taps.
  const wFirst = nc * h * ow * pw.taps + nc * oh * ow * ph.taps <= nc * oh * w * ph.taps + nc * oh * ow * pw.taps;
  const sepCost = Math.min(nc * h * ow * pw.taps + nc * oh * ow * ph.taps, nc * oh * w * ph.taps + nc * oh * ow * pw.taps);
  // One 2-D pass (no antialias) when its taps per output cost less than the two passes (downscaling).
  const use2d = !aa && doH && doW && nc * oh * ow * ph.taps * pw.taps <= 1.2 * sepCost;
  const outShape = [n, c, oh, ow];
  const alongW = (t: Tensor, rows: number, bwd: boolean) => pass(kind, aa, pw, t, rows, 1, bwd, [n, c, rows / nc, bwd ? w : ow]);
  const alongH = (t: Tensor, cols: number, bwd: boolean) => pass(kind, aa, ph, t, nc, cols, bwd, [n, c, bwd ? h : oh, cols]);
  let out: Tensor;
  if (!doH && !doW) out = copyInto(empty(outShape), x);
  else if (use2d) out = direct2d(kind, x, ph, pw, outShape);
  else if (!doH) out = alongW(x, nc * h, false);
  else if (!doW) out = alongH(x, w, false);
  else if (wFirst) {
    const tmp = alongW(x, nc * h, false);
    out = alongH(tmp, ow, false);
    tmp.dispose();
  } else {
    const tmp = alongH(x, w, false);
    out = alongW(tmp, nc * oh, false);
    tmp.dispose();
  }
  return record(op, [x], out, (g) => {
    if (!doH && !doW) return [g];
    if (!doH) return [alongW(g, nc * h, true)];
    if (!doW) return [alongH(g, w, true)];
    // transpose of (A_H A_W) is A_W^T A_H^T: apply in reverse order of the forward's choice
    if (wFirst) return [alongW(alongH(g, ow, true), nc * h, true)];
    return [alongH(alongW(g, nc * oh, true), w, true)];
  });
}

/** Bilinear resize of [N, C, H, W] to [N, C, outH, outW] (F.interpolate(mode='bilinear')). */
export function resizeBilinear(x: Tensor, size: readonly [number, number], opts?: ResizeOptions): Tensor {
  return resize('bilinear', x, size, opts);
}

/** Bicubic resize (F.interpolate(mode='bicubic'); a = -0.75, or -0.5 with antialias as PyTorch/PIL). */
export function resizeBicubic(x: Tensor, size: readonly [number, number], opts?: ResizeOptions): Tensor {
  return resize('bicubic', x, size, opts);
}
