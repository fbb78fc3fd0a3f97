// The dispatch engine: turns small program descriptors into compute dispatches.
//  - Pipeline cache keyed by the final WGSL text (+ binding layout): no collisions between programs
//    that share a name but differ in defines, and no recompiles per shape (shapes go in uniforms).
//  - Command batching: dispatches are recorded into one command encoder (one compute pass) and
//    submitted on flush(); reading a tensor back is the only await. Uniforms of all dispatches in a
//    batch live in one arena buffer, written once right before the submit.
//  - Grids over 65,535 workgroups are folded into 2-D (see grid1d and shaders/common.wgsl).
//  - Profiling (startProfile/stopProfile, needs the 'timestamp-query' feature): while on, each
//    dispatch gets its own compute pass with timestampWrites; off, nothing differs.
import { getDevice } from './device.js';
import { BufferPool } from './buffers.js';
import { loadShader, shaderKey, type Defines } from './shaders.js';

export type UniformValue =
  | { t: 'u32' | 'i32' | 'f32'; v: number }
  | { t: 'vec4u' | 'vec4i' | 'vec4f'; v: readonly number[] };
export const u32 = (v: number): UniformValue => ({ t: 'u32', v });
export const i32 = (v: number): UniformValue => ({ t: 'i32', v });
export const f32 = (v: number): UniformValue => ({ t: 'f32', v });
export const vec4u = (v: readonly number[]): UniformValue => ({ t: 'vec4u', v: pad4(v) });
export const vec4i = (v: readonly number[]): UniformValue => ({ t: 'vec4i', v: pad4(v) });
export const vec4f = (v: readonly number[]): UniformValue => ({ t: 'vec4f', v: pad4(v) });
function pad4(v: readonly number[]): number[] {
  if (v.length > 4) throw new Error(`vec4 uniform given ${v.length} values`);
  return [...v, 0, 0, 0, 0].slice(0, 4);
}

/** Anything that owns a storage buffer (Tensor does). */
export interface BufferRef {
  readonly buffer: GPUBuffer;
}

export interface Program {
  /** Name for errors and stats (e.g. "conv2d_forward"). */
  name: string;
  /** shaders/<shader>.wgsl */
  shader: string;
  defines?: Defines;
  entryPoint?: string;
  /** Bound in order at @binding(0..), var<storage, read>. */
  inputs: readonly BufferRef[];
  /** Bound after the inputs, var<storage, read_write>. */
  outputs: readonly BufferRef[];
  /** Packed with WGSL uniform layout rules (scalars align 4, vec4 align 16), bound last. */
  uniforms?: readonly UniformValue[];
  workgroups: readonly [number, number?, number?];
}

const ARENA_BYTES = 1 << 18; // 256 KiB of uniforms per submit
const UNIFORM_ALIGN = 256;
/** Bind groups kept (Engine.bindGroup); a training step of EdgeFace-XXS uses ~650. */
const BIND_GROUP_CACHE_MAX = 8192;
const NO_OFFSETS: readonly number[] = [];
const STAGED_UPLOAD_MAX = 1 << 16;

/** One profiled dispatch (engine.stopProfile). */
export interface ProfileRecord {
  /** Program.name */
  name: string;
  shader: string;
  workgroups: [number, number, number];
  /** GPU time from the beginning to the end of the dispatch's compute pass, in milliseconds. */
  ms: number;
}

/** Queries per GPUQuerySet (WebGPU caps a set at 4096): 2 per profiled dispatch. */
const PROFILE_CHUNK = 4096;

export const PROFILE_UNSUPPORTED =
  "lrfr: profiling needs the WebGPU feature 'timestamp-query', which this device lacks " +
  '(its adapter does not list it: see adapterSummary().features or lrfr doctor)';

interface ProfileChunk {
  set: GPUQuerySet;
  resolve: GPUBuffer;
  used: number;
  resolved: boolean;
}

/** Bindings 0.. nIn − 1 read-only storage, then nOut storage, then the uniforms (if any). */
function layoutEntries(nIn: number, nOut: number, hasUniform: boolean): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (let i = 0; i < nIn; i++) entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'read-only-storage' } });
  for (let i = 0; i < nOut; i++) entries.push({ binding: nIn + i, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } });
  // The uniforms' offset in the arena is dynamic (setBindGroup), so a bind group outlives its dispatch.
  if (hasUniform) entries.push({ binding: nIn + nOut, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } });
  return entries;
}

/** A device's bind group and pipeline layouts, one per (inputs, outputs, uniforms) shape, made on first use. */
class Layouts {
  private readonly byKey = new Map<string, { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout }>();
  constructor(private readonly device: GPUDevice) {}

  get(nIn: number, nOut: number, hasUniform: boolean): { bgl: GPUBindGroupLayout; pl: GPUPipelineLayout } {
    const key = `${nIn}:${nOut}:${hasUniform}`;
    let l = this.byKey.get(key);
    if (!l) {
      const bgl = this.device.createBindGroupLayout({ entries: layoutEntries(nIn, nOut, hasUniform) });
      l = { bgl, pl: this.device.createPipelineLayout({ bindGroupLayouts: [bgl] }) };
      this.byKey.set(key, l);
    }
    return l;
  }
}

/** The compute pipeline descriptor of a spec on `device` (its shader module made here). */
function pipelineDescriptor(device: GPUDevice, layouts: Layouts, s: PipelineSpec): GPUComputePipelineDescriptor {
  return {
    label: s.label,
    layout: layouts.get(s.nIn, s.nOut, s.hasUniform).pl,
    compute: { module: device.createShaderModule({ code: s.code, label: s.label }), entryPoint: s.entryPoint },
  };
}

/** Bytes of each placeholder buffer a Primer binds (no invocation reads them; Dawn checks sizes). */
const PRIME_BUFFER_BYTES = 4096;

/**
 * Dispatches pipelines on one device with an indirect count of zero workgroups (Engine.primePipelines),
 * placeholder buffers bound: one submit per pipeline, awaited before the next. With every submit queued
 * at once, two devices' queues were measured compiling in turn, not side by side (the forward's 29
 * pipelines on 2 queues: 21.8 s that way, 12.5 s one at a time).
 */
class Primer {
  private readonly made: GPUBuffer[] = [];
  private readonly storage: GPUBuffer[] = [];
  private readonly indirect: GPUBuffer;
  private readonly uniform: GPUBuffer;

  constructor(readonly device: GPUDevice, private readonly pipeline: (s: PipelineSpec) => GPUComputePipeline,
    private readonly layouts: Layouts) {
    this.indirect = this.buffer(GPUBufferUsage.INDIRECT);
    this.uniform = this.buffer(GPUBufferUsage.UNIFORM);
  }

  private buffer(usage: number): GPUBuffer {
    const b = this.device.createBuffer({ size: PRIME_BUFFER_BYTES, usage });
    this.made.push(b);
    return b;
  }

  async prime(s: PipelineSpec): Promise<void> {
    while (this.storage.length < s.nIn + s.nOut) this.storage.push(this.buffer(GPUBufferUsage.STORAGE));
    const entries: GPUBindGroupEntry[] = this.storage.slice(0, s.nIn + s.nOut).map((b, i) => ({ binding: i, resource: { buffer: b } }));
    if (s.hasUniform) entries.push({ binding: s.nIn + s.nOut, resource: { buffer: this.uniform, size: PRIME_BUFFER_BYTES } });
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(this.pipeline(s));
    pass.setBindGroup(0, this.device.createBindGroup({ layout: this.layouts.get(s.nIn, s.nOut, s.hasUniform).bgl, entries }), s.hasUniform ? [0] : []);
    pass.dispatchWorkgroupsIndirect(this.indirect, 0);
    pass.end();
    this.device.queue.submit([enc.finish()]);
    await this.device.queue.onSubmittedWorkDone();
  }

  /** A primer for a helper device: its own layouts and pipelines. */
  static forHelper(dev: GPUDevice): Primer {
    const layouts = new Layouts(dev);
    return new Primer(dev, (s) => dev.createComputePipeline(pipelineDescriptor(dev, layouts, s)), layouts);
  }

  dispose(): void {
    for (const b of this.made) b.destroy();
  }
}

/** A pipeline a program needs (Engine.collectPipelines), compiled by Engine.compilePipelines. */
export interface PipelineSpec {
  /** The pipeline cache key. */
  key: string;
  /** Program.name. */
  label: string;
  code: string;
  entryPoint: string;
  nIn: number;
  nOut: number;
  hasUniform: boolean;
}

export interface EngineStats {
  dispatches: number;
  submits: number;
  pipelines: number;
  readbacks: number;
  /** Bind groups created (Engine.bindGroup: one per combination of buffers, then reused). */
  bindGroups: number;
}

export class Engine {
  readonly pool: BufferPool;
  private pipelines = new Map<string, GPUComputePipeline>();
  private specs = new Map<string, PipelineSpec>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private readonly layouts: Layouts;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arenaCPU = new ArrayBuffer(ARENA_BYTES);
  private arenaU32 = new Uint32Array(this.arenaCPU);
  private arenaI32 = new Int32Array(this.arenaCPU);
  private arenaF32 = new Float32Array(this.arenaCPU);
  private arenaGPU: GPUBuffer;
  private arenaUsed = 0;
  private pendingDispatches = 0;
  private stagingToDestroy: GPUBuffer[] = [];
  private dispatchesSinceWait = 0;
  /** Workgroups dispatched since the last wait (with the dispatch count: the wait-estimate key). */
  private groupsSinceWait = 0;
  private waitEstimates = new Map<string, number>();
  /**
   * How to wait for the GPU: 'await' the promise at once, or 'sleep-then-await' (Node/Dawn, where
   * a pending promise busy-polls a core; src/node/gpu.ts selects it). See waitFor().
   */
  pollStrategy: 'await' | 'sleep-then-await' = 'await';
  /**
   * Whether recording reuses pipeline specs and bind groups (spec(), bindGroup()). Off, every
   * dispatch builds both afresh and finds its shader text by JSON of its defines, as before commit
   * c044c62 (the pipelines themselves stay cached either way): for measuring what the caches save
   * (bench/probe-recording.ts), and for ruling them out when something looks wrong.
   */
  recordingCaches = true;
  private errors: string[] = [];
  /** Non-null inside collectPipelines: the pipelines met there that are not compiled yet. */
  private collecting: Map<string, PipelineSpec> | null = null;
  /** Non-null while profiling: query sets (chunks of PROFILE_CHUNK) and one entry per dispatch. */
  private prof: { chunks: ProfileChunk[]; meta: Omit<ProfileRecord, 'ms'>[] } | null = null;
  readonly stats: EngineStats = { dispatches: 0, submits: 0, pipelines: 0, readbacks: 0, bindGroups: 0 };
  private readonly writes = new WeakMap<GPUBuffer, number>();
  readonly maxWorkgroups: number;
  readonly maxBinding: number;
  /** Storage buffers one shader may bind (the multi-tensor optimizer kernels size their groups by it). */
  readonly maxStorageBuffers: number;

  constructor(readonly device: GPUDevice) {
    this.pool = new BufferPool(device);
    this.layouts = new Layouts(device);
    this.arenaGPU = device.createBuffer({ size: ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.maxWorkgroups = device.limits.maxComputeWorkgroupsPerDimension;
    this.maxBinding = device.limits.maxStorageBufferBindingSize;
    this.maxStorageBuffers = device.limits.maxStorageBuffersPerShaderStage;
    device.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      if (this.errors.length < 20) this.errors.push(msg);
    });
  }

  /**
   * The program's pipeline spec, made once per (name, shader, defines, entry point, layout): every
   * dispatch asks for it, and its key (layout + the full WGSL text) is then the same string object,
   * hashed once, instead of a fresh 10–50 KB string per dispatch.
   */
  private spec(p: Pick<Program, 'name' | 'shader' | 'defines' | 'entryPoint'>, nIn: number, nOut: number, hasUniform: boolean): PipelineSpec {
    const entryPoint = p.entryPoint ?? 'main';
    // Off: the shader text looked up by JSON of the defines, the way it was (measuring what it cost).
    const sk = this.recordingCaches ? shaderKey(p.shader, p.defines) : `${p.shader}|${JSON.stringify(Object.entries(p.defines ?? {}).sort())}`;
    const specKey = `${p.name}|${nIn}:${nOut}:${hasUniform}:${entryPoint}|${sk}`;
    let s = this.recordingCaches ? this.specs.get(specKey) : undefined;
    if (!s) {
      const code = loadShader(p.shader, p.defines, sk);
      s = { key: `${nIn}:${nOut}:${hasUniform}:${entryPoint}\n${code}`, label: p.name, code, entryPoint, nIn, nOut, hasUniform };
      if (this.recordingCaches) this.specs.set(specKey, s);
    }
    return s;
  }

  /** Compiles (or fetches from the cache) the pipeline for a program. */
  pipeline(p: Pick<Program, 'name' | 'shader' | 'defines' | 'entryPoint'>, nIn: number, nOut: number, hasUniform: boolean): GPUComputePipeline {
    return this.pipelineFor(this.spec(p, nIn, nOut, hasUniform));
  }

  /** The pipeline of a spec, created (createComputePipeline) on first use. */
  private pipelineFor(s: PipelineSpec): GPUComputePipeline {
    let pipe = this.pipelines.get(s.key);
    if (!pipe) {
      pipe = this.device.createComputePipeline(pipelineDescriptor(this.device, this.layouts, s));
      this.pipelines.set(s.key, pipe);
      this.stats.pipelines++;
    }
    return pipe;
  }

  /**
   * Runs `fn` (a forward pass, say) without dispatching anything and returns the pipelines its
   * programs need that are not compiled yet, for compilePipelines to compile ahead of first use
   * (a page can then compile asynchronously with progress instead of blocking on the first run).
   * Nothing is computed: tensors made inside hold garbage and must not be read; dispose them (tidy).
   * Uploads still happen. Not reentrant.
   */
  collectPipelines(fn: () => void): PipelineSpec[] {
    if (this.collecting) throw new Error('lrfr: collectPipelines: already collecting');
    this.flush();
    const found = new Map<string, PipelineSpec>();
    this.collecting = found;
    try {
      fn();
    } finally {
      this.collecting = null;
    }
    return [...found.values()];
  }

  /** Whether collectPipelines is running its function (dispatches are not recorded: outputs hold garbage). */
  get collectingPipelines(): boolean {
    return this.collecting !== null;
  }

  /** The specs whose pipelines are not compiled yet, each key once (the first of its specs). */
  uncompiled(specs: readonly PipelineSpec[]): PipelineSpec[] {
    const seen = new Set<string>();
    return specs.filter((s) => !this.pipelines.has(s.key) && !seen.has(s.key) && (seen.add(s.key), true));
  }

  /** Whether the pipeline with this cache key (PipelineSpec.key) is compiled. */
  hasPipeline(key: string): boolean {
    return this.pipelines.has(key);
  }

  /**
   * Compiles pipelines with createComputePipelineAsync (`concurrency` at a time), calling
   * onProgress after each one; pipelines already compiled are skipped. Later dispatches find them
   * in the cache. Compile errors reject with the program's name.
   */
  async compilePipelines(specs: readonly PipelineSpec[], onProgress?: (done: number, total: number, label: string) => void, concurrency = 4): Promise<void> {
    const todo = this.uncompiled(specs);
    let next = 0, done = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const s = todo[next++]!;
        if (this.pipelines.has(s.key)) { onProgress?.(++done, todo.length, s.label); continue; }
        let pipe: GPUComputePipeline;
        try {
          pipe = await this.device.createComputePipelineAsync(pipelineDescriptor(this.device, this.layouts, s));
        } catch (e) {
          throw new Error(`lrfr: compiling the pipeline of ${s.label} failed: ${(e as Error).message}`, { cause: e });
        }
        if (!this.pipelines.has(s.key)) {
          this.pipelines.set(s.key, pipe);
          this.stats.pipelines++;
        }
        onProgress?.(++done, todo.length, s.label);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, todo.length)) }, worker));
  }

  /**
   * Compiles pipelines ahead of first use the way the adapter needs it: each created on this device
   * and dispatched once with zero workgroups (indirect: a count Dawn cannot see at encode time, so it
   * does not warn; no invocation runs). Where a driver compiles its machine code when a pipeline is
   * first dispatched, not when it is created — lavapipe (llvmpipe) does — that dispatch is what takes
   * the time (up to 7 s of LLVM for one pipeline here, ~0.25 s when Mesa's cache has it), one pipeline
   * at a time on a queue. So when the first one has taken `coldMs` (default 1000; 0: at once) and is
   * still not done (the driver's cache did not have it), `helpers()` is asked for other devices on the same
   * adapter (requestHelperDevice), and each takes pipelines from the same list, longest shader first,
   * on its own queue: their machine code reaches this device through the driver's disk cache (Mesa's
   * shader cache), where this device's own first dispatch of them finds it. Without a disk cache the
   * helpers' work is lost (this device compiles those again on first use): give no helpers then. The
   * caller destroys the helpers. Where a driver compiles at creation instead, this only creates each
   * pipeline here, one at a time (compilePipelines does that asynchronously).
   */
  async primePipelines(specs: readonly PipelineSpec[], o: {
    helpers?: () => Promise<readonly GPUDevice[]>; coldMs?: number;
    /** After each pipeline; `work` is the share of the shader text primed so far (0..1), for an ETA. */
    onProgress?: (done: number, total: number, label: string, work: number) => void;
  } = {}): Promise<void> {
    const todo = this.uncompiled(specs).sort((a, b) => b.code.length - a.code.length); // the text's length stands in for compile time
    if (todo.length === 0) return;
    let next = 0, done = 0, doneChars = 0;
    const chars = todo.reduce((a, s) => a + s.code.length, 0);
    /** Primes pipelines off the shared list until it is empty; onSlowFirst once the first one runs slow. */
    const drain = async (p: Primer, onSlowFirst?: () => void): Promise<void> => {
      for (let first = true; next < todo.length; first = false) {
        const s = todo[next++]!;
        const coldMs = o.coldMs ?? 1000;
        if (first && onSlowFirst && coldMs <= 0) onSlowFirst(); // helpers at once
        const timer = first && onSlowFirst && coldMs > 0 ? setTimeout(onSlowFirst, coldMs) : undefined;
        try {
          await p.prime(s);
        } finally {
          clearTimeout(timer);
        }
        doneChars += s.code.length;
        o.onProgress?.(++done, todo.length, s.label, doneChars / chars);
      }
    };
    const primers = [new Primer(this.device, (s) => this.pipelineFor(s), this.layouts)];
    let helping: Promise<unknown> = Promise.resolve();
    const startHelpers = () => {
      helping = o.helpers!().then((devs) => Promise.all(devs.map((d) => {
        const p = Primer.forHelper(d);
        primers.push(p);
        return drain(p);
      })));
    };
    try {
      await drain(primers[0]!, o.helpers ? startHelpers : undefined);
      await helping;
    } finally {
      for (const p of primers) p.dispose();
    }
    // the helpers' pipelines created here too (their code from the disk cache), ready for the first step
    for (const sp of todo) this.pipelineFor(sp);
  }

  private writeUniforms(values: readonly UniformValue[]): { offset: number; size: number } {
    // Layout: WGSL rules for a struct of 4-byte scalars and vec4s.
    let size = 0;
    for (const u of values) size = u.t.startsWith('vec4') ? Math.ceil(size / 16) * 16 + 16 : size + 4;
    size = Math.max(16, Math.ceil(size / 16) * 16);
    if (this.arenaUsed + size > ARENA_BYTES) this.flush();
    const offset = this.arenaUsed;
    let w = offset / 4;
    for (const u of values) {
      if (u.t === 'u32' || u.t === 'i32' || u.t === 'f32') {
        this.put(u.t, w++, u.v as number);
      } else {
        w = Math.ceil(w / 4) * 4;
        const t = u.t === 'vec4u' ? 'u32' : u.t === 'vec4i' ? 'i32' : 'f32';
        const vs = u.v as readonly number[];
        for (let i = 0; i < 4; i++) this.put(t, w++, vs[i]!);
      }
    }
    this.arenaUsed = Math.ceil((offset + size) / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    return { offset, size };
  }

  private put(t: 'u32' | 'i32' | 'f32', word: number, v: number) {
    if (t === 'f32') this.arenaF32[word] = v;
    else if (t === 'i32') this.arenaI32[word] = v;
    else {
      if (!(v >= 0 && v <= 0xffffffff && Number.isInteger(v))) throw new Error(`u32 uniform out of range: ${v}`);
      this.arenaU32[word] = v;
    }
  }

  /**
   * How many writes (dispatch outputs, clears, copies, uploads) have been recorded into `buf`. A
   * value derived from a tensor and cached (the BatchNorm fold of an eval-mode model) is still valid
   * while the tensor is alive and this count is unchanged.
   */
  writeCount(buf: GPUBuffer): number {
    return this.writes.get(buf) ?? 0;
  }

  private wrote(buf: GPUBuffer): void {
    this.writes.set(buf, (this.writes.get(buf) ?? 0) + 1);
  }

  /** Records one dispatch into the current batch. */
  run(p: Program): void {
    const [x, y = 1, z = 1] = p.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    for (const d of [x, y, z]) {
      if (d > this.maxWorkgroups || !Number.isInteger(d) || d < 0) {
        throw new Error(`${p.name}: dispatch (${x}, ${y}, ${z}) exceeds ${this.maxWorkgroups} workgroups per dimension; fold the grid (grid1d)`);
      }
    }
    for (const t of [...p.inputs, ...p.outputs]) {
      if (t.buffer.size > this.maxBinding) {
        throw new Error(`${p.name}: a ${(t.buffer.size / 2 ** 20).toFixed(1)} MiB tensor exceeds this adapter's storage binding limit ` +
          `(maxStorageBufferBindingSize ${(this.maxBinding / 2 ** 20).toFixed(0)} MiB); process the batch in smaller chunks`);
      }
    }
    const hasU = !!p.uniforms && p.uniforms.length > 0;
    if (this.collecting) {
      const s = this.spec(p, p.inputs.length, p.outputs.length, hasU);
      if (!this.pipelines.has(s.key)) this.collecting.set(s.key, s);
      return;
    }
    const pipe = this.pipeline(p, p.inputs.length, p.outputs.length, hasU);
    const uni = hasU ? this.writeUniforms(p.uniforms!) : null;
    for (const t of p.outputs) this.wrote(t.buffer);
    const bindGroup = this.bindGroup(p, uni?.size ?? 0);
    const offsets = uni ? [uni.offset] : NO_OFFSETS;
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (this.prof) this.profiledDispatch(p, pipe, bindGroup, offsets, x, y, z);
    else {
      if (!this.pass) this.pass = this.encoder.beginComputePass();
      this.pass.setPipeline(pipe);
      this.pass.setBindGroup(0, bindGroup, offsets);
      this.pass.dispatchWorkgroups(x, y, z);
    }
    this.stats.dispatches++;
    this.dispatchesSinceWait++;
    this.groupsSinceWait += x * y * z;
    if (++this.pendingDispatches >= 2048) this.flush();
  }

  /** Whether this device can profile (it has the 'timestamp-query' feature). */
  get canProfile(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /** Whether startProfile() is in effect. */
  get profiling(): boolean {
    return this.prof !== null;
  }

  /**
   * Starts recording per-dispatch GPU times: from now until stopProfile(), every dispatch gets a
   * compute pass of its own whose beginning and end write timestamps. Throws (naming the
   * 'timestamp-query' feature) on a device without it. Dispatches before this call are unaffected.
   */
  startProfile(): void {
    if (!this.canProfile) throw new Error(PROFILE_UNSUPPORTED);
    if (this.prof) throw new Error('lrfr: startProfile: a profile is already running (call stopProfile first)');
    this.prof = { chunks: [], meta: [] };
  }

  /**
   * The bind group of a dispatch's buffers (inputs, outputs, then the uniform arena at a dynamic
   * offset, uniformBytes long), made once per combination: createBindGroup cost 17–33 µs a call in
   * Dawn on lavapipe (650 calls timed in a loop, 2026-12-07), ~15 ms of recording an EdgeFace-XXS
   * training step, and the pool hands the same buffers to the same ops step after step
   * (bench/probe-recording.ts measures what this and the spec cache save). Kept up to
   * BIND_GROUP_CACHE_MAX, then started afresh; emptied when the pool destroys buffers (trim).
   */
  private bindGroup(p: Program, uniformBytes: number): GPUBindGroup {
    let key = '';
    if (this.recordingCaches) {
      key = `${p.inputs.length}:${p.outputs.length}:${uniformBytes}`;
      for (const t of p.inputs) key += `,${this.bufferId(t.buffer)}`;
      for (const t of p.outputs) key += `,${this.bufferId(t.buffer)}`;
    }
    let bg = key ? this.bindGroups.get(key) : undefined;
    if (!bg) {
      const entries: GPUBindGroupEntry[] = [];
      let b = 0;
      for (const t of p.inputs) entries.push({ binding: b++, resource: { buffer: t.buffer } });
      for (const t of p.outputs) entries.push({ binding: b++, resource: { buffer: t.buffer } });
      if (uniformBytes > 0) entries.push({ binding: b++, resource: { buffer: this.arenaGPU, offset: 0, size: uniformBytes } });
      bg = this.device.createBindGroup({ layout: this.layouts.get(p.inputs.length, p.outputs.length, uniformBytes > 0).bgl, entries });
      this.stats.bindGroups++;
      if (key) {
        if (this.bindGroups.size >= BIND_GROUP_CACHE_MAX) this.bindGroups.clear();
        this.bindGroups.set(key, bg);
      }
    }
    return bg;
  }

  private bufferId(buf: GPUBuffer): number {
    let id = this.bufferIds.get(buf);
    if (id === undefined) this.bufferIds.set(buf, (id = this.nextBufferId++));
    return id;
  }

  private profiledDispatch(p: Program, pipe: GPUComputePipeline, bindGroup: GPUBindGroup, offsets: readonly number[], x: number, y: number, z: number): void {
    const prof = this.prof!;
    const enc = this.encoder!;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    let c = prof.chunks[prof.chunks.length - 1];
    if (!c || c.used === PROFILE_CHUNK) {
      c = {
        set: this.device.createQuerySet({ type: 'timestamp', count: PROFILE_CHUNK, label: 'lrfr-profile' }),
        resolve: this.device.createBuffer({ size: PROFILE_CHUNK * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
        used: 0,
        resolved: false,
      };
      prof.chunks.push(c);
    }
    const pass = enc.beginComputePass({
      label: p.name,
      timestampWrites: { querySet: c.set, beginningOfPassWriteIndex: c.used, endOfPassWriteIndex: c.used + 1 },
    });
    pass.setPipeline(pipe);
    pass.setBindGroup(0, bindGroup, offsets);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    c.used += 2;
    if (c.used === PROFILE_CHUNK) {
      // Full: resolve now (ordered after its writes, whichever submits they went into).
      enc.resolveQuerySet(c.set, 0, c.used, c.resolve, 0);
      c.resolved = true;
    }
    prof.meta.push({ name: p.name, shader: p.shader, workgroups: [x, y, z] });
  }

  /**
   * Ends profiling: submits what is recorded, reads all timestamps back (one wait) and returns one
   * record per dispatch since startProfile(), in dispatch order. WebGPU timestamps are nanoseconds
   * (the implementation applies the adapter's timestamp period; Dawn does). A pair that is not
   * increasing (the spec allows it, e.g. across a clock reset) gives ms = 0.
   */
  async stopProfile(): Promise<ProfileRecord[]> {
    const prof = this.prof;
    if (!prof) throw new Error(this.canProfile ? 'lrfr: stopProfile: no profile is running (call startProfile first)' : PROFILE_UNSUPPORTED);
    this.prof = null;
    const n = prof.meta.length;
    let staging: GPUBuffer | null = null;
    try {
      if (n === 0) return [];
      const enc = this.copyEncoder();
      staging = this.device.createBuffer({ size: n * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      let off = 0;
      for (const c of prof.chunks) {
        if (!c.resolved) enc.resolveQuerySet(c.set, 0, c.used, c.resolve, 0);
        enc.copyBufferToBuffer(c.resolve, 0, staging, off, c.used * 8);
        off += c.used * 8;
      }
      this.flush();
      this.stats.readbacks++;
      const s = staging;
      await this.waitFor(() => s.mapAsync(GPUMapMode.READ));
      const ts = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      this.throwIfErrors();
      return prof.meta.map((m, i) => {
        const t0 = ts[2 * i]!;
        const t1 = ts[2 * i + 1]!;
        return { ...m, ms: t1 > t0 ? Number(t1 - t0) / 1e6 : 0 };
      });
    } finally {
      staging?.destroy();
      for (const c of prof.chunks) {
        c.set.destroy();
        c.resolve.destroy();
      }
    }
  }

  /** The encoder for copies (closes the open compute pass). */
  private copyEncoder(): GPUCommandEncoder {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Records a clear to zero of `bytes` (a multiple of 4) at `offset` in the current batch. */
  clearBuffer(buf: GPUBuffer, offset: number, bytes: number): void {
    if (bytes === 0) return;
    this.wrote(buf);
    this.copyEncoder().clearBuffer(buf, offset, bytes);
  }

  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.wrote(dst);
    this.copyEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits everything recorded so far. Never awaits. */
  flush(): void {
    if (!this.encoder) return;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arenaGPU, 0, this.arenaCPU, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    for (const b of this.stagingToDestroy) b.destroy(); // freed once the submitted copies ran
    this.stagingToDestroy = [];
    this.encoder = null;
    this.arenaUsed = 0;
    this.pendingDispatches = 0;
    this.stats.submits++;
  }

  /**
   * Uploads data into a buffer, ordered after all recorded work. Small uploads (labels, scalars)
   * go through a mapped staging buffer copied inside the current command encoder, so recording a
   * step does not split it into several submits; large ones flush and use queue.writeBuffer.
   */
  upload(buf: GPUBuffer, data: Float32Array | Uint32Array | Int32Array, byteOffset = 0): void {
    const bytes = data.byteLength;
    if (bytes === 0) return;
    this.wrote(buf);
    if (bytes <= STAGED_UPLOAD_MAX && bytes % 4 === 0) {
      const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
      new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
      staging.unmap();
      this.copyEncoder().copyBufferToBuffer(staging, 0, buf, byteOffset, bytes);
      this.stagingToDestroy.push(staging);
      return;
    }
    this.flush();
    this.device.queue.writeBuffer(buf, byteOffset, data.buffer, data.byteOffset, bytes);
  }

  /** Reads bytes back; the one await of a step. Throws if the GPU reported an error. */
  async read(buf: GPUBuffer, bytes: number, byteOffset = 0): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.copyEncoder().copyBufferToBuffer(buf, byteOffset, staging, 0, size);
    this.flush();
    this.stats.readbacks++;
    await this.waitFor(() => staging.mapAsync(GPUMapMode.READ));
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    this.throwIfErrors();
    return out;
  }

  /** Waits until all submitted work has finished. */
  async sync(): Promise<void> {
    this.flush();
    await this.waitFor(() => this.device.queue.onSubmittedWorkDone());
    this.throwIfErrors();
  }

  /**
   * Awaits a GPU promise. With pollStrategy 'sleep-then-await', it first sleeps for most of the
   * time the same batch (keyed by its dispatch and workgroup counts) took before: Dawn's Node binding
   * busy-polls a core while a GPU promise is pending, which on a software adapter takes that core
   * from the shader threads. The estimate corrects itself: a wait that resolves at once after the
   * sleep means an over-sleep, and halves the estimate; otherwise it follows the measured time.
   */
  private async waitFor(start: () => Promise<unknown>): Promise<void> {
    const key = `${this.waitTag}:${this.dispatchesSinceWait}:${this.groupsSinceWait}`;
    this.dispatchesSinceWait = 0;
    this.groupsSinceWait = 0;
    const t0 = performance.now();
    const est = this.pollStrategy === 'sleep-then-await' ? this.waitEstimates.get(key) : undefined;
    const slept = est !== undefined && est > 4;
    if (slept) await new Promise((r) => setTimeout(r, 0.85 * est));
    const t1 = performance.now();
    await start();
    const t2 = performance.now();
    const dt = t2 - t0;
    if (est === undefined) this.waitEstimates.set(key, dt);
    else if (slept && t2 - t1 < 0.5) this.waitEstimates.set(key, 0.5 * est);
    else this.waitEstimates.set(key, 0.7 * est + 0.3 * dt);
  }

  /** Namespace of the wait estimates (the autotuner sets it per variant it times). */
  waitTag = '';

  /** Forgets the wait estimates (the autotuner: each variant is timed from a clean slate). */
  resetWaitEstimates(): void {
    this.waitEstimates.clear();
  }

  throwIfErrors(): void {
    if (this.errors.length) {
      const e = this.errors.splice(0);
      throw new Error(`WebGPU reported ${e.length} error(s):\n${e.join('\n')}`);
    }
  }

  /** Frees pooled buffers that no tensor uses. */
  trim(): void {
    this.flush();
    this.pool.trim();
    this.bindGroups.clear();
  }
}

let engine: Engine | null = null;

export function getEngine(): Engine {
  if (!engine) engine = new Engine(getDevice());
  return engine;
}

/**
 * Workgroup counts for a 1-D problem of `n` invocations with `wgSize` threads per group, folded
 * into 2-D when it exceeds the per-dimension limit. Shaders recover the flat index with
 * flat_id(gid, nwg, WG) from shaders/common.wgsl.
 */
export function grid1d(n: number, wgSize: number, maxPerDim = 65535): [number, number] {
  const groups = Math.ceil(n / wgSize);
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}
