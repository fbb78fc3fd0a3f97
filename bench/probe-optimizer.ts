// What the multi-tensor optimizer kernels (src/train/multi-tensor.ts) save in a training step: the
// trainer's update — the global gradient norm, the clip, AdamW — with one dispatch per tensor ("off":
// clipGradNorm then AdamW.step(), as before) against the multi-tensor kernels with the clip in AdamW's
// update ("on": gradNorm, then AdamW.step({ norm, maxNorm }), as src/train/trainer.ts does now). One
// process, the two alternating round by round (this host's speed drifts too much between processes to
// resolve a few per cent), after a warm-up of each.
//   npx tsx bench/probe-optimizer.ts [edgeface|dsr|mobilefacenet|wdsr|unet] [batch] [rounds] [noclip]
// noclip: AdamW alone, as bench:models's training step has it (off: AdamW.step() one dispatch per tensor;
// on: AdamW.step() multi-tensor), no norm and no clip.
// Each round times, for each setting, the update alone (the gradients of one backward, kept; wall ms
// from recording 5 updates to the parameters read back, per update) and a whole training step (lrfr
// profile's: forward and backward of sum(y²), then the update; wall ms to a parameter read back).
// It checks first that the two give the same parameters to the bit, and counts each update's dispatches.
import { initNodeGPU } from '../src/node/gpu.js';
import * as rt from '../src/runtime/index.js';
import { modelStep, STEP_MODELS, type StepModel } from '../src/cli/model-step.js';
import { AdamW, clipGradNorm, gradNorm } from '../src/train/optim.js';
import { optimPaths } from '../src/train/multi-tensor.js';
import { medianRange } from './lib/stats.js';

const [model = 'edgeface', batchArg = '32', roundsArg = '15', clipArg = 'clip'] = process.argv.slice(2);
if (clipArg !== 'clip' && clipArg !== 'noclip') throw new Error(`probe-optimizer: "${clipArg}" is not clip or noclip`);
const clip = clipArg === 'clip';
if (!(STEP_MODELS as readonly string[]).includes(model)) throw new Error(`probe-optimizer: model "${model}" is not one of ${STEP_MODELS.join(', ')}`);
const batch = Number(batchArg), rounds = Number(roundsArg);
if (!(Number.isInteger(batch) && batch >= 1 && batch <= 64)) throw new Error(`probe-optimizer: batch "${batchArg}" is not 1..64`);
if (!(Number.isInteger(rounds) && rounds >= 2)) throw new Error(`probe-optimizer: rounds "${roundsArg}" is not an integer >= 2`);
const MAX_NORM = 1;
const UPDATES = 5;

await initNodeGPU();
const engine = rt.getEngine();
const run = modelStep(model as StepModel, batch, 32, true);
const ps = run.params;
const opt = new AdamW(ps, { lr: 1e-3, weightDecay: 0.01 });

/** The trainer's update, one way or the other. */
function update(on: boolean, o = opt): void {
  optimPaths.multiTensor = on;
  try {
    if (!clip) o.step();
    else if (on) {
      const n = gradNorm(ps);
      o.step({ norm: n, maxNorm: MAX_NORM });
      n.dispose();
    } else {
      clipGradNorm(ps, MAX_NORM).dispose();
      o.step();
    }
  } finally {
    optimPaths.multiTensor = true;
  }
}

const snapshot = async () => Promise.all(ps.map((p) => p.data()));
const restore = (s: Float32Array[]) => ps.forEach((p, i) => engine.upload(p.buffer, s[i]!));

process.stderr.write(`${model} b${batch}: warming up (compiles pipelines)...\n`);
rt.tidy(() => void run.step());
// the same gradients and weights through each, then the parameters compared
const w0 = await snapshot();
const grads = await Promise.all(ps.map((p) => p.grad!.data()));
const dispatches: Record<string, number> = {};
const after: Record<string, Float32Array[]> = {};
for (const on of [false, true]) {
  restore(w0);
  ps.forEach((p, i) => engine.upload(p.grad!.buffer, grads[i]!));
  const fresh = new AdamW(ps, { lr: 1e-3, weightDecay: 0.01 });
  const d0 = engine.stats.dispatches;
  update(on, fresh);
  dispatches[on ? 'on' : 'off'] = engine.stats.dispatches - d0;
  fresh.dispose();
  after[on ? 'on' : 'off'] = await snapshot();
}
const same = after.off!.every((a, i) => a.every((v, j) => Object.is(v, after.on![i]![j])));
if (!same) throw new Error('probe-optimizer: the two updates give different parameters');
restore(w0);
ps.forEach((p, i) => engine.upload(p.grad!.buffer, grads[i]!));
console.log(`check: ${ps.length} parameter tensors (${ps.reduce((a, p) => a + p.size, 0)} floats), equal to the bit after one update each way`);
console.log(`dispatches per update (${clip ? 'norm, clip, AdamW' : 'AdamW'}): off ${dispatches.off}, on ${dispatches.on}`);

async function updateMs(on: boolean): Promise<number> {
  const t0 = performance.now();
  for (let k = 0; k < UPDATES; k++) update(on);
  await ps[0]!.data();
  return (performance.now() - t0) / UPDATES;
}
async function stepMs(on: boolean): Promise<number> {
  const t0 = performance.now();
  rt.tidy(() => void run.step());
  update(on);
  await ps[0]!.data();
  return performance.now() - t0;
}
const d0 = engine.stats.dispatches;
await stepMs(true);
const stepDispatches = engine.stats.dispatches - d0;
for (const on of [false, true]) {
  await updateMs(on);
  await stepMs(on);
}
const t = { upd: { on: [] as number[], off: [] as number[] }, step: { on: [] as number[], off: [] as number[] } };
const ratio = { upd: [] as number[], step: [] as number[] };
for (let r = 0; r < rounds; r++) {
  for (const kind of ['upd', 'step'] as const) {
    const pair: Record<string, number> = {};
    for (const on of r % 2 ? [true, false] : [false, true]) pair[on ? 'on' : 'off'] = await (kind === 'upd' ? updateMs(on) : stepMs(on));
    t[kind].on.push(pair.on!);
    t[kind].off.push(pair.off!);
    ratio[kind].push(pair.on! / pair.off!);
  }
  process.stderr.write(`\rround ${r + 1}/${rounds}`);
}
process.stderr.write('\n');
console.log(`${model} b${batch}, ${rounds} rounds, medians (min–max):`);
console.log(`  update alone: off ${medianRange(t.upd.off, 2, 1)} ms, on ${medianRange(t.upd.on, 2, 1)} ms; on/off per round ${medianRange(ratio.upd, 3, 2, '×')}`);
console.log(`  training step (${stepDispatches - dispatches.on! + dispatches.off!} → ${stepDispatches} dispatches): off ${medianRange(t.step.off, 1, 0)} ms, on ${medianRange(t.step.on, 1, 0)} ms; on/off per round ${medianRange(ratio.step, 3, 2, '×')}`);
opt.dispose();
run.dispose();
