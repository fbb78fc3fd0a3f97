// The page side of `npx tsx scripts/tune-page-defaults.mts` (bundled and served by it; not for use by
// hand): tunes the given workloads on the page's WebGPU adapter from scratch, validated step by step
// (src/cli/tune-table.ts, the code `lrfr tune --write-defaults` runs in Node), and hands the picks back.
import * as L from '../../src/runtime/index.js';
import { tuneTable, type TableTuning, type TableWorkload } from '../../src/cli/tune-table.js';

async function run(o: { workloads: TableWorkload[]; reps: number }): Promise<TableTuning & { userAgent: string; description: string }> {
  if (!navigator.gpu) throw new Error('navigator.gpu is undefined (WebGPU disabled, or not a secure context)');
  if (!L.hasDevice()) await L.initDevice({ gpu: navigator.gpu });
  const t = await tuneTable(o.workloads, { reps: o.reps, log: (s) => console.log(s) });
  const s = L.adapterSummary();
  return { ...t, userAgent: navigator.userAgent, description: s.description || s.key };
}

declare global {
  interface Window { lrfrTunePage: { run: typeof run } }
}
window.lrfrTunePage = { run };
document.title = 'lrfr tune page (ready)';
