// The adapter's measured peak (issue #5): a peak-FMA shader (shaders/peak_fma.wgsl) run at a size
// that takes ~targetMs per launch, best of several runs, over a few accumulator / unroll /
// workgroup variants; the best GFLOP/s is the peak the kernel bench reports "% of peak" against.
// FLOPs: a vec4 fma is 4 multiply-adds = 8 FLOPs.
import { getEngine, type BufferRef } from '../../src/runtime/engine.js';
import { empty } from '../../src/runtime/tensor.js';
import { median } from './stats.js';

export interface PeakVariant {
  /** Independent vec4 accumulators per invocation. */
  nacc: 2 | 4 | 8;
  /** FMAs per accumulator per loop trip (constant-bound inner loop). */
  unroll: number;
  /** Threads per workgroup. */
  wg: number;
  /** Workgroups per dispatch (invocations = wg × groups). */
  groups: number;
}

export interface PeakResult {
  gflops: number;
  /** Best ms per launch of the winning variant. */
  ms: number;
  invocations: number;
  iters: number;
  variant: PeakVariant;
}

export interface PeakOptions {
  /** Wanted ms per launch (the size is calibrated to it). */
  targetMs?: number;
  /** Timed rounds over the variants (the best launch of each variant is kept). */
  runs?: number;
  variants?: PeakVariant[];
  log?: (line: string) => void;
}

export const PEAK_B = [0.9, 0.95, 0.99, 0.999] as const;
export const PEAK_C = [0.01, 0.02, 0.005, 0.001] as const;

export const DEFAULT_VARIANTS: PeakVariant[] = [
  { nacc: 4, unroll: 8, wg: 64, groups: 256 },
  { nacc: 8, unroll: 4, wg: 64, groups: 256 },
  { nacc: 4, unroll: 8, wg: 256, groups: 64 },
  { nacc: 4, unroll: 8, wg: 64, groups: 2048 },
];

export const flopsPerInvocation = (v: Pick<PeakVariant, 'nacc' | 'unroll'>, iters: number): number => iters * v.unroll * v.nacc * 8;

/** Records one launch of the peak-FMA kernel writing `invocations` floats into `out`. */
export function launchPeakFma(out: BufferRef, v: PeakVariant, iters: number, invocations = v.wg * v.groups,
  b: readonly number[] = PEAK_B, c: readonly number[] = PEAK_C): void {
  getEngine().run({
    name: 'peak_fma',
    shader: 'peak_fma',
    defines: { WG: v.wg, UNROLL: v.unroll, ACC4: v.nacc >= 4, ACC8: v.nacc >= 8 },
    inputs: [],
    outputs: [out],
    uniforms: [
      { t: 'u32', v: iters }, { t: 'u32', v: invocations }, { t: 'u32', v: 0 }, { t: 'u32', v: 0 },
      { t: 'vec4f', v: [...b] }, { t: 'vec4f', v: [...c] },
    ],
    workgroups: [Math.ceil(invocations / v.wg)],
  });
}

/** CPU evaluation of the same FMA chains (f32 rounding after each fma), one value per invocation. */
export function cpuPeakFma(v: Pick<PeakVariant, 'nacc' | 'unroll'>, iters: number, invocations: number,
  b: readonly number[] = PEAK_B, c: readonly number[] = PEAK_C): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(invocations);
  const offs = [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5].slice(0, v.nacc);
  for (let i = 0; i < invocations; i++) {
    const x = f((i % 1024) * 0.0009765625);
    const a0 = [x, f(x + 0.125), f(x + 0.25), f(x + 0.375)];
    const acc = offs.map((o) => a0.map((e) => f(e + o)));
    const bb = b.map(f), cc = c.map(f);
    for (let n = 0; n < iters * v.unroll; n++) {
      for (const a of acc) for (let l = 0; l < 4; l++) a[l] = f(a[l]! * bb[l]! + cc[l]!);
    }
    const add = (p: number[], q: number[]) => p.map((e, l) => f(e + q[l]!));
    let s = add(acc[0]!, acc[1]!);
    if (v.nacc >= 4) s = add(s, add(acc[2]!, acc[3]!));
    if (v.nacc >= 8) s = add(s, add(add(acc[4]!, acc[5]!), add(acc[6]!, acc[7]!)));
    out[i] = f(f(s[0]! + s[1]!) + f(s[2]! + s[3]!));
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One timed launch: record, submit, sleep through most of the expected time (Dawn's Node binding
 * busy-polls a core while a promise is pending, which would take a core from a software adapter),
 * then one await. The engine's own sleep is off meanwhile so its per-batch estimates are not
 * trained on these long launches.
 */
async function timeLaunch(out: BufferRef, v: PeakVariant, iters: number, expectMs: number): Promise<number> {
  const engine = getEngine();
  const t0 = performance.now();
  launchPeakFma(out, v, iters);
  engine.flush();
  if (expectMs > 4) await sleep(0.8 * expectMs);
  await engine.sync();
  return performance.now() - t0;
}

/** Sets the engine's plain-await polling (timeLaunch sleeps through the launches itself); returns the undo. */
function awaitPolling(): () => void {
  const engine = getEngine();
  const saved = engine.pollStrategy;
  engine.pollStrategy = 'await';
  return () => { engine.pollStrategy = saved; };
}

/** Measures the adapter's peak FMA throughput: the best GFLOP/s over the variants. */
export async function measurePeak(opts: PeakOptions = {}): Promise<PeakResult> {
  const targetMs = opts.targetMs ?? 150;
  const runs = opts.runs ?? 5;
  const variants = opts.variants ?? DEFAULT_VARIANTS;
  const log = opts.log ?? ((l: string) => console.log(l));
  const restorePolling = awaitPolling();
  const live: { v: PeakVariant; out: ReturnType<typeof empty>; iters: number; ms: number }[] = [];
  try {
    // Per variant: warm-up (pipeline compile) and calibration of the trip count to ~targetMs.
    for (const v of variants) {
      const out = empty([v.wg * v.groups]);
      live.push({ v, out, iters: 0, ms: Infinity });
      await timeLaunch(out, v, 1, 0);
      let iters = 16;
      let ms = await timeLaunch(out, v, iters, 0);
      for (let round = 0; round < 3; round++) {
        const want = Math.max(1, Math.min(1 << 22, Math.round(iters * targetMs / Math.max(ms, 0.5))));
        const close = want <= iters * 1.5 && want >= iters / 1.5;
        iters = want;
        ms = await timeLaunch(out, v, iters, round === 0 ? 0 : ms);
        if (close) break;
      }
      Object.assign(live[live.length - 1]!, { iters, ms });
    }
    // Timed rounds, interleaved over the variants so a passing disturbance does not sink one of them.
    for (let r = 0; r < runs; r++) {
      for (const x of live) x.ms = Math.min(x.ms, await timeLaunch(x.out, x.v, x.iters, x.ms));
    }
  } finally {
    restorePolling();
    for (const x of live) x.out.dispose();
  }
  let best: PeakResult | null = null;
  for (const { v, iters, ms } of live) {
    const invocations = v.wg * v.groups;
    const gflops = (invocations * flopsPerInvocation(v, iters)) / (ms * 1e6);
    log(`  peak-fma acc=${v.nacc} unroll=${v.unroll} wg=${v.wg} groups=${v.groups} iters=${iters}: ${ms.toFixed(1)} ms, ${gflops.toFixed(1)} GFLOP/s`);
    if (!best || gflops > best.gflops) best = { gflops, ms, invocations, iters, variant: v };
  }
  if (!best) throw new Error('measurePeak: no variants');
  const v = best.variant;
  log(`peak: ${best.gflops.toFixed(1)} GFLOP/s (vec4 FMA, acc=${v.nacc} unroll=${v.unroll} wg=${v.wg}, ${best.invocations} invocations, ${best.ms.toFixed(1)} ms)`);
  return best;
}

/**
 * The host's speed now: the median GFLOP/s of `launches` launches of a measured peak's winning
 * variant at its calibrated trip count (~targetMs each). Timed beside other measurements, it says
 * how much of their spread is the host's (a shared machine's speed moves from minute to minute).
 */
export async function hostGflops(peak: PeakResult, launches = 3): Promise<number> {
  if (!Number.isInteger(launches) || launches < 1) throw new Error(`hostGflops: launches must be a positive integer, got ${launches}`);
  const restorePolling = awaitPolling();
  const out = empty([peak.invocations]);
  const ms: number[] = [];
  try {
    for (let i = 0; i < launches; i++) ms.push(await timeLaunch(out, peak.variant, peak.iters, peak.ms));
  } finally {
    restorePolling();
    out.dispose();
  }
  return (peak.invocations * flopsPerInvocation(peak.variant, peak.iters)) / (median(ms) * 1e6);
}
