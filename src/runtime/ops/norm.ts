// Normalisation layers: layerNorm (last dim), layerNorm2d (channels-first, over C of NCHW), batchNorm2d.
// Forward and backward side by side. Backward kernels recompute the statistics from the op's inputs
// (one extra read pass, fused into the gradient kernels), so nothing but inputs and outputs is
// captured: robust under tidy() whether forward and backward share a scope or not.
import { Tensor, empty, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record } from '../autograd.js';
import { sameShape } from '../shape.js';
import { sumRows2 } from './reduce.js';

// ---- LayerNorm over one axis of x viewed as [outer, D, inner] ---------------------------------

/**
 * Rows (o, i), o < outer, i < inner, of D elements each; element k of row (o, i) sits at
 * o * xs[0] + k * xs[1] + i * xs[2] in x (and dx), at the same with os in the output (and its gradient).
 */
interface RowGeo { outer: number; d: number; inner: number; rows: number; xs: Strides; os: Strides }
type Strides = readonly [number, number, number];

/** x as [outer, D, inner], contiguous. */
const rowMajor = (d: number, inner: number): Strides => [d * inner, inner, 1];

const strideUniforms = (s: Strides) => [u32(s[0]), u32(s[1]), u32(s[2]), u32(0)];

function checkParam(op: string, t: Tensor, name: string, d: number, x: Tensor, what: string): void {
  t.check(op, name);
  if (!sameShape(t.shape, [d])) {
    throw new Error(`${op}: ${name} has shape ${fmtShape(t.shape)}, expected [${d}] (the ${what} of input ${fmtShape(x.shape)})`);
  }
}

function checkEps(op: string, eps: number, x: Tensor): void {
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`${op}: eps must be a positive finite number, got ${eps} (input ${fmtShape(x.shape)})`);
}

function lnForward(name: string, x: Tensor, gamma: Tensor, beta: Tensor, geo: RowGeo, eps: number, outShape: readonly number[] = x.shape): Tensor {
  const out = empty(outShape);
  if (geo.rows === 0 || geo.d === 0) return out;
  getEngine().run({
    name, shader: 'layernorm', inputs: [x, gamma, beta], outputs: [out],
    uniforms: lnUniforms(geo, eps), workgroups: grid1d(geo.rows, 64),
  });
  return out;
}

function lnUniforms(geo: RowGeo, eps: number) {
  return [u32(geo.rows), u32(geo.d), u32(geo.inner), f32(eps), ...strideUniforms(geo.xs), ...strideUniforms(geo.os)];
}

function lnBackward(name: string, x: Tensor, gamma: Tensor, beta: Tensor, g: Tensor, geo: RowGeo, eps: number): (Tensor | null)[] {
  const dx = empty(x.shape);
  const stats = empty([geo.rows, 2]);
  const e = getEngine();
  if (geo.rows === 0 || geo.d === 0) return [dx, null, null];
  e.run({
    name: `${name}_backward`, shader: 'layernorm_backward', inputs: [x, gamma, g], outputs: [dx, stats],
    uniforms: lnUniforms(geo, eps), workgroups: grid1d(geo.rows, 64),
  });
  let dgamma: Tensor | null = null, dbeta: Tensor | null = null;
  if (gamma.requiresGrad || beta.requiresGrad) {
    // Invocation (chunk p of the outer index, k): ~1024 invocations, so small D still fills the machine.
    let P = Math.min(geo.outer, Math.max(1, Math.ceil(1024 / geo.d)));
    const chunk = Math.ceil(geo.outer / P);
    P = Math.ceil(geo.outer / chunk);
    const pg = empty([P, geo.d]), pb = empty([P, geo.d]);
    e.run({
      name: `${name}_param_backward`, shader: 'layernorm_param', inputs: [x, g, stats], outputs: [pg, pb],
      uniforms: [u32(geo.d), u32(geo.inner), u32(geo.outer), u32(chunk), u32(P * geo.d), u32(0), u32(0), u32(0), ...strideUniforms(geo.xs), ...strideUniforms(geo.os)],
      workgroups: grid1d(P * geo.d, 64),
    });
    if (P === 1) [dgamma, dbeta] = [pg.viewAs([geo.d]), pb.viewAs([geo.d])];
    else [dgamma, dbeta] = sumRows2(pg, pb); // both partials' sums in one dispatch
  }
  return [x.requiresGrad ? dx : null, gamma.requiresGrad ? dgamma : null, beta.requiresGrad ? dbeta : null];
}

/** LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * gamma + beta; gamma, beta [D]. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  x.check(op);
  if (x.rank < 1) throw new Error(`${op}: input ${fmtShape(x.shape)} needs at least one dimension`);
  const d = x.shape[x.rank - 1]!;
  checkParam(op, gamma, 'gamma', d, x, 'last dim');
  checkParam(op, beta, 'beta', d, x, 'last dim');
  checkEps(op, eps, x);
  const outer = x.size / Math.max(d, 1);
  const geo: RowGeo = { outer: d === 0 ? 0 : outer, d, inner: 1, rows: d === 0 ? 0 : outer, xs: rowMajor(d, 1), os: rowMajor(d, 1) };
  const out = lnForward(op, x, gamma, beta, geo, eps);
  return record(op, [x, gamma, beta], out, (g) => lnBackward(op, x, gamma, beta, g, geo, eps));
}

/**
 * Channels-first LayerNorm (ConvNeXt / EdgeNeXt): x [N, C, H, W] normalised over C at every (n, h, w);
 * gamma, beta [C].
 */
export function layerNorm2d(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-6): Tensor {
  return channelNorm('layerNorm2d', x, gamma, beta, eps, false);
}

/**
 * layerNorm2d with a channels-last output: x [N, C, H, W] → [N, H, W, C], the same numbers as
 * permute(layerNorm2d(x, gamma, beta, eps), [0, 2, 3, 1]) (= layerNorm over the last dim of the permuted
 * x) with no permute pass either way: the kernels read x channels-first and write (forward) or read
 * (backward, the gradient) channels-last. EdgeNeXt's ConvBlock: dw conv → NHWC → LayerNorm.
 */
export function layerNorm2dToChannelsLast(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-6): Tensor {
  return channelNorm('layerNorm2dToChannelsLast', x, gamma, beta, eps, true);
}

/** LayerNorm over C of x [N, C, H, W], written as x is or (channelsLast) as [N, H, W, C]. */
function channelNorm(op: string, x: Tensor, gamma: Tensor, beta: Tensor, eps: number, channelsLast: boolean): Tensor {
  x.check(op);
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  checkParam(op, gamma, 'gamma', c, x, 'channels');
  checkParam(op, beta, 'beta', c, x, 'channels');
  checkEps(op, eps, x);
  const hw = Math.max(h * w, 1);
  const geo: RowGeo = { outer: n, d: c, inner: hw, rows: n * h * w, xs: rowMajor(c, hw), os: channelsLast ? [hw * c, 1, c] : rowMajor(c, hw) };
  const out = lnForward(op, x, gamma, beta, geo, eps, channelsLast ? [n, h, w, c] : x.shape);
  return record(op, [x, gamma, beta], out, (g) => lnBackward(op, x, gamma, beta, g, geo, eps));
}

// ---- BatchNorm2d ------------------------------------------------------------------------------

export interface BatchNormOptions {
  /** Batch statistics (and running-stat update) when true, running statistics when false. */
  training: boolean;
  /** Running-stat update factor, PyTorch convention: running = (1 - momentum) * running + momentum * batch. Default 0.1. */
  momentum?: number;
  /** Default 1e-5. */
  eps?: number;
}

const BN_OPTS = new Set(['training', 'momentum', 'eps']);

interface BnGeo { n: number; c: number; hw: number; m: number }

// Stage 1: partial sums over (c, n, segment of H*W); returns the partials and P (partials per channel).
function bnPartials(x: Tensor, g: Tensor | null, geo: BnGeo): { part: Tensor; P: number } {
  const { n, c, hw } = geo;
  let S = Math.max(1, Math.min(Math.ceil(1024 / (n * c)), Math.ceil(hw / 32)));
  const seg = Math.ceil(hw / S);
  S = Math.ceil(hw / seg);
  const P = n * S;
  const nv = g ? 4 : 2;
  const part = empty([c * P * nv]);
  getEngine().run({
    name: g ? 'batchNorm2d_partial_backward' : 'batchNorm2d_partial', shader: 'batchnorm_partial', defines: { WITH_G: !!g },
    inputs: g ? [x, g] : [x], outputs: [part],
    uniforms: [u32(c), u32(hw), u32(S), u32(seg), u32(P), u32(c * P)], workgroups: grid1d(c * P, 64),
  });
  return { part, P };
}

function bnUniforms(geo: BnGeo, P: number, eps: number, momentum: number) {
  return [u32(geo.c), u32(P), u32(geo.hw), f32(geo.m), f32(eps), f32(momentum), f32(geo.m > 1 ? geo.m / (geo.m - 1) : 0)];
}

function bnApply(name: string, a: Tensor, b: Tensor | null, coef: Tensor, geo: BnGeo): Tensor {
  const out = empty(a.shape);
  getEngine().run({
    name, shader: 'batchnorm_apply', defines: { TWO_INPUTS: !!b },
    inputs: b ? [a, b, coef] : [a, coef], outputs: [out],
    uniforms: [u32(a.size), u32(geo.c), u32(geo.hw)], workgroups: grid1d(a.size, 64),
  });
  return out;
}

/**
 * BatchNorm2d on x [N, C, H, W] (PyTorch semantics). training: normalise with the batch mean and
 * biased variance, and update runningMean / runningVar in place on the GPU with the unbiased
 * variance; eval: normalise with the running statistics (an affine map). Gradients for x, gamma, beta.
 */
export function batchNorm2d(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, opts: BatchNormOptions): Tensor {
  const op = 'batchNorm2d';
  x.check(op);
  if (x.rank !== 4) throw new Error(`${op}: input must be [N, C, H, W], got ${fmtShape(x.shape)}`);
  if (!opts || typeof opts !== 'object') throw new Error(`${op}: opts { training } is required (input ${fmtShape(x.shape)})`);
  for (const k of Object.keys(opts)) if (!BN_OPTS.has(k)) throw new Error(`${op}: unknown option "${k}" (supported: training, momentum, eps)`);
  if (typeof opts.training !== 'boolean') throw new Error(`${op}: opts.training must be a boolean, got ${String(opts.training)}`);
  const training = opts.training;
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${op}: momentum must be in [0, 1], got ${momentum}`);
  checkEps(op, eps, x);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  checkParam(op, gamma, 'gamma', c, x, 'channels');
  checkParam(op, beta, 'beta', c, x, 'channels');
  checkParam(op, runningMean, 'runningMean', c, x, 'channels');
  checkParam(op, runningVar, 'runningVar', c, x, 'channels');
  for (const [t, nm] of [[runningMean, 'runningMean'], [runningVar, 'runningVar']] as const) {
    if (t.requiresGrad) throw new Error(`${op}: ${nm} ${fmtShape(t.shape)} requires grad; running statistics are buffers`);
    if (t === x || t === gamma || t === beta || (t.buffer === x.buffer)) throw new Error(`${op}: ${nm} aliases another argument`);
  }
  if (runningMean.buffer === runningVar.buffer) throw new Error(`${op}: runningMean and runningVar share one buffer`);
  const geo: BnGeo = { n, c, hw: h * w, m: n * h * w };
  if (training && geo.m <= 1) {
    throw new Error(`${op}: training needs more than one value per channel, got input ${fmtShape(x.shape)}`);
  }
  if (x.size === 0) return empty(x.shape);
  const e = getEngine();
  const coef = empty([c, 4]);
  if (training) {
    const { part, P } = bnPartials(x, null, geo);
    e.run({
      name: 'batchNorm2d_stats', shader: 'batchnorm_finalize', defines: { TRAIN: true, BACKWARD: false, NEED_PART: true },
      inputs: [x, part, gamma, beta], outputs: [coef, runningMean, runningVar],
      uniforms: bnUniforms(geo, P, eps, momentum), workgroups: grid1d(c, 64),
    });
    part.dispose();
  } else {
    e.run({
      name: 'batchNorm2d_eval_coef', shader: 'batchnorm_finalize', defines: { TRAIN: false, BACKWARD: false, NEED_PART: false },
      inputs: [gamma, beta, runningMean, runningVar], outputs: [coef],
      uniforms: bnUniforms(geo, 1, eps, momentum), workgroups: grid1d(c, 64),
    });
  }
  const out = bnApply(op, x, null, coef, geo);
  coef.dispose();
  const inputs = training ? [x, gamma, beta] : [x, gamma, beta, runningMean, runningVar];
  return record(op, inputs, out, (g) => {
    const { part, P } = bnPartials(x, g, geo);
    const cg = empty([c, 4]), dgamma = empty([c]), dbeta = empty([c]);
    e.run({
      name: 'batchNorm2d_backward_coef', shader: 'batchnorm_finalize', defines: { TRAIN: training, BACKWARD: true, NEED_PART: true },
      inputs: training ? [x, part, gamma] : [x, part, gamma, runningMean, runningVar], outputs: [cg, dgamma, dbeta],
      uniforms: bnUniforms(geo, P, eps, momentum), workgroups: grid1d(c, 64),
    });
    const dx = x.requiresGrad ? bnApply('batchNorm2d_backward', g, training ? x : null, cg, geo) : null;
    const grads: (Tensor | null)[] = [dx, gamma.requiresGrad ? dgamma : null, beta.requiresGrad ? dbeta : null];
    if (!training) grads.push(null, null);
    return grads;
  });
}
