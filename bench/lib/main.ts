// The kernel benchmark: for each case, correctness vs tfjs CPU, then timing of ours, tfjs-webgpu
// (same Dawn adapter) and tfjs-wasm (1 thread) with benny. See bench/kernels.ts for the options.
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initNodeGPU } from '../../src/node/gpu.js';
import * as rt from '../../src/runtime/index.js';
import { initPeers, tf, useBackend, tfFinish, type PeerName } from './peers.js';
import { CASES, missingOps, disposePeerInputs, type CaseDef, type CaseRun } from './cases.js';
import { timeImpls, defaultTiming, type Impl, type TimingOptions } from './timing.js';
import { textTable, writeResults, sanitizeKey, recordCpuShare, type CaseResult, type RunInfo } from './report.js';
import { measurePeak } from './peak.js';
import { sampleCpu } from './cpu-share.js';
import { machineInfo, machineLine } from './machine.js';

export interface MainOptions {
  only?: string[];
  smoke?: boolean;
  quick?: boolean;
  outDir?: string;
  write?: boolean;
  /** Autotune each case before timing (default); false: the default variants. */
  tune?: boolean;
  /** Ignore the tune cache (tune afresh, in memory). */
  retune?: boolean;
}

export function parseArgs(argv: string[]): MainOptions {
  const o: MainOptions = { write: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') o.only = (argv[++i] ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    else if (a === '--smoke') o.smoke = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--out') o.outDir = argv[++i];
    else if (a === '--no-write') o.write = false;
    else if (a === '--no-tune') o.tune = false;
    else if (a === '--retune') o.retune = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench:kernels -- [--only matmul,conv] [--smoke] [--quick] [--out DIR] [--no-write] [--no-tune | --retune]');
      process.exit(0);
    } else throw new Error(`bench:kernels: unknown option ${a}`);
  }
  return o;
}

async function readAll(ts: { data(): Promise<Float32Array | ArrayLike<number>> }[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of ts) out.push(Float32Array.from(await t.data()));
  return out;
}

/** Max |a − b| over all outputs; NaN if any element is NaN on either side. */
function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  if (a.length !== b.length) throw new Error(`${a.length} outputs vs ${b.length} in the reference`);
  let m = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!, y = b[k]!;
    if (x.length !== y.length) throw new Error(`output ${k}: ${x.length} elements vs ${y.length} in the reference`);
    for (let i = 0; i < x.length; i++) {
      const d = Math.abs(x[i]! - y[i]!);
      if (Number.isNaN(d)) return NaN;
      if (d > m) m = d;
    }
  }
  return m;
}

const firstLine = (e: unknown) => ((e as Error)?.message ?? String(e)).split('\n')[0]!.slice(0, 200);

/** Our outputs for the check: one launch, read back; only non-kept tensors are disposed. */
async function oursOutputs(run: CaseRun): Promise<Float32Array[]> {
  const outs = rt.tidy(() => (run.oursCheck ?? run.ours)());
  try {
    return await readAll(outs);
  } finally {
    for (const t of outs) if (!t.kept) t.dispose();
  }
}

async function refOutputs(run: CaseRun): Promise<Float32Array[]> {
  await useBackend('cpu');
  const outs = tf.tidy(() => run.ref());
  try {
    return await readAll(outs);
  } finally {
    tf.dispose(outs);
  }
}

function oursImpl(run: CaseRun): Impl {
  const engine = rt.getEngine();
  return {
    name: 'ours',
    iterate: async (k) => {
      for (let i = 0; i < k; i++) rt.tidy(() => void run.ours());
      await engine.sync();
    },
  };
}

async function peerImpl(run: CaseRun, backend: PeerName): Promise<Impl> {
  await useBackend(backend);
  const f = run.peer();
  return {
    name: `tfjs-${backend}`,
    iterate: async (k) => {
      if (tf.getBackend() !== backend) await useBackend(backend);
      let last: tf.Tensor | tf.Tensor[] | null = null;
      for (let i = 0; i < k; i++) {
        const y = tf.tidy(f);
        if (last) tf.dispose(last);
        last = y;
      }
      await tfFinish(Array.isArray(last) ? last[0] ?? null : last);
      if (last) tf.dispose(last);
    },
  };
}

async function runCase(c: CaseDef, peersOk: Record<'webgpu' | 'wasm', boolean>, timing: Partial<TimingOptions>, tuneOn: boolean): Promise<CaseResult> {
  const res: CaseResult = { name: c.name, what: c.what, status: 'ok', unit: c.unit, work: c.work, formula: c.formula, tol: c.tol, note: c.note };
  const missing = missingOps(c.needs);
  if (missing.length) {
    console.log(`${c.name}: op not available yet (${missing.join(', ')})`);
    return { ...res, status: 'n/a', detail: `op not available yet (${missing.join(', ')})` };
  }
  console.log(`\n${c.name}: ${c.what}`);
  let run: CaseRun | null = null;
  try {
    run = c.build();
    // 1. Correctness vs tfjs CPU.
    const t0 = performance.now();
    const ours = await oursOutputs(run);
    const ref = await refOutputs(run);
    const d = maxAbsDiff(ours, ref);
    if (process.env.BENCH_DEBUG) console.log('  ours[0][:4]', ours.map((o) => Array.from(o.slice(0, 4))), '\n  ref[0][:4] ', ref.map((o) => Array.from(o.slice(0, 4))));
    res.maxAbsDiff = d;
    const ok = d <= c.tol;
    console.log(`  correctness: max abs diff ${d.toExponential(2)} (tol ${c.tol}) ${ok ? 'ok' : 'FAIL'}  [${((performance.now() - t0) / 1000).toFixed(1)} s]`);
    if (!ok) {
      res.status = 'FAIL';
      res.detail = `max abs diff ${d} > tol ${c.tol}`;
      return res;
    }
    // 2. Per-adapter variant choice: tune the shape classes the case uses (cached ones are reused).
    if (tuneOn) {
      const t1 = performance.now();
      const rep = await rt.autotune(() => run!.ours(), {
        log: (r) => console.log(`  autotune ${r.name} ${r.shapeClass}: ${Object.entries(r.timings).map(([id, t]) => `${id} ${Number.isNaN(t) ? 'rejected' : t.toFixed(2)}`).join(', ')} → ${r.winner}`),
      });
      res.variants = rep.used;
      console.log(`  variants: ${rep.used.map((u) => `${u.name} ${u.shapeClass} ${u.variant}`).join('; ') || '(no tunable kernel)'}  [${((performance.now() - t1) / 1000).toFixed(1)} s]`);
    }
    // 3.+4. Warm-up, calibration and timing.
    const impls: Impl[] = [oursImpl(run)];
    for (const b of ['webgpu', 'wasm'] as const) {
      if (!peersOk[b]) continue;
      try {
        impls.push(await peerImpl(run, b));
      } catch (e) {
        res[b] = { name: `tfjs-${b}`, error: firstLine(e), k: 0, samples: 0, msMedian: NaN, msMean: NaN, msMin: NaN, rme: NaN };
        console.log(`  tfjs-${b}: ERROR ${firstLine(e)}`);
      }
    }
    const times = await timeImpls(c.name, impls, timing);
    for (const t of times) {
      if (t.name === 'ours') res.ours = t;
      else if (t.name === 'tfjs-webgpu') res.webgpu = t;
      else if (t.name === 'tfjs-wasm') res.wasm = t;
    }
    if (res.ours?.error) {
      res.status = 'ERROR';
      res.detail = res.ours.error;
    }
  } catch (e) {
    res.status = 'ERROR';
    res.detail = firstLine(e);
    console.log(`  ERROR: ${firstLine(e)}`);
  } finally {
    try {
      run?.dispose();
      disposePeerInputs();
      rt.getEngine().trim();
      await useBackend('cpu');
    } catch (e) {
      console.log(`  (cleanup: ${firstLine(e)})`);
    }
  }
  return res;
}

export async function main(opts: MainOptions): Promise<CaseResult[]> {
  const started = performance.now();
  await initNodeGPU();
  const summary = rt.adapterSummary();
  const peers = await initPeers();
  const cpuStart = sampleCpu();
  const info: RunInfo = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    node: process.version,
    adapter: { vendor: summary.vendor, architecture: summary.architecture, device: summary.device, description: summary.description, key: summary.key, features: summary.features },
    adapterKey: sanitizeKey(summary.key),
    peers: { ...peers, tfjs: tf.version.tfjs },
    timing: {},
  };
  console.log(`lrfr kernel bench — ${machineLine(info.machine)}, Node ${info.node}`);
  console.log(`adapter: ${summary.key}`);
  console.log(`tfjs ${tf.version.tfjs}: webgpu ${peers.webgpu ?? `ok (${peers.webgpuAdapter})`}, wasm ${peers.wasm ?? `ok (simd ${peers.wasmSimd}, threads ${peers.wasmThreads})`}`);
  // The adapter's measured peak (peak-FMA shader), the denominator of "% of peak".
  try {
    const peak = await measurePeak(opts.quick ? { targetMs: 80, runs: 3 } : {});
    info.peakGflops = peak.gflops;
    info.peak = { ...peak, variant: { ...peak.variant } };
  } catch (e) {
    console.log(`peak: ERROR ${firstLine(e)}`);
  }
  const timing: Partial<TimingOptions> = opts.quick ? { minSamples: 3, maxTime: 0.5, targetMs: 100, warmup: 1 } : {};
  info.timing = { ...defaultTiming, ...timing, log: undefined };

  let cases = CASES.filter((c) => opts.smoke || !c.name.includes('(smoke)'));
  if (opts.only?.length) cases = CASES.filter((c) => opts.only!.some((s) => c.name.toLowerCase().includes(s)));
  const results: CaseResult[] = [];
  if (opts.retune) rt.setTuneStore(new rt.MemoryTuneStore());
  if (opts.tune === false) rt.setAutotuneMode('off');
  for (const c of cases) results.push(await runCase(c, { webgpu: !peers.webgpu, wasm: !peers.wasm }, timing, opts.tune !== false));

  info.machine.loadavgEnd = os.loadavg();
  recordCpuShare(info, cpuStart, sampleCpu());
  console.log('\n' + textTable(results, info.peakGflops));
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(0)} s)`);
  if (opts.write !== false) {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const { json, md } = writeResults(opts.outDir ?? join(root, 'bench', 'results'), info.adapterKey, results, info);
    console.log(`wrote ${json}\n      ${md}`);
  }
  return results;
}
