// lrfr profile: GPU time per kernel of one model step (timestamp queries, engine.startProfile).
import { writeFile } from 'node:fs/promises';
import { initNodeGPU } from '../node/gpu.js';
import {
  adapterSummary, getEngine, NoAdapterError, tidy, tunedChoices, PROFILE_UNSUPPORTED, type ProfileRecord,
} from '../runtime/index.js';
import { modelStep, STEP_MODELS, type StepModel } from './model-step.js';
import type { Io } from './eval.js';

export const PROFILE_USAGE = `usage: lrfr profile --model edgeface|mobilefacenet|dsr|dsr-paper|wdsr|unet [--batch N] [--size S] [--train [--adamw]]
                    [--steps K] [--top N] [--json FILE]

GPU time per kernel of one forward (--train: forward + backward of sum(y*y)) of a model with seeded
weights on a random input: one warm-up step, K unprofiled steps (wall time), then K profiled steps
in which every dispatch is its own compute pass with timestamp queries. Needs the adapter feature
'timestamp-query'. The autotuner's cached kernel choices apply.

  --model M     edgeface or mobilefacenet (112x112 input), dsr (DSR-cpu config), dsr-paper, wdsr
                (method A's WDSR-A, the CPU config) or unet (method B's UNet, the CPU config)
  --batch N     batch size (default 32)
  --size S      DSR / WDSR / UNet probe size S x S (default 32)
  --train       profile a training step (forward + backward) instead of a forward
  --adamw       with --train: the step ends with an AdamW update of every parameter (bench:models's step)
  --steps K     profiled steps (default 3); the table shows the mean per step
  --top N       print only the N kernels with the most time (default: all)
  --json FILE   also write the table, step times and every dispatch record as JSON
`;

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export interface KernelRow {
  name: string;
  shaders: string[];
  callsPerStep: number;
  msPerStep: number;
  /** Share of the summed kernel time. */
  pctKernel: number;
  /** Share of the profiled step's wall time. */
  pctWall: number;
  meanUsPerCall: number;
}

/** Aggregates the records of `steps` steps by kernel (Program) name, most time first. */
export function aggregateProfile(records: readonly ProfileRecord[], steps: number, wallMsPerStep: number): KernelRow[] {
  const by = new Map<string, { shaders: Set<string>; calls: number; ms: number }>();
  let total = 0;
  for (const r of records) {
    let a = by.get(r.name);
    if (!a) by.set(r.name, (a = { shaders: new Set(), calls: 0, ms: 0 }));
    a.shaders.add(r.shader);
    a.calls++;
    a.ms += r.ms;
    total += r.ms;
  }
  return [...by.entries()]
    .map(([name, a]) => ({
      name,
      shaders: [...a.shaders].sort(),
      callsPerStep: a.calls / steps,
      msPerStep: a.ms / steps,
      pctKernel: total > 0 ? (100 * a.ms) / total : 0,
      pctWall: wallMsPerStep > 0 ? (100 * a.ms) / steps / wallMsPerStep : 0,
      meanUsPerCall: (1000 * a.ms) / a.calls,
    }))
    .sort((p, q) => q.msPerStep - p.msPerStep || p.name.localeCompare(q.name));
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);

export async function profileCommand(args: readonly string[], io: Io = defaultIo): Promise<number> {
  const out = (l = '') => io.out(l + '\n');
  let model: string | undefined, batch = 32, size = 32, train = false, adamw = false, steps = 3, top = Infinity;
  let json: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--model') model = val();
      else if (a === '--batch') batch = Number(val());
      else if (a === '--size') size = Number(val());
      else if (a === '--train') train = true;
      else if (a === '--adamw') adamw = true;
      else if (a === '--steps') steps = Number(val());
      else if (a === '--top') top = Number(val());
      else if (a === '--json') json = val();
      else {
        io.err(`lrfr profile: unknown option "${a}"\n\n${PROFILE_USAGE}`);
        return 2;
      }
    } catch (e) {
      io.err(`lrfr profile: ${(e as Error).message}\n\n${PROFILE_USAGE}`);
      return 2;
    }
  }
  if (model === undefined) {
    io.err(`lrfr profile: --model is required\n\n${PROFILE_USAGE}`);
    return 2;
  }
  if (adamw && !train) {
    io.err(`lrfr profile: --adamw needs --train (a forward has no update)\n\n${PROFILE_USAGE}`);
    return 2;
  }
  if (!(STEP_MODELS as readonly string[]).includes(model)) {
    io.err(`lrfr profile: unknown model "${model}" (${STEP_MODELS.join(', ')})\n`);
    return 2;
  }
  if (!(Number.isInteger(batch) && batch >= 1) || !(Number.isInteger(size) && size >= 7 && size <= 112)) {
    io.err('lrfr profile: --batch must be a positive integer and --size an integer in 7..112\n');
    return 2;
  }
  if (!(Number.isInteger(steps) && steps >= 1) || !(top === Infinity || (Number.isInteger(top) && top >= 1))) {
    io.err('lrfr profile: --steps and --top must be positive integers\n');
    return 2;
  }
  try {
    await initNodeGPU();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      io.err(`lrfr profile: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const eng = getEngine();
  if (!eng.canProfile) {
    io.err(`${PROFILE_UNSUPPORTED}\n(adapter ${adapterSummary().key}; features: ${adapterSummary().features.join(', ') || 'none'})\n`);
    return 1;
  }

  const m = modelStep(model as StepModel, batch, size, train, adamw);
  const S = m.side;
  const what = `${model}${train ? ` train step${adamw ? ' with AdamW' : ''}` : ' forward'} at batch ${batch}, input ${S}x${S}`;
  const step = () => tidy(() => void m.step());
  /** One step, recorded and awaited: its wall time in ms. */
  const timedStep = async () => {
    await eng.sync();
    const t0 = performance.now();
    step();
    await eng.sync();
    return performance.now() - t0;
  };
  try {
    out(`adapter ${adapterSummary().key}`);
    out(`${what}; ${tunedChoices().length} cached autotuner choices on this adapter`);
    await timedStep(); // warm-up: pipelines compiled, gradient buffers allocated
    const plainWall: number[] = [];
    for (let k = 0; k < steps; k++) plainWall.push(await timedStep());
    const profWall: number[] = [];
    const kernelMs: number[] = [];
    const records: (ProfileRecord & { step: number })[] = [];
    for (let k = 0; k < steps; k++) {
      await eng.sync();
      eng.startProfile();
      let wall: number;
      try {
        wall = await timedStep();
      } finally {
        const recs = await eng.stopProfile();
        for (const r of recs) records.push({ ...r, step: k });
        kernelMs.push(recs.reduce((a, r) => a + r.ms, 0));
      }
      profWall.push(wall);
    }
    const wall = mean(profWall);
    const kern = mean(kernelMs);
    const rows = aggregateProfile(records, steps, wall);
    const dispatches = records.length / steps;

    out(`\nGPU time per kernel, mean of ${steps} profiled step${steps > 1 ? 's' : ''} (${dispatches} dispatches per step):\n`);
    const w = Math.max(6, ...rows.slice(0, top).map((r) => r.name.length));
    out(`${'kernel'.padEnd(w)}  calls/step    ms/step  % kernel  % wall  mean us/call`);
    for (const r of rows.slice(0, top)) {
      out(`${r.name.padEnd(w)}  ${fmtCalls(r.callsPerStep).padStart(10)}  ${r.msPerStep.toFixed(2).padStart(9)}  ${r.pctKernel.toFixed(1).padStart(8)}` +
        `  ${r.pctWall.toFixed(1).padStart(6)}  ${r.meanUsPerCall.toFixed(1).padStart(12)}`);
    }
    if (rows.length > top) {
      const rest = rows.slice(top);
      out(`${`(${rest.length} more)`.padEnd(w)}  ${fmtCalls(rest.reduce((a, r) => a + r.callsPerStep, 0)).padStart(10)}  ` +
        `${rest.reduce((a, r) => a + r.msPerStep, 0).toFixed(2).padStart(9)}  ${rest.reduce((a, r) => a + r.pctKernel, 0).toFixed(1).padStart(8)}` +
        `  ${rest.reduce((a, r) => a + r.pctWall, 0).toFixed(1).padStart(6)}`);
    }
    const gap = wall - kern;
    out('');
    out(`kernel time per step    ${kern.toFixed(1)} ms (sum of ${dispatches} dispatches)`);
    out(`wall time per step      ${wall.toFixed(1)} ms profiled, ${mean(plainWall).toFixed(1)} ms unprofiled (mean of ${steps} each)`);
    out(`gap                     ${gap.toFixed(1)} ms (${wall > 0 ? ((100 * gap) / wall).toFixed(1) : '0.0'}% of the profiled step): ` +
      'recording, submit, idle and sync, plus a pass per dispatch while profiling');
    if (json !== undefined) {
      const doc = {
        adapter: adapterSummary().key,
        model, batch, inputSize: S, train, adamw, steps,
        dispatchesPerStep: dispatches,
        kernelMsPerStep: kernelMs,
        wallMsPerStep: profWall,
        unprofiledWallMsPerStep: plainWall,
        kernels: rows,
        records,
      };
      await writeFile(json, JSON.stringify(doc, null, 1) + '\n');
      out(`json ${json}`);
    }
    return 0;
  } catch (e) {
    io.err(`lrfr profile: ${(e as Error).message}\n`);
    return 1;
  } finally {
    m.clearGrads();
    m.dispose();
  }
}

const fmtCalls = (c: number) => (Number.isInteger(c) ? String(c) : c.toFixed(2));

export async function profileMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(PROFILE_USAGE);
    return 0;
  }
  return profileCommand(argv);
}
