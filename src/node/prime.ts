// Compiling a step's shader pipelines before its first run, on every core (Engine.primePipelines).
// lavapipe compiles a pipeline's machine code when it is first dispatched, on the queue's one thread,
// so a cold first training step of EdgeFace-XXS spends ~45 s compiling ~70 pipelines one after the
// other on a 2-core machine while the other core idles. Here the pipelines are dispatched once, empty,
// spread over the main device and helper devices on the same adapter (one per further core, at most 3):
// each queue compiles its share, and Mesa's disk shader cache hands the helpers' code to the main
// device. Measured in README (Autotuner, time to the first result: scripts/first-result.mts).
import { availableParallelism } from 'node:os';
import { getEngine, type PipelineSpec } from '../runtime/engine.js';
import { tidy } from '../runtime/scope.js';
import { adapterSummary, requestHelperDevice } from '../runtime/device.js';
import { withNativeStderrFiltered } from './gpu.js';

/** Most helper devices one priming uses (a device is cheap; a fourth queue gains little on common hosts). */
const MAX_HELPERS = 3;

/**
 * How many helper devices priming uses on this adapter: none unless it is lavapipe (llvmpipe) with
 * Mesa's disk cache on (MESA_SHADER_CACHE_DISABLE unset), as the helpers' work reaches the main device
 * only through that cache; else one per core beyond the first, at most 3. LRFR_PRIME_HELPERS=N sets it.
 */
export function primeHelperCount(): number {
  const env = process.env.LRFR_PRIME_HELPERS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!(Number.isInteger(n) && n >= 0 && n <= 15)) throw new Error(`LRFR_PRIME_HELPERS must be an integer 0..15, got "${env}"`);
    return n;
  }
  if (!/llvmpipe|lavapipe/i.test(adapterSummary().key)) return 0;
  if (/^(1|true|yes)$/i.test(process.env.MESA_SHADER_CACHE_DISABLE ?? '')) return 0;
  return Math.max(0, Math.min(availableParallelism() - 1, MAX_HELPERS));
}

/** A line on stderr that does not run into a progress bar being redrawn there (a TTY's line cleared first). */
export function stderrLine(line: string): void {
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${line}\n` : `${line}\n`);
}

/** LRFR_PRIME=off: compile on first use instead. */
const primeOff = () => /^(0|off|false|no)$/i.test(process.env.LRFR_PRIME ?? '');

export interface PrimeReport {
  /** Pipelines the step needed that were not compiled yet. */
  pipelines: number;
  /** Queues that compiled them (the main device's and the helpers'). */
  queues: number;
  seconds: number;
}

/**
 * Finds the pipelines `step` needs (Engine.collectPipelines: the step is recorded, nothing runs, its
 * outputs are garbage; the caller drops what it left, e.g. gradients) and compiles the new ones on
 * every queue before the first real step. `log` gets a line before and after, and progress every
 * ~10 s. Returns null when every pipeline was compiled already, or when LRFR_PRIME=off.
 */
export async function primeFirstRun(step: () => void, o: { log?: (line: string) => void; what?: string } = {}): Promise<PrimeReport | null> {
  if (primeOff()) return null;
  return primeSpecs(getEngine().collectPipelines(() => tidy(() => void step())), o);
}

/**
 * Primes pipelines already collected (Engine.collectPipelines), as primeFirstRun does; the autotuner's
 * hook (autotune.ts tunePrimer: every variant it is about to time). Null when there was nothing new.
 */
export async function primeSpecs(specs: readonly PipelineSpec[], o: { log?: (line: string) => void; what?: string } = {}): Promise<PrimeReport | null> {
  const eng = getEngine();
  specs = eng.uncompiled(specs);
  if (primeOff() || specs.length === 0) return null;
  const what = o.what ?? 'lrfr';
  const t0 = performance.now();
  const n = primeHelperCount();
  const helpers: GPUDevice[] = [];
  // Helpers only once the first pipeline shows the cache cold (a warm run loses nothing to them).
  const makeHelpers = async (): Promise<GPUDevice[]> => {
    try {
      for (let i = 0; i < n; i++) helpers.push(await withNativeStderrFiltered(() => requestHelperDevice()));
    } catch (e) {
      o.log?.(`${what}: no helper device (${(e as Error).message}); compiling on ${1 + helpers.length} queue(s)`);
    }
    if (helpers.length > 0) o.log?.(`${what}: compiling ${specs.length} shader pipelines on ${1 + helpers.length} queues (Mesa's shader cache keeps them for later runs)...`);
    return helpers;
  };
  let last = t0;
  try {
    await eng.primePipelines(specs, {
      helpers: n > 0 ? makeHelpers : undefined,
      onProgress: (done, total, _label, work) => {
        const now = performance.now();
        if (done === 1 && n === 0 && now - t0 > 150) o.log?.(`${what}: compiling ${total} shader pipelines (Mesa's shader cache keeps them for later runs)...`);
        if (now - last < 10_000 || done === total) return;
        last = now;
        const s = (now - t0) / 1000;
        // the longest shaders go first: the share of the text done says more than the count
        o.log?.(`${what}: compiled ${done}/${total} pipelines [${s.toFixed(0)} s, ~${((s * (1 - work)) / work).toFixed(0)} s left]`);
      },
    });
  } finally {
    for (const d of helpers) d.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  if (seconds > 2) o.log?.(`${what}: ${specs.length} pipelines ready in ${seconds.toFixed(1)} s`);
  return { pipelines: specs.length, queues: 1 + helpers.length, seconds };
}
