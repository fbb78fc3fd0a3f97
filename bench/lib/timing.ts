// Timing with benny (Benchmark.js underneath): one suite per case, one b.add per implementation.
// Each timed iteration records K launches back to back and ends with ONE await (the GPU work is
// batched; Dawn in Node busy-polls a core while a promise is pending, so one await per launch
// would measure the polling). K is calibrated per implementation so an iteration takes about
// `targetMs`; the reported time per launch is the median over samples of (iteration time / K).
import b from 'benny';

export interface Impl {
  name: string;
  /** Records K launches and waits for all of them (one await). */
  iterate: (k: number) => Promise<void>;
  /** Fixed K; calibrated when absent. */
  k?: number;
}

export interface TimingResult {
  name: string;
  /** Set when the implementation threw during warm-up; it is then not timed. */
  error?: string;
  /** Launches per timed iteration. */
  k: number;
  samples: number;
  /** ms per launch: median, mean, min over samples. */
  msMedian: number;
  msMean: number;
  msMin: number;
  /** Benchmark.js relative margin of error of the mean, in %. */
  rme: number;
}

export interface TimingOptions {
  /** Target wall time of one iteration (ms), used to pick K. */
  targetMs: number;
  maxK: number;
  /** Benchmark.js: minimum samples and the time (s) after which it stops once it has them. */
  minSamples: number;
  maxTime: number;
  /** Untimed iterations before calibration (pipeline compiles, pool warm-up). */
  warmup: number;
  log: (line: string) => void;
}

export const defaultTiming: TimingOptions = {
  targetMs: 200,
  maxK: 256,
  minSamples: 5,
  maxTime: 1.5,
  warmup: 2,
  log: (l) => console.log(l),
};

async function timeOnce(impl: Impl, k: number): Promise<number> {
  const t0 = performance.now();
  await impl.iterate(k);
  return performance.now() - t0;
}

/** Picks K so one iteration takes about targetMs (two rounds: launch latency hides the op cost at K=1). */
async function calibrate(impl: Impl, o: TimingOptions): Promise<number> {
  if (impl.k) return impl.k;
  let k = 1;
  for (let round = 0; round < 3; round++) {
    const ms = await timeOnce(impl, k);
    const want = Math.max(1, Math.min(o.maxK, Math.round((o.targetMs / Math.max(ms, 1e-3)) * k)));
    if (want <= k * 2 && want >= k / 2) return want;
    k = want;
  }
  return k;
}

// benny prepares every b.add of a suite concurrently (it calls each test once to inspect its return
// type), so the implementations' first calls could interleave across awaits. Implementations switch
// tfjs backends inside their iteration, so iterations are serialised here.
let chain: Promise<unknown> = Promise.resolve();
function exclusive(fn: () => Promise<void>): () => Promise<void> {
  return () => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };
}

/** Warms up, calibrates K and times each implementation in one benny suite. */
export async function timeImpls(suiteName: string, impls: Impl[], opts: Partial<TimingOptions> = {}): Promise<TimingResult[]> {
  const o = { ...defaultTiming, ...opts };
  const ks = new Map<string, number>();
  const results: TimingResult[] = [];
  const ok: Impl[] = [];
  for (const impl of impls) {
    try {
      for (let i = 0; i < o.warmup; i++) await impl.iterate(1);
      ks.set(impl.name, await calibrate(impl, o));
      ok.push(impl);
    } catch (e) {
      const msg = firstLine(e);
      o.log(`    ${impl.name.padEnd(12)} ERROR ${msg}`);
      results.push({ name: impl.name, error: msg, k: 0, samples: 0, msMedian: NaN, msMean: NaN, msMin: NaN, rme: NaN });
    }
  }
  if (!ok.length) return results;
  const failed = new Map<string, string>();
  await b.suite(
    suiteName,
    ...ok.map((impl) => {
      const k = ks.get(impl.name)!;
      // A rejection inside benny's deferred test would go unhandled (and tfjs-wasm's emscripten
      // module turns unhandled rejections into a crash): record the error and resolve instead.
      return b.add(impl.name, exclusive(() => impl.iterate(k).catch((e: unknown) => void failed.set(impl.name, firstLine(e)))));
    }),
    b.cycle((r) => {
      const k = ks.get(r.name) ?? 1;
      const ms = r.details.median * 1000 / k;
      o.log(`    ${r.name.padEnd(12)} K=${String(k).padStart(3)}  ${ms.toFixed(3)} ms/launch  (±${r.margin.toFixed(1)}%, ${r.samples} samples)`);
      results.push({
        name: r.name,
        k,
        samples: r.samples,
        msMedian: ms,
        msMean: r.details.mean * 1000 / k,
        msMin: r.details.min * 1000 / k,
        rme: r.margin,
      });
      return undefined; // no benny live-table (log-update) output
    }),
    b.complete(() => undefined),
    b.configure({ cases: { minSamples: o.minSamples, maxTime: o.maxTime, initCount: 1, delay: 0.005 } }),
  );
  for (const r of results) {
    const err = failed.get(r.name);
    if (err) Object.assign(r, { error: err, msMedian: NaN, msMean: NaN, msMin: NaN });
  }
  return results;
}

const firstLine = (e: unknown): string => ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 200);
