// lrfr tune: times every kernel variant per shape class on this adapter, caches the winners.
import { initNodeGPU } from '../node/gpu.js';
import { useNodeTuneCache } from '../node/tune-cache.js';
import { adapterSummary, NoAdapterError } from '../runtime/index.js';
import { tunables, tune, getTunable, parseVariantSpec, tunedChoice, autotune, type TuneResult } from '../runtime/index.js';
import { modelStep, STEP_MODELS, type StepModel } from './model-step.js';
import { writeDefaults } from './tune-defaults.js';

const USAGE = `usage: lrfr tune [--only NAME] [--shape CLASS] [--reps N] [--variant NAME=ID] [--list]
       lrfr tune --model edgeface|mobilefacenet|dsr|dsr-paper|wdsr|unet [--batch N] [--size S] [--train] [--reps N]
       lrfr tune --write-defaults [--reps N]

  --only NAME         tune one set (matmul, conv, conv-dgrad, conv-wgrad, depthwise, depthwise-wgrad)
  --shape CLASS       one shape class, e.g. nt.m32.k512.n1024, k3x3.s1x1.ci128.co128.hw32.n8,
                      k7.c128.hw14.n32 (default: the set's own list)
  --reps N            timed reps per variant (default 3)
  --variant NAME=ID   manual override (also LRFR_VARIANT); shown in the table, wins over the cache
  --list              print the cached choices per adapter, tune nothing
  --model M           tune every shape class one forward (--train: forward + backward) of model M
                      uses at batch N (default 32), DSR probes S x S (default 32); seeded weights
  --write-defaults    regenerate src/runtime/tuned-defaults.ts (the shipped winners) for this adapter:
                      tunes EdgeFace-XXS forward (batch 1, 32) and training step (32), DSR 32 px
                      forward and training step (32) from scratch (cache and shipped table ignored),
                      validates each step's picks against the default step, writes the non-default
                      winners; other adapters' entries are kept. Run it on an idle machine (~15 min).
                      A browser's adapter: npx tsx scripts/tune-page-defaults.mts (the app's
                      forwards, tuned in a headless Chromium page)
Without --write-defaults the shipped winners for this adapter apply wherever the cache has no entry.
cache: $LRFR_TUNE_CACHE or \${XDG_CACHE_HOME:-~/.cache}/lrfr/autotune.json
`;

export async function tuneMain(args: string[]): Promise<number> {
  const out = (l = '') => process.stdout.write(l + '\n');
  let only: string | undefined, shape: string | undefined, reps = 3, list = false;
  let model: string | undefined, batch = 32, size = 32, train = false, writeDefaultsFlag = false;
  const variantSpecs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const val = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only') only = val();
    else if (a === '--shape') shape = val();
    else if (a === '--reps') reps = Number(val());
    else if (a === '--variant') variantSpecs.push(val());
    else if (a === '--list') list = true;
    else if (a === '--model') model = val();
    else if (a === '--batch') batch = Number(val());
    else if (a === '--size') size = Number(val());
    else if (a === '--train') train = true;
    else if (a === '--write-defaults') writeDefaultsFlag = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else {
      process.stderr.write(`lrfr tune: unknown option "${a}"\n\n${USAGE}`);
      return 2;
    }
  }
  if (!(Number.isInteger(reps) && reps >= 1)) {
    process.stderr.write('lrfr tune: --reps must be a positive integer\n');
    return 2;
  }
  if (!(Number.isInteger(batch) && batch >= 1) || !(Number.isInteger(size) && size >= 7 && size <= 112)) {
    process.stderr.write('lrfr tune: --batch must be a positive integer and --size an integer in 7..112\n');
    return 2;
  }
  if (model !== undefined && !(STEP_MODELS as readonly string[]).includes(model)) {
    process.stderr.write(`lrfr tune: unknown model "${model}" (${STEP_MODELS.join(', ')})\n`);
    return 2;
  }
  let store;
  let sets;
  try {
    store = useNodeTuneCache();
    for (const s of variantSpecs) parseVariantSpec(s);
    sets = only ? [getTunable(only)] : tunables();
  } catch (e) {
    process.stderr.write(`lrfr tune: ${(e as Error).message}\n`);
    return 2;
  }
  if (list) {
    const byAdapter = new Map<string, string[]>();
    for (const [k, v] of store.entries()) {
      const cut = k.lastIndexOf('|', k.lastIndexOf('|') - 1);
      const adapter = k.slice(0, cut);
      if (!byAdapter.has(adapter)) byAdapter.set(adapter, []);
      const [name = '', sc = ''] = k.slice(cut + 1).split('|');
      byAdapter.get(adapter)!.push(`  ${name.padEnd(16)} ${sc.padEnd(34)} ${v}`);
    }
    out(`cache ${store.path}`);
    if (byAdapter.size === 0) out('  (empty)');
    for (const [adapter, lines] of byAdapter) {
      out(`adapter ${adapter}`);
      for (const l of lines.sort()) out(l);
    }
    return 0;
  }
  try {
    await initNodeGPU();
  } catch (e) {
    if (e instanceof NoAdapterError) {
      process.stderr.write(`lrfr tune: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  out(`adapter ${adapterSummary().key}`);
  if (writeDefaultsFlag) {
    const t0 = performance.now();
    const rep = await writeDefaults({ reps, log: (l) => out(l) });
    out(`\nwrote ${rep.file}: ${Object.keys(rep.picks).length} non-default winners of ${rep.entries} shape classes for this adapter (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    return 0;
  }
  if (model !== undefined) {
    const t0 = performance.now();
    const rep = await tuneModel(model as StepModel, batch, size, train, reps, (r) => out(`  ${r.name.padEnd(16)} ${r.shapeClass.padEnd(34)} ${r.winner.padEnd(10)} ${fmtTimings(r.timings)}`));
    out(`\n${model}${train ? ' train step' : ' forward'} at batch ${batch}: ${rep.used.length} shape classes used, ${rep.tuned.length} tuned now (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    out(`cache ${store.path}`);
    return 0;
  }
  for (const t of sets) {
    for (const sc of shape ? [shape] : t.shapeClasses) {
      const r = await tune(t.name, sc, { reps });
      out(`\n${t.name} ${sc}`);
      for (const v of t.variants) {
        const ms = r.timings[v.id]!;
        const tag = v.id === r.winner ? '  winner' : r.rejected[v.id] ? `  rejected: ${r.rejected[v.id]}` : '';
        out(`  ${v.id.padEnd(10)} ${Number.isNaN(ms) ? '     -' : ms.toFixed(2).padStart(9)} ms${tag}`);
      }
      const applied = tunedChoice(t.name, sc);
      if (applied !== r.winner) out(`  (override: ${applied})`);
    }
  }
  out(`\ncache ${store.path}`);
  return 0;
}

const fmtTimings = (t: Record<string, number>) =>
  Object.entries(t).map(([id, ms]) => `${id} ${Number.isNaN(ms) ? 'rejected' : ms.toFixed(2)}`).join(', ');

/** Runs rt.autotune on one forward (or training step) of a model with seeded weights. */
async function tuneModel(name: StepModel, batch: number, size: number, train: boolean, reps: number, log: (r: TuneResult) => void) {
  const m = modelStep(name, batch, size, train);
  try {
    const rep = await autotune(() => m.step(), { reps, log });
    m.clearGrads();
    return rep;
  } finally {
    m.dispose();
  }
}
