// Timings of the browser app's face pipeline (issue 12's README table): ours (src/nn/face-pipeline.ts)
// beside the same pipeline in tfjs-webgpu and tfjs-wasm (bench/lib/app-pipeline.ts: face-api's own
// TinyFaceDetector + tiny landmarks, the same alignment, the tfjs references of DSR and EdgeFace-XXS
// from tests/reference with our committed weights), on one LFW photo (250x250, one face; made in
// memory from ../shared/data, nothing written) at a 16 px probe:
//   - Node (Dawn on lavapipe; tfjs-webgpu on the same Dawn adapter, tfjs-wasm one thread SIMD):
//     per-face latency in one process; time to the first result in a fresh process per implementation
//     (process start -> imports, GPU, models from bytes, first detect + SR + embed + search), on the
//     user's Mesa shader cache (warm after any earlier run); --node-cold-cache on: an empty Mesa shader
//     cache, a new user's first run (lavapipe compiles every pipeline with LLVM at first dispatch:
//     ~2-3 min more per WebGPU implementation on the 2-core machine).
//   - headless Chromium (SwiftShader; the flags of bench/browser.ts): per-face latency of the three in
//     one page (web/bench/app-page.ts); time to the first result in a fresh browser per implementation
//     (navigation start -> page script, models from bytes, first result).
// Each peer is checked against ours before it is timed (same face count, boxes within 0.05 px, every
// embedding within 2e-3, same best gallery match; measured differences are reported), then each
// implementation is warmed up and timed in interleaved rounds: median / min / max ms and ratios.
//   npx tsx scripts/app-timings.mts [--repeats 5] [--browser-repeats 3] [--warmup 1] [--only node|browser] [--no-cold]
//        [--node-cold-cache on|off] [--no-write] [--chromium PATH]
// Writes bench/results/app-timings-<date>.{md,json}.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlePage, servePage, routes, scriptRoute, tfjsWasmRoute, openPage, type PageServer } from '../bench/lib/page-server.js';
import { machineInfo } from '../bench/lib/machine.js';

const here = fileURLToPath(import.meta.url);
const root = join(dirname(here), '..');
const require = createRequire(import.meta.url);

type Impl = 'ours' | 'tfjs-webgpu' | 'tfjs-wasm';
const IMPLS: Impl[] = ['ours', 'tfjs-webgpu', 'tfjs-wasm'];
const PERSON = 'Aaron_Peirsol';

interface Opts { repeats: number; browserRepeats: number; warmup: number; only: 'node' | 'browser' | null; cold: boolean; nodeColdCache: boolean; write: boolean; chromium: string }

function parseArgs(argv: string[]): Opts {
  const o: Opts = { repeats: 5, browserRepeats: 3, warmup: 1, only: null, cold: true, nodeColdCache: false, write: true, chromium: process.env.CHROMIUM ?? '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const int = () => { const n = Number(argv[++i]); if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer`); return n; };
    if (a === '--repeats') o.repeats = int();
    else if (a === '--browser-repeats') o.browserRepeats = int();
    else if (a === '--warmup') { const n = Number(argv[++i]); if (!Number.isInteger(n) || n < 0) throw new Error('--warmup needs an integer >= 0'); o.warmup = n; }
    else if (a === '--only') { const v = argv[++i]; if (v !== 'node' && v !== 'browser') throw new Error('--only node|browser'); o.only = v; }
    else if (a === '--no-cold') o.cold = false;
    else if (a === '--node-cold-cache') { const v = argv[++i]; if (v !== 'on' && v !== 'off') throw new Error('--node-cold-cache on|off'); o.nodeColdCache = v === 'on'; }
    else if (a === '--no-write') o.write = false;
    else if (a === '--chromium') o.chromium = argv[++i] ?? o.chromium;
    else if (a === '--help' || a === '-h') { console.log(fs.readFileSync(here, 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n')); process.exit(0); }
    else throw new Error(`app-timings: unknown option ${a}`);
  }
  return o;
}

// ---- inputs (bytes; the same for Node and the page) -----------------------------------------------

interface RawBytes {
  recognizer: Buffer; dsr: Buffer;
  detector: { manifest: unknown; shards: Buffer[] };
  landmarks: { manifest: unknown; shards: Buffer[] };
}

function faceApiDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

function tfjsFiles(manifest: string): { manifest: unknown; shards: Buffer[]; paths: string[] } {
  const dir = faceApiDir();
  const m = JSON.parse(fs.readFileSync(join(dir, manifest), 'utf8')) as { paths: string[] }[];
  const paths = m.flatMap((g) => g.paths);
  return { manifest: m, shards: paths.map((p) => fs.readFileSync(join(dir, p))), paths };
}

function readBytes(): RawBytes {
  return {
    recognizer: fs.readFileSync(join(root, 'weights/edgeface-c1-recognizer.safetensors')),
    dsr: fs.readFileSync(join(root, 'weights/edgeface-c2-dsr.safetensors')),
    detector: tfjsFiles('tiny_face_detector_model-weights_manifest.json'),
    landmarks: tfjsFiles('face_landmark_68_tiny_model-weights_manifest.json'),
  };
}

interface Photo { data: number[]; c: 3; h: number; w: number }

/** The person's LFW photo `index` (250x250, the whole image) as CHW [0, 1]. */
async function lfwPhoto(index: number): Promise<{ data: Float32Array; c: 3; h: number; w: number }> {
  const { lfwImagePath, requireLfw } = await import('../src/node/data-lfw-mini.js');
  requireLfw();
  const sharp = (await import('sharp')).default;
  const { data, info } = await sharp(lfwImagePath(PERSON, index)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const hw = info.width * info.height;
  const d = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) for (let k = 0; k < 3; k++) d[k * hw + i] = data[3 * i + k]! / 255;
  return { data: d, c: 3, h: info.height, w: info.width };
}

// ---- Node --------------------------------------------------------------------------------------

/** tfjs-webgpu on Dawn + tfjs-wasm (bench/lib/peers.ts), and face-api's Node build on the same tfjs. */
async function nodePeers(): Promise<{ fa: unknown; status: Record<string, unknown> }> {
  const { initPeers } = await import('../bench/lib/peers.js');
  const status = await initPeers();
  const fa = require(join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'dist', 'face-api.node-wasm.js')) as unknown;
  return { fa, status: status as unknown as Record<string, unknown> };
}

async function nodeSetup() {
  // @ts-expect-error plain ESM script without types
  const { genShaders } = (await import('./gen-shaders.mjs')) as { genShaders: () => void };
  genShaders();
  const { initNodeGPU } = await import('../src/node/gpu.js');
  await initNodeGPU();
  const P = await import('../bench/lib/app-pipeline.js');
  return P;
}

async function makePipeline(P: typeof import('../bench/lib/app-pipeline.js'), impl: Impl, bytes: RawBytes, fa: unknown) {
  const b = bytes as unknown as import('../bench/lib/app-pipeline.js').ModelBytes;
  if (impl === 'ours') return P.oursPipeline(b);
  const tf = await import('@tensorflow/tfjs');
  const want = impl === 'tfjs-webgpu' ? 'webgpu' : 'wasm';
  if (!(await tf.setBackend(want)) || tf.getBackend() !== want) throw new Error(`tf.setBackend('${want}') failed`);
  return P.tfPipeline(impl, b, fa as import('../bench/lib/app-pipeline.js').FaceApiLike);
}

/** Child: one fresh process, process start -> first result of `impl`. Prints one JSON line. */
async function childCold(impl: Impl): Promise<void> {
  const since = () => performance.now(); // Node: ms since the process started (timeOrigin)
  const P = await nodeSetup();
  const gpuMs = since();
  const bytes = readBytes();
  const fa = impl === 'ours' ? null : (await nodePeers()).fa;
  const pipe = await makePipeline(P, impl, bytes, fa);
  const loadedMs = since();
  const img = await lfwPhoto(2);
  const gallery = P.makeGallery({ [PERSON]: new Float32Array(512).fill(1 / Math.sqrt(512)) });
  const r = await pipe.run(img, gallery);
  const firstMs = since();
  console.log(JSON.stringify({ impl, gpuMs, loadedMs, firstMs, runMs: r.totalMs, faces: r.faces.length }));
  pipe.dispose();
  process.exit(0);
}

interface ColdRow { impl: Impl | 'ours, the app'; where: 'node' | 'chromium'; ms?: number; loadedMs?: number; runMs?: number; note?: string; error?: string }

function nodeCold(o: Opts): ColdRow[] {
  const rows: ColdRow[] = [];
  for (const impl of IMPLS) {
    const dir = fs.mkdtempSync(join(tmpdir(), 'lrfr-app-cold-'));
    const env: Record<string, string | undefined> = { ...process.env, LRFR_TUNE_CACHE: join(dir, 'autotune.json') };
    if (o.nodeColdCache) env.MESA_SHADER_CACHE_DIR = dir;
    const t = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', here, '--child-cold', impl], { env, encoding: 'utf8', timeout: 900_000, cwd: root });
    const wall = performance.now() - t;
    fs.rmSync(dir, { recursive: true, force: true });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{"impl"'));
    if (r.status !== 0 || !line) {
      rows.push({ impl, where: 'node', error: `exit ${r.status}: ${(r.stderr || r.stdout).split('\n').filter((l) => /error/i.test(l)).slice(-3).join(' | ').slice(0, 300)}` });
      continue;
    }
    const j = JSON.parse(line) as { firstMs: number; loadedMs: number; runMs: number; faces: number };
    rows.push({ impl, where: 'node', ms: j.firstMs, loadedMs: j.loadedMs, runMs: j.runMs, note: `${j.faces} face; wall ${(wall / 1000).toFixed(1)} s incl. tsx start` });
    console.log(`node cold ${impl}: first result ${(j.firstMs / 1000).toFixed(1)} s after process start (models loaded at ${(j.loadedMs / 1000).toFixed(1)} s, first run ${(j.runMs / 1000).toFixed(1)} s)`);
  }
  return rows;
}

type ImplResult = import('../bench/lib/app-pipeline.js').ImplResult;
interface SideResult { where: 'node' | 'chromium'; adapter: string; peers: Record<string, unknown>; results: ImplResult[]; seconds: number }

async function nodeWarm(o: Opts): Promise<SideResult> {
  const t0 = performance.now();
  const P = await nodeSetup();
  const L = await import('../src/runtime/index.js');
  const { fa, status } = await nodePeers();
  const tf = await import('@tensorflow/tfjs');
  const bytes = readBytes();
  const pipes = new Map<Impl, import('../bench/lib/app-pipeline.js').Pipeline>();
  pipes.set('ours', await makePipeline(P, 'ours', bytes, fa));
  if (!status.webgpu) pipes.set('tfjs-webgpu', await makePipeline(P, 'tfjs-webgpu', bytes, fa));
  if (!status.wasm) pipes.set('tfjs-wasm', await makePipeline(P, 'tfjs-wasm', bytes, fa));
  const img = await lfwPhoto(2);
  const enrol = await pipes.get('ours')!.run(await lfwPhoto(1), []);
  const gallery = P.makeGallery({ [PERSON]: enrol.faces[0]!.embHr });
  const setBackend = async (impl: Impl) => {
    if (impl === 'ours') return;
    const want = impl === 'tfjs-webgpu' ? 'webgpu' : 'wasm';
    if (tf.getBackend() !== want && !(await tf.setBackend(want))) throw new Error(`tf.setBackend('${want}') failed`);
  };
  const results = await P.timePipelines(pipes, img, gallery, { repeats: o.repeats, warmup: o.warmup, person: PERSON }, setBackend, (s) => console.log(`node: ${s}`));
  for (const p of pipes.values()) p.dispose();
  const s = L.adapterSummary();
  return { where: 'node', adapter: s.description || s.key, peers: { ...status, tfjs: tf.version.tfjs }, results, seconds: (performance.now() - t0) / 1000 };
}

// ---- Chromium ----------------------------------------------------------------------------------

// face-api's ESM build imports tfjs by its dist path: one tfjs instance in the page
const bundleAppPage = () => bundlePage('web/bench/app-page.ts', { alias: { '@tensorflow/tfjs/dist/index.js': '@tensorflow/tfjs' } });

/** The page script, tfjs-wasm's .wasm files and the models' bytes under /m/. */
function serveAppPage(js: string, bytes: RawBytes): Promise<PageServer> {
  const files = new Map<string, Buffer>([
    ['/m/recognizer', bytes.recognizer], ['/m/dsr', bytes.dsr],
    ['/m/detector.json', Buffer.from(JSON.stringify(bytes.detector.manifest))], ['/m/landmarks.json', Buffer.from(JSON.stringify(bytes.landmarks.manifest))],
    ...bytes.detector.shards.map((s, i) => [`/m/detector.${i}`, s] as [string, Buffer]),
    ...bytes.landmarks.shards.map((s, i) => [`/m/landmarks.${i}`, s] as [string, Buffer]),
  ]);
  const html = '<!doctype html><meta charset="utf-8"><title>lrfr app timings</title><pre id="log"></pre><script type="module" src="/app-page.js"></script>';
  return servePage(html, routes(scriptRoute('app-page.js', js), tfjsWasmRoute(), (p) => (files.has(p) ? { type: 'application/octet-stream', body: files.get(p)! } : null)));
}

/**
 * The real app (lrfr serve's page, a fresh browser): navigation -> ready (models loaded, shaders
 * compiled ahead) -> the enrolment photo analysed and enrolled through the UI -> the probe photo
 * analysed and identified: the app's own firstIdentificationMs (navigation start -> first result
 * with a gallery match).
 */
async function appCold(o: Opts, launch: () => Promise<import('playwright-core').Browser>): Promise<ColdRow> {
  const { startAppServer } = await import('../src/node/serve.js');
  const { lfwImagePath } = await import('../src/node/data-lfw-mini.js');
  const sharp = (await import('sharp')).default;
  const png = (i: number) => sharp(lfwImagePath(PERSON, i)).removeAlpha().png().toBuffer();
  const srv = await startAppServer({ port: 0 });
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(srv.url);
    await page.waitForFunction(() => ['ready', 'fatal'].includes(document.body.dataset.state ?? ''), null, { timeout: 600_000 });
    if ((await page.evaluate(() => document.body.dataset.state)) !== 'ready') throw new Error(`the app did not start: ${JSON.stringify(await page.evaluate(() => window.lrfrApp.message()))}`);
    const upload = async (name: string, buffer: Buffer) => {
      const before = await page.evaluate(() => Number(document.body.dataset.runs));
      await page.setInputFiles('#file', { name, mimeType: 'image/png', buffer });
      await page.waitForFunction((n) => Number(document.body.dataset.runs) > n && document.body.dataset.state === 'ready', before, { timeout: 600_000 });
    };
    await upload('enrol.png', await png(1));
    const face = page.locator('.face[data-face="0"]');
    await face.locator('.enroll-name').fill(PERSON);
    await face.locator('.enroll').click();
    await page.waitForFunction(() => document.querySelectorAll('#gallery li').length === 1, null, { timeout: 60_000 });
    await upload('probe.png', await png(2));
    const r = await page.evaluate(() => ({ ready: window.lrfrApp.readyMs(), first: window.lrfrApp.firstIdentificationMs(), best: window.lrfrApp.last()?.faces[0]?.matches.sr[0]?.name ?? null, pipelines: window.lrfrApp.pipelines() }));
    if (r.first === null) throw new Error('no identification');
    console.log(`chromium cold, the app: ready ${(r.ready! / 1000).toFixed(1)} s, first identification ${(r.first / 1000).toFixed(1)} s after navigation (best SR match ${r.best})`);
    return { impl: 'ours, the app', where: 'chromium', ms: r.first, loadedMs: r.ready ?? undefined, note: `lrfr serve's page; "models loaded" = ready (models loaded, ${r.pipelines.ahead} pipelines compiled ahead); then one photo enrolled through the UI and the probe photo identified: best SR match ${r.best}${r.best === PERSON ? ' (right)' : ` (WRONG: ${PERSON})`}` };
  } catch (e) {
    return { impl: 'ours, the app', where: 'chromium', error: (e as Error).message.split('\n')[0] };
  } finally {
    await browser.close();
    await srv.close();
  }
}

async function browserSide(o: Opts): Promise<{ warm: SideResult; cold: ColdRow[] }> {
  const t0 = performance.now();
  if (!fs.existsSync(o.chromium)) throw new Error(`no Chromium at ${o.chromium} (apt-get install -y chromium; or --chromium PATH / CHROMIUM=...)`);
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS: ARGS } = await import('../src/node/chromium.js');
  const js = await bundleAppPage();
  const bytes = readBytes();
  const server = await serveAppPage(js, bytes);
  const photo = async (i: number): Promise<Photo> => { const p = await lfwPhoto(i); return { data: Array.from(p.data), c: 3, h: p.h, w: p.w }; };
  const [enrol, probe] = [await photo(1), await photo(2)];
  const cold: ColdRow[] = [];
  let warm: SideResult | null = null;
  try {
    if (o.cold) {
      cold.push(await appCold(o, () => chromium.launch({ executablePath: o.chromium, args: ARGS, headless: true })));
      for (const impl of IMPLS) {
        const browser = await chromium.launch({ executablePath: o.chromium, args: ARGS, headless: true });
        try {
          const page = await browser.newPage();
          page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
          // the photo is put in place before the page's script runs: the clock starts at navigation
          await page.addInitScript((p) => { (window as unknown as { lrfrColdInput: unknown }).lrfrColdInput = p; }, { impl, photo: probe, person: PERSON });
          await page.goto(`${server.url}?cold=${impl}`);
          const r = await page.waitForFunction(() => (window as unknown as { lrfrCold?: unknown }).lrfrCold ?? null, null, { timeout: 600_000, polling: 200 });
          const j = (await r.jsonValue()) as { firstMs?: number; loadedMs?: number; runMs?: number; faces?: number; error?: string };
          if (j.error) cold.push({ impl, where: 'chromium', error: j.error });
          else {
            cold.push({ impl, where: 'chromium', ms: j.firstMs, loadedMs: j.loadedMs, runMs: j.runMs, note: `${j.faces} face; fresh browser profile` });
            console.log(`chromium cold ${impl}: first result ${(j.firstMs! / 1000).toFixed(1)} s after navigation (models loaded at ${(j.loadedMs! / 1000).toFixed(1)} s)`);
          }
        } catch (e) {
          cold.push({ impl, where: 'chromium', error: (e as Error).message.split('\n')[0] });
        } finally {
          await browser.close();
        }
      }
    }
    const browser = await chromium.launch({ executablePath: o.chromium, args: ARGS, headless: true });
    try {
      const page = await openPage(browser, server.url, () => 'lrfrAppTimings' in window, 60_000);
      const r = await page.evaluate((a) => (window as unknown as { lrfrAppTimings: { run(a: unknown): Promise<unknown> } }).lrfrAppTimings.run(a),
        { enrol, probe, person: PERSON, repeats: o.browserRepeats, warmup: o.warmup });
      const w = r as Omit<SideResult, 'where' | 'seconds'>;
      warm = { where: 'chromium', ...w, peers: { ...w.peers, browser: browser.version() }, seconds: (performance.now() - t0) / 1000 };
    } finally {
      await browser.close();
    }
  } finally {
    server.close();
  }
  return { warm: warm!, cold };
}

// ---- report ------------------------------------------------------------------------------------

const f = (ms?: number) => (ms === undefined ? '—' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

function markdown(meta: Record<string, unknown>, sides: SideResult[], cold: ColdRow[]): string {
  const lines: string[] = [];
  const la = meta.loadavgStart as number[], lb = meta.loadavgEnd as number[];
  lines.push(`# App pipeline timings — ${String(meta.date)}`, '');
  lines.push(`Host: ${String(meta.cpu)}, ${String(meta.cores)} cores; load average ${la.map((v) => v.toFixed(2)).join(', ')} at the start, ${lb.map((v) => v.toFixed(2)).join(', ')} at the end${la[0]! > 0.7 || lb[0]! > 1.5 ? ' (**the machine was busy: not clean figures**)' : ''}. Command: \`${String(meta.command)}\` (${String(meta.wallS)} s).`, '');
  lines.push(`Pipeline: one LFW photo (${PERSON}, image 2, 250x250, one face): TinyFaceDetector (input 416) + 68 tiny landmarks, alignment to 112, LR probe 16 px, bicubic and DSR back to 112, EdgeFace-XXS embeddings of the HR crop, the bicubic and the DSR image, cosine search of a 100-entry gallery. Weights: weights/edgeface-c1-recognizer.safetensors, weights/edgeface-c2-dsr.safetensors, face-api's detector and landmark files. tfjs: face-api 1.7.15's own nets + tests/reference's DSR and EdgeFace-XXS on tfjs ${String(sides[0]?.peers.tfjs ?? '')}.`, '');
  lines.push('## Per face (warm): detect + align + SR + embed + search, ms per photo', '');
  lines.push('| where | implementation | median | min | max | n | vs ours (median) | detect | align | SR | embed | agreement with ours |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const s of sides) {
    const ours = s.results.find((r) => r.impl === 'ours')?.total?.median;
    for (const r of s.results) {
      const a = r.agreement;
      const agree = r.impl === 'ours' ? '(reference)' : r.error ? `error: ${r.error}` : a ? `${r.ok ? 'ok' : 'FAIL'}: box ${a.boxPx.toExponential(1)} px, emb hr ${a.emb.hr.toExponential(1)} / bic ${a.emb.bicubic.toExponential(1)} / sr ${a.emb.sr.toExponential(1)}` : '—';
      const t = r.total;
      lines.push(`| ${s.where === 'node' ? 'Node (lavapipe)' : 'Chromium (SwiftShader)'} | ${r.impl} | ${f(t?.median)} | ${f(t?.min)} | ${f(t?.max)} | ${t?.n ?? '—'} | ${t && ours ? `${(t.median / ours).toFixed(2)}×` : '—'} | ${f(r.stages?.detect)} | ${f(r.stages?.align)} | ${f(r.stages?.sr)} | ${f(r.stages?.embed)} | ${agree} |`);
    }
  }
  lines.push('', '"vs ours" = its median / ours (> 1: ours is faster). tfjs\'s detect column includes the landmarks (face-api runs them in one call); ours has them under align.', '');
  if (cold.length) {
    lines.push('## Time to the first result from a cold start', '');
    lines.push('| where | implementation | first result | vs ours | models loaded at | first run | note |', '|---|---|---:|---:|---:|---:|---|');
    for (const c of cold) {
      const ours = cold.find((x) => x.where === c.where && x.impl === 'ours')?.ms;
      const vs = c.ms !== undefined && ours && c.impl !== 'ours, the app' ? `${(c.ms / ours).toFixed(2)}×` : '—';
      lines.push(`| ${c.where === 'node' ? 'Node (lavapipe)' : 'Chromium (SwiftShader)'} | ${c.impl} | ${c.error ? `error: ${c.error}` : f(c.ms)} | ${vs} | ${f(c.loadedMs)} | ${f(c.runMs)} | ${c.note ?? ''} |`);
    }
    lines.push('', `Node: a fresh process per implementation, ms from process start${meta.nodeColdCache ? ', with an empty Mesa shader cache (MESA_SHADER_CACHE_DIR a new temp dir) and tune cache' : ' (the Mesa shader cache as the user has it: warm)'}. Chromium: a fresh browser (new profile) per implementation, ms from navigation start to the first result (page script, tfjs backend start, models from bytes, first detect + SR + embed + search).`, '');
  }
  for (const s of sides) lines.push(`- ${s.where}: adapter ${s.adapter}; peers ${JSON.stringify(s.peers)}; ${s.seconds.toFixed(0)} s.`);
  lines.push('');
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child-cold') return childCold(process.argv[3] as Impl);
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const machine = machineInfo();
  const sides: SideResult[] = [];
  const cold: ColdRow[] = [];
  if (o.only !== 'browser') {
    if (o.cold) cold.push(...nodeCold(o));
    sides.push(await nodeWarm(o));
  }
  if (o.only !== 'node') {
    const b = await browserSide(o);
    sides.push(b.warm);
    cold.push(...b.cold);
  }
  const date = new Date().toISOString();
  const wallS = ((performance.now() - t0) / 1000).toFixed(0);
  const meta = { date, command: `npx tsx scripts/app-timings.mts ${process.argv.slice(2).join(' ')}`.trim(), wallS, ...machine, loadavgEnd: os.loadavg(), nodeColdCache: o.nodeColdCache, options: o };
  const md = markdown(meta, sides, cold);
  console.log(`\n${md}`);
  if (o.write) {
    const dir = join(root, 'bench/results');
    fs.mkdirSync(dir, { recursive: true });
    const base = join(dir, `app-timings-${date.slice(0, 10)}`);
    fs.writeFileSync(`${base}.json`, JSON.stringify({ ...meta, sides, cold }, null, 2) + '\n');
    fs.writeFileSync(`${base}.md`, md);
    console.log(`wrote ${base}.md, ${base}.json (${wallS} s)`);
  }
  if (sides.some((s) => s.results.some((r) => r.ok === false))) process.exitCode = 1;
  process.exit(process.exitCode ?? 0);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
