// `lrfr eval --quality-only`: the super-resolver's image quality on the protocols' LR probes (PSNR,
// SSIM against the HR crops; definitions in sr-quality.ts) with no recognizer: the same probes, the
// same records (and cache) as a full lrfr eval, in a fraction of the time.
import { checkDataRoot } from './data.js';
import { EmbeddingCache } from './embed-cache.js';
import { loadSuperResolver } from './recognizers.js';
import { planProtocols, dataPartsFor, checkSizes, condLabel, itemKey, type Condition, type Item, type ProtocolName, type ProtocolPlan } from './eval-protocols.js';
import { groupName, loadHr, probeImages } from './embeddings.js';
import { imageQuality, planQuality, probeItems, QUALITY_CACHE, QUALITY_DIM } from './sr-quality.js';
import { Progress } from './progress.js';
import type { EvalOptions } from './eval.js';

/** The options of runEvaluation that concern the probes and the super-resolver (no recognizer). */
export type QualityOptions = Pick<EvalOptions, 'sr' | 'sizes' | 'degrade' | 'protocols' | 'dataRoot' | 'limit' | 'cacheDir' | 'batch' | 'progress' | 'log'>;

export interface QualityRow { protocol: ProtocolName; kind: ProtocolPlan['kind']; resolution: string; size: number; n: number; psnr: number; ssim: number }

export interface QualityRun { rows: QualityRow[]; sr: { name: string; hash: string }; root: string; computed: number; cached: number; skipped: string[]; seconds: number }

export async function runQualityEvaluation(o: QualityOptions): Promise<QualityRun> {
  checkSizes(o.sizes);
  if (!o.sizes.length) throw new Error('the SR quality needs at least one LR size (--sizes)');
  const root = checkDataRoot(o.dataRoot, dataPartsFor(o.protocols));
  const plans = planProtocols(o.protocols, root, o.limit);
  const sr = await loadSuperResolver(o.sr);
  const t0 = performance.now();
  try {
    if (sr.sizes) {
      const missing = o.sizes.filter((s) => !sr.sizes!.includes(s));
      if (missing.length) throw new Error(`the SR model(s) ${sr.name} take ${sr.sizes.join(', ')}x probes; none for ${missing.join(', ')}`);
    }
    const cache = new EmbeddingCache(o.cacheDir, QUALITY_CACHE, QUALITY_DIM);
    const seen = new Set<string>();
    const items: Item[] = plans.flatMap(probeItems).filter((it) => !seen.has(itemKey(it)) && (seen.add(itemKey(it)), true));
    const conds: Condition[] = [...new Set(o.sizes)].sort((a, b) => b - a).map((s) => ({ size: s, degrade: o.degrade }));
    const B = Math.max(1, o.batch ?? 32);
    const todo = conds.map((c) => ({ c, group: cache.group(groupName(c, sr)) })).map((j) => ({ ...j, missing: items.filter((it) => !j.group.has(itemKey(it))) }));
    const total = todo.reduce((a, j) => a + j.missing.length, 0);
    const bar = o.progress === false || total === 0 ? null : new Progress('SR quality', total);
    const skipped: string[] = [];
    for (const j of todo) {
      for (let i = 0; i < j.missing.length; i += B) {
        const batch = j.missing.slice(i, i + B);
        const hr = await loadHr(batch, root, (key, reason) => { skipped.push(key); o.log?.(`lrfr: skipping undecodable image ${key}: ${reason}`); });
        const ok = batch.map((it, k) => [it, hr[k]] as const).filter((p) => p[1] !== null);
        if (ok.length) {
          const keys = ok.map(([it]) => itemKey(it));
          const { up } = await probeImages(ok.map(([, x]) => x!), keys, j.c, sr);
          const q = new Float32Array(ok.length * QUALITY_DIM);
          up.forEach((x, k) => q.set(imageQuality(x, ok[k]![1]!), QUALITY_DIM * k));
          j.group.put(keys, q);
        }
        bar?.tick(batch.length);
      }
    }
    bar?.finish();
    const rows: QualityRow[] = [];
    for (const p of plans) {
      for (const c of conds) {
        const q = planQuality(p, c, (it, cc) => cache.group(groupName(cc, sr)).get(itemKey(it)));
        if (q) rows.push({ protocol: p.name, kind: p.kind, resolution: condLabel(c), size: c.size!, n: q.n, psnr: q.psnr, ssim: q.ssim });
      }
    }
    return { rows, sr: { name: sr.name, hash: sr.hash }, root, computed: total - skipped.length, cached: items.length * conds.length - total, skipped, seconds: (performance.now() - t0) / 1000 };
  } finally {
    sr.dispose();
  }
}

/** The markdown table of a quality run. */
export function qualityTable(rows: readonly QualityRow[]): string {
  return ['| protocol | resolution | SR PSNR (dB) | SR SSIM | probes |', '|---|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.protocol} | ${r.resolution} | ${r.psnr.toFixed(2)} | ${r.ssim.toFixed(4)} | ${r.n} |`)].join('\n');
}
