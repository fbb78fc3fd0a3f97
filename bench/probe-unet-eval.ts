// Probe: the UNet's (method B) eval forward, batch 32, 16 px probes, no gradients: median and range of
// 5 timed forwards after 2 warm-ups, and the output's sum (to compare trees). Times the tree given
// (default: this checkout), so a change can be compared with an older commit's worktree, alternating:
//   git worktree add /tmp/old 4324cc3 && ln -s "$PWD/node_modules" /tmp/old/node_modules && node /tmp/old/scripts/gen-shaders.mjs
//   for r in 1 2 3; do npx tsx bench/probe-unet-eval.ts /tmp/old; npx tsx bench/probe-unet-eval.ts; done
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..'));
const { initNodeGPU } = await import(`${root}/src/node/gpu.ts`);
const L = await import(`${root}/src/runtime/index.ts`);
const { buildModel } = await import(`${root}/src/nn/registry.ts`);
await initNodeGPU();
const net = buildModel('unet', { inputSize: 16 }, 1);
net.eval();
const x = L.rand([32, 3, 16, 16], 2, 0, 1);
async function once(): Promise<[number, Float32Array]> {
  const t = performance.now();
  const y = L.noGrad(() => L.tidy(() => L.keep(net.forward(x))));
  const d = (await y.data()) as Float32Array;
  y.dispose();
  return [performance.now() - t, d];
}
await once();
await once();
const ms: number[] = [];
let out: Float32Array = new Float32Array();
for (let i = 0; i < 5; i++) { const [t, d] = await once(); ms.push(t); out = d; }
ms.sort((a, b) => a - b);
let sum = 0;
for (const v of out) sum += v;
console.log(`${root}: median ${ms[2]!.toFixed(0)} ms per batch-32 forward (min ${ms[0]!.toFixed(0)}, max ${ms[4]!.toFixed(0)}), output sum ${sum.toFixed(4)}`);
process.exit(0);
