// The PyTorch CPU peer: one persistent `/usr/bin/python3 bench/peers/torch_models.py serve` child for
// the whole benchmark, spoken to in JSON lines. It runs launches only when asked (the benchmark's
// implementations take turns; torch never runs while ours is timed: the machine may have 2 cores),
// and the time of a request is measured here, like every other implementation's.
//
// Debian's torch (python3-torch) is importable only from /usr/bin/python3; the `python3` first on
// PATH may be another interpreter, so the path is fixed (LRFR_TORCH_PYTHON overrides it).
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { TorchSpec } from './peer-files.js';

export const TORCH_PYTHON = process.env.LRFR_TORCH_PYTHON || '/usr/bin/python3';
export const TORCH_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'peers', 'torch_models.py');
/** The one line a user reads when the peer is off. */
export const TORCH_MISSING = `${TORCH_PYTHON} cannot import torch: install Debian's python3-torch, python3-onnx and libopenblas0-pthread with \`bash scripts/setup.sh --peers\` (as root)`;
export const TORCH_THREADS = 2;

export interface TorchHello {
  torch: string;
  numpy: string;
  onnx: string | null;
  threads: number;
  interop_threads: number;
}

/** Whether the interpreter imports torch (and numpy); null when it does, else why not. */
export function torchMissing(): string | null {
  const r = spawnSync(TORCH_PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `${TORCH_MISSING} (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return TORCH_MISSING;
  return null;
}

/** Environment of the python children: the same thread count for OpenMP and OpenBLAS as torch's. */
const childEnv = () => ({ ...process.env, OMP_NUM_THREADS: String(TORCH_THREADS), OPENBLAS_NUM_THREADS: String(TORCH_THREADS) });

export class TorchPeer {
  private child: ChildProcessWithoutNullStreams;
  private pending: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void } | null = null;
  private stderr = '';
  private exited: string | null = null;

  private constructor() {
    this.child = spawn(TORCH_PYTHON, [TORCH_SCRIPT, 'serve'], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      try {
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (msg.ok) p.resolve(msg);
        else p.reject(new Error(`torch peer: ${String(msg.error)}`));
      } catch {
        p.reject(new Error(`torch peer: unreadable reply ${line.slice(0, 200)}`));
      }
    });
    // Keep the tail of stderr for the error message if the child dies (torch's warnings go there too).
    this.child.stderr.on('data', (d: Buffer) => void (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.child.on('exit', (code, sig) => {
      this.exited = `torch peer exited (${sig ?? `code ${code}`})${this.stderr ? `: ${this.stderr.trim().split('\n').slice(-1)[0]}` : ''}`;
      this.pending?.reject(new Error(this.exited));
      this.pending = null;
    });
    this.child.on('error', (e) => {
      this.exited = `torch peer: ${e.message}`;
      this.pending?.reject(new Error(this.exited));
      this.pending = null;
    });
  }

  /** Starts the child and asks it for its versions. */
  static async start(): Promise<{ peer: TorchPeer; hello: TorchHello }> {
    const peer = new TorchPeer();
    const hello = (await peer.request({ cmd: 'hello' })) as unknown as TorchHello;
    return { peer, hello };
  }

  request(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    if (this.pending) return Promise.reject(new Error('torch peer: a request is already in flight'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.child.stdin.write(JSON.stringify(req) + '\n');
    });
  }

  load(id: string, spec: TorchSpec) {
    return this.request({ cmd: 'load', id, spec });
  }
  /** Writes the peer's batch-1 outputs (safetensors) to `out`. */
  check(id: string, mode: 'forward' | 'train', out: string) {
    return this.request({ cmd: 'check', id, mode, out });
  }
  prepare(id: string, mode: 'forward' | 'train', batch: number) {
    return this.request({ cmd: 'prepare', id, mode, batch });
  }
  run(id: string, mode: 'forward' | 'train', batch: number, k: number) {
    return this.request({ cmd: 'run', id, mode, batch, k });
  }
  exportOnnx(id: string, path: string, opset = 17) {
    return this.request({ cmd: 'onnx', id, path, opset });
  }
  release(id: string) {
    return this.request({ cmd: 'release', id });
  }

  /** The serving process's pid (its CPU time is the benchmark's own: bench/lib/cpu-share.ts). */
  get pid(): number | undefined {
    return this.exited ? undefined : this.child.pid;
  }

  close(): void {
    if (!this.exited) this.child.stdin.end();
  }
}

export interface TorchRss {
  /** Peak RSS (VmHWM) once python, numpy and torch are imported, bytes. */
  runtimeBytes: number;
  /** ... after building the model, AdamW and the inputs (before any step). */
  setupBytes: number;
  /** ... after the steps: the process's peak. */
  peakBytes: number;
  /** getrusage ru_maxrss at the end (carries the spawning process's figure across exec; for reference). */
  ruMaxrssBytes: number;
  batch: number;
  steps: number;
}

/**
 * Peak RSS of a training step, from a fresh process (`torch_models.py rss`) that builds that one
 * step from the spec, runs it `steps` times and reports its peak RSS before and after: nothing else
 * ran in it, so its peak is the training step's (weights, optimizer state, inputs, activations and
 * the python/torch runtime itself). The figure is VmHWM, not ru_maxrss, which Linux carries over
 * from Node across the spawn's exec (see high_water_kib in the script).
 */
export function torchTrainRss(specPath: string, batch: number, steps = 3): Promise<TorchRss> {
  return new Promise((resolve, reject) => {
    const c = spawn(TORCH_PYTHON, [TORCH_SCRIPT, 'rss', specPath, '--batch', String(batch), '--steps', String(steps)], { env: childEnv() });
    let out = '', err = '';
    c.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => void (err = (err + d.toString()).slice(-2000)));
    c.on('error', reject);
    c.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`torch rss: exit ${code}: ${err.trim().split('\n').slice(-1)[0] ?? ''}`));
      try {
        const r = JSON.parse(out.trim().split('\n').slice(-1)[0]!) as { hwm_runtime_kib: number; hwm_setup_kib: number; hwm_peak_kib: number; ru_maxrss_kib: number; batch: number; steps: number };
        const k = 1024;
        resolve({ runtimeBytes: r.hwm_runtime_kib * k, setupBytes: r.hwm_setup_kib * k, peakBytes: r.hwm_peak_kib * k, ruMaxrssBytes: r.ru_maxrss_kib * k, batch: r.batch, steps: r.steps });
      } catch {
        reject(new Error(`torch rss: unreadable output ${out.slice(0, 200)}`));
      }
    });
  });
}
