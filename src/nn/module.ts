// Module: a tree of named parameters (trainable, kept, requiresGrad), buffers (running statistics)
// and child modules, with train/eval mode. Names are dotted paths ("stages.0.blocks.1.dw.weight"),
// the keys of checkpoints.
import { Tensor, keep, fmtShape } from '../runtime/index.js';

export abstract class Module {
  training = true;
  private readonly _params = new Map<string, Tensor>();
  private readonly _buffers = new Map<string, Tensor>();
  private readonly _children = new Map<string, Module>();

  /** Registers a trainable parameter (kept: tidy() never frees it; requiresGrad). */
  protected param(name: string, t: Tensor): Tensor {
    if (this._params.has(name)) throw new Error(`${this.constructor.name}: parameter "${name}" registered twice`);
    keep(t);
    t.requiresGrad = true;
    t.name = name;
    this._params.set(name, t);
    return t;
  }

  /** Registers a non-trainable state tensor (e.g. BatchNorm running mean). */
  protected buffer(name: string, t: Tensor): Tensor {
    keep(t);
    t.name = name;
    this._buffers.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this._children.set(name, m);
    return m;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of this._params) out.push([prefix + k, v]);
    for (const [k, c] of this._children) out.push(...c.namedParameters(`${prefix}${k}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of this._buffers) out.push([prefix + k, v]);
    for (const [k, c] of this._children) out.push(...c.namedBuffers(`${prefix}${k}.`));
    return out;
  }

  /** Parameters and buffers by dotted name (what a checkpoint stores). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  numParameters(): number {
    return this.parameters().reduce((a, t) => a + t.size, 0);
  }

  train(on = true): this {
    this.training = on;
    for (const c of this._children.values()) c.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Frees this module's parameters and buffers, then each child's (through its own dispose()). */
  dispose(): void {
    for (const t of this._params.values()) t.dispose();
    for (const t of this._buffers.values()) t.dispose();
    for (const c of this._children.values()) c.dispose();
  }

  protected expectRank(op: string, x: Tensor, rank: number, what: string): void {
    if (x.rank !== rank) throw new Error(`${op}: expected ${what} (rank ${rank}), got ${fmtShape(x.shape)}`);
  }
}

/** Applies modules in order. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: (Module & { forward(x: Tensor): Tensor })[]) {
    super();
    this.layers = layers.map((l, i) => this.child(String(i), l));
  }
  forward(x: Tensor): Tensor {
    for (const l of this.layers) x = (l as unknown as { forward(x: Tensor): Tensor }).forward(x);
    return x;
  }
}
