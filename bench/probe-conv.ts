// Probe: conv2d kernel timings on this adapter. npx tsx bench/probe-conv.ts [--variants]
// npx tsx bench/probe-conv.ts --depthwise [--no-tf]: depthwise shapes vs tfjs-webgpu (see below).
// Each timing: one warm-up, then 10 runs recorded back to back and one await getEngine().sync().
import { initNodeGPU } from '../src/node/gpu.js';
import '../src/runtime/index.js';
import { getEngine, tensor, tidy, noGrad, backward, conv2d, convTranspose2d, convVariants, randnArray, keep, type Tensor } from '../src/runtime/index.js';

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

// --depthwise: the depthwise shapes (the kernel bench's and EdgeFace's), ours forward / dx / dw
// next to tfjs-webgpu (same Dawn adapter) forward and tf.grads. DW_ONLY=name filter, --no-tf.
if (process.argv.includes('--depthwise')) {
  await depthwiseProbe();
  process.exit(0);
}

async function tfTime(tf: typeof import('@tensorflow/tfjs'), fin: (t: unknown) => Promise<void>, fn: () => unknown): Promise<[number, number]> {
  const once = () => { const r = tf.tidy(fn as () => never); tf.dispose(r as never); };
  once();
  await fin(null);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < RUNS; i++) once();
  await fin(null);
  const c1 = process.cpuUsage(c0);
  return [(performance.now() - t0) / RUNS, (c1.user + c1.system) / 1e3 / RUNS];
}

async function depthwiseProbe(): Promise<void> {
  const shapes: [string, number[], number][] = [
    ['bench 7x7 8x88x14x14', [8, 88, 14, 14], 7],
  ];
  for (const k of [3, 5, 7, 9]) {
    for (const [C, S] of [[24, 28], [48, 14], [88, 7], [168, 4]] as const) shapes.push([`k${k} 32x${C}x${S}x${S}`, [32, C, S, S], k]);
  }
  const filt = process.env.DW_ONLY;
  const useTf = !process.argv.includes('--no-tf');
  let tf: typeof import('@tensorflow/tfjs') | null = null;
  let fin: (t: unknown) => Promise<void> = async () => {};
  if (useTf) {
    const peers = await import('./lib/peers.js');
    const st = await peers.initPeers();
    if (st.webgpu) throw new Error(st.webgpu);
    await peers.useBackend('webgpu');
    tf = peers.tf;
    fin = async () => peers.tfFinish(null);
  }
  const t = (ms: number, cpu: number) => `${ms.toFixed(2).padStart(7)} (${cpu.toFixed(1).padStart(6)})`;
  console.log(`${'shape'.padEnd(24)} ${'fwd ms (cpu)'.padStart(16)} ${'dx'.padStart(16)} ${'dw'.padStart(16)} | ${'tf fwd'.padStart(16)} ${'tf dx+dw'.padStart(16)} ${'tf dx'.padStart(16)} ${'tf dw'.padStart(16)}`);
  for (const [name, xs, k] of shapes) {
    if (filt && !name.includes(filt)) continue;
    const [N, C, H, W] = xs as [number, number, number, number];
    const opts = { padding: k >> 1, groups: C };
    const x = rand(xs, 1, true), w = rand([C, 1, k, k], 2, true);
    // DW_VARIANTS='[{"dwRows":2},...]': convVariants overrides, interleaved, best (by CPU) of DW_REPS.
    const vs = (process.env.DW_VARIANTS ? JSON.parse(process.env.DW_VARIANTS) : [{}]) as Partial<typeof convVariants>[];
    const saved = { ...convVariants };
    const best = vs.map(() => [[Infinity, Infinity], [Infinity, Infinity], [Infinity, Infinity]] as [number, number][]);
    const upd = (b: [number, number], ms: number) => { if (lastCpu < b[1]) { b[0] = ms; b[1] = lastCpu; } };
    for (let rep = 0; rep < Number(process.env.DW_REPS ?? 1); rep++) {
      for (const [vi, v] of vs.entries()) {
        Object.assign(convVariants, saved, v);
        upd(best[vi]![0]!, await time('', 0, () => void noGrad(() => conv2d(x, w, null, opts)), true));
        // dx: the backward-data kernel alone (conv2d's backward would add an accumulation into
        // x.grad): for depthwise stride 1 convTranspose2d runs exactly that kernel.
        const dyx = rand([N, C, H, W], 5);
        upd(best[vi]![1]!, await time('', 0, () => void noGrad(() => convTranspose2d(dyx, w, null, opts)), true));
        dyx.dispose();
        x.requiresGrad = false;
        const y1 = keep(conv2d(x, w, null, opts));
        const dy1 = rand([...y1.shape], 4);
        upd(best[vi]![2]!, await time('', 0, () => backward(y1, dy1), true));
        x.requiresGrad = true;
        y1.dispose(); dy1.dispose();
      }
    }
    Object.assign(convVariants, saved);
    let line = '';
    for (const [vi, v] of vs.entries()) {
      const b = best[vi]!;
      line += `${vi ? '\n' : ''}${(vs.length > 1 ? `${name} ${JSON.stringify(v)}` : name).padEnd(24)} ${t(...b[0]!)} ${t(...b[1]!)} ${t(...b[2]!)}`;
    }
    if (tf) {
      const tx = tf.randomNormal([N, H, W, C]), tw = tf.randomNormal([k, k, C, 1]), tdy = tf.randomNormal([N, H, W, C]);
      const f = (a: import('@tensorflow/tfjs').Tensor4D, b: import('@tensorflow/tfjs').Tensor4D) => tf!.depthwiseConv2d(a, b, 1, 'same');
      const g2 = tf.grads((a, b) => f(a as never, b as never));
      const gx = tf.grad((a) => f(a as never, tw as never));
      const gw = tf.grad((b) => f(tx as never, b as never));
      const bestOf = async (fn: () => unknown): Promise<[number, number]> => {
        let b: [number, number] = [Infinity, Infinity];
        for (let rep = 0; rep < Number(process.env.DW_REPS ?? 1); rep++) {
          const r = await tfTime(tf!, fin, fn);
          if (r[1] < b[1]) b = r;
        }
        return b;
      };
      const a = await bestOf(() => f(tx as never, tw as never));
      const b = await bestOf(() => g2([tx, tw], tdy));
      const c = await bestOf(() => gx(tx, tdy));
      const d = await bestOf(() => gw(tw, tdy));
      line += ` | ${t(...a)} ${t(...b)} ${t(...c)} ${t(...d)}`;
      tf.dispose([tx, tw, tdy]);
    }
    console.log(line);
    x.dispose(); w.dispose();
  }
}

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
      for (const r of [1, 2]) for (const uc of [false, true]) {
        Object.assign(convVariants, { dwRows: r, dwSegUniformC: uc });
        await time(`${c.name} forward [R ${r} UNIFORM_C ${uc}]`, fwdFlop, () => void noGrad(() => conv2d(x, w, b, c.opts)));
      }
      Object.assign(convVariants, { dwFast: false });
      await time(`${c.name} forward [old kernel: dwFast false]`, fwdFlop, () => void noGrad(() => conv2d(x, w, b, c.opts)));
    }
    Object.assign(convVariants, { dwRows: 2, dwSegUniformC: false, dwFast: true });
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
