// What DSR's inference forward gains from conv2dFused's epilogues (ReLU, × resScale and the residual
// add in the Winograd output transform's stores: convPaths.fuseEpilogues) and from keeping each
// weight's Winograd transform with the weight (convPaths.cacheWeightTransforms). One process, the
// two settings alternating round by round (this host's speed drifts too much between processes to
// resolve a few per cent), after warm-up forwards with both.
//   npx tsx bench/probe-dsr-fusion.ts [cpu|paper] [batch] [rounds]
// "fused" is both switches on (the default), "apart" both off (the code before them). It checks first
// that both give the same output (to within one rounding per value: on lavapipe to the bit) and
// counts the dispatches of one forward each way. Times: wall ms from the first op to the output read
// back, median (range), and the per-round fused/apart ratio.
import { initNodeGPU } from '../src/node/gpu.js';
import * as rt from '../src/runtime/index.js';
import { dsrBench } from './lib/models-cases.js';
import { medianRange } from './lib/stats.js';

const [preset = 'cpu', batchArg = '1', roundsArg = '20'] = process.argv.slice(2);
if (preset !== 'cpu' && preset !== 'paper') throw new Error(`probe-dsr-fusion: preset "${preset}" is not cpu or paper`);
const batch = Number(batchArg), rounds = Number(roundsArg);
if (!(Number.isInteger(batch) && batch >= 1 && batch <= 32)) throw new Error(`probe-dsr-fusion: batch "${batchArg}" is not 1..32`);
if (!(Number.isInteger(rounds) && rounds >= 2)) throw new Error(`probe-dsr-fusion: rounds "${roundsArg}" is not an integer >= 2`);

await initNodeGPU();
const mb = dsrBench(preset);
await mb.prepare();
const engine = rt.getEngine();
const set = (fused: boolean) => {
  rt.convPaths.fuseEpilogues = fused;
  rt.convPaths.cacheWeightTransforms = fused;
};
const run = mb.oursForward(batch);

async function once(fused: boolean): Promise<{ ms: number; out: Float32Array; dispatches: number }> {
  set(fused);
  const d0 = engine.stats.dispatches;
  const t0 = performance.now();
  const outs = rt.tidy(() => run.step().map((t) => rt.keep(t)));
  const dispatches = engine.stats.dispatches - d0;
  const out = await outs[0]!.data();
  const ms = performance.now() - t0;
  rt.dispose(outs);
  return { ms, out, dispatches };
}

process.stderr.write(`${mb.name} forward b${batch}: warming up (compiles pipelines)...\n`);
const first = { apart: await once(false), fused: await once(true) };
const again = { apart: await once(false), fused: await once(true) };
const [a, f] = [again.apart.out, again.fused.out];
let worst = 0;
for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - f[i]!) / (Math.abs(a[i]!) + 1e-30));
if (a.length !== f.length || !(worst <= 2 ** -22)) throw new Error(`probe-dsr-fusion: the outputs differ (worst relative difference ${worst})`);
console.log(`check: ${a.length} output values, worst relative difference fused vs apart ${worst.toExponential(1)}${worst === 0 ? ' (equal to the bit)' : ''}`);
console.log(`dispatches per forward: apart ${again.apart.dispatches}, fused ${again.fused.dispatches} (the fused one's first forward ${first.fused.dispatches}: the weight transforms)`);

const ms = { apart: [] as number[], fused: [] as number[] };
const ratio: number[] = [];
for (let r = 0; r < rounds; r++) {
  const pair: Record<string, number> = {};
  for (const fused of r % 2 ? [true, false] : [false, true]) pair[fused ? 'fused' : 'apart'] = (await once(fused)).ms;
  ms.apart.push(pair.apart!);
  ms.fused.push(pair.fused!);
  ratio.push(pair.fused! / pair.apart!);
  process.stderr.write(`\rround ${r + 1}/${rounds}`);
}
process.stderr.write('\n');
set(true);
run.dispose();
console.log(`${mb.name} forward b${batch}, ${rounds} rounds: apart ${medianRange(ms.apart, 2, 1)} ms, fused ${medianRange(ms.fused, 2, 1)} ms; fused/apart per round ${medianRange(ratio, 3, 2, '×')}`);
