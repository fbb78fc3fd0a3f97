// The evaluation pipeline behind `lrfr eval` (runEvaluation), in pieces:
//   framing.ts        the recognizers' framings of the aligned 112 crop (dlib's window)
//   recognizers.ts    recognizers and super-resolvers from weights files (the model registry)
//   eval-protocols.ts the protocols' image lists and the resolution conditions
//   embeddings.ts     HR crops, LR probes, batched embeddings and their disk cache
//   scoring.ts        scores and the metrics of one protocol at one condition
//   sr-quality.ts     PSNR / SSIM of the super-resolved probes against their HR crops
//   report.ts         the markdown table
// This file runs them in order and re-exports their public names.
//
// Resolutions. "full" = the aligned 112x112 HR crop (data.ts framings: LFW arcface window, ORL pad,
// Yale B crop). For an LR size S: probe = degradeLR(HR112, S) (clean bicubic-AA; with `degrade` the
// seed-3 degradation model, drawn per image from a hash of its key, so an image shared by two
// protocols gets the same probe) -> brought to 112 by the super-resolver (bicubic = degrade.ts
// upsample, or a DSR model) -> the recognizer's framing. The gallery side is always at full resolution.
//
// Sides. Verification compares side a (gallery, full resolution) with side b (probe, each condition);
// identification, the gallery (full resolution) with the probes (each condition). By default one
// recognizer embeds both; with `galleryRecognizer` the gallery side is embedded by that one and the
// probe side (full resolution included) by `recognizer`, each cached under its own weights hash.
import { checkDataRoot } from './data.js';
import { EmbeddingCache } from './embed-cache.js';
import { loadRecognizer, loadSuperResolver, evalCounters, BICUBIC, type DlibLoader, type Metric, type Recognizer, type SuperResolver } from './recognizers.js';
import { planProtocols, dataPartsFor, neededItems, itemKey, checkSizes, type Condition, type Item, type ProtocolName, type ProtocolPlan } from './eval-protocols.js';
import { computeEmbeddings, groupName, stableIndex, type EmbedJob, type EmbedStats, type EmbedVariant } from './embeddings.js';
import { evaluatePlan, type Lookup, type ResultRow, type Role, type ScoreMetric } from './scoring.js';
import { templateSpecs, distinctHypotheses, deblurHypotheses, type TemplateOptions } from './template-fusion.js';
import type { ChwImage } from './image.js';
import { planQuality, QUALITY_CACHE, QUALITY_DIM } from './sr-quality.js';

export * from './framing.js';
export * from './recognizers.js';
export * from './eval-protocols.js';
export * from './embeddings.js';
export * from './scoring.js';
export * from './report.js';
export * from './sr-quality.js';

export interface EvalOptions {
  recognizer: string;
  sr: string;
  sizes: number[];
  degrade: boolean;
  protocols: ProtocolName[];
  dataRoot?: string;
  limit?: number;
  cacheDir: string;
  batch?: number;
  metric?: ScoreMetric;
  progress?: boolean;
  log?: (s: string) => void;
  /**
   * A second recognizer for the gallery side (verification: side a of each pair; identification: the
   * gallery; both at full resolution); `recognizer` then embeds only the probe side, at every
   * condition including full resolution (e.g. a cross-resolution student against the frozen teacher's
   * gallery). Same embedding dimension as `recognizer`; the metric is `metric` or the probe
   * recognizer's. Unset: `recognizer` embeds both sides.
   */
  galleryRecognizer?: string;
  /** How the recognizer `dlib` is loaded (face-api's weights; in Node src/node/dlib.ts loadFaceApiDlib). */
  loadDlib?: DlibLoader;
  /** false: no full-resolution row (the probes are embedded at the LR sizes only; the gallery as always). Default true. */
  fullResolution?: boolean;
  /**
   * Resolution matching of the gallery side (issue 15, method D): at an LR size S, the gallery images
   * are brought to S x S (clean bicubic-AA) and back to 112 by the probes' super-resolver before they
   * are embedded, so both sides carry the same loss of detail; the full-resolution row is unchanged.
   * (The clean LR of an image is the same whether it is a probe or a gallery image: one cache group.)
   */
  matchGallery?: boolean;
  /**
   * Gallery templates (issue 15, method D): besides the crop itself, the gallery side is embedded
   * as each of template-fusion.ts's templates (11 degradations and the drawn chains), all at full
   * resolution; a comparison scores the best template (S_max). With matchGallery the matched gallery
   * image is one more template at each LR size. Unset: the crop alone.
   */
  templates?: TemplateOptions;
  /**
   * Multi-hypothesis probes (method D): each LR probe is deblurred under this many assumed Gaussian
   * blurs σ = 0 … 1 LR px (template-fusion.ts deblurHypotheses) before the super-resolver; a
   * comparison scores the best hypothesis (S_max). Hypotheses with σ < 0.3 are the probe itself and
   * are not embedded twice. Default 1 (the probe alone); full-resolution rows are unchanged.
   */
  hypotheses?: number;
  /**
   * Method B's fusion (issue 14): each LR probe's embedding is its SR face's concatenated with its
   * bicubic face's (the gallery side and full-resolution probes: the HR embedding twice), compared
   * in 2 x dim. Needs an SR model; not with a gallery recognizer, gallery matching, templates or hypotheses.
   */
  concatBicubic?: boolean;
}

export interface RecognizerInfo { name: string; hash: string; dim: number; metric: ScoreMetric; framing: string }

export interface EvalRun {
  rows: ResultRow[];
  plans: ProtocolPlan[];
  root: string;
  /** The recognizer (of the probe side when galleryRecognizer is set, else of both sides). */
  recognizer: RecognizerInfo;
  /** The gallery side's recognizer, when EvalOptions.galleryRecognizer was given. */
  galleryRecognizer?: RecognizerInfo;
  sr: { name: string; hash: string };
  conditions: Condition[];
  /** EvalOptions.matchGallery as run. */
  matchGallery: boolean;
  /** Gallery templates per entry besides the crop (and the matched image), and the probe hypotheses embedded per LR probe (1: the probe alone). */
  templates: number;
  hypotheses: number;
  /** EvalOptions.concatBicubic as run. */
  concatBicubic: boolean;
  embed: EmbedStats & { images: number; perImageMs: number };
  /** Live objects for the figures (disposed by the caller with dispose()). */
  rec: Recognizer;
  srModel: SuperResolver;
  dispose(): void;
}

/** Two embedding passes' counts together. */
function addStats(a: EmbedStats, b: EmbedStats): EmbedStats {
  return { computed: a.computed + b.computed, cached: a.cached + b.cached, skipped: [...new Set([...a.skipped, ...b.skipped])], seconds: a.seconds + b.seconds };
}

export async function runEvaluation(o: EvalOptions): Promise<EvalRun> {
  checkSizes(o.sizes);
  const root = checkDataRoot(o.dataRoot, dataPartsFor(o.protocols));
  const plans = planProtocols(o.protocols, root, o.limit);
  const rec = await loadRecognizer(o.recognizer, { loadDlib: o.loadDlib });
  let galRec: Recognizer | null = null;
  let sr: SuperResolver;
  try {
    if (o.galleryRecognizer !== undefined) {
      galRec = await loadRecognizer(o.galleryRecognizer, { loadDlib: o.loadDlib });
      if (galRec.dim !== rec.dim) {
        throw new Error(`the gallery recognizer ${galRec.name} gives ${galRec.dim}-D embeddings and the probe recognizer ${rec.name} ${rec.dim}-D: ` +
          'the two sides of a comparison must have the same dimension');
      }
    }
    if (o.concatBicubic && (o.galleryRecognizer !== undefined || o.templates || (o.hypotheses ?? 1) > 1 || o.matchGallery)) {
      throw new Error('concatenating the bicubic and SR embeddings (--concat-bicubic) does not combine with a gallery recognizer, gallery matching, templates or hypotheses');
    }
    sr = await loadSuperResolver(o.sr);
    if (o.concatBicubic && sr === BICUBIC) {
      throw new Error('--concat-bicubic concatenates the SR face\'s embedding with the bicubic face\'s: give an SR model (--sr FILE), not bicubic');
    }
    if (sr.sizes) {
      const missing = o.sizes.filter((s) => !sr.sizes!.includes(s));
      if (missing.length) {
        sr.dispose();
        throw new Error(`the SR model(s) ${sr.name} take ${sr.sizes.join(', ')}x probes; none for ${missing.join(', ')} (pass one model per size, comma-separated, or choose --sizes ${sr.sizes.join(',')})`);
      }
    }
  } catch (e) {
    galRec?.dispose();
    rec.dispose();
    throw e;
  }
  const dispose = () => { sr.dispose(); galRec?.dispose(); rec.dispose(); };
  try {
    const metric = o.metric ?? rec.metric;
    // one cache per weights hash (two recognizers with the same weights share it, and its files)
    const caches = new Map<string, EmbeddingCache>();
    const cacheOf = (r: Recognizer) => {
      let c = caches.get(r.hash);
      if (!c) caches.set(r.hash, (c = new EmbeddingCache(o.cacheDir, r.hash, r.dim)));
      return c;
    };
    const cache = cacheOf(rec);
    const { hr, lr, gallery } = neededItems(plans);
    const sizes = [...new Set(o.sizes)].sort((a, b) => b - a);
    const full: Condition = { size: null, degrade: false };
    const lowRes: Condition[] = sizes.map((s) => ({ size: s, degrade: o.degrade }));
    const withFull = o.fullResolution ?? true;
    const conditions: Condition[] = withFull ? [full, ...lowRes] : lowRes;
    // the SR output's PSNR / SSIM per LR probe, recorded while the probes are made
    const quality = lowRes.length ? new EmbeddingCache(o.cacheDir, QUALITY_CACHE, QUALITY_DIM) : undefined;
    const embedOpts = { batch: o.batch, progress: o.progress, log: o.log, quality };
    const f0 = evalCounters.forwards;
    let stats: EmbedStats;
    let get: (it: Item, c: Condition, role: Role, v?: EmbedVariant) => Float32Array | undefined;
    const match = o.matchGallery ?? false;
    // the gallery side at an LR condition: the clean LR of the gallery images through the SR (matching)
    const galleryCond = (c: Condition): Condition => (match && c.size !== null ? { size: c.size, degrade: false } : full);
    const matchedJobs: EmbedJob[] = match ? sizes.map((s) => ({ cond: { size: s, degrade: false }, items: gallery })) : [];
    // method D: gallery templates (full resolution) and probe hypotheses (LR), each its own cache group
    const tplSeed = o.templates?.seed ?? 4;
    const tplVariants: EmbedVariant[] = o.templates
      ? templateSpecs(o.templates).filter((t) => t.name !== 'hr').map((t) => ({
        id: `tpl${tplSeed}-${t.name.replace(/>/g, '_')}`, hr: (img: ChwImage, key: string) => t.make(img, stableIndex(key)),
      }))
      : [];
    const H = o.hypotheses ?? 1;
    const hypVariants: EmbedVariant[] = distinctHypotheses(H).slice(1).map((sigma) => ({
      id: `hyp${sigma.toFixed(4)}`, lr: (img: ChwImage) => deblurHypotheses(img, [sigma])[0]!,
    }));
    const variantJobs = (cs: readonly Condition[], items: Item[], vs: readonly EmbedVariant[]): EmbedJob[] => cs.flatMap((cond) => vs.map((variant) => ({ cond, items, variant })));
    const tplJobs = variantJobs([full], gallery, tplVariants);
    const hypJobs = variantJobs(lowRes, lr, hypVariants);
    if (!galRec) {
      // one recognizer: the full-resolution images of both sides in one job
      const jobs: EmbedJob[] = [{ cond: full, items: withFull ? hr : gallery }, ...lowRes.map((c) => ({ cond: c, items: lr })), ...matchedJobs, ...tplJobs, ...hypJobs];
      stats = await computeEmbeddings(jobs, rec, sr, cache, root, embedOpts);
      get = (it, c, _role, v) => cache.group(groupName(c, sr, v)).get(itemKey(it));
      if (o.concatBicubic) {
        // the bicubic faces of the LR probes too (method B's fusion)
        const b = await computeEmbeddings(lowRes.map((c) => ({ cond: c, items: lr })), rec, BICUBIC, cache, root, { ...embedOpts, quality: undefined });
        stats = addStats(stats, b);
        const srGet = get;
        get = (it, c, role, v) => {
          const a = srGet(it, c, role, v);
          const bic = c.size === null ? a : cache.group(groupName(c, BICUBIC)).get(itemKey(it));
          if (!a || !bic) return undefined;
          const out = new Float32Array(2 * rec.dim);
          out.set(a, 0);
          out.set(bic, rec.dim);
          return out;
        };
      }
    } else {
      // the gallery side (full resolution) by the gallery recognizer, the probe side (every condition,
      // full resolution included) by the probe recognizer, each from its own cache
      const g = galRec, gCache = cacheOf(g);
      const gs = await computeEmbeddings([{ cond: full, items: gallery }, ...matchedJobs, ...tplJobs], g, sr, gCache, root, embedOpts);
      const ps = await computeEmbeddings([...conditions.map((c) => ({ cond: c, items: lr })), ...hypJobs], rec, sr, cache, root, embedOpts);
      stats = addStats(gs, ps);
      get = (it, c, role, v) => (role === 'gallery' ? gCache : cache).group(groupName(c, sr, v)).get(itemKey(it));
    }
    const dim = o.concatBicubic ? 2 * rec.dim : rec.dim;
    // an item's embeddings under several (condition, variant) pairs, stacked ([k * dim]); undefined if one is missing
    const stackOf = (it: Item, role: Role, parts: readonly (readonly [Condition, EmbedVariant?])[]): Float32Array | undefined => {
      const es = parts.map(([c, v]) => get(it, c, role, v));
      if (es.some((e) => !e)) return undefined;
      if (es.length === 1) return es[0];
      const out = new Float32Array(es.length * dim);
      es.forEach((e, k) => out.set(e!, k * dim));
      return out;
    };
    const images = evalCounters.forwards - f0;
    const rows: ResultRow[] = [];
    for (const p of plans) {
      for (const c of conditions) {
        // evaluatePlan asks for the gallery side at full resolution; with matching, answer at c's size
        // (with templates, the crop, the matched image and the templates together)
        const g = galleryCond(c);
        const galleryParts: [Condition, EmbedVariant?][] = tplVariants.length
          ? [[full], ...(g !== full ? [[g] as [Condition]] : []), ...tplVariants.map((v): [Condition, EmbedVariant] => [full, v])]
          : [[g]];
        const getAt: Lookup = (it, cc, role) => role === 'gallery'
          ? stackOf(it, role, galleryParts)
          : stackOf(it, role, [[cc], ...(cc.size === null ? [] : hypVariants.map((v): [Condition, EmbedVariant] => [cc, v]))]);
        const row = evaluatePlan(p, c, getAt, dim, metric);
        const q = quality && c.size !== null ? planQuality(p, c, (it, cc) => quality.group(groupName(cc, sr)).get(itemKey(it))) : undefined;
        rows.push(q ? { ...row, psnr: q.psnr, ssim: q.ssim } : row);
      }
    }
    return {
      rows, plans, root, conditions, matchGallery: match, templates: tplVariants.length, hypotheses: 1 + hypVariants.length, concatBicubic: o.concatBicubic ?? false,
      recognizer: { name: rec.name, hash: rec.hash, dim: rec.dim, metric, framing: rec.framing },
      ...(galRec ? { galleryRecognizer: { name: galRec.name, hash: galRec.hash, dim: galRec.dim, metric, framing: galRec.framing } } : {}),
      sr: { name: sr.name, hash: sr.hash },
      embed: { ...stats, images, perImageMs: images ? (1000 * stats.seconds) / images : 0 },
      rec, srModel: sr, dispose,
    };
  } catch (e) {
    dispose();
    throw e;
  }
}
