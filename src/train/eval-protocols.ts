// The evaluation protocols as image lists (LFW 10-fold verification pairs, BLUFR-style open-set
// identification on LFW, ORL, Extended Yale B), the images each needs, and the resolution conditions.
import { type DataPart } from './data.js';
import { LR_SIZES } from './degrade.js';
import { buildLfwProtocol, buildOrlProtocol, buildYaleProtocol, type FaceRef, type Pair } from './protocol.js';

export const PROTOCOLS = ['lfw-verify', 'blufr-ident', 'orl', 'yaleb'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];
export type Dataset = 'lfw' | 'orl' | 'yaleb';

export interface Item { dataset: Dataset; path: string; person: string }

export const itemKey = (it: Item): string => `${it.dataset}/${it.path}`;

export interface VerifyPlan { kind: 'verify'; name: ProtocolName; pairs: { a: Item; b: Item; same: boolean; fold: number }[] }
export interface IdentPlan { kind: 'ident'; name: ProtocolName; gallery: Item[]; probes: Item[] }
export type ProtocolPlan = VerifyPlan | IdentPlan;

export function dataPartsFor(protocols: readonly ProtocolName[]): DataPart[] {
  const parts = new Set<DataPart>();
  for (const p of protocols) {
    if (p === 'lfw-verify' || p === 'blufr-ident') { parts.add('lfw'); parts.add('pairs'); parts.add('blufr'); }
    else parts.add(p);
  }
  return [...parts];
}

const lfwItem = (r: FaceRef): Item => ({ dataset: 'lfw', path: r.path, person: r.person });

/**
 * The protocols' image lists. `limit` (for quick runs): verification keeps about `limit` pairs, taken
 * evenly from every fold (half same, half different when possible); identification keeps the first
 * `limit` gallery entries and at most `limit` probes of those people.
 */
export function planProtocols(protocols: readonly ProtocolName[], root: string, limit?: number): ProtocolPlan[] {
  let lfw: ReturnType<typeof buildLfwProtocol> | null = null;
  const getLfw = () => (lfw ??= buildLfwProtocol(root));
  const out: ProtocolPlan[] = [];
  for (const name of protocols) {
    if (name === 'lfw-verify') {
      let pairs: Pair[] = getLfw().pairs;
      if (limit !== undefined) {
        const folds = [...new Set(pairs.map((p) => p.fold))].sort((a, b) => a - b);
        const per = Math.max(2, Math.ceil(limit / folds.length));
        pairs = folds.flatMap((f) => {
          const s = pairs.filter((p) => p.fold === f && p.same), d = pairs.filter((p) => p.fold === f && !p.same);
          return [...s.slice(0, Math.ceil(per / 2)), ...d.slice(0, Math.floor(per / 2))];
        });
      }
      out.push({ kind: 'verify', name, pairs: pairs.map((p) => ({ a: lfwItem(p.a), b: lfwItem(p.b), same: p.same, fold: p.fold })) });
      continue;
    }
    let gallery: Item[], probes: Item[];
    if (name === 'blufr-ident') {
      const p = getLfw();
      gallery = p.gallery.map(lfwItem);
      probes = p.probes.map(lfwItem);
    } else {
      const p = name === 'orl' ? buildOrlProtocol(root) : buildYaleProtocol(root);
      const ds: Dataset = name;
      gallery = p.gallery.map((r) => ({ dataset: ds, path: r.path, person: r.person }));
      probes = p.probes.map((r) => ({ dataset: ds, path: r.path, person: r.person }));
    }
    if (limit !== undefined) {
      gallery = gallery.slice(0, limit);
      const people = new Set(gallery.map((g) => g.person));
      probes = probes.filter((p) => people.has(p.person)).slice(0, limit);
    }
    out.push({ kind: 'ident', name, gallery, probes });
  }
  return out;
}

/**
 * Images needed at full resolution (`hr`: both sides) and as LR probes (`lr`: the probe side, which is
 * also embedded at full resolution), deduplicated across protocols; `gallery` = the gallery side alone
 * (verification: side a of each pair; identification: the gallery), always at full resolution.
 */
export function neededItems(plans: readonly ProtocolPlan[]): { hr: Item[]; lr: Item[]; gallery: Item[] } {
  const hr = new Map<string, Item>(), lr = new Map<string, Item>(), gallery = new Map<string, Item>();
  for (const p of plans) {
    if (p.kind === 'verify') {
      for (const q of p.pairs) { hr.set(itemKey(q.a), q.a); hr.set(itemKey(q.b), q.b); lr.set(itemKey(q.b), q.b); gallery.set(itemKey(q.a), q.a); }
    } else {
      for (const g of p.gallery) { hr.set(itemKey(g), g); gallery.set(itemKey(g), g); }
      for (const q of p.probes) { hr.set(itemKey(q), q); lr.set(itemKey(q), q); }
    }
  }
  return { hr: [...hr.values()], lr: [...lr.values()], gallery: [...gallery.values()] };
}

export interface Condition {
  /** null = full resolution. */
  size: number | null;
  degrade: boolean;
}

export const condLabel = (c: Condition): string => (c.size === null ? 'full' : `${c.size}x${c.size}`);

export function checkSizes(sizes: readonly number[]): void {
  for (const s of sizes) {
    if (!(LR_SIZES as readonly number[]).includes(s)) throw new Error(`unknown size ${s} (known: ${LR_SIZES.join(', ')})`);
  }
}
