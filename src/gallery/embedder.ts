// Image files -> face templates for the gallery commands (Node). Per file:
//   - at most 112 px a side: a face crop, no detection. 112x112 = the aligned HR crop (template 'hr');
//     smaller = the LR probe itself (made square first), super-resolved to 112 (template 'sr');
//   - larger: a photo; every face is detected (face-api's TinyFaceDetector on our runtime), given 68
//     landmarks and aligned to the 112 crop (src/nn/face-detect.ts), template 'hr' per face.
// With degradedSize S, every HR crop also gives a 'degraded' template: antialiased bicubic to S
// (the protocol's LR probe), super-resolved back to 112, embedded: what a low-resolution camera
// would show of the enrolled face.
// Recognizers and super-resolvers come from src/train/recognizers.ts (EdgeFace-XXS or dlib
// safetensors, or `dlib` = face-api's weights); embeddings are L2-normalised.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getDevice } from '../runtime/device.js';
import { decodeImage, type ChwImage } from '../train/image.js';
import { resizeBicubicCpu, clamp01, downsample, HR_SIZE } from '../train/degrade.js';
import { loadRecognizer, loadSuperResolver, type Recognizer, type SuperResolver } from '../train/recognizers.js';
import { loadFaceApiDlib } from '../node/dlib.js';
import { loadTinyFaceDetectorFromFaceApi, loadLandmarkTinyFromFaceApi } from '../node/face-detect.js';
import { detectAndAlign } from '../nn/face-detect.js';
import type { TinyFaceDetector, FaceBox } from '../nn/tiny-face-detector.js';
import type { FaceLandmark68Tiny } from '../nn/face-landmarks-tiny.js';
import { l2normalize, type GalleryModel, type TemplateKind } from './store.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEFAULT_RECOGNIZER = join(REPO_ROOT, 'weights', 'edgeface-c1-recognizer.safetensors');
export const DEFAULT_SR = join(REPO_ROOT, 'weights', 'edgeface-c2-dsr.safetensors');
/** Image files a directory walk picks up. */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'];
/** Images larger than this (pixels) are refused before decoding (a guard against decompression bombs). */
export const MAX_IMAGE_PIXELS = 40_000_000;

export interface EmbedderOptions {
  /** Recognizer spec (a safetensors file or `dlib`); default the EdgeFace-XXS C1 weights. */
  recognizer?: string;
  /** Super-resolver for LR inputs and degraded templates: `bicubic` or DSR safetensors; default the C2 DSR when it exists. */
  sr?: string;
  /** Detector input side (multiple of 32, default 416) and score threshold (default 0.5). */
  detectorInput?: number;
  scoreThreshold?: number;
}

export interface FaceTemplate {
  kind: TemplateKind;
  /** Index of the face in the file (detection order, best score first; 0 for crops). */
  face: number;
  embedding: Float32Array;
  box: FaceBox | null;
}

export interface FileResult {
  path: string;
  /** sha256 of the file's bytes (first 24 hex digits); '' when it could not be read. */
  contentHash: string;
  mode: 'hr-crop' | 'lr-crop' | 'photo' | 'error';
  templates: FaceTemplate[];
  /** Faces found (photos) or 1 (crops). */
  faces: number;
  /** Why the file gave no template. */
  error?: string;
}

export class DeviceLostError extends Error {
  constructor(reason: string, message: string) {
    super(`the GPU device was lost (${reason}${message ? `: ${message}` : ''}); nothing more can run in this process`);
    this.name = 'DeviceLostError';
  }
}

interface Pending {
  result: FileResult;
  crops: { img: ChwImage; kind: TemplateKind; face: number; box: FaceBox | null }[];
}

export class FaceEmbedder {
  private detector: TinyFaceDetector | null = null;
  private landmarks: FaceLandmark68Tiny | null = null;
  private sr: SuperResolver | null = null;
  private lost: GPUDeviceLostInfo | null = null;

  private constructor(private readonly recognizer: Recognizer, private readonly srSpec: string, private readonly opts: EmbedderOptions) {
    getDevice().lost.then((info) => { this.lost = info; }, () => {});
  }

  /** Loads the recognizer (the GPU device must be initialised: initNodeGPU). The detector and SR load on first use. */
  static async create(opts: EmbedderOptions = {}): Promise<FaceEmbedder> {
    const rec = await loadRecognizer(opts.recognizer ?? DEFAULT_RECOGNIZER, { loadDlib: () => loadFaceApiDlib() });
    const sr = opts.sr ?? (existsSync(DEFAULT_SR) ? DEFAULT_SR : 'bicubic');
    return new FaceEmbedder(rec, sr, opts);
  }

  /** The gallery model these embeddings belong to. */
  get model(): GalleryModel {
    return { model: this.recognizer.name, modelHash: this.recognizer.hash, dim: this.recognizer.dim };
  }

  get srName(): string {
    return this.srSpec;
  }

  /** Throws DeviceLostError when the device is gone (checked before and after GPU work). */
  checkDevice(): void {
    if (this.lost) throw new DeviceLostError(this.lost.reason, this.lost.message);
  }

  private async superResolver(): Promise<SuperResolver> {
    this.sr ??= await loadSuperResolver(this.srSpec);
    return this.sr;
  }

  /** LR probe (any square size) -> 112 crop with the super-resolver (resized to a size it takes first). */
  private async superResolve(lrs: ChwImage[]): Promise<ChwImage[]> {
    if (lrs.length === 0) return [];
    const sr = await this.superResolver();
    const out: ChwImage[] = new Array(lrs.length);
    const bySize = new Map<number, number[]>();
    lrs.forEach((x, i) => {
      let S = x.h;
      if (sr.sizes && !sr.sizes.includes(S)) S = sr.sizes.reduce((b, s) => (Math.abs(s - x.h) < Math.abs(b - x.h) ? s : b));
      bySize.set(S, [...(bySize.get(S) ?? []), i]);
    });
    for (const [S, idx] of bySize) {
      const xs = idx.map((i) => (lrs[i]!.h === S ? lrs[i]! : clamp01(resizeBicubicCpu(lrs[i]!, S, S, { antialias: S < lrs[i]!.h }))));
      const ys = await sr.run(xs);
      idx.forEach((i, k) => { out[i] = ys[k]!; });
    }
    return out;
  }

  private async loadDetector(): Promise<void> {
    if (this.detector && this.landmarks) return;
    this.detector = await loadTinyFaceDetectorFromFaceApi();
    this.landmarks = await loadLandmarkTinyFromFaceApi();
  }

  /** Decodes one file and finds its face crops (detection for photos). Per-file problems go in result.error. */
  private async prepare(path: string, allFaces: boolean, degradedSize: number | null): Promise<Pending> {
    const result: FileResult = { path, contentHash: '', mode: 'error', templates: [], faces: 0 };
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      result.error = `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
      return { result, crops: [] };
    }
    result.contentHash = createHash('sha256').update(bytes).digest('hex').slice(0, 24);
    let img: ChwImage;
    try {
      img = await decodeImageChecked(bytes);
    } catch (e) {
      result.error = `${path} is not an image lrfr can read: ${(e as Error).message}`;
      return { result, crops: [] };
    }
    const crops: Pending['crops'] = [];
    const hrCrops: { img: ChwImage; face: number; box: FaceBox | null }[] = [];
    if (img.h <= HR_SIZE && img.w <= HR_SIZE) {
      result.faces = 1;
      if (img.h === HR_SIZE && img.w === HR_SIZE) {
        result.mode = 'hr-crop';
        hrCrops.push({ img, face: 0, box: null });
      } else {
        result.mode = 'lr-crop';
        const S = Math.max(img.h, img.w);
        const sq = img.h === img.w ? img : clamp01(resizeBicubicCpu(img, S, S));
        const [sr] = await this.superResolve([sq]);
        crops.push({ img: sr!, kind: 'sr', face: 0, box: null });
      }
    } else {
      result.mode = 'photo';
      await this.loadDetector();
      this.checkDevice();
      const faces = await detectAndAlign(this.detector!, this.landmarks!, img, { inputSize: this.opts.detectorInput, scoreThreshold: this.opts.scoreThreshold });
      result.faces = faces.length;
      if (faces.length === 0) {
        result.error = `no face found in ${path} (${img.w}x${img.h})`;
        return { result, crops: [] };
      }
      (allFaces ? faces : faces.slice(0, 1)).forEach((f, i) => hrCrops.push({ img: clamp01(f.crop), face: i, box: f.box }));
    }
    for (const c of hrCrops) crops.push({ ...c, kind: 'hr' });
    if (degradedSize !== null && hrCrops.length > 0) {
      const srs = await this.superResolve(hrCrops.map((c) => clamp01(downsample(c.img, degradedSize))));
      hrCrops.forEach((c, i) => crops.push({ img: srs[i]!, kind: 'degraded', face: c.face, box: c.box }));
    }
    return { result, crops };
  }

  /**
   * Templates of every file: `allFaces` keeps every detected face of a photo (identify), else the
   * best-scoring one (enroll). One recognizer batch for all crops of the call.
   */
  async embedFiles(paths: readonly string[], opts: { allFaces?: boolean; degradedSize?: number | null } = {}): Promise<FileResult[]> {
    this.checkDevice();
    try {
      const pend: Pending[] = [];
      for (const p of paths) pend.push(await this.prepare(p, opts.allFaces ?? false, opts.degradedSize ?? null));
      const all = pend.flatMap((p) => p.crops.map((c) => ({ p, c })));
      for (let i = 0; i < all.length; i += 32) {
        const chunk = all.slice(i, i + 32);
        const prepared = chunk.map(({ c }) => this.recognizer.prepare(c.img));
        const { c: C, h: H, w: W } = prepared[0]!;
        const x = new Float32Array(chunk.length * C * H * W);
        prepared.forEach((im, k) => x.set(im.data, k * C * H * W));
        const e = await this.recognizer.embed(x, [chunk.length, C, H, W]);
        const d = this.recognizer.dim;
        chunk.forEach(({ p, c }, k) => {
          p.result.templates.push({ kind: c.kind, face: c.face, box: c.box, embedding: l2normalize(e.subarray(k * d, (k + 1) * d)) });
        });
      }
      this.checkDevice();
      return pend.map((p) => p.result);
    } catch (e) {
      // a device lost mid-batch shows up as some GPU error first: name the cause
      await new Promise((r) => setTimeout(r, 0));
      this.checkDevice();
      throw e;
    }
  }

  dispose(): void {
    this.recognizer.dispose();
    this.sr?.dispose();
    this.detector?.dispose();
    this.landmarks?.dispose();
  }
}

/** Decodes image bytes after checking the header's dimensions (MAX_IMAGE_PIXELS); errors say why. */
export async function decodeImageChecked(bytes: Buffer): Promise<ChwImage> {
  const sharp = (await import('sharp')).default;
  let meta;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata();
  } catch (e) {
    throw new Error((e as Error).message, { cause: e });
  }
  if (!meta.width || !meta.height) throw new Error('the image has no dimensions');
  if (meta.width * meta.height > MAX_IMAGE_PIXELS) throw new Error(`${meta.width}x${meta.height} is over the ${MAX_IMAGE_PIXELS / 1e6} megapixel limit`);
  if (meta.width < 4 || meta.height < 4) throw new Error(`${meta.width}x${meta.height} is too small for a face`);
  const img = await decodeImage(bytes);
  return img;
}
