// The recognizers' training data: BLUFR split1 train1 (the training people only; see
// ../shared/data/README.md), as aligned 112 crops in memory, split by PERSON into training and
// validation: a seeded `valFraction` of the people with >= 2 images is held out (never trained on)
// and picks the checkpoint. Test people (gallery1, probe1, the pairs of non-training people, ORL,
// Yale B) are never read here.
import { buildLfwProtocol, type FaceRef } from './protocol.js';
import { loadFaces } from './data.js';
import type { ChwImage } from './image.js';
import type { DistillData } from './distill.js';
import { Rng } from '../runtime/random.js';

export interface DistillSplit {
  train: FaceRef[];
  val: FaceRef[][];
  trainPeople: string[];
}

/** The person-level split of train1 (deterministic in cfg.seed). */
export function splitTrainPeople(train: readonly FaceRef[], valFraction: number, seed: number, limitPeople = 0): DistillSplit {
  const byPerson = new Map<string, FaceRef[]>();
  for (const r of train) {
    const l = byPerson.get(r.person) ?? [];
    l.push(r);
    byPerson.set(r.person, l);
  }
  let people = [...byPerson.keys()].sort();
  if (limitPeople > 0) people = new Rng(seed + 7).shuffle(people).slice(0, limitPeople).sort();
  const multi = people.filter((p) => byPerson.get(p)!.length >= 2);
  const nVal = valFraction > 0 ? Math.max(2, Math.round(valFraction * multi.length)) : 0;
  if (nVal > multi.length) throw new Error(`validation needs ${nVal} people with >= 2 images; only ${multi.length} in the training people`);
  const valPeople = new Set(new Rng(seed + 3).shuffle([...multi]).slice(0, nVal));
  const trainPeople = people.filter((p) => !valPeople.has(p));
  return {
    train: trainPeople.flatMap((p) => byPerson.get(p)!),
    val: [...valPeople].sort().map((p) => byPerson.get(p)!),
    trainPeople,
  };
}

/** Loads the split's crops (undecodable images are reported through onSkip and left out). */
export async function loadDistillData(cfg: { seed: number; data: { valFraction: number; limitPeople: number } }, root: string, onSkip?: (path: string, reason: string) => void): Promise<DistillData & { split: DistillSplit }> {
  const proto = buildLfwProtocol(root);
  const split = splitTrainPeople(proto.train, cfg.data.valFraction, cfg.seed, cfg.data.limitPeople);
  const load = async (refs: readonly FaceRef[]) => {
    const b = await loadFaces(refs.map((r) => r.path), { dataset: 'lfw', framing: 'arcface' }, { root, concurrency: 4, onSkip: (s) => onSkip?.(s.path, s.reason) });
    const [, c, h, w] = b.shape;
    const px = c * h * w;
    const out: (ChwImage | null)[] = refs.map(() => null);
    b.index.forEach((j, k) => (out[j] = { data: b.data.slice(k * px, (k + 1) * px), c, h, w }));
    return out;
  };
  const tr = await load(split.train);
  const classOf = new Map(split.trainPeople.map((p, i) => [p, i]));
  const train: ChwImage[] = [], labels: number[] = [];
  tr.forEach((img, i) => { if (img) { train.push(img); labels.push(classOf.get(split.train[i]!.person)!); } });
  const val: ChwImage[][] = [];
  for (const person of split.val) {
    const imgs = (await load(person)).filter((x): x is ChwImage => x !== null);
    if (imgs.length >= 2) val.push(imgs);
  }
  return { train, labels, classes: split.trainPeople.length, val, split };
}
