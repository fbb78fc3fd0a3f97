// The subgroup matmul's vec4 reads (src/runtime/ops/matmul-subgroup.ts, subgroupMatmulVec4Defines)
// against its scalar reads, same block (default 4x4: 32 x 32 tiles, 4 k per step), on EdgeFace-XXS's
// training-step products (forward nt, input gradient nn, weight gradient tn, batch 32) and DSR-cpu's
// batched Winograd products (36 x [Co, Ci] . [Ci, tiles]):
//   npx tsx bench/probe-matmul-vec4.ts [rounds] [blocks]      blocks: e.g. 4x4,8x4 (tm x tb)
// Per shape: both outputs must be equal to the bit (the same sums in the same order), then the two
// take turns for `rounds` rounds of 5 products recorded back to back with one sync; medians in ms and
// GFLOP/s. Needs an adapter with fixed 8-lane subgroups (lavapipe); says so and exits otherwise.
import { initNodeGPU } from '../src/node/gpu.js';
import { alternate, msPerCall } from './lib/alternate.js';
import { fixedSubgroupSize, matmul, matmulTuning, randnArray, tensor, type MatmulTuning } from '../src/runtime/index.js';

await initNodeGPU();
if (fixedSubgroupSize() !== 8) {
  console.log(`this adapter has no fixed 8-lane subgroups (fixedSubgroupSize() = ${fixedSubgroupSize()}): the subgroup kernel does not run here`);
  process.exit(0);
}
const rounds = Number(process.argv[2] ?? 5);
const blocks = (process.argv[3] ?? '4x4').split(',').map((s) => {
  const [tm, tb] = s.split('x').map(Number);
  return { tm: tm!, tb: tb!, ku: 4 };
});
const defaults: MatmulTuning = { ...matmulTuning, transB: { ...matmulTuning.transB } };
// [transA, transB, M, K, N, batch]
const shapes: [boolean, boolean, number, number, number, number][] = [
  [false, true, 25088, 24, 96, 1], [false, false, 25088, 96, 24, 1], [true, false, 96, 25088, 24, 1], [true, false, 24, 25088, 96, 1],
  [false, true, 6272, 48, 192, 1], [false, false, 6272, 192, 48, 1], [true, false, 192, 6272, 48, 1],
  [false, true, 1568, 88, 352, 1], [false, false, 1568, 352, 88, 1], [true, false, 352, 1568, 88, 1], [true, false, 88, 1568, 352, 1],
  [false, true, 288, 168, 672, 1], [false, false, 288, 672, 168, 1], [true, false, 672, 288, 168, 1],
  [false, false, 32, 32, 14336, 36], [false, false, 128, 32, 4096, 36], [false, true, 32, 14336, 32, 36],
];
for (const [tA, tB, M, K, N, B] of shapes) {
  const a = tensor(randnArray(B * M * K, 1), [B, ...(tA ? [K, M] : [M, K])]);
  const b = tensor(randnArray(B * K * N, 2), [B, ...(tB ? [N, K] : [K, N])]);
  const cfgs = blocks.flatMap((bl) => [
    { label: `${bl.tm}x${bl.tb} scalar`, t: { subgroup: { ...bl, vec4: false } } },
    { label: `${bl.tm}x${bl.tb} vec4`, t: { subgroup: { ...bl, vec4: true } } },
  ]);
  const use = (t: Partial<MatmulTuning>) => Object.assign(matmulTuning, defaults, { transB: { ...defaults.transB } }, t);
  for (let c = 0; c < cfgs.length; c += 2) {
    const outs: Float32Array[] = [];
    for (const cfg of [cfgs[c]!, cfgs[c + 1]!]) {
      use(cfg.t);
      const y = matmul(a, b, { transA: tA, transB: tB });
      outs.push(await y.data());
      y.dispose();
    }
    const bad = outs[0]!.findIndex((v, i) => v !== outs[1]![i]);
    if (bad >= 0) throw new Error(`${cfgs[c + 1]!.label}: element ${bad} is ${outs[1]![bad]}, the scalar reads give ${outs[0]![bad]}`);
  }
  const meds = await alternate(cfgs.length, rounds, (i) => {
    use(cfgs[i]!.t);
    return msPerCall(() => matmul(a, b, { transA: tA, transB: tB }));
  });
  const cells = cfgs.map((c, i) => {
    const ms = meds[i]!;
    const ratio = i % 2 ? `, ${(meds[i - 1]! / ms).toFixed(2)}x` : '';
    return `${c.label} ${ms.toFixed(2)} ms (${(2 * B * M * K * N / ms / 1e6).toFixed(1)} GF/s${ratio})`;
  });
  console.log(`${B > 1 ? `${B} x ` : ''}${tA ? 't' : 'n'}${tB ? 't' : 'n'} ${M}x${K}x${N}: ${cells.join('; ')}`);
  a.dispose();
  b.dispose();
}
process.exit(0);
