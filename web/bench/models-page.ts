// The model benchmark in a browser page: our EdgeFace-XXS and DSR forward passes on the page's WebGPU
// adapter beside ONNX Runtime Web running the same networks (the graphs the PyTorch peer exports from
// our weights) on its wasm execution provider (threaded SIMD on the CPU) and its webgpu one (its own
// GPUDevice on the same adapter). Bundled and driven by bench/browser-models.ts, which serves the
// weights, inputs and .onnx files under /m/<model>/ and onnxruntime-web's .wasm under /ort/.
//
// Per model: ours and each ORT provider at batch 1 are compared first (max |diff| / max |ours|; a peer
// that differs by more than 1e-3 is reported and not timed); then per batch every implementation is
// warmed up and timed in interleaved rounds (ours, wasm, webgpu, ours, ...), each sample K launches
// / K: ours records K forwards and awaits the last output's data; ORT awaits each session.run (its
// API returns data on the CPU).
import * as rt from '../../src/runtime/index.js';
import { buildModel } from '../../src/nn/registry.js';
import { loadModuleBytes, decodeSafetensors } from '../../src/nn/safetensors.js';
import * as ort from 'onnxruntime-web/all';

export type ModelsImpl = 'ours' | 'ort-wasm' | 'ort-webgpu';

export interface ModelsPageOptions {
  models: { id: string; kind: 'edgeface' | 'dsr'; config: object }[];
  batches: number[];
  repeats: number;
  /** Launches per sample (a sample is K launches / K). */
  launches: number;
  /** Threads of the wasm provider (capped by navigator.hardwareConcurrency). */
  wasmThreads: number;
}

export interface ModelsTiming { ms: number[]; msMedian: number; msMin: number; msMax: number }

export interface ModelsPageResult {
  userAgent: string;
  adapter: { vendor: string; architecture: string; description: string };
  ort: { version: string; wasmThreads: number; crossOriginIsolated: boolean; webgpu: string };
  models: {
    id: string;
    checks: Partial<Record<ModelsImpl, { maxAbsDiff: number; relDiff: number } | { error: string }>>;
    timings: { batch: number; impl: ModelsImpl; timing?: ModelsTiming; error?: string }[];
  }[];
}

const CHECK_TOLERANCE = 1e-3;

async function bytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Runner { launch(n: number): Promise<Float32Array>; time(n: number, k: number): Promise<number>; dispose(): void }

async function run(o: ModelsPageOptions): Promise<ModelsPageResult> {
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined (WebGPU disabled, or not a secure context)');
  await rt.initDevice({ gpu: navigator.gpu });
  const s = rt.adapterSummary();
  const threads = Math.max(1, Math.min(o.wasmThreads, navigator.hardwareConcurrency || 1));
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = crossOriginIsolated ? threads : 1;
  ort.env.logLevel = 'error';
  const result: ModelsPageResult = {
    userAgent: navigator.userAgent,
    adapter: { vendor: s.vendor, architecture: s.architecture, description: s.description },
    ort: { version: ort.env.versions.web ?? '?', wasmThreads: ort.env.wasm.numThreads, crossOriginIsolated, webgpu: 'not tried' },
    models: [],
  };
  for (const m of o.models) {
    const entry: ModelsPageResult['models'][number] = { id: m.id, checks: {}, timings: [] };
    result.models.push(entry);
    const [weights, inputs, onnx] = await Promise.all([bytes(`/m/${m.id}/weights.safetensors`), bytes(`/m/${m.id}/inputs.safetensors`), bytes(`/m/${m.id}/model.onnx`)]);
    const x = decodeSafetensors(inputs).tensors.get('x');
    if (!x) throw new Error(`${m.id}: inputs.safetensors has no "x"`);
    const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
    const xOf = (n: number) => x.data.subarray(0, n * per);
    const net = m.kind === 'edgeface' ? buildModel('edgeface-xxs', m.config, 1) : buildModel('dsr', m.config, 1);
    loadModuleBytes(net, weights);
    const inputsOurs = new Map<number, rt.Tensor>();
    const xt = (n: number) => {
      let t = inputsOurs.get(n);
      if (!t) inputsOurs.set(n, (t = rt.keep(rt.tensor(xOf(n), [n, ...x.shape.slice(1)]))));
      return t;
    };
    const runners = new Map<ModelsImpl, Runner>();
    runners.set('ours', {
      launch: async (n) => {
        const y = rt.tidy(() => rt.noGrad(() => net.forward(xt(n))));
        const d = await y.data();
        y.dispose();
        return d;
      },
      time: async (n, k) => {
        const t0 = performance.now();
        const ys: rt.Tensor[] = [];
        for (let i = 0; i < k; i++) ys.push(rt.tidy(() => rt.noGrad(() => net.forward(xt(n)))));
        await ys[ys.length - 1]!.data();
        const ms = (performance.now() - t0) / k;
        rt.dispose(ys);
        return ms;
      },
      dispose: () => { for (const t of inputsOurs.values()) t.dispose(); net.dispose(); },
    });
    for (const impl of ['ort-wasm', 'ort-webgpu'] as const) {
      try {
        const session = await ort.InferenceSession.create(onnx, {
          executionProviders: [impl === 'ort-wasm' ? 'wasm' : 'webgpu'], graphOptimizationLevel: 'all',
          logSeverityLevel: 3, // errors only (its node-placement notes are not the reader's to act on)
        });
        const feeds = (n: number) => ({ x: new ort.Tensor('float32', xOf(n).slice(), [n, ...x.shape.slice(1)]) });
        const launch = async (n: number) => {
          const out = await session.run(feeds(n));
          const y = out.y;
          if (!y) throw new Error(`the graph has no output "y" (outputs: ${Object.keys(out).join(', ')})`);
          const d = (await y.getData()) as Float32Array;
          y.dispose();
          return d;
        };
        runners.set(impl, {
          launch,
          time: async (n, k) => {
            const f = feeds(n); // input tensors made outside the timed region, as ours
            const t0 = performance.now();
            for (let i = 0; i < k; i++) {
              const out = await session.run(f);
              await out.y!.getData();
              out.y!.dispose();
            }
            return (performance.now() - t0) / k;
          },
          dispose: () => void session.release(),
        });
        if (impl === 'ort-webgpu') result.ort.webgpu = 'ok';
      } catch (e) {
        const msg = String((e as Error).message ?? e).split('\n')[0]!;
        entry.checks[impl] = { error: `session: ${msg}` };
        if (impl === 'ort-webgpu') result.ort.webgpu = msg;
      }
    }
    // Correctness at batch 1 before any timing.
    const ref = await runners.get('ours')!.launch(1);
    const scale = ref.reduce((a, v) => Math.max(a, Math.abs(v)), 0) || 1;
    for (const impl of ['ort-wasm', 'ort-webgpu'] as const) {
      const r = runners.get(impl);
      if (!r) continue;
      try {
        const y = await r.launch(1);
        if (y.length !== ref.length) throw new Error(`output has ${y.length} values, ours ${ref.length}`);
        let d = 0;
        for (let i = 0; i < y.length; i++) d = Math.max(d, Math.abs(y[i]! - ref[i]!));
        entry.checks[impl] = { maxAbsDiff: d, relDiff: d / scale };
        if (!(d / scale <= CHECK_TOLERANCE)) {
          r.dispose();
          runners.delete(impl);
        }
      } catch (e) {
        entry.checks[impl] = { error: String((e as Error).message ?? e).split('\n')[0]! };
        r.dispose();
        runners.delete(impl);
      }
    }
    for (const n of o.batches) {
      const samples = new Map<ModelsImpl, number[]>();
      const errors = new Map<ModelsImpl, string>();
      for (const [impl, r] of runners) {
        try {
          await r.time(n, 1); // warm-up (pipelines, kernels, allocations)
          samples.set(impl, []);
        } catch (e) {
          errors.set(impl, String((e as Error).message ?? e).split('\n')[0]!);
        }
      }
      for (let rep = 0; rep < o.repeats; rep++) {
        for (const [impl, r] of runners) {
          const v = samples.get(impl);
          if (!v) continue;
          try {
            v.push(await r.time(n, o.launches));
          } catch (e) {
            errors.set(impl, String((e as Error).message ?? e).split('\n')[0]!);
            samples.delete(impl);
          }
        }
      }
      for (const impl of runners.keys()) {
        const v = samples.get(impl);
        if (v && v.length) entry.timings.push({ batch: n, impl, timing: { ms: v, msMedian: median(v), msMin: Math.min(...v), msMax: Math.max(...v) } });
        else entry.timings.push({ batch: n, impl, error: errors.get(impl) ?? 'not timed' });
      }
      console.log(`${m.id} batch ${n}: ${entry.timings.filter((t) => t.batch === n).map((t) => `${t.impl} ${t.timing ? t.timing.msMedian.toFixed(1) + ' ms' : t.error}`).join(', ')}`);
    }
    for (const r of runners.values()) r.dispose();
  }
  return result;
}

declare global {
  interface Window { lrfrModels: { run: typeof run } }
}
window.lrfrModels = { run };
document.title = 'lrfr models benchmark (ready)';
