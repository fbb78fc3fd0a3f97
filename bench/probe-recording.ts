// What recording a step costs on the main thread, and what the engine's recording caches (pipeline
// specs by a short key, bind groups per combination of buffers: Engine.recordingCaches) save of it
// and of the whole step. One process, caches on and off alternating round by round (this host's
// speed drifts too much between processes to resolve a few per cent), after warm-up steps with both.
//   npx tsx bench/probe-recording.ts [edgeface|dsr] [train|forward] [batch] [rounds]
// "recording": from the step's first op to the submit (the GPU idles then: nothing of the step is
// submitted yet); "step": to its output read back. Ratios are on/off per round, median and range.
// Checks first that both modes give the same output, to the bit.
import { initNodeGPU } from '../src/node/gpu.js';
import * as rt from '../src/runtime/index.js';
import { edgefaceBench, dsrBench } from './lib/models-cases.js';
import { medianRange } from './lib/stats.js';

const [which = 'edgeface', mode = 'train', batchArg = '32', roundsArg = '20'] = process.argv.slice(2);
if (which !== 'edgeface' && which !== 'dsr') throw new Error(`probe-recording: model "${which}" is not edgeface or dsr`);
if (mode !== 'train' && mode !== 'forward') throw new Error(`probe-recording: mode "${mode}" is not train or forward`);
const batch = Number(batchArg), rounds = Number(roundsArg);
if (!(Number.isInteger(batch) && batch >= 1 && batch <= 32)) throw new Error(`probe-recording: batch "${batchArg}" is not 1..32`);
if (!(Number.isInteger(rounds) && rounds >= 2)) throw new Error(`probe-recording: rounds "${roundsArg}" is not an integer >= 2`);

await initNodeGPU();
const mb = which === 'edgeface' ? edgefaceBench() : dsrBench('cpu');
await mb.prepare();
const engine = rt.getEngine();

// The same inputs through both modes (training: two steps from the same weights, the second's loss):
// the same output, to the bit.
const outOf = async (caches: boolean) => {
  engine.recordingCaches = caches;
  const run = mode === 'train' ? mb.oursTrain!(batch) : mb.oursForward(batch);
  let v: Float32Array = new Float32Array(0);
  for (let i = 0; i < (mode === 'train' ? 2 : 1); i++) {
    const out = rt.tidy(() => run.step().map((t) => rt.keep(t)));
    v = await out[0]!.data();
    rt.dispose(out);
  }
  run.dispose(); // training: the weights restored
  return v;
};
const [a, b] = [await outOf(false), await outOf(true)];
if (a.length !== b.length || a.some((x, i) => !Object.is(x, b[i]))) throw new Error('probe-recording: the outputs with and without the caches differ');
console.log(`check: ${a.length} output value(s) equal to the bit with and without the caches`);

const run = mode === 'train' ? mb.oursTrain!(batch) : mb.oursForward(batch);
async function once(caches: boolean): Promise<{ rec: number; step: number }> {
  engine.recordingCaches = caches;
  const t0 = performance.now();
  const outs = rt.tidy(() => run.step().map((t) => rt.keep(t)));
  engine.flush();
  const t1 = performance.now();
  await outs[0]!.data();
  rt.dispose(outs);
  return { rec: t1 - t0, step: performance.now() - t0 };
}
process.stderr.write(`${mb.name} ${mode} b${batch}: warming up (compiles pipelines)...\n`);
for (const c of [false, true, false, true]) await once(c);
const on: { rec: number; step: number }[] = [], off: typeof on = [];
for (let r = 0; r < rounds; r++) {
  for (const c of r % 2 ? [true, false] : [false, true]) (c ? on : off).push(await once(c));
  process.stderr.write(`\rround ${r + 1}/${rounds}`);
}
process.stderr.write('\n');
const fmt = (v: number[]) => medianRange(v, 1);
const ratio = (k: 'rec' | 'step') => {
  const q = on.map((x, i) => x[k] / off[i]![k]);
  return medianRange(q, 3, 2, '×');
};
console.log(`${mb.name} ${mode} batch ${batch}, ${rounds} rounds, ${engine.stats.dispatches} dispatches in all, ms median (range):`);
console.log(`  recording  caches off ${fmt(off.map((x) => x.rec))}  on ${fmt(on.map((x) => x.rec))}  on/off ${ratio('rec')}`);
console.log(`  step       caches off ${fmt(off.map((x) => x.step))}  on ${fmt(on.map((x) => x.step))}  on/off ${ratio('step')}`);
run.dispose();
mb.dispose();
process.exit(0);
