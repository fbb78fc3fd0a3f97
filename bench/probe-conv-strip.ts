// The row strips of conv_fwd and conv_wgrad (the shaders' KW; convVariants.stripMaxKw) against one input
// per (kx, pixel), on convs with fewer than 8 output channels (which run those kernels where the device
// has 8-lane subgroups): DSR's 32 -> 3 tail at 128 x 128, a 5x5 5 -> 3, a 7x7 6 -> 4. Per conv and
// kernel: the outputs compared first (max diff / max), then alternating timings, medians:
//   npx tsx bench/probe-conv-strip.ts [rounds]
import { initNodeGPU } from '../src/node/gpu.js';
import { alternate, msPerCall } from './lib/alternate.js';
import { Rng, tensor, type Tensor } from '../src/runtime/index.js';
import { convKernels, convVariants } from '../src/runtime/ops/conv.js';

await initNodeGPU();
const rounds = Number(process.argv[2] ?? 7);
const strips = [convVariants.stripMaxKw || 7, 0];
// [N, Ci, Co, H (= W), k, padding]
const convs = [[32, 32, 3, 128, 3, 1], [32, 5, 3, 64, 5, 2], [8, 6, 4, 33, 7, 3]];
for (const [N, Ci, Co, H, k, p] of convs as [number, number, number, number, number, number][]) {
  const g = { N, Ci, H, W: H, Co, Ho: H, Wo: H, kh: k, kw: k, sh: 1, sw: 1, ph: p, pw: p, dh: 1, dw: 1, G: 1 };
  const rng = new Rng(1);
  const rand = (s: number[]) => tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()), s);
  const x = rand([N, Ci, H, H]), w = rand([Co, Ci, k, k]), dy = rand([N, Co, H, H]);
  const kernels: [string, () => Tensor][] = [['forward', () => convKernels.corr(x, w, null, g)], ['weight gradient', () => convKernels.wgrad(dy, x, g)]];
  for (const [name, run] of kernels) {
    const outs: Float32Array[] = [];
    for (const s of strips) {
      convVariants.stripMaxKw = s;
      const y = run();
      outs.push(await y.data());
      y.dispose();
    }
    let md = 0, mx = 0;
    outs[0]!.forEach((v, i) => { md = Math.max(md, Math.abs(v - outs[1]![i]!)); mx = Math.max(mx, Math.abs(outs[1]![i]!)); });
    const t = await alternate(2, rounds, (i) => { convVariants.stripMaxKw = strips[i]!; return msPerCall(run, 3); });
    console.log(`N${N} ${Ci}->${Co} ${H}x${H} ${k}x${k} ${name}: strips ${t[0]!.toFixed(2)} ms, without ${t[1]!.toFixed(2)} ms (${(t[1]! / t[0]!).toFixed(2)}x); max diff / max ${(md / mx).toExponential(2)}`);
  }
  convVariants.stripMaxKw = strips[0]!;
  for (const t of [x, w, dy]) t.dispose();
}
