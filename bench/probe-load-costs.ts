// What a read costs on this adapter, per lane: npx tsx bench/probe-load-costs.ts [iterations]
// Each case runs 256 workgroups x 64 invocations, each looping `iterations` times over one read and an
// add; the "loop only" case is subtracted. Then the same-address vs per-lane read written out
// without a loop, the cost of an invocation (one store each) and of a
// dispatch, and a prototype matmul reading both operands through 64 KiB uniform-buffer windows against
// the linear op on EdgeFace-XXS's largest linear (x [1568, 88] . W [352, 88]^T), outputs compared.
// Medians of 5 timed runs after a warm-up; the machine's load hits all cases alike only within one run.
import { initNodeGPU } from '../src/node/gpu.js';
import { getEngine, tensor, linear, randnArray, tidy } from '../src/runtime/index.js';

const dev = await initNodeGPU();
const K = Number(process.argv[2] ?? 1024);
const GROUPS = 256;
const LANES = 64 * GROUPS;

async function median5(run: () => Promise<void>): Promise<number> {
  await run();
  const ts: number[] = [];
  for (let i = 0; i < 5; i++) { const t0 = performance.now(); await run(); ts.push(performance.now() - t0); }
  return ts.sort((a, b) => a - b)[2]!;
}

function pipelineOf(code: string): GPUComputePipeline {
  return dev.createComputePipeline({ layout: 'auto', compute: { module: dev.createShaderModule({ code }), entryPoint: 'main' } });
}

async function dispatchTime(p: GPUComputePipeline, entries: GPUBindGroupEntry[], groups: number, times = 1): Promise<number> {
  const bg = dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  const ms = await median5(async () => {
    const e = dev.createCommandEncoder();
    const c = e.beginComputePass();
    c.setPipeline(p);
    c.setBindGroup(0, bg);
    for (let i = 0; i < times; i++) c.dispatchWorkgroups(groups);
    c.end();
    dev.queue.submit([e.finish()]);
    await dev.queue.onSubmittedWorkDone();
  });
  return ms / times;
}

// ---- reads ----
const S = dev.createBuffer({ size: 4 * (K * 64 + 64) * 4, usage: GPUBufferUsage.STORAGE });
const UB = dev.createBuffer({ size: 65536, usage: GPUBufferUsage.UNIFORM });
const O = dev.createBuffer({ size: LANES * 4, usage: GPUBufferUsage.STORAGE });
const tex = dev.createTexture({ size: [1024, 1024], format: 'rgba32float', usage: GPUTextureUsage.TEXTURE_BINDING });
const ssbo = 'var<storage, read> A: array<f32>;', ssbo4 = 'var<storage, read> A: array<vec4<f32>>;';
const ubo4 = 'var<uniform> A: array<vec4<f32>, 4096>;', tex2d = 'var A: texture_2d<f32>;';
const cases: { name: string; decl: string; body: string; res: GPUBindingResource | null; floats: number }[] = [
  { name: 'loop only (no read)', decl: '', body: 'acc += f32(k) * 1.0001;', res: null, floats: 0 },
  { name: 'storage f32, per-lane address', decl: ssbo, body: 'acc += A[k * 64u + lid];', res: { buffer: S }, floats: 1 },
  { name: 'storage f32, same address', decl: ssbo, body: 'acc += A[k];', res: { buffer: S }, floats: 1 },
  { name: 'storage vec4, per-lane address', decl: ssbo4, body: 'let v = A[k * 64u + lid]; acc += v.x + v.y + v.z + v.w;', res: { buffer: S }, floats: 4 },
  { name: 'uniform vec4, per-lane address', decl: ubo4, body: 'let v = A[(k * 64u + lid) & 4095u]; acc += v.x + v.y + v.z + v.w;', res: { buffer: UB }, floats: 4 },
  { name: 'uniform vec4, same address', decl: ubo4, body: 'let v = A[k & 4095u]; acc += v.x + v.y + v.z + v.w;', res: { buffer: UB }, floats: 4 },
  { name: 'texture rgba32f, per-lane texel', decl: tex2d, body: 'let v = textureLoad(A, vec2<u32>(lid + (k & 15u) * 64u, (k >> 4u) & 1023u), 0); acc += v.x + v.y + v.z + v.w;', res: tex.createView(), floats: 4 },
  { name: 'workgroup f32, per-lane address', decl: '', body: 'acc += W[(k * 64u + lid) & 4095u];', res: null, floats: 1 },
];
console.log(`adapter: ${(await dev.adapterInfo?.description) ?? ''}  ${GROUPS} workgroups x 64, ${K} iterations`);
console.log('read                                  ns per lane-read  ns per float');
let loopNs = 0;
for (const c of cases) {
  const wg = c.name.startsWith('workgroup');
  const code = `${c.decl ? `@group(0) @binding(0) ${c.decl}` : ''}
${wg ? 'var<workgroup> W: array<f32, 4096>;' : ''}
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  ${wg ? 'for (var i = lid; i < 4096u; i += 64u) { W[i] = f32(i); }\n  workgroupBarrier();' : ''}
  var acc = 0.0;
  for (var k = 0u; k < ${K}u; k++) { ${c.body} }
  O[wid.x * 64u + lid] = acc;
}`;
  const entries: GPUBindGroupEntry[] = [{ binding: 1, resource: { buffer: O } }];
  if (c.res) entries.push({ binding: 0, resource: c.res });
  const ns = (await dispatchTime(pipelineOf(code), entries, GROUPS)) * 1e6 / (K * LANES);
  if (c.floats === 0) { loopNs = ns; console.log(`${c.name.padEnd(38)}${ns.toFixed(2).padStart(8)} (subtracted below)`); continue; }
  const net = ns - loopNs;
  console.log(`${c.name.padEnd(38)}${net.toFixed(2).padStart(8)}${(net / c.floats).toFixed(2).padStart(18)}`);
}

// ---- straight-line reads: is a same-address read cheaper outside any loop? ----
// 64 reads written out (no loop, no early return: nothing masks the invocations), 8-lane workgroups,
// against the same code with a constant in place of the read. On Mesa 25.0.7 (2026-12-07, Intel
// Xeon host, four runs) a read at one address for all lanes cost what a per-lane one did, 1.1-1.6 ns
// per lane-read either way: no scalar-load path for storage buffers here, in or out of loops.
{
  const R = 64, G = 4096;
  const src = dev.createBuffer({ size: (G * 16 + 8 * 64 + R) * 4, usage: GPUBufferUsage.STORAGE });
  const dst = dev.createBuffer({ size: G * 8 * 4, usage: GPUBufferUsage.STORAGE });
  const straight = async (read: (i: number) => string, readsA: boolean) => {
    const body = Array.from({ length: R }, (_, i) => `  acc = fma(acc, 1.0001, ${read(i)});`).join('\n');
    const p = pipelineOf(`@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(8) fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let base = wid.x * 16u;
  var acc = 0.0;
${body}
  O[wid.x * 8u + lid] = acc;
}`);
    // layout 'auto' drops a binding the shader never reads (A in the no-read case)
    const entries: GPUBindGroupEntry[] = [{ binding: 1, resource: { buffer: dst } }];
    if (readsA) entries.push({ binding: 0, resource: { buffer: src } });
    return (await dispatchTime(p, entries, G)) * 1e6 / (G * 8 * R);
  };
  const none = await straight((i) => `f32(${i})`, false);
  const same = await straight((i) => `A[base + ${i}u]`, true) - none;
  const lane = await straight((i) => `A[base + lid * 64u + ${i}u]`, true) - none;
  console.log(`straight-line storage f32 (no loop): same address ${same.toFixed(2)} ns per lane-read, per-lane address ${lane.toFixed(2)}`);
}

// ---- invocations and dispatches ----
{
  const p = pipelineOf(`@group(0) @binding(0) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { O[g.x] = f32(g.x); }`);
  const big = dev.createBuffer({ size: 4096 * 64 * 4, usage: GPUBufferUsage.STORAGE });
  const one = await dispatchTime(p, [{ binding: 0, resource: { buffer: big } }], 1, 200);
  const many = await dispatchTime(p, [{ binding: 0, resource: { buffer: big } }], 4096, 5);
  console.log(`a dispatch of one workgroup (64 stores): ${(one * 1000).toFixed(1)} us; an invocation with one store, in 4096 workgroups: ${(many * 1e6 / (4096 * 64)).toFixed(2)} ns`);
}

// ---- matmul through uniform-buffer windows vs the linear op ----
{
  const M = 1568, KK = 88, N = 352, K4 = KK / 4, TM = 8, TN = 8, WG = 16;
  const a = randnArray(M * KK, 1), b = randnArray(N * KK, 2);
  const RW = Math.floor(16384 / KK / 8) * 8; // rows per 64 KiB window; offsets stay 256-byte aligned (KK % 8 == 0)
  const upload = (d: Float32Array, rows: number) => {
    const buf = dev.createBuffer({ size: rows * KK * 4 + 65536, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    dev.queue.writeBuffer(buf, 0, d as Float32Array<ArrayBuffer>);
    return buf;
  };
  const A = upload(a, M), B = upload(b, N);
  const OUT = dev.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const P = dev.createBuffer({ size: 256 * 64, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const p = pipelineOf(`
@group(0) @binding(0) var<uniform> A: array<vec4<f32>, 4096>;
@group(0) @binding(1) var<uniform> B: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
struct U { r0: u32, c0: u32, rows: u32, cols: u32 }
@group(0) @binding(3) var<uniform> u: U;
const TM = ${TM}u; const TN = ${TN}u; const K4 = ${K4}u; const N = ${N}u;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let cb = (u.cols + TN - 1u) / TN;
  let r0 = (gid.x / cb) * TM;
  let c0 = (gid.x % cb) * TN;
  if (r0 >= u.rows) { return; }
  var acc: array<f32, TM * TN>;
  for (var k = 0u; k < K4; k++) {
    var av: array<vec4<f32>, TM>;
    for (var i = 0u; i < TM; i++) { av[i] = A[min(r0 + i, u.rows - 1u) * K4 + k]; }
    for (var j = 0u; j < TN; j++) {
      let bv = B[min(c0 + j, u.cols - 1u) * K4 + k];
      for (var i = 0u; i < TM; i++) { acc[i * TN + j] += dot(av[i], bv); }
    }
  }
  for (var i = 0u; i < TM; i++) {
    if (r0 + i < u.rows) {
      for (var j = 0u; j < TN; j++) { if (c0 + j < u.cols) { O[(u.r0 + r0 + i) * N + u.c0 + c0 + j] = acc[i * TN + j]; } }
    }
  }
}`);
  const jobs: { bg: GPUBindGroup; groups: number }[] = [];
  const params: number[] = [];
  for (let r0 = 0; r0 < M; r0 += RW) {
    for (let c0 = 0; c0 < N; c0 += RW) {
      const rows = Math.min(RW, M - r0), cols = Math.min(RW, N - c0);
      params.push(r0, c0, rows, cols, ...new Array(60).fill(0));
      jobs.push({
        groups: Math.ceil(Math.ceil(rows / TM) * Math.ceil(cols / TN) / WG),
        bg: dev.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [
          { binding: 0, resource: { buffer: A, offset: r0 * KK * 4, size: 65536 } },
          { binding: 1, resource: { buffer: B, offset: c0 * KK * 4, size: 65536 } },
          { binding: 2, resource: { buffer: OUT } },
          { binding: 3, resource: { buffer: P, offset: (jobs.length) * 256, size: 16 } }] }),
      });
    }
  }
  dev.queue.writeBuffer(P, 0, new Uint32Array(params));
  const reps = 5;
  const runUbo = async () => {
    const e = dev.createCommandEncoder();
    const c = e.beginComputePass();
    c.setPipeline(p);
    for (let i = 0; i < reps; i++) for (const j of jobs) { c.setBindGroup(0, j.bg); c.dispatchWorkgroups(j.groups); }
    c.end();
    dev.queue.submit([e.finish()]);
    await dev.queue.onSubmittedWorkDone();
  };
  const eng = getEngine();
  const x = tensor(a, [M, KK]), w = tensor(b, [N, KK]);
  const ref = await tidy(() => linear(x, w)).data();
  await runUbo();
  const RB = dev.createBuffer({ size: M * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const e = dev.createCommandEncoder();
  e.copyBufferToBuffer(OUT, 0, RB, 0, M * N * 4);
  dev.queue.submit([e.finish()]);
  await RB.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(RB.getMappedRange().slice(0));
  RB.unmap();
  let err = 0;
  for (let i = 0; i < got.length; i++) err = Math.max(err, Math.abs(got[i]! - ref[i]!));
  if (!(err < 1e-4)) throw new Error(`uniform-window matmul differs from linear by ${err}`);
  const runOp = async () => { const outs = []; for (let i = 0; i < reps; i++) outs.push(linear(x, w)); await eng.sync(); outs.forEach((o) => o.dispose()); };
  // interleaved: op, windows, op, windows, ...
  const tOp: number[] = [], tUbo: number[] = [];
  await runOp();
  for (let r = 0; r < 5; r++) {
    let t0 = performance.now(); await runOp(); tOp.push((performance.now() - t0) / reps);
    t0 = performance.now(); await runUbo(); tUbo.push((performance.now() - t0) / reps);
  }
  const med = (v: number[]) => [...v].sort((p, q) => p - q)[2]!;
  const gf = (ms: number) => (2 * M * KK * N / ms / 1e6).toFixed(1);
  console.log(`x [${M}, ${KK}] . W [${N}, ${KK}]^T: linear op ${med(tOp).toFixed(2)} ms (${gf(med(tOp))} GFLOP/s); ` +
    `uniform windows, ${jobs.length} dispatches, ${TM}x${TN} per invocation ${med(tUbo).toFixed(2)} ms (${gf(med(tUbo))} GFLOP/s); max |diff| ${err.toExponential(1)}`);
}
process.exit(0);
