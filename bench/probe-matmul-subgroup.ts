// The subgroup-broadcast matmul (shaders/matmul_subgroup.wgsl) against the register-blocked kernel on
// EdgeFace-XXS's training-step shapes: npx tsx bench/probe-matmul-subgroup.ts [rounds] [blocks]
//   blocks: comma-separated tm x tb (k ku: k's per loop step) of the subgroup kernel to try (default
//   8x4,4x4,8x2,4x2; e.g. 8x4k2).
// Per shape: every block's output is compared with the register-blocked kernel's (max relative
// difference, within 1e-5·sqrt(K)), then the kernels take turns (reg, block 1, block 2, ..., reg, ...) for `rounds` rounds of
// 5 products recorded back to back with one sync; medians in ms and GFLOP/s, ratio to reg; and the
// time of each config's first product (with MESA_SHADER_CACHE_DISABLE=true: its pipeline compile).
// Needs an adapter with fixed 8-lane subgroups (lavapipe); says so and exits otherwise.
import { initNodeGPU } from '../src/node/gpu.js';
import { alternate, msPerCall } from './lib/alternate.js';
import { fixedSubgroupSize, matmul, matmulTuning, matmulTrace, randnArray, tensor, type MatmulTuning } from '../src/runtime/index.js';

await initNodeGPU();
const rounds = Number(process.argv[2] ?? 5);
const blocks = (process.argv[3] ?? '8x4,4x4,8x2,4x2').split(',').map((s) => {
  const [tm, tb, ku] = s.split(/[xk]/).map(Number);
  return { tm: tm!, tb: tb!, ku: ku ?? 1 };
});
if (fixedSubgroupSize() !== 8) {
  console.log(`this adapter has no fixed 8-lane subgroups (fixedSubgroupSize() = ${fixedSubgroupSize()}): the subgroup kernel does not run here`);
  process.exit(0);
}
// [transA, transB, M, K, N]: the largest matmul / linear products of an EdgeFace-XXS step at batch 32
// (bench/probe-edgeface-matmul.ts), forward (nt), input gradient (nn) and weight gradient (tn).
const shapes: [boolean, boolean, number, number, number][] = [
  [false, true, 1568, 88, 352], [false, true, 1568, 352, 88], [false, false, 1568, 88, 352], [false, false, 1568, 352, 88],
  [true, false, 88, 1568, 352], [true, false, 352, 1568, 88], [false, true, 25088, 24, 96], [false, false, 25088, 96, 24],
  [true, false, 24, 25088, 96], [true, false, 96, 25088, 24], [false, true, 6272, 48, 192], [false, true, 288, 168, 672],
];
const defaults: MatmulTuning = { ...matmulTuning, transB: { ...matmulTuning.transB } };
for (const [tA, tB, M, K, N] of shapes) {
  const a = tensor(randnArray(M * K, 1), tA ? [K, M] : [M, K]);
  const b = tensor(randnArray(K * N, 2), tB ? [N, K] : [K, N]);
  const configs: { label: string; t: Partial<MatmulTuning> }[] = [
    { label: 'reg', t: { subgroup: null } },
    ...blocks.map((s) => ({ label: `sg ${s.tm}x${8 * s.tb}${s.ku > 1 ? `k${s.ku}` : ''}`, t: { subgroup: s } })),
  ];
  const use = (t: Partial<MatmulTuning>) => Object.assign(matmulTuning, defaults, { transB: { ...defaults.transB } }, t);
  let ref: Float32Array | null = null;
  const diffs: string[] = [];
  /** The first product of each config: its pipeline compile (with MESA_SHADER_CACHE_DISABLE=true). */
  const firstMs: number[] = [];
  for (const c of configs) {
    use(c.t);
    const kernels: string[] = [];
    matmulTrace.fn = (e) => kernels.push(e.kernel);
    const t0 = performance.now();
    const y = matmul(a, b, { transA: tA, transB: tB });
    matmulTrace.fn = null;
    const d = await y.data();
    firstMs.push(performance.now() - t0);
    y.dispose();
    if (c.label !== 'reg' && kernels[0] !== 'sg') throw new Error(`${c.label}: ran the ${kernels[0]} kernel`);
    if (!ref) { ref = d; continue; }
    let worst = 0;
    for (let i = 0; i < d.length; i++) worst = Math.max(worst, Math.abs(d[i]! - ref[i]!) / (1 + Math.abs(ref[i]!)));
    // float32 sums of K products of N(0,1) in another order (split-K chunks differ): ~sqrt(K)·eps·|sum|.
    if (!(worst < 1e-5 * Math.sqrt(K))) throw new Error(`${c.label}: differs from the register-blocked kernel by ${worst} (relative)`);
    diffs.push(worst.toExponential(1));
  }
  const meds = await alternate(configs.length, rounds, (i) => {
    use(configs[i]!.t);
    return msPerCall(() => matmul(a, b, { transA: tA, transB: tB }));
  });
  const gf = (ms: number) => (2 * M * K * N / ms / 1e6).toFixed(1);
  const reg = meds[0]!;
  const cells = configs.map((c, i) => `${c.label} ${meds[i]!.toFixed(2)} ms (${gf(meds[i]!)} GF/s${i ? `, ${(reg / meds[i]!).toFixed(2)}x` : ''})`);
  console.log(`${tA ? 't' : 'n'}${tB ? 't' : 'n'} ${M}x${K}x${N}: ${cells.join('; ')}; max rel diff ${diffs.join(', ')}; ` +
    `first run ms ${firstMs.map((m) => m.toFixed(0)).join(' / ')}`);
  a.dispose();
  b.dispose();
}
process.exit(0);
