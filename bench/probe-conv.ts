// Probe: conv2d kernel timings on this adapter. npx tsx bench/probe-conv.ts [--variants]
// Each timing: one warm-up, then 10 runs recorded back to back and one await getEngine().sync().
import { initNodeGPU } from '../src/node/gpu.js';
import '../src/runtime/index.js';
import { getEngine, tensor, tidy, noGrad, backward, conv2d, convVariants, randnArray, keep, type Tensor } from '../src/runtime/index.js';

await initNodeGPU();
const e = getEngine();
const RUNS = 10;
let lastCpu = 0;

async function time(label: string, gflop: number, fn: () => void, quiet = false): Promise<number> {
  tidy(fn);
  await e.sync();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < RUNS; i++) tidy(fn);
  await e.sync();
  const ms = (performance.now() - t0) / RUNS;
  const c1 = process.cpuUsage(c0);
  const cpuMs = (c1.user + c1.system) / 1e3 / RUNS;
  lastCpu = cpuMs;
  if (!quiet) console.log(`${label.padEnd(50)} ${ms.toFixed(2).padStart(8)} ms ${(gflop / (ms / 1e3)).toFixed(2).padStart(6)} GFLOP/s  (process CPU ${cpuMs.toFixed(1)} ms/run)`);
  return ms;
}

const rand = (shape: number[], seed: number, grad = false): Tensor => {
  const t = keep(tensor(randnArray(shape.reduce((a, b) => a * b, 1), seed), shape));
  t.requiresGrad = grad;
  return t;
};

interface Case { name: string; x: number[]; w: number[]; opts: Parameters<typeof conv2d>[3] }
const cases: Case[] = [
  { name: 'conv2d 3x3 p1 8x112x32x32 -> 112', x: [8, 112, 32, 32], w: [112, 112, 3, 3], opts: { padding: 1 } },
  { name: 'depthwise 7x7 p3 8x88x14x14', x: [8, 88, 14, 14], w: [88, 1, 7, 7], opts: { padding: 3, groups: 88 } },
];

const variants = process.argv.includes('--variants');
for (const c of cases) {
  const [N, , , ] = c.x;
  const x = rand(c.x, 1, true), w = rand(c.w, 2, true), b = rand([c.w[0]!], 3, true);
  const out = noGrad(() => conv2d(x, w, b, c.opts));
  const [, Co, Ho, Wo] = out.shape as number[];
  const fwdFlop = (2 * N! * Co! * Ho! * Wo! * c.w[1]! * c.w[2]! * c.w[3]!) / 1e9;
  out.dispose();
  if (variants && c.w[1] !== 1) {
    // Interleaved, best of 3 (the machine is shared).
    const vs = (process.env.VARIANTS ? JSON.parse(process.env.VARIANTS) : [[8, 8], [4, 16], [8, 16], [2, 16], [4, 8]]) as [number, number][];
    const best = vs.map(() => Infinity);
    for (let rep = 0; rep < 3; rep++) {
      for (const [k, [px, co]] of vs.entries()) {
        Object.assign(convVariants, { px, cb: co });
        await time('', fwdFlop, () => void noGrad(() => conv2d(x, w, b, c.opts)), true);
        best[k] = Math.min(best[k]!, lastCpu);
      }
    }
    for (const [k, [px, co]] of vs.entries()) {
      console.log(`${`${c.name} forward [PX${px} CO${co}]`.padEnd(50)} process CPU ${best[k]!.toFixed(1)} ms/run (best of 3)`);
    }
    Object.assign(convVariants, { px: 0, cb: 0 });
  } else if (variants) {
    for (let rep = 0; rep < 2; rep++) {
      for (const r2 of [false, true]) for (const uc of [false, true]) {
        Object.assign(convVariants, { dwRows2: r2, dwUniformC: uc });
        await time(`${c.name} forward [ROWS2 ${r2} UNIFORM_C ${uc}]`, fwdFlop, () => void noGrad(() => conv2d(x, w, b, c.opts)));
      }
    }
    Object.assign(convVariants, { dwRows2: true, dwUniformC: false });
  } else {
    await time(`${c.name} forward`, fwdFlop, () => void noGrad(() => conv2d(x, w, b, c.opts)));
  }
  // Backward: data + weight + bias gradients (2x the forward's FLOPs), recorded once, replayed.
  const y = keep(conv2d(x, w, b, c.opts));
  const dy = rand([...y.shape], 4);
  await time(`${c.name} backward (dx, dw, db)`, 2 * fwdFlop, () => backward(y, dy));
  for (const t of [y, dy]) t.dispose();
  if (variants) {
    for (const J of c.w[1] === 1 ? [4, 7] : [4, 8, 16]) {
      if (c.w[1] === 1) convVariants.wgradKxJ = J; else convVariants.wgradCiJ = J;
      x.requiresGrad = false;
      const y1 = keep(conv2d(x, w, null, c.opts));
      const dy1 = rand([...y1.shape], 4);
      await time(`${c.name} backward dw only [J ${J}]`, fwdFlop, () => backward(y1, dy1));
      x.requiresGrad = true;
      y1.dispose();
      dy1.dispose();
    }
    Object.assign(convVariants, { wgradKxJ: 8, wgradCiJ: 8 });
  }
  // The two halves on their own.
  for (const [label, t] of [['dx only', w], ['dw only', x]] as const) {
    t.requiresGrad = false;
    const y1 = keep(conv2d(x, w, null, c.opts));
    const dy1 = rand([...y1.shape], 4);
    await time(`${c.name} backward ${label}`, fwdFlop, () => backward(y1, dy1));
    t.requiresGrad = true;
    y1.dispose();
    dy1.dispose();
  }
  for (const t of [x, w, b]) t.dispose();
}
