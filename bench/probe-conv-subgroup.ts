// The subgroup implicit-GEMM conv2d forward (shaders/conv_subgroup.wgsl) against the direct kernel
// (conv_fwd): npx tsx bench/probe-conv-subgroup.ts [rounds]
// Shapes of DSR and EdgeFace-XXS at batch 32. Per shape: outputs compared (max relative difference,
// float32 sums in another order), then the two take turns for `rounds` rounds of 3 convolutions
// recorded back to back with one sync (the first round untimed); medians in ms and GFLOP/s.
// Needs an adapter with fixed 8-lane subgroups (lavapipe); says so and exits otherwise.
import { initNodeGPU } from '../src/node/gpu.js';
import { conv2d, convVariants, fixedSubgroupSize, getEngine, noGrad, randn } from '../src/runtime/index.js';

await initNodeGPU();
const rounds = Number(process.argv[2] ?? 6);
if (fixedSubgroupSize() !== 8) {
  console.log(`this adapter has no fixed 8-lane subgroups (fixedSubgroupSize() = ${fixedSubgroupSize()}): the subgroup kernel does not run here`);
  process.exit(0);
}
const eng = getEngine();
// [batch, Ci, H (= W), Co, k, stride, padding]
const shapes: [number, number, number, number, number, number, number][] = [
  [32, 64, 32, 64, 3, 1, 1], [32, 3, 32, 64, 3, 1, 1], [32, 64, 32, 12, 3, 1, 1], [32, 32, 64, 32, 3, 1, 1],
  [32, 3, 112, 24, 4, 4, 0], [32, 24, 56, 48, 2, 2, 0],
];
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
const saved = convVariants.subgroup;
for (const [N, Ci, H, Co, k, s, p] of shapes) {
  const x = randn([N, Ci, H, H], 1), w = randn([Co, Ci, k, k], 2), b = randn([Co], 3);
  const run = (sg: boolean) => {
    convVariants.subgroup = sg ? saved : null;
    return noGrad(() => conv2d(x, w, b, { stride: s, padding: p }));
  };
  const y0 = await run(false).data(), y1 = await run(true).data();
  let err = 0;
  for (let i = 0; i < y0.length; i++) err = Math.max(err, Math.abs(y0[i]! - y1[i]!) / (1 + Math.abs(y0[i]!)));
  if (!(err < 1e-3)) throw new Error(`subgroup conv differs from conv_fwd by ${err} (relative)`);
  const t: number[][] = [[], []];
  for (let r = 0; r <= rounds; r++) {
    for (const sg of [false, true]) {
      const t0 = performance.now();
      const ys = [run(sg), run(sg), run(sg)];
      await eng.sync();
      if (r > 0) t[+sg]!.push((performance.now() - t0) / 3);
      ys.forEach((y) => y.dispose());
    }
  }
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const gf = (ms: number) => (2 * N * Co * Ho * Ho * Ci * k * k / ms / 1e6).toFixed(1);
  const [d, g] = [med(t[0]!), med(t[1]!)];
  console.log(`x [${N}, ${Ci}, ${H}, ${H}] w [${Co}, ${Ci}, ${k}, ${k}] stride ${s} pad ${p}: conv_fwd ${d.toFixed(1)} ms (${gf(d)} GFLOP/s), ` +
    `subgroup ${g.toFixed(1)} ms (${gf(g)} GFLOP/s), ${(d / g).toFixed(2)}x; max rel diff ${err.toExponential(1)}`);
  x.dispose(); w.dispose(); b.dispose();
}
convVariants.subgroup = saved;
process.exit(0);
