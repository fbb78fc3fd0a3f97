// Autotuner: picks a kernel variant (a set of tuning knobs) per adapter and shape class, by timing
// every registered variant on a representative workload. Results live in an injectable store keyed
// `${adapterSummary().key}|${name}|${shapeClass}` (in memory by default; src/node/tune-cache.ts
// keeps a JSON file; a browser could wrap localStorage). A manual override always wins.
// A variant is only ever chosen if its output matches the default variant's (variants[0]).
// Browser-safe: no Node API here.
import { adapterSummary } from './device.js';
import { getEngine } from './engine.js';
import { tidy } from './scope.js';
import type { Tensor } from './tensor.js';
import { rand } from './random.js';
import { matmul, matmulTuning, type MatmulTuning } from './ops/matmul.js';
import { conv2d, convVariants } from './ops/conv.js';

export interface Variant {
  id: string;
  /** Sets the knobs of this variant (global op tuning objects). */
  apply(): void;
}

/** One representative op: run() records it once and returns its output (the tuner disposes it). */
export interface Workload {
  run(): Tensor;
  /** Frees the inputs. */
  dispose(): void;
  /** Ops recorded per timed rep (one sync per rep); default 2. */
  inner?: number;
}

export interface Tunable {
  name: string;
  /** variants[0] is the default: the reference output, and what applyTuned falls back to. */
  variants: Variant[];
  /** Shape classes `lrfr tune` runs by default. */
  shapeClasses: string[];
  workload(shapeClass: string): Workload;
}

export interface TuneStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  /** Optional: every cached entry (for `lrfr tune --list`). */
  entries?(): [string, string][];
}

export interface TuneResult {
  winner: string;
  /** ms per op for every variant; NaN for a variant whose output was wrong (or that threw). */
  timings: Record<string, number>;
  /** Variants rejected, with why. */
  rejected: Record<string, string>;
}

export class MemoryTuneStore implements TuneStore {
  private m = new Map<string, string>();
  get(key: string) { return this.m.get(key); }
  set(key: string, value: string) { this.m.set(key, value); }
  entries(): [string, string][] { return [...this.m]; }
}

const registry = new Map<string, Tunable>();
const overrides = new Map<string, string>();
let store: TuneStore = new MemoryTuneStore();

export function registerTunable(t: Tunable): void {
  if (t.variants.length === 0) throw new Error(`autotune: tunable "${t.name}" has no variants`);
  const ids = new Set(t.variants.map((v) => v.id));
  if (ids.size !== t.variants.length) throw new Error(`autotune: tunable "${t.name}" has duplicate variant ids`);
  registry.set(t.name, t);
}

export function getTunable(name: string): Tunable {
  const t = registry.get(name);
  if (!t) throw new Error(`autotune: no tunable "${name}" (registered: ${[...registry.keys()].join(', ')})`);
  return t;
}

export function tunables(): Tunable[] {
  return [...registry.values()];
}

export function setTuneStore(s: TuneStore): void {
  store = s;
}

export function getTuneStore(): TuneStore {
  return store;
}

export function cacheKey(name: string, shapeClass: string): string {
  return `${adapterSummary().key}|${name}|${shapeClass}`;
}

/** Forces a variant for a tunable (every shape class); null clears it. Wins over the cache. */
export function setOverride(name: string, variantId: string | null): void {
  if (variantId === null) {
    overrides.delete(name);
    return;
  }
  const t = getTunable(name);
  if (!t.variants.some((v) => v.id === variantId)) {
    throw new Error(`autotune: "${name}" has no variant "${variantId}" (variants: ${t.variants.map((v) => v.id).join(', ')})`);
  }
  overrides.set(name, variantId);
}

export function getOverride(name: string): string | undefined {
  return overrides.get(name);
}

/** Parses "name=id[,name=id...]" (the --variant flag / LRFR_VARIANT) into overrides. */
export function parseVariantSpec(spec: string): void {
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`autotune: bad variant spec "${part}" (expected name=id)`);
    setOverride(part.slice(0, eq), part.slice(eq + 1));
  }
}

/** The variant applyTuned would pick: the override, else the cached winner, else undefined. */
export function tunedChoice(name: string, shapeClass: string): string | undefined {
  const t = getTunable(name);
  const o = overrides.get(name);
  if (o) return o;
  const c = store.get(cacheKey(name, shapeClass));
  return c && t.variants.some((v) => v.id === c) ? c : undefined;
}

/** Applies the override or the cached winner for (name, shapeClass); returns its id, or null if none. */
export function applyTuned(name: string, shapeClass: string): string | null {
  const id = tunedChoice(name, shapeClass);
  if (id === undefined) return null;
  getTunable(name).variants.find((v) => v.id === id)!.apply();
  return id;
}

/** Output agreement: max |a - b| <= rtol * max |ref| (relative to the output's scale), no NaN. */
function mismatch(ref: Float32Array, out: Float32Array, rtol: number): string | null {
  if (ref.length !== out.length) return `output size ${out.length}, expected ${ref.length}`;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) scale = Math.max(scale, Math.abs(ref[i]!));
  const tol = rtol * Math.max(scale, 1e-30);
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(out[i]! - ref[i]!);
    if (!(d <= tol) && !(Number.isNaN(out[i]!) && Number.isNaN(ref[i]!))) {
      return `element ${i}: ${out[i]} vs ${ref[i]} (tolerance ${tol.toExponential(2)})`;
    }
  }
  return null;
}

async function runOnce(w: Workload): Promise<Float32Array> {
  const out = w.run();
  try {
    return await out.data();
  } finally {
    out.dispose();
  }
}

/**
 * Times every variant of `name` on its workload for `shapeClass` and caches the fastest correct one.
 * Per variant: apply, one untimed run (pipeline compile; output checked against variants[0]'s within
 * `rtol`), then `reps` timed reps of `inner` recorded ops and one sync each; the best rep counts.
 * Leaves the winner applied (or the override, when one is set).
 */
export async function tune(name: string, shapeClass: string, opts: { reps?: number; inner?: number; rtol?: number } = {}): Promise<TuneResult> {
  const t = getTunable(name);
  const reps = Math.max(1, opts.reps ?? 3);
  const rtol = opts.rtol ?? 1e-4;
  const eng = getEngine();
  const poll = eng.pollStrategy;
  // The sleep-then-await estimate is keyed by dispatch count, so it would carry one variant's time
  // into the next one's measurement.
  eng.pollStrategy = 'await';
  const w = t.workload(shapeClass);
  const inner = Math.max(1, opts.inner ?? w.inner ?? 2);
  const timings: Record<string, number> = {};
  const rejected: Record<string, string> = {};
  let ref: Float32Array | null = null;
  try {
    for (const v of t.variants) {
      try {
        v.apply();
        const out = await runOnce(w);
        if (ref === null) ref = out;
        else {
          const bad = mismatch(ref, out, rtol);
          if (bad) throw new Error(`wrong output: ${bad}`);
        }
        let best = Infinity;
        for (let r = 0; r < reps; r++) {
          await eng.sync();
          const t0 = performance.now();
          tidy(() => {
            for (let i = 0; i < inner; i++) w.run();
          });
          await eng.sync();
          best = Math.min(best, (performance.now() - t0) / inner);
        }
        timings[v.id] = best;
      } catch (e) {
        if (ref === null) throw new Error(`autotune ${name}/${shapeClass}: the default variant "${v.id}" failed: ${(e as Error).message}`);
        timings[v.id] = NaN;
        rejected[v.id] = (e as Error).message.split('\n')[0]!;
      }
    }
  } finally {
    w.dispose();
    eng.pollStrategy = poll;
  }
  let winner = t.variants[0]!.id;
  for (const v of t.variants) if (timings[v.id]! < timings[winner]!) winner = v.id;
  store.set(cacheKey(name, shapeClass), winner);
  const applied = overrides.get(name) ?? winner;
  t.variants.find((v) => v.id === applied)!.apply();
  return { winner, timings, rejected };
}

// ---- built-in tunables ----

const matmulBase: MatmulTuning = { ...matmulTuning, transB: { ...matmulTuning.transB } };

function matmulVariant(id: string, knobs: Partial<MatmulTuning>): Variant {
  return {
    id,
    apply() {
      Object.assign(matmulTuning, matmulBase, { transB: { ...matmulBase.transB } }, knobs);
    },
  };
}

/** Matmul shape classes: [M, K, N, transB] (transB: nn.Linear's x · Wᵀ). */
export const MATMUL_SHAPES: Record<string, [number, number, number, boolean]> = {
  'square-128': [128, 128, 128, false],
  'square-512': [512, 512, 512, false],
  'square-1024': [1024, 1024, 1024, false],
  'linear-small': [64, 512, 512, true],
  'linear-large': [512, 2048, 512, true],
};

registerTunable({
  name: 'matmul',
  variants: [
    matmulVariant('default', {}),
    matmulVariant('8x8', { tm: 8, tnv: 2, transB: { tm: 8, tnv: 2 } }),
    matmulVariant('4x4', { tm: 4, tnv: 1, transB: { tm: 4, tnv: 1 } }),
    matmulVariant('16x16', { tm: 16, tnv: 4, transB: { tm: 16, tnv: 4 } }),
    matmulVariant('kvec', { kvec: true }),
    matmulVariant('tiled', { tiled: true }),
  ],
  shapeClasses: ['square-1024', 'linear-small'],
  workload(shapeClass) {
    const s = MATMUL_SHAPES[shapeClass];
    if (!s) throw new Error(`autotune matmul: unknown shape class "${shapeClass}" (known: ${Object.keys(MATMUL_SHAPES).join(', ')})`);
    const [M, K, N, transB] = s;
    const a = rand([M, K], 1, -1, 1);
    const b = rand(transB ? [N, K] : [K, N], 2, -1, 1);
    return {
      run: () => matmul(a, b, { transB }),
      dispose: () => { a.dispose(); b.dispose(); },
      inner: M * K * N >= 2 ** 28 ? 2 : 8,
    };
  },
});

const convBase = { ...convVariants };

function convVariant(id: string, knobs: Partial<typeof convVariants>): Variant {
  return { id, apply() { Object.assign(convVariants, convBase, knobs); } };
}

/** Depthwise shape classes: [N, C, H, W, k]. */
export const DEPTHWISE_SHAPES: Record<string, [number, number, number, number, number]> = {
  'dw3-small': [1, 32, 28, 28, 3],
  'dw3-56': [4, 64, 56, 56, 3],
  'dw7-28': [4, 128, 28, 28, 7],
};

registerTunable({
  name: 'depthwise',
  variants: [
    convVariant('default', {}),
    convVariant('rows1', { dwRows: 1, dwRowsSmall: 1 }),
    convVariant('seg8', { dwSeg: 8 }),
    convVariant('uniformC', { dwSegUniformC: true }),
    convVariant('generic', { dwFast: false }),
  ],
  shapeClasses: ['dw3-56', 'dw7-28'],
  workload(shapeClass) {
    const s = DEPTHWISE_SHAPES[shapeClass];
    if (!s) throw new Error(`autotune depthwise: unknown shape class "${shapeClass}" (known: ${Object.keys(DEPTHWISE_SHAPES).join(', ')})`);
    const [N, C, H, W, k] = s;
    const x = rand([N, C, H, W], 3, -1, 1);
    const wt = rand([C, 1, k, k], 4, -1, 1);
    const p = (k - 1) / 2;
    return {
      run: () => conv2d(x, wt, null, { padding: p, groups: C }),
      dispose: () => { x.dispose(); wt.dispose(); },
      inner: 4,
    };
  },
});
