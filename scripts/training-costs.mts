// What training each committed model cost on this machine, from the manifests lrfr train writes
// beside the weights (weights/*.json, `throughput`: the sums of the logged step and validation times
// of the run's kept steps). A markdown table, one line per trained model, in the order given (or all
// manifests with a throughput, by name):
//   npx tsx scripts/training-costs.mts [weights/edgeface-xxs.json ...]
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface Manifest {
  name: string; model: string; configFile?: string; trainedAtStep?: number; runStep?: number; totalSteps?: number | null; plannedSteps?: number | null;
  trainingCommit?: string; exportedAt?: string; config?: { batch?: number };
  throughput?: { steps: number; images: number; trainStepSeconds: number; validationSeconds: number; imagesPerSecond: number };
}

const args = process.argv.slice(2);
if (args.includes('--help')) {
  process.stdout.write('usage: npx tsx scripts/training-costs.mts [MANIFEST.json ...]   (default: every weights/*.json with a throughput)\n');
  process.exit(0);
}
const files = args.length ? args : readdirSync('weights').filter((f) => f.endsWith('.json')).sort().map((f) => join('weights', f));

const hms = (s: number) => {
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = Math.round(s % 60);
  return h ? `${h} h ${m} min` : `${m} min ${r} s`;
};

const lines = [
  '| weights | model | steps run × batch (of planned) | weights of step | step time | validation time | img/s (steps) | trained (export date, commit) |',
  '|---|---|---|---:|---:|---:|---:|---|',
];
let total = 0;
for (const f of files) {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(f, 'utf8')) as Manifest;
  } catch (e) {
    throw new Error(`${f}: not a readable manifest (${(e as Error).message})`);
  }
  const t = m.throughput;
  if (!t) {
    if (args.length) throw new Error(`${f}: no throughput in this manifest (written by lrfr train --export)`);
    continue;
  }
  const run = m.runStep ?? t.steps;
  const planned = m.plannedSteps ?? m.totalSteps;
  const steps = `${run} × ${m.config?.batch ?? '?'}${planned && planned > run ? ` (of ${planned})` : ''}`;
  lines.push(`| \`${m.name}\` | ${m.model} | ${steps} | ${m.trainedAtStep ?? '?'} | ${hms(t.trainStepSeconds)} | ${hms(t.validationSeconds)} | ${t.imagesPerSecond.toFixed(1)} | ${(m.exportedAt ?? '').slice(0, 10)}, ${(m.trainingCommit ?? '').slice(0, 7)} |`);
  total += t.trainStepSeconds + t.validationSeconds;
}
lines.push('', `${lines.length - 2} runs, ${hms(total)} of training and validation in all.`);
process.stdout.write(`${lines.join('\n')}\n`);
