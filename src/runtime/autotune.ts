// Autotuner: picks a kernel variant (a set of knob values) per adapter and shape class.
//
// A tunable is one kernel family ("matmul", "conv", "depthwise", ...) with a live knob object the
// kernels read (matmulTuning, convVariants) and a list of variants, each a few knob values over it.
// Ops call `withVariant(name, shapeClass, fn)` around their dispatches: the knobs of the chosen
// variant are set for the duration of fn and restored after (recording is synchronous, so nothing
// else runs in between). The choice is, in order: the variant being timed by tune(), a manual
// override (setOverride / LRFR_VARIANT), the cached winner for (adapter, name, shapeClass), else the
// default knobs.
//
// First use: `await autotune(fn)` runs fn once (a forward, a training step), collects the shape
// classes whose choice is not cached yet, times every variant of each (tune) and caches the fastest
// correct one. Where an op passes its own sizes (withVariant's sample: the matmuls), a class is timed
// on the first such op's problem, not on the class's representative sizes. The cache is an
// injectable store keyed `${adapterSummary().key}|${name}|${shapeClass}` (in memory by default;
// src/node/tune-cache.ts keeps a JSON file; LocalStorageTuneStore for pages).
// A variant is only ever chosen if its output matches the default variant's (variants[0]).
// Each cached (and shipped) choice is stored as `id@signature`, the signature a hash of the tunable's
// default knobs and variants when it was measured: once either changes (a new default kernel, a
// variant's knobs retuned), the old choice, measured against another default, no longer applies.
// Browser-safe: no Node API here. The built-in tunables are registered in ./tunables.ts.
import { adapterSummary } from './device.js';
import { getEngine, type PipelineSpec } from './engine.js';
import { tidy } from './scope.js';
import type { Tensor } from './tensor.js';
import { TUNED_DEFAULTS } from './tuned-defaults.js';

export interface Variant {
  id: string;
  /** Knob values set over the tunable's target while the variant runs ({} for the default). */
  knobs: Record<string, unknown>;
  /** Whether the variant can run differently from the default on this device (e.g. kernels that need
   *  8-lane subgroups); where false, tune() skips it and lists it as rejected. Default: always. */
  when?: () => boolean;
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
  /** The live knob object the kernels read; every variant's knobs must be keys of it. */
  target: object;
  /** variants[0] is the default: the reference output. */
  variants: Variant[];
  /** Shape classes `lrfr tune` runs by default. */
  shapeClasses: string[];
  /**
   * A workload for a shape class (the class string encodes the sizes; see ./tunables.ts). sample:
   * the sizes of a real op of that class that autotune(fn) met (what the op passed withVariant), so
   * the tuner times the problem the step really runs rather than the class's representative
   * (bucketed, capped) sizes; undefined under `lrfr tune --shape` and for tunables that pass none.
   */
  workload(shapeClass: string, sample?: unknown): Workload;
}

export interface TuneStore {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  /** Optional: every cached entry (for `lrfr tune --list`). */
  entries?(): [string, string][];
}

export interface TuneResult {
  name: string;
  shapeClass: string;
  winner: string;
  /** ms per op for every variant; NaN for a variant whose output was wrong (or that threw). */
  timings: Record<string, number>;
  /** Variants rejected, with why. */
  rejected: Record<string, string>;
  /** The real op's sizes it was timed on (withVariant's sample), where autotune(fn) met one. */
  sample?: unknown;
}

export class MemoryTuneStore implements TuneStore {
  private m = new Map<string, string>();
  get(key: string) { return this.m.get(key); }
  set(key: string, value: string) { this.m.set(key, value); }
  entries(): [string, string][] { return [...this.m]; }
}

/**
 * A store over one JSON object {key: variantId}, written back whole by persist() on every set (a
 * file in Node: src/node/tune-cache.ts; localStorage in a page). Unreadable input starts it empty.
 */
export abstract class JsonTuneStore implements TuneStore {
  private data: Record<string, string> = {};
  /** Loads the entries of a JSON text (string values only). */
  protected load(json: string | null | undefined): void {
    try {
      const parsed: unknown = JSON.parse(json ?? '{}');
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') this.data[k] = v;
      }
    } catch {
      // unreadable: start empty
    }
  }
  protected abstract persist(json: string): void;
  get(key: string): string | undefined {
    return Object.prototype.hasOwnProperty.call(this.data, key) ? this.data[key] : undefined;
  }
  set(key: string, value: string): void {
    this.data[key] = value;
    this.persist(JSON.stringify(this.data, null, 2) + '\n');
  }
  entries(): [string, string][] {
    return Object.entries(this.data);
  }
}

/** A store in the page's localStorage (one JSON object under `key`); memory-only where there is none. */
export class LocalStorageTuneStore extends JsonTuneStore {
  private ls: Storage | null;
  constructor(private readonly key = 'lrfr-autotune') {
    super();
    this.ls = (globalThis as { localStorage?: Storage }).localStorage ?? null;
    try {
      this.load(this.ls?.getItem(key));
    } catch {
      // storage not readable (privacy settings): start empty
    }
  }
  protected persist(json: string): void {
    try { this.ls?.setItem(this.key, json); } catch { /* quota: keep in memory */ }
  }
}

const registry = new Map<string, Tunable>();
const overrides = new Map<string, string>();
/** The variant tune() is timing, per tunable. */
const forced = new Map<string, string>();
let store: TuneStore = new MemoryTuneStore();
/**
 * Shipped winners per adapter key, `name|shapeClass` → variant id (./tuned-defaults.ts, generated by
 * `lrfr tune --write-defaults`). Consulted after the cache: a cached choice (a local tune run) wins.
 */
let shippedDefaults: Record<string, Record<string, string>> = TUNED_DEFAULTS;
/** 'cached': ops apply overrides and cached winners; 'off': overrides only (the default knobs otherwise). */
let mode: 'cached' | 'off' = 'cached';
/** Set by autotune(): shape classes met with no cached choice, `name|shapeClass`, each with the sample of
 *  the first op of that class that passed one (withVariant). */
let collecting: Map<string, unknown> | null = null;
/** Set by validatePicks: the variant per `name|shapeClass` of the arm being timed (the store is not written per arm). */
let arm: Map<string, string> | null = null;
/** Memo of the cache lookups, cleared whenever the store, an override or the mode changes. */
const memo = new Map<string, Variant | null>();

/** Signature per tunable name (registerTunable): see tunableSignature. */
const signatures = new Map<string, string>();

/** 32-bit FNV-1a of a string, 8 hex digits. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * A tunable's signature: a hash of its target's knob values at registration (the default) and of
 * every variant's id and knobs. Cached and shipped choices carry it (`id@signature`) and apply only
 * while it is unchanged.
 */
export function tunableSignature(name: string): string {
  const s = signatures.get(name);
  if (s === undefined) throw new Error(`autotune: no tunable "${name}" (registered: ${[...registry.keys()].join(', ')})`);
  return s;
}

/** The stored form of a choice: `id@signature` (what the cache and the shipped table hold). */
export function stampChoice(name: string, id: string): string {
  return `${id}@${tunableSignature(name)}`;
}

/** The variant id of a stored choice if it was made under the tunable's current signature and names a live variant. */
export function liveChoice(name: string, stored: string | undefined): string | undefined {
  if (stored === undefined) return undefined;
  const at = stored.lastIndexOf('@');
  if (at < 0 || stored.slice(at + 1) !== signatures.get(name)) return undefined;
  const id = stored.slice(0, at);
  return registry.get(name)?.variants.some((v) => v.id === id) ? id : undefined;
}

export function registerTunable(t: Tunable): void {
  if (t.variants.length === 0) throw new Error(`autotune: tunable "${t.name}" has no variants`);
  const ids = new Set(t.variants.map((v) => v.id));
  if (ids.size !== t.variants.length) throw new Error(`autotune: tunable "${t.name}" has duplicate variant ids`);
  for (const v of t.variants) {
    for (const k of Object.keys(v.knobs)) {
      if (!(k in t.target)) throw new Error(`autotune: variant "${t.name}/${v.id}" sets unknown knob "${k}"`);
    }
  }
  registry.set(t.name, t);
  signatures.set(t.name, fnv1a(JSON.stringify([t.target, t.variants.map((v) => [v.id, v.knobs])])));
  memo.clear();
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
  memo.clear();
}

export function getTuneStore(): TuneStore {
  return store;
}

/** 'cached' (default): ops use overrides and cached winners. 'off': overrides only. */
export function setAutotuneMode(m: 'cached' | 'off'): void {
  mode = m;
  memo.clear();
}

export function cacheKey(name: string, shapeClass: string): string {
  return `${adapterSummary().key}|${name}|${shapeClass}`;
}

/** Forces a variant for a tunable (every shape class); null clears it. Wins over the cache. */
export function setOverride(name: string, variantId: string | null): void {
  memo.clear();
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

/** Replaces the shipped defaults table (tests; null restores the generated one). */
export function setShippedDefaults(table: Record<string, Record<string, string>> | null): void {
  shippedDefaults = table ?? TUNED_DEFAULTS;
  memo.clear();
}

/**
 * The shipped default for (name, shapeClass) on this adapter, if the table has one made under the
 * tunable's current signature for a live variant (else, e.g. a kernel changed since the table was
 * written, the default variant).
 */
export function shippedChoice(name: string, shapeClass: string): string | undefined {
  const table = shippedDefaults[adapterSummary().key];
  if (!registry.has(name) || !table || !Object.prototype.hasOwnProperty.call(table, `${name}|${shapeClass}`)) return undefined;
  return liveChoice(name, table[`${name}|${shapeClass}`]);
}

/**
 * The override, else the cached winner, else the shipped default for (name, shapeClass); undefined
 * when none applies (the default knobs).
 */
export function tunedChoice(name: string, shapeClass: string): string | undefined {
  getTunable(name); // throws for an unknown tunable
  return overrides.get(name) || cachedChoice(name, shapeClass) || shippedChoice(name, shapeClass);
}

/** The cached choice alone (no override, no shipped default): what autotune() has measured here. */
function cachedChoice(name: string, shapeClass: string): string | undefined {
  getTunable(name);
  return liveChoice(name, store.get(cacheKey(name, shapeClass)));
}

function choose(name: string, shapeClass: string, sample?: unknown): Variant | null {
  const f = forced.get(name);
  if (f !== undefined) return getTunable(name).variants.find((v) => v.id === f)!;
  const key = `${name}|${shapeClass}`;
  const a = arm?.get(key);
  if (a !== undefined) return getTunable(name).variants.find((v) => v.id === a)!;
  let v = memo.get(key);
  if (v === undefined) {
    const t = registry.get(name);
    if (!t) return null; // not registered (tunables.ts not imported): default knobs
    const id = mode === 'off' ? overrides.get(name) : tunedChoice(name, shapeClass);
    v = id === undefined ? null : t.variants.find((x) => x.id === id)!;
    if (collecting) {
      if (collecting.get(key) === undefined) collecting.set(key, sample);
    } else memo.set(key, v);
  }
  return v;
}

/**
 * Runs fn with the knobs of the chosen variant for (name, shapeClass) set on the tunable's target,
 * restoring them after. shapeClass null: not tunable (fn runs on the current knobs). sample: the op's
 * own sizes, in the form the tunable's workload() reads (autotune(fn) tunes the class on them).
 */
export function withVariant<T>(name: string, shapeClass: string | null, fn: () => T, sample?: unknown): T {
  if (shapeClass === null) return fn();
  const v = choose(name, shapeClass, sample);
  if (!v || Object.keys(v.knobs).length === 0) return fn();
  const target = getTunable(name).target as Record<string, unknown>;
  const saved: Record<string, unknown> = {};
  for (const k of Object.keys(v.knobs)) saved[k] = target[k];
  Object.assign(target, v.knobs);
  try {
    return fn();
  } finally {
    Object.assign(target, saved);
  }
}

/** The variant an op would use now for (name, shapeClass): 'default' when nothing is chosen. */
export function activeVariant(name: string, shapeClass: string): string {
  return choose(name, shapeClass)?.id ?? getTunable(name).variants[0]!.id;
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

export interface TuneOptions {
  reps?: number;
  inner?: number;
  rtol?: number;
  /** A variant other than the default wins only if it is faster by more than this fraction (0.05). */
  minGain?: number;
  /** Length of one timed rep (ms): ops per rep are calibrated to it (default 40, at least `inner`). */
  targetMs?: number;
}

/**
 * Times every variant of `name` on its workload for `shapeClass` and caches the fastest correct one.
 * Per variant: one untimed run (pipeline compile; output checked against variants[0]'s within
 * `rtol`) and one rep of `inner` ops that sizes its reps to `targetMs`; then one untimed and `reps`
 * timed rounds over the variants, each rep recording its ops with one sync; the best rep counts.
 */
export async function tune(name: string, shapeClass: string, opts: TuneOptions = {}, sample?: unknown): Promise<TuneResult> {
  const t = getTunable(name);
  const reps = Math.max(1, opts.reps ?? 3);
  const rtol = opts.rtol ?? 1e-4;
  const eng = getEngine();
  const w = t.workload(shapeClass, sample);
  const inner = Math.max(1, opts.inner ?? w.inner ?? 2);
  const targetMs = opts.targetMs ?? 40;
  const timings: Record<string, number> = {};
  const rejected: Record<string, string> = {};
  let ref: Float32Array | null = null;
  const rep = async (k: number) => {
    await eng.sync();
    const t0 = performance.now();
    tidy(() => {
      for (let i = 0; i < k; i++) w.run();
    });
    await eng.sync();
    return (performance.now() - t0) / k;
  };
  /** Ops per timed rep, per variant that passed the check. */
  const ks = new Map<string, number>();
  try {
    eng.resetWaitEstimates();
    // 1. Per variant: compile + output check, then one rep of `inner` ops that sizes its reps to
    //    ~targetMs (timer and wake-up jitter of ~1 ms must not decide between variants).
    for (const v of t.variants) {
      if (v.when && !v.when()) {
        timings[v.id] = NaN;
        rejected[v.id] = 'not available on this device';
        continue;
      }
      forced.set(name, v.id);
      eng.waitTag = `tune:${v.id}`;
      try {
        const out = await runOnce(w);
        if (ref === null) ref = out;
        else {
          const bad = mismatch(ref, out, rtol);
          if (bad) throw new Error(`wrong output: ${bad}`);
        }
        const perOp = await rep(inner);
        ks.set(v.id, Math.max(inner, Math.min(256, Math.ceil(targetMs / Math.max(perOp, 1e-3)))));
        timings[v.id] = Infinity;
      } catch (e) {
        if (ref === null) throw new Error(`autotune ${name}/${shapeClass}: the default variant "${v.id}" failed: ${(e as Error).message}`);
        timings[v.id] = NaN;
        rejected[v.id] = (e as Error).message.split('\n')[0]!;
      }
    }
    // 2. Rounds over the variants (A, B, C, A, B, C, ...: load drift and position hit all alike),
    //    timed as the ops run for real, with the engine's wait strategy (Node: sleep, then await; the
    //    estimates are kept per variant). Two untimed rounds first (they settle those estimates). Best rep counts.
    for (let r = -2; r < reps; r++) {
      for (const [id, k] of ks) {
        forced.set(name, id);
        eng.waitTag = `tune:${id}`;
        const ms = await rep(k);
        if (r >= 0) timings[id] = Math.min(timings[id]!, ms);
      }
    }
  } finally {
    forced.delete(name);
    w.dispose();
    eng.waitTag = '';
    eng.resetWaitEstimates();
  }
  // The fastest variant wins, but only if it beats the default by more than minGain (timing noise
  // must not flip the choice away from the default).
  const def = t.variants[0]!.id;
  let winner = def;
  for (const v of t.variants) if (timings[v.id]! < timings[winner]!) winner = v.id;
  if (winner !== def && !(timings[winner]! < timings[def]! * (1 - (opts.minGain ?? 0.05)))) winner = def;
  store.set(cacheKey(name, shapeClass), stampChoice(name, winner));
  memo.clear();
  return { name, shapeClass, winner, timings, rejected, ...(sample !== undefined ? { sample } : {}) };
}

/**
 * Compiles the pipelines of every variant autotune() is about to time, before timing starts (Node:
 * src/node/prime.ts, which spreads a cold compile over the cores: lavapipe compiles each pipeline at
 * its first dispatch, one at a time per queue). null: each compiles at its first run in tune().
 */
export const tunePrimer: { fn: ((specs: PipelineSpec[]) => Promise<unknown>) | null } = { fn: null };

/** The pipelines of every available variant's workload for these (tunable, shape class) pairs (nothing runs). */
function variantPipelines(pairs: readonly (readonly [string, string, unknown?])[]): PipelineSpec[] {
  const eng = getEngine();
  const specs: PipelineSpec[] = [];
  for (const [name, shapeClass, sample] of pairs) {
    const t = getTunable(name);
    const w = t.workload(shapeClass, sample);
    try {
      for (const v of t.variants) {
        if (v.when && !v.when()) continue;
        forced.set(name, v.id);
        try {
          specs.push(...eng.collectPipelines(() => tidy(() => void w.run())));
        } finally {
          forced.delete(name);
        }
      }
    } finally {
      w.dispose();
    }
  }
  return specs;
}

export interface AutotuneReport {
  /** What was timed now (classes without a cached choice). */
  tuned: TuneResult[];
  /** Every (tunable, shape class) fn used and the variant it uses from now on. */
  used: { name: string; shapeClass: string; variant: string }[];
  /** The end-to-end check of the picks tuned now (absent when nothing non-default was picked or validate: false). */
  validation?: ValidationResult;
}

export interface AutotuneOptions extends TuneOptions {
  log?: (r: TuneResult) => void;
  /**
   * Use the shipped defaults (./tuned-defaults.ts) as choices already made (default true). false:
   * tune every class without a cached choice (`lrfr tune --write-defaults` regenerating the table).
   */
  shipped?: boolean;
  /** Validate the picks made now end to end (validatePicks); default true. */
  validate?: boolean | ValidateOptions;
}

/**
 * Tuning on first use: runs fn once (inside tidy: what it returns is disposed), collects the
 * (tunable, shape class) pairs its ops met, tunes those without a cached choice (or override, or
 * shipped default) and caches the winners; later calls of the same ops use them. Then validates the
 * new picks on fn itself (validatePicks: the tuned step against the default step, interleaved) and
 * drops them if they lose. fn may record a whole training step; its side effects (gradients) stay
 * (validation runs fn 2 x (rounds + 1) more times: the caller clears gradients after).
 */
export async function autotune(fn: () => unknown, opts: AutotuneOptions = {}): Promise<AutotuneReport> {
  const seen = new Map<string, unknown>();
  const prev = collecting;
  collecting = seen;
  memo.clear();
  try {
    tidy(() => fn() as Tensor);
  } finally {
    collecting = prev;
    memo.clear();
  }
  await getEngine().sync();
  const tuned: TuneResult[] = [];
  const useShipped = opts.shipped ?? true;
  const todo = [...seen].map(([key, sample]) => [...key.split('|'), sample] as [string, string, unknown]).filter(([name, shapeClass]) =>
    !overrides.has(name) && (useShipped ? tunedChoice(name, shapeClass) : cachedChoice(name, shapeClass)) === undefined);
  if (tunePrimer.fn && todo.length > 0) await tunePrimer.fn(variantPipelines(todo));
  for (const [name, shapeClass, sample] of todo) {
    const r = await tune(name, shapeClass, opts, sample);
    opts.log?.(r);
    tuned.push(r);
  }
  let validation: ValidationResult | undefined;
  const picks = tuned.filter((r) => r.winner !== getTunable(r.name).variants[0]!.id).map((r) => ({ name: r.name, shapeClass: r.shapeClass }));
  if (opts.validate !== false && picks.length > 0) {
    validation = await validatePicks(fn, picks, typeof opts.validate === 'object' ? opts.validate : {});
  }
  const used = [...seen.keys()].map((key) => {
    const [name, shapeClass] = key.split('|') as [string, string];
    return { name, shapeClass, variant: activeVariant(name, shapeClass) };
  });
  return { tuned, used, ...(validation ? { validation } : {}) };
}

export interface ValidateOptions {
  /** Timed A/B pairs (default 5; at least 3). */
  rounds?: number;
  /** The clock (ms); tests pass a fake one. Default performance.now. */
  now?: () => number;
  /** The tuned step must be faster than the default step by more than this fraction to keep the picks (default 0.02). */
  minGain?: number;
  /** ... and faster than the default step of its own round in at least this fraction of the rounds (default 0.75). */
  minWins?: number;
}

export interface ValidationResult {
  /** Median ms of the step with the default variants for the picks, and with the picks. */
  defaultMs: number;
  tunedMs: number;
  /** Every timed pair, one per round (run default first in even rounds, tuned first in odd ones). */
  samples: { default: number; tuned: number }[];
  /** Rounds in which the tuned step beat the default step of its pair. */
  wins: number;
  kept: boolean;
  /** The picks reset to the default variant (every pick when kept is false). */
  dropped: { name: string; shapeClass: string; variant: string }[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * End-to-end check that the autotuner's picks do not make the step slower: times fn (a forward or
 * a whole training step) with the picks and with the default variant for those same classes,
 * interleaved A B, B A, A B, ... (`rounds` pairs after one untimed pair that compiles both; the order
 * alternates so that neither arm always runs second, after the other has warmed the caches), each
 * timed call synced. The picks are kept only if the tuned median beats the default median by more
 * than minGain and the tuned step beat the default step of its own pair in at least minWins of the
 * rounds: the two steps of a pair run seconds apart, so a pair sees one state of the machine, where
 * two medians over minutes can be moved by a few slow pairs on a host whose speed swings (an Intel
 * Xeon host, 2026-12-07: lavapipe's peak 60 and 82 GFLOP/s an hour apart, the same step 1006–1749 ms
 * over four runs). Otherwise every pick is reset to the default variant (the cache then holds
 * "default" for it, so it is not tuned again).
 *
 * All together, not per pick: a per-pick ablation costs one A/B series per pick (an EdgeFace-XXS
 * training step tunes ~50 classes: 50 x 2 x rounds steps, minutes again), and picks interact through
 * the shared memory system, so the sum of per-pick gains is not the step's gain anyway. One series
 * answers the question that matters (is the tuned step faster than the step we would run without
 * tuning?) at the cost of ~2 x (rounds + 1) steps, and the fallback it can choose is the one known
 * never to be slower: the defaults. Other classes (cached earlier, shipped defaults, overrides) stay
 * as they are in both arms.
 */
export async function validatePicks(fn: () => unknown, picks: { name: string; shapeClass: string }[], opts: ValidateOptions = {}): Promise<ValidationResult> {
  const rounds = Math.max(3, opts.rounds ?? 5);
  const now = opts.now ?? (() => performance.now());
  const minGain = opts.minGain ?? 0.02;
  const minWins = opts.minWins ?? 0.75;
  const eng = getEngine();
  const chosen = picks.map((p) => ({ ...p, variant: activeVariant(p.name, p.shapeClass) }));
  const arms = {
    default: new Map(chosen.map((p) => [`${p.name}|${p.shapeClass}`, getTunable(p.name).variants[0]!.id])),
    tuned: new Map(chosen.map((p) => [`${p.name}|${p.shapeClass}`, p.variant])),
  };
  const setArm = (which: 'default' | 'tuned') => {
    arm = arms[which];
  };
  const timeOnce = async () => {
    await eng.sync();
    const t0 = now();
    tidy(() => fn() as Tensor);
    await eng.sync();
    return now() - t0;
  };
  const samples: { default: number; tuned: number }[] = [];
  try {
    for (let r = -1; r < rounds; r++) {
      const pair = { default: 0, tuned: 0 };
      for (const which of r % 2 === 1 ? ['tuned', 'default'] as const : ['default', 'tuned'] as const) {
        setArm(which);
        pair[which] = await timeOnce();
      }
      if (r >= 0) samples.push(pair);
    }
  } finally {
    arm = null;
  }
  const defaultMs = median(samples.map((s) => s.default));
  const tunedMs = median(samples.map((s) => s.tuned));
  const wins = samples.filter((s) => s.tuned < s.default).length;
  const kept = tunedMs < defaultMs * (1 - minGain) && wins >= Math.ceil(minWins * samples.length);
  // Dropped: the cache holds the default variant for each pick (so it is not tuned again).
  if (!kept) for (const p of chosen) store.set(cacheKey(p.name, p.shapeClass), stampChoice(p.name, getTunable(p.name).variants[0]!.id));
  memo.clear();
  return { defaultMs, tunedMs, samples, wins, kept, dropped: kept ? [] : chosen };
}

/** Every (name, shapeClass) → variant choice that applies on this adapter now (cache + overrides). */
export function tunedChoices(): { name: string; shapeClass: string; variant: string; source: 'cache' | 'override' }[] {
  const prefix = `${adapterSummary().key}|`;
  const rows: { name: string; shapeClass: string; variant: string; source: 'cache' | 'override' }[] = [];
  for (const [k, v] of store.entries?.() ?? []) {
    if (!k.startsWith(prefix)) continue;
    const [name = '', shapeClass = ''] = k.slice(prefix.length).split('|');
    if (!registry.has(name)) continue;
    const o = overrides.get(name);
    const id = liveChoice(name, v);
    if (o === undefined && id === undefined) continue; // made under another signature: does not apply
    rows.push({ name, shapeClass, variant: o ?? id!, source: o ? 'override' : 'cache' });
  }
  return rows;
}
