// Optimizers (SGD, AdamW) and gradient-norm clipping as GPU kernels that update tensors in place,
// several tensors a dispatch (multi-tensor.ts): no readback, and no recompilation when lr (or the step
// counter) changes: they are uniforms.
// State tensors are created once, in the constructor (kept out of every tidy), and exposed through
// state() for checkpoints. Parameters whose grad is null are skipped.
import { Tensor, empty, fmtShape } from '../runtime/tensor.js';
import { getEngine, grid1d } from '../runtime/engine.js';
import { zeroGrad as zeroGrads } from '../runtime/autograd.js';
import { keep } from '../runtime/scope.js';
import { zeros, copyInto } from '../runtime/ops/elementwise.js';
import { rejectUnknownOptions, sumFinish, sumPartialThreads } from '../runtime/ops/loss.js';
import { MAX_SLOTS, slotsPerDispatch, slotGroups, slotBindings, slotChain, slotUniforms, padSlots, slotDummies, type SlotItem } from './multi-tensor.js';

function checkParams(op: string, params: readonly Tensor[]): Tensor[] {
  if (!Array.isArray(params) || params.length === 0) throw new Error(`${op}: params must be a non-empty array of tensors`);
  const seen = new Set<Tensor>();
  const buffers = new Map<GPUBuffer, number>();
  params.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new Error(`${op}: params[${i}] is not a Tensor`);
    p.check(op, `params[${i}]`);
    if (seen.has(p)) throw new Error(`${op}: params[${i}] ${fmtShape(p.shape)} appears twice`);
    // one dispatch writes several parameters: two views of one buffer would be written twice at once
    const j = buffers.get(p.buffer);
    if (j !== undefined) throw new Error(`${op}: params[${i}] ${fmtShape(p.shape)} shares its buffer with params[${j}] (a view of it): pass one of the two`);
    seen.add(p);
    buffers.set(p.buffer, i);
  });
  return [...params];
}

function num(op: string, name: string, v: unknown, ok: (x: number) => boolean, rule: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${op}: ${name} must be ${rule}, got ${String(v)}`);
  return v;
}

function gradOf(op: string, p: Tensor, i: number): Tensor | null {
  const g = p.grad;
  if (!g) return null;
  g.check(op, `grad of params[${i}]`);
  if (g.size !== p.size) throw new Error(`${op}: grad ${fmtShape(g.shape)} does not match params[${i}] ${fmtShape(p.shape)}`);
  return g;
}

function loadInto(op: string, dst: Record<string, Tensor>, src: Record<string, Tensor>): void {
  for (const [k, t] of Object.entries(dst)) {
    const s = src[k];
    if (!s) throw new Error(`${op}.loadState: missing state tensor "${k}"`);
    if (s.size !== t.size) throw new Error(`${op}.loadState: "${k}" is ${fmtShape(s.shape)}, expected ${fmtShape(t.shape)}`);
    copyInto(t, s);
  }
}

// ---- SGD ----------------------------------------------------------------------------------------

export interface SGDOptions {
  lr: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/** SGD with optional momentum (dampening 0), L2 weight decay and Nesterov momentum (PyTorch semantics). */
export class SGD {
  readonly params: Tensor[];
  /** Learning rate; may be changed between steps (a uniform). */
  lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** Steps taken per parameter (a parameter whose grad was null was not stepped). */
  readonly steps: number[];
  private bufs: Tensor[];
  /** What the unused slots of a multi-tensor dispatch bind for p (and the momentum buffer). */
  private dummies: Tensor[];

  constructor(params: readonly Tensor[], opts: SGDOptions) {
    const op = 'SGD';
    rejectUnknownOptions(op, opts, ['lr', 'momentum', 'weightDecay', 'nesterov']);
    if (!opts) throw new Error(`${op}: options { lr } are required`);
    this.params = checkParams(op, params);
    this.lr = num(op, 'lr', opts.lr, (x) => x >= 0, 'a number >= 0');
    this.momentum = num(op, 'momentum', opts.momentum ?? 0, (x) => x >= 0, 'a number >= 0');
    this.weightDecay = num(op, 'weightDecay', opts.weightDecay ?? 0, (x) => x >= 0, 'a number >= 0');
    if (opts.nesterov !== undefined && typeof opts.nesterov !== 'boolean') throw new Error(`${op}: nesterov must be a boolean, got ${String(opts.nesterov)}`);
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && this.momentum === 0) throw new Error(`${op}: nesterov momentum requires momentum > 0`);
    this.steps = this.params.map(() => 0);
    this.bufs = this.momentum > 0 ? this.params.map((p) => keep(zeros(p.shape))) : [];
    this.dummies = slotDummies(2 * MAX_SLOTS).map(keep);
  }

  /** One update of every parameter that has a gradient, up to slotsPerDispatch(2 or 3, 0) tensors per dispatch. */
  step(): void {
    this.lr = num('SGD', 'lr', this.lr, (x) => x >= 0, 'a number >= 0');
    const mom = this.momentum > 0;
    const items: SlotItem[] = [];
    const grads: Tensor[] = [];
    this.params.forEach((p, i) => {
      const g = gradOf('SGD', p.check('SGD.step', `params[${i}]`), i);
      if (!g) return;
      grads[i] = g;
      items.push({ index: i, size: p.size });
    });
    const per = mom ? 2 : 1;
    const K = slotsPerDispatch(per + 1, 0);
    for (const group of slotGroups(items, K)) {
      const ix = group.items.map((it) => it.index);
      const { slots, invocations } = slotUniforms(group, K, (it) => ({ extra: this.steps[it.index] === 0 ? 1 : 0 }));
      const writes = padSlots(ix.map((i) => (mom ? [this.params[i]!, this.bufs[i]!] : [this.params[i]!])), K,
        (k) => this.dummies.slice(per * k, per * k + per)).flat();
      getEngine().run({
        name: 'sgd', shader: 'optim_sgd', defines: sgdDefines(K, group.vec4, mom),
        inputs: padSlots(ix.map((i) => grads[i]!), K, () => grads[ix[0]!]!), outputs: writes,
        uniforms: [vec4f(this.lr, this.momentum, this.weightDecay, 0), { t: 'vec4u', v: [invocations, this.nesterov ? 1 : 0, 0, 0] }, ...slots],
        workgroups: grid1d(invocations, 64),
      });
    }
    for (const it of items) this.steps[it.index]!++;
  }

  /**
   * Drops the gradients (as PyTorch's set_to_none, its default): the next backward hands each
   * parameter its gradient tensor as it is instead of a zero fill plus an accumulation pass.
   * zeroGrad(false) zeroes them in place instead.
   */
  zeroGrad(setToNull = true): void {
    zeroGrads(this.params, setToNull);
  }

  /** Momentum buffers, keyed "<param index>.momentum_buffer" (live tensors: copy to save). */
  state(): Record<string, Tensor> {
    const s: Record<string, Tensor> = {};
    this.bufs.forEach((b, i) => (s[`${i}.momentum_buffer`] = b));
    return s;
  }

  /** Copies saved state in; `steps` (per parameter) defaults to 1 for every parameter (buffers live). */
  loadState(state: Record<string, Tensor>, steps?: readonly number[]): void {
    loadInto('SGD', this.state(), state);
    this.params.forEach((_, i) => (this.steps[i] = steps?.[i] ?? 1));
  }

  dispose(): void {
    [...this.bufs, ...this.dummies].forEach((b) => b.dispose());
    this.bufs = [];
    this.dummies = [];
  }
}

// ---- AdamW --------------------------------------------------------------------------------------

export interface AdamWOptions {
  lr: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

/** AdamW (decoupled weight decay, bias-corrected; PyTorch semantics, amsgrad off). */
export class AdamW {
  readonly params: Tensor[];
  /** Learning rate; may be changed between steps (a uniform). */
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken per parameter (the t of the bias corrections). */
  readonly steps: number[];
  private m: Tensor[];
  private v: Tensor[];
  /** What the unused slots of a multi-tensor dispatch bind for p, m and v. */
  private dummies: Tensor[];

  constructor(params: readonly Tensor[], opts: AdamWOptions) {
    const op = 'AdamW';
    rejectUnknownOptions(op, opts, ['lr', 'betas', 'eps', 'weightDecay']);
    if (!opts) throw new Error(`${op}: options { lr } are required`);
    this.params = checkParams(op, params);
    this.lr = num(op, 'lr', opts.lr, (x) => x >= 0, 'a number >= 0');
    const betas = opts.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw new Error(`${op}: betas must be [beta1, beta2], got ${String(betas)}`);
    this.betas = [
      num(op, 'betas[0]', betas[0], (x) => x >= 0 && x < 1, 'in [0, 1)'),
      num(op, 'betas[1]', betas[1], (x) => x >= 0 && x < 1, 'in [0, 1)'),
    ];
    this.eps = num(op, 'eps', opts.eps ?? 1e-8, (x) => x > 0, 'a number > 0');
    this.weightDecay = num(op, 'weightDecay', opts.weightDecay ?? 0.01, (x) => x >= 0, 'a number >= 0');
    this.steps = this.params.map(() => 0);
    this.m = this.params.map((p) => keep(zeros(p.shape)));
    this.v = this.params.map((p) => keep(zeros(p.shape)));
    this.dummies = slotDummies(3 * MAX_SLOTS).map(keep);
  }

  /**
   * One update of every parameter that has a gradient, up to slotsPerDispatch(4, 1) tensors per
   * dispatch (src/train/multi-tensor.ts). clip: scale the gradients by min(1, maxNorm / (norm + 1e-6)) on
   * the way in, as clipGradNorm would in place (the same factor, the same update to the bit; the
   * gradients are left as they are); norm is gradNorm(...)'s [1] tensor, read on the GPU.
   */
  step(clip?: GradClip): void {
    this.lr = num('AdamW', 'lr', this.lr, (x) => x >= 0, 'a number >= 0');
    if (clip) checkClip('AdamW.step', clip);
    const [b1, b2] = this.betas;
    const items: SlotItem[] = [];
    const grads: Tensor[] = [];
    const corr: number[][] = [];
    this.params.forEach((p, i) => {
      const g = gradOf('AdamW', p.check('AdamW.step', `params[${i}]`), i);
      if (!g) return;
      const t = ++this.steps[i]!;
      grads[i] = g;
      corr[i] = [1 - b1 ** t, Math.sqrt(1 - b2 ** t)];
      items.push({ index: i, size: p.size });
    });
    const K = slotsPerDispatch(4, clip ? 1 : 0);
    const e = getEngine();
    for (const group of slotGroups(items, K)) {
      const ix = group.items.map((it) => it.index);
      const { slots, total, invocations } = slotUniforms(group, K, (it) => ({ f: corr[it.index]! }));
      const g = padSlots(ix.map((i) => grads[i]!), K, () => grads[ix[0]!]!);
      const pmv = padSlots(ix.map((i) => [this.params[i]!, this.m[i]!, this.v[i]!]), K, (k) => this.dummies.slice(3 * k, 3 * k + 3)).flat();
      e.run({
        name: 'adamw', shader: 'optim_adamw', defines: adamwDefines(K, group.vec4, !!clip),
        inputs: clip ? [...g, clip.norm] : g, outputs: pmv,
        uniforms: [vec4f(this.lr, b1, b2, this.eps), vec4f(this.weightDecay, clip?.maxNorm ?? 0, 0, 0), total, ...slots],
        workgroups: grid1d(invocations, 64),
      });
    }
  }

  /** As SGD.zeroGrad: drops the gradients (setToNull = false: zeroes them in place). */
  zeroGrad(setToNull = true): void {
    zeroGrads(this.params, setToNull);
  }

  /** First and second moments, keyed "<param index>.exp_avg" / ".exp_avg_sq" (live tensors). */
  state(): Record<string, Tensor> {
    const s: Record<string, Tensor> = {};
    this.params.forEach((_, i) => {
      s[`${i}.exp_avg`] = this.m[i]!;
      s[`${i}.exp_avg_sq`] = this.v[i]!;
    });
    return s;
  }

  /** Copies saved moments in and sets the per-parameter step counts. */
  loadState(state: Record<string, Tensor>, steps: readonly number[]): void {
    if (steps.length !== this.params.length || !steps.every((s) => Number.isInteger(s) && s >= 0)) {
      throw new Error(`AdamW.loadState: steps must be ${this.params.length} integers >= 0`);
    }
    loadInto('AdamW', this.state(), state);
    steps.forEach((s, i) => (this.steps[i] = s));
  }

  dispose(): void {
    [...this.m, ...this.v, ...this.dummies].forEach((t) => t.dispose());
    this.m = [];
    this.v = [];
    this.dummies = [];
  }
}

// ---- gradient clipping --------------------------------------------------------------------------

/** Clip the gradients to a global L2 norm of at most maxNorm: norm is gradNorm(...)'s [1] tensor. */
export interface GradClip { norm: Tensor; maxNorm: number }

function checkClip(op: string, clip: GradClip): void {
  num(op, 'clip.maxNorm', clip.maxNorm, (x) => x > 0, 'a number > 0');
  if (!(clip.norm instanceof Tensor) || clip.norm.size !== 1) throw new Error(`${op}: clip.norm must be a [1] tensor (gradNorm's)`);
  clip.norm.check(op, 'clip.norm');
}

const vec4f = (a: number, b: number, c: number, d: number) => ({ t: 'vec4f' as const, v: [a, b, c, d] });

/** The defines of optim_sgd.wgsl for K slots. */
function sgdDefines(K: number, vec4: boolean, momentum: boolean) {
  const reads: [string, string][] = Array.from({ length: K }, (_, k) => [`g${k}`, 'array<V>']);
  const writes = Array.from({ length: K }, (_, k) => (momentum ? ['p', 'buf'] : ['p']).map((s): [string, string] => [`${s}${k}`, 'array<V>'])).flat();
  const body = (k: number) => `for (var j = j0; j < s.size.x; j += s.size.y) {
      let pv = p${k}[j];
      var d = g${k}[j] + u.h.z * pv;${momentum ? `
      var b = d;
      if (s.size.w == 0u) { b = u.h.y * buf${k}[j] + d; }
      buf${k}[j] = b;
      if (u.flags.y != 0u) { d = d + u.h.y * b; } else { d = b; }` : ''}
      p${k}[j] = pv - u.h.x * d;
    }`;
  return { SLOTS: K, VEC4: vec4, BINDINGS: slotBindings(reads, writes), SLOTS_BODY: slotChain(K, body) };
}

/** The defines of optim_adamw.wgsl for K slots. */
function adamwDefines(K: number, vec4: boolean, clip: boolean) {
  const reads: [string, string][] = Array.from({ length: K }, (_, k) => [`g${k}`, 'array<V>']);
  if (clip) reads.push(['norm', 'array<f32>']);
  const writes = Array.from({ length: K }, (_, k) => ['p', 'm', 'v'].map((s): [string, string] => [`${s}${k}`, 'array<V>'])).flat();
  const body = (k: number) => `for (var j = j0; j < s.size.x; j += s.size.y) {
      let r = adamw(p${k}[j], m${k}[j], v${k}[j], g${k}[j]${clip ? ' * c' : ''}, s.f);
      p${k}[j] = r.p; m${k}[j] = r.m; v${k}[j] = r.v;
    }`;
  return { SLOTS: K, VEC4: vec4, CLIP: clip, BINDINGS: slotBindings(reads, writes), SLOTS_BODY: slotChain(K, body) };
}

/** The grads of params that have one (checked), with their indices. */
function gradsOf(op: string, params: readonly Tensor[]): { items: SlotItem[]; grads: Tensor[] } {
  if (!Array.isArray(params)) throw new Error(`${op}: params must be an array of tensors`);
  const items: SlotItem[] = [];
  const grads: Tensor[] = [];
  params.forEach((p, i) => {
    const g = gradOf(op, p.check(op, `params[${i}]`), i);
    if (!g || g.size === 0) return;
    items.push({ index: grads.length, size: g.size });
    grads.push(g);
  });
  return { items, grads };
}

/**
 * The global L2 norm of every parameter's gradient as a [1] tensor, computed on the GPU (no readback):
 * per-tensor strided partial sums of squares, up to slotsPerDispatch(1, 1) tensors per dispatch
 * (shaders/grad_sumsq.wgsl), then one sum (loss_finish.wgsl). 0 when no parameter has a gradient.
 */
export function gradNorm(params: readonly Tensor[]): Tensor {
  const op = 'gradNorm';
  const { items, grads } = gradsOf(op, params);
  return normOf(op, items, grads);
}

/** gradNorm of gradsOf's gradients (clipGradNorm has them already). */
function normOf(op: string, items: readonly SlotItem[], grads: readonly Tensor[]): Tensor {
  if (grads.length === 0) return zeros([1]);
  // partials in the parameters' order, whatever the grouping: the sum runs in the same order
  const off: number[] = [];
  let T = 0;
  for (const g of grads) {
    off.push(T);
    T += sumPartialThreads(g.size);
  }
  const partials = empty([T]);
  const K = slotsPerDispatch(1, 1);
  for (const group of slotGroups(items, K)) {
    const ix = group.items.map((it) => it.index);
    const { slots, total, invocations } = slotUniforms(group, K, (it) => ({ threads: sumPartialThreads(it.size), extra: off[it.index]! }));
    const body = (k: number) => `var acc = vec4<f32>(0.0);
    for (var j = j0; j < s.size.x; j += s.size.y) { acc += sq(g${k}[j]); }
    partials[s.size.w + j0] = (acc.x + acc.y) + (acc.z + acc.w);`;
    getEngine().run({
      name: 'grad_sumsq', shader: 'grad_sumsq',
      defines: {
        SLOTS: K, VEC4: group.vec4, SLOTS_BODY: slotChain(K, body),
        BINDINGS: slotBindings(Array.from({ length: K }, (_, k) => [`g${k}`, 'array<V>']), [['partials', 'array<f32>']]),
      },
      inputs: padSlots(ix.map((i) => grads[i]!), K, () => grads[ix[0]!]!), outputs: [partials],
      uniforms: [total, ...slots], workgroups: grid1d(invocations, 64),
    });
  }
  const norm = sumFinish(op, partials, T, 1, [1], true);
  partials.dispose();
  return norm;
}

/**
 * Scales all gradients in place by min(1, maxNorm / (norm + 1e-6)), norm = the global L2 norm of
 * every grad (gradNorm), computed on the GPU (no readback), up to slotsPerDispatch(1, 1) tensors per
 * dispatch. Returns the norm (before clipping) as a [1] tensor. (A training step can instead give the
 * norm to AdamW.step's clip, which scales on the way in: no pass over the gradients of its own.)
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): Tensor {
  const op = 'clipGradNorm';
  num(op, 'maxNorm', maxNorm, (x) => x > 0, 'a number > 0');
  const { items, grads } = gradsOf(op, params);
  const norm = normOf(op, items, grads);
  const K = slotsPerDispatch(1, 1);
  const dummies = slotDummies(K);
  for (const group of slotGroups(items, K)) {
    const ix = group.items.map((it) => it.index);
    const { slots, total, invocations } = slotUniforms(group, K);
    getEngine().run({
      name: 'clip_grad', shader: 'optim_clip',
      defines: {
        SLOTS: K, VEC4: group.vec4,
        SLOTS_BODY: slotChain(K, (k) => `for (var j = j0; j < s.size.x; j += s.size.y) { g${k}[j] = g${k}[j] * c; }`),
        BINDINGS: slotBindings([['norm', 'array<f32>']], Array.from({ length: K }, (_, k) => [`g${k}`, 'array<V>'])),
      },
      inputs: [norm], outputs: padSlots(ix.map((i) => grads[i]!), K, (k) => dummies[k]!),
      uniforms: [vec4f(maxNorm, 0, 0, 0), total, ...slots], workgroups: grid1d(invocations, 64),
    });
  }
  dummies.forEach((d) => d.dispose());
  return norm;
}
