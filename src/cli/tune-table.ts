// The tuning behind the shipped table (src/runtime/tuned-defaults.ts), browser-safe: the same code
// tunes lavapipe in Node (`lrfr tune --write-defaults`, src/cli/tune-defaults.ts, which writes the file)
// and SwiftShader in a page (scripts/tune-page-defaults.mts, web/bench/tune-page.ts). From scratch: an
// in-memory cache, the shipped table off; each workload's picks validated against its default step
// (autotune's validatePicks drops the picks that do not make the step faster).
import { adapterSummary } from '../runtime/device.js';
import { autotune, getTunable, liveChoice, setShippedDefaults, setTuneStore, MemoryTuneStore, type TuneResult, type ValidationResult } from '../runtime/autotune.js';
import { modelStep, type StepModel } from './model-step.js';

export interface TableWorkload { model: StepModel; batch: number; size: number; train: boolean }

export interface TableTuning {
  /** The adapter key the entry is written under (adapterSummary().key). */
  adapter: string;
  /** Shape classes tuned for this adapter. */
  entries: number;
  /** The non-default picks left after validation, `name|shapeClass` → `variant@signature`. */
  picks: Record<string, string>;
  steps: { label: string; tuned: number; validation?: ValidationResult; seconds: number }[];
}

export function workloadLabel(w: TableWorkload): string {
  return `${w.model}${w.model === 'edgeface' || w.model === 'mobilefacenet' ? '' : ` ${w.size}px`} ${w.train ? 'train step' : 'forward'} batch ${w.batch}`;
}

export async function tuneTable(workloads: readonly TableWorkload[], opts: { reps?: number; log?: (s: string) => void } = {}): Promise<TableTuning> {
  const log = opts.log ?? (() => {});
  const store = new MemoryTuneStore();
  setTuneStore(store);
  setShippedDefaults({});
  const steps: TableTuning['steps'] = [];
  for (const w of workloads) {
    const label = workloadLabel(w);
    const t0 = performance.now();
    const m = modelStep(w.model, w.batch, w.size, w.train);
    try {
      const rep = await autotune(() => m.step(), {
        reps: opts.reps ?? 3,
        log: (r: TuneResult) => log(`  ${label}: ${r.name} ${r.shapeClass} -> ${r.winner}`),
      });
      m.clearGrads();
      const s = (performance.now() - t0) / 1000;
      const v = rep.validation;
      log(`${label}: ${rep.tuned.length} classes tuned in ${s.toFixed(1)} s` + (v ? `; step default ${v.defaultMs.toFixed(1)} ms vs tuned ${v.tunedMs.toFixed(1)} ms (medians), tuned faster in ${v.wins} of ${v.samples.length} pairs: picks ${v.kept ? 'kept' : `dropped (${v.dropped.length})`}` : ''));
      steps.push({ label, tuned: rep.tuned.length, ...(v ? { validation: v } : {}), seconds: s });
    } finally {
      m.dispose();
    }
  }
  const adapter = adapterSummary().key;
  const prefix = `${adapter}|`;
  const mine: Record<string, string> = {};
  for (const [k, v] of store.entries()) if (k.startsWith(prefix)) mine[k.slice(prefix.length)] = v;
  // Only non-default picks are written (`id@signature`, as the cache holds them): a class with no
  // entry uses the default variant anyway.
  const picks = Object.fromEntries(Object.entries(mine).filter(([k, v]) => liveChoice(k.split('|')[0]!, v) !== firstVariantOf(k)));
  return { adapter, entries: Object.keys(mine).length, picks, steps };
}

function firstVariantOf(k: string): string | undefined {
  try {
    return getTunable(k.split('|')[0]!).variants[0]!.id;
  } catch {
    return undefined;
  }
}
