// The model benchmark: forward latency per image (batch 1 and 32) and a training step (batch 32) of
// each model, ours vs tfjs-webgpu (same Dawn adapter) vs tfjs-wasm (1 thread). See bench/models.ts.
//
// Per model and mode (forward / train):
//  1. Correctness at batch 1: our output (training: loss and every parameter gradient) vs each tfjs
//     peer's own output on the same weights and input; per output tensor max|ours − peer| / max|peer|
//     must be <= 1e-3. A peer that disagrees is not timed; ours is not timed if no peer agrees.
//  2. Timing of each implementation at each batch: a warm-up launch (skipped when the batch-1 check
//     just ran the same thing), then a first timed launch. If it took < fastS, benny (timing.ts: K
//     launches per iteration calibrated to targetMs, one await each, median over samples); else our
//     own loop of 1-3 single-launch samples (3 under 5 s, 2 under 15 s, else 1; median). A case whose estimated launch time is over
//     maxSampleS (60 s; ours: maxSampleOursS, 120 s) (from the batch-1 time x 32, or 3 x the batch-32 forward for training) is recorded as
//     "skipped: too slow (est. X s)" without running it, and anything that would overrun the total
//     time budget as "skipped: time budget".
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initNodeGPU } from '../../src/node/gpu.js';
import * as rt from '../../src/runtime/index.js';
import { initPeers, tf, useBackend, tfFinish, type PeerName } from './peers.js';
import { timeImpls, type Impl, type TimingResult, type TimingOptions } from './timing.js';
import { sanitizeKey, type RunInfo } from './report.js';
import { measurePeak } from './peak.js';
import { allModels, MAX_BATCH, type ModelBench, type OursRun, type PeerRun } from './models-cases.js';
import { textTable, writeModelResults, type ImplName, type ImplResult, type ModelCaseResult, type Mode } from './models-report.js';

export interface ModelsOptions {
  only?: string[];
  quick?: boolean;
  outDir?: string;
  write?: boolean;
  /** A peer launch estimated (or warmed up) above this is skipped. */
  maxSampleS: number;
  /** The same for ours (the subject of the benchmark gets a longer leash). */
  maxSampleOursS: number;
  /** Total wall-time budget of the run (s); cases that would overrun it are skipped. */
  budgetS: number;
  batches: number[];
  /** Skip the tfjs peers (ours only). */
  noPeers?: boolean;
  /** Autotune our run before timing (default); false: the default variants. */
  tune?: boolean;
  /** Ignore the tune cache (tune afresh, in memory). */
  retune?: boolean;
}

export function parseArgs(argv: string[]): ModelsOptions {
  const o: ModelsOptions = { write: true, maxSampleS: 60, maxSampleOursS: 120, budgetS: 840, batches: [1, MAX_BATCH] };
  const num = (v: string | undefined, name: string) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x <= 0) throw new Error(`bench:models: ${name} needs a positive number, got ${v}`);
    return x;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') o.only = (argv[++i] ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    else if (a === '--quick') o.quick = true;
    else if (a === '--out') o.outDir = argv[++i];
    else if (a === '--no-write') o.write = false;
    else if (a === '--no-peers') o.noPeers = true;
    else if (a === '--no-tune') o.tune = false;
    else if (a === '--retune') o.retune = true;
    else if (a === '--max-sample') o.maxSampleS = num(argv[++i], a);
    else if (a === '--max-sample-ours') o.maxSampleOursS = num(argv[++i], a);
    else if (a === '--budget') o.budgetS = num(argv[++i], a);
    else if (a === '--batches') o.batches = (argv[++i] ?? '').split(',').map((s) => num(s, a));
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench:models -- [--only edgeface,dsr-cpu,dlib,dsr-paper,train] [--quick] [--max-sample 60] [--max-sample-ours 120] [--budget 840] [--batches 1,32] [--no-peers] [--no-tune | --retune] [--out DIR] [--no-write]');
      process.exit(0);
    } else throw new Error(`bench:models: unknown option ${a}`);
  }
  if (o.batches.some((b) => !Number.isInteger(b) || b > MAX_BATCH)) throw new Error(`bench:models: batches must be integers <= ${MAX_BATCH}`);
  return o;
}

const TOL = 1e-3;
/** First line of an error; for "WebGPU reported N error(s):" also the first line that says which. */
const firstLine = (e: unknown): string => {
  const lines = ((e as Error)?.message ?? String(e)).split('\n').map((l) => l.trim()).filter(Boolean);
  let out = lines[0] ?? '';
  if (out.endsWith(':')) {
    const why = lines.slice(1).find((l) => !l.endsWith(':') && !l.startsWith('-'));
    if (why) out += ` ${why}`;
  }
  return out.slice(0, 240);
};
const sec = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 1 : 0);

interface Budget {
  deadline: number;
  maxSampleMs: number;
  maxSampleOursMs: number;
  timing: Partial<TimingOptions>;
  fastMs: number;
}

// ---- correctness ------------------------------------------------------------------------------

async function readAll(ts: { data(): Promise<ArrayLike<number>> }[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of ts) out.push(Float32Array.from(await t.data()));
  return out;
}

/** Worst over output tensors of max|a − b| / max|b| (and the absolute diff there). NaN if any NaN. */
function compare(a: Float32Array[], b: Float32Array[]): { rel: number; abs: number; worst: number } {
  if (a.length !== b.length) throw new Error(`${a.length} outputs vs ${b.length} from the peer`);
  let rel = 0, abs = 0, worst = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!, y = b[k]!;
    if (x.length !== y.length) throw new Error(`output ${k}: ${x.length} elements vs ${y.length} from the peer`);
    let d = 0, m = 0;
    for (let i = 0; i < x.length; i++) {
      const di = Math.abs(x[i]! - y[i]!);
      if (Number.isNaN(di)) return { rel: NaN, abs: NaN, worst: k };
      if (di > d) d = di;
      m = Math.max(m, Math.abs(y[i]!));
    }
    const r = d / Math.max(m, 1e-30);
    if (r > rel) [rel, abs, worst] = [r, d, k];
  }
  return { rel, abs, worst };
}

async function oursCheck(run: OursRun): Promise<Float32Array[]> {
  const outs = rt.tidy(() => run.check());
  try {
    return await readAll(outs);
  } finally {
    for (const t of outs) if (!t.kept) t.dispose();
  }
}

async function peerCheck(run: PeerRun): Promise<Float32Array[]> {
  const outs = tf.tidy(() => run.check());
  try {
    return await readAll(outs);
  } finally {
    tf.dispose(outs);
  }
}

// ---- implementations --------------------------------------------------------------------------

function oursImpl(run: OursRun): Impl {
  const engine = rt.getEngine();
  return {
    name: 'ours',
    iterate: async (k) => {
      for (let i = 0; i < k; i++) rt.tidy(() => void run.step());
      await engine.sync();
    },
  };
}

function peerImpl(run: PeerRun, backend: PeerName): Impl {
  return {
    name: `tfjs-${backend}`,
    iterate: async (k) => {
      if (tf.getBackend() !== backend) await useBackend(backend);
      let last: tf.Tensor | null = null;
      for (let i = 0; i < k; i++) {
        const y = tf.tidy(() => run.step() ?? []);
        if (last) tf.dispose(last);
        last = y instanceof tf.Tensor ? y : null;
      }
      await tfFinish(last);
      if (last) tf.dispose(last);
    },
  };
}

async function timeOnce(impl: Impl): Promise<number> {
  const t0 = performance.now();
  await impl.iterate(1);
  return performance.now() - t0;
}

function loopResult(name: string, samples: number[]): TimingResult {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const median = n % 2 ? s[(n - 1) >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  const sd = n > 1 ? Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { name, k: 1, samples: n, msMedian: median, msMean: mean, msMin: s[0]!, rme: n > 1 ? (100 * 1.96 * sd) / Math.sqrt(n) / mean : NaN };
}

/** Warm-up (unless warm), then benny or our own loop; or a skip with the reason. */
async function timeImpl(label: string, impl: Impl, batch: number, o: { estMs?: number; warm: boolean }, b: Budget): Promise<ImplResult> {
  const res: ImplResult = { impl: impl.name as ImplName, status: 'ok' };
  const tag = `    ${impl.name.padEnd(12)}`;
  const left = () => b.deadline - performance.now();
  const cap = impl.name === 'ours' ? b.maxSampleOursMs : b.maxSampleMs;
  if (o.estMs !== undefined && o.estMs > cap) {
    console.log(`${tag} skipped: too slow (est. ${sec(o.estMs)} s per launch)`);
    return { ...res, status: 'skipped', detail: `too slow (est. ${sec(o.estMs)} s)`, estMs: o.estMs };
  }
  if (o.estMs !== undefined && o.estMs * (o.warm ? 1.5 : 2.5) > left()) {
    console.log(`${tag} skipped: time budget (est. ${sec(o.estMs)} s per launch, ${sec(Math.max(0, left()))} s left)`);
    return { ...res, status: 'skipped', detail: `time budget (est. ${sec(o.estMs)} s)`, estMs: o.estMs };
  }
  try {
    if (!o.warm) {
      const w = await timeOnce(impl);
      if (w > cap) {
        console.log(`${tag} skipped: too slow (warm-up launch took ${sec(w)} s)`);
        return { ...res, status: 'skipped', detail: `too slow (warm-up ${sec(w)} s)`, estMs: w };
      }
    }
    const t1 = await timeOnce(impl);
    if (t1 < b.fastMs) {
      const [t] = await timeImpls(`${label} ${impl.name}`, [impl], { ...b.timing, warmup: 0 });
      if (!t || t.error) throw new Error(t?.error ?? 'benny returned nothing');
      res.method = 'benny';
      res.timing = t;
    } else {
      const samples = [t1];
      const want = t1 < 5000 ? 3 : t1 < 15_000 ? 2 : 1;
      while (samples.length < want && t1 * 1.2 < left() - 30_000) samples.push(await timeOnce(impl));
      res.method = 'loop';
      res.timing = loopResult(impl.name, samples);
      console.log(`${tag} K=  1  ${res.timing.msMedian.toFixed(1)} ms/launch  (own loop, ${samples.length} sample${samples.length > 1 ? 's' : ''}: ${samples.map((s) => s.toFixed(0)).join(', ')} ms)`);
    }
    res.msPerImage = res.timing.msMedian / batch;
    res.imagesPerS = 1000 / res.msPerImage;
  } catch (e) {
    console.log(`${tag} ERROR ${firstLine(e)}`);
    return { ...res, status: 'error', detail: firstLine(e) };
  }
  return res;
}

// ---- one model --------------------------------------------------------------------------------

type Backend = 'webgpu' | 'wasm';
const implOf = (b: Backend): ImplName => `tfjs-${b}`;

interface Ctx {
  peers: Backend[];
  budget: Budget;
  only?: string[];
  batches: number[];
  tune: boolean;
}

/** Correctness at batch 1 for one mode; returns the batch-1 runs (kept for timing) and the verdicts. */
async function checkMode(m: ModelBench, mode: Mode, ctx: Ctx) {
  const label = `${m.name} ${mode}`;
  console.log(`\n${label}: correctness at batch 1 (ours vs each tfjs peer, max |diff| / max |peer| <= ${TOL})`);
  const verdict = new Map<ImplName, ImplResult>();
  const checkMs = new Map<ImplName, number>();
  let ours: OursRun | null = null;
  const peers = new Map<Backend, PeerRun>();
  let oursOut: Float32Array[] | null = null;
  try {
    const t0 = performance.now();
    ours = mode === 'forward' ? m.oursForward(1) : m.oursTrain!(1);
    oursOut = await oursCheck(ours);
    checkMs.set('ours', performance.now() - t0);
    verdict.set('ours', { impl: 'ours', status: 'ok' });
  } catch (e) {
    console.log(`  ours: ERROR ${firstLine(e)}`);
    verdict.set('ours', { impl: 'ours', status: 'error', detail: firstLine(e) });
  }
  let agreed = 0;
  for (const be of ctx.peers) {
    const name = implOf(be);
    let run: PeerRun | null = null;
    try {
      await useBackend(be);
      const t0 = performance.now();
      run = mode === 'forward' ? await m.peerForward(1) : await m.peerTrain!(1);
      const out = await peerCheck(run);
      checkMs.set(name, performance.now() - t0);
      if (!oursOut) {
        verdict.set(name, { impl: name, status: 'ok', detail: 'ours unavailable: peer not checked' });
      } else {
        const c = compare(oursOut, out);
        const ok = c.rel <= TOL;
        if (ok) agreed++;
        verdict.set(name, { impl: name, status: ok ? 'ok' : 'FAIL', check: { rel: c.rel, abs: c.abs, tol: TOL, output: c.worst }, detail: ok ? undefined : `ours vs ${name}: max diff / max |peer| ${c.rel.toExponential(2)} > ${TOL} (output ${c.worst})` });
        console.log(`  ours vs ${name.padEnd(12)} ${c.rel.toExponential(2)} relative (abs ${c.abs.toExponential(2)}${c.worst ? `, output ${c.worst}` : ''}) ${ok ? 'ok' : 'FAIL'}  [${sec(checkMs.get(name)!)} s]`);
      }
      if (verdict.get(name)!.status === 'ok') peers.set(be, run);
      else run.dispose();
    } catch (e) {
      run?.dispose();
      const k = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(firstLine(e));
      if (k) {
        console.log(`  ${name}: n/a (tfjs ${tf.version.tfjs} ${k[2]} has no ${k[1]} kernel)`);
        verdict.set(name, { impl: name, status: 'n/a', detail: `no ${k[1]} kernel in tfjs-${k[2]} ${tf.version.tfjs}` });
      } else {
        console.log(`  ${name}: ERROR ${firstLine(e)}`);
        verdict.set(name, { impl: name, status: 'error', detail: firstLine(e) });
      }
    }
  }
  if (verdict.get('ours')!.status === 'ok' && ctx.peers.length && !agreed) {
    verdict.set('ours', { impl: 'ours', status: 'FAIL', detail: 'no tfjs peer agrees with ours at batch 1' });
  }
  return { ours: verdict.get('ours')!.status === 'ok' ? ours : (ours?.dispose(), null), peers, verdict, checkMs };
}

async function runModel(m: ModelBench, ctx: Ctx): Promise<ModelCaseResult[]> {
  const results: ModelCaseResult[] = [];
  const tokens = ctx.only ?? [];
  const modeTokens = tokens.filter((t) => t === 'forward' || t === 'train');
  const modelTokens = tokens.filter((t) => t !== 'forward' && t !== 'train');
  if (modelTokens.length && !modelTokens.some((t) => m.name.toLowerCase().includes(t))) return results;
  const modes: Mode[] = (['forward', 'train'] as Mode[]).filter((md) => (md === 'forward' || m.oursTrain) && (!modeTokens.length || modeTokens.includes(md)));
  if (!modes.length) return results;
  console.log(`\n=== ${m.name}: preparing`);
  await m.prepare();
  /** ms per launch measured at batch 32 forward, per impl (for the training estimate). */
  const fwd32 = new Map<ImplName, number>();
  for (const mode of modes) {
    const base = { model: m.name, mode, input: m.input, params: m.params, flopsPerImage: m.flopsPerImage, loss: mode === 'train' ? m.trainLoss : undefined };
    const batches = mode === 'train' ? [MAX_BATCH] : ctx.batches;
    const chk = await checkMode(m, mode, ctx);
    /** ms per image at batch 1, per impl (estimates for larger batches). */
    const perImage1 = new Map<ImplName, number>();
    for (const batch of batches) {
      const label = `${m.name} ${mode} b${batch}`;
      console.log(`\n${label}`);
      const row: ModelCaseResult = { ...base, batch, ours: { impl: 'ours', status: 'n/a' }, peers: {} };
      const impls: { name: ImplName; make: () => Promise<{ impl: Impl; dispose: () => void; warm: boolean }> }[] = [];
      const v = chk.verdict;
      if (v.get('ours')!.status === 'ok') {
        impls.push({
          name: 'ours',
          make: async () => {
            if (batch === 1 && chk.ours && mode === 'forward') return { impl: oursImpl(chk.ours), dispose: () => undefined, warm: true };
            const run = mode === 'forward' ? m.oursForward(batch) : m.oursTrain!(batch);
            if (ctx.tune) {
              // Per-adapter kernel choice for this model and batch (cached shape classes are reused).
              const t0 = performance.now();
              const rep = await rt.autotune(() => run.step());
              row.variants = rep.used;
              const picked = rep.used.filter((u) => u.variant !== 'default');
              console.log(`    autotune: ${rep.tuned.length} shape classes timed, ${rep.used.length} used, non-default: ${picked.map((u) => `${u.name} ${u.shapeClass} ${u.variant}`).join('; ') || 'none'} [${((performance.now() - t0) / 1000).toFixed(1)} s]`);
            }
            return { impl: oursImpl(run), dispose: () => run.dispose(), warm: false };
          },
        });
      }
      for (const be of ctx.peers) {
        const name = implOf(be);
        if (v.get(name)?.status !== 'ok') continue;
        impls.push({
          name,
          make: async () => {
            await useBackend(be);
            const kept = chk.peers.get(be);
            if (batch === 1 && kept && mode === 'forward') return { impl: peerImpl(kept, be), dispose: () => undefined, warm: true };
            const run = mode === 'forward' ? await m.peerForward(batch) : await m.peerTrain!(batch);
            return { impl: peerImpl(run, be), dispose: () => run.dispose(), warm: false };
          },
        });
      }
      const all: ImplName[] = ['ours', ...ctx.peers.map(implOf)];
      for (const name of all) {
        const vv = v.get(name)!;
        const spec = impls.find((i) => i.name === name);
        let r: ImplResult;
        if (!spec) {
          r = { ...vv };
        } else {
          let estMs: number | undefined;
          if (batch === 1 && mode === 'forward') estMs = undefined; // the check ran it: warm
          else if (mode === 'forward') estMs = perImage1.has(name) ? perImage1.get(name)! * batch : (chk.checkMs.get(name) ?? 0) * batch;
          else estMs = fwd32.has(name) ? 3 * fwd32.get(name)! : (chk.checkMs.get(name) ?? 0) * batch;
          let made: Awaited<ReturnType<typeof spec.make>> | null = null;
          try {
            // Skip before building (building a batch-32 peer can itself take a while).
            if (estMs !== undefined && estMs > (name === 'ours' ? ctx.budget.maxSampleOursMs : ctx.budget.maxSampleMs)) {
              r = await timeImpl(label, { name, iterate: async () => undefined }, batch, { estMs, warm: false }, ctx.budget);
            } else {
              made = await spec.make();
              r = await timeImpl(label, made.impl, batch, { estMs, warm: made.warm }, ctx.budget);
            }
          } catch (e) {
            console.log(`    ${name.padEnd(12)} ERROR ${firstLine(e)}`);
            r = { impl: name, status: 'error', detail: firstLine(e) };
          } finally {
            try {
              made?.dispose();
            } catch (e) {
              console.log(`    (cleanup: ${firstLine(e)})`);
            }
          }
          r.check = vv.check;
          if (r.status === 'ok' && batch === 1) perImage1.set(name, r.msPerImage!);
          if (r.status === 'ok' && mode === 'forward' && batch === MAX_BATCH) fwd32.set(name, r.timing!.msMedian);
        }
        if (name === 'ours') row.ours = r;
        else row.peers[name] = r;
      }
      results.push(row);
      rt.getEngine().trim();
    }
    chk.ours?.dispose();
    for (const p of chk.peers.values()) p.dispose();
    await useBackend('cpu');
  }
  m.dispose();
  rt.getEngine().trim();
  return results;
}

export async function main(opts: ModelsOptions): Promise<ModelCaseResult[]> {
  const started = performance.now();
  await initNodeGPU();
  const summary = rt.adapterSummary();
  const peers = opts.noPeers ? { webgpu: 'disabled (--no-peers)', wasm: 'disabled (--no-peers)' } : await initPeers();
  const cpus = os.cpus();
  const info: RunInfo = {
    date: new Date().toISOString(),
    machine: { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, os: `${os.type()} ${os.release()} ${os.arch()}`, memGiB: Math.round(os.totalmem() / 2 ** 30), loadavgStart: os.loadavg() },
    node: process.version,
    adapter: { vendor: summary.vendor, architecture: summary.architecture, device: summary.device, description: summary.description, key: summary.key },
    adapterKey: sanitizeKey(summary.key),
    peers: { ...peers, tfjs: tf.version.tfjs },
    timing: {},
  };
  console.log(`lrfr model bench — ${info.machine.cpu} (${info.machine.cores} cores, load ${info.machine.loadavgStart.map((v) => v.toFixed(2)).join(' ')}), Node ${info.node}`);
  console.log(`adapter: ${summary.key}`);
  console.log(`tfjs ${tf.version.tfjs}: webgpu ${peers.webgpu ?? `ok (${(peers as { webgpuAdapter?: string }).webgpuAdapter})`}, wasm ${peers.wasm ?? 'ok'}`);
  const timing: Partial<TimingOptions> = opts.quick
    ? { targetMs: 150, maxK: 32, minSamples: 3, maxTime: 0.5 }
    : { targetMs: 300, maxK: 64, minSamples: 5, maxTime: 1.5 };
  const budget: Budget = { deadline: started + opts.budgetS * 1000, maxSampleMs: opts.maxSampleS * 1000, maxSampleOursMs: opts.maxSampleOursS * 1000, timing, fastMs: 1500 };
  info.timing = {
    benny: { ...timing, warmup: 'one untimed launch (or the batch-1 correctness run), then one timed launch that picks the method' },
    loop: 'launches of >= 1.5 s: own loop of single launches, 3 samples if the first timed one took < 5 s, 2 if < 15 s, else 1; median',
    maxSampleS: opts.maxSampleS,
    maxSampleOursS: opts.maxSampleOursS,
    budgetS: opts.budgetS,
    tolerance: `${TOL} (max |ours − peer| / max |peer| per output tensor, batch 1)`,
  };
  const peerList: Backend[] = opts.noPeers ? [] : (['webgpu', 'wasm'] as const).filter((b) => !peers[b]);
  const ctx: Ctx = { peers: peerList, budget, only: opts.only, batches: opts.batches, tune: opts.tune !== false };
  if (opts.retune) rt.setTuneStore(new rt.MemoryTuneStore());
  if (opts.tune === false) rt.setAutotuneMode('off');
  // The adapter's measured peak (peak-FMA shader), the denominator of "% of peak".
  try {
    const peak = await measurePeak(opts.quick ? { targetMs: 80, runs: 3 } : {});
    info.peakGflops = peak.gflops;
    info.peak = { ...peak, variant: { ...peak.variant } };
    console.log(`peak: ${peak.gflops.toFixed(1)} GFLOP/s`);
  } catch (e) {
    console.log(`peak: ERROR ${firstLine(e)}`);
  }
  const results: ModelCaseResult[] = [];
  for (const m of allModels()) {
    try {
      results.push(...await runModel(m, ctx));
    } catch (e) {
      console.log(`${m.name}: ERROR ${firstLine(e)}`);
      results.push({ model: m.name, mode: 'forward', batch: 1, input: m.input, params: m.params, ours: { impl: 'ours', status: 'error', detail: firstLine(e) }, peers: {} });
      try {
        m.dispose();
      } catch {
        // already reported
      }
    }
  }
  info.machine.loadavgEnd = os.loadavg();
  const wall = (performance.now() - started) / 1000;
  (info.timing as Record<string, unknown>).wallS = Math.round(wall);
  if (info.machine.loadavgStart[0]! > 0.5 || info.machine.loadavgEnd[0]! > 0.5) {
    info.disturbed = `load average ${info.machine.loadavgStart.map((v) => v.toFixed(2)).join('/')} at start, ${info.machine.loadavgEnd.map((v) => v.toFixed(2)).join('/')} at end on ${info.machine.cores} cores: other processes were running, timings are disturbed.`;
  }
  console.log('\n' + textTable(results, info.peakGflops));
  console.log(`\n(${wall.toFixed(0)} s; load ${info.machine.loadavgEnd.map((v) => v.toFixed(2)).join(' ')} at end)`);
  if (opts.write !== false) {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const { json, md } = writeModelResults(opts.outDir ?? join(root, 'bench', 'results'), info.adapterKey, results, info);
    console.log(`wrote ${json}\n      ${md}`);
  }
  return results;
}
