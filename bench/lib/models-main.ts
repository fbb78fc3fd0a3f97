// The model benchmark: forward latency per image (batch 1 and 32) and a training step (batch 32) of
// each model, ours vs PyTorch on the CPU (2 threads) vs ONNX Runtime (onnxruntime-node, CPU, 2
// threads; forward only) vs tfjs-webgpu (same Dawn adapter) vs tfjs-wasm (1 thread). See bench/models.ts.
//
// Per model and mode (forward / train):
//  1. Correctness at batch 1: our output (training: loss and every parameter gradient) vs each peer's
//     own output on the same weights and input; per output tensor max|ours − peer| / max|peer| must be
//     <= 1e-3 (compare.ts). A peer that disagrees is not timed; ours is not timed if no peer agrees.
//     torch and ort get our weights and inputs as safetensors files (peer-files.ts) in a temp dir.
//  2. Timing at each batch, in two phases. Set-up: each implementation in turn is built (ours is
//     autotuned), gets a warm-up launch (skipped when the batch-1 check just ran the same thing) and,
//     for a training step, its memory is measured (ours: the pool's peak bytes over one step; torch:
//     peak RSS of a fresh process). Repeats: `repeats` rounds, each timing every implementation once,
//     in turn (ours, torch, ort, tfjs-webgpu, tfjs-wasm, ours, ...), so a slow minute of the machine
//     hits them all alike and the python peer never runs while another is being timed. One repeat =
//     one timed launch; if it took < fastS, benny (timing.ts: K launches per iteration calibrated to
//     targetMs, one await each, median over samples) gives the repeat's figure, else that launch does.
//     Before each round, the peak-FMA kernel runs 3 launches (peak.ts hostGflops): the host's speed
//     at that moment. Reported: median, min and max over the repeats, and their spread; the per-round
//     ratios to each peer; ours divided by the host's speed. A case whose estimated launch
//     time is over maxSampleS (60 s; ours: maxSampleOursS, 120 s) (from the batch-1 time x 32, or 3 x
//     the batch-32 forward for training) is recorded as "skipped: too slow (est. X s)" without running
//     it, and anything that would overrun the total time budget as "skipped: time budget" (repeats
//     that would overrun it are dropped, and the result says how many ran).
import os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initNodeGPU } from '../../src/node/gpu.js';
import * as rt from '../../src/runtime/index.js';
import { initPeers, tf, useBackend, tfFinish, type PeerName } from './peers.js';
import { timeImpls, type Impl, type TimingResult, type TimingOptions } from './timing.js';
import { sanitizeKey, recordCpuShare, type RunInfo } from './report.js';
import { sampleCpu } from './cpu-share.js';
import { hostGflops, measurePeak, type PeakResult } from './peak.js';
import { compare, compareL2, TOL, WINOGRAD_L2_TOL } from './compare.js';
import { writePeerFiles, readPeerOutputs, type PeerExport } from './peer-files.js';
import { TorchPeer, torchMissing, torchTrainRss, TORCH_THREADS } from './peer-torch.js';
import { loadOrt, ortRun, ORT_THREADS } from './peer-ort.js';
import { allModels, MAX_BATCH, type ModelBench, type OursRun, type PeerRun } from './models-cases.js';
import { machineInfo, machineLine } from './machine.js';
import { median } from './stats.js';
import {
  textTable, writeModelResults, type ImplName, type ImplResult, type MemoryResult, type ModelCaseResult, type Mode, type RepeatResult,
} from './models-report.js';

export type PeerKey = Exclude<ImplName, 'ours'>;
export const ALL_PEERS: PeerKey[] = ['torch', 'ort', 'tfjs-webgpu', 'tfjs-wasm'];

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
  /** The peers to run (--peers a,b; --no-peers: none). */
  peers: PeerKey[];
  /** Timings per implementation and case, interleaved across implementations. */
  repeats: number;
  /** Autotune our run before timing (default); false: the default variants. */
  tune?: boolean;
  /** Ignore the tune cache (tune afresh, in memory). */
  retune?: boolean;
}

const USAGE = 'usage: npm run bench:models -- [--only edgeface,dsr-cpu,dlib,dsr-paper,forward,train] [--quick] [--repeats 3] [--peers torch,ort,tfjs-webgpu,tfjs-wasm | --no-peers] [--max-sample 60] [--max-sample-ours 120] [--budget 1800] [--batches 1,32] [--no-tune | --retune] [--out DIR] [--no-write]';

export function parseArgs(argv: string[]): ModelsOptions {
  const o: ModelsOptions = { write: true, maxSampleS: 60, maxSampleOursS: 120, budgetS: 1800, batches: [1, MAX_BATCH], peers: [...ALL_PEERS], repeats: 3 };
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
    else if (a === '--no-peers') o.peers = [];
    else if (a === '--peers') {
      const list = (argv[++i] ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
      const bad = list.filter((p) => !(ALL_PEERS as string[]).includes(p));
      if (bad.length) throw new Error(`bench:models: unknown peer ${bad.join(', ')} (peers: ${ALL_PEERS.join(', ')})`);
      o.peers = ALL_PEERS.filter((p) => list.includes(p));
    } else if (a === '--repeats') {
      o.repeats = num(argv[++i], a);
      if (!Number.isInteger(o.repeats)) throw new Error(`bench:models: --repeats needs an integer, got ${o.repeats}`);
    } else if (a === '--no-tune') o.tune = false;
    else if (a === '--retune') o.retune = true;
    else if (a === '--max-sample') o.maxSampleS = num(argv[++i], a);
    else if (a === '--max-sample-ours') o.maxSampleOursS = num(argv[++i], a);
    else if (a === '--budget') o.budgetS = num(argv[++i], a);
    else if (a === '--batches') o.batches = (argv[++i] ?? '').split(',').map((s) => num(s, a));
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`bench:models: unknown option ${a}\n${USAGE}`);
  }
  if (o.batches.some((b) => !Number.isInteger(b) || b > MAX_BATCH)) throw new Error(`bench:models: batches must be integers <= ${MAX_BATCH}`);
  return o;
}

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
  repeats: number;
}

// ---- correctness ------------------------------------------------------------------------------

async function readAll(ts: { data(): Promise<ArrayLike<number>> }[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of ts) out.push(Float32Array.from(await t.data()));
  return out;
}

/** fn with convVariants.winogradRecorded set to on (restored after). */
async function withRecordedWinograd<T>(on: boolean, fn: () => Promise<T>): Promise<T> {
  const saved = rt.convVariants.winogradRecorded;
  rt.convVariants.winogradRecorded = on;
  try {
    return await fn();
  } finally {
    rt.convVariants.winogradRecorded = saved;
  }
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

/** torch: K launches in the python process (one request; the time is measured here, like the others'). */
function torchImpl(torch: TorchPeer, id: string, mode: Mode, batch: number): Impl {
  return { name: 'torch', iterate: async (k) => void (await torch.run(id, mode, batch, k)) };
}

/** ort: K session.run calls, each awaited (onnxruntime-node runs on its own threads meanwhile). */
function ortImpl(run: { run(): Promise<Float32Array> }): Impl {
  return {
    name: 'ort',
    iterate: async (k) => {
      for (let i = 0; i < k; i++) await run.run();
    },
  };
}

async function timeOnce(impl: Impl): Promise<number> {
  const t0 = performance.now();
  await impl.iterate(1);
  return performance.now() - t0;
}

/** One repeat: a timed launch, then benny when it was fast, else that launch is the figure. */
async function timeRepeat(label: string, impl: Impl, b: Budget): Promise<RepeatResult> {
  const tag = `    ${impl.name.padEnd(12)}`;
  const t1 = await timeOnce(impl);
  if (t1 < b.fastMs) {
    const [t] = await timeImpls(`${label} ${impl.name}`, [impl], { ...b.timing, warmup: 0 });
    if (!t || t.error) throw new Error(t?.error ?? 'benny returned nothing');
    return { method: 'benny', ms: t.msMedian, k: t.k, samples: t.samples };
  }
  console.log(`${tag} K=  1  ${t1.toFixed(1)} ms/launch  (one launch)`);
  return { method: 'loop', ms: t1, k: 1, samples: 1 };
}

/** Median / min / max over the repeats into the result (ms per launch -> per image, img/s). */
function summarise(r: ImplResult, reps: RepeatResult[], batch: number): void {
  const ms = reps.map((x) => x.ms).sort((a, b) => a - b);
  const n = ms.length;
  const med = median(ms);
  const mean = ms.reduce((a, b) => a + b, 0) / n;
  r.repeats = reps;
  r.method = reps[0]!.method;
  r.timing = { name: r.impl, k: reps[0]!.k, samples: reps.reduce((a, x) => a + x.samples, 0), msMedian: med, msMean: mean, msMin: ms[0]!, rme: NaN };
  r.msPerImage = med / batch;
  r.imagesPerS = 1000 / r.msPerImage;
  r.imagesPerSMin = (1000 * batch) / ms[n - 1]!;
  r.imagesPerSMax = (1000 * batch) / ms[0]!;
  r.spread = (r.imagesPerSMax - r.imagesPerSMin) / r.imagesPerS;
}

// ---- peers ------------------------------------------------------------------------------------

type Backend = 'webgpu' | 'wasm';
const implOf = (b: Backend): ImplName => `tfjs-${b}`;

/** The peers this run has, and why the others are off. */
interface PeerEnv {
  tfjs: Backend[];
  /** Running when torch or ort is on (ort's graphs come from its export). */
  torch: TorchPeer | null;
  /** Time torch (else it only exports the ONNX graphs). */
  torchTimed: boolean;
  ort: boolean;
  /** Why a selected peer is off. */
  off: Partial<Record<PeerKey, string>>;
  tmp: string;
}

/** Per model: what torch and ort were given (files, the ONNX graph) or why they cannot run it. */
interface ModelPeers {
  id: string;
  exp?: PeerExport;
  spec?: string;
  onnx?: string;
  torchErr?: string;
  ortErr?: string;
}

async function setUpModelPeers(m: ModelBench, env: PeerEnv): Promise<ModelPeers> {
  const mp: ModelPeers = { id: m.name };
  if (!env.torch) return mp;
  if (!m.peerExport) {
    mp.torchErr = mp.ortErr = 'no PyTorch port of this model';
    return mp;
  }
  const dir = join(env.tmp, m.name.replace(/[^A-Za-z0-9_-]+/g, '_'));
  try {
    mp.exp = m.peerExport();
    const spec = writePeerFiles(dir, mp.exp);
    mp.spec = join(dir, 'spec.json'); // the fresh process of the RSS measurement reads it
    const t0 = performance.now();
    await env.torch.load(mp.id, spec);
    console.log(`  torch: ${m.name} built with our weights [${sec(performance.now() - t0)} s]`);
  } catch (e) {
    mp.torchErr = mp.ortErr = firstLine(e);
    console.log(`  torch: ERROR ${mp.torchErr}`);
    return mp;
  }
  if (env.ort) {
    try {
      const t0 = performance.now();
      mp.onnx = join(dir, 'model.onnx');
      await env.torch.exportOnnx(mp.id, mp.onnx, 17);
      console.log(`  ort: ${m.name} exported to ONNX (opset 17, dynamic batch) [${sec(performance.now() - t0)} s]`);
    } catch (e) {
      mp.ortErr = `ONNX export: ${firstLine(e)}`;
      console.log(`  ort: ERROR ${mp.ortErr}`);
    }
  }
  return mp;
}

const pixels = (exp: PeerExport) => exp.x.shape.slice(1).reduce((a, b) => a * b, 1);
const xOf = (exp: PeerExport, n: number) => ({ data: exp.x.data.subarray(0, n * pixels(exp)), shape: [n, ...exp.x.shape.slice(1)] });

// ---- one model --------------------------------------------------------------------------------

interface Ctx {
  env: PeerEnv;
  budget: Budget;
  only?: string[];
  batches: number[];
  tune: boolean;
  /** The adapter's measured peak: its variant, launched before each round, follows the host's speed. */
  peak?: PeakResult;
}

/** The peers of a mode in table order (ort has no training step). */
function peersOf(ctx: Ctx, mode: Mode): ImplName[] {
  const out: ImplName[] = [];
  if (ctx.env.torch && ctx.env.torchTimed) out.push('torch');
  if (ctx.env.ort && mode === 'forward') out.push('ort');
  out.push(...ctx.env.tfjs.map(implOf));
  return out;
}

/** An implementation ready to time; dispose() frees what make() built. */
interface Made {
  impl: Impl;
  dispose: () => void | Promise<void>;
  warm: boolean;
}

/** Correctness at batch 1 for one mode; returns the batch-1 runs (kept for timing) and the verdicts. */
async function checkMode(m: ModelBench, mode: Mode, ctx: Ctx, mp: ModelPeers) {
  const label = `${m.name} ${mode}`;
  console.log(`\n${label}: correctness at batch 1 (ours vs each peer, max |diff| / max |peer| <= ${TOL})`);
  const verdict = new Map<ImplName, ImplResult>();
  const checkMs = new Map<ImplName, number>();
  let ours: OursRun | null = null;
  /** Batch-1 forward runs of the peers that agreed, reused (warm) for batch-1 timing. */
  const kept = new Map<ImplName, Made>();
  let oursOut: Float32Array[] | null = null;
  try {
    const t0 = performance.now();
    ours = mode === 'forward' ? m.oursForward(1) : m.oursTrain!(1);
    const run = ours;
    let wino: ReturnType<typeof compareL2> | null = null;
    if (mode === 'train' && rt.convVariants.winogradRecorded) {
      // The peers are checked against direct forward convs; the timed step's Winograd forwards
      // against those, in L2 (compare.ts, WINOGRAD_L2_TOL).
      oursOut = await withRecordedWinograd(false, () => oursCheck(run));
      wino = compareL2(await oursCheck(run), oursOut);
    } else oursOut = await oursCheck(run);
    checkMs.set('ours', performance.now() - t0);
    // The first run compiled the model's pipelines (seconds each on lavapipe): time a warm one for
    // the estimates that decide what is too slow to run (a train-only run has no batch-32 forward
    // to estimate from, and a cold batch-1 step x 32 read 125 s for EdgeFace-XXS's 0.5 s step).
    const t1 = performance.now();
    await oursCheck(ours);
    checkMs.set('ours', performance.now() - t1);
    const winograd = wino ? { l2: wino.rel, tol: WINOGRAD_L2_TOL, output: wino.worst } : undefined;
    if (wino) console.log(`  ours, Winograd vs direct forward convs: ${wino.rel.toExponential(2)} relative L2 (output ${wino.worst}) ${wino.rel <= WINOGRAD_L2_TOL ? 'ok' : 'FAIL'}`);
    verdict.set('ours', wino && !(wino.rel <= WINOGRAD_L2_TOL)
      ? { impl: 'ours', status: 'FAIL', winograd, detail: `Winograd vs direct forward convs: relative L2 ${wino.rel.toExponential(2)} > ${WINOGRAD_L2_TOL} (output ${wino.worst})` }
      : { impl: 'ours', status: 'ok', winograd });
  } catch (e) {
    console.log(`  ours: ERROR ${firstLine(e)}`);
    verdict.set('ours', { impl: 'ours', status: 'error', detail: firstLine(e) });
  }
  let agreed = 0, attempted = 0;
  /** Compares a peer's outputs with ours and records the verdict; true when it agrees. */
  const judge = (name: ImplName, out: Float32Array[], ms: number): boolean => {
    checkMs.set(name, ms);
    attempted++;
    if (!oursOut) {
      verdict.set(name, { impl: name, status: 'ok', detail: 'ours unavailable: peer not checked' });
      return true;
    }
    const c = compare(oursOut, out);
    const ok = c.rel <= TOL;
    if (ok) agreed++;
    verdict.set(name, { impl: name, status: ok ? 'ok' : 'FAIL', check: { rel: c.rel, abs: c.abs, tol: TOL, output: c.worst }, detail: ok ? undefined : `ours vs ${name}: max diff / max |peer| ${c.rel.toExponential(2)} > ${TOL} (output ${c.worst})` });
    console.log(`  ours vs ${name.padEnd(12)} ${c.rel.toExponential(2)} relative (abs ${c.abs.toExponential(2)}${c.worst ? `, output ${c.worst}` : ''}) ${ok ? 'ok' : 'FAIL'}  [${sec(ms)} s]`);
    return ok;
  };
  const error = (name: ImplName, detail: string, status: 'error' | 'n/a' = 'error') => {
    if (status === 'error') attempted++;
    console.log(`  ${name}: ${status === 'error' ? 'ERROR' : 'n/a:'} ${detail}`);
    verdict.set(name, { impl: name, status, detail });
  };
  for (const name of peersOf(ctx, mode)) {
    if (name === 'torch') {
      if (mp.torchErr) error(name, mp.torchErr, mp.exp ? 'error' : 'n/a');
      else {
        try {
          const t0 = performance.now();
          const out = join(ctx.env.tmp, `check-${mode}.safetensors`);
          await ctx.env.torch!.check(mp.id, mode, out);
          judge(name, readPeerOutputs(out), performance.now() - t0);
        } catch (e) {
          error(name, firstLine(e));
        }
      }
    } else if (name === 'ort') {
      if (mp.ortErr || !mp.onnx) error(name, mp.ortErr ?? 'no ONNX graph', mp.exp ? 'error' : 'n/a');
      else {
        let run: Awaited<ReturnType<typeof ortRun>> | null = null;
        try {
          const t0 = performance.now();
          const x = xOf(mp.exp!, 1);
          run = await ortRun(mp.onnx, x.data, x.shape);
          const out = [await run.run()];
          if (judge(name, out, performance.now() - t0)) {
            const r = run;
            kept.set(name, { impl: ortImpl(r), dispose: () => r.dispose(), warm: true });
          } else await run.dispose();
        } catch (e) {
          await run?.dispose();
          error(name, firstLine(e));
        }
      }
    } else {
      const be = name.replace('tfjs-', '') as Backend;
      let run: PeerRun | null = null;
      try {
        await useBackend(be);
        const t0 = performance.now();
        run = mode === 'forward' ? await m.peerForward(1) : await m.peerTrain!(1);
        if (judge(name, await peerCheck(run), performance.now() - t0)) {
          const r = run;
          kept.set(name, { impl: peerImpl(r, be), dispose: () => r.dispose(), warm: true });
        } else run.dispose();
      } catch (e) {
        run?.dispose();
        const k = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(firstLine(e));
        if (k) error(name, `no ${k[1]} kernel in tfjs-${k[2]} ${tf.version.tfjs}`, 'n/a');
        else error(name, firstLine(e));
      }
    }
  }
  if (verdict.get('ours')!.status === 'ok' && attempted && !agreed) {
    verdict.set('ours', { impl: 'ours', status: 'FAIL', detail: 'no peer agrees with ours at batch 1' });
  }
  return { ours: verdict.get('ours')!.status === 'ok' ? ours : (ours?.dispose(), null), kept, verdict, checkMs };
}

/** Our pool's peak bytes in use over one launch of a (built, warmed-up) training step. */
async function oursStepMemory(impl: Impl): Promise<Pick<MemoryResult, 'oursPeakGpuBytes' | 'oursBaseGpuBytes'>> {
  const pool = rt.getEngine().pool;
  pool.resetPeak();
  const base = pool.getStats().bytesInUse;
  await impl.iterate(1);
  return { oursBaseGpuBytes: base, oursPeakGpuBytes: pool.getStats().peakBytesInUse };
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
  const mp = await setUpModelPeers(m, ctx.env);
  const b = ctx.budget;
  const left = () => b.deadline - performance.now();
  /** ms per launch measured at batch 32 forward, per impl (for the training estimate). */
  const fwd32 = new Map<ImplName, number>();
  for (const mode of modes) {
    const base = { model: m.name, mode, input: m.input, params: m.params, flopsPerImage: m.flopsPerImage, loss: mode === 'train' ? m.trainLoss : undefined };
    const batches = mode === 'train' ? [MAX_BATCH] : ctx.batches;
    const chk = await checkMode(m, mode, ctx, mp);
    // The batch-1 training run is not timed (training is timed at batch 32): free its AdamW state
    // now, so that the memory measured for the batch-32 step is that step's alone.
    if (mode === 'train') {
      chk.ours?.dispose();
      chk.ours = null;
    }
    /** ms per image at batch 1, per impl (estimates for larger batches). */
    const perImage1 = new Map<ImplName, number>();
    const all: ImplName[] = ['ours', ...peersOf(ctx, mode)];
    for (const batch of batches) {
      const label = `${m.name} ${mode} b${batch}`;
      console.log(`\n${label}`);
      const row: ModelCaseResult = { ...base, batch, ours: { impl: 'ours', status: 'n/a' }, peers: {} };
      const v = chk.verdict;
      const make = async (name: ImplName): Promise<Made> => {
        const reuse = batch === 1 && mode === 'forward';
        if (name === 'ours') {
          if (reuse && chk.ours) return { impl: oursImpl(chk.ours), dispose: () => undefined, warm: true };
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
        }
        const k = chk.kept.get(name);
        if (reuse && k) return { ...k, dispose: () => undefined }; // disposed with the mode
        if (name === 'torch') {
          await ctx.env.torch!.prepare(mp.id, mode, batch);
          return { impl: torchImpl(ctx.env.torch!, mp.id, mode, batch), dispose: () => undefined, warm: false };
        }
        if (name === 'ort') {
          const x = xOf(mp.exp!, batch);
          const run = await ortRun(mp.onnx!, x.data, x.shape);
          return { impl: ortImpl(run), dispose: () => run.dispose(), warm: false };
        }
        const be = name.replace('tfjs-', '') as Backend;
        await useBackend(be);
        const run = mode === 'forward' ? await m.peerForward(batch) : await m.peerTrain!(batch);
        return { impl: peerImpl(run, be), dispose: () => run.dispose(), warm: false };
      };

      // Set-up phase: build, skip what is too slow, warm up, measure a training step's memory.
      const live: { name: ImplName; made: Made; res: ImplResult; reps: RepeatResult[]; lastMs: number }[] = [];
      const done = new Map<ImplName, ImplResult>();
      for (const name of all) {
        const vv = v.get(name)!;
        const res: ImplResult = { impl: name, status: 'ok', check: vv.check, winograd: vv.winograd };
        if (vv.status !== 'ok') {
          done.set(name, { ...vv });
          continue;
        }
        const tag = `    ${name.padEnd(12)}`;
        const cap = name === 'ours' ? b.maxSampleOursMs : b.maxSampleMs;
        let estMs: number | undefined;
        if (batch === 1 && mode === 'forward') estMs = undefined; // the check ran it: warm
        else if (mode === 'forward') estMs = perImage1.has(name) ? perImage1.get(name)! * batch : (chk.checkMs.get(name) ?? 0) * batch;
        else estMs = fwd32.has(name) ? 3 * fwd32.get(name)! : (chk.checkMs.get(name) ?? 0) * batch;
        if (estMs !== undefined && estMs > cap) {
          console.log(`${tag} skipped: too slow (est. ${sec(estMs)} s per launch)`);
          done.set(name, { ...res, status: 'skipped', detail: `too slow (est. ${sec(estMs)} s)`, estMs });
          continue;
        }
        if (estMs !== undefined && estMs * (b.repeats + 1.5) > left()) {
          console.log(`${tag} skipped: time budget (est. ${sec(estMs)} s per launch, ${sec(Math.max(0, left()))} s left)`);
          done.set(name, { ...res, status: 'skipped', detail: `time budget (est. ${sec(estMs)} s)`, estMs });
          continue;
        }
        let made: Made | null = null;
        try {
          made = await make(name);
          let lastMs = estMs ?? 0;
          if (!made.warm) {
            lastMs = await timeOnce(made.impl);
            if (lastMs > cap) {
              console.log(`${tag} skipped: too slow (warm-up launch took ${sec(lastMs)} s)`);
              done.set(name, { ...res, status: 'skipped', detail: `too slow (warm-up ${sec(lastMs)} s)`, estMs: lastMs });
              await made.dispose();
              continue;
            }
          }
          if (mode === 'train' && batch === MAX_BATCH && name === 'ours') {
            row.memory = { ...row.memory, ...await oursStepMemory(made.impl) };
            console.log(`${tag} peak GPU bytes in use over one step: ${(row.memory.oursPeakGpuBytes! / 2 ** 20).toFixed(1)} MiB (${(row.memory.oursBaseGpuBytes! / 2 ** 20).toFixed(1)} MiB before it)`);
          }
          live.push({ name, made, res, reps: [], lastMs });
        } catch (e) {
          console.log(`${tag} ERROR ${firstLine(e)}`);
          done.set(name, { ...res, status: 'error', detail: firstLine(e) });
          try {
            await made?.dispose();
          } catch {
            // already reported
          }
        }
      }
      if (mode === 'train' && batch === MAX_BATCH && ctx.env.torch && ctx.env.torchTimed && mp.spec && v.get('torch')?.status === 'ok') {
        try {
          const steps = 2;
          const r = await torchTrainRss(mp.spec, batch, steps);
          row.memory = { ...row.memory, torchRssRuntimeBytes: r.runtimeBytes, torchRssSetupBytes: r.setupBytes, torchPeakRssBytes: r.peakBytes, torchRuMaxrssBytes: r.ruMaxrssBytes, torchSteps: steps };
          console.log(`    torch        peak RSS of a fresh process over ${steps} steps: ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB (${(r.setupBytes / 2 ** 20).toFixed(0)} MiB before them, ${(r.runtimeBytes / 2 ** 20).toFixed(0)} MiB after importing torch)`);
        } catch (e) {
          row.memory = { ...row.memory, detail: `torch RSS: ${firstLine(e)}` };
          console.log(`    torch        RSS: ERROR ${firstLine(e)}`);
        }
      }

      // Repeats, interleaved: every live implementation once per round.
      for (let rep = 0; rep < b.repeats && live.length; rep++) {
        let host = '';
        if (ctx.peak) {
          try {
            (row.hostGflops ??= [])[rep] = await hostGflops(ctx.peak);
            host = ` (host ${row.hostGflops[rep]!.toFixed(1)} GFLOP/s)`;
          } catch (e) {
            host = ` (host speed: ERROR ${firstLine(e)})`;
          }
        }
        console.log(`  repeat ${rep + 1}/${b.repeats}${host}`);
        for (const L of live) {
          if (L.res.status !== 'ok') continue;
          if (rep > 0 && L.lastMs * 1.5 > left() - 10_000) {
            L.res.detail = `${L.reps.length} of ${b.repeats} repeats (time budget)`;
            continue;
          }
          const t0 = performance.now();
          try {
            L.reps.push({ ...await timeRepeat(label, L.made.impl, b), round: rep });
            L.lastMs = performance.now() - t0;
          } catch (e) {
            console.log(`    ${L.name.padEnd(12)} ERROR ${firstLine(e)}`);
            Object.assign(L.res, { status: 'error', detail: firstLine(e) });
          }
        }
      }
      for (const L of live) {
        if (L.res.status === 'ok') {
          summarise(L.res, L.reps, batch);
          if (batch === 1) perImage1.set(L.name, L.res.msPerImage!);
          if (mode === 'forward' && batch === MAX_BATCH) fwd32.set(L.name, L.res.timing!.msMedian);
          const r = L.res;
          console.log(`    ${L.name.padEnd(12)} ${r.imagesPerS!.toFixed(1)} img/s median of ${L.reps.length} (${r.imagesPerSMin!.toFixed(1)}–${r.imagesPerSMax!.toFixed(1)}, spread ${(100 * r.spread!).toFixed(0)}%)`);
        }
        done.set(L.name, L.res);
        try {
          await L.made.dispose();
        } catch (e) {
          console.log(`    (cleanup: ${firstLine(e)})`);
        }
      }
      for (const name of all) {
        const r = done.get(name)!;
        if (name === 'ours') row.ours = r;
        else row.peers[name] = r;
      }
      results.push(row);
      rt.getEngine().trim();
    }
    chk.ours?.dispose();
    for (const k of chk.kept.values()) await k.dispose();
    if (ctx.env.tfjs.length) await useBackend('cpu');
  }
  if (ctx.env.torch && mp.exp && !mp.torchErr) await ctx.env.torch.release(mp.id).catch(() => undefined);
  m.dispose();
  rt.getEngine().trim();
  return results;
}

/** Starts the selected peers; prints one line per peer that is off, saying why. */
async function initPeerEnv(opts: ModelsOptions): Promise<{ env: PeerEnv; versions: Record<string, unknown> }> {
  const sel = new Set(opts.peers);
  const env: PeerEnv = { tfjs: [], torch: null, torchTimed: sel.has('torch'), ort: false, off: {}, tmp: mkdtempSync(join(os.tmpdir(), 'lrfr-bench-peers-')) };
  const versions: Record<string, unknown> = { tfjs: tf.version.tfjs };
  for (const p of ALL_PEERS) if (!sel.has(p)) env.off[p] = opts.peers.length ? 'not selected (--peers)' : 'disabled (--no-peers)';
  if (sel.has('tfjs-webgpu') || sel.has('tfjs-wasm')) {
    const st = await initPeers();
    Object.assign(versions, { webgpu: st.webgpu, wasm: st.wasm, webgpuAdapter: st.webgpuAdapter, wasmSimd: st.wasmSimd, wasmThreads: st.wasmThreads });
    for (const be of ['webgpu', 'wasm'] as const) {
      if (!sel.has(implOf(be) as PeerKey)) continue;
      if (st[be]) env.off[implOf(be) as PeerKey] = st[be]!;
      else env.tfjs.push(be);
    }
  }
  if (sel.has('torch') || sel.has('ort')) {
    const missing = torchMissing();
    if (missing) {
      console.log(`PyTorch peer off: ${missing}`);
      if (sel.has('torch')) env.off.torch = missing;
      if (sel.has('ort')) env.off.ort = `needs the PyTorch peer (it exports the ONNX graphs): ${missing}`;
    } else {
      try {
        const { peer, hello } = await TorchPeer.start();
        env.torch = peer;
        Object.assign(versions, { torch: hello.torch, torchThreads: hello.threads, torchInteropThreads: hello.interop_threads, onnx: hello.onnx });
        if (sel.has('ort') && !hello.onnx) env.off.ort = 'python3-onnx is missing (torch.onnx.export needs it): bash scripts/setup.sh --peers';
      } catch (e) {
        console.log(`PyTorch peer off: ${firstLine(e)}`);
        if (sel.has('torch')) env.off.torch = firstLine(e);
        if (sel.has('ort')) env.off.ort = `needs the PyTorch peer: ${firstLine(e)}`;
      }
    }
  }
  if (sel.has('ort') && !env.off.ort) {
    try {
      versions.ort = await loadOrt();
      env.ort = true;
    } catch (e) {
      env.off.ort = firstLine(e);
      console.log(`ONNX Runtime peer off: ${env.off.ort}`);
    }
  }
  if (!env.torchTimed && !env.ort && env.torch) {
    env.torch.close();
    env.torch = null;
  }
  versions.off = env.off;
  return { env, versions };
}

export async function main(opts: ModelsOptions): Promise<ModelCaseResult[]> {
  const started = performance.now();
  await initNodeGPU();
  const summary = rt.adapterSummary();
  const { env, versions } = await initPeerEnv(opts);
  const cpuStart = sampleCpu([env.torch?.pid]);
  try {
    const info: RunInfo = {
      date: new Date().toISOString(),
      machine: machineInfo(),
      node: process.version,
      adapter: { vendor: summary.vendor, architecture: summary.architecture, device: summary.device, description: summary.description, key: summary.key },
      adapterKey: sanitizeKey(summary.key),
      peers: versions,
      timing: {},
    };
    console.log(`lrfr model bench — ${machineLine(info.machine)}, Node ${info.node}`);
    console.log(`adapter: ${summary.key}`);
    const on = [env.torch && env.torchTimed ? `torch ${String(versions.torch)} (${TORCH_THREADS} threads)` : '', env.ort ? `onnxruntime-node ${String(versions.ort)} (${ORT_THREADS} threads)` : '', ...env.tfjs.map((b) => `tfjs ${tf.version.tfjs} ${b}`)].filter(Boolean);
    console.log(`peers: ${on.join(', ') || 'none'}${Object.keys(env.off).length ? `; off: ${Object.entries(env.off).map(([k, why]) => `${k} (${why})`).join('; ')}` : ''}`);
    const timing: Partial<TimingOptions> = opts.quick
      ? { targetMs: 150, maxK: 32, minSamples: 3, maxTime: 0.5 }
      : { targetMs: 300, maxK: 64, minSamples: 5, maxTime: 1.5 };
    const budget: Budget = { deadline: started + opts.budgetS * 1000, maxSampleMs: opts.maxSampleS * 1000, maxSampleOursMs: opts.maxSampleOursS * 1000, timing, fastMs: 1500, repeats: opts.repeats };
    info.timing = {
      repeats: opts.repeats,
      order: 'per case: set-up (build, warm-up, memory) of every implementation, then the repeats, each round measuring the host speed (peak-FMA kernel, 3 launches) and timing ours and every peer once, in turn',
      benny: { ...timing, warmup: 'one untimed launch (or the batch-1 correctness run), then per repeat one timed launch that picks the method' },
      loop: 'launches of >= 1.5 s: the repeat is that single timed launch',
      maxSampleS: opts.maxSampleS,
      maxSampleOursS: opts.maxSampleOursS,
      budgetS: opts.budgetS,
      tolerance: `${TOL} (max |ours − peer| / max |peer| per output tensor, batch 1)`,
    };
    const ctx: Ctx = { env, budget, only: opts.only, batches: opts.batches, tune: opts.tune !== false };
    if (opts.retune) rt.setTuneStore(new rt.MemoryTuneStore());
    if (opts.tune === false) rt.setAutotuneMode('off');
    // The adapter's measured peak (peak-FMA shader), the denominator of "% of peak".
    try {
      const peak = await measurePeak(opts.quick ? { targetMs: 80, runs: 3 } : {});
      info.peakGflops = peak.gflops;
      ctx.peak = peak;
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
    recordCpuShare(info, cpuStart, sampleCpu([env.torch?.pid]));
    console.log('\n' + textTable(results, info.peakGflops));
    console.log(`\n(${wall.toFixed(0)} s; load ${info.machine.loadavgEnd.map((v) => v.toFixed(2)).join(' ')} at end)`);
    if (opts.write !== false) {
      const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
      const { json, md } = writeModelResults(opts.outDir ?? join(root, 'bench', 'results'), info.adapterKey, results, info);
      console.log(`wrote ${json}\n      ${md}`);
    }
    return results;
  } finally {
    env.torch?.close();
    rmSync(env.tmp, { recursive: true, force: true });
  }
}
