// The backward-data of a patchify conv (kernel = stride, no padding) two
// ways: conv_tgather (convPaths.patchifyDgrad off) and one batched product wᵀ·dy plus a pixel
// shuffle (on, the default). GPU time of the backward-data's kernels from timestamp queries, the two
// alternating in one process, median of the rounds; the two gradients compared first.
//   npx tsx bench/probe-patchify-dgrad.ts [rounds]
// Shapes: EdgeFace-XXS's downsamplers at batch 32 (28 -> 14, 14 -> 7, and 7 -> 3, whose patches leave
// the input's last row and column unused: the shuffle writes zeros there).
import { initNodeGPU } from '../src/node/gpu.js';
import * as rt from '../src/runtime/index.js';
import { medianRange } from './lib/stats.js';

const rounds = Number(process.argv[2] ?? 9);
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`probe-patchify-dgrad: rounds "${process.argv[2]}" is not a positive integer`);
await initNodeGPU();
const engine = rt.getEngine();
if (!engine.canProfile) throw new Error('probe-patchify-dgrad: this adapter has no timestamp queries');

const shapes: [number[], number[]][] = [[[32, 24, 28, 28], [48, 24, 2, 2]], [[32, 48, 14, 14], [88, 48, 2, 2]], [[32, 88, 7, 7], [168, 88, 2, 2]]];
/** The kernels of the forward and of the loss around it: everything else in the profile is the backward-data. */
const NOT_DGRAD = new Set(['conv2d_forward', 'mul', 'sum', 'fill', 'expand']);
const values = (n: number, f: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f));

for (const [xs, ws] of shapes) {
  const x = rt.tensor(values(xs.reduce((a, b) => a * b), 0.37), xs);
  x.requiresGrad = true;
  const w = rt.tensor(values(ws.reduce((a, b) => a * b), 0.11), ws);
  const yShape = [xs[0]!, ws[0]!, Math.floor(xs[2]! / 2), Math.floor(xs[3]! / 2)];
  const r = rt.tensor(values(yShape.reduce((a, b) => a * b), 0.91), yShape);
  const once = async (product: boolean) => {
    rt.convPaths.patchifyDgrad = product;
    engine.startProfile();
    const gx = rt.tidy(() => {
      rt.backward(rt.sum(rt.mul(rt.conv2d(x, w, null, { stride: 2 }), r)));
      return rt.keep(x.grad!);
    });
    x.grad = null;
    const data = await gx.data();
    gx.dispose();
    const recs = (await engine.stopProfile()).filter((p) => !NOT_DGRAD.has(p.name));
    return { data, ms: recs.reduce((a, p) => a + p.ms, 0), kernels: [...new Set(recs.map((p) => p.name))].join(' + ') };
  };
  const [a, b] = [await once(false), await once(true)];
  let worst = 0, scale = 0;
  a.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b.data[i]!)); scale = Math.max(scale, Math.abs(v)); });
  if (!(worst <= 1e-5 * scale)) throw new Error(`probe-patchify-dgrad: the two gradients differ (max diff ${worst} of ${scale})`);
  const t: Record<'off' | 'on', number[]> = { off: [], on: [] };
  for (let i = 0; i < rounds; i++) {
    for (const product of i % 2 ? [true, false] : [false, true]) t[product ? 'on' : 'off'].push((await once(product)).ms);
  }
  console.log(`x ${xs.join('x')}, w ${ws.join('x')}, stride 2 (max diff ${(worst / scale).toExponential(1)} of the largest):`);
  console.log(`  ${a.kernels}: ${medianRange(t.off, 2, 2, ' ms')}`);
  console.log(`  ${b.kernels}: ${medianRange(t.on, 2, 2, ' ms')}`);
  rt.dispose([x, w, r]);
}
rt.convPaths.patchifyDgrad = true;
process.exit(0);
