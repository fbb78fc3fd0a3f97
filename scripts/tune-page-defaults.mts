// The shipped tuning table's entry for a browser's adapter: tunes, in a headless Chromium page, the
// forwards the browser app runs per face — EdgeFace-XXS at batch 3 (the HR crop, bicubic and DSR images
// in one batch) and DSR-cpu on a 16 px probe at batch 1 (--workloads to change) — from scratch, each
// workload's picks validated against its default step (the code of `lrfr tune --write-defaults`,
// src/cli/tune-table.ts), and writes the non-default picks into src/runtime/tuned-defaults.ts under the
// page's adapter key (the other adapters' entries kept). A page cannot name the host's processor, so
// the entry's key is the adapter's alone. Before committing an entry, time what it costs a page load
// (`npx tsx scripts/first-result.mts --where page --batch 3 --only forward`, with and without
// LRFR_TUNED_DEFAULTS=off): SwiftShader compiles every pipeline anew in each browser, so picks that
// compile slower cost every page load (README, Autotuner: SwiftShader's entry was measured and not shipped).
//   npx tsx scripts/tune-page-defaults.mts [--reps 3] [--workloads edgeface:3,dsr:1:16] [--no-write]
//                                          [--chromium PATH]
// Run it on an idle machine; it prints what it tunes as it goes.
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../src/node/chromium.js';
import { bundlePage, servePage, routes, scriptRoute, openPage } from '../bench/lib/page-server.js';
import { writeTableEntry, renderDefaultsModule } from '../src/cli/tune-defaults.js';
import { STEP_MODELS, type StepModel } from '../src/cli/model-step.js';
import type { TableTuning, TableWorkload } from '../src/cli/tune-table.js';
import type {} from '../web/bench/tune-page.js'; // window.lrfrTunePage

const fail = (msg: string): never => { console.error(`tune-page-defaults: ${msg}`); process.exit(2); };
let reps = 3, write = true, exe: string | undefined;
let workloads: TableWorkload[] = [{ model: 'edgeface', batch: 3, size: 32, train: false }, { model: 'dsr', batch: 1, size: 16, train: false }];
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a === '--reps') {
    reps = Number(process.argv[++i]);
    if (!Number.isInteger(reps) || reps < 1) fail(`--reps needs a positive integer, got ${process.argv[i]}`);
  } else if (a === '--no-write') write = false;
  else if (a === '--chromium') exe = process.argv[++i];
  else if (a === '--workloads') {
    // model:batch[:size][:train], comma-separated
    workloads = (process.argv[++i] ?? '').split(',').map((w) => {
      const [model, batch, size, train] = w.split(':');
      if (!STEP_MODELS.includes(model as StepModel)) fail(`--workloads: "${String(model)}" is not one of ${STEP_MODELS.join(', ')}`);
      const b = Number(batch ?? 1), sz = Number(size ?? 32);
      if (!Number.isInteger(b) || b < 1 || !Number.isInteger(sz) || sz < 1) fail(`--workloads: "${w}" needs model:batch[:size][:train] with positive integers`);
      if (train !== undefined && train !== 'train') fail(`--workloads: "${w}": the fourth field can only be "train"`);
      return { model: model as StepModel, batch: b, size: sz, train: train === 'train' };
    });
  } else fail(`unknown option ${a}`);
}
if (exe !== undefined) process.env.CHROMIUM = exe;

const t0 = performance.now();
const js = await bundlePage('web/bench/tune-page.ts');
const html = '<!doctype html><meta charset="utf-8"><title>lrfr tune page</title><script type="module" src="/tune-page.js"></script>';
const server = await servePage(html, routes(scriptRoute('tune-page.js', js), () => null));
const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
let r: TableTuning & { userAgent: string; description: string };
try {
  const page = await openPage(browser, server.url, () => document.title.includes('ready'), 120_000);
  page.setDefaultTimeout(0);
  r = await page.evaluate((q) => window.lrfrTunePage.run(q), { workloads, reps });
} finally {
  await browser.close();
  server.close();
}
console.log(`\n${r.description} (${r.userAgent})\nadapter key: ${r.adapter}`);
for (const s of r.steps) {
  const v = s.validation;
  console.log(`${s.label}: ${s.tuned} classes in ${s.seconds.toFixed(1)} s` + (v ? `; step default ${v.defaultMs.toFixed(1)} vs tuned ${v.tunedMs.toFixed(1)} ms, tuned faster in ${v.wins} of ${v.samples.length} pairs: ${v.kept ? 'kept' : 'dropped'}` : '; nothing to validate'));
}
console.log(`${Object.keys(r.picks).length} non-default winners of ${r.entries} shape classes (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
if (write) console.log(`wrote ${writeTableEntry(r, undefined, ', in headless Chromium')}`);
else console.log(renderDefaultsModule({ [r.adapter]: r.picks }));
process.exit(0);
