// lrfr train --config configs/<name>.json: trains a recognizer (src/train/distill.ts), a DSR against a
// frozen recognizer (src/train/sr-task.ts), or a whole cycle (task "cycle": its phases in order), with
// the trainer of src/train/trainer.ts; checkpoints, logs and plots go to runs/<name>/ (git-ignored).
import { readFileSync, existsSync, renameSync, mkdirSync, copyFileSync, writeFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve, basename, relative, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initNodeGPU } from '../node/gpu.js';
import { primeFirstRun } from '../node/prime.js';
import { loadFaceApiDlib, loadDlibFromFaceApi } from '../node/dlib.js';
import { nodeTrainIO, floatCache } from '../node/train-io.js';
import { parseAnyConfig, configKey, type TrainConfig, type SrTrainConfig, type AnyTrainConfig, type CycleConfig } from '../train/train-config.js';
import { checkDataRoot } from '../train/data.js';
import { loadDistillData } from '../train/distill-data.js';
import { DistillTask } from '../train/distill.js';
import { SrTask, type SrData } from '../train/sr-task.js';
import type { SrNetwork } from '../nn/sr-network.js';
import { loadRecognizerModel, loadDsrModel } from '../train/recognizers.js';
import { loadStateInto } from '../nn/safetensors.js';
import type { TrainTask } from '../train/trainer.js';
import { train, TrainingDivergedError, type TrainSummary } from '../train/trainer.js';
import { formatDuration } from '../train/progress.js';
import { decodeSafetensors } from '../nn/safetensors.js';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const TRAIN_USAGE = `usage: lrfr train --config FILE [options]

Trains what the config describes (configs/*.json) on the training people only (BLUFR split1 train1),
with validation on held-out training people picking the best weights. A config's task is
  distill   a recognizer distilled from the frozen dlib (configs/dlib-student.json, edgeface-xxs.json)
  sr        a DSR trained against a frozen recognizer (configs/dlib-c0-dsr.json)
  cycle     a list of phase configs run in order (configs/cycle-dlib.json): each finished phase is
            exported to weights/ (--export DIR to change), a phase already there with the same
            config is skipped, one with a checkpoint resumes

options:
  --config FILE     the run's config (required)
  --data DIR        face data root (default: $LRFR_DATA or ../shared/data)
  --out DIR         run folder (default: runs/<config name>; for a cycle: the folder of its phases'
                    run folders, default runs/); holds checkpoint.safetensors (the whole
                    training state), best.safetensors (the best validated weights), log.jsonl, loss.png
  --resume          continue the run in --out from its checkpoint (exactly: same numbers as without a stop)
  --fresh           start over: an existing run folder is moved aside (renamed), never deleted
  --steps N         train to step N instead of the config's length
  --stop-after N    stop (saving a checkpoint) after N steps of this invocation
  --tune            first time the kernel variants of a training step on this adapter (minutes, once:
                    cached per adapter; then every later run and lrfr eval use the winners)
  --export-only     export the run's best weights now (a finished or a stopped run), without training
  --with-eval DIR   with --export: add the metrics of an lrfr eval run (DIR/results.json) to the manifest
  --export DIR      when the run has finished, copy best.safetensors to DIR/<name>.safetensors and write
                    DIR/<name>.json (sha256, config, code commit, validation metrics, img/s, wall time)

Ctrl-C saves a checkpoint after the current step and exits (a second Ctrl-C exits at once).
A NaN or Inf in a loss term or the gradient stops the run before the optimizer step, naming the step
and the term; the last good checkpoint stays.
`;

class UsageError extends Error {}

interface TrainArgs { config: string; data?: string; out?: string; resume: boolean; fresh: boolean; steps?: number; stopAfter?: number; exportDir?: string; exportOnly: boolean; tune: boolean; withEval?: string }

function parseArgs(argv: readonly string[]): TrainArgs {
  const a: Partial<TrainArgs> = { resume: false, fresh: false, tune: false, exportOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${k} needs a value`);
      return v;
    };
    const int = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`${k} must be a positive integer, got "${v}"`);
      return n;
    };
    switch (k) {
      case '--config': a.config = val(); break;
      case '--data': a.data = val(); break;
      case '--out': a.out = val(); break;
      case '--resume': a.resume = true; break;
      case '--fresh': a.fresh = true; break;
      case '--steps': a.steps = int(val()); break;
      case '--stop-after': a.stopAfter = int(val()); break;
      case '--export': a.exportDir = val(); break;
      case '--export-only': a.exportOnly = true; break;
      case '--with-eval': a.withEval = val(); break;
      case '--tune': a.tune = true; break;
      default: throw new UsageError(`unknown option ${k}`);
    }
  }
  if (!a.config) throw new UsageError('--config FILE is required');
  if (a.resume && a.fresh) throw new UsageError('--resume and --fresh exclude each other');
  if (a.exportOnly && !a.exportDir) throw new UsageError('--export-only needs --export DIR');
  return a as TrainArgs;
}

function readConfig(path: string): AnyTrainConfig | CycleConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return parseAnyConfig(raw);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

/** The code commit (and whether the work tree had changes), or 'unknown' outside a git checkout. */
export function codeCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'shaders', 'configs'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

export async function trainCommand(argv: readonly string[], err: (s: string) => void = (s) => process.stderr.write(s)): Promise<{ code: number; summary?: TrainSummary }> {
  let args: TrainArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) { err(`lrfr train: ${e.message}\n\n${TRAIN_USAGE}`); return { code: 2 }; }
    throw e;
  }
  const stop = { requested: false };
  const onSigint = () => {
    if (stop.requested) process.exit(130);
    stop.requested = true;
    err('\nlrfr train: stopping after this step (a checkpoint is saved; Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  try {
    const cfg = readConfig(args.config);
    if (cfg.task === 'cycle') return await runCycle(cfg, args, stop, err);
    return await runPhase(cfg, args.config, args, stop, err);
  } catch (e) {
    err(`lrfr train: ${(e as Error).message}\n`);
    return { code: e instanceof TrainingDivergedError ? 3 : 1 };
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** A repository-relative path of a config (weights, phases) made absolute. */
function repoPath(p: string): string {
  return resolve(REPO_ROOT, p);
}

/**
 * Runs a cycle's phases in order. A phase whose exported weights (weights/<name>.safetensors) have a
 * manifest with the same config is done and skipped; one with a checkpoint in its run folder resumes;
 * the others start. Each finished phase is exported to weights/ before the next starts (the next
 * phase's config names those files).
 */
async function runCycle(cycle: CycleConfig, args: TrainArgs, stop: { requested: boolean }, err: (s: string) => void): Promise<{ code: number; summary?: TrainSummary }> {
  if (args.steps || args.exportOnly || args.fresh) throw new UsageError('a cycle config takes no --steps, --fresh or --export-only (run a phase\'s own config for those)');
  const runsRoot = resolve(args.out ?? join(REPO_ROOT, 'runs'));
  const weightsDir = resolve(args.exportDir ?? join(REPO_ROOT, 'weights'));
  let last: { code: number; summary?: TrainSummary } = { code: 0 };
  for (const [i, file] of cycle.phases.entries()) {
    const path = repoPath(file);
    const cfg = readConfig(path);
    if (cfg.task === 'cycle') throw new Error(`${file}: a cycle's phase cannot be a cycle`);
    const tag = `${cycle.name} phase ${i + 1}/${cycle.phases.length} (${cfg.name})`;
    const manifest = join(weightsDir, `${cfg.name}.json`);
    if (existsSync(manifest) && existsSync(join(weightsDir, `${cfg.name}.safetensors`))) {
      const m = JSON.parse(readFileSync(manifest, 'utf8')) as { config?: unknown; finished?: boolean | null };
      if (configKey(m.config as AnyTrainConfig) !== configKey(cfg)) throw new Error(`${tag}: ${manifest} was made with another config; move it aside to retrain this phase`);
      if (m.finished !== false) {
        err(`lrfr train: ${tag}: done (weights/${cfg.name}.safetensors has this config); skipping\n`);
        continue;
      }
      err(`lrfr train: ${tag}: weights/${cfg.name}.safetensors came from a stopped run; continuing that run\n`);
    }
    const runDir = join(runsRoot, cfg.name);
    const resume = existsSync(join(runDir, 'checkpoint.safetensors'));
    err(`lrfr train: ${tag}: ${resume ? 'resuming' : 'starting'}\n`);
    last = await runPhase(cfg, path, { ...args, config: path, out: runDir, resume, exportDir: weightsDir }, stop, err);
    if (last.code !== 0) return last;
  }
  return last;
}

/** One training phase (a distill or an SR config): build the task, train, export. */
async function runPhase(cfg: AnyTrainConfig, configPath: string, args: TrainArgs, stop: { requested: boolean }, err: (s: string) => void): Promise<{ code: number; summary?: TrainSummary }> {
  const outDir = resolve(args.out ?? join(REPO_ROOT, 'runs', cfg.name));
  if (args.fresh && existsSync(outDir)) {
    const aside = `${outDir}.old-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(outDir, aside);
    err(`lrfr train: moved the previous run aside to ${aside}\n`);
  }
  if (args.exportOnly) {
    exportWeights(cfg, configPath, outDir, resolve(args.exportDir!), codeCommit(), err, args.withEval);
    return { code: 0 };
  }
  mkdirSync(outDir, { recursive: true });
  const runsRoot = dirname(outDir);
  if (basename(runsRoot) === 'runs' && !existsSync(join(runsRoot, '.gitignore'))) writeFileSync(join(runsRoot, '.gitignore'), '# lrfr training runs: checkpoints and logs, not committed\n*\n');
  const root = checkDataRoot(args.data, ['lfw', 'blufr', 'pairs']);
  const commit = codeCommit();
  await initNodeGPU();
  err(`lrfr train: ${cfg.name}: loading the training people's faces (BLUFR split1 train1)...\n`);
  const data = await loadDistillData(cfg, root, (p, r) => err(`lrfr train: skipping undecodable image ${p}: ${r}\n`));
  err(`lrfr train: ${data.train.length} training images of ${data.classes} people; validation: ${data.val.length} held-out people, ${data.val.reduce((a, v) => a + v.length, 0)} images\n`);
  let task: TrainTask & { dispose(): void } | null = null;
  const disposers: (() => void)[] = [];
  try {
    if (cfg.task === 'sr') {
      task = await createSrTask(cfg, data, err, disposers);
    } else {
      const { model: teacher, hash } = await loadFaceApiDlib();
      disposers.push(() => teacher.dispose());
      let lastTick = 0;
      const sr = cfg.data.sr ? loadDsrModel(repoPath(cfg.data.sr)).model : undefined;
      if (sr) disposers.push(() => sr.dispose());
      task = await DistillTask.create(cfg, data, {
        teacher, teacherHash: hash, sr,
        loadStudent: async (p) => (await loadRecognizerModel(repoPath(p))).model,
        loadTeacherCopy: () => loadDlibFromFaceApi(undefined, { fuse: false }),
        cache: floatCache(join(runsRoot, 'teacher-cache')),
        progress: (label, done, total) => {
          const now = performance.now();
          if (done === total || now - lastTick > 15_000) { lastTick = now; err(`lrfr train: ${label} ${done}/${total}\n`); }
        },
      });
    }
    const perEpoch = Math.floor(task.epochSize / cfg.batch);
    const totalSteps = args.steps ?? (cfg.steps > 0 ? cfg.steps : Math.round(cfg.epochs * perEpoch));
    err(`lrfr train: ${cfg.name}: ${totalSteps} steps of ${cfg.batch} (${(totalSteps / perEpoch).toFixed(1)} epochs of ${task.epochSize} samples), checkpoint every ${cfg.checkpointEvery}, validation every ${cfg.validateEvery}; out ${outDir}\n`);
    const summary = await train(task, nodeTrainIO({ write: err, isTTY: process.stderr.isTTY }), {
      name: cfg.name, outDir, totalSteps, checkpointEvery: cfg.checkpointEvery, validateEvery: cfg.validateEvery,
      warmup: cfg.optim.warmup, minLrFactor: cfg.optim.minLrFactor, clip: cfg.optim.clip, configKey: configKey(cfg),
      resume: args.resume, stopAfter: args.stopAfter, faults: cfg.faults, stop, tune: args.tune,
      prime: (step) => primeFirstRun(step, { what: `lrfr train: ${cfg.name}`, log: (l) => err(`${l}\n`) }),
      weightsMetadata: { commit },
    });
    const b = summary.best;
    const pct = (k: string, v: number) => (k.startsWith('psnr') ? `${k} ${v.toFixed(2)} dB` : `${k} ${(100 * v).toFixed(1)}%`);
    err(`lrfr train: ${cfg.name}: ${summary.status} at step ${summary.steps}/${totalSteps}; this invocation ${summary.steps - summary.startStep} steps in ${formatDuration(summary.seconds)} (${summary.imagesPerSecond.toFixed(1)} img/s incl. validation and checkpoints)` +
      `${b ? `; best validation step ${b.step}: ${Object.entries(b.metrics).map(([k, v]) => pct(k, v)).join(', ')}` : ''}\n`);
    if (args.exportDir && summary.status === 'finished') exportWeights(cfg, configPath, outDir, resolve(args.exportDir), commit, err, args.withEval);
    return { code: summary.status === 'finished' ? 0 : 130, summary };
  } finally {
    task?.dispose();
    for (const d of disposers) d();
  }
}

/** The SR phase: the frozen recognizer, DSR (seeded or from sr.init), and the bicubic reference on validation. */
async function createSrTask(cfg: SrTrainConfig, data: SrData, err: (s: string) => void, disposers: (() => void)[]): Promise<SrTask> {
  const load = (spec: string) => loadRecognizerModel(spec === 'dlib' ? 'dlib' : repoPath(spec), { loadDlib: loadFaceApiDlib });
  const recognizer = await load(cfg.recognizer);
  disposers.push(() => recognizer.model.dispose());
  const galleryRecognizer = cfg.galleryRecognizer ? await load(cfg.galleryRecognizer) : undefined;
  if (galleryRecognizer) disposers.push(() => galleryRecognizer.model.dispose());
  let initWeights: ((m: SrNetwork) => void) | undefined;
  if (cfg.sr.init !== 'random') {
    const file = repoPath(cfg.sr.init);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(file));
    } catch (e) {
      throw new Error(`sr.init: cannot read ${file}: ${(e as Error).message}`);
    }
    const { tensors, metadata } = decodeSafetensors(bytes);
    initWeights = (m) => {
      try {
        loadStateInto(m, tensors, metadata);
      } catch (e) {
        throw new Error(`sr.init ${file}: ${(e as Error).message}`);
      }
    };
  }
  const joint = cfg.recognizerLrFactor > 0;
  const frozenCopy = joint && !galleryRecognizer ? await load(cfg.recognizer) : undefined;
  if (frozenCopy) disposers.push(() => frozenCopy.model.dispose());
  const task = new SrTask(cfg, data, { recognizer, galleryRecognizer, frozenCopy, initWeights });
  err(`lrfr train: ${cfg.name}: ${cfg.sr.model.toUpperCase()} ${task.dsr.countParams().toLocaleString('en-US')} parameters, probes ${task.dsr.config.inputSize} px${task.dsr.probeSizes.length ? ` (and ${task.dsr.probeSizes.join(', ')} px, resized to it)` : ''}; ${joint ? `recognizer ${recognizer.name} trained jointly (lr x ${cfg.recognizerLrFactor}; HR side: ${galleryRecognizer ? galleryRecognizer.name : 'its frozen starting copy'})` : `frozen recognizer ${recognizer.name}${galleryRecognizer ? ` (HR side: ${galleryRecognizer.name})` : ''}`}${cfg.sr.init !== 'random' ? `; starting from ${cfg.sr.init}` : ''}\n`);
  const ref = await task.validateWith(true);
  err(`lrfr train: ${cfg.name}: bicubic on the validation people: ${Object.entries(ref.metrics).map(([k, v]) => (k.startsWith('psnr') ? `${k} ${v.toFixed(2)} dB` : `${k} ${(100 * v).toFixed(1)}%`)).join(', ')}\n`);
  return task;
}

/** Copies best.safetensors to DIR/<name>.safetensors with a manifest DIR/<name>.json. */
function exportWeights(cfg: AnyTrainConfig, configPath: string, outDir: string, dir: string, commit: string, err: (s: string) => void, evalDir?: string): void {
  const best = join(outDir, 'best.safetensors');
  if (!existsSync(best)) throw new Error(`nothing to export: ${best} does not exist (no validation has run yet)`);
  const bytes = readFileSync(best);
  const state = JSON.parse(decodeSafetensors(new Uint8Array(readFileSync(join(outDir, 'checkpoint.safetensors')))).metadata['lrfr-state']!) as { step: number; extra?: { totalSteps?: number } };
  // checkpoints before 2026-12-02 13:38 lack extra.totalSteps: then the config's steps (if it counts steps)
  const totalSteps = state.extra?.totalSteps ?? (cfg.steps > 0 ? cfg.steps : null);
  mkdirSync(dir, { recursive: true });
  const dst = join(dir, `${cfg.name}.safetensors`);
  copyFileSync(best, dst);
  const meta = decodeSafetensors(new Uint8Array(bytes)).metadata;
  // models trained with the main one (an SR phase's jointly trained recognizer): best-<key> -> <name>-<key>
  const companions: Record<string, { file: string; sha256: string; bytes: number; model: string | undefined }> = {};
  for (const f of readdirSync(outDir)) {
    const key = /^best-([a-z0-9-]+)\.safetensors$/.exec(f)?.[1];
    if (!key) continue;
    const b = readFileSync(join(outDir, f));
    const cm = decodeSafetensors(new Uint8Array(b)).metadata;
    if (cm.step !== meta.step) throw new Error(`${join(outDir, f)} is from step ${cm.step}, best.safetensors from step ${meta.step}: the run stopped between writing them; resume it to write both again`);
    const file = `${cfg.name}-${key}.safetensors`;
    copyFileSync(join(outDir, f), join(dir, file));
    companions[key] = { file, sha256: createHash('sha256').update(b).digest('hex'), bytes: b.length, model: cm.model };
  }
  const log = readFileSync(join(outDir, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const steps = log.filter((r) => r.type === 'step');
  const vals = log.filter((r) => r.type === 'val');
  const stepSeconds = steps.reduce((a, r) => a + (r.seconds as number), 0);
  const valSeconds = vals.reduce((a, r) => a + (r.seconds as number), 0);
  const manifest = {
    name: cfg.name,
    file: basename(dst),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    model: meta.model,
    modelConfig: JSON.parse(meta.config ?? '{}'),
    companions: Object.keys(companions).length ? companions : undefined,
    trainedAtStep: Number(meta.step),
    runStep: state.step,
    totalSteps,
    /** false: exported from a stopped run (--export-only before its end); a cycle does not count it as done. */
    finished: totalSteps === null ? null : state.step >= totalSteps,
    plannedSteps: cfg.steps > 0 ? cfg.steps : null,
    trainingCommit: meta.commit ?? 'unknown',
    exportCommit: commit,
    config: cfg,
    // repository-relative when the config is in the repository (a manifest travels with the repo)
    configFile: ((r) => (r.startsWith('..') || isAbsolute(r) ? configPath : r))(relative(REPO_ROOT, resolve(configPath))),
    validation: JSON.parse(meta.validation ?? '{}'),
    throughput: {
      steps: steps.length,
      images: steps.length * cfg.batch,
      trainStepSeconds: stepSeconds,
      validationSeconds: valSeconds,
      imagesPerSecond: (steps.length * cfg.batch) / stepSeconds,
      note: 'sums of the logged per-step wall times of the steps kept in log.jsonl (a resumed run redoes the steps after its checkpoint)',
    },
    exportedAt: new Date().toISOString(),
    evaluation: evalDir ? evalSummary(evalDir) : undefined,
  };
  writeFileSync(join(dir, `${cfg.name}.json`), JSON.stringify(manifest, null, 1) + '\n');
  err(`lrfr train: exported ${dst} (sha256 ${manifest.sha256.slice(0, 16)}...) and its manifest\n`);
}

/** The metrics of an lrfr eval output folder, compact (for the manifest). */
function evalSummary(dir: string): unknown {
  const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
    command: string; date: string; recognizer: unknown; galleryRecognizer?: unknown; sr: unknown;
    results: { protocol: string; resolution: string; acc?: number; accStd?: number; tar1e3: number; auc: number; rank1?: number }[];
  };
  return {
    command: r.command, date: r.date, recognizer: r.recognizer, galleryRecognizer: r.galleryRecognizer, sr: r.sr,
    rows: r.results.map((x) => ({ protocol: x.protocol, resolution: x.resolution, acc: x.acc, accStd: x.accStd, rank1: x.rank1, tar1e3: x.tar1e3, auc: x.auc })),
  };
}

export async function trainMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(TRAIN_USAGE);
    return 0;
  }
  return (await trainCommand(argv)).code;
}
