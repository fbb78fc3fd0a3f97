// The kernel benchmark in a browser page: our runtime vs tfjs-webgpu on the same navigator.gpu
// adapter (each with its own GPUDevice). Bundled by bench/browser.ts with esbuild, which maps
// bench/lib/peers.js to plain `@tensorflow/tfjs` so the Node bench's CASES are reused unchanged.
// For each case: our outputs vs tfjs-webgpu's (same seeded inputs, our layout) within the case's
// tolerance, warm-up, K calibrated so an iteration takes about targetMs, then the median over
// samples of (K back-to-back launches + one await) / K.
import * as rt from '../../src/runtime/index.js';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { CASES, missingOps, disposePeerInputs, type CaseDef, type CaseRun } from '../../bench/lib/cases.js';

export interface PageOptions {
  only?: string[];
  targetMs?: number;
  maxK?: number;
  samples?: number;
  warmup?: number;
  /** Per implementation and case: fewer samples (min 3) when they would take longer than this. */
  budgetMs?: number;
}

export interface PageTiming { k: number; samples: number; msMedian: number; msMin: number; error?: string }

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
  ours?: PageTiming;
  webgpu?: PageTiming;
}

export interface PageResult {
  userAgent: string;
  adapter: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter?: boolean; key: string };
  tfjsAdapter?: string;
  tfjs: string;
  options: Required<Omit<PageOptions, 'only'>>;
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

/** Waits for everything tfjs-webgpu queued (submit its open encoder, await the queue; no readback). */
async function tfFinish(last: tf.Tensor | null): Promise<void> {
  const be = tf.backend() as unknown as WebGPUBackendLike;
  if (be.submitQueue && be.endComputePassEncoder && be.ensureCommandEncoderReady) {
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

async function timeIt(iterate: Iterate, o: Required<Omit<PageOptions, 'only'>>): Promise<PageTiming> {
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

async function runCase(c: CaseDef, o: Required<Omit<PageOptions, 'only'>>): Promise<PageCaseResult> {
  const res: PageCaseResult = { name: c.name, what: c.what, unit: c.unit, work: c.work, tol: c.tol, status: 'ok' };
  const missing = missingOps(c.needs);
  if (missing.length) return { ...res, status: 'n/a', detail: `op not available yet (${missing.join(', ')})` };
  let run: CaseRun | null = null;
  try {
    run = c.build();
    const r = run;
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
    const f = r.peer();
    res.webgpu = await timeIt(async (k) => {
      let last: tf.Tensor | tf.Tensor[] | null = null;
      for (let i = 0; i < k; i++) {
        const y = tf.tidy(f);
        if (last) tf.dispose(last);
        last = y;
      }
      await tfFinish(Array.isArray(last) ? last[0] ?? null : last);
      if (last) tf.dispose(last);
    }, o);
    const fmt = (t?: PageTiming) => (!t ? '—' : t.error ? `ERROR ${t.error}` : `${t.msMedian.toFixed(3)} ms (K=${t.k})`);
    log(`  ours ${fmt(res.ours)}   tfjs-webgpu ${fmt(res.webgpu)}`);
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

async function run(opts: PageOptions = {}): Promise<PageResult> {
  const t0 = performance.now();
  const o = { targetMs: opts.targetMs ?? 200, maxK: opts.maxK ?? 64, samples: opts.samples ?? 5, warmup: opts.warmup ?? 1, budgetMs: opts.budgetMs ?? 8000 };
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined (WebGPU disabled, or not a secure context)');
  await rt.initDevice({ gpu: navigator.gpu });
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
  let cases = CASES.filter((c) => !c.name.includes('(smoke)'));
  if (opts.only?.length) cases = CASES.filter((c) => opts.only!.some((x) => c.name.toLowerCase().includes(x.toLowerCase())));
  for (const c of cases) result.cases.push(await runCase(c, o));
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

declare global {
  interface Window { lrfrBench: { run: typeof run } }
}
window.lrfrBench = { run };
document.getElementById('run')?.addEventListener('click', () => void run().then((r) => log(JSON.stringify(r, null, 2)), (e) => log(`ERROR ${firstLine(e)}`)));
