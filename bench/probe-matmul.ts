// Throughput probe for the matmul kernel: npx tsx bench/probe-matmul.ts [size] [runs]
// Checks size^3 once against a float64 CPU reference on sampled entries, warms up, then times `runs`
// matmuls recorded back to back with one sync at the end, for each kernel variant / block shape.
// Set PROBE_ALL=1 to also try the slower block shapes and transposed operands.
import { initNodeGPU } from '../src/node/gpu.js';
import '../src/runtime/index.js';
import { getEngine, matmul, matmulTuning, randnArray, tensor, tidy, type MatmulTuning, type Tensor } from '../src/runtime/index.js';

await initNodeGPU();
const n = Number(process.argv[2] ?? 1024);
const runs = Number(process.argv[3] ?? 10);
const all = process.env.PROBE_ALL === '1';

const aData = randnArray(n * n, 1);
const bData = randnArray(n * n, 2);
const a = tensor(aData, [n, n]);
const b = tensor(bData, [n, n]);

interface Variant { label: string; tuning: Partial<MatmulTuning>; transA?: boolean; transB?: boolean }
const variants: Variant[] = [
  { label: 'register 4x4  (wg 16x4)', tuning: { tiled: false, tm: 4, tnv: 1, wgx: 16, wgy: 4 } },
  { label: 'register 4x8  (wg 16x4)', tuning: { tiled: false, tm: 4, tnv: 2, wgx: 16, wgy: 4 } },
  { label: 'register 8x4  (wg 16x4)', tuning: { tiled: false, tm: 8, tnv: 1, wgx: 16, wgy: 4 } },
  { label: 'register 8x8  (wg 16x4)', tuning: { tiled: false, tm: 8, tnv: 2, wgx: 16, wgy: 4 } },
  { label: 'register 4x4  (wg 64x1)', tuning: { tiled: false, tm: 4, tnv: 1, wgx: 64, wgy: 1 } },
  { label: 'register 8x4  (wg 64x1)', tuning: { tiled: false, tm: 8, tnv: 1, wgx: 64, wgy: 1 } },
  { label: 'register 4x8  (wg 64x1)', tuning: { tiled: false, tm: 4, tnv: 2, wgx: 64, wgy: 1 } },
  { label: 'register 8x8  (wg 64x1)', tuning: { tiled: false, tm: 8, tnv: 2, wgx: 64, wgy: 1 } },
  { label: 'register 4x4  (wg 8x8)', tuning: { tiled: false, tm: 4, tnv: 1, wgx: 8, wgy: 8 } },
  { label: 'tiled 32x32 shared memory', tuning: { tiled: true } },
];
if (all) {
  const def = { ...matmulTuning };
  for (const [tA, tB] of [[true, false], [false, true], [true, true]] as const) {
    variants.push({ label: `default  transA=${tA} transB=${tB}`, tuning: def, transA: tA, transB: tB });
  }
}

const defaults = { ...matmulTuning };
const eng = getEngine();
for (const v of variants) {
  Object.assign(matmulTuning, defaults, v.tuning);
  const opts = { transA: v.transA ?? false, transB: v.transB ?? false };
  // ---- correctness on sampled entries (float64 CPU dot products)
  const c = matmul(a, b, opts);
  const cd = await c.data();
  c.dispose();
  const at = (i: number, k: number) => (opts.transA ? aData[k * n + i]! : aData[i * n + k]!);
  const bt = (k: number, j: number) => (opts.transB ? bData[j * n + k]! : bData[k * n + j]!);
  let worst = 0;
  for (let s = 0; s < 64; s++) {
    const i = (s * 7919) % n, j = (s * 104729 + 13) % n;
    let ref = 0;
    for (let k = 0; k < n; k++) ref += at(i, k) * bt(k, j);
    worst = Math.max(worst, Math.abs(cd[i * n + j]! - ref) / (1 + Math.abs(ref)));
  }
  if (!(worst < 1e-3)) throw new Error(`${v.label}: sampled entries differ from the CPU reference (worst rel ${worst})`);
  // ---- warm-up, then `runs` back to back, one sync
  const timeRuns = async (count: number) => {
    const t0 = performance.now();
    tidy(() => {
      for (let r = 0; r < count; r++) matmul(a, b, opts);
    });
    await eng.sync();
    return performance.now() - t0;
  };
  await timeRuns(1);
  const ms = (await timeRuns(runs)) / runs;
  const gflops = (2 * n * n * n) / (ms * 1e6);
  console.log(`${v.label.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms  ${gflops.toFixed(2).padStart(6)} GFLOP/s  (max rel err ${worst.toExponential(1)})`);
}
Object.assign(matmulTuning, defaults);
([a, b] as Tensor[]).forEach((t) => t.dispose());
