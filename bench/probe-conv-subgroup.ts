// The subgroup implicit-GEMM conv2d (shaders/conv_subgroup.wgsl) in its blocks against the direct
// kernels (conv_fwd; conv_tgather for the backward-data):
//   npx tsx bench/probe-conv-subgroup.ts [rounds] [--dgrad | --wgrad] [--winograd]
// Shapes of DSR and EdgeFace-XXS at batch 32 (--dgrad: the stride-1 ones, backward-data; --wgrad: the
// weight gradient, shaders/conv_wgrad_subgroup.wgsl against conv_wgrad and the im2col GEMM). Per shape:
// every variant's output compared with the direct kernel's (max difference / max |output|, within
// 1e-4 as the autotuner asks; float32 sums in another order), then the variants take turns for `rounds` rounds of 3 convolutions recorded
// back to back with one sync (the first round untimed); medians in ms and GFLOP/s. Cached tuning
// picks are not applied (autotune mode off): each variant runs as set here.
// --winograd: the subgroup kernels against Winograd F(4x4, 3x3) (conv-winograd.ts) on DSR's 3x3 convs
// (the forward as in inference: no gradient recorded).
// Needs an adapter with fixed 8-lane subgroups (lavapipe); says so and exits otherwise.
import { initNodeGPU } from '../src/node/gpu.js';
import { convKernels, convVariants, fixedSubgroupSize, getEngine, noGrad, randn, setAutotuneMode, type SubgroupConvBlock } from '../src/runtime/index.js';

await initNodeGPU();
setAutotuneMode('off');
const args = process.argv.slice(2);
const dgrad = args.includes('--dgrad');
const wgrad = args.includes('--wgrad');
const wino = args.includes('--winograd');
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 6);
if (fixedSubgroupSize() !== 8) {
  console.log(`this adapter has no fixed 8-lane subgroups (fixedSubgroupSize() = ${fixedSubgroupSize()}): the subgroup kernel does not run here`);
  process.exit(0);
}
const eng = getEngine();
// [batch, Ci, H (= W), Co, k, stride, padding]
const all: [number, number, number, number, number, number, number][] = [
  [32, 64, 32, 64, 3, 1, 1], [32, 3, 32, 64, 3, 1, 1], [32, 64, 32, 12, 3, 1, 1], [32, 32, 64, 32, 3, 1, 1],
  [32, 3, 112, 24, 4, 4, 0], [32, 24, 56, 48, 2, 2, 0],
];
// --winograd: DSR-cpu's 3x3 convs (body 32 -> 32 on 32x32, the upsamplers 32 -> 128 on 32x32 and 64x64,
// the tail 32 -> 3 on 128x128) and the 64-channel one.
const dsr: typeof all = [[32, 32, 32, 32, 3, 1, 1], [32, 32, 32, 128, 3, 1, 1], [32, 32, 64, 128, 3, 1, 1], [32, 32, 128, 3, 3, 1, 1], [32, 64, 32, 64, 3, 1, 1]];
const shapes = wino ? (dgrad ? dsr.map(([n, ci, h, co, k, st, p]) => [n, co, h, ci, k, st, p] as (typeof all)[number]).filter((q) => q[3] >= 8) : dsr)
  : dgrad ? all.filter((s) => s[5] === 1) : all;
const saved = { ...convVariants };
type Knobs = Partial<typeof convVariants>;
const variants: { name: string; knobs: Knobs }[] = wino
  ? [
      { name: 'default', knobs: { winograd: false, winogradDgrad: false, winogradWgrad: false } },
      { name: 'winograd', knobs: dgrad ? { winogradDgrad: true } : wgrad ? { winogradWgrad: true } : { winograd: true } },
    ]
  : wgrad
  ? [
      { name: 'conv_wgrad', knobs: { subgroupWgrad: null } },
      { name: 'gemm', knobs: { subgroupWgrad: null, gemm: true } },
      { name: 'sg 32x64 k4', knobs: { subgroupWgrad: { tm: 4, tb: 8, ku: 4, workgroups: 128 } } },
      { name: 'sg 64x32 k4', knobs: { subgroupWgrad: { tm: 8, tb: 4, ku: 4, workgroups: 128 } } },
      { name: 'sg 32x64 k4 512', knobs: { subgroupWgrad: { tm: 4, tb: 8, ku: 4, workgroups: 512 } } },
      { name: 'sg 32x32 k4', knobs: { subgroupWgrad: { tm: 4, tb: 4, ku: 4, workgroups: 128 } } },
    ]
  : [
      { name: dgrad ? 'conv_tgather' : 'conv_fwd', knobs: { subgroup: null } },
      ...([['sg 64x32', 8, 4, false], ['sg 64x32 row', 8, 4, true], ['sg 32x32 row', 4, 4, true], ['sg 32x64 row', 4, 8, true]] as const)
        .map(([name, tm, tb, rowStep]) => ({ name, knobs: { subgroup: { tm, tb, rowStep } as SubgroupConvBlock, subgroupDgrad: dgrad } })),
    ];
const med = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
for (const [N, Ci, H, Co, k, s, p] of shapes) {
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const g = { N, Ci, H, W: H, Co, Ho, Wo: Ho, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p, dh: 1, dw: 1, G: 1 };
  const x = randn([N, Ci, H, H], 1), w = randn([Co, Ci, k, k], 2), b = randn([Co], 3), dy = randn([N, Co, Ho, Ho], 4);
  const run = (knobs: Knobs) => {
    Object.assign(convVariants, saved, knobs);
    return noGrad(() => (wgrad ? convKernels.wgrad(dy, x, g) : dgrad ? convKernels.corrT(dy, w, null, g) : convKernels.corr(x, w, b, g)));
  };
  const ref = await run(variants[0]!.knobs).data();
  const errs: number[] = [];
  for (const v of variants) {
    const y = await run(v.knobs).data();
    let err = 0, scale = 0;
    for (let i = 0; i < ref.length; i++) {
      err = Math.max(err, Math.abs(ref[i]! - y[i]!));
      scale = Math.max(scale, Math.abs(ref[i]!));
    }
    err /= scale;
    if (!(err < 1e-4)) throw new Error(`${v.name} differs from ${variants[0]!.name} by ${err} of the output's largest value`);
    errs.push(err);
  }
  const t: number[][] = variants.map(() => []);
  for (let r = 0; r <= rounds; r++) {
    for (const [i, v] of variants.entries()) {
      const t0 = performance.now();
      const ys = [run(v.knobs), run(v.knobs), run(v.knobs)];
      await eng.sync();
      if (r > 0) t[i]!.push((performance.now() - t0) / 3);
      ys.forEach((y) => y.dispose());
    }
  }
  const gf = (ms: number) => (2 * N * Co * Ho * Ho * Ci * k * k / ms / 1e6).toFixed(1);
  const base = med(t[0]!);
  console.log(`${dgrad ? 'dgrad ' : wgrad ? 'wgrad ' : ''}x [${N}, ${Ci}, ${H}, ${H}] w [${Co}, ${Ci}, ${k}, ${k}] stride ${s} pad ${p}:`);
  variants.forEach((v, i) => {
    const m = med(t[i]!);
    console.log(`  ${v.name.padEnd(14)} ${m.toFixed(1).padStart(7)} ms ${gf(m).padStart(6)} GFLOP/s  ${(base / m).toFixed(2)}x  max diff / max ${errs[i]!.toExponential(1)}`);
  });
  x.dispose(); w.dispose(); b.dispose(); dy.dispose();
}
Object.assign(convVariants, saved);
process.exit(0);
