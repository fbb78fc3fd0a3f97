// What a dispatch costs on this adapter, apart from its work: NDISP dispatches of an empty one-workgroup
// kernel recorded into one command buffer, submitted, awaited; ms / NDISP per dispatch (median of 9).
// With NDISP = 1 that is the submit-and-wait round trip; with 100-1000 the per-dispatch cost.
//   NDISP=1000 npx tsx bench/probe-dispatch-cost.ts
import { initNodeGPU } from '../src/node/gpu.js';

const NDISP = Number(process.env.NDISP ?? 10);
const dev = await initNodeGPU();
const bufs = Array.from({ length: 10 }, () => dev.createBuffer({ size: 1 << 12, usage: GPUBufferUsage.STORAGE }));
const p = dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code: `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  if (f32(wid.x) == -1.0) { out[lane] = 1.0; }
}` }), entryPoint: 'main' } });
const bgs = bufs.map((b) => dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: b } }] }));

/** distinct: each dispatch writes another buffer (no dependency); passes: a compute pass per dispatch. */
async function time(distinct: boolean, passes: boolean): Promise<number> {
  const run = async () => {
    const e = dev.createCommandEncoder();
    let c = e.beginComputePass();
    c.setPipeline(p);
    for (let i = 0; i < NDISP; i++) {
      if (passes && i > 0) { c.end(); c = e.beginComputePass(); c.setPipeline(p); }
      c.setBindGroup(0, bgs[distinct ? i % 10 : 0]!);
      c.dispatchWorkgroups(1);
    }
    c.end();
    dev.queue.submit([e.finish()]);
    await dev.queue.onSubmittedWorkDone();
  };
  await run();
  const ts: number[] = [];
  for (let i = 0; i < 9; i++) { const t0 = performance.now(); await run(); ts.push((performance.now() - t0) / NDISP); }
  return ts.sort((a, b) => a - b)[4]!;
}
for (const [d, ps] of [[false, false], [true, false], [false, true], [true, true]] as const) {
  console.log(`${NDISP} dispatches per submit, distinct buffers ${d}, a pass per dispatch ${ps}: ${(1000 * await time(d, ps)).toFixed(0)} us per dispatch`);
}
