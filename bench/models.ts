// npm run bench:models [-- --only edgeface,dsr-cpu,dlib,dsr-paper,forward,train] [--quick] [--repeats 3]
//                        [--peers torch,ort,tfjs-webgpu,tfjs-wasm | --no-peers] [--max-sample 60]
//                        [--budget 1800] [--batches 1,32] [--out DIR] [--no-write]
//
// Forward latency per image at batch 1 and 32 of EdgeFace-XXS (112×112), DSR-cpu and DSR-paper
// (32×32 → 112) and the dlib ResNet-34 (150×150), and a training step (forward + backward + AdamW,
// batch 32) of EdgeFace-XXS and DSR-cpu: ours vs PyTorch CPU (2 threads; bench/peers/torch_models.py,
// Debian's python3-torch: `bash scripts/setup.sh --peers`) vs ONNX Runtime (onnxruntime-node, CPU, 2
// threads, forward only, on torch's ONNX export) vs tfjs-webgpu (same Dawn adapter) vs tfjs-wasm
// (1 thread). Each implementation is first checked against ours at batch 1, warmed up, then timed
// `--repeats` times, interleaved across implementations (benny per repeat, or one launch for
// launches over 1.5 s; launches estimated over --max-sample s are skipped); the table gives median,
// min and max img/s and the spread, ratios from the medians, and the peak memory of the training
// steps (ours: GPU pool bytes; torch: RSS). Writes bench/results/models-<adapter>-<date>.json and
// .md. Details: bench/lib/models-*.ts.
// @ts-expect-error plain ESM script without types
import { genShaders } from '../scripts/gen-shaders.mjs';

// Shaders are bundled into src/runtime/shaders.generated.ts before the runtime is imported.
genShaders();
const { main, parseArgs } = await import('./lib/models-main.js');
let code = 0;
try {
  const results = await main(parseArgs(process.argv.slice(2)));
  if (results.some((r) => r.ours.status === 'FAIL' || r.ours.status === 'error')) code = 1;
} catch (e) {
  console.error(e);
  code = 2;
}
// Dawn keeps the event loop alive; exit explicitly.
process.exit(code);
