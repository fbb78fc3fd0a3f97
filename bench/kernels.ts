// npm run bench:kernels [-- --only matmul,conv] [--smoke] [--quick] [--out DIR] [--no-write]
//
// For each kernel case: correctness of our op vs tfjs CPU on the same seeded inputs (max abs diff
// within the case's tolerance, else FAIL and no timing), warm-up, then ms per launch of ours,
// tfjs-webgpu on the same Dawn adapter and tfjs-wasm (1 thread), timed with benny. Writes
// bench/results/<adapter>-<date>.json and .md. Cases and FLOP formulas: bench/lib/cases.ts.
// @ts-expect-error plain ESM script without types
import { genShaders } from '../scripts/gen-shaders.mjs';

// Shaders are bundled into src/runtime/shaders.generated.ts before the runtime is imported.
genShaders();
const { main, parseArgs } = await import('./lib/main.js');
let code = 0;
try {
  const results = await main(parseArgs(process.argv.slice(2)));
  if (results.some((r) => r.status === 'FAIL' || r.status === 'ERROR')) code = 1;
} catch (e) {
  console.error(e);
  code = 2;
}
// Dawn keeps the event loop alive; exit explicitly.
process.exit(code);
