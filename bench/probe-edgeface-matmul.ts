// Ranks the matmul / linear dispatches of one EdgeFace-XXS training step by GPU time:
//   npx tsx bench/probe-edgeface-matmul.ts [batch] [steps] [tuning JSON ...]
// With tuning arguments (e.g. '{}' '{"fitN":false,"splitK":null}'), the steps alternate between these
// matmulTuning overrides (A, B, A, B, ...: the machine's load hits both alike) and a column per override.
// Pairs matmulTrace (src/runtime/ops/matmul.ts: one entry per matmul program run, with M, K, N, the
// transposes and the block chosen) with the profiler's records (needs 'timestamp-query'); groups by
// shape and prints ms per step, calls and the block, largest first. The autotuner's cached choices apply.
import { initNodeGPU } from '../src/node/gpu.js';
import { getEngine, matmulTuning, rand, backward, sum, mul, tidy, zeroGrad, matmulTrace, type MatmulTraceEntry } from '../src/runtime/index.js';
import { buildModel } from '../src/nn/registry.js';

await initNodeGPU();
const batch = Number(process.argv[2] ?? 32);
const steps = Number(process.argv[3] ?? 2);
const configs: Record<string, unknown>[] = process.argv.length > 4 ? process.argv.slice(4).map((j) => JSON.parse(j)) : [{}];
const defaults = { ...matmulTuning };
const use = (c: Record<string, unknown>) => Object.assign(matmulTuning, defaults, c);
const eng = getEngine();
const net = buildModel('edgeface-xxs', {}, 1);
const x = rand([batch, 3, 112, 112], 2, 0, 1);
const step = () => tidy(() => { const y = net.forward(x); backward(sum(mul(y, y))); });
for (const c of configs) { use(c); step(); await eng.sync(); } // warm-up: pipelines compiled
const nc = configs.length;
const rows = new Map<string, { ms: number[]; calls: number; e: MatmulTraceEntry }>();
for (let s = 0; s < steps * nc; s++) {
  const ci = s % nc;
  use(configs[ci]!);
  const trace: MatmulTraceEntry[] = [];
  matmulTrace.fn = (e) => trace.push(e);
  eng.startProfile();
  step();
  await eng.sync();
  const recs = (await eng.stopProfile()).filter((r) => r.shader === 'matmul' || r.shader === 'matmul_subgroup');
  matmulTrace.fn = null;
  // Split-K runs two matmul-shader programs per trace entry (partial products, then the reduce).
  let i = 0;
  for (const e of trace) {
    let ms = 0;
    for (let p = 0; p < (e.splits > 1 ? 2 : 1); p++) ms += recs[i++]!.ms;
    const key = `${e.op} ${e.transA ? 't' : 'n'}${e.transB ? 't' : 'n'} b${e.batch} M${e.M} K${e.K} N${e.N}`;
    const r = rows.get(key) ?? { ms: configs.map(() => 0), calls: 0, e };
    r.ms[ci]! += ms / steps;
    if (ci === 0) { r.calls += 1 / steps; r.e = e; }
    rows.set(key, r);
  }
  if (i !== recs.length) throw new Error(`probe: ${recs.length} matmul dispatches for ${i} traced`);
}
const sorted = [...rows.entries()].sort((a, b) => b[1].ms[0]! - a[1].ms[0]!);
const totals = configs.map((_, i) => sorted.reduce((a, [, r]) => a + r.ms[i]!, 0));
console.log(`matmul+linear GPU ms per step: ${totals.map((t, i) => `${JSON.stringify(configs[i])} ${t.toFixed(1)}`).join(', ')}\n`);
console.log(`${configs.map((_, i) => `ms/step[${i}]`).join(' ')}  calls  shape                                    class                  block (first config)`);
for (const [key, r] of sorted) {
  const e = r.e;
  console.log(`${r.ms.map((m) => m.toFixed(2).padStart(11)).join(' ')}  ${r.calls.toFixed(0).padStart(5)}  ${key.padEnd(40)} ${e.cls.padEnd(22)} ${e.kernel} ${e.tm}x${4 * e.tnv} wg${e.wgx}x${e.wgy} splits${e.splits} tiles${e.tiles}`);
}
zeroGrad(net.parameters(), true);
