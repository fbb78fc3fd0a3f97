// Losses: l1Loss, mseLoss, cosineLoss, klDivLoss (distillation), crossEntropy. Each returns a
// scalar tensor (shape []), reduction 'mean' (default) or 'sum'. Forward and backward side by side.
// Sums over all elements use two dispatches without atomics: loss_reduce.wgsl (strided per-invocation
// partial sums) then loss_finish.wgsl (one workgroup); row losses compute one value per row
// (loss_ce / loss_kl / loss_cos.wgsl) and finish with loss_finish.wgsl.
import { Tensor, empty, tensor, fmtShape } from '../tensor.js';
import { getEngine, grid1d, u32, f32 } from '../engine.js';
import { record } from '../autograd.js';
import { sameShape } from '../shape.js';

export type Reduction = 'mean' | 'sum';
export interface LossOptions {
  reduction?: Reduction;
}

/** Throws on unknown option keys (no option is silently ignored). */
export function rejectUnknownOptions(op: string, opts: object | undefined, allowed: readonly string[]): void {
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object') throw new Error(`${op}: options must be an object, got ${String(opts)}`);
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new Error(`${op}: unknown option "${k}" (supported: ${allowed.join(', ') || 'none'})`);
  }
}

function reductionOf(op: string, opts: LossOptions | undefined, extra: readonly string[] = []): Reduction {
  rejectUnknownOptions(op, opts, ['reduction', ...extra]);
  const r = opts?.reduction ?? 'mean';
  if (r !== 'mean' && r !== 'sum') throw new Error(`${op}: reduction must be 'mean' or 'sum', got '${String(r)}'`);
  return r;
}

/** out[0] = scale · Σ v (sqrt of it with `sqrt`); out has shape `shape`. */
export function sumFinish(name: string, v: Tensor, n: number, scale: number, shape: readonly number[] = [], sqrt = false): Tensor {
  const out = empty(shape);
  getEngine().run({ name: `${name}_finish`, shader: 'loss_finish', defines: { SQRT: sqrt }, inputs: [v], outputs: [out], uniforms: [u32(n), f32(scale)], workgroups: [1] });
  return out;
}

/** Invocations used for the partial sums of n elements (each invocation covers >= 16 vec4s). */
export function sumPartialThreads(n: number): number {
  const groups = Math.min(64, Math.max(1, Math.ceil(Math.ceil(n / 4) / (64 * 16))));
  return groups * 64;
}

/** Records the partial sums of f(a, b) over all elements into partials[off, off + T). */
export function sumPartials(kind: 'L1' | 'MSE' | 'SUMSQ', a: Tensor, b: Tensor, partials: Tensor, off: number, T: number): void {
  const n = a.size;
  const vec4 = n % 4 === 0;
  getEngine().run({
    name: `${kind.toLowerCase()}_partials`, shader: 'loss_reduce', defines: { L1: kind === 'L1', MSE: kind === 'MSE', VEC4: vec4 },
    inputs: [a, b], outputs: [partials], uniforms: [u32(n), u32(Math.ceil(n / 4)), u32(T), u32(off)], workgroups: grid1d(T, 64),
  });
}

function pairCheck(op: string, pred: Tensor, target: Tensor): void {
  pred.check(op, 'pred');
  target.check(op, 'target');
  if (!sameShape(pred.shape, target.shape)) throw new Error(`${op}: pred ${fmtShape(pred.shape)} and target ${fmtShape(target.shape)} differ in shape`);
  if (pred.size === 0) throw new Error(`${op}: empty input ${fmtShape(pred.shape)}`);
}

function pairLoss(op: string, kind: 'L1' | 'MSE', pred: Tensor, target: Tensor, opts?: LossOptions): Tensor {
  const red = reductionOf(op, opts);
  pairCheck(op, pred, target);
  const n = pred.size;
  const scale = red === 'mean' ? 1 / n : 1;
  const T = sumPartialThreads(n);
  const partials = empty([T]);
  sumPartials(kind, pred, target, partials, 0, T);
  const out = sumFinish(op, partials, T, scale);
  partials.dispose();
  return record(op, [pred, target], out, (g) => {
    const vec4 = n % 4 === 0;
    const dp = empty(pred.shape);
    getEngine().run({
      name: `${op}_grad`, shader: 'loss_pair_grad', defines: { L1: kind === 'L1', VEC4: vec4 },
      inputs: [pred, target, g], outputs: [dp], uniforms: [u32(n), f32(scale)], workgroups: grid1d(vec4 ? n / 4 : n, 64),
    });
    let dt: Tensor | null = null;
    if (target.requiresGrad) {
      dt = empty(target.shape);
      getEngine().run({ name: 'affine', shader: 'affine', defines: { IN_PLACE: false, ACCUMULATE: false, T: 'f32' }, inputs: [dp], outputs: [dt], uniforms: [u32(n), f32(-1), f32(0)], workgroups: grid1d(n, 64) });
    }
    return [pred.requiresGrad ? dp : null, dt];
  });
}

/** mean (or sum) of |pred - target|. The gradient at pred == target is 0. */
export const l1Loss = (pred: Tensor, target: Tensor, opts?: LossOptions): Tensor => pairLoss('l1Loss', 'L1', pred, target, opts);
/** mean (or sum) of (pred - target)². */
export const mseLoss = (pred: Tensor, target: Tensor, opts?: LossOptions): Tensor => pairLoss('mseLoss', 'MSE', pred, target, opts);

// ---- cosine (identity) loss ---------------------------------------------------------------------

export interface CosineLossOptions extends LossOptions {
  /** Lower bound of each row norm (default 1e-8, as torch.cosine_similarity). */
  eps?: number;
}

/** mean over rows of 1 - cos(a_i, b_i) for embeddings a, b [N, D]; cos uses max(|a_i|, eps)·max(|b_i|, eps). */
export function cosineLoss(a: Tensor, b: Tensor, opts?: CosineLossOptions): Tensor {
  const op = 'cosineLoss';
  const red = reductionOf(op, opts, ['eps']);
  const eps = opts?.eps ?? 1e-8;
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`${op}: eps must be a positive number, got ${String(eps)}`);
  a.check(op, 'a');
  b.check(op, 'b');
  if (a.rank !== 2 || !sameShape(a.shape, b.shape)) throw new Error(`${op}: a and b must both be [N, D], got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const [N, D] = a.shape as [number, number];
  if (N === 0 || D === 0) throw new Error(`${op}: empty input ${fmtShape(a.shape)}`);
  const scale = red === 'mean' ? 1 / N : 1;
  const rows = empty([N]);
  getEngine().run({ name: op, shader: 'loss_cos', defines: { GRAD: false }, inputs: [a, b], outputs: [rows], uniforms: [u32(N), u32(D), f32(eps), f32(scale)], workgroups: grid1d(N, 64) });
  const out = sumFinish(op, rows, N, scale);
  rows.dispose();
  return record(op, [a, b], out, (g) => {
    const da = empty(a.shape);
    const db = empty(b.shape);
    getEngine().run({ name: `${op}_grad`, shader: 'loss_cos', defines: { GRAD: true }, inputs: [a, b, g], outputs: [da, db], uniforms: [u32(N), u32(D), f32(eps), f32(scale)], workgroups: grid1d(N, 64) });
    return [a.requiresGrad ? da : null, b.requiresGrad ? db : null];
  });
}

// ---- knowledge distillation ---------------------------------------------------------------------

/**
 * T² · mean over the batch of KL(softmax(teacher/T) ‖ softmax(student/T)) for logits [N, K]
 * ('sum': T² · Σ over the batch). Gradients to the student, and to the teacher if it requires grad.
 */
export function klDivLoss(student: Tensor, teacher: Tensor, T: number, opts?: LossOptions): Tensor {
  const op = 'klDivLoss';
  const red = reductionOf(op, opts);
  student.check(op, 'student');
  teacher.check(op, 'teacher');
  if (student.rank !== 2 || !sameShape(student.shape, teacher.shape)) {
    throw new Error(`${op}: student and teacher logits must both be [N, K], got ${fmtShape(student.shape)} and ${fmtShape(teacher.shape)}`);
  }
  if (typeof T !== 'number' || !(T > 0) || !Number.isFinite(T)) throw new Error(`${op}: temperature T must be a positive number, got ${String(T)}`);
  const [N, K] = student.shape as [number, number];
  if (N === 0 || K === 0) throw new Error(`${op}: empty input ${fmtShape(student.shape)}`);
  const scale = (T * T) / (red === 'mean' ? N : 1);
  const uniforms = [u32(N), u32(K), f32(1 / T), f32(scale)];
  const rows = empty([N]);
  getEngine().run({ name: op, shader: 'loss_kl', defines: { GRAD: false, TEACHER: false }, inputs: [student, teacher], outputs: [rows], uniforms, workgroups: grid1d(N, 64) });
  const out = sumFinish(op, rows, N, scale);
  rows.dispose();
  return record(op, [student, teacher], out, (g) => {
    const ds = empty(student.shape);
    const withT = teacher.requiresGrad;
    const dt = withT ? empty(teacher.shape) : null;
    getEngine().run({
      name: `${op}_grad`, shader: 'loss_kl', defines: { GRAD: true, TEACHER: withT },
      inputs: [student, teacher, g], outputs: dt ? [ds, dt] : [ds], uniforms, workgroups: grid1d(N, 64),
    });
    return [student.requiresGrad ? ds : null, dt];
  });
}

// ---- cross-entropy ------------------------------------------------------------------------------

export type Labels = Int32Array | readonly number[] | Tensor;

/** Checks CPU labels (integers in [0, K), N of them) and returns them as floats. */
export function labelsToArray(op: string, labels: Int32Array | readonly number[], N: number, K: number, what: string): Float32Array {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) throw new Error(`${op}: labels must be an Int32Array, number[] or Tensor`);
  if (labels.length !== N) throw new Error(`${op}: ${labels.length} labels for ${what} (expected ${N})`);
  const cpu = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= K) throw new Error(`${op}: label ${String(l)} at row ${i} is out of range [0, ${K}) for ${what}`);
    cpu[i] = l;
  }
  return cpu;
}

/**
 * Class-index labels as a [N] float tensor. Arrays are checked on the CPU (integers in [0, K));
 * a Tensor is used as is (it cannot be checked without a readback: an invalid label gives that
 * row a NaN loss / logit row). `owned` says whether the caller must dispose the returned tensor.
 */
export function labelsToTensor(op: string, labels: Labels, N: number, K: number, what: string): { t: Tensor; owned: boolean; cpu: Float32Array | null } {
  if (labels instanceof Tensor) {
    labels.check(op, 'labels');
    if (labels.rank !== 1 || labels.shape[0] !== N) throw new Error(`${op}: labels ${fmtShape(labels.shape)} do not match ${what} (expected [${N}])`);
    return { t: labels, owned: false, cpu: null };
  }
  const cpu = labelsToArray(op, labels, N, K, what);
  return { t: tensor(cpu, [N]), owned: true, cpu };
}

/**
 * Mean (or sum) over rows of -log softmax(logits_i)[label_i] for logits [N, K] and class indices
 * (fused stable log-softmax). Labels: Int32Array | number[] (range-checked, throws) or a [N] Tensor
 * of indices (unchecked: an invalid label yields NaN). Gradient to the logits.
 */
export function crossEntropy(logits: Tensor, labels: Labels, opts?: LossOptions): Tensor {
  const op = 'crossEntropy';
  const red = reductionOf(op, opts);
  logits.check(op, 'logits');
  if (logits.rank !== 2) throw new Error(`${op}: logits must be [N, K], got ${fmtShape(logits.shape)}`);
  const [N, K] = logits.shape as [number, number];
  if (N === 0 || K === 0) throw new Error(`${op}: empty logits ${fmtShape(logits.shape)}`);
  const lab = labelsToTensor(op, labels, N, K, `logits ${fmtShape(logits.shape)}`);
  const scale = red === 'mean' ? 1 / N : 1;
  const uniforms = [u32(N), u32(K), f32(scale)];
  const rows = empty([N]);
  getEngine().run({ name: op, shader: 'loss_ce', defines: { GRAD: false }, inputs: [logits, lab.t], outputs: [rows], uniforms, workgroups: grid1d(N, 64) });
  const out = sumFinish(op, rows, N, scale);
  rows.dispose();
  if (lab.owned) lab.t.dispose();
  // A caller's label tensor is a saved input (autograd checks it is alive); CPU labels are uploaded
  // again by the backward (N floats) rather than kept alive past the caller's tidy.
  const inputs = lab.owned ? [logits] : [logits, lab.t];
  return record(op, inputs, out, (g) => {
    const lt = lab.owned ? tensor(lab.cpu!, [N]) : lab.t;
    const dx = empty(logits.shape);
    getEngine().run({ name: `${op}_grad`, shader: 'loss_ce', defines: { GRAD: true }, inputs: [logits, lt, g], outputs: [dx], uniforms, workgroups: grid1d(N, 64) });
    if (lab.owned) lt.dispose();
    return lab.owned ? [dx] : [dx, null];
  });
}
