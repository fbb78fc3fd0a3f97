// Tensor: float32, contiguous, row-major (NCHW for images). Data lives in a pooled GPU buffer;
// reading it back is async only. Lifetime is explicit: dispose(), or tidy() scopes (scope.ts).
import { getEngine } from './engine.js';
import type { GradNode } from './autograd.js';
import { keep, trackTensor, untrackTensor } from './scope.js';

export type Shape = readonly number[];

let nextId = 1;

/** A pooled GPU buffer shared by a tensor and its views; back to the pool when refs reaches 0. */
interface Storage {
  buffer: GPUBuffer;
  refs: number;
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function checkShape(shape: Shape, what = 'tensor'): void {
  if (!Array.isArray(shape)) throw new Error(`${what}: shape must be an array of integers, got ${String(shape)}`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what}: invalid shape ${fmtShape(shape)} (dimensions must be integers >= 0)`);
  }
}

const live = new Set<Tensor>();

/**
 * owner.derived(key, make) where keep, else make(): the tensor, and release(), which disposes it
 * unless it is kept with owner. For ops that keep a weight's transforms in inference and make them
 * afresh otherwise.
 */
export function derivedIf(keep: boolean, owner: Tensor, key: string, make: () => Tensor): { t: Tensor; release: () => void } {
  if (keep) return { t: owner.derived(key, make), release: () => {} };
  const t = make();
  return { t, release: () => t.dispose() };
}

/** Tensors not yet disposed (for leak checks). */
export function liveTensors(): Tensor[] {
  return [...live];
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly size: number;
  private storage: Storage | null;
  /** Whether gradients flow to (leaf) or through (interior) this tensor. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf after backward(). */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when recorded for autograd. */
  node: GradNode | null = null;
  /** Kept tensors are not disposed by tidy(). */
  kept = false;
  /** Optional label (parameter name) for errors and checkpoints. */
  name?: string;
  /** Tensors computed from this one and kept with it (derived()), by key. */
  private derivedCache: Map<string, { writes: number[]; deps: readonly Tensor[]; t: Tensor }> | null = null;

  /** A new tensor with a fresh pooled buffer, or a view sharing `storage` (reshape). */
  constructor(shape: Shape, storage?: Storage) {
    checkShape(shape);
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    if (storage) {
      storage.refs++;
      this.storage = storage;
    } else {
      this.storage = { buffer: getEngine().pool.acquire(this.size * 4), refs: 1 };
    }
    live.add(this);
    trackTensor(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  /** Whether another live tensor (a view: reshape) shares this tensor's buffer. */
  get aliased(): boolean {
    return this.storage !== null && this.storage.refs > 1;
  }

  get buffer(): GPUBuffer {
    if (this.disposed) throw new Error(`tensor #${this.id}${this.name ? ` (${this.name})` : ''} ${fmtShape(this.shape)} is disposed`);
    return this.storage!.buffer;
  }

  /** Asserts the tensor is alive, naming the op that wanted it. */
  check(op: string, arg = 'input'): this {
    if (this.disposed) throw new Error(`${op}: ${arg} tensor #${this.id} ${fmtShape(this.shape)} is disposed`);
    return this;
  }

  dispose(): void {
    if (this.storage === null) return;
    if (--this.storage.refs === 0) getEngine().pool.release(this.storage.buffer);
    this.storage = null;
    live.delete(this);
    this.node = null;
    untrackTensor(this);
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
    if (this.derivedCache) {
      for (const { t } of this.derivedCache.values()) t.dispose();
      this.derivedCache = null;
    }
  }

  /**
   * A tensor that make() computes from this one (and from deps), kept with it and handed out again
   * while neither this tensor's buffer nor a dep's has had a write since (Engine.writeCount: dispatch
   * outputs, clears, copies, uploads) and the deps are the same tensors: an inference conv's
   * transformed weights, or a weight-normalised kernel, computed once instead of on every forward.
   * After a write (loaded weights, an optimizer step) make() runs again and the old one is disposed;
   * all are disposed with this tensor. The result belongs to this tensor: read it, do not write or
   * dispose it.
   */
  derived(key: string, make: () => Tensor, deps: readonly Tensor[] = []): Tensor {
    const engine = getEngine();
    // Under collectPipelines nothing runs: what make() returned would be kept holding garbage.
    if (engine.collectingPipelines) throw new Error(`tensor #${this.id}: derived("${key}") while collecting pipelines (nothing is computed then)`);
    const writes = [this, ...deps].map((t) => engine.writeCount(t.buffer));
    const hit = this.derivedCache?.get(key);
    if (hit && !hit.t.disposed && hit.deps.length === deps.length && hit.deps.every((d, i) => d === deps[i]) &&
      hit.writes.every((w, i) => w === writes[i])) return hit.t;
    hit?.t.dispose();
    const t = keep(make());
    (this.derivedCache ??= new Map()).set(key, { writes, deps: [...deps], t });
    return t;
  }

  /** Reads the data back to the CPU (flushes recorded work; one await). */
  async data(): Promise<Float32Array> {
    const buf = this.buffer;
    if (this.size === 0) return new Float32Array(0);
    return new Float32Array(await getEngine().read(buf, this.size * 4));
  }

  /** Reads a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): tensor ${fmtShape(this.shape)} has ${this.size} elements, not 1`);
    return (await this.data())[0]!;
  }

  /** A tensor of another shape sharing this buffer (no copy; no grad tracking of its own). */
  viewAs(shape: Shape): Tensor {
    checkShape(shape, 'reshape');
    if (shapeSize(shape) !== this.size) throw new Error(`reshape: cannot view ${fmtShape(this.shape)} (${this.size} elements) as ${fmtShape(shape)}`);
    this.check('reshape');
    return new Tensor(shape, this.storage!);
  }

  toString(): string {
    return `Tensor#${this.id}${fmtShape(this.shape)}${this.requiresGrad ? ' requiresGrad' : ''}`;
  }
}

/** Uploads CPU data as a new tensor. */
export function tensor(data: ArrayLike<number>, shape?: Shape): Tensor {
  const s = shape ?? [data.length];
  checkShape(s, 'tensor');
  if (shapeSize(s) !== data.length) throw new Error(`tensor: ${data.length} values do not fill shape ${fmtShape(s)} (${shapeSize(s)} elements)`);
  const t = new Tensor(s);
  if (data.length) getEngine().upload(t.buffer, data instanceof Float32Array ? data : Float32Array.from(data));
  return t;
}

/** An uninitialised tensor (its contents are whatever the pooled buffer held). */
export function empty(shape: Shape): Tensor {
  return new Tensor(shape);
}
