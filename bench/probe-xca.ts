// Probe: EdgeFace-XXS with its cross-covariance attention as one kernel each way (xcaAttention, the
// model's code) against the composite of ops it replaced (xcaPaths.fused = false), in one process,
// interleaved round by round: correctness first (the largest difference of the two forwards'
// embeddings), a warm-up of each, then per round one step of each timed (wall, awaited) and one
// profiled (the summed GPU time of its dispatches, timestamp queries). Medians and ranges.
//   npx tsx bench/probe-xca.ts [--batch 32] [--train] [--rounds 7] [--kernels]
//   npx tsx bench/probe-xca.ts --alone [--batch 32] [--rounds 9]
// --kernels: also the kernel time per step by kernel name where the two paths differ.
// --alone: the attention by itself on EdgeFace-XXS's three SDTA shapes (tokens 14x14, 7x7, 3x3; heads
// of 12, 22, 42 channels): GPU time of a forward (no gradients) and of a forward + backward, each path,
// alternating; no model around it, so the figures are the kernels' own.
// --train: bench:models's training step (forward, backward of sum(y²), AdamW), else an inference forward.
import { initNodeGPU } from '../src/node/gpu.js';
import * as L from '../src/runtime/index.js';
import { modelStep } from '../src/cli/model-step.js';
import { medianRange } from './lib/stats.js';

const arg = (name: string, d: number) => { const i = process.argv.indexOf(name); return i >= 0 ? Number(process.argv[i + 1]) : d; };
const batch = arg('--batch', 32), rounds = arg('--rounds', 7), train = process.argv.includes('--train');
if (!(Number.isInteger(batch) && batch >= 1 && Number.isInteger(rounds) && rounds >= 1)) throw new Error('probe-xca: --batch and --rounds take positive integers');
await initNodeGPU();
const e = L.getEngine();
if (!e.canProfile) throw new Error('probe-xca: this adapter has no timestamp queries');
type Kind = 'composite' | 'fused';
const setKind = (k: Kind) => { L.xcaPaths.fused = k === 'fused'; };

if (process.argv.includes('--alone')) {
  const shapes: [string, number, number][] = [['stage 1', 196, 48], ['stage 2', 49, 88], ['stage 3', 9, 168]];
  const med = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(`XCA alone at batch ${batch}, 4 heads, GPU time median of ${rounds} alternating rounds (dispatches):`);
  const total: Record<string, number> = {};
  for (const [name, N, C] of shapes) {
    const qkv = L.requireGrad(L.rand([batch, N, 3 * C], 1, -1, 1));
    const t = L.requireGrad(L.tensor(new Float32Array([1, 0.9, 1.1, 1.2]), [4, 1, 1]));
    const g = L.rand([batch, N, C], 2, -1, 1);
    const once = async (k: Kind, train: boolean) => {
      setKind(k);
      e.startProfile();
      L.tidy(() => {
        if (train) L.backward(L.xcaAttention(qkv, t, 4), g);
        else L.noGrad(() => L.xcaAttention(qkv, t, 4));
      });
      for (const p of [qkv, t]) { p.grad?.dispose(); p.grad = null; }
      const recs = await e.stopProfile();
      return { ms: recs.reduce((a, p) => a + p.ms, 0), n: recs.length };
    };
    const cases = (['composite', 'fused'] as const).flatMap((k) => [false, true].map((train) => ({ k, train, key: `${k} ${train ? 'forward + backward' : 'forward'}` })));
    for (const c of cases) await once(c.k, c.train);
    const ms: Record<string, number[]> = {}, n: Record<string, number> = {};
    for (let r = 0; r < rounds; r++) {
      for (const c of r % 2 ? [...cases].reverse() : cases) { const o = await once(c.k, c.train); (ms[c.key] ??= []).push(o.ms); n[c.key] = o.n; }
    }
    console.log(`  ${name} (${N} tokens, C ${C}): ` + cases.map((c) => `${c.key} ${med(ms[c.key]!).toFixed(2)} ms (${n[c.key]})`).join(', '));
    for (const c of cases) total[c.key] = (total[c.key] ?? 0) + med(ms[c.key]!);
    L.dispose([qkv, t, g]);
  }
  console.log('  sum: ' + Object.entries(total).map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(', '));
  L.xcaPaths.fused = true;
  process.exit(0);
}

// Correctness: the two forwards of the same seeded network and input.
{
  const m = modelStep('edgeface', batch, 112, false);
  const out: Float32Array[] = [];
  for (const k of ['composite', 'fused'] as const) {
    setKind(k);
    const y = L.tidy(() => L.keep(m.step()));
    out.push(await y.data());
    y.dispose();
  }
  m.dispose();
  let diff = 0, scale = 0;
  out[0]!.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - out[1]![i]!)); scale = Math.max(scale, Math.abs(v)); });
  if (!(scale > 0 && diff <= 1e-4 * scale)) throw new Error(`probe-xca: the fused and composite forwards differ by ${diff} (max |y| ${scale})`);
  console.log(`forward at batch ${batch}: max |fused - composite| ${diff.toExponential(2)} of max |y| ${scale.toExponential(2)}`);
}

const m = modelStep('edgeface', batch, 112, train, train);
const byName: Record<Kind, Map<string, number[]>> = { composite: new Map(), fused: new Map() };
async function once(k: Kind, profile: boolean): Promise<{ ms: number; dispatches: number }> {
  setKind(k);
  const d0 = e.stats.dispatches;
  if (profile) e.startProfile();
  const t = performance.now();
  const y = L.tidy(() => L.keep(m.step()));
  await y.data();
  const wall = performance.now() - t;
  y.dispose();
  const recs = profile ? await e.stopProfile() : [];
  const step = new Map<string, number>();
  for (const p of recs) step.set(p.name, (step.get(p.name) ?? 0) + p.ms);
  for (const [n, v] of step) byName[k].set(n, [...(byName[k].get(n) ?? []), v]);
  const ms = profile ? recs.reduce((a, p) => a + p.ms, 0) : wall;
  return { ms, dispatches: e.stats.dispatches - d0 };
}
process.stderr.write('compiling and warming up both paths...\n');
for (const k of ['composite', 'fused', 'composite', 'fused'] as const) await once(k, false);
const wall: Record<Kind, number[]> = { composite: [], fused: [] };
const kernel: Record<Kind, number[]> = { composite: [], fused: [] };
const disp: Record<Kind, number> = { composite: 0, fused: 0 };
for (let r = 0; r < rounds; r++) {
  const order: Kind[] = r % 2 ? ['fused', 'composite'] : ['composite', 'fused'];
  for (const k of order) { const o = await once(k, false); wall[k].push(o.ms); disp[k] = o.dispatches; }
  for (const k of order) kernel[k].push((await once(k, true)).ms);
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}
console.log(`EdgeFace-XXS ${train ? 'training step (AdamW)' : 'inference forward'}, batch ${batch}, ${rounds} interleaved rounds:`);
for (const k of ['composite', 'fused'] as const) {
  console.log(`  ${k.padEnd(9)} ${String(disp[k]).padStart(4)} dispatches  wall ${medianRange(wall[k], 1, 1, ' ms')}  kernel ${medianRange(kernel[k], 1, 1, ' ms')}`);
}
const med = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
if (process.argv.includes('--kernels')) {
  // Kernel time per step by kernel name, medians over the profiled rounds (where the two differ by > 0.2 ms).
  const names = new Set([...byName.composite.keys(), ...byName.fused.keys()]);
  for (const n of names) {
    const a = byName.composite.get(n), b = byName.fused.get(n);
    const ma = a ? med(a) : 0, mb = b ? med(b) : 0;
    if (Math.abs(ma - mb) > 0.2) console.log(`  ${n.padEnd(34)} composite ${ma.toFixed(2).padStart(7)} ms  fused ${mb.toFixed(2).padStart(7)} ms`);
  }
}
const ratios = wall.composite.map((c, i) => c / wall.fused[i]!);
console.log(`  fused vs composite: wall ${(med(wall.composite) / med(wall.fused)).toFixed(3)}x faster (medians; per round ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}), kernel time ${(med(kernel.composite) - med(kernel.fused)).toFixed(1)} ms less`);
L.xcaPaths.fused = true;
m.dispose();
process.exit(0);
