// The model benchmark in headless Chromium: our EdgeFace-XXS and DSR-cpu forward passes on the page's
// WebGPU adapter (SwiftShader without a GPU) beside ONNX Runtime Web (onnxruntime-web, wasm and
// webgpu execution providers) in the same page, on the same seeded weights and inputs as
// `npm run bench:models` (bench/lib/models-cases.ts). The ONNX graphs come from the PyTorch peer
// (bench/peers/torch_models.py builds each network in PyTorch with our weights and exports it), so
// this needs `bash scripts/setup.sh --peers` (Debian's python3-torch and python3-onnx).
//
//   npm run bench:browser-models -- [--only edgeface,dsr-cpu] [--batches 1,32] [--repeats 3]
//                                    [--launches 2] [--no-write] [--chromium PATH] [--headed]
//
// Checks every ORT provider against ours at batch 1 first (max |diff| relative to max |ours| ≤ 1e-3;
// a provider that differs is reported and not timed), then times interleaved rounds (web/bench/
// models-page.ts). Writes bench/results/browser-models-<adapter-key>-<date>.{json,md}.
import os from 'node:os';
import { readFileSync, existsSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { bundlePage, servePage, routes, scriptRoute, openPage, type PageServer } from './lib/page-server.js';
import { initNodeGPU } from '../src/node/gpu.js';
import { codeCommit } from '../src/cli/train.js';
import { encodeSafetensors, type NamedArray } from '../src/nn/safetensors.js';
import { sanitizeKey } from './lib/report.js';
import { writeResultFiles } from './lib/result-files.js';
import { CHROMIUM_ARGS, CHROMIUM_INSTALL_HINT } from '../src/node/chromium.js';
import { edgefaceBench, dsrBench, type ModelBench } from './lib/models-cases.js';
import { TorchPeer, torchMissing } from './lib/peer-torch.js';
import { writePeerFiles } from './lib/peer-files.js';
import type { ModelsPageOptions, ModelsPageResult, ModelsImpl } from '../web/bench/models-page.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ortDir = join(root, 'node_modules/onnxruntime-web/dist');
const MODELS: Record<string, () => ModelBench> = { edgeface: edgefaceBench, 'dsr-cpu': () => dsrBench('cpu') };
const IMPLS: ModelsImpl[] = ['ours', 'ort-wasm', 'ort-webgpu'];

interface Opts { only: string[]; batches: number[]; repeats: number; launches: number; write: boolean; chromium: string; headed: boolean }

function parseArgs(argv: string[]): Opts {
  const o: Opts = { only: Object.keys(MODELS), batches: [1, 32], repeats: 3, launches: 2, write: true, chromium: process.env.CHROMIUM ?? '/usr/bin/chromium', headed: false };
  const num = (a: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`bench:browser-models: ${a} needs a positive integer, got ${String(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--only') o.only = (argv[++i] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--batches') o.batches = (argv[++i] ?? '').split(',').map((s) => num(a, s));
    else if (a === '--repeats') o.repeats = num(a, argv[++i]);
    else if (a === '--launches') o.launches = num(a, argv[++i]);
    else if (a === '--no-write') o.write = false;
    else if (a === '--chromium') o.chromium = argv[++i] ?? o.chromium;
    else if (a === '--headed') o.headed = true;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench:browser-models -- [--only edgeface,dsr-cpu] [--batches 1,32] [--repeats 3] [--launches 2] [--no-write] [--chromium PATH] [--headed]');
      process.exit(0);
    } else throw new Error(`bench:browser-models: unknown argument ${a} (see --help)`);
  }
  for (const m of o.only) if (!(m in MODELS)) throw new Error(`bench:browser-models: unknown model ${m} (known: ${Object.keys(MODELS).join(', ')})`);
  return o;
}

const bundle = () => bundlePage('web/bench/models-page.ts');

/** The page script, onnxruntime-web's wasm files at /ort/, and the models' files (path -> file). */
function serve(js: string, files: Map<string, string>): Promise<PageServer> {
  const html = '<!doctype html><meta charset="utf-8"><title>lrfr models benchmark</title><script type="module" src="/models-page.js"></script>';
  return servePage(html, routes(scriptRoute('models-page.js', js), (p) => {
    const ortFile = /^\/ort\/(ort-wasm[A-Za-z0-9.-]*\.(?:wasm|mjs))$/.exec(p);
    if (ortFile && existsSync(join(ortDir, ortFile[1]!))) return { type: ortFile[1]!.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', body: readFileSync(join(ortDir, ortFile[1]!)) };
    return files.has(p) ? { type: 'application/octet-stream', body: readFileSync(files.get(p)!) } : null;
  }));
}

const fmt = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(1));

function report(r: ModelsPageResult, o: Opts, date: string, rev: string, peer: string): string {
  const lines = [
    `# Models in the browser: ours vs ONNX Runtime Web (${date}, commit ${rev})`,
    '',
    `Adapter: ${r.adapter.description || r.adapter.vendor} (${r.adapter.vendor}/${r.adapter.architecture}); ${r.userAgent}`,
    `onnxruntime-web ${r.ort.version}: wasm ${r.ort.wasmThreads} thread(s) (crossOriginIsolated ${String(r.ort.crossOriginIsolated)}), webgpu ${r.ort.webgpu}. ONNX graphs: ${peer}.`,
    `Command: npm run bench:browser-models -- --batches ${o.batches.join(',')} --repeats ${o.repeats} --launches ${o.launches}${o.only.length < Object.keys(MODELS).length ? ` --only ${o.only.join(',')}` : ''}`,
    `Forward only. ms per launch: median of ${o.repeats} interleaved samples (min–max), each ${o.launches} launches / ${o.launches}; img/s = batch / median. Check: batch 1, max |ORT − ours| / max |ours|.`,
    '',
    '| model | batch | ours ms (img/s) | ORT wasm ms (img/s) | ORT webgpu ms (img/s) | ours / ORT wasm (speed) | ours / ORT webgpu (speed) |',
    '|---|---:|---|---|---|---:|---:|',
  ];
  for (const m of r.models) {
    for (const n of o.batches) {
      const t = (impl: ModelsImpl) => m.timings.find((x) => x.batch === n && x.impl === impl);
      const cell = (impl: ModelsImpl) => {
        const x = t(impl);
        if (!x) {
          const c = m.checks[impl];
          return c && 'error' in c ? `not run: ${c.error}` : c ? `not timed: differs by ${c.relDiff.toExponential(1)}` : '—';
        }
        if (!x.timing) return `error: ${x.error}`;
        return `${fmt(x.timing.msMedian)} (${fmt(x.timing.msMin)}–${fmt(x.timing.msMax)}) (${fmt((1000 * n) / x.timing.msMedian)})`;
      };
      const ratio = (impl: ModelsImpl) => {
        const a = t('ours')?.timing, b = t(impl)?.timing;
        return a && b ? `${(b.msMedian / a.msMedian).toFixed(2)}×` : '—';
      };
      lines.push(`| ${m.id} | ${n} | ${cell('ours')} | ${cell('ort-wasm')} | ${cell('ort-webgpu')} | ${ratio('ort-wasm')} | ${ratio('ort-webgpu')} |`);
    }
  }
  lines.push('', 'Checks at batch 1:');
  for (const m of r.models) {
    const c = Object.entries(m.checks).map(([k, v]) => `${k} ${'error' in v ? `error (${v.error})` : `max |diff| ${v.maxAbsDiff.toExponential(1)}, relative ${v.relDiff.toExponential(1)}`}`);
    lines.push(`- ${m.id}: ${c.join('; ') || 'no peer ran'}`);
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(ortDir)) throw new Error('onnxruntime-web is not installed (a devDependency): npm ci');
  if (!existsSync(o.chromium)) throw new Error(`no Chromium at ${o.chromium}. ${CHROMIUM_INSTALL_HINT}`);
  const missing = torchMissing();
  if (missing) throw new Error(`the ONNX graphs come from the PyTorch peer: ${missing}`);
  await initNodeGPU();
  const tmp = mkdtempSync(join(os.tmpdir(), 'lrfr-browser-models-'));
  const files = new Map<string, string>();
  const { peer, hello } = await TorchPeer.start();
  const models: ModelsPageOptions['models'] = [];
  try {
    for (const id of o.only) {
      const m = MODELS[id]!();
      await m.prepare();
      const exp = m.peerExport!();
      const dir = join(tmp, id);
      const spec = writePeerFiles(dir, exp);
      await peer.load(id, spec);
      await peer.exportOnnx(id, join(dir, 'model.onnx'), 17);
      // The page's input file holds only "x" (writePeerFiles may add the training target).
      writeFileSync(join(dir, 'x.safetensors'), encodeSafetensors(new Map<string, NamedArray>([['x', exp.x]])));
      files.set(`/m/${id}/weights.safetensors`, spec.weights);
      files.set(`/m/${id}/inputs.safetensors`, join(dir, 'x.safetensors'));
      files.set(`/m/${id}/model.onnx`, join(dir, 'model.onnx'));
      models.push({ id, kind: exp.kind, config: exp.config });
      console.log(`${m.name}: weights, inputs and ONNX graph (opset 17) ready`);
      m.dispose();
    }
  } finally {
    peer.close();
  }
  const js = await bundle();
  const server = await serve(js, files);
  const browser = await chromium.launch({ executablePath: o.chromium, args: CHROMIUM_ARGS, headless: !o.headed });
  let result: ModelsPageResult;
  try {
    const page = await openPage(browser, server.url, () => document.title.includes('ready'), 120_000);
    const opts: ModelsPageOptions = { models, batches: o.batches, repeats: o.repeats, launches: o.launches, wasmThreads: os.availableParallelism() };
    result = await page.evaluate((q) => window.lrfrModels.run(q), opts);
  } finally {
    await browser.close();
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  const now = new Date().toISOString();
  const date = now.slice(0, 10);
  const rev = codeCommit();
  const md = report(result, o, date, rev, `torch ${hello.torch}, onnx ${String(hello.onnx)}`);
  console.log(`\n${md}`);
  if (o.write) {
    const key = `browser-models-${sanitizeKey(`${result.adapter.vendor}/${result.adapter.architecture}//${result.adapter.description}`)}`;
    const files = writeResultFiles(join(root, 'bench/results'), key, now, JSON.stringify({ date, commit: rev, options: o, impls: IMPLS, result }, null, 1), md);
    console.log(`wrote ${files.json}, ${files.md}`);
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(`bench:browser-models: ${(e as Error).message ?? String(e)}`);
  process.exit(1);
});
