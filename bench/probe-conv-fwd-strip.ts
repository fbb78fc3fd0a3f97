// conv_fwd's row strips (shaders/conv_fwd.wgsl KW; convVariants.fwdStripMaxKw) against one input per
// (kx, pixel), on convs that run conv_fwd (fewer than 8 output channels): DSR's 32 -> 3 tail at 128 x 128
// and a 5x5 5 -> 3; a 3 -> 32 head as a control (the subgroup conv where the device has 8-lane subgroups). Outputs compared first (max diff / max), then alternating timings:
//   npx tsx bench/probe-conv-fwd-strip.ts [rounds]
import { initNodeGPU } from '../src/node/gpu.js';
import { alternate, msPerCall } from './lib/alternate.js';
import { randnArray, tensor } from '../src/runtime/index.js';
import { conv2d, convVariants } from '../src/runtime/ops/conv.js';
await initNodeGPU();
const rounds = Number(process.argv[2] ?? 7);
// [N, Ci, Co, H, k, pad]
const shapes: number[][] = [[32, 32, 3, 128, 3, 1], [32, 3, 32, 32, 3, 1], [32, 5, 3, 64, 5, 2]];
for (const [N, Ci, Co, H, k, p] of shapes) {
  const x = tensor(randnArray(N! * Ci! * H! * H!, 1), [N!, Ci!, H!, H!]);
  const w = tensor(randnArray(Co! * Ci! * k! * k!, 2), [Co!, Ci!, k!, k!]);
  const kws = [7, 0];
  const outs = await Promise.all(kws.map(async (kw) => { convVariants.fwdStripMaxKw = kw; const y = conv2d(x, w, null, { padding: p }); const d = await y.data(); y.dispose(); return d; }));
  let md = 0, mx = 0; for (let i = 0; i < outs[0]!.length; i++) { md = Math.max(md, Math.abs(outs[0]![i]! - outs[1]![i]!)); mx = Math.max(mx, Math.abs(outs[1]![i]!)); }
  const t = await alternate(2, rounds, (i) => { convVariants.fwdStripMaxKw = kws[i]!; return msPerCall(() => conv2d(x, w, null, { padding: p })); });
  console.log(`N${N} ${Ci}->${Co} ${H}^2 k${k}: strip ${t[0]!.toFixed(1)} ms, plain ${t[1]!.toFixed(1)} ms, ratio ${(t[1]!/t[0]!).toFixed(2)}x; maxdiff/max ${(md/mx).toExponential(2)}`);
  x.dispose(); w.dispose();
}
