// Probe: MobileFaceNet's eval forward (batch 32, no gradients) with its BN folded into each conv and
// the PReLU fused into the conv epilogue (the model's code) against the plain conv → BN → PReLU path
// (its code before commit ae58a86), in one process, interleaved: correctness first (the largest
// difference of the embeddings), two warm-up rounds, then 5 timed rounds of each; medians and ranges.
//   npx tsx bench/probe-mfn-fusion.ts [--batch 32] [--rounds 5]
import { initNodeGPU } from '../src/node/gpu.js';
import * as L from '../src/runtime/index.js';
import { buildModel } from '../src/nn/registry.js';
import { ConvBn } from '../src/nn/mobilefacenet.js';

const arg = (name: string, d: number) => { const i = process.argv.indexOf(name); return i >= 0 ? Number(process.argv[i + 1]) : d; };
const batch = arg('--batch', 32), rounds = arg('--rounds', 5);
if (!(Number.isInteger(batch) && batch >= 1 && Number.isInteger(rounds) && rounds >= 1)) throw new Error('--batch and --rounds take positive integers');
await initNodeGPU();
const fused = ConvBn.prototype.forward;
function plain(this: ConvBn, x: L.Tensor): L.Tensor {
  const y = this.bn.forward(this.conv.forward(x));
  return this.act ? this.act.forward(y) : y;
}
const net = buildModel('mobilefacenet', {}, 1) as unknown as { eval(): void; forward(x: L.Tensor): L.Tensor; dispose(): void };
net.eval();
const x = L.rand([batch, 3, 112, 112], 2, 0, 1);
const e = L.getEngine();
type Kind = 'plain' | 'fused';
async function once(kind: Kind): Promise<{ ms: number; dispatches: number; out: Float32Array }> {
  ConvBn.prototype.forward = kind === 'fused' ? fused : plain;
  const d0 = e.stats.dispatches;
  const t = performance.now();
  const y = L.noGrad(() => L.tidy(() => L.keep(net.forward(x))));
  const out = await y.data();
  const ms = performance.now() - t;
  y.dispose();
  return { ms, dispatches: e.stats.dispatches - d0, out };
}
process.stderr.write('compiling and warming up both paths...\n');
const a = await once('plain'), b = await once('fused');
let diff = 0, scale = 0;
for (let i = 0; i < a.out.length; i++) { diff = Math.max(diff, Math.abs(a.out[i]! - b.out[i]!)); scale = Math.max(scale, Math.abs(a.out[i]!)); }
if (!(scale > 0 && diff <= 1e-4 * scale)) throw new Error(`fused and plain forwards differ by ${diff} (max |y| ${scale})`);
await once('plain'); await once('fused');
const ms: Record<Kind, number[]> = { plain: [], fused: [] };
const disp: Record<Kind, number> = { plain: 0, fused: 0 };
for (let r = 0; r < rounds; r++) {
  for (const k of ['plain', 'fused'] as const) { const o = await once(k); ms[k].push(o.ms); disp[k] = o.dispatches; }
  process.stderr.write(`round ${r + 1}/${rounds}\n`);
}
const med = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
console.log(`MobileFaceNet eval forward, batch ${batch}, ${rounds} interleaved rounds; max |fused - plain| ${diff.toExponential(2)} (max |y| ${scale.toExponential(2)})`);
for (const k of ['plain', 'fused'] as const) {
  console.log(`${k.padEnd(6)} ${String(disp[k]).padStart(4)} dispatches  ${med(ms[k]).toFixed(0)} ms per forward (${Math.min(...ms[k]).toFixed(0)}-${Math.max(...ms[k]).toFixed(0)}), ${(med(ms[k]) / batch).toFixed(1)} ms/face`);
}
console.log(`fused / plain: ${(med(ms.plain) / med(ms.fused)).toFixed(2)}x faster (medians)`);
ConvBn.prototype.forward = fused;
x.dispose();
net.dispose();
process.exit(0);
