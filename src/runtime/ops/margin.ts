// Margin-based softmax heads for face recognition: the combined ArcFace / CosFace / SphereFace
// margin on cosine logits (marginLogits) and a full head (arcfaceHead: row-normalise embeddings
// and class weights, cos = ê·Ŵᵀ, margin). Forward and backward side by side.
import { Tensor, empty, tensor, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record } from '../autograd.js';
import { matmul } from './matmul.js';
import { labelsToArray, labelsToTensor, rejectUnknownOptions, type Labels } from './loss.js';

export interface MarginOptions {
  /** Scale (e.g. 64). */
  s: number;
  /** Multiplicative angular margin (SphereFace); 1 for ArcFace / CosFace. */
  m1?: number;
  /** Additive angular margin (ArcFace, e.g. 0.5). */
  m2?: number;
  /** Additive cosine margin (CosFace, e.g. 0.35). */
  m3?: number;
}

export const ARCFACE = { m1: 1, m2: 0.5, m3: 0 } as const;
export const COSFACE = { m1: 1, m2: 0, m3: 0.35 } as const;

function marginParams(op: string, opts: MarginOptions): [number, number, number, number] {
  rejectUnknownOptions(op, opts, ['s', 'm1', 'm2', 'm3']);
  if (!opts) throw new Error(`${op}: options { s, m1, m2, m3 } are required`);
  const { s, m1 = 1, m2 = 0, m3 = 0 } = opts;
  for (const [k, v] of [['s', s], ['m1', m1], ['m2', m2], ['m3', m3]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${op}: ${k} must be a finite number, got ${String(v)}`);
  }
  if (!(s > 0)) throw new Error(`${op}: s must be > 0, got ${s}`);
  return [s, m1, m2, m3];
}

function marginForward(op: string, cosine: Tensor, labels: Labels, params: [number, number, number, number]): Tensor {
  cosine.check(op, 'cosine');
  if (cosine.rank !== 2) throw new Error(`${op}: cosine must be [N, K], got ${fmtShape(cosine.shape)}`);
  const [N, K] = cosine.shape as [number, number];
  const lab = labelsToTensor(op, labels, N, K, `cosine ${fmtShape(cosine.shape)}`);
  const [s, m1, m2, m3] = params;
  const uniforms = [u32(N), u32(K), f32(s), f32(m1), f32(m2), f32(m3), f32(Math.cos(m2)), f32(Math.sin(m2))];
  const workgroups = grid1d(N * K, 64);
  const out = empty(cosine.shape);
  getEngine().run({ name: op, shader: 'margin', defines: { GRAD: false }, inputs: [cosine, lab.t], outputs: [out], uniforms, workgroups });
  if (lab.owned) lab.t.dispose();
  // CPU labels are uploaded again by the backward (N floats) instead of living past the caller's tidy.
  const inputs = lab.owned ? [cosine] : [cosine, lab.t];
  return record(op, inputs, out, (g) => {
    const lt = lab.owned ? tensor(lab.cpu!, [N]) : lab.t;
    const dc = empty(cosine.shape);
    getEngine().run({ name: `${op}_grad`, shader: 'margin', defines: { GRAD: true }, inputs: [cosine, lt, g], outputs: [dc], uniforms, workgroups });
    if (lab.owned) lt.dispose();
    return lab.owned ? [dc] : [dc, null];
  });
}

/**
 * Combined margin on cosine logits [N, K]: target column s·(cos(m1·θ + m2) − m3) with
 * θ = acos(clamp(cos, −1+1e-7, 1−1e-7)), other columns s·cos. ArcFace = { s, m1: 1, m2: 0.5, m3: 0 },
 * CosFace = { s, m1: 1, m2: 0, m3: 0.35 }. Labels as for crossEntropy (arrays range-checked; an
 * invalid label in a Tensor makes its row NaN). Gradient to cosine.
 */
export function marginLogits(cosine: Tensor, labels: Labels, opts: MarginOptions): Tensor {
  return marginForward('marginLogits', cosine, labels, marginParams('marginLogits', opts));
}

// ---- arcfaceHead pieces -------------------------------------------------------------------------

const NORM_EPS = 1e-12; // as torch.nn.functional.normalize

/** x / max(|x|, 1e-12) per row of [R, D] (with backward). */
function rowNormalize(x: Tensor): Tensor {
  const [R, D] = x.shape as [number, number];
  const y = empty(x.shape);
  const uniforms = [u32(R), u32(D), f32(NORM_EPS)];
  getEngine().run({ name: 'arcface_normalize', shader: 'margin_norm', defines: { GRAD: false }, inputs: [x], outputs: [y], uniforms, workgroups: grid1d(R, 64) });
  return record('arcface_normalize', [x], y, (g) => {
    const dx = empty(x.shape);
    getEngine().run({ name: 'arcface_normalize_grad', shader: 'margin_norm', defines: { GRAD: true }, inputs: [x, g], outputs: [dx], uniforms, workgroups: grid1d(R, 64) });
    return [dx];
  });
}

/**
 * ArcFace-style head: L2-normalises the rows of emb [N, D] and weight [K, D], computes the cosine
 * logits ê·Ŵᵀ [N, K] and applies marginLogits. Gradients to emb and weight.
 */
export function arcfaceHead(emb: Tensor, weight: Tensor, labels: Labels, opts: MarginOptions): Tensor {
  const op = 'arcfaceHead';
  const params = marginParams(op, opts);
  emb.check(op, 'emb');
  weight.check(op, 'weight');
  if (emb.rank !== 2 || weight.rank !== 2 || emb.shape[1] !== weight.shape[1]) {
    throw new Error(`${op}: emb must be [N, D] and weight [K, D], got emb ${fmtShape(emb.shape)} and weight ${fmtShape(weight.shape)}`);
  }
  if (emb.size === 0 || weight.size === 0) throw new Error(`${op}: empty input, emb ${fmtShape(emb.shape)}, weight ${fmtShape(weight.shape)}`);
  // Labels are validated before any dispatch (the same check runs again inside marginForward).
  const [N, K] = [emb.shape[0]!, weight.shape[0]!];
  if (labels instanceof Tensor) {
    labels.check(op, 'labels');
    if (labels.rank !== 1 || labels.shape[0] !== N) throw new Error(`${op}: labels ${fmtShape(labels.shape)} do not match emb ${fmtShape(emb.shape)} (expected [${N}])`);
  } else labelsToArray(op, labels, N, K, `emb ${fmtShape(emb.shape)} and weight ${fmtShape(weight.shape)}`);
  // cos = ê · Ŵᵀ on the tuned matmul (Ŵ read transposed in place); its backward gives dÊ = G·Ŵ, dŴ = Gᵀ·Ê.
  const cos = matmul(rowNormalize(emb), rowNormalize(weight), { transB: true });
  return marginForward(op, cos, labels, params);
}
