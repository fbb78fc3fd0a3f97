// One serialisable training state: what a run is made of.
//
//   models      every module of the run by key ("student", "head", "proj"), each with its registry
//               name + config, its parameters and buffers;
//   optimizers  AdamW / SGD state keyed by parameter NAME ("student.conv32_1.conv1.conv.weight"), not
//               index, so a phase that freezes or unfreezes parts can still restore what it has;
//   rng         the state of the run's random generator (augmentation draws);
//   cursor      data position: epoch, position in the epoch, shuffle seed;
//   step, phase and any small JSON extras (best validation score, ...).
//
// snapshot() reads everything back in one submit and encodes one safetensors file: tensors
// "model/<key>/<param>", "optim/<opt>/<param>/<slot>", metadata "lrfr-state" (JSON). restore()
// validates the whole file against this state first (one error listing every problem; nothing is
// changed on error), then uploads. File I/O is the caller's (src/node/checkpoint.ts in Node): this
// file runs in a browser too.
import { Tensor, Rng } from '../runtime/index.js';
import type { Module } from '../nn/module.js';
import type { ModelName } from '../nn/registry.js';
import { encodeSafetensors, decodeSafetensors, readTensors, type NamedArray } from '../nn/safetensors.js';
import { AdamW, SGD } from './optim.js';
import { getEngine } from '../runtime/engine.js';
import { fmtShape } from '../runtime/tensor.js';

export const STATE_FORMAT = 'lrfr-training-state/1';

export interface DataCursor {
  epoch: number;
  /** Samples of this epoch already consumed. */
  position: number;
  /** The epoch order is a shuffle seeded by (shuffleSeed, epoch). */
  shuffleSeed: number;
}

export interface StateModel { name: ModelName; config: unknown; module: Module }

export interface StateOptimizer {
  opt: AdamW | SGD;
  /** The name of each of opt.params, in order (model key + '.' + parameter name). */
  names: string[];
}

export interface StateMeta {
  format: string;
  step: number;
  phase: string;
  cursor: DataCursor;
  rng: { s: number; spare: number | null };
  models: Record<string, { name: ModelName; config: unknown }>;
  optimizers: Record<string, { kind: 'adamw' | 'sgd'; lr: number; steps: Record<string, number> }>;
  extra: Record<string, unknown>;
}

export class TrainingState {
  step = 0;
  phase = '';
  cursor: DataCursor;
  extra: Record<string, unknown> = {};

  constructor(
    readonly models: Record<string, StateModel>,
    readonly optimizers: Record<string, StateOptimizer>,
    readonly rng: Rng,
    shuffleSeed: number,
  ) {
    this.cursor = { epoch: 0, position: 0, shuffleSeed };
    for (const [k, o] of Object.entries(optimizers)) {
      if (o.names.length !== o.opt.params.length) throw new Error(`TrainingState: optimizer ${k} has ${o.opt.params.length} params but ${o.names.length} names`);
      if (new Set(o.names).size !== o.names.length) throw new Error(`TrainingState: optimizer ${k} names a parameter twice`);
    }
  }

  /** The names of a model's parameters as optimizers key them ("<key>.<param>"). */
  static paramNames(key: string, m: Module, filter: (name: string) => boolean = () => true): { names: string[]; params: Tensor[] } {
    const ps = m.namedParameters().filter(([n]) => filter(n));
    return { names: ps.map(([n]) => `${key}.${n}`), params: ps.map(([, t]) => t) };
  }

  private tensorsToSave(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, m] of Object.entries(this.models)) for (const [n, t] of m.module.stateDict()) out.push([`model/${k}/${n}`, t]);
    for (const [k, o] of Object.entries(this.optimizers)) {
      const st = o.opt.state();
      for (const [sk, t] of Object.entries(st)) {
        const dot = sk.indexOf('.');
        const idx = Number(sk.slice(0, dot));
        out.push([`optim/${k}/${o.names[idx]!}/${sk.slice(dot + 1)}`, t]);
      }
    }
    return out;
  }

  meta(): StateMeta {
    const optimizers: StateMeta['optimizers'] = {};
    for (const [k, o] of Object.entries(this.optimizers)) {
      const steps: Record<string, number> = {};
      o.names.forEach((n, i) => (steps[n] = o.opt.steps[i]!));
      optimizers[k] = { kind: o.opt instanceof AdamW ? 'adamw' : 'sgd', lr: o.opt.lr, steps };
    }
    const models: StateMeta['models'] = {};
    for (const [k, m] of Object.entries(this.models)) models[k] = { name: m.name, config: m.config };
    return {
      format: STATE_FORMAT, step: this.step, phase: this.phase, cursor: { ...this.cursor }, rng: this.rng.getState(),
      models, optimizers, extra: structuredClone(this.extra),
    };
  }

  /** Every tensor and counter of the run as safetensors bytes (one GPU readback). */
  async snapshot(extraMetadata: Record<string, string> = {}): Promise<Uint8Array> {
    const items = this.tensorsToSave();
    const datas = await readTensors(items.map(([, t]) => t));
    const tensors = new Map<string, NamedArray>();
    items.forEach(([n, t], i) => tensors.set(n, { shape: [...t.shape], data: datas[i]! }));
    return encodeSafetensors(tensors, { ...extraMetadata, 'lrfr-state': JSON.stringify(this.meta()) });
  }

  /**
   * Restores a snapshot. Every model tensor and every optimizer slot of THIS state must be in the
   * file with its shape; optimizer entries of parameters this state does not train are ignored (a
   * phase may freeze them), and parameters the file has no optimizer state for start fresh only if
   * `allowNewParams` (otherwise that is an error). Nothing is changed unless everything checks out.
   */
  restore(bytes: Uint8Array, opts: { what?: string; allowNewParams?: boolean } = {}): StateMeta {
    const what = opts.what ?? 'checkpoint';
    let dec;
    try {
      dec = decodeSafetensors(bytes);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
    }
    const raw = dec.metadata['lrfr-state'];
    if (!raw) throw new Error(`${what}: not a training state (no "lrfr-state" metadata)`);
    let meta: StateMeta;
    try {
      meta = JSON.parse(raw) as StateMeta;
    } catch {
      throw new Error(`${what}: the "lrfr-state" metadata is not valid JSON`);
    }
    if (meta.format !== STATE_FORMAT) throw new Error(`${what}: format "${String(meta.format)}", expected "${STATE_FORMAT}"`);
    const problems: string[] = [];
    for (const [k, m] of Object.entries(this.models)) {
      const fm = meta.models?.[k];
      if (!fm) { problems.push(`model "${k}" is not in the file`); continue; }
      if (fm.name !== m.name) problems.push(`model "${k}" is ${fm.name} in the file, ${m.name} here`);
      else if (JSON.stringify(fm.config) !== JSON.stringify(m.config)) problems.push(`model "${k}" (${m.name}) config differs: file ${JSON.stringify(fm.config)}, here ${JSON.stringify(m.config)}`);
    }
    const uploads: [Tensor, Float32Array][] = [];
    const check = (name: string, t: Tensor, required: boolean): boolean => {
      const f = dec.tensors.get(name);
      if (!f) { if (required) problems.push(`${name}: missing (expected ${fmtShape(t.shape)})`); return false; }
      if (f.shape.length !== t.shape.length || f.shape.some((d, i) => d !== t.shape[i])) { problems.push(`${name}: file has ${fmtShape(f.shape)}, expected ${fmtShape(t.shape)}`); return false; }
      uploads.push([t, f.data]);
      return true;
    };
    for (const [k, m] of Object.entries(this.models)) for (const [n, t] of m.module.stateDict()) check(`model/${k}/${n}`, t, true);
    const optSteps: [AdamW | SGD, number, number][] = [];
    for (const [k, o] of Object.entries(this.optimizers)) {
      const fo = meta.optimizers?.[k];
      if (!fo) { problems.push(`optimizer "${k}" is not in the file`); continue; }
      const kind = o.opt instanceof AdamW ? 'adamw' : 'sgd';
      if (fo.kind !== kind) { problems.push(`optimizer "${k}" is ${fo.kind} in the file, ${kind} here`); continue; }
      const st = o.opt.state();
      o.names.forEach((n, i) => {
        const has = n in (fo.steps ?? {});
        if (!has && !opts.allowNewParams) problems.push(`optimizer "${k}": no state for parameter ${n}`);
        for (const [sk, t] of Object.entries(st)) {
          const dot = sk.indexOf('.');
          if (Number(sk.slice(0, dot)) !== i) continue;
          check(`optim/${k}/${n}/${sk.slice(dot + 1)}`, t, has);
        }
        optSteps.push([o.opt, i, has ? fo.steps[n]! : 0]);
      });
    }
    if (problems.length) throw new Error(`${what}: cannot restore the training state: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
    const e = getEngine();
    for (const [t, d] of uploads) e.upload(t.buffer, d);
    for (const [opt, i, s] of optSteps) opt.steps[i] = s;
    for (const [k, o] of Object.entries(this.optimizers)) o.opt.lr = meta.optimizers[k]!.lr;
    this.step = meta.step;
    this.phase = meta.phase;
    this.cursor = { ...meta.cursor };
    this.rng.setState(meta.rng);
    this.extra = meta.extra ?? {};
    return meta;
  }
}
