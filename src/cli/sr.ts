// lrfr sr: super-resolves faces to 112x112. Face crops (at most 112 px a side) are taken as the LR
// probe itself; larger images are photos: every face is detected (face-api's TinyFaceDetector on our
// runtime), given 68 landmarks and aligned (src/nn/face-detect.ts, as lrfr identify does), and each
// face's LR probe is cut from the photo at the face's own resolution there (or --size), then
// super-resolved. One output per face; a file that cannot be read or has no face is reported and
// the other files go on.
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { primeFirstRun, stderrLine } from '../node/prime.js';
import { initNodeGPU } from '../node/gpu.js';
import { encodePng, type ChwImage } from '../train/image.js';
import { resizeBicubicCpu, clamp01, HR_SIZE } from '../train/degrade.js';
import { loadSuperResolver, evalAutotune, evalPrime } from '../train/eval.js';
import type { SuperResolver } from '../train/recognizers.js';
import { decodeImageChecked, IMAGE_EXTENSIONS } from '../gallery/embedder.js';
import { loadTinyFaceDetectorFromFaceApi, loadLandmarkTinyFromFaceApi } from '../node/face-detect.js';
import { detectFaces, detectLandmarks, alignmentTransform, warpSimilarity, type Similarity } from '../nn/face-detect.js';
import type { TinyFaceDetector, FaceBox } from '../nn/tiny-face-detector.js';
import type { FaceLandmark68Tiny } from '../nn/face-landmarks-tiny.js';
import type { Io } from './eval.js';

export const SR_USAGE = `usage: lrfr sr in.png out.png [options]
       lrfr sr IN... --out-dir DIR [options]

Super-resolves faces to ${HR_SIZE}x${HR_SIZE} PNGs.
  - A face crop (at most ${HR_SIZE} px a side, square) is the LR probe itself: one output.
  - A larger image is a photo: every face is detected (TinyFaceDetector), given 68 landmarks and
    aligned to the ${HR_SIZE}x${HR_SIZE} crop, as lrfr identify does; its LR probe is the aligned face at
    the resolution it has in the photo (at most ${HR_SIZE}; --size S sets it), then super-resolved.
    One output per face, named <out>.face<k>.png (k = 0, 1, ...: detection order, best score first).
With --out-dir, every input (directories are walked: ${IMAGE_EXTENSIONS.join(' ')}) writes
DIR/<name>.png (a crop) or DIR/<name>.face<k>.png (a photo); a name met again becomes <name>-2. A file that cannot be decoded or has no
face is reported and the others go on; the exit status is then 1.

Options:
  --model M        bicubic (default: plain bicubic upsampling, a = -0.75, the eval baseline) or a DSR
                   .safetensors file; a DSR takes the probe sizes it was trained for, other sizes are
                   resized to the nearest first (bicubic)
  --size S         LR probe side for faces found in photos (4..${HR_SIZE}; default: the face's own size)
  --detector-input N   detector input side, a multiple of 32 (default 416)
  --score-threshold T  detector score threshold (default 0.5)
  --tune           autotune the model's kernels for this input shape first (minutes, once per adapter)
`;

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

class UsageError extends Error {}

export interface SrArgs {
  inputs: string[];
  /** Single mode: the output file. */
  output: string | null;
  outDir: string | null;
  model: string;
  size: number | null;
  detectorInput: number | undefined;
  scoreThreshold: number | undefined;
  tune: boolean;
}

export function parseSrArgs(argv: readonly string[]): SrArgs {
  const pos: string[] = [];
  const a: SrArgs = { inputs: [], output: null, outDir: null, model: 'bicubic', size: null, detectorInput: undefined, scoreThreshold: undefined, tune: false };
  for (let i = 0; i < argv.length; i++) {
    let k = argv[i]!;
    let v: string | undefined;
    const eq = k.indexOf('=');
    if (k.startsWith('--') && eq > 0) { v = k.slice(eq + 1); k = k.slice(0, eq); }
    const val = (): string => {
      if (v !== undefined) return v;
      const n = argv[++i];
      if (n === undefined) throw new UsageError(`${k} needs a value`);
      return n;
    };
    const int = (min: number, max: number): number => {
      const s = val(), n = Number(s);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${k} must be an integer in ${min}..${max}, got "${s}"`);
      return n;
    };
    if (k === '--model') a.model = val();
    else if (k === '--out-dir') a.outDir = val();
    else if (k === '--size') a.size = int(4, HR_SIZE);
    else if (k === '--detector-input') {
      a.detectorInput = int(32, 4096);
      if (a.detectorInput % 32 !== 0) throw new UsageError(`--detector-input must be a multiple of 32, got ${a.detectorInput}`);
    } else if (k === '--score-threshold') {
      const s = val(), t = Number(s);
      if (!(t >= 0 && t < 1)) throw new UsageError(`--score-threshold must be in [0, 1), got "${s}"`);
      a.scoreThreshold = t;
    } else if (k === '--tune') a.tune = true;
    else if (k.startsWith('-')) throw new UsageError(`unknown option "${k}"`);
    else pos.push(k);
  }
  if (a.outDir !== null) {
    if (pos.length === 0) throw new UsageError('expected at least one input with --out-dir');
    a.inputs = pos;
  } else {
    if (pos.length !== 2) throw new UsageError('expected an input and an output file (or inputs and --out-dir DIR)');
    a.inputs = [pos[0]!];
    a.output = pos[1]!;
  }
  return a;
}

/** The image files of the inputs (directories walked, sorted by name); files named directly are kept as given. */
function expandInputs(inputs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && IMAGE_EXTENSIONS.includes(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  for (const p of inputs) {
    let dir = false;
    try { dir = statSync(p).isDirectory(); } catch { /* reported when read */ }
    if (dir) walk(p); else out.push(p);
  }
  return [...new Set(out)];
}

/** `out.png` -> `out.face<k>.png` (the extension kept; .png added when there is none). */
export function faceOutputName(output: string, k: number): string {
  const ext = extname(output);
  return ext ? `${output.slice(0, -ext.length)}.face${k}${ext}` : `${output}.face${k}.png`;
}

/** The side (photo pixels) of the region the aligned 112 crop covers: 112 / the transform's scale. */
export function nativeFaceSize(t: Similarity): number {
  return HR_SIZE / Math.hypot(t.a, t.b);
}

/**
 * The LR probe S x S of an aligned face: the photo warped by the alignment `t` straight to
 * W = min(native size, 112) (about 1:1 sampling, no aliasing), then bicubic to S when S != W
 * (antialiased when shrinking).
 */
export function faceProbe(img: ChwImage, t: Similarity, S: number): ChwImage {
  const W = Math.max(4, Math.min(HR_SIZE, Math.round(nativeFaceSize(t))));
  const f = W / HR_SIZE;
  const crop = warpSimilarity(img, { a: t.a * f, b: t.b * f, tx: t.tx * f, ty: t.ty * f }, W);
  return clamp01(W === S ? crop : resizeBicubicCpu(crop, S, S, { antialias: S < W }));
}

interface Job {
  /** Where the output goes, what the face is (for the message). */
  out: string;
  what: string;
  lr: ChwImage;
}

export async function srCommand(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  let args: SrArgs;
  try {
    args = parseSrArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) { io.err(`lrfr sr: ${e.message}\n\n${SR_USAGE}`); return 2; }
    throw e;
  }
  const files = args.outDir !== null ? expandInputs(args.inputs) : args.inputs;
  if (files.length === 0) { io.err(`lrfr sr: no image files in ${args.inputs.join(' ')}\n`); return 1; }
  if (args.outDir !== null) mkdirSync(args.outDir, { recursive: true });
  let failed = 0, written = 0;
  const fail = (msg: string) => { failed++; io.err(`lrfr sr: ${msg}\n`); };
  let gpu = false;
  let sr: SuperResolver | null = null;
  let detector: TinyFaceDetector | null = null, landmarks: FaceLandmark68Tiny | null = null;
  const needGpu = async () => { if (!gpu) { await initNodeGPU(); gpu = true; } };
  const usedNames = new Set<string>();
  try {
    evalAutotune.enabled = args.tune; // --tune: the SR model's kernels for this input shape first (cached per adapter)
    evalPrime.fn = (forward) => primeFirstRun(forward, { what: 'lrfr sr', log: stderrLine });
    for (const file of files) {
      let img: ChwImage;
      try {
        img = await decodeImageChecked(await readBytes(file));
      } catch (e) {
        fail(`cannot read image ${file}: ${(e as Error).message}`);
        continue;
      }
      let outBase = args.output!;
      if (args.outDir !== null) {
        // two inputs of the same name (from different folders) get name.png, name-2.png, ...
        const stem = basename(file, extname(file));
        let name = stem;
        for (let k = 2; usedNames.has(name); k++) name = `${stem}-${k}`;
        usedNames.add(name);
        outBase = join(args.outDir, `${name}.png`);
      }
      const jobs: Job[] = [];
      if (img.h <= HR_SIZE && img.w <= HR_SIZE) {
        if (img.h !== img.w) { fail(`${file} is ${img.w}x${img.h}; a face crop (at most ${HR_SIZE} px a side) must be square`); continue; }
        jobs.push({ out: outBase, what: `${file} (${img.w}x${img.h} crop)`, lr: img });
      } else {
        try {
          await needGpu();
          detector ??= await loadTinyFaceDetectorFromFaceApi();
          landmarks ??= await loadLandmarkTinyFromFaceApi();
          const boxes: FaceBox[] = await detectFaces(detector, img, { inputSize: args.detectorInput, scoreThreshold: args.scoreThreshold });
          if (boxes.length === 0) { fail(`no face found in ${file} (${img.w}x${img.h})`); continue; }
          for (const [k, box] of boxes.entries()) {
            const t = alignmentTransform(await detectLandmarks(landmarks, img, box));
            const native = nativeFaceSize(t);
            const S = args.size ?? Math.max(4, Math.min(HR_SIZE, Math.round(native)));
            const b = `${Math.round(box.x)},${Math.round(box.y)} ${Math.round(box.width)}x${Math.round(box.height)}`;
            jobs.push({ out: faceOutputName(outBase, k), what: `${file} face ${k} (box ${b}, score ${box.score.toFixed(2)}, ${Math.round(native)} px face, ${S}x${S} probe)`, lr: faceProbe(img, t, S) });
          }
        } catch (e) {
          fail(`${file}: ${(e as Error).message}`);
          continue;
        }
      }
      for (const job of jobs) {
        if (args.model !== 'bicubic') await needGpu();
        sr ??= await loadSuperResolver(args.model);
        let x = job.lr;
        if (sr.sizes && !sr.sizes.includes(x.h)) {
          const h = x.h;
          const S = sr.sizes.reduce((b, s) => (Math.abs(s - h) < Math.abs(b - h) ? s : b));
          io.err(`lrfr sr: the model takes ${S}x${S} probes; resizing ${h}x${h} to ${S}x${S} (bicubic)\n`);
          x = clamp01(resizeBicubicCpu(x, S, S, { antialias: S < h }));
        }
        const [y] = await sr.run([x]);
        await writeFile(job.out, await encodePng(y!));
        written++;
        io.err(`lrfr sr: ${job.what} -> ${job.out} (${HR_SIZE}x${HR_SIZE}, ${args.model})\n`);
      }
    }
  } catch (e) {
    io.err(`lrfr sr: ${(e as Error).message}\n`);
    return 1;
  } finally {
    sr?.dispose();
    detector?.dispose();
    landmarks?.dispose();
  }
  if (files.length > 1 || failed > 0) io.err(`lrfr sr: ${written} face${written === 1 ? '' : 's'} written from ${files.length - failed} of ${files.length} files${failed ? ` (${failed} failed)` : ''}\n`);
  return failed > 0 ? 1 : 0;
}

async function readBytes(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new Error((e as NodeJS.ErrnoException).code ?? (e as Error).message, { cause: e });
  }
}

export async function srMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SR_USAGE);
    return 0;
  }
  return srCommand(argv);
}
