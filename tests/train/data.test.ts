import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import {
  resolveDataRoot, checkDataRoot, loadFace, loadFaces, batchItem, frameLfw, fitOrl, fitYale, padReplicate, type Skipped,
} from '../../src/train/data.js';
import { decodeImage, encodePng, writePng, readImage, tileImages, hwcToChw, chwToHwc8, type ChwImage } from '../../src/train/image.js';
import { resizeBicubicCpu, cropChw } from '../../src/train/degrade.js';

const rampImage = (c: number, h: number, w: number): ChwImage =>
  ({ data: Float32Array.from({ length: c * h * w }, (_, i) => ((i * 37) % 256) / 255), c, h, w });

describe('data root', () => {
  it('option > LRFR_DATA > <repo>/../shared/data', () => {
    const old = process.env.LRFR_DATA;
    try {
      delete process.env.LRFR_DATA;
      expect(resolveDataRoot()).toBe(resolve(process.cwd(), '..', 'shared', 'data'));
      process.env.LRFR_DATA = '/tmp/somewhere';
      expect(resolveDataRoot()).toBe('/tmp/somewhere');
      expect(resolveDataRoot('/x/y')).toBe('/x/y');
    } finally {
      if (old === undefined) delete process.env.LRFR_DATA; else process.env.LRFR_DATA = old;
    }
  });
  it('a missing root or sub-folder gives one message listing the expected layout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrfr-data-'));
    try {
      let msg = '';
      try { checkDataRoot(join(dir, 'nope')); } catch (e) { msg = (e as Error).message; }
      expect(msg).toMatch(/does not exist/);
      for (const f of ['lfw-deepfunneled', 'lfw-protocol/pairs.txt', 'BLUFR/split1', 'orl-faces', 'yaleb-cropped', 'LRFR_DATA']) expect(msg).toContain(f);
      expect(() => checkDataRoot(dir, ['orl'])).toThrow(/Missing: orl-faces\./);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe('image helpers', () => {
  it('PNG round trip (8-bit), grey -> RGB, HWC <-> CHW', async () => {
    const img = rampImage(3, 5, 7);
    const back = await decodeImage(await encodePng(img));
    expect([back.c, back.h, back.w]).toEqual([3, 5, 7]);
    for (let i = 0; i < img.data.length; i++) expect(back.data[i]).toBeCloseTo(img.data[i]!, 6);
    const grey = await decodeImage(await encodePng(rampImage(1, 4, 3)));
    expect(grey.c).toBe(3);
    expect(grey.data.subarray(0, 12)).toEqual(grey.data.subarray(12, 24));
    expect(grey.data.subarray(0, 12)).toEqual(grey.data.subarray(24, 36));
    expect(hwcToChw(chwToHwc8(img), 5, 7, 3).data).toEqual(back.data);
    const dir = mkdtempSync(join(tmpdir(), 'lrfr-img-'));
    try {
      await writePng(join(dir, 'a.png'), img);
      expect((await readImage(join(dir, 'a.png'))).data).toEqual(back.data);
    } finally { rmSync(dir, { recursive: true }); }
    const t = tileImages([img, img, img], 2, 1, 0);
    expect([t.c, t.h, t.w]).toEqual([3, 2 * 5 + 3, 2 * 7 + 3]);
    expect(t.data[1 * t.w + 1]).toBe(img.data[0]);
  });
});

describe('framings', () => {
  it('LFW arcface = 143x143 at (53, 41) -> 112 bicubic AA; dlib = 108x108 at (70, 76) -> 150', () => {
    const img = rampImage(3, 250, 250);
    const a = frameLfw(img, 'arcface');
    const ref = resizeBicubicCpu(cropChw(img, 53, 41, 143, 143), 112, 112, { antialias: true });
    expect([a.c, a.h, a.w]).toEqual([3, 112, 112]);
    for (let i = 0; i < a.data.length; i += 97) expect(a.data[i]).toBeCloseTo(Math.min(1, Math.max(0, ref.data[i]!)), 6);
    const d = frameLfw(img, 'dlib');
    expect([d.c, d.h, d.w]).toEqual([3, 150, 150]);
    expect(frameLfw(img, 'full')).toBe(img);
    expect(() => frameLfw(rampImage(3, 100, 100))).toThrow(/250x250/);
  });
  it('ORL pad keeps pixels, replicates borders; Yale crop is the centred square', () => {
    const orl = rampImage(3, 112, 92);
    const p = fitOrl(orl);
    expect([p.h, p.w]).toEqual([112, 112]);
    for (let y = 0; y < 112; y += 13) {
      expect(p.data[y * 112 + 0]).toBe(orl.data[y * 92]);
      expect(p.data[y * 112 + 10 + 40]).toBe(orl.data[y * 92 + 40]);
      expect(p.data[y * 112 + 111]).toBe(orl.data[y * 92 + 91]);
    }
    expect([fitOrl(orl, 'crop').h, fitOrl(orl, 'stretch').w]).toEqual([112, 112]);
    const yale = rampImage(3, 192, 168);
    const y = fitYale(yale);
    expect([y.h, y.w]).toEqual([112, 112]);
    const ref = resizeBicubicCpu(cropChw(yale, 0, 12, 168, 168), 112, 112, { antialias: true });
    expect(y.data[5000]).toBeCloseTo(Math.min(1, Math.max(0, ref.data[5000]!)), 6);
    expect(fitYale(yale, 'pad').w).toBe(112);
    expect(padReplicate(rampImage(1, 2, 2), 1, 0, 0, 1).data).toEqual(Float32Array.from([0, 0, 37, 74, 74, 111, 74, 74, 111].map((v) => v / 255)));
  });
});


describe('loaders on the real data', () => {
  it('the real data root is complete', () => {
    expect(checkDataRoot(undefined, ['lfw', 'pairs', 'blufr', 'orl', 'yaleb'])).toBe(resolveDataRoot());
  });
  it('LFW, ORL and Yale B faces as [0, 1] RGB CHW', async () => {
    const a = await loadFace('Aaron_Eckhart/Aaron_Eckhart_0001.jpg', { dataset: 'lfw' });
    expect([a.c, a.h, a.w]).toEqual([3, 112, 112]);
    const d = await loadFace('Aaron_Eckhart/Aaron_Eckhart_0001.jpg', { dataset: 'lfw', framing: 'dlib' });
    expect([d.c, d.h, d.w]).toEqual([3, 150, 150]);
    const o = await loadFace('s1/1.png', { dataset: 'orl' });
    expect([o.c, o.h, o.w]).toEqual([3, 112, 112]);
    expect(o.data.subarray(0, 112 * 112)).toEqual(o.data.subarray(112 * 112, 2 * 112 * 112)); // grey copied to RGB
    const y = await loadFace('yaleB01/yaleB01_P00A+000E+00.png', { dataset: 'yaleb' });
    expect([y.c, y.h, y.w]).toEqual([3, 112, 112]);
    for (const m of [a, d, o, y]) {
      expect(Math.min(...m.data)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...m.data)).toBeLessThanOrEqual(1);
      const mean = m.data.reduce((s, v) => s + v, 0) / m.data.length;
      expect(mean).toBeGreaterThan(0.1);
      expect(mean).toBeLessThan(0.9);
    }
  });
  it('a batch [N, 3, H, W]; an undecodable file is reported and skipped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrfr-bad-'));
    try {
      const root = resolveDataRoot();
      const good = join(root, 'lfw-deepfunneled', 'Aaron_Eckhart', 'Aaron_Eckhart_0001.jpg');
      const bad = join(dir, 'corrupt.jpg');
      writeFileSync(bad, Buffer.from('this is not a JPEG at all'));
      const trunc = join(dir, 'truncated.png');
      const png = await sharp({ create: { width: 250, height: 250, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toBuffer();
      writeFileSync(trunc, png.subarray(0, 20));
      const reports: Skipped[] = [];
      const b = await loadFaces([good, bad, good, trunc, join(dir, 'missing.jpg')], { dataset: 'raw' }, { onSkip: (s) => reports.push(s) });
      expect(b.shape).toEqual([2, 3, 250, 250]);
      expect(b.index).toEqual([0, 2]);
      expect(b.skipped.map((s) => s.path)).toEqual([bad, trunc, join(dir, 'missing.jpg')]);
      expect(reports).toHaveLength(3);
      expect(batchItem(b, 1).data).toEqual(batchItem(b, 0).data);
      const lfw = await loadFaces(['Aaron_Eckhart/Aaron_Eckhart_0001.jpg', 'Zico/Zico_0001.jpg'], { dataset: 'lfw' });
      expect(lfw.shape).toEqual([2, 3, 112, 112]);
      expect(lfw.skipped).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
