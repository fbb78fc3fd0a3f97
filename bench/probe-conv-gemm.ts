// Probe: the GEMM conv path (conv-gemm.ts) vs the direct kernels, interleaved in one process: forward (corr),
// backward-data (corrT), backward-weight (wgrad) on the bench / EdgeFace shapes. Wall ms and process CPU ms
// per run, min over ROUNDS rounds of RUNS runs. npx tsx bench/probe-conv-gemm.ts [ONLY=name]
// [VARIANTS=direct,gemm,gemm-batched,gemm-splits4] (first two are compared).
import { initNodeGPU } from '../src/node/gpu.js';
import '../src/runtime/index.js';
import { getEngine, tensor, tidy, keep, randnArray, convVariants, convKernels, type Tensor } from '../src/runtime/index.js';
import { gemmVariants } from '../src/runtime/ops/conv-gemm.js';

await initNodeGPU();
const e = getEngine();
const RUNS = Number(process.env.RUNS ?? 4), ROUNDS = Number(process.env.ROUNDS ?? 3);
const rand = (shape: number[], seed: number): Tensor => keep(tensor(randnArray(shape.reduce((a, b) => a * b, 1), seed), shape));

interface Case { name: string; x: number[]; co: number; k: number; s: number; p: number }
const all: Case[] = [
  { name: '3x3 p1 8x112x32x32 ->112', x: [8, 112, 32, 32], co: 112, k: 3, s: 1, p: 1 },
  { name: '1x1 8x112x32x32 ->112', x: [8, 112, 32, 32], co: 112, k: 1, s: 1, p: 0 },
  { name: '1x1 32x88x14x14 ->176', x: [32, 88, 14, 14], co: 176, k: 1, s: 1, p: 0 },
  { name: '1x1 32x48x14x14 ->192', x: [32, 48, 14, 14], co: 192, k: 1, s: 1, p: 0 },
  { name: '1x1 32x192x14x14 ->48', x: [32, 192, 14, 14], co: 48, k: 1, s: 1, p: 0 },
  { name: '1x1 32x88x7x7 ->352', x: [32, 88, 7, 7], co: 352, k: 1, s: 1, p: 0 },
  { name: '4x4 s4 stem 32x3x112x112 ->24', x: [32, 3, 112, 112], co: 24, k: 4, s: 4, p: 0 },
  { name: '2x2 s2 down 32x24x28x28 ->48', x: [32, 24, 28, 28], co: 48, k: 2, s: 2, p: 0 },
];
const only = process.env.ONLY;
const cases = only ? all.filter((c) => c.name.includes(only)) : all;
const variants = (process.env.VARIANTS ?? 'direct,gemm').split(',');

function apply(v: string) {
  convVariants.gemm = v !== 'direct';
  gemmVariants.wgrad = v.includes('batched') ? 'batched' : 'flat';
  const m = /splits(\d+)/.exec(v);
  gemmVariants.wgradSplits = m ? Number(m[1]) : 0;
}

async function time(fn: () => void): Promise<[number, number]> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < RUNS; i++) tidy(fn);
  await e.sync();
  const c1 = process.cpuUsage(c0);
  return [(performance.now() - t0) / RUNS, (c1.user + c1.system) / 1e3 / RUNS];
}
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;

for (const c of cases) {
  const [N, Ci, H, W] = c.x as [number, number, number, number];
  const Ho = Math.floor((H + 2 * c.p - c.k) / c.s) + 1, Wo = Math.floor((W + 2 * c.p - c.k) / c.s) + 1;
  const g = { N, Ci, H, W, Co: c.co, Ho, Wo, kh: c.k, kw: c.k, sh: c.s, sw: c.s, ph: c.p, pw: c.p, dh: 1, dw: 1, G: 1 };
  const x = rand(c.x, 1), w = rand([c.co, Ci, c.k, c.k], 2), b = rand([c.co], 3), dy = rand([N, c.co, Ho, Wo], 4);
  const gflop = 2 * N * c.co * Ho * Wo * Ci * c.k * c.k / 1e9;
  const ops: [string, () => void][] = [
    ['fwd', () => { convKernels.corr(x, w, b, g); }],
    ['dx', () => { convKernels.corrT(dy, w, null, g); }],
    ['dw', () => { convKernels.wgrad(dy, x, g); }],
  ];
  for (const [op, fn] of ops) {
    const ts: Record<string, number[]> = {}, cs: Record<string, number[]> = {};
    for (const v of variants) { apply(v); tidy(fn); await e.sync(); ts[v] = []; cs[v] = []; } // warm-up (compiles)
    for (let r = 0; r < ROUNDS; r++) for (const v of variants) { apply(v); const [t, c] = await time(fn); ts[v]!.push(t); cs[v]!.push(c); }
    const mn = (a: number[]) => Math.min(...a);
    const line = variants.map((v) => `${v} ${mn(ts[v]!).toFixed(1).padStart(6)} ms (cpu ${mn(cs[v]!).toFixed(0).padStart(4)})`).join('  ');
    const r0 = variants[0]!, r1 = variants[1]!;
    console.log(`${c.name.padEnd(30)} ${op.padEnd(3)} ${line}  gemm/direct wall ${(mn(ts[r1]!) / mn(ts[r0]!)).toFixed(2)} cpu ${(mn(cs[r1]!) / mn(cs[r0]!)).toFixed(2)}`);
  }
  apply('direct');
  [x, w, b, dy].forEach((t) => t.dispose());
}
process.exit(0);
