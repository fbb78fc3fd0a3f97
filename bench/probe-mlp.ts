// The mlp op (GELU and its derivative in the matmul stores) against linear -> gelu -> linear on
// EdgeFace-XXS's four MLP shapes at batch 32: inference forward, then forward + backward, alternating:
//   npx tsx bench/probe-mlp.ts [rounds]
import { initNodeGPU } from '../src/node/gpu.js';
import { alternate } from './lib/alternate.js';
import * as L from '../src/runtime/index.js';
await initNodeGPU();
const rounds = Number(process.argv[2] ?? 7);
const shapes = [[25088, 24], [6272, 48], [1568, 88], [288, 168]];
let totF = 0, totU = 0;
for (const [rows, d] of shapes) {
  const rng = new L.Rng(1);
  const r = (s: number[], k = 1) => L.keep(L.requireGrad(L.tensor(Float32Array.from({ length: s.reduce((p, q) => p * q, 1) }, () => k * rng.normal()), s)));
  const x = r([rows!, d!]), w1 = r([4 * d!, d!], 0.2), b1 = r([4 * d!]), w2 = r([d!, 4 * d!], 0.1), b2 = r([d!]);
  const step = (fused: boolean) => async () => {
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) L.tidy(() => { const y = fused ? L.mlp(x, w1, b1, w2, b2) : L.linear(L.gelu(L.linear(x, w1, b1)), w2, b2); L.backward(L.sum(L.square(y))); });
    await L.getEngine().sync();
    for (const p of [x, w1, b1, w2, b2]) { p.grad?.dispose(); p.grad = null; }
    return (performance.now() - t0) / 3;
  };
  const fwd = (fused: boolean) => async () => {
    const t0 = performance.now();
    L.noGrad(() => { for (let i = 0; i < 3; i++) L.tidy(() => { fused ? L.mlp(x, w1, b1, w2, b2) : L.linear(L.gelu(L.linear(x, w1, b1)), w2, b2); }); });
    await L.getEngine().sync();
    return (performance.now() - t0) / 3;
  };
  const [ff, fu] = await alternate(2, rounds, (i) => fwd(i === 0)());
  console.log(`  inference forward: fused ${ff!.toFixed(1)} ms, apart ${fu!.toFixed(1)} ms (${(fu! / ff!).toFixed(2)}x)`);
  const [f, u] = await alternate(2, rounds, (i) => step(i === 0)());
  totF += f!; totU += u!;
  console.log(`${rows} x ${d} -> ${4 * d!} -> ${d}: fused ${f!.toFixed(1)} ms, apart ${u!.toFixed(1)} ms (${(u! / f!).toFixed(2)}x)`);
}
console.log(`forward + backward, sum over the four shapes: fused ${totF.toFixed(1)} ms, apart ${totU.toFixed(1)} ms`);
