// The full fuzz run of the loaders that read outside data (src/node/fuzz-loaders.ts): N generated
// inputs per loader (default 10,000), seeded, a time limit per input; prints a markdown table (the
// README's figures) and writes results/fuzz-<date>.json. Exit 1 if any input crashed or hung.
//   npx tsx scripts/fuzz-loaders.mts [--n 10000] [--seed 20261203] [--limit-ms 5000]
import { mkdirSync, writeFileSync } from 'node:fs';
import { initNodeGPU } from '../src/node/gpu.js';
import { FUZZ_TARGETS, fuzz, type FuzzReport } from '../src/node/fuzz-loaders.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const n = arg('n', 10_000), seed = arg('seed', 20261203), limit = arg('limit-ms', 5000);
await initNodeGPU();
const t0 = performance.now();
const reports: FuzzReport[] = [];
for (const t of FUZZ_TARGETS) {
  const rep = await fuzz(t, n, seed, { timeLimitMs: limit });
  reports.push(rep);
  process.stderr.write(`${t.name}: ${rep.accepted} accepted, ${rep.rejected} rejected, ${rep.crashes.length} crashes, max ${rep.maxMs.toFixed(1)} ms\n`);
  for (const c of rep.crashes.slice(0, 10)) process.stderr.write(`  crash #${c.index} (${c.kind}): ${c.message}\n`);
}
const wall = (performance.now() - t0) / 1000;
const date = new Date().toISOString().slice(0, 10);
let md = `| loader | inputs | accepted | rejected (one clear error) | crashes / hangs | slowest input | mean |\n|---|---:|---:|---:|---:|---:|---:|\n`;
for (const r of reports) {
  md += `| ${r.target} | ${r.inputs.toLocaleString('en')} | ${r.accepted} | ${r.rejected} | ${r.crashes.length} | ${r.maxMs.toFixed(1)} ms | ${(r.totalMs / r.inputs).toFixed(2)} ms |\n`;
}
process.stdout.write(`${md}\nseed ${seed}, time limit ${limit} ms per input, ${wall.toFixed(0)} s in all (${date})\n`);
mkdirSync('results', { recursive: true });
writeFileSync(`results/fuzz-${date}.json`, JSON.stringify({ date, seed, n, limitMs: limit, wallSeconds: wall, reports }, null, 2));
process.exit(reports.some((r) => r.crashes.length > 0) ? 1 : 0);
