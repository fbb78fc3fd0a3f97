// Face fixtures for the gallery tests, made at test time from LFW (../shared/data or $LRFR_DATA) in a
// temporary folder, never committed: the project's aligned 112 crop (the 143 window at (53, 41)), a
// 16 px LR crop of it, and the 250x250 photo itself (for the detector). Fails, never skips, without
// the data (requireLfw names what to put where).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { requireLfw, lfwImagePath } from '../../src/node/data-lfw-mini.js';

/** LFW people outside BLUFR train1 with >= 3 images (the first ones the browser app test uses too). */
export const PEOPLE = ['Aaron_Peirsol', 'Abdullah', 'Abdullah_Gul', 'Abel_Pacheco'] as const;

export async function crop112(person: string, index: number): Promise<Buffer> {
  return sharp(lfwImagePath(person, index)).extract({ left: 53, top: 41, width: 143, height: 143 }).resize(112, 112, { kernel: 'cubic' }).removeAlpha().png().toBuffer();
}

export async function cropLr(person: string, index: number, size = 16): Promise<Buffer> {
  return sharp(lfwImagePath(person, index)).extract({ left: 53, top: 41, width: 143, height: 143 }).resize(size, size, { kernel: 'cubic' }).removeAlpha().png().toBuffer();
}

export async function photo(person: string, index: number): Promise<Buffer> {
  return sharp(lfwImagePath(person, index)).removeAlpha().png().toBuffer();
}

/**
 * dir/enroll/<Person>/1.png (first image, 112 crop) for each person; dir/probe/<Person>_2.png (second
 * image, 112 crop), dir/probe-lr/<Person>_2.png (16 px), dir/photo/<Person>_3.png (250x250 photo).
 */
export async function makeFixtures(dir: string, people: readonly string[] = PEOPLE): Promise<void> {
  requireLfw();
  for (const p of people) {
    for (const i of [1, 2, 3]) if (!existsSync(lfwImagePath(p, i))) throw new Error(`fixture: ${lfwImagePath(p, i)} is missing`);
    mkdirSync(join(dir, 'enroll', p), { recursive: true });
    writeFileSync(join(dir, 'enroll', p, '1.png'), await crop112(p, 1));
    mkdirSync(join(dir, 'probe'), { recursive: true });
    writeFileSync(join(dir, 'probe', `${p}_2.png`), await crop112(p, 2));
    mkdirSync(join(dir, 'probe-lr'), { recursive: true });
    writeFileSync(join(dir, 'probe-lr', `${p}_2.png`), await cropLr(p, 2));
    mkdirSync(join(dir, 'photo'), { recursive: true });
    writeFileSync(join(dir, 'photo', `${p}_3.png`), await photo(p, 3));
  }
}
