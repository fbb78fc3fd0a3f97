// The lrfr browser app: detect faces, align them to the 112 crop, make the LR probe, super-resolve it
// (bicubic and DSR), embed with EdgeFace-XXS and identify against a gallery kept in IndexedDB — all
// on our own WebGPU runtime (src/runtime + src/nn, bundled by `lrfr serve`, src/node/serve.ts).
// The pipeline itself is src/nn/face-pipeline.ts (Node runs the same code; tests/browser/app.test.ts
// compares them). Shaders are compiled ahead of first use with createComputePipelineAsync
// (Engine.compilePipelines) while a progress bar runs. window.lrfrApp is a small hook for tests.
import * as L from '../../src/runtime/index.js';
import {
  analyzeImage, analyzeCrop, isFaceCrop, pipelinesToCompile, recognizerFromBytes, dsrFromBytes, dsrSizes,
  tinyFaceDetectorFromTfjs, landmarksTinyFromTfjs, searchGallery,
  type FaceModels, type AnalyzeResult, type AnalyzedFace, type Match, type StageTimings,
} from '../../src/nn/face-pipeline.js';
import type { FaceImage } from '../../src/nn/face-detect.js';
import type { EdgeFaceXXS } from '../../src/nn/edgeface.js';
import type { SrNetwork } from '../../src/nn/sr-network.js';
import { WDSR } from '../../src/nn/wdsr.js';
import { UNet } from '../../src/nn/unet.js';
import { Gallery, type GalleryRecord } from './gallery.js';

/** What the server lists under /api/weights (src/node/serve.ts). */
export interface WeightsInfo {
  file: string;
  model: string;
  run?: string;
  bytes: number;
}

/** A face as the test hook returns it (plain arrays). */
export interface HookFace {
  box: { x: number; y: number; width: number; height: number; score: number };
  hr: number[] | null;
  embHr: number[] | null;
  embBicubic: number[];
  embSr: number[] | null;
  matches: { hr: Match[]; bicubic: Match[]; sr: Match[] };
}

export interface HookResult {
  name: string;
  mode: 'photo' | 'crop';
  lrSize: number;
  timings: StageTimings;
  faces: HookFace[];
}

export interface AppHook {
  /** Last analysis (null before the first, or after an input that failed). */
  last(): HookResult | null;
  /** The message shown (null when none). */
  message(): { kind: 'error' | 'info'; text: string } | null;
  /** ms from navigation start to the first result with a gallery match (cold start), or null. */
  firstIdentificationMs(): number | null;
  /** ms from navigation start to "ready" (models loaded, shaders compiled). */
  readyMs(): number | null;
  gallery(): Promise<{ id: number; name: string; recognizer: string }[]>;
  adapter(): { description: string; features: string[] } | null;
  recognizerId(): string;
  /** Pipelines compiled so far (ahead of use and on use) and those compiled ahead with progress. */
  pipelines(): { total: number; ahead: number };
  /** Longest gap (ms) between 50 ms heartbeats of the main thread while shaders compiled ahead. */
  longestStallMs(): number;
}

declare global {
  interface Window { lrfrApp: AppHook }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (!e) throw new Error(`app: #${id} missing from index.html`);
  return e as T;
};

class UserError extends Error {}

const NO_WEBGPU = [
  'This browser does not offer WebGPU, which the app needs (all models run on it).',
  '• Chrome / Edge 113 or later: on by default on Windows, macOS and ChromeOS. On Linux and Android,',
  '  enable chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan on Linux), or start Chromium with',
  '  --enable-unsafe-webgpu.',
  '• Firefox: WebGPU is on by default on Windows from version 141; elsewhere set dom.webgpu.enabled in about:config.',
  '• Safari: Safari 26 or later (earlier: Develop → Feature Flags → WebGPU).',
  'WebGPU also needs a secure page: open the app at http://127.0.0.1 or http://localhost (as `npx lrfr serve` prints), or over https.',
].join('\n');

// ---- state --------------------------------------------------------------------------------------

let detector: FaceModels['detector'] | null = null;
let landmarkNet: FaceModels['landmarks'] | null = null;
let recognizer: EdgeFaceXXS | null = null;
let recognizerId = '';
let dsr: SrNetwork | null = null;
let gallery: Gallery | null = null;
let galleryCache: GalleryRecord[] = [];
let lastInput: { img: FaceImage; name: string } | null = null;
let lastResult: (AnalyzeResult & { name: string; matches: { hr: Match[]; bicubic: Match[]; sr: Match[] }[] }) | null = null;
let currentMessage: { kind: 'error' | 'info'; text: string } | null = null;
let firstIdentMs: number | null = null;
let readyAt: number | null = null;
let runs = 0;
let queue: Promise<void> = Promise.resolve();
let compiledAhead = 0;
let longestStall = 0;

function setState(s: 'loading' | 'compiling' | 'ready' | 'busy' | 'fatal'): void {
  document.body.dataset.state = s;
}

function showMessage(kind: 'error' | 'info', text: string): void {
  currentMessage = { kind, text };
  const m = $('message');
  m.className = kind;
  m.textContent = text;
  m.hidden = false;
}

function clearMessage(): void {
  currentMessage = null;
  $('message').hidden = true;
}

function progress(done: number, total: number, text: string): void {
  $('progress-row').hidden = false;
  const p = $<HTMLProgressElement>('progress');
  p.max = Math.max(1, total);
  p.value = done;
  $('progress-text').textContent = text;
}

function hideProgress(): void {
  $('progress-row').hidden = true;
}

/** Runs jobs one after the other (inputs arriving while one runs wait their turn). */
function enqueue(job: () => Promise<void>): Promise<void> {
  queue = queue.then(job, job);
  return queue;
}

// ---- fetching models ----------------------------------------------------------------------------

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function fetchJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

async function loadFaceApiNet(manifestFile: string): Promise<{ manifest: unknown; shards: Uint8Array[] }> {
  const manifest = await fetchJson<{ paths: string[] }[]>(`/faceapi/${manifestFile}`);
  const shards = await Promise.all(manifest.flatMap((g) => g.paths).map((p) => fetchBytes(`/faceapi/${encodeURIComponent(p)}`)));
  return { manifest, shards };
}

async function idOf(name: string, bytes: Uint8Array): Promise<string> {
  let hex: string;
  if (globalThis.crypto?.subtle) {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as unknown as ArrayBuffer));
    hex = [...d.slice(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join('');
  } else {
    let h = 0x811c9dc5;
    for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    hex = h.toString(16);
  }
  return `${name}#${hex}`;
}

function models(): FaceModels {
  if (!detector || !landmarkNet || !recognizer) throw new Error('the models are not loaded yet');
  return { detector, landmarks: landmarkNet, recognizer, dsr };
}

async function compileAhead(): Promise<void> {
  // a heartbeat: how long the main thread was ever blocked while preparing and compiling (for tests)
  let last = performance.now();
  const beat = setInterval(() => {
    const t = performance.now();
    longestStall = Math.max(longestStall, t - last);
    last = t;
  }, 50);
  try {
    await new Promise((r) => setTimeout(r, 60));
    const specs = pipelinesToCompile(models(), { inputSize: Number($<HTMLSelectElement>('det-size').value) });
    if (specs.length === 0) return;
    await compileSpecs(specs);
  } finally {
    clearInterval(beat);
  }
}

async function compileSpecs(specs: L.PipelineSpec[]): Promise<void> {
  setState('compiling');
  const t0 = performance.now();
  progress(0, specs.length, `Compiling ${specs.length} shaders (first run only)…`);
  await L.getEngine().compilePipelines(specs, (done, total, label) => {
    progress(done, total, `Compiling shaders ${done}/${total} (${label})`);
  });
  compiledAhead += specs.length;
  console.info(`lrfr: compiled ${specs.length} pipelines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  hideProgress();
}

async function setRecognizer(bytes: Uint8Array, name: string): Promise<void> {
  const m = recognizerFromBytes(bytes, `recognizer weights "${name}"`);
  recognizer?.dispose();
  recognizer = m;
  recognizerId = await idOf(name, bytes);
  $('recognizer-info').textContent = `${name}: EdgeFace-XXS, ${m.config.embeddingSize}-D, ${m.numParameters().toLocaleString()} parameters (id ${recognizerId})`;
  renderGallery();
}

function setDsr(bytes: Uint8Array, name: string): void {
  const m = dsrFromBytes(bytes, `DSR weights "${name}"`);
  dsr?.dispose();
  dsr = m;
  $('dsr-info').textContent = `${name}: ${m instanceof UNet ? `UNet C=${m.config.channels}, depth ${m.config.depth}` : `${m instanceof WDSR ? 'WDSR' : 'DSR'} C=${m.config.channels}, B=${m.config.blocks}`}, takes ${dsrSizes(m).join(' / ')} px probes, ${m.numParameters().toLocaleString()} parameters`;
}

// ---- images -------------------------------------------------------------------------------------

const MAX_SIDE = 1280;

/** A decoded image as CHW [0, 1] RGB (no colour conversion), downscaled when larger than MAX_SIDE. */
function bitmapToImage(src: CanvasImageSource, w: number, h: number): FaceImage {
  const s = Math.min(1, MAX_SIDE / Math.max(w, h));
  const cw = Math.max(1, Math.round(w * s)), ch = Math.max(1, Math.round(h * s));
  const c = document.createElement('canvas');
  c.width = cw;
  c.height = ch;
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, 0, 0, cw, ch);
  const px = ctx.getImageData(0, 0, cw, ch).data;
  const hw = cw * ch;
  const data = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) for (let k = 0; k < 3; k++) data[k * hw + i] = px[4 * i + k]! / 255;
  return { data, c: 3, h: ch, w: cw };
}

async function decodeBlob(blob: Blob, name: string): Promise<FaceImage> {
  if (blob.type && !blob.type.startsWith('image/')) {
    throw new UserError(`"${name}" is not an image (its type is ${blob.type}). Give a PNG, JPEG, WebP, GIF or BMP file.`);
  }
  if (blob.size === 0) throw new UserError(`"${name}" is empty (0 bytes).`);
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new UserError(`"${name}" cannot be decoded as an image (${(e as Error).message || (e as Error).name}). The file may be corrupt or in a format this browser does not read; give a PNG, JPEG, WebP, GIF or BMP file.`);
  }
  try {
    if (bmp.width === 0 || bmp.height === 0) throw new UserError(`"${name}" has no pixels.`);
    return bitmapToImage(bmp, bmp.width, bmp.height);
  } finally {
    bmp.close();
  }
}

/** A CHW [0, 1] image onto a canvas (its own size; CSS scales it). */
function drawImage(canvas: HTMLCanvasElement, img: FaceImage): void {
  canvas.width = img.w;
  canvas.height = img.h;
  const ctx = canvas.getContext('2d')!;
  const id = ctx.createImageData(img.w, img.h);
  const hw = img.w * img.h;
  for (let i = 0; i < hw; i++) {
    for (let k = 0; k < 3; k++) id.data[4 * i + k] = Math.round(255 * Math.min(1, Math.max(0, img.data[(img.c === 3 ? k : 0) * hw + i]!)));
    id.data[4 * i + 3] = 255;
  }
  ctx.putImageData(id, 0, 0);
}

function thumbnail(img: FaceImage): string {
  const c = document.createElement('canvas');
  drawImage(c, img);
  return c.toDataURL('image/png');
}

// ---- running the pipeline -----------------------------------------------------------------------

function searchable(): { id: number; name: string; embedding: Float32Array }[] {
  return galleryCache.filter((g) => g.recognizer === recognizerId);
}

function matchesFor(f: AnalyzedFace): { hr: Match[]; bicubic: Match[]; sr: Match[] } {
  const g = searchable();
  return {
    hr: f.embHr ? searchGallery(f.embHr, g) : [],
    bicubic: searchGallery(f.embBicubic, g),
    sr: f.embSr ? searchGallery(f.embSr, g) : [],
  };
}

async function analyze(img: FaceImage, name: string): Promise<void> {
  setState('busy');
  const lrSize = Number($<HTMLSelectElement>('lr-size').value);
  const inputSize = Number($<HTMLSelectElement>('det-size').value);
  try {
    const m = models();
    const crop = isFaceCrop(img);
    const r = crop ? await analyzeCrop(m, img, { lrSize }) : await analyzeImage(m, img, { lrSize, inputSize });
    const t = performance.now();
    const matches = r.faces.map(matchesFor);
    r.timings.search = performance.now() - t;
    lastResult = { ...r, name, matches };
    lastInput = { img, name };
    drawPreview(img, r);
    $('input-note').textContent = crop
      ? `${name}: ${img.w}×${img.h}, taken for a face crop (inputs up to 112 px are not searched for faces)`
      : `${name}: ${img.w}×${img.h}, ${r.faces.length} face(s)`;
    if (r.faces.length === 0) {
      showMessage('error', `No face found in "${name}" (TinyFaceDetector at ${inputSize}, score ≥ 0.5). Faces smaller than about ${Math.round(Math.max(img.w, img.h) / inputSize * 20)} px or strongly turned are missed: try a larger detector input or a closer, frontal photo.`);
    } else if (r.srNote && r.faces.length) {
      showMessage('info', `No DSR image: ${r.srNote}.`);
    } else clearMessage();
    renderFaces();
    renderTimings(r.timings);
    if (firstIdentMs === null && matches.some((x) => x.hr.length + x.bicubic.length > 0)) firstIdentMs = performance.now();
  } catch (e) {
    lastResult = null;
    if (e instanceof UserError) showMessage('error', e.message);
    else {
      console.warn(e);
      showMessage('error', `Processing "${name}" failed: ${(e as Error).message}`);
    }
  } finally {
    runs++;
    document.body.dataset.runs = String(runs);
    setState('ready');
  }
}

function handleBlob(blob: Blob, name: string): Promise<void> {
  return enqueue(async () => {
    let img: FaceImage;
    try {
      img = await decodeBlob(blob, name);
    } catch (e) {
      lastResult = null;
      showMessage('error', e instanceof UserError ? e.message : `"${name}": ${(e as Error).message}`);
      runs++;
      document.body.dataset.runs = String(runs);
      return;
    }
    await analyze(img, name);
  });
}

// ---- rendering ----------------------------------------------------------------------------------

function drawPreview(img: FaceImage, r: AnalyzeResult): void {
  const c = $<HTMLCanvasElement>('preview');
  drawImage(c, img);
  c.hidden = false;
  const ctx = c.getContext('2d')!;
  ctx.lineWidth = Math.max(1, img.w / 250);
  r.faces.forEach((f, i) => {
    ctx.strokeStyle = '#0c6';
    ctx.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
    ctx.fillStyle = '#0c6';
    for (const p of f.landmarks) ctx.fillRect(p.x - ctx.lineWidth, p.y - ctx.lineWidth, 2 * ctx.lineWidth, 2 * ctx.lineWidth);
    ctx.font = `${Math.max(10, img.w / 30)}px sans-serif`;
    ctx.fillText(`#${i + 1}`, f.box.x + 2, f.box.y - 3);
  });
}

function figure(label: string, img: FaceImage | null, note = '—'): HTMLElement {
  const f = document.createElement('figure');
  if (img) {
    const c = document.createElement('canvas');
    drawImage(c, img);
    f.append(c);
  } else {
    const d = document.createElement('canvas');
    d.width = d.height = 1;
    d.title = note;
    f.append(d);
  }
  const cap = document.createElement('figcaption');
  cap.textContent = img ? label : `${label}: ${note}`;
  f.append(cap);
  return f;
}

function matchTable(m: { hr: Match[]; bicubic: Match[]; sr: Match[] }, lrSize: number): HTMLElement {
  const t = document.createElement('table');
  t.className = 'matches';
  const head = t.insertRow();
  for (const h of ['probe', 'best matches (cosine)']) {
    const th = document.createElement('th');
    th.textContent = h;
    head.append(th);
  }
  const rows: [string, string, Match[]][] = [['hr', 'HR crop', m.hr], ['sr', `DSR (${lrSize} px)`, m.sr], ['bicubic', `bicubic (${lrSize} px)`, m.bicubic]];
  for (const [key, label, ms] of rows) {
    const tr = t.insertRow();
    tr.dataset.probe = key;
    tr.insertCell().textContent = label;
    const td = tr.insertCell();
    if (!ms.length) td.textContent = searchable().length ? '—' : 'gallery empty';
    ms.forEach((x, i) => {
      const s = document.createElement('span');
      s.className = i === 0 ? 'match best' : 'match';
      s.dataset.name = x.name;
      s.textContent = `${x.name} ${x.score.toFixed(3)}`;
      td.append(s, document.createTextNode(i < ms.length - 1 ? ', ' : ''));
    });
  }
  return t;
}

function renderFaces(): void {
  const box = $('faces');
  box.replaceChildren();
  const r = lastResult;
  if (!r || r.faces.length === 0) {
    box.innerHTML = '<p class="muted">No faces.</p>';
    return;
  }
  r.faces.forEach((f, i) => {
    const d = document.createElement('div');
    d.className = 'face';
    d.dataset.face = String(i);
    const h = document.createElement('h3');
    h.textContent = `Face #${i + 1}` + (r.mode === 'photo' ? ` (score ${f.box.score.toFixed(2)}, ${Math.round(f.box.width)}×${Math.round(f.box.height)} px)` : ' (face crop)');
    const strip = document.createElement('div');
    strip.className = 'strip';
    strip.append(
      figure(`LR ${r.lrSize}×${r.lrSize}`, f.lr),
      figure('bicubic', f.bicubic),
      figure('DSR', f.sr, r.srNote ?? 'none'),
      figure('HR crop 112', f.hr, 'input was the LR probe'),
    );
    const enroll = document.createElement('div');
    enroll.className = 'row';
    const name = document.createElement('input');
    name.placeholder = 'name';
    name.className = 'enroll-name';
    const btn = document.createElement('button');
    btn.className = 'enroll';
    btn.textContent = 'Enroll in gallery';
    btn.onclick = () => void enrollFace(i, name.value);
    enroll.append(name, btn);
    d.append(h, strip, matchTable(r.matches[i]!, r.lrSize), enroll);
    box.append(d);
  });
}

function renderTimings(t: StageTimings): void {
  const tb = $<HTMLTableElement>('timings');
  tb.hidden = false;
  const body = tb.tBodies[0]!;
  body.replaceChildren();
  const rows: [string, number | undefined][] = [['detect', t.detect], ['align (landmarks + warp)', t.align], ['SR (LR, bicubic, DSR)', t.sr], ['embed', t.embed], ['search', t.search]];
  let total = 0;
  for (const [k, v] of rows) {
    const tr = body.insertRow();
    tr.dataset.stage = k.split(' ')[0]!;
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v === undefined ? '—' : v.toFixed(1);
    total += v ?? 0;
  }
  const tr = body.insertRow();
  tr.insertCell().textContent = 'total';
  tr.insertCell().textContent = total.toFixed(1);
}

async function enrollFace(i: number, name: string): Promise<void> {
  const r = lastResult;
  const f = r?.faces[i];
  if (!r || !f || !gallery) return;
  const emb = f.embHr ?? f.embBicubic;
  try {
    await gallery.add({ name, embedding: emb, recognizer: recognizerId, thumb: thumbnail(f.hr ?? f.bicubic), added: new Date().toISOString() });
  } catch (e) {
    showMessage('error', (e as Error).message);
    return;
  }
  showMessage('info', `Enrolled face #${i + 1} as "${name.trim()}".`);
  await refreshGallery();
  r.matches = r.faces.map(matchesFor);
  renderFaces();
}

async function refreshGallery(): Promise<void> {
  if (!gallery) return;
  galleryCache = await gallery.list();
  renderGallery();
}

function renderGallery(): void {
  const ul = $('gallery');
  ul.replaceChildren();
  for (const g of galleryCache) {
    const li = document.createElement('li');
    li.dataset.id = String(g.id);
    li.dataset.name = g.name;
    const other = g.recognizer !== recognizerId;
    if (other) li.className = 'other';
    const img = document.createElement('img');
    img.src = g.thumb;
    img.alt = g.name;
    const label = document.createElement('span');
    label.textContent = g.name + (other ? ` (embedded by ${g.recognizer}: not searched)` : '');
    const del = document.createElement('button');
    del.textContent = 'Delete';
    del.className = 'delete';
    del.onclick = async () => {
      await gallery!.remove(g.id);
      await refreshGallery();
      if (lastResult) { lastResult.matches = lastResult.faces.map(matchesFor); renderFaces(); }
    };
    li.append(img, label, del);
    ul.append(li);
  }
  const people = new Set(galleryCache.map((g) => g.name)).size;
  $('gallery-count').textContent = `${galleryCache.length} face(s) of ${people} people`;
  $<HTMLButtonElement>('gallery-clear').disabled = galleryCache.length === 0;
}

// ---- wiring -------------------------------------------------------------------------------------

function wireInputs(): void {
  const file = $<HTMLInputElement>('file');
  file.onchange = () => {
    const f = file.files?.[0];
    if (f) void handleBlob(f, f.name);
    file.value = '';
  };
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) void handleBlob(f, f.name);
    else showMessage('error', 'Nothing to read in what was dropped: drop an image file.');
  };
  document.addEventListener('paste', (e) => {
    const items = Array.from(e.clipboardData?.items ?? []);
    const it = items.find((x) => x.kind === 'file' && x.type.startsWith('image/'));
    const f = it?.getAsFile();
    if (f) {
      e.preventDefault();
      void handleBlob(f, 'pasted image');
    } else if (items.length && !(e.target instanceof HTMLInputElement)) {
      showMessage('error', 'The clipboard holds no image (copy an image, not its address).');
    }
  });
  // camera
  const video = $<HTMLVideoElement>('video');
  let stream: MediaStream | null = null;
  const start = $<HTMLButtonElement>('camera-start'), cap = $<HTMLButtonElement>('camera-capture'), stop = $<HTMLButtonElement>('camera-stop');
  start.onclick = async () => {
    if (!navigator.mediaDevices?.getUserMedia) {
      showMessage('error', 'This browser gives the page no camera access (navigator.mediaDevices.getUserMedia is missing; it needs a secure page).');
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    } catch (e) {
      showMessage('error', `Camera unavailable: ${(e as Error).name}: ${(e as Error).message}`);
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    cap.disabled = stop.disabled = false;
    start.disabled = true;
  };
  cap.onclick = () => {
    if (!video.videoWidth) return;
    const img = bitmapToImage(video, video.videoWidth, video.videoHeight);
    void enqueue(() => analyze(img, 'camera frame'));
  };
  stop.onclick = () => {
    for (const t of stream?.getTracks() ?? []) t.stop();
    stream = null;
    video.hidden = true;
    cap.disabled = stop.disabled = true;
    start.disabled = false;
  };
  const rerun = () => { if (lastInput) { const li = lastInput; void enqueue(() => analyze(li.img, li.name)); } };
  $<HTMLSelectElement>('lr-size').onchange = rerun;
  $<HTMLSelectElement>('det-size').onchange = () => void enqueue(async () => { await compileAhead(); setState('ready'); }).then(rerun);
  // weights
  const recSel = $<HTMLSelectElement>('recognizer-select'), dsrSel = $<HTMLSelectElement>('dsr-select');
  const swap = (what: 'recognizer' | 'dsr', load: () => Promise<{ bytes: Uint8Array; name: string }>) => enqueue(async () => {
    try {
      const { bytes, name } = await load();
      if (what === 'recognizer') await setRecognizer(bytes, name);
      else setDsr(bytes, name);
      await compileAhead();
      clearMessage();
    } catch (e) {
      showMessage('error', `${(e as Error).message}\nThe ${what === 'recognizer' ? 'recognizer' : 'super-resolver'} in use is unchanged.`);
      setState('ready');
      return;
    }
    setState('ready');
    rerun();
  });
  recSel.onchange = () => void swap('recognizer', async () => ({ bytes: await fetchBytes(`/weights/${encodeURIComponent(recSel.value)}`), name: recSel.value }));
  dsrSel.onchange = () => void swap('dsr', async () => ({ bytes: await fetchBytes(`/weights/${encodeURIComponent(dsrSel.value)}`), name: dsrSel.value }));
  for (const [id, what] of [['recognizer-file', 'recognizer'], ['dsr-file', 'dsr']] as const) {
    const inp = $<HTMLInputElement>(id);
    inp.onchange = () => {
      const f = inp.files?.[0];
      inp.value = '';
      if (f) void swap(what, async () => ({ bytes: new Uint8Array(await f.arrayBuffer()), name: f.name }));
    };
  }
  $<HTMLButtonElement>('gallery-clear').onclick = async () => {
    await gallery?.clear();
    await refreshGallery();
    if (lastResult) { lastResult.matches = lastResult.faces.map(matchesFor); renderFaces(); }
  };
  for (const id of ['file', 'camera-start', 'recognizer-select', 'recognizer-file', 'dsr-select', 'dsr-file']) $<HTMLInputElement>(id).disabled = false;
}

function fillSelect(sel: HTMLSelectElement, files: WeightsInfo[], preferred: string): string | null {
  sel.replaceChildren();
  for (const f of files) {
    const o = document.createElement('option');
    o.value = f.file;
    o.textContent = f.run ? `${f.file} (${f.run})` : f.file;
    sel.append(o);
  }
  const pick = files.find((f) => f.file === preferred) ?? files[0];
  if (pick) sel.value = pick.file;
  return pick?.file ?? null;
}

async function init(): Promise<void> {
  const t0 = performance.now();
  if (!('gpu' in navigator) || !navigator.gpu) {
    setState('fatal');
    $('adapter').textContent = 'No WebGPU.';
    showMessage('error', NO_WEBGPU);
    return;
  }
  try {
    await L.initDevice();
  } catch (e) {
    setState('fatal');
    $('adapter').textContent = 'No WebGPU adapter.';
    showMessage('error', `${NO_WEBGPU}\n\n(navigator.gpu exists but gave no usable device: ${(e as Error).message.split('\n').pop()})`);
    return;
  }
  const a = L.adapterSummary();
  const name = [a.description, a.vendor, a.architecture, a.device].filter(Boolean).join(' · ') || 'unknown adapter';
  const f16 = a.features.includes('shader-f16') ? 'shader-f16 available (not needed: every kernel is f32)' : 'no shader-f16 (not needed: every kernel is f32)';
  $('adapter').textContent = `WebGPU adapter: ${name}. Features: ${a.features.join(', ') || 'none'}. ${f16}.`;

  progress(0, 4, 'Loading the face detector and landmark net…');
  const [det, lm, list] = await Promise.all([
    loadFaceApiNet('tiny_face_detector_model-weights_manifest.json'),
    loadFaceApiNet('face_landmark_68_tiny_model-weights_manifest.json'),
    fetchJson<WeightsInfo[]>('/api/weights'),
  ]);
  detector = tinyFaceDetectorFromTfjs(det.manifest, det.shards);
  landmarkNet = landmarksTinyFromTfjs(lm.manifest, lm.shards);
  progress(2, 4, 'Loading the recognizer and the super-resolver…');
  const recs = list.filter((w) => w.model === 'edgeface-xxs');
  const dsrs = list.filter((w) => w.model === 'dsr');
  const recFile = fillSelect($<HTMLSelectElement>('recognizer-select'), recs, 'edgeface-c1-recognizer.safetensors');
  const dsrFile = fillSelect($<HTMLSelectElement>('dsr-select'), dsrs, 'edgeface-c2-dsr.safetensors');
  if (!recFile) throw new UserError('The server offers no EdgeFace-XXS weights (weights/*.safetensors): load a recognizer file with "load a file…".');
  await setRecognizer(await fetchBytes(`/weights/${encodeURIComponent(recFile)}`), recFile);
  if (dsrFile) setDsr(await fetchBytes(`/weights/${encodeURIComponent(dsrFile)}`), dsrFile);
  else $('dsr-info').textContent = 'No DSR weights on the server: load one with "load a file…" (bicubic is shown meanwhile).';
  try {
    gallery = await Gallery.open();
    await refreshGallery();
  } catch (e) {
    showMessage('error', `The gallery is unavailable: ${(e as Error).message}`);
  }
  await compileAhead();
  hideProgress();
  wireInputs();
  readyAt = performance.now();
  const status = document.createElement('div');
  status.id = 'ready-note';
  status.textContent = `Ready in ${((readyAt - t0) / 1000).toFixed(1)} s (models loaded, ${compiledAhead} shaders compiled ahead). Give it a photo.`;
  $('adapter').after(status);
  console.info(`lrfr: ready in ${((readyAt - t0) / 1000).toFixed(1)} s`);
  setState('ready');
}

const plainMatches = (m: Match[]): Match[] => m.map((x) => ({ ...x }));

window.lrfrApp = {
  last: () => {
    const r = lastResult;
    if (!r) return null;
    return {
      name: r.name, mode: r.mode, lrSize: r.lrSize, timings: { ...r.timings },
      faces: r.faces.map((f, i) => ({
        box: { x: f.box.x, y: f.box.y, width: f.box.width, height: f.box.height, score: f.box.score },
        hr: f.hr ? Array.from(f.hr.data) : null,
        embHr: f.embHr ? Array.from(f.embHr) : null,
        embBicubic: Array.from(f.embBicubic),
        embSr: f.embSr ? Array.from(f.embSr) : null,
        matches: { hr: plainMatches(r.matches[i]!.hr), bicubic: plainMatches(r.matches[i]!.bicubic), sr: plainMatches(r.matches[i]!.sr) },
      })),
    };
  },
  message: () => currentMessage,
  firstIdentificationMs: () => firstIdentMs,
  readyMs: () => readyAt,
  gallery: async () => (gallery ? (await gallery.list()).map((g) => ({ id: g.id, name: g.name, recognizer: g.recognizer })) : []),
  adapter: () => (L.hasDevice() ? { description: L.adapterSummary().description, features: L.adapterSummary().features } : null),
  recognizerId: () => recognizerId,
  pipelines: () => ({ total: L.hasDevice() ? L.getEngine().stats.pipelines : 0, ahead: compiledAhead }),
  longestStallMs: () => longestStall,
};

init().catch((e: unknown) => {
  setState('fatal');
  hideProgress();
  showMessage('error', `The app could not start: ${(e as Error).message}`);
});
