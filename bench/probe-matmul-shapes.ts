// A/B of matmulTuning overrides on given shapes, interleaved (A, B, A, B, ...; best of `rounds`):
//   npx tsx bench/probe-matmul-shapes.ts ROUNDS 'tn:352x1568x88,nn:25088x96x24' '{tuning A}' '{tuning B}' ...
// A shape is flags:MxKxN (flags nn/nt/tn/tt: transA, transB). Each round times `reps` products
// recorded back to back with one sync (wall ms per product).
import { initNodeGPU } from '../src/node/gpu.js';
import { getEngine, matmul, matmulTuning, rand, tidy } from '../src/runtime/index.js';

await initNodeGPU();
const rounds = Number(process.argv[2]);
const shapes = process.argv[3]!.split(',').map((s) => {
  const [f, dims] = s.split(':') as [string, string];
  const [M, K, N] = dims.split('x').map(Number) as [number, number, number];
  return { label: s, transA: f[0] === 't', transB: f[1] === 't', M, K, N };
});
const configs: Record<string, unknown>[] = process.argv.slice(4).map((j) => JSON.parse(j));
const defaults = { ...matmulTuning };
const eng = getEngine();
for (const s of shapes) {
  const a = rand(s.transA ? [s.K, s.M] : [s.M, s.K], 1, -1, 1);
  const b = rand(s.transB ? [s.N, s.K] : [s.K, s.N], 2, -1, 1);
  const reps = Math.max(2, Math.min(20, Math.round(2e8 / (s.M * s.K * s.N))));
  const run = async (c: Record<string, unknown>, n: number) => {
    Object.assign(matmulTuning, defaults, c);
    await eng.sync();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) tidy(() => { matmul(a, b, { transA: s.transA, transB: s.transB }); });
    await eng.sync();
    return (performance.now() - t0) / n;
  };
  for (const c of configs) await run(c, 1);
  const best = configs.map(() => Infinity);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < configs.length; i++) best[i] = Math.min(best[i]!, await run(configs[i]!, reps));
  console.log(`${s.label.padEnd(22)} ${best.map((x, i) => `[${i}] ${x.toFixed(2)} ms`).join('  ')}  ratio ${(best[1]! / best[0]!).toFixed(2)}`);
  a.dispose(); b.dispose();
}
Object.assign(matmulTuning, defaults);
