// The evaluation pipeline behind `lrfr eval` (runEvaluation), in pieces:
//   framing.ts        the recognizers' framings of the aligned 112 crop (dlib's window)
//   recognizers.ts    recognizers and super-resolvers from weights files (the model registry)
//   eval-protocols.ts the protocols' image lists and the resolution conditions
//   embeddings.ts     HR crops, LR probes, batched embeddings and their disk cache
//   scoring.ts        scores and the metrics of one protocol at one condition
//   report.ts         the markdown table
// This file runs them in order and re-exports their public names.
//
// Resolutions. "full" = the aligned 112x112 HR crop (data.ts framings: LFW arcface window, ORL pad,
// Yale B crop). For an LR size S: probe = degradeLR(HR112, S) (clean bicubic-AA; with `degrade` the
// seed-3 degradation model, drawn per image from a hash of its key, so an image shared by two
// protocols gets the same probe) -> brought to 112 by the super-resolver (bicubic = degrade.ts
// upsample, or a DSR model) -> the recognizer's framing. The gallery side is always at full resolution.
import { checkDataRoot } from './data.js';
import { EmbeddingCache } from './embed-cache.js';
import { loadRecognizer, loadSuperResolver, evalCounters, type DlibLoader, type Metric, type Recognizer, type SuperResolver } from './recognizers.js';
import { planProtocols, dataPartsFor, neededItems, itemKey, checkSizes, type Condition, type ProtocolName, type ProtocolPlan } from './eval-protocols.js';
import { computeEmbeddings, groupName, type EmbedJob, type EmbedStats } from './embeddings.js';
import { evaluatePlan, type Lookup, type ResultRow } from './scoring.js';

export * from './framing.js';
export * from './recognizers.js';
export * from './eval-protocols.js';
export * from './embeddings.js';
export * from './scoring.js';
export * from './report.js';

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
  metric?: Metric;
  progress?: boolean;
  log?: (s: string) => void;
  /** How the recognizer `dlib` is loaded (face-api's weights; in Node src/node/dlib.ts loadFaceApiDlib). */
  loadDlib?: DlibLoader;
}

export interface EvalRun {
  rows: ResultRow[];
  plans: ProtocolPlan[];
  root: string;
  recognizer: { name: string; hash: string; dim: number; metric: Metric; framing: string };
  sr: { name: string; hash: string };
  conditions: Condition[];
  embed: EmbedStats & { images: number; perImageMs: number };
  /** Live objects for the figures (disposed by the caller with dispose()). */
  rec: Recognizer;
  srModel: SuperResolver;
  dispose(): void;
}

export async function runEvaluation(o: EvalOptions): Promise<EvalRun> {
  checkSizes(o.sizes);
  const root = checkDataRoot(o.dataRoot, dataPartsFor(o.protocols));
  const plans = planProtocols(o.protocols, root, o.limit);
  const rec = await loadRecognizer(o.recognizer, { loadDlib: o.loadDlib });
  let sr: SuperResolver;
  try {
    sr = await loadSuperResolver(o.sr);
    if (sr.sizes) {
      const missing = o.sizes.filter((s) => !sr.sizes!.includes(s));
      if (missing.length) {
        sr.dispose();
        throw new Error(`the SR model(s) ${sr.name} take ${sr.sizes.join(', ')}x probes; none for ${missing.join(', ')} (pass one model per size, comma-separated, or choose --sizes ${sr.sizes.join(',')})`);
      }
    }
  } catch (e) {
    rec.dispose();
    throw e;
  }
  const dispose = () => { sr.dispose(); rec.dispose(); };
  try {
    const metric = o.metric ?? rec.metric;
    const cache = new EmbeddingCache(o.cacheDir, rec.hash, rec.dim);
    const { hr, lr } = neededItems(plans);
    const sizes = [...new Set(o.sizes)].sort((a, b) => b - a);
    const conditions: Condition[] = [{ size: null, degrade: false }, ...sizes.map((s) => ({ size: s, degrade: o.degrade }))];
    const jobs: EmbedJob[] = conditions.map((c) => ({ cond: c, items: c.size === null ? hr : lr }));
    const f0 = evalCounters.forwards;
    const stats = await computeEmbeddings(jobs, rec, sr, cache, root, { batch: o.batch, progress: o.progress, log: o.log });
    const images = evalCounters.forwards - f0;
    const get: Lookup = (it, c) => cache.group(groupName(c, sr)).get(itemKey(it));
    const rows: ResultRow[] = [];
    for (const p of plans) for (const c of conditions) rows.push(evaluatePlan(p, c, get, rec.dim, metric));
    return {
      rows, plans, root, conditions,
      recognizer: { name: rec.name, hash: rec.hash, dim: rec.dim, metric, framing: rec.framing },
      sr: { name: sr.name, hash: sr.hash },
      embed: { ...stats, images, perImageMs: images ? (1000 * stats.seconds) / images : 0 },
      rec, srModel: sr, dispose,
    };
  } catch (e) {
    dispose();
    throw e;
  }
}
