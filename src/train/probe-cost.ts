// What one LR probe costs through an evaluation pipeline (issue 14's and 15's cost columns): how many
// embeddings it takes, the conv / matmul MACs of its networks (src/runtime/macs.ts), the parameters
// of the networks it runs, and the wall time per probe in batches, measured here. The pipeline is
// the one `lrfr eval` runs on a probe (src/train/eval.ts): the method D hypotheses (Van Cittert
// deblurs on the CPU), the super-resolver, the recognizer's framing (CPU) and its forward, and with
// method B's fusion the bicubic face's embedding too. Image decoding and the LR synthesis are not
// part of a probe's cost and are not timed; scoring against the gallery is not timed either (one
// dot product per gallery template and hypothesis, microseconds next to a forward). The time to embed
// a full-resolution face is measured beside it (a verified LFW pair = one of each).
import * as L from '../runtime/index.js';
import type { ChwImage } from './image.js';
import { upsample, HR_SIZE } from './degrade.js';
import { BICUBIC, type Recognizer, type SuperResolver } from './recognizers.js';
import { deblurHypotheses, distinctHypotheses } from './template-fusion.js';

export interface ProbePipeline {
  rec: Recognizer;
  sr: SuperResolver;
  /** Multi-hypothesis probes (method D; `lrfr eval --hypotheses`): 1 = the probe alone. */
  hypotheses?: number;
  /** Method B's fusion (`lrfr eval --concat-bicubic`): the bicubic face embedded too. */
  concatBicubic?: boolean;
}

export interface Spread { min: number; median: number; max: number }

export interface ProbeCost {
  size: number;
  /** Recognizer forwards per probe. */
  embeddings: number;
  /** Conv / matmul multiply-accumulates per probe (SR and recognizer; CPU resizes and deblurs not counted). */
  macs: number;
  /** Parameters of the networks a probe of this size runs through (SR model for the size + recognizer). */
  params: number;
  /** Wall milliseconds per probe, over `repeats` timed batches of `batch` probes (after one warm-up batch). */
  ms: Spread;
  /** Wall milliseconds to embed one full-resolution gallery face (a verified pair costs this + ms). */
  hrMs: Spread;
  batch: number;
  repeats: number;
}

/** Embeddings of a batch of S x S probes through the pipeline: [probe][k] with k over hypotheses (and the bicubic face last). */
export async function embedProbes(p: ProbePipeline, lr: readonly ChwImage[], batch = 32): Promise<Float32Array[][]> {
  const views: ChwImage[][] = [];
  for (const sigma of distinctHypotheses(p.hypotheses ?? 1)) {
    const lrH = sigma === 0 ? [...lr] : lr.map((x) => deblurHypotheses(x, [sigma])[0]!);
    views.push(await p.sr.run(lrH));
  }
  if (p.concatBicubic) views.push(await BICUBIC.run(lr));
  const out: Float32Array[][] = lr.map(() => []);
  for (const up of views) {
    const e = await embedFaces(p.rec, up, batch);
    e.forEach((v, i) => out[i]!.push(v));
  }
  return out;
}

async function embedFaces(rec: Recognizer, faces: readonly ChwImage[], batch: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < faces.length; i += batch) {
    const prepared = faces.slice(i, i + batch).map((f) => rec.prepare(f));
    const p0 = prepared[0]!;
    const px = p0.c * p0.h * p0.w;
    const x = new Float32Array(prepared.length * px);
    prepared.forEach((q, k) => x.set(q.data, k * px));
    const e = await rec.embed(x, [prepared.length, p0.c, p0.h, p0.w]);
    for (let k = 0; k < prepared.length; k++) out.push(e.slice(k * rec.dim, (k + 1) * rec.dim));
  }
  return out;
}

export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s[s.length - 1]! };
}

/**
 * Measures a pipeline at probe size S: one probe through it inside a MAC count, then a warm-up batch
 * and `repeats` timed batches of `batch` probes (seeded uniform images: no network's time depends on
 * the pixel values).
 */
export async function measureProbeCost(p: ProbePipeline, S: number, o: { batch?: number; repeats?: number; seed?: number } = {}): Promise<ProbeCost> {
  const B = o.batch ?? 32, R = o.repeats ?? 5, seed = o.seed ?? 1;
  if (!Number.isInteger(R) || R < 1) throw new Error(`measureProbeCost: repeats must be an integer >= 1, got ${R}`);
  if (p.sr.sizes && !p.sr.sizes.includes(S)) throw new Error(`measureProbeCost: the SR model ${p.sr.name} takes ${p.sr.sizes.join(', ')} px probes, not ${S}`);
  const probes = Array.from({ length: B }, (_, i): ChwImage => ({ data: L.randArray(3 * S * S, seed + i), c: 3, h: S, w: S }));
  const one = await L.countMacs(() => embedProbes(p, probes.slice(0, 1), B));
  const embeddings = one.value[0]!.length;
  await embedProbes(p, probes, B); // warm-up: pipelines compiled, buffers pooled
  const hr = probes.map((x) => upsample(x, HR_SIZE));
  await embedFaces(p.rec, hr, B);
  const ms: number[] = [], hrMs: number[] = [];
  for (let r = 0; r < R; r++) {
    let t0 = performance.now();
    await embedProbes(p, probes, B);
    ms.push((performance.now() - t0) / B);
    t0 = performance.now();
    await embedFaces(p.rec, hr, B);
    hrMs.push((performance.now() - t0) / B);
  }
  return { size: S, embeddings, macs: one.macs, params: p.sr.paramsAt(S) + p.rec.params, ms: spread(ms), hrMs: spread(hrMs), batch: B, repeats: R };
}
