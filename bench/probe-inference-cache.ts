// What an inference forward gains from conv2dFused's epilogues (DSR: ReLU, × resScale and the
// residual add in the Winograd output transform's stores: convPaths.fuseEpilogues) and from keeping
// each weight's transforms with the weight (Winograd's U, packed layouts, WnConv2d's normalised
// kernel: convPaths.cacheWeightTransforms). One process, the two settings alternating round by round
// (this host's speed drifts too much between processes to resolve a few per cent), after warm-up
// forwards with both.
//   npx tsx bench/probe-inference-cache.ts [dsr|dsr-paper|wdsr|unet|edgeface|mobilefacenet] [batch] [rounds] [size] [train]
// With `train`: training steps instead (lrfr profile's: forward, backward of sum(y²)), where only the
// epilogues apply (conv2dFused's recorded op: ReLU or the residual in the stores, dy taken through them
// in the backward); the check then also compares every parameter's gradient. A last argument names one
// convPaths switch to alternate instead of the two (e.g. fuseDyTransforms: a 3x3 conv's backward
// reading dy once for both gradients).
// "on" is both switches on (the default), "off" both off (the code before them). The models and input
// are `lrfr profile`'s (src/cli/model-step.ts: seeded weights, eval mode, a random input; size = the
// SR networks' probe side, default 32). It checks first that both give the same output (to the bit on
// lavapipe, or within 1e-5 of its largest value where sums run in another order: the UNet's sub-pixel
// transposed convs, convPaths.subpixelConvT) and counts the dispatches of one forward each way.
// Times: wall ms from the first op to the output read back, median (range), and the per-round on/off ratio.
import { initNodeGPU } from '../src/node/gpu.js';
import * as rt from '../src/runtime/index.js';
import { modelStep, STEP_MODELS, type StepModel } from '../src/cli/model-step.js';
import { medianRange } from './lib/stats.js';

const [model = 'dsr', batchArg = '1', roundsArg = '20', sizeArg = '32', modeArg = 'forward', switchArg] = process.argv.slice(2);
if (switchArg !== undefined && !(switchArg in rt.convPaths && typeof rt.convPaths[switchArg as keyof typeof rt.convPaths] === 'boolean')) {
  throw new Error(`probe-inference-cache: "${switchArg}" is not a switch of convPaths (${Object.keys(rt.convPaths).join(', ')})`);
}
if (modeArg !== 'forward' && modeArg !== 'train') throw new Error(`probe-inference-cache: mode "${modeArg}" is not forward or train`);
const train = modeArg === 'train';
if (!(STEP_MODELS as readonly string[]).includes(model)) throw new Error(`probe-inference-cache: model "${model}" is not one of ${STEP_MODELS.join(', ')}`);
const batch = Number(batchArg), rounds = Number(roundsArg), size = Number(sizeArg);
if (!(Number.isInteger(batch) && batch >= 1 && batch <= 32)) throw new Error(`probe-inference-cache: batch "${batchArg}" is not 1..32`);
if (!(Number.isInteger(rounds) && rounds >= 2)) throw new Error(`probe-inference-cache: rounds "${roundsArg}" is not an integer >= 2`);
if (!(Number.isInteger(size) && size >= 7 && size <= 112)) throw new Error(`probe-inference-cache: size "${sizeArg}" is not 7..112`);

await initNodeGPU();
const engine = rt.getEngine();
const set = (on: boolean) => {
  if (switchArg) {
    (rt.convPaths as unknown as Record<string, boolean>)[switchArg] = on;
    return;
  }
  rt.convPaths.fuseEpilogues = on;
  rt.convPaths.cacheWeightTransforms = on;
};
const run = modelStep(model as StepModel, batch, size, train);
const name = `${model} ${train ? 'training step' : 'forward'} b${batch}${['edgeface', 'mobilefacenet'].includes(model) ? '' : ` ${size}x${size}`}`;

async function once(on: boolean): Promise<{ ms: number; out: Float32Array; dispatches: number }> {
  set(on);
  const d0 = engine.stats.dispatches;
  const t0 = performance.now();
  const y = rt.tidy(() => rt.keep(run.step()));
  const dispatches = engine.stats.dispatches - d0;
  const out = await y.data();
  const ms = performance.now() - t0;
  y.dispose();
  if (!train) return { ms, out, dispatches };
  // the gradients after the output (the step's timing ends with the output's readback, as a forward's)
  const grads = await Promise.all(run.params.map((p) => p.grad!.data()));
  const all = new Float32Array(out.length + grads.reduce((a, g) => a + g.length, 0));
  let o = 0;
  for (const a of [out, ...grads]) { all.set(a, o); o += a.length; }
  return { ms, out: all, dispatches };
}

process.stderr.write(`${name}: warming up (compiles pipelines)...\n`);
const first = { off: await once(false), on: await once(true) };
const again = { off: await once(false), on: await once(true) };
const [a, f] = [again.off.out, again.on.out];
// Bit-equal except where the sums run in another order (the UNet's transposed convs in sub-pixel
// form): within 1e-5 of the output's largest magnitude.
let worst = 0, peak = 0;
for (let i = 0; i < a.length; i++) { worst = Math.max(worst, Math.abs(a[i]! - f[i]!)); peak = Math.max(peak, Math.abs(a[i]!)); }
if (a.length !== f.length || !(worst <= 1e-5 * peak)) throw new Error(`probe-inference-cache: the outputs differ (max |diff| ${worst} against max |y| ${peak})`);
console.log(`check: ${a.length} ${train ? 'output and gradient' : 'output'} values, max |on - off| ${worst.toExponential(1)}${worst === 0 ? ' (equal to the bit)' : ` (max |y| ${peak.toExponential(1)})`}`);
console.log(`dispatches per ${train ? 'step' : 'forward'}: off ${again.off.dispatches}, on ${again.on.dispatches} (on's first ${train ? 'step' : 'forward'} ${first.on.dispatches}${train ? '' : ": the weights' transforms made"})`);

const ms = { off: [] as number[], on: [] as number[] };
const ratio: number[] = [];
for (let r = 0; r < rounds; r++) {
  const pair: Record<string, number> = {};
  for (const on of r % 2 ? [true, false] : [false, true]) pair[on ? 'on' : 'off'] = (await once(on)).ms;
  ms.off.push(pair.off!);
  ms.on.push(pair.on!);
  ratio.push(pair.on! / pair.off!);
  process.stderr.write(`\rround ${r + 1}/${rounds}`);
}
process.stderr.write('\n');
set(true);
run.dispose();
console.log(`${name}, ${rounds} rounds: off ${medianRange(ms.off, 2, 1)} ms, on ${medianRange(ms.on, 2, 1)} ms; on/off per round ${medianRange(ratio, 3, 2, '×')}`);
