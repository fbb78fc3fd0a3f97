// The image quality of a super-resolver's output against the HR crop it was made from: PSNR and SSIM
// per probe, recorded where lrfr eval makes the SR images (embeddings.ts) and averaged over each
// protocol's probes (eval.ts).
//
// Definitions (metrics.ts): both images are the 112x112 crops in [0, 1], the SR output clamped to
// [0, 1] (an image; bicubic and a DSR both overshoot a little); PSNR over the three RGB channels
// (peak 1), SSIM on the luma Y = 0.299 R + 0.587 G + 0.114 B (Wang et al. 2004: 11x11 Gaussian,
// σ = 1.5, 'valid' map), the usual pair of SR papers. A protocol's figure is the mean over its probe
// images of the per-image values (side b of the verification pairs, each image once; the
// identification probes).
import type { ChwImage } from './image.js';
import { psnr, ssim } from './metrics.js';
import { itemKey, type Condition, type Item, type ProtocolPlan } from './eval-protocols.js';

/** Values stored per probe: [PSNR dB, SSIM]. */
export const QUALITY_DIM = 2;
/** The directory of the quality records in the embedding cache (they depend on the SR model only). */
export const QUALITY_CACHE = 'sr-quality';

/** [PSNR (dB, RGB), SSIM (luma)] of an SR output against its HR crop, the SR output clamped to [0, 1]. */
export function imageQuality(sr: ChwImage, hr: ChwImage): [number, number] {
  if (sr.c !== hr.c || sr.h !== hr.h || sr.w !== hr.w) throw new Error(`SR quality: SR image ${sr.c}x${sr.h}x${sr.w}, HR ${hr.c}x${hr.h}x${hr.w}`);
  const clamped: ChwImage = { ...sr, data: sr.data.map((v) => Math.min(1, Math.max(0, v))) };
  return [psnr(clamped.data, hr.data), ssim(clamped, hr, { luma: true })];
}

/** The probe images of a protocol (each once): side b of the verification pairs, or the identification probes. */
export function probeItems(plan: ProtocolPlan): Item[] {
  const items = plan.kind === 'verify' ? plan.pairs.map((p) => p.b) : plan.probes;
  const seen = new Set<string>();
  return items.filter((it) => !seen.has(itemKey(it)) && (seen.add(itemKey(it)), true));
}

/** Mean PSNR and SSIM over a protocol's probes at an LR condition (undefined: no records). */
export function planQuality(
  plan: ProtocolPlan, cond: Condition, get: (it: Item, cond: Condition) => Float32Array | undefined,
): { psnr: number; ssim: number; n: number } | undefined {
  let p = 0, s = 0, n = 0;
  for (const it of probeItems(plan)) {
    const q = get(it, cond);
    if (!q) continue;
    p += q[0]!; s += q[1]!; n++;
  }
  return n ? { psnr: p / n, ssim: s / n, n } : undefined;
}
