// The README's results table from lrfr eval runs: pipelines side by side (src/train/report.ts
// comparisonTable). Each argument is LABEL=FILE, FILE an lrfr eval results.json or a weights
// manifest with an `evaluation` (lrfr train --export --with-eval); LABEL=FILE+FILE... joins the rows
// of several runs of one pipeline (other sizes or protocols; a row present in two files is taken
// from the first).
//   npx tsx scripts/results-table.mts "bicubic → dlib=results/dlib-bicubic/results.json" \
//     "C0 DSR → dlib=results/dlib-c0/results.json" ...
import { readFileSync } from 'node:fs';
import { comparisonTable, COMPARISON_METRICS, type PipelineRows } from '../src/train/report.js';

const args = process.argv.slice(2);
if (!args.length || args.includes('--help')) {
  process.stdout.write(`usage: npx tsx scripts/results-table.mts [--metrics K,K...] LABEL=results.json[+more.json] [LABEL=manifest.json ...]
  --metrics  the metrics to show, of ${COMPARISON_METRICS.map((m) => m.key).join(', ')} (default: all)\n`);
  process.exit(args.length ? 0 : 2);
}
let metrics: string[] | undefined;
const mi = args.indexOf('--metrics');
if (mi >= 0) {
  const v = args[mi + 1];
  if (!v || v.startsWith('--')) throw new Error('--metrics needs a list, e.g. --metrics lfw-acc,orl-rank1');
  metrics = v.split(',').map((k) => k.trim()).filter(Boolean);
  args.splice(mi, 2);
}
const pipelines: PipelineRows[] = args.map((a) => {
  const eq = a.lastIndexOf('=');
  if (eq <= 0) throw new Error(`"${a}": expected LABEL=FILE`);
  const label = a.slice(0, eq);
  const rows: PipelineRows['rows'][number][] = [];
  const key = (r: PipelineRows['rows'][number]) => `${r.protocol} ${r.resolution}`;
  for (const file of a.slice(eq + 1).split('+')) {
    for (const r of readRows(file)) if (!rows.some((x) => key(x) === key(r))) rows.push(r);
  }
  return { label, rows };
});

function readRows(file: string): PipelineRows['rows'] {
  let j: { results?: PipelineRows['rows']; evaluation?: { rows?: PipelineRows['rows'] } };
  try {
    j = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const rows = j.results ?? j.evaluation?.rows;
  if (!rows) throw new Error(`${file}: neither an lrfr eval results.json (results) nor a manifest with an evaluation`);
  return rows;
}
process.stdout.write(`${comparisonTable(pipelines, { metrics })}\n`);
