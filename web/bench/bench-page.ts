// The kernel benchmark in a browser page: our runtime vs tfjs-webgpu on the same navigator.gpu
// adapter (each with its own GPUDevice) and vs tfjs-wasm (XNNPACK on the CPU). Bundled by
// bench/browser.ts with esbuild, which maps bench/lib/peers.js to plain `@tensorflow/tfjs` so the
// Node bench's CASES are reused unchanged; the server serves tfjs-wasm's .wasm files under /wasm/.
// First the adapter's peak FMA rate (bench/lib/peak.ts). For each case: the autotuner picks our
// variants for the shape classes the case uses (rt.autotune, once per class and adapter, kept in
// localStorage), then our outputs vs tfjs-webgpu's (same seeded inputs, our layout) within the
// case's tolerance, warm-up, K calibrated so an iteration takes about targetMs, then the median over
// samples of (K back-to-back launches + one await) / K, for ours, tfjs-webgpu and tfjs-wasm.
import * as rt from '../../src/runtime/index.js';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths, setThreadsCount, getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { CASES, missingOps, disposePeerInputs, type CaseDef, type CaseRun } from '../../bench/lib/cases.js';
import { measurePeak, type PeakResult } from '../../bench/lib/peak.js';

export interface PageOptions {
  only?: string[];
  targetMs?: number;
  maxK?: number;
  samples?: number;
  warmup?: number;
  /** Per implementation and case: fewer samples (min 3) when they would take longer than this. */
  budgetMs?: number;
  /** Measure the adapter's peak FMA rate first (default true). */
  peak?: boolean;
  /** Time tfjs-wasm too (default true). */
  wasm?: boolean;
  /** Run rt.autotune on each case before timing it (default true). */
  autotune?: boolean;
  /** Timed reps per variant in the autotuner (default 2). */
  tuneReps?: number;
}

type TimingOptions = Required<Omit<PageOptions, 'only'>>;

export interface PageTiming { k: number; samples: number; msMedian: number; msMin: number; error?: string }

export interface PageTuned {
  name: string;
  shapeClass: string;
  winner: string;
  timings: Record<string, number>;
  rejected: Record<string, string>;
}

export interface PageCaseResult {
  name: string;
  what: string;
  unit: 'GFLOP/s' | 'GB/s';
  work: number;
  tol: number;
  status: 'ok' | 'FAIL' | 'ERROR' | 'n/a';
  detail?: string;
  maxAbsDiff?: number;
  /** max |tfjs-webgpu output| (a zero diff on all-zero outputs would mean nothing). */
  refMaxAbs?: number;
  /** What rt.autotune timed for this case (shape classes met with no cached choice). */
  tuned?: PageTuned[];
  /** Every (tunable, shape class) the case's ops use and the variant they use (rt.autotune's report). */
  used?: { name: string; shapeClass: string; variant: string }[];
  /** Seconds rt.autotune took for this case. */
  tuneSeconds?: number;
  ours?: PageTiming;
  webgpu?: PageTiming;
  wasm?: PageTiming;
}

export interface WasmInfo {
  /** WASM_HAS_SIMD_SUPPORT / WASM_HAS_MULTITHREAD_SUPPORT as tfjs-wasm detected them. */
  simd: boolean;
  threads: boolean;
  crossOriginIsolated: boolean;
  /** The .wasm file tfjs-wasm loaded (tfjs-backend-wasm[-simd|-threaded-simd].wasm). */
  build: string;
  threadsCount?: number;
  hardwareConcurrency?: number;
  error?: string;
}

export interface PageResult {
  userAgent: string;
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean; key: string };
  tfjsAdapter?: string;
  tfjs: string;
  wasm?: WasmInfo;
  peak?: PeakResult;
  peakError?: string;
  /** Every cached autotune choice at the end (adapter key | tunable | shape class → variant). */
  tuneChoices?: { name: string; shapeClass: string; variant: string; source: string }[];
  options: TimingOptions;
  cases: PageCaseResult[];
  seconds: number;
}

interface WebGPUBackendLike {
  device: GPUDevice;
  queue?: GPUQueue;
  ensureCommandEncoderReady?: () => void;
  endComputePassEncoder?: () => void;
  submitQueue?: () => void;
  adapterInfo?: { vendor?: string; architecture?: string; description?: string };
}

const log = (line: string): void => {
  console.log(line);
  const el = document.getElementById('log');
  if (el) el.textContent += line + '\n';
};
const firstLine = (e: unknown): string => ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 200);

/** Waits for everything the current tfjs backend queued (webgpu: submit its open encoder, await the
 *  queue, no readback; wasm runs synchronously: reading the last output back is nearly free). */
async function tfFinish(last: tf.Tensor | null): Promise<void> {
  const be = tf.backend() as unknown as WebGPUBackendLike;
  if (tf.getBackend() === 'webgpu' && be.submitQueue && be.endComputePassEncoder && be.ensureCommandEncoderReady) {
    be.ensureCommandEncoderReady();
    be.endComputePassEncoder();
    be.submitQueue();
    await (be.queue ?? be.device.queue).onSubmittedWorkDone();
  } else if (last) await last.data();
}

async function readAll(ts: { data(): Promise<ArrayLike<number>> }[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of ts) out.push(Float32Array.from(await t.data()));
  return out;
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  if (a.length !== b.length) throw new Error(`${a.length} outputs vs ${b.length} from tfjs-webgpu`);
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!, y = b[k]!;
    if (x.length !== y.length) throw new Error(`output ${k}: ${x.length} elements vs ${y.length} from tfjs-webgpu`);
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i]! - y[i]!);
      if (Number.isNaN(d)) return NaN;
      if (d > m) m = d;
    }
  }
  return m;
}

type Iterate = (k: number) => Promise<void>;

async function timeIt(iterate: Iterate, o: TimingOptions): Promise<PageTiming> {
  try {
    const once = async (k: number) => { const t0 = performance.now(); await iterate(k); return performance.now() - t0; };
    for (let i = 0; i < o.warmup; i++) await iterate(1); // pipeline compiles, pool warm-up
    // Calibrate K (a timed launch that doubles as warm-up); slow launches (SwiftShader) keep K = 1.
    let k = 1, ms = await once(1);
    for (let round = 0; round < 3 && ms < o.targetMs / 2; round++) {
      k = Math.max(1, Math.min(o.maxK, Math.round((o.targetMs / Math.max(ms / k, 1e-3)))));
      ms = await once(k);
      if (k === o.maxK) break;
    }
    // At least 3 samples; at most o.samples, or fewer when one takes long (keeps the run short).
    const n = Math.max(3, Math.min(o.samples, Math.floor(o.budgetMs / Math.max(ms, 1))));
    const per: number[] = [];
    for (let s = 0; s < n; s++) per.push((await once(k)) / k);
    per.sort((x, y) => x - y);
    const mid = per.length >> 1;
    const msMedian = per.length % 2 ? per[mid]! : (per[mid - 1]! + per[mid]!) / 2;
    return { k, samples: per.length, msMedian, msMin: per[0]! };
  } catch (e) {
    return { k: 0, samples: 0, msMedian: NaN, msMin: NaN, error: firstLine(e) };
  }
}

/** Times a case's tfjs op on the given backend (its inputs created there, untimed). */
async function timePeer(r: CaseRun, backend: 'webgpu' | 'wasm', o: TimingOptions): Promise<PageTiming> {
  try {
    if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
    const f = r.peer();
    return await timeIt(async (k) => {
      let last: tf.Tensor | tf.Tensor[] | null = null;
      for (let i = 0; i < k; i++) {
        const y = tf.tidy(f);
        if (last) tf.dispose(last);
        last = y;
      }
      await tfFinish(Array.isArray(last) ? last[0] ?? null : last);
      if (last) tf.dispose(last);
    }, o);
  } catch (e) {
    return { k: 0, samples: 0, msMedian: NaN, msMin: NaN, error: firstLine(e) };
  } finally {
    await tf.setBackend('webgpu');
  }
}

const fmtT = (t?: PageTiming) => (!t ? '—' : t.error ? `ERROR ${t.error}` : `${t.msMedian.toFixed(3)} ms (K=${t.k})`);

async function runCase(c: CaseDef, o: TimingOptions, wasmOk: boolean): Promise<PageCaseResult> {
  const res: PageCaseResult = { name: c.name, what: c.what, unit: c.unit, work: c.work, tol: c.tol, status: 'ok' };
  const missing = missingOps(c.needs);
  if (missing.length) return { ...res, status: 'n/a', detail: `op not available yet (${missing.join(', ')})` };
  let run: CaseRun | null = null;
  try {
    run = c.build();
    const r = run;
    // Variant choice: tune every shape class the case meets that has no cached choice yet.
    if (o.autotune) {
      const t0 = performance.now();
      const report = await rt.autotune(() => { r.ours(); }, {
        // One op per timed rep: a 1024³ matmul takes seconds per launch on SwiftShader, and some variants
        // several times that.
        reps: o.tuneReps, inner: 1,
        log: (t) => log(`  autotune ${t.name} ${t.shapeClass}: ${t.winner} (${Object.entries(t.timings).map(([id, ms]) => `${id} ${Number.isNaN(ms) ? 'rejected' : ms.toFixed(1)}`).join(', ')} ms)`),
      });
      res.used = report.used;
      res.tuned = report.tuned.map((t) => ({ name: t.name, shapeClass: t.shapeClass, winner: t.winner, timings: t.timings, rejected: t.rejected }));
      res.tuneSeconds = (performance.now() - t0) / 1000;
    }
    // Correctness: our outputs vs tfjs-webgpu's reference composition (our layout, same inputs).
    const outs = rt.tidy(() => (r.oursCheck ?? r.ours)());
    let ours: Float32Array[];
    try { ours = await readAll(outs); } finally { for (const t of outs) if (!t.kept) t.dispose(); }
    const refT = tf.tidy(() => r.ref());
    let ref: Float32Array[];
    try { ref = await readAll(refT); } finally { tf.dispose(refT); }
    const d = maxAbsDiff(ours, ref);
    res.maxAbsDiff = d;
    res.refMaxAbs = ref.reduce((m, t) => t.reduce((mm, v) => Math.max(mm, Math.abs(v)), m), 0);
    const ok = d <= c.tol;
    log(`${c.name}: max abs diff vs tfjs-webgpu ${d.toExponential(2)} (tol ${c.tol}, max |ref| ${res.refMaxAbs.toPrecision(3)}) ${ok ? 'ok' : 'FAIL'}`);
    if (!ok) { res.status = 'FAIL'; res.detail = `max abs diff ${d} > tol ${c.tol}`; }
    // Timing (also when the check failed, so the numbers are visible; the status says FAIL).
    const engine = rt.getEngine();
    res.ours = await timeIt(async (k) => {
      for (let i = 0; i < k; i++) rt.tidy(() => void r.ours());
      await engine.sync();
    }, o);
    res.webgpu = await timePeer(r, 'webgpu', o);
    if (wasmOk) res.wasm = await timePeer(r, 'wasm', o);
    log(`  ours ${fmtT(res.ours)}   tfjs-webgpu ${fmtT(res.webgpu)}   tfjs-wasm ${fmtT(res.wasm)}`);
    if (res.ours.error) { res.status = 'ERROR'; res.detail = res.ours.error; }
  } catch (e) {
    res.status = 'ERROR';
    res.detail = firstLine(e);
    log(`${c.name}: ERROR ${res.detail}`);
  } finally {
    try {
      run?.dispose();
      disposePeerInputs();
      rt.getEngine().trim();
    } catch (e) {
      log(`  (cleanup: ${firstLine(e)})`);
    }
  }
  return res;
}

/** Initialises tfjs-wasm from /wasm/ (served by bench/browser.ts) and reports which build loaded. */
async function initWasm(): Promise<WasmInfo> {
  const coi = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const info: WasmInfo = { simd: false, threads: false, crossOriginIsolated: coi, build: '—' };
  try {
    setWasmPaths(new URL('/wasm/', location.href).href);
    // XNNPACK's pool: one thread per logical core. (Measured here: getThreadsCount() still reports 1 on
    // this 2-core host, with or without this call; the threaded SIMD build loads.)
    info.hardwareConcurrency = navigator.hardwareConcurrency;
    setThreadsCount(Math.max(1, navigator.hardwareConcurrency || 1));
    info.simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
    info.threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean;
    if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') failed");
    await tf.ready();
    info.threadsCount = getThreadsCount();
    const files = performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.wasm'));
    info.build = files.map((f) => f.slice(f.lastIndexOf('/') + 1)).join(', ') || '?';
  } catch (e) {
    info.error = firstLine(e);
  } finally {
    await tf.setBackend('webgpu');
  }
  return info;
}

async function run(opts: PageOptions = {}): Promise<PageResult> {
  const t0 = performance.now();
  const o: TimingOptions = {
    targetMs: opts.targetMs ?? 200, maxK: opts.maxK ?? 64, samples: opts.samples ?? 5, warmup: opts.warmup ?? 1, budgetMs: opts.budgetMs ?? 8000,
    peak: opts.peak ?? true, wasm: opts.wasm ?? true, autotune: opts.autotune ?? true, tuneReps: opts.tuneReps ?? 2,
  };
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined (WebGPU disabled, or not a secure context)');
  await rt.initDevice({ gpu: navigator.gpu });
  rt.setTuneStore(new rt.LocalStorageTuneStore('lrfr-autotune'));
  const s = rt.adapterSummary();
  // adapter.info straight from navigator.gpu (the runtime's summary reads the same fields).
  const a = await navigator.gpu.requestAdapter();
  const info = a?.info as (GPUAdapterInfo & { isFallbackAdapter?: boolean }) | undefined;
  tf.env().set('PROD', true);
  if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') throw new Error(`tf.setBackend('webgpu') failed (backend ${tf.getBackend()})`);
  await tf.ready();
  const ti = (tf.backend() as unknown as WebGPUBackendLike).adapterInfo;
  const result: PageResult = {
    userAgent: navigator.userAgent,
    adapter: {
      vendor: info?.vendor ?? s.vendor, architecture: info?.architecture ?? s.architecture,
      device: info?.device ?? s.device, description: info?.description ?? s.description,
      isFallbackAdapter: info?.isFallbackAdapter, key: s.key,
    },
    tfjsAdapter: ti ? [ti.vendor, ti.architecture, ti.description].filter(Boolean).join(' / ') : undefined,
    tfjs: tf.version.tfjs,
    options: o,
    cases: [],
    seconds: 0,
  };
  log(`adapter ${s.key} (fallback ${String(info?.isFallbackAdapter)}); tfjs ${tf.version.tfjs} webgpu on ${result.tfjsAdapter ?? '?'}`);
  if (o.wasm) {
    result.wasm = await initWasm();
    const w = result.wasm;
    log(`tfjs-wasm: ${w.error ? `ERROR ${w.error}` : `${w.build}, ${w.threadsCount} thread(s)`} (SIMD ${w.simd}, threads ${w.threads}, crossOriginIsolated ${w.crossOriginIsolated})`);
  }
  if (o.peak) {
    try {
      result.peak = await measurePeak({ log });
    } catch (e) {
      result.peakError = firstLine(e);
      log(`peak: ERROR ${result.peakError}`);
    }
  }
  let cases = CASES.filter((c) => !c.name.includes('(smoke)'));
  if (opts.only?.length) cases = CASES.filter((c) => opts.only!.some((x) => c.name.toLowerCase().includes(x.toLowerCase())));
  for (const c of cases) result.cases.push(await runCase(c, o, !!result.wasm && !result.wasm.error));
  result.tuneChoices = rt.tunedChoices();
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

// ---- matmul variant probe (bench/browser.ts --probe-matmul) ----

export interface ProbeOptions {
  /** Square size (default 1024). */
  n?: number;
  /** Interleaved rounds (default 3). */
  rounds?: number;
  /** Variant id → knobs set on rt.matmulTuning over the defaults ({} = the default). */
  variants: Record<string, Partial<rt.MatmulTuning>>;
  /** Time tfjs-webgpu's matmul in the same rounds (default true). */
  tfjs?: boolean;
}

export interface ProbeResult { n: number; ms: Record<string, number[]>; maxAbsDiff: Record<string, number>; errors: Record<string, string> }

/** Times matmul n³ under each set of knobs (and tfjs-webgpu's), interleaved, one launch + sync per sample. */
async function probeMatmul(p: ProbeOptions): Promise<ProbeResult> {
  const n = p.n ?? 1024, rounds = p.rounds ?? 3;
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined');
  await rt.initDevice({ gpu: navigator.gpu });
  rt.setAutotuneMode('off'); // the knobs set here, not cached choices
  await tf.setBackend('webgpu');
  await tf.ready();
  const base = { ...rt.matmulTuning, transB: { ...rt.matmulTuning.transB } };
  const A = rt.randnArray(n * n, 1), B = rt.randnArray(n * n, 2);
  const a = rt.tensor(A, [n, n]), b = rt.tensor(B, [n, n]);
  const ta = tf.tensor2d(A, [n, n]), tb = tf.tensor2d(B, [n, n]);
  const ref = await tf.matMul(ta, tb).data();
  const res: ProbeResult = { n, ms: {}, maxAbsDiff: {}, errors: {} };
  const ids = Object.keys(p.variants);
  const set = (id: string) => Object.assign(rt.matmulTuning, base, { transB: { ...base.transB } }, p.variants[id]);
  const eng = rt.getEngine();
  try {
    for (const id of ids) {
      try {
        set(id);
        const c = rt.matmul(a, b);
        const out = await c.data();
        c.dispose();
        let m = 0;
        for (let i = 0; i < out.length; i++) m = Math.max(m, Math.abs(out[i]! - ref[i]!));
        res.maxAbsDiff[id] = m;
        res.ms[id] = [];
        log(`probe ${id}: compiled, max abs diff ${m.toExponential(2)}`);
      } catch (e) {
        res.errors[id] = firstLine(e);
        log(`probe ${id}: ERROR ${res.errors[id]}`);
      }
    }
    if (p.tfjs !== false) { res.ms['tfjs-webgpu'] = []; await tf.matMul(ta, tb).data(); }
    for (let r = 0; r < rounds; r++) {
      for (const id of Object.keys(res.ms)) {
        let ms: number;
        if (id === 'tfjs-webgpu') {
          const t0 = performance.now();
          const y = tf.matMul(ta, tb);
          await tfFinish(y);
          ms = performance.now() - t0;
          y.dispose();
        } else {
          set(id);
          await eng.sync();
          const t0 = performance.now();
          rt.tidy(() => void rt.matmul(a, b));
          await eng.sync();
          ms = performance.now() - t0;
        }
        res.ms[id]!.push(ms);
        log(`  round ${r} ${id}: ${ms.toFixed(0)} ms (${(2 * n ** 3 / ms / 1e6).toFixed(2)} GFLOP/s)`);
      }
    }
  } finally {
    Object.assign(rt.matmulTuning, base, { transB: { ...base.transB } });
    rt.setAutotuneMode('cached');
    rt.dispose([a, b]);
    tf.dispose([ta, tb]);
  }
  return res;
}

declare global {
  interface Window { lrfrBench: { run: typeof run; probeMatmul: typeof probeMatmul } }
}
window.lrfrBench = { run, probeMatmul };
document.getElementById('run')?.addEventListener('click', () => void run().then((r) => log(JSON.stringify(r, null, 2)), (e) => log(`ERROR ${firstLine(e)}`)));
