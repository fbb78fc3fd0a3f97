// Throughput probe for the matmul kernel: npx tsx bench/probe-matmul.ts [size] [runs]
// Checks size^3 once against a float64 CPU reference on sampled entries, warms up, then times `runs`
// matmuls recorded back to back with one sync at the end, for each kernel variant / block shape.
// PROBE_TRANS=1 (or PROBE_ALL=1) adds the transposed-operand cases of the default variant.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
const reg = (tm: number, tnv: number, kvec = false, wgx = 16, wgy = 4): Partial<MatmulTuning> =>
  ({ tiled: false, tm, tnv, kvec, wgx, wgy, transB: { tm, tnv } });
const variants: Variant[] = [
  { label: 'default (per-k 8x16, wg 16x4)', tuning: {} },
  { label: 'per-k 4x4', tuning: reg(4, 1) },
  { label: 'per-k 8x4', tuning: reg(8, 1) },
  { label: 'per-k 4x8', tuning: reg(4, 2) },
  { label: 'per-k 8x8', tuning: reg(8, 2) },
  { label: 'per-k 16x8', tuning: reg(16, 2) },
  { label: 'per-k 16x16', tuning: reg(16, 4) },
  { label: 'per-k 8x16 wg 64x1', tuning: reg(8, 4, false, 64, 1) },
  { label: 'kvec 4x4 (vec4 along K)', tuning: reg(4, 1, true) },
  { label: 'kvec 8x4', tuning: reg(8, 1, true) },
  { label: 'kvec 8x16', tuning: reg(8, 4, true) },
  { label: 'tiled 32x32 shared memory', tuning: { tiled: true } },
];
if (all || process.env.PROBE_TRANS === '1') {
  for (const [tA, tB] of [[true, false], [false, true], [true, true]] as const) {
    variants.push({ label: `default transA=${tA} transB=${tB}`, tuning: {}, transA: tA, transB: tB });
  }
}

// CPU seconds of every thread but the main one: lavapipe's workers run the shaders, while the main
// thread busy-polls Dawn during sync(), so on a loaded 2-core machine this is the steadier measure.
function workerCpuSeconds(): number {
  if (!existsSync('/proc/self/task')) return NaN;
  let ticks = 0;
  for (const t of readdirSync('/proc/self/task')) {
    if (Number(t) === process.pid) continue;
    try {
      const f = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const p = f.slice(f.lastIndexOf(')') + 2).split(' ');
      ticks += Number(p[11]) + Number(p[12]);
    } catch { /* thread ended */ }
  }
  return ticks / 100;
}

const defaults = { ...matmulTuning, transB: { ...matmulTuning.transB } };
const eng = getEngine();
for (const v of variants) {
  Object.assign(matmulTuning, defaults, { transB: { ...defaults.transB } }, v.tuning);
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
    const c0 = workerCpuSeconds();
    const t0 = performance.now();
    tidy(() => {
      for (let r = 0; r < count; r++) matmul(a, b, opts);
    });
    await eng.sync();
    return { ms: performance.now() - t0, cpu: workerCpuSeconds() - c0 };
  };
  await timeRuns(1);
  const { ms: total, cpu } = await timeRuns(runs);
  const ms = total / runs;
  const flop = 2 * n * n * n;
  console.log(`${v.label.padEnd(34)} ${ms.toFixed(1).padStart(8)} ms  ${(flop / (ms * 1e6)).toFixed(2).padStart(6)} GFLOP/s` +
    `  | ${(flop * runs / cpu / 1e9).toFixed(1).padStart(5)} GFLOP per worker-CPU-s  (max rel err ${worst.toExponential(1)})`);
}
Object.assign(matmulTuning, defaults, { transB: { ...defaults.transB } });
([a, b] as Tensor[]).forEach((t) => t.dispose());
