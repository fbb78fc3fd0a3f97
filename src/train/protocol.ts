// The evaluation protocol (shared/data/README.md):
//   training people   = BLUFR split1 train1.xml (every LFW image of those people may be used by SR);
//   identification    = gallery1.xml (full resolution) vs the genuine probes of probe1.xml (probes of
//                       people present in gallery1; the open-set impostor probes are dropped);
//   verification      = the pairs.txt pairs in which neither person is a training person;
//   ORL               = gallery: image 1 of each person, probes: images 2..10;
//   Yale B            = gallery: the frontal-light image P00A+000E+00 of each person, probes: the rest.
// Paths are relative to the dataset folder (lfw-deepfunneled/, orl-faces/, yaleb-cropped/).
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkDataRoot, DATA_LAYOUT } from './data.js';

export interface FaceRef { person: string; path: string }

export interface Pair { fold: number; same: boolean; a: FaceRef; b: FaceRef }

export function lfwPath(person: string, n: number): string {
  return `${person}/${person}_${String(n).padStart(4, '0')}.jpg`;
}

/**
 * Parses LFW pairs.txt: a header "folds<TAB>n" then, per fold, n matched lines "name i j" and n
 * mismatched lines "name1 i name2 j" (whitespace-separated). The fold of a pair comes from its
 * position; a line's format (3 or 4 fields) decides same/different, and must agree with it.
 */
export function parsePairs(text: string): Pair[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  const head = lines[0]?.split(/\s+/).map(Number) ?? [];
  let folds: number, n: number;
  let body: string[];
  if (head.length === 2 && head.every((v) => Number.isInteger(v) && v > 0)) {
    [folds, n] = head as [number, number];
    body = lines.slice(1);
  } else if (head.length === 1 && Number.isInteger(head[0]) && head[0]! > 0) {
    // View-1 style header (one count): a single fold of n same + n different
    folds = 1; n = head[0]!;
    body = lines.slice(1);
  } else throw new Error('parsePairs: missing header "<folds> <pairs per class>"');
  if (body.length !== folds * 2 * n) throw new Error(`parsePairs: header says ${folds} folds x ${2 * n} pairs = ${folds * 2 * n} lines, found ${body.length}`);
  return body.map((l, k) => {
    const f = l.split(/\s+/);
    const fold = Math.floor(k / (2 * n));
    const same = k % (2 * n) < n;
    if (f.length === 3 && same) {
      return { fold, same, a: { person: f[0]!, path: lfwPath(f[0]!, Number(f[1])) }, b: { person: f[0]!, path: lfwPath(f[0]!, Number(f[2])) } };
    }
    if (f.length === 4 && !same) {
      return { fold, same, a: { person: f[0]!, path: lfwPath(f[0]!, Number(f[1])) }, b: { person: f[2]!, path: lfwPath(f[2]!, Number(f[3])) } };
    }
    throw new Error(`parsePairs: line ${k + 2} "${l}" is not a ${same ? 'matched (name i j)' : 'mismatched (name1 i name2 j)'} pair`);
  });
}

function unescapeXml(s: string): string {
  return s.replace(/&(quot|apos|lt|gt|amp|#\d+|#x[0-9a-fA-F]+);/g, (_m, e: string) => {
    switch (e) {
      case 'quot': return '"';
      case 'apos': return "'";
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      default: return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

/**
 * Parses a NIST sigset XML (OpenBR): one entry per <presentation file-name=...> inside a
 * <biometric-signature name=...>, in file order.
 */
export function parseSigset(xml: string): FaceRef[] {
  const out: FaceRef[] = [];
  const sigRe = /<biometric-signature(?=[\s/>])([^>]*?)(\/>|>([\s\S]*?)<\/biometric-signature\s*>)/g;
  const attr = (s: string, name: string) => {
    const m = new RegExp(`\\b${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(s);
    return m ? unescapeXml(m[1] ?? m[2]!) : undefined;
  };
  for (const m of xml.matchAll(sigRe)) {
    const person = attr(m[1]!, 'name');
    if (person === undefined) throw new Error(`parseSigset: <biometric-signature> without name: ${m[0].slice(0, 80)}`);
    for (const p of (m[3] ?? '').matchAll(/<presentation(?=[\s/>])([^>]*?)\/?>/g)) {
      const path = attr(p[1]!, 'file-name');
      if (path === undefined) throw new Error(`parseSigset: <presentation> without file-name for ${person}`);
      out.push({ person, path });
    }
  }
  return out;
}

export interface LfwProtocol {
  root: string;
  /** BLUFR split1 train1 (the images listed there). */
  train: FaceRef[];
  trainPeople: Set<string>;
  gallery: FaceRef[];
  /** Genuine probes of probe1 (their person is in the gallery). */
  probes: FaceRef[];
  /** Number of probe1 entries dropped as impostors (person not in gallery1). */
  impostorProbes: number;
  /** All pairs.txt pairs. */
  allPairs: Pair[];
  /** Pairs with neither person in trainPeople. */
  pairs: Pair[];
}

/** Builds the LFW protocol from <root>/lfw-protocol (split is the BLUFR split, default 1). */
export function buildLfwProtocol(root?: string, split = 1): LfwProtocol {
  const r = checkDataRoot(root, ['pairs', 'blufr']);
  const dir = join(r, 'lfw-protocol', 'openbr-sigset', 'BLUFR', `split${split}`);
  const sig = (n: string) => {
    const f = join(dir, `${n}${split}.xml`);
    if (!existsSync(f)) throw new Error(`buildLfwProtocol: ${f} not found (expected BLUFR split${split}/${n}${split}.xml)`);
    return parseSigset(readFileSync(f, 'utf8'));
  };
  const train = sig('train');
  const gallery = sig('gallery');
  const probe = sig('probe');
  const trainPeople = new Set(train.map((e) => e.person));
  const galleryPeople = new Set(gallery.map((e) => e.person));
  for (const p of galleryPeople) if (trainPeople.has(p)) throw new Error(`buildLfwProtocol: ${p} is in both train${split} and gallery${split}`);
  const probes = probe.filter((e) => galleryPeople.has(e.person));
  const allPairs = parsePairs(readFileSync(join(r, DATA_LAYOUT.pairs.path), 'utf8'));
  const pairs = allPairs.filter((p) => !trainPeople.has(p.a.person) && !trainPeople.has(p.b.person));
  return { root: r, train, trainPeople, gallery, probes, impostorProbes: probe.length - probes.length, allPairs, pairs };
}

/** Every LFW image of the given people (e.g. the training people, for SR training), sorted. */
export function listLfwImages(people: Iterable<string>, root?: string): FaceRef[] {
  const base = join(checkDataRoot(root, ['lfw']), DATA_LAYOUT.lfw.path);
  const out: FaceRef[] = [];
  for (const person of [...people].sort()) {
    const d = join(base, person);
    if (!existsSync(d)) throw new Error(`listLfwImages: no folder ${d}`);
    for (const f of readdirSync(d).filter((f) => /\.jpe?g$/i.test(f)).sort()) out.push({ person, path: `${person}/${f}` });
  }
  return out;
}

export interface GalleryProbe { gallery: FaceRef[]; probes: FaceRef[] }

const byNumber = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** ORL: gallery = image 1 of each person sN, probes = images 2..10. */
export function buildOrlProtocol(root?: string): GalleryProbe {
  const base = join(checkDataRoot(root, ['orl']), DATA_LAYOUT.orl.path);
  const gallery: FaceRef[] = [], probes: FaceRef[] = [];
  for (const person of readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory() && /^s\d+$/.test(d.name)).map((d) => d.name).sort(byNumber)) {
    const files = readdirSync(join(base, person)).filter((f) => /^\d+\.png$/i.test(f)).sort(byNumber);
    for (const f of files) (f === '1.png' ? gallery : probes).push({ person, path: `${person}/${f}` });
    if (!files.includes('1.png')) throw new Error(`buildOrlProtocol: ${person} has no 1.png`);
  }
  return { gallery, probes };
}

export const YALE_FRONTAL = 'P00A+000E+00';

/** Yale B: gallery = P00A+000E+00 (frontal light) of each person, probes = the other images. */
export function buildYaleProtocol(root?: string): GalleryProbe {
  const base = join(checkDataRoot(root, ['yaleb']), DATA_LAYOUT.yaleb.path);
  const gallery: FaceRef[] = [], probes: FaceRef[] = [];
  for (const person of readdirSync(base, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const files = readdirSync(join(base, person)).filter((f) => /\.png$/i.test(f)).sort();
    let g = 0;
    for (const f of files) {
      if (f.includes(YALE_FRONTAL)) { gallery.push({ person, path: `${person}/${f}` }); g++; } else probes.push({ person, path: `${person}/${f}` });
    }
    if (g !== 1) throw new Error(`buildYaleProtocol: ${person} has ${g} ${YALE_FRONTAL} images (expected 1)`);
  }
  return { gallery, probes };
}
