import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parsePairs, parseSigset, buildLfwProtocol, buildOrlProtocol, buildYaleProtocol, listLfwImages, lfwPath } from '../../src/train/protocol.js';
import { resolveDataRoot } from '../../src/train/data.js';

describe('parsers', () => {
  it('pairs.txt: both line formats, folds from position', () => {
    const txt = '2\t1\nA\t1\t2\nB\t1\tC\t3\nD\t2\t4\nE\t10\tF\t1\n';
    const p = parsePairs(txt);
    expect(p).toHaveLength(4);
    expect(p[0]).toEqual({ fold: 0, same: true, a: { person: 'A', path: 'A/A_0001.jpg' }, b: { person: 'A', path: 'A/A_0002.jpg' } });
    expect(p[1]).toEqual({ fold: 0, same: false, a: { person: 'B', path: 'B/B_0001.jpg' }, b: { person: 'C', path: 'C/C_0003.jpg' } });
    expect(p[3]!.fold).toBe(1);
    expect(p[3]!.a.path).toBe('E/E_0010.jpg');
    expect(() => parsePairs('1\t1\nA\t1\tB\t2\nC\t1\t2\n')).toThrow(/line 2/);
    expect(() => parsePairs('1\t2\nA\t1\t2\n')).toThrow(/found 1/);
    expect(lfwPath('X_Y', 123)).toBe('X_Y/X_Y_0123.jpg');
  });
  it('sigset XML: several presentations, self-closing, entities', () => {
    const xml = `<?xml version="1.0" ?>
<biometric-signature-set>
  <biometric-signature name="A_B">
    <presentation file-name="A_B/A_B_0001.jpg"/>
    <presentation Label="x" file-name='A_B/A_B_0002.jpg' />
  </biometric-signature>
  <biometric-signature name="O&apos;Neal"><presentation file-name="O'Neal/O'Neal_0001.jpg"></presentation></biometric-signature>
  <biometric-signature name="Empty"/>
</biometric-signature-set>`;
    expect(parseSigset(xml)).toEqual([
      { person: 'A_B', path: 'A_B/A_B_0001.jpg' },
      { person: 'A_B', path: 'A_B/A_B_0002.jpg' },
      { person: "O'Neal", path: "O'Neal/O'Neal_0001.jpg" },
    ]);
  });
});

const root = resolveDataRoot();

describe('protocol on the real data', () => {
  const lfw = join(root, 'lfw-deepfunneled');
  it('LFW: BLUFR split1 + pairs.txt', () => {
    const P = buildLfwProtocol();
    const galleryPeople = new Set(P.gallery.map((e) => e.person));
    const verPeople = new Set(P.pairs.flatMap((p) => [p.a.person, p.b.person]));
    const counts = {
      trainImages: P.train.length, trainPeople: P.trainPeople.size,
      galleryImages: P.gallery.length, galleryPeople: galleryPeople.size,
      genuineProbes: P.probes.length, probePeople: new Set(P.probes.map((e) => e.person)).size, impostorProbes: P.impostorProbes,
      allPairs: P.allPairs.length, verPairs: P.pairs.length, verSame: P.pairs.filter((p) => p.same).length,
      verDiff: P.pairs.filter((p) => !p.same).length, verPeople: verPeople.size,
    };
    console.log('LFW protocol counts', JSON.stringify(counts));
    // stated by shared/data/README.md
    expect(P.allPairs).toHaveLength(6000);
    for (let f = 0; f < 10; f++) {
      expect(P.allPairs.filter((p) => p.fold === f && p.same)).toHaveLength(300);
      expect(P.allPairs.filter((p) => p.fold === f && !p.same)).toHaveLength(300);
    }
    expect(P.trainPeople.size).toBe(1500);
    expect(P.gallery).toHaveLength(1000);
    expect(galleryPeople.size).toBe(1000);
    // disjointness
    for (const p of galleryPeople) expect(P.trainPeople.has(p)).toBe(false);
    for (const p of verPeople) expect(P.trainPeople.has(p)).toBe(false);
    for (const e of P.probes) expect(galleryPeople.has(e.person)).toBe(true);
    const galleryPaths = new Set(P.gallery.map((e) => e.path));
    for (const e of P.probes) expect(galleryPaths.has(e.path)).toBe(false);
    expect(P.pairs.length).toBeGreaterThan(0);
    expect(P.pairs.length).toBeLessThan(6000);
    // every referenced file exists
    const missing = [...P.train, ...P.gallery, ...P.probes, ...P.pairs.flatMap((p) => [p.a, p.b])].filter((e) => !existsSync(join(lfw, e.path)));
    expect(missing).toEqual([]);
  });
  it('LFW: every image of the training people', () => {
    const P = buildLfwProtocol();
    const all = listLfwImages(P.trainPeople);
    console.log('LFW training people: all images', all.length);
    expect(all.length).toBeGreaterThanOrEqual(P.train.length);
    expect(new Set(all.map((e) => e.person)).size).toBe(1500);
    const set = new Set(all.map((e) => e.path));
    for (const e of P.train) expect(set.has(e.path)).toBe(true);
  });
  it('ORL and Yale B', () => {
    const orl = buildOrlProtocol();
    const yale = buildYaleProtocol();
    console.log('ORL gallery/probes', orl.gallery.length, orl.probes.length, '| Yale B gallery/probes', yale.gallery.length, yale.probes.length);
    expect(orl.gallery).toHaveLength(40);
    expect(orl.probes).toHaveLength(360);
    expect(orl.gallery.every((e) => e.path.endsWith('/1.png'))).toBe(true);
    expect(yale.gallery).toHaveLength(38);
    expect(yale.gallery.every((e) => e.path.includes('P00A+000E+00'))).toBe(true);
    expect(yale.probes.some((e) => e.path.includes('P00A+000E+00'))).toBe(false);
    const gp = new Set(yale.gallery.map((e) => e.person));
    expect(yale.probes.every((e) => gp.has(e.person))).toBe(true);
    for (const e of [...orl.gallery, ...orl.probes]) expect(existsSync(join(root, 'orl-faces', e.path))).toBe(true);
    for (const e of [...yale.gallery, ...yale.probes]) expect(existsSync(join(root, 'yaleb-cropped', e.path))).toBe(true);
  });
});
