// What storing costs on this adapter by layout: 2.4 M floats (EdgeFace-XXS's largest hidden activation,
// 25088 x 96) written by 2352 one-subgroup workgroups of 32 x 32 tiles, as the subgroup matmul's lanes
// would (rowPerLane: a lane writes 4 rows of 32, its neighbours 8 rows away; colPerLane: the 8 lanes
// write 8 consecutive floats per store; vec4 forms of both). Median of 7, 5 dispatches each.
//   npx tsx bench/probe-store-layout.ts
import { initNodeGPU } from '../src/node/gpu.js';

const dev = await initNodeGPU();
const M = 25088, N = 96, TILES = (M / 32) * (N / 32);
const buf = dev.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.STORAGE });
const mk = (body: string, vec = false) => dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code: `
@group(0) @binding(0) var<storage, read_write> out: array<${vec ? 'vec4<f32>' : 'f32'}>;
@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
  let t = wid.x;
  let tn = t % 3u; let tm = t / 3u;
  let mb = tm * 32u; let n0 = tn * 32u;
  ${body}
}` }), entryPoint: 'main' } });
const variants: Record<string, GPUComputePipeline> = {
  rowPerLane: mk(`for (var i = 0u; i < 4u; i++) { let o = (mb + lane + 8u * i) * ${N}u + n0; for (var j = 0u; j < 32u; j++) { out[o + j] = f32(i + j + lane); } }`),
  rowPerLaneChecked: mk(`for (var i = 0u; i < 4u; i++) { let m = mb + lane + 8u * i; if (m < ${M}u) { let o = m * ${N}u + n0; for (var j = 0u; j < 32u; j++) { if (n0 + j < ${N}u) { out[o + j] = f32(i + j + lane); } } } }`),
  colPerLane: mk(`for (var r = 0u; r < 32u; r++) { let o = (mb + r) * ${N}u + n0 + lane; for (var j = 0u; j < 4u; j++) { out[o + 8u * j] = f32(r + j + lane); } }`),
  vec4RowPerLane: mk(`for (var i = 0u; i < 4u; i++) { let o = ((mb + lane + 8u * i) * ${N}u + n0) / 4u; for (var q = 0u; q < 8u; q++) { out[o + q] = vec4<f32>(f32(i + q + lane)); } }`, true),
  vec4ColPerLane: mk(`for (var r = 0u; r < 32u; r++) { let o = ((mb + r) * ${N}u + n0) / 4u + lane; out[o] = vec4<f32>(f32(r + lane)); }`, true),
};
async function time(p: GPUComputePipeline): Promise<number> {
  const bg = dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
  const run = async () => {
    const e = dev.createCommandEncoder(); const c = e.beginComputePass(); c.setPipeline(p); c.setBindGroup(0, bg);
    for (let i = 0; i < 5; i++) c.dispatchWorkgroups(TILES);
    c.end(); dev.queue.submit([e.finish()]); await dev.queue.onSubmittedWorkDone();
  };
  await run();
  const ts: number[] = [];
  for (let i = 0; i < 7; i++) { const t0 = performance.now(); await run(); ts.push((performance.now() - t0) / 5); }
  return ts.sort((a, b) => a - b)[3]!;
}
for (let round = 0; round < 2; round++) for (const [k, p] of Object.entries(variants)) console.log(`${k.padEnd(20)} ${(await time(p)).toFixed(2)} ms per ${(M * N / 1e6).toFixed(1)} M floats`);
