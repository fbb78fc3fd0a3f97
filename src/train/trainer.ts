// The training loop behind `lrfr train`: one step = prepare a batch (CPU) -> forward + backward ->
// gradient norm (and clipping) -> ONE readback of the loss terms and the norm -> a NaN/Inf check ->
// the optimizer step (recorded; it runs with the next submit). Around it: the learning-rate schedule,
// checkpoints of the whole TrainingState every N steps (atomic), validation that keeps the best
// weights, a JSONL log, a progress line with the loss terms, img/s and ETA, a loss-curve PNG, and
// stop requests (SIGINT) that save a checkpoint first.
//
// Exact resume: the data order of epoch e is a shuffle seeded by (shuffleSeed, e), the batch's
// augmentations are drawn from the state's Rng, and every counter is in the checkpoint, so a resumed
// run repeats the uninterrupted run's numbers (tests/train/trainer.test.ts compares them).
//
// File I/O comes in through TrainIO (src/node/train-io.ts in Node).
import * as L from '../runtime/index.js';
import { gradNorm, type GradClip } from './optim.js';
import { readTensors } from '../nn/safetensors.js';
import type { Module } from '../nn/module.js';
import type { ModelName } from '../nn/registry.js';
import { encodeSafetensors, type NamedArray } from '../nn/safetensors.js';
import type { TrainingState } from './state.js';
import type { ChartSpec } from './plots.js';
import { mixSeed } from './degrade.js';
import { formatDuration } from './progress.js';

export interface TrainIO {
  /** The file's bytes, or null if it does not exist. */
  read(path: string): Promise<Uint8Array | null>;
  /** Atomic replace (temp file + fsync + rename). */
  writeAtomic(path: string, bytes: Uint8Array): Promise<void>;
  writeText(path: string, text: string): Promise<void>;
  appendText(path: string, text: string): Promise<void>;
  writeChart(path: string, spec: ChartSpec): Promise<void>;
  join(...parts: string[]): string;
  /** Removes temp files an interrupted atomic write left in `dir` (returns their names). */
  removeTemps(dir: string): Promise<string[]>;
  /** Where progress goes (stderr in Node). */
  out: { write(s: string): unknown; isTTY?: boolean };
}

export interface StepTerms {
  /** Each term's weighted contribution to the loss ([1] or [] tensors); the loss is their sum. */
  terms: Record<string, L.Tensor>;
}

export interface ValidationResult {
  /** Higher is better; picks the checkpoint. */
  score: number;
  metrics: Record<string, number>;
}

/** What a run exports as best.safetensors, and companions trained with it (best-<key>.safetensors). */
export interface ExportedModel {
  name: ModelName;
  config: unknown;
  module: Module;
  companions?: Record<string, { name: ModelName; config: unknown; module: Module }>;
}

/** best.safetensors -> best-<key>.safetensors (a model trained with the run's main one). */
export function companionFile(best: string, key: string): string {
  return best.replace(/\.safetensors$/, `-${key}.safetensors`);
}

export interface TrainTask<B = unknown> {
  readonly state: TrainingState;
  /** Samples per epoch (the data order shuffles indices 0..epochSize-1). */
  readonly epochSize: number;
  readonly batchSize: number;
  /** Every parameter an optimizer updates (for the gradient norm). */
  readonly params: L.Tensor[];
  /** CPU side of a batch: images for these sample indices, augmentations drawn from state.rng. */
  prepare(indices: number[]): Promise<B>;
  /** Records the forward and returns the loss terms (the trainer sums them and runs backward). */
  losses(batch: B): StepTerms;
  /** Sets every optimizer's lr to its base lr times `factor`. */
  setLrFactor(factor: number): void;
  /** Steps every optimizer; clip: the gradients scaled to the global norm's limit on the way in (AdamW.step). */
  stepOptimizers(clip?: GradClip): void;
  zeroGrad(): void;
  validate(): Promise<ValidationResult>;
  /** The trained recognizer (what best.safetensors holds). */
  exportModel(): ExportedModel;
  dispose(): void;
}

export interface TrainerOptions {
  name: string;
  outDir: string;
  totalSteps: number;
  checkpointEvery: number;
  validateEvery: number;
  warmup: number;
  minLrFactor: number;
  clip: number;
  /** Stored in the checkpoint; a resume with a different key is refused. */
  configKey: string;
  /** Continue from outDir/checkpoint.safetensors. */
  resume: boolean;
  /** Stop (with a checkpoint) after this many steps of this invocation (tests; 0 = no limit). */
  stopAfter?: number;
  /** Test-only fault injection. */
  faults?: { nanAtStep?: number; term?: string };
  /** Set to true (e.g. by a SIGINT handler) to save a checkpoint and stop after the current step. */
  stop?: { requested: boolean };
  /** Extra metadata for the exported weights (e.g. the code commit). */
  weightsMetadata?: Record<string, string>;
  /**
   * Tune the kernel variants of this step on this adapter before training (L.autotune: every shape
   * class the step uses that the adapter's cache does not hold yet). Draws no training randomness.
   */
  tune?: boolean;
  /**
   * Compiles the shader pipelines of a training step before the first one (Node: src/node/prime.ts
   * primeFirstRun, which spreads a cold compile over the cores): given a function that records one
   * step's forward and backward, under Engine.collectPipelines. Draws no training randomness.
   */
  prime?: (step: () => void) => Promise<unknown>;
  /** Progress line interval when not on a TTY (ms, default 30 s). */
  logIntervalMs?: number;
}

export class TrainingDivergedError extends Error {}

export interface TrainSummary {
  status: 'finished' | 'stopped';
  steps: number;
  startStep: number;
  seconds: number;
  imagesPerSecond: number;
  best: { step: number; score: number; metrics: Record<string, number> } | null;
  files: { checkpoint: string; best: string; log: string; lossCurve: string };
}

/** Learning-rate factor at step t (0-based) of T: linear warm-up, then cosine to minLrFactor. */
export function lrFactor(t: number, T: number, warmup: number, minFactor: number): number {
  if (warmup > 0 && t < warmup) return (t + 1) / warmup;
  const p = T > warmup ? Math.min(1, (t - warmup) / Math.max(1, T - warmup)) : 1;
  return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * p));
}

/** The sample order of an epoch (a seeded shuffle). */
export function epochOrder(n: number, shuffleSeed: number, epoch: number): number[] {
  const r = new L.Rng(mixSeed(shuffleSeed, epoch));
  return r.shuffle(Array.from({ length: n }, (_, i) => i));
}

interface LogRecord { type: 'step' | 'val' | 'event'; step: number; [k: string]: unknown }

function fmtTerms(t: Record<string, number>): string {
  return Object.entries(t).map(([k, v]) => `${k} ${Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4)}`).join(' ');
}

/** The sum of a step's loss terms, in their order (the one term itself when there is one). */
function sumTerms(list: readonly L.Tensor[]): L.Tensor {
  let total = list[0]!;
  for (const t of list.slice(1)) total = L.add(total, t);
  return total;
}

/** Runs (or resumes) a training run to totalSteps. */
export async function train(task: TrainTask, io: TrainIO, o: TrainerOptions): Promise<TrainSummary> {
  const st = task.state;
  const files = {
    checkpoint: io.join(o.outDir, 'checkpoint.safetensors'),
    best: io.join(o.outDir, 'best.safetensors'),
    log: io.join(o.outDir, 'log.jsonl'),
    lossCurve: io.join(o.outDir, 'loss.png'),
  };
  const say = (s: string) => io.out.write(`${s}\n`);
  const existing = await io.read(files.checkpoint);
  let history: LogRecord[] = [];
  if (o.resume) {
    if (!existing) throw new Error(`--resume: no checkpoint at ${files.checkpoint} (start without --resume)`);
    st.restore(existing, { what: files.checkpoint });
    const temps = await io.removeTemps(o.outDir);
    if (temps.length) say(`${o.name}: removed ${temps.length} temp file(s) of an interrupted write: ${temps.join(', ')}`);
    if (st.extra.configKey !== o.configKey) {
      throw new Error(`--resume: ${files.checkpoint} was written with a different config; resume with the config it was started with, or start a new run (--out elsewhere, or --fresh)`);
    }
    // Keep the log up to the checkpoint: steps after it are redone.
    const old = await io.read(files.log);
    if (old) {
      history = new TextDecoder().decode(old).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as LogRecord).filter((r) => r.step <= st.step);
      await io.writeText(files.log, history.map((r) => JSON.stringify(r)).join('\n') + (history.length ? '\n' : ''));
    }
    say(`${o.name}: resumed at step ${st.step} (epoch ${st.cursor.epoch}, position ${st.cursor.position}) from ${files.checkpoint}`);
  } else {
    if (existing) throw new Error(`${o.outDir} already holds a run (${files.checkpoint}): pass --resume to continue it, or --fresh to start over (the old run is moved aside, not deleted)`);
    st.extra.configKey = o.configKey;
    await io.writeText(files.log, '');
  }
  const log = async (r: LogRecord) => {
    history.push(r);
    await io.appendText(files.log, JSON.stringify(r) + '\n');
  };
  const startStep = st.step;
  let t0 = performance.now();
  let lastLine = -Infinity;
  let imagesThisRun = 0;
  let stepSecondsEma = 0;
  const saveCheckpoint = async (why: string) => {
    const t = performance.now();
    await io.writeAtomic(files.checkpoint, await st.snapshot());
    await log({ type: 'event', step: st.step, event: 'checkpoint', why, seconds: (performance.now() - t) / 1000 });
  };
  const saveBest = async (v: ValidationResult) => {
    const exported = task.exportModel();
    const write = async (file: string, m: Omit<ExportedModel, 'companions'>) => {
      const state = [...m.module.stateDict()];
      const datas = await readTensors(state.map(([, t]) => t));
      const tensors = new Map<string, NamedArray>();
      state.forEach(([n, t], i) => tensors.set(n, { shape: [...t.shape], data: datas[i]! }));
      await io.writeAtomic(file, encodeSafetensors(tensors, {
        ...o.weightsMetadata, format: 'lrfr', model: m.name, config: JSON.stringify(m.config), run: o.name, step: String(st.step),
        validation: JSON.stringify(v.metrics),
      }));
    };
    // companions first: best.safetensors, written last, is the one an export starts from
    for (const [key, m] of Object.entries(exported.companions ?? {})) await write(companionFile(files.best, key), m);
    await write(files.best, exported);
  };
  const validate = async () => {
    const t = performance.now();
    const v = await task.validate();
    const secs = (performance.now() - t) / 1000;
    await log({ type: 'val', step: st.step, score: v.score, ...v.metrics, seconds: secs });
    const best = st.extra.best as { step: number; score: number } | undefined;
    const improved = !best || v.score > best.score;
    say(`${o.name}: validation at step ${st.step}: ${Object.entries(v.metrics).map(([k, x]) => `${k} ${x.toFixed(4)}`).join(', ')} (score ${v.score.toFixed(4)}${improved ? ', best so far: saved' : `, best ${best!.score.toFixed(4)} at step ${best!.step}`}; ${secs.toFixed(0)} s)`);
    if (improved) {
      st.extra.best = { step: st.step, score: v.score, metrics: v.metrics };
      await saveBest(v);
    }
  };
  const drawLossCurve = async () => {
    const steps = history.filter((r) => r.type === 'step');
    if (!steps.length) return;
    const keys = Object.keys((steps[0]!.terms as Record<string, number>) ?? {});
    const smooth = (ys: number[]) => { const out: number[] = []; let e = ys[0] ?? 0; for (const y of ys) { e = 0.9 * e + 0.1 * y; out.push(e); } return out; };
    const series = ['loss', ...(keys.length > 1 ? keys : [])].map((k) => ({
      name: k === 'loss' ? 'total (EMA 0.9)' : `${k} (EMA 0.9)`,
      x: steps.map((r) => r.step),
      y: smooth(steps.map((r) => (k === 'loss' ? (r.loss as number) : (r.terms as Record<string, number>)[k]!))),
    }));
    await io.writeChart(files.lossCurve, { title: `${o.name}: training loss`, xLabel: 'step', yLabel: 'loss', series });
    const vals = history.filter((r) => r.type === 'val');
    if (vals.length) {
      const mk = Object.keys(vals[0]!).filter((k) => k.startsWith('rank1'));
      await io.writeChart(io.join(o.outDir, 'validation.png'), {
        title: `${o.name}: validation (held-out training people)`, xLabel: 'step', yLabel: 'rank-1', markers: true,
        series: mk.map((k) => ({ name: k, x: vals.map((r) => r.step), y: vals.map((r) => r[k] as number) })), yRange: [0, 1],
        // the whole run on the x axis: a run stopped after its first validation shows one point at its place, not a degenerate axis
        xRange: [0, Math.max(o.totalSteps, ...vals.map((r) => r.step as number))],
      });
    }
  };

  let status: TrainSummary['status'] = 'finished';
  st.extra.totalSteps = o.totalSteps; // in every checkpoint: an export can tell a finished run from a stopped one
  let order = epochOrder(task.epochSize, st.cursor.shuffleSeed, st.cursor.epoch);
  const perEpoch = Math.floor(task.epochSize / task.batchSize);
  if (perEpoch < 1) throw new Error(`${o.name}: ${task.epochSize} training samples are fewer than one batch of ${task.batchSize}`);
  // Tuning and priming record a step on one sample batch, drawn as the first step's with the RNG
  // restored after (no training randomness spent), prepared once for both.
  let sample: { batch: unknown } | null = null;
  const firstSample = async () => {
    if (!sample) {
      const saved = st.rng.getState();
      sample = { batch: await task.prepare(order.slice(0, task.batchSize)) };
      st.rng.setState(saved);
    }
    return sample.batch;
  };
  const recordStep = (batch: unknown) => L.backward(sumTerms(Object.values(task.losses(batch).terms)));
  if (o.tune && st.step < o.totalSteps) {
    const batch = await firstSample();
    say(`${o.name}: tuning the kernel variants of a training step on this adapter (once: the choices are cached per adapter)...`);
    const t = performance.now();
    let k = 0;
    const rep = await L.autotune(() => recordStep(batch), {
      log: (r) => {
        const ms = r.timings[r.winner];
        say(`${o.name}: tuned ${++k}: ${r.name} ${r.shapeClass} -> ${r.winner}${ms !== undefined ? ` (${ms.toFixed(2)} ms)` : ''} [${formatDuration((performance.now() - t) / 1000)}]`);
      },
    });
    task.zeroGrad();
    say(`${o.name}: tuned ${rep.tuned.length} shape classes in ${formatDuration((performance.now() - t) / 1000)} (${rep.used.length} in use)`);
    t0 = performance.now(); // img/s and the summary count training, not tuning
  }
  if (o.prime && st.step < o.totalSteps) {
    const batch = await firstSample();
    await o.prime(() => recordStep(batch));
    task.zeroGrad(); // the recorded step's gradients hold garbage
    t0 = performance.now(); // img/s counts training, not compiling
  }
  while (st.step < o.totalSteps) {
    if (o.stop?.requested || (o.stopAfter && st.step - startStep >= o.stopAfter)) {
      status = 'stopped';
      break;
    }
    if (st.cursor.position + task.batchSize > perEpoch * task.batchSize) {
      st.cursor.epoch++;
      st.cursor.position = 0;
      order = epochOrder(task.epochSize, st.cursor.shuffleSeed, st.cursor.epoch);
    }
    const ts = performance.now();
    const indices = order.slice(st.cursor.position, st.cursor.position + task.batchSize);
    const batch = await task.prepare(indices);
    const factor = lrFactor(st.step, o.totalSteps, o.warmup, o.minLrFactor);
    task.setLrFactor(factor);
    const stepNo = st.step + 1;
    const fault = o.faults?.nanAtStep === stepNo ? o.faults.term ?? 'embedding' : null;
    const { names, tensors } = L.tidy(() => {
      task.zeroGrad();
      const { terms } = task.losses(batch);
      if (fault && fault in terms) terms[fault] = L.affine(terms[fault]!, 1, NaN);
      const list = Object.values(terms);
      const total = sumTerms(list);
      L.backward(total);
      if (fault === 'gradient') L.affineInPlace(task.params.find((p) => p.grad)!.grad!, 1, NaN);
      // the norm for the log and the NaN check; the clip itself rides in the optimizers' update
      const norm = gradNorm(task.params);
      return { names: [...Object.keys(terms), 'loss', 'gradNorm'], tensors: [...list, total, norm].map((t) => L.keep(t)) };
    });
    const norm = tensors[tensors.length - 1]!;
    let values: number[];
    try {
      values = (await readTensors(tensors)).map((a) => a[0]!);
    } catch (e) {
      norm.dispose();
      throw e;
    } finally {
      tensors.slice(0, -1).forEach((t) => t.dispose());
    }
    const byName = Object.fromEntries(names.map((n, i) => [n, values[i]!]));
    const bad = names.find((n) => !Number.isFinite(byName[n]!));
    if (bad) {
      const what = bad === 'gradNorm' ? 'the gradient norm' : bad === 'loss' ? 'the total loss' : `the ${bad} loss term`;
      const best = st.extra.best as { step: number } | undefined;
      norm.dispose();
      await log({ type: 'event', step: stepNo, event: 'diverged', term: bad, value: String(byName[bad]) });
      throw new TrainingDivergedError(
        `${o.name}: step ${stepNo}: ${what} is ${byName[bad]} (${fmtTerms(byName)}). Training stopped before the optimizer step; ` +
        `the last good checkpoint is kept at ${files.checkpoint}${existing || st.step > startStep ? '' : ' (none written yet)'}` +
        `${best ? `, the best weights (step ${best.step}) at ${files.best}` : ''}. Lower optim.lr or set optim.clip, then --resume.`,
      );
    }
    try {
      task.stepOptimizers(o.clip > 0 ? { norm, maxNorm: o.clip } : undefined);
    } finally {
      norm.dispose();
    }
    st.step = stepNo;
    st.cursor.position += task.batchSize;
    imagesThisRun += task.batchSize;
    const dt = (performance.now() - ts) / 1000;
    stepSecondsEma = stepSecondsEma === 0 ? dt : 0.9 * stepSecondsEma + 0.1 * dt;
    const terms = Object.fromEntries(names.filter((n) => n !== 'loss' && n !== 'gradNorm').map((n) => [n, byName[n]!]));
    await log({ type: 'step', step: st.step, epoch: st.cursor.epoch, lr: factor, loss: byName.loss, terms, gradNorm: byName.gradNorm, seconds: dt });
    const now = performance.now();
    const isLast = st.step === o.totalSteps;
    if (io.out.isTTY || now - lastLine >= (o.logIntervalMs ?? 30_000) || isLast) {
      lastLine = now;
      const el = (now - t0) / 1000;
      const eta = stepSecondsEma * (o.totalSteps - st.step);
      const line = `${o.name} [train] step ${st.step}/${o.totalSteps} epoch ${st.cursor.epoch + 1} loss ${byName.loss!.toPrecision(4)} (${fmtTerms(terms)}) ` +
        `|g| ${byName.gradNorm!.toPrecision(3)} lr×${factor.toFixed(3)} ${(imagesThisRun / el).toFixed(1)} img/s elapsed ${formatDuration(el)} ETA ${formatDuration(eta)}`;
      io.out.write(io.out.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
    }
    if (st.step % o.checkpointEvery === 0 || isLast) {
      if (io.out.isTTY) io.out.write('\n');
      if (st.step % o.validateEvery === 0 || isLast) await validate();
      await saveCheckpoint(isLast ? 'final' : 'interval');
      await drawLossCurve();
    } else if (st.step % o.validateEvery === 0) {
      if (io.out.isTTY) io.out.write('\n');
      await validate();
    }
  }
  if (status === 'stopped') {
    await saveCheckpoint('stop requested');
    await drawLossCurve();
    say(`${o.name}: stopped at step ${st.step}; checkpoint saved at ${files.checkpoint} (continue with --resume)`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const best = (st.extra.best as TrainSummary['best']) ?? null;
  return { status, steps: st.step, startStep, seconds, imagesPerSecond: imagesThisRun / seconds, best, files };
}
