// The row strips of conv_fwd and conv_wgrad (the shaders' KW; convVariants.stripMaxKw), read as vec4s
// (X4, convVariants.stripX4: where the rows are multiples of 4) and as scalars, against one input
// per (kx, pixel), on convs with fewer than 8 output channels (which run those kernels where the device
// has 8-lane subgroups): DSR's 32 -> 3 tail at 128 x 128, a 5x5 5 -> 3, a 7x7 6 -> 4 (33 wide: no
// vec4s). Per conv and kernel: the outputs compared with the vec4 strips' first (max diff / max), then
// alternating timings, medians:
//   npx tsx bench/probe-conv-strip.ts [rounds]
import { initNodeGPU } from '../src/node/gpu.js';
import { alternate, msPerCall } from './lib/alternate.js';
import { Rng, tensor, type Tensor } from '../src/runtime/index.js';
import { convKernels, convVariants } from '../src/runtime/ops/conv.js';

await initNodeGPU();
const rounds = Number(process.argv[2] ?? 7);
const kw = convVariants.stripMaxKw || 7;
const variants: [string, Partial<typeof convVariants>][] = [
  ['vec4 strips', { stripMaxKw: kw, stripX4: true }], ['scalar strips', { stripMaxKw: kw, stripX4: false }], ['no strips', { stripMaxKw: 0 }],
];
const saved = { ...convVariants };
const use = (i: number) => Object.assign(convVariants, saved, variants[i]![1]);
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
    for (let i = 0; i < variants.length; i++) {
      use(i);
      const y = run();
      outs.push(await y.data());
      y.dispose();
    }
    const diff = (o: Float32Array) => {
      let md = 0, mx = 0;
      o.forEach((v, i) => { md = Math.max(md, Math.abs(v - outs[0]![i]!)); mx = Math.max(mx, Math.abs(outs[0]![i]!)); });
      return (md / mx).toExponential(1);
    };
    const t = await alternate(variants.length, rounds, (i) => { use(i); return msPerCall(run, 3); });
    console.log(`N${N} ${Ci}->${Co} ${H}x${H} ${k}x${k} ${name}: ${variants.map(([v], i) => `${v} ${t[i]!.toFixed(2)} ms${i ? ` (${(t[i]! / t[0]!).toFixed(2)}x, diff ${diff(outs[i]!)})` : ''}`).join(', ')}`);
  }
  Object.assign(convVariants, saved);
  for (const t of [x, w, dy]) t.dispose();
}
