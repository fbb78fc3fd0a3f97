// Embeddings of the protocols' images at each condition: the HR crops, the LR probes (degraded, then
// brought back to 112 by a super-resolver), batched through a recognizer on our runtime and cached on
// disk per (recognizer hash, condition, super-resolver, image).
import type { ChwImage } from './image.js';
import { loadFaces, type FaceSource } from './data.js';
import { degradeLR } from './degrade.js';
import type { EmbeddingCache, CacheGroup } from './embed-cache.js';
import { Progress } from './progress.js';
import { itemKey, type Condition, type Dataset, type Item } from './eval-protocols.js';
import type { Recognizer, SuperResolver } from './recognizers.js';
import { imageQuality } from './sr-quality.js';

/** Version of the input pipeline (framings, LR synthesis); part of every cache group name. */
export const PIPELINE_VERSION = 'p1';

/** FNV-1a of a string: the per-image index of the degradation draw. */
export function stableIndex(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Another image made from an item than its plain crop / probe (issue 15, method D): a gallery
 * template (`hr`: from the aligned crop, before any LR synthesis) or a probe hypothesis (`lr`: from the
 * LR probe, before the super-resolver). `id` names it in the cache group.
 */
export interface EmbedVariant {
  id: string;
  hr?: (hr: ChwImage, key: string) => Promise<ChwImage>;
  lr?: (lr: ChwImage) => ChwImage;
}

export function groupName(c: Condition, sr: SuperResolver, v?: EmbedVariant): string {
  const base = c.size === null ? `${PIPELINE_VERSION}-hr` : `${PIPELINE_VERSION}-lr${c.size}-${c.degrade ? 'deg3' : 'clean'}-sr${sr.hash}`;
  return v ? `${base}-v${v.id}` : base;
}

const FACE_SOURCE: Record<Dataset, FaceSource> = { lfw: { dataset: 'lfw', framing: 'arcface' }, orl: { dataset: 'orl' }, yaleb: { dataset: 'yaleb' } };

/** Loads the aligned 112 crops of some items (any datasets); undecodable ones come back null. */
export async function loadHr(items: readonly Item[], root: string, onSkip?: (key: string, reason: string) => void): Promise<(ChwImage | null)[]> {
  const out: (ChwImage | null)[] = new Array(items.length).fill(null);
  for (const ds of ['lfw', 'orl', 'yaleb'] as const) {
    const idx = items.map((it, i) => [it, i] as const).filter(([it]) => it.dataset === ds);
    if (!idx.length) continue;
    const b = await loadFaces(idx.map(([it]) => it.path), FACE_SOURCE[ds], {
      root, concurrency: 4, onSkip: (s) => onSkip?.(`${ds}/${s.path}`, s.reason),
    });
    const [, c, h, w] = b.shape;
    b.index.forEach((j, k) => { out[idx[j]![1]] = { data: b.data.slice(k * c * h * w, (k + 1) * c * h * w), c, h, w }; });
  }
  return out;
}

/**
 * The probe of an item at `cond` brought to 112 by `sr` (or the HR crop for full resolution); with a
 * variant, its template of the crop and / or its hypothesis of the LR probe instead.
 */
export async function probeImages(hr0: readonly ChwImage[], keys: readonly string[], cond: Condition, sr: SuperResolver, v?: EmbedVariant): Promise<{ lr: ChwImage[]; up: ChwImage[] }> {
  const hr = v?.hr ? await Promise.all(hr0.map((x, k) => v.hr!(x, keys[k]!))) : [...hr0];
  if (cond.size === null) return { lr: hr, up: hr };
  const S = cond.size;
  let lr = await Promise.all(hr.map((x, k) => degradeLR(x, S, { model: cond.degrade ? 'degraded' : 'clean', seed: 3, index: stableIndex(keys[k]!) })));
  if (v?.lr) lr = lr.map((x) => v.lr!(x));
  return { lr, up: await sr.run(lr) };
}

export interface EmbedStats { computed: number; cached: number; skipped: string[]; seconds: number }

export interface EmbedJob { cond: Condition; items: Item[]; variant?: EmbedVariant }

/**
 * Makes sure every (item, condition) of `jobs` has an embedding in the cache: the missing ones are
 * computed in batches of `batch` (one GPU readback per batch; the CPU work of the next batch overlaps
 * the GPU work of the current one). Returns the counts; undecodable images are skipped (listed).
 * With `quality` (a cache of QUALITY_DIM values, sr-quality.ts), every LR probe also gets its SR
 * output's [PSNR, SSIM] against the HR crop, measured on the images the embedding is made from; a
 * probe whose embedding is cached but whose quality is not is super-resolved again, not re-embedded.
 */
export async function computeEmbeddings(
  jobs: readonly EmbedJob[], rec: Recognizer, sr: SuperResolver, cache: EmbeddingCache, root: string,
  opts: { batch?: number; progress?: boolean; log?: (s: string) => void; quality?: EmbeddingCache } = {},
): Promise<EmbedStats> {
  const B = Math.max(1, opts.batch ?? 32);
  const t0 = performance.now();
  const skipped: string[] = [];
  let cached = 0;
  const batches: { group: CacheGroup; qGroup: CacheGroup | null; cond: Condition; variant?: EmbedVariant; items: Item[] }[] = [];
  for (const j of jobs) {
    const group = cache.group(groupName(j.cond, sr, j.variant));
    // SR quality is recorded for the plain probes only
    const qGroup = opts.quality && j.cond.size !== null && !j.variant ? opts.quality.group(groupName(j.cond, sr)) : null;
    const missing = j.items.filter((it) => !group.has(itemKey(it)) || (qGroup && !qGroup.has(itemKey(it))));
    cached += j.items.length - missing.length;
    for (let i = 0; i < missing.length; i += B) batches.push({ group, qGroup, cond: j.cond, variant: j.variant, items: missing.slice(i, i + B) });
  }
  const total = batches.reduce((a, b) => a + b.items.length, 0);
  const bar = opts.progress === false || total === 0 ? null : new Progress('embedding', total);
  let inflight: { group: CacheGroup; keys: string[]; n: number; res: Promise<Float32Array> } | null = null;
  const finish = async () => {
    if (!inflight) return;
    const f = inflight;
    inflight = null;
    f.group.put(f.keys, await f.res);
    bar?.tick(f.n);
  };
  try {
    for (const b of batches) {
      const hr = await loadHr(b.items, root, (key, reason) => {
        skipped.push(key);
        opts.log?.(`lrfr: skipping undecodable image ${key}: ${reason}`);
      });
      const ok = b.items.map((it, k) => [it, hr[k]] as const).filter((p): p is readonly [Item, ChwImage] => p[1] !== null);
      bar?.tick(b.items.length - ok.length);
      if (!ok.length) continue;
      const allKeys = ok.map(([it]) => itemKey(it));
      const { up: allUp } = await probeImages(ok.map(([, x]) => x), allKeys, b.cond, sr, b.variant);
      if (b.qGroup) {
        const qk = allKeys.map((k, i) => [k, i] as const).filter(([k]) => !b.qGroup!.has(k));
        const q = new Float32Array(qk.length * 2);
        qk.forEach(([, i], r) => q.set(imageQuality(allUp[i]!, ok[i]![1]), 2 * r));
        if (qk.length) b.qGroup.put(qk.map(([k]) => k), q);
      }
      // the embeddings still missing (all of them, unless only the quality was)
      const need = allKeys.map((k, i) => i).filter((i) => !b.group.has(allKeys[i]!));
      bar?.tick(allKeys.length - need.length);
      if (!need.length) continue;
      const keys = need.map((i) => allKeys[i]!);
      const up = need.map((i) => allUp[i]!);
      const prepared = up.map((x) => rec.prepare(x));
      const p0 = prepared[0]!;
      const px = p0.c * p0.h * p0.w;
      const x = new Float32Array(prepared.length * px);
      prepared.forEach((p, k) => x.set(p.data, k * px));
      await finish();
      inflight = { group: b.group, keys, n: keys.length, res: rec.embed(x, [prepared.length, p0.c, p0.h, p0.w]) };
    }
    await finish();
  } finally {
    if (inflight) await (inflight as { res: Promise<unknown> }).res.catch(() => {});
    bar?.finish();
  }
  return { computed: total - skipped.length, cached, skipped, seconds: (performance.now() - t0) / 1000 };
}
