// The GPU device lost in the middle of `lrfr enroll` of a folder (device.destroy() after the first
// committed batch): one clear error, what was committed stays (and is consistent), and the next
// command (a fresh process, as a user would run it) resumes and finishes. Its own test file: the
// destroyed device is this process's only one.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getDevice } from '../../src/runtime/device.js';
import { enrollCommand, enrollHooks } from '../../src/cli/gallery.js';
import { LanceGallery } from '../../src/gallery/lance.js';
import { makeFixtures, PEOPLE } from './fixtures.js';
import { checkConsistent } from './consistency.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = mkdtempSync(join(tmpdir(), 'lrfr-gallery-lost-'));
beforeAll(async () => {
  await makeFixtures(tmp, PEOPLE.slice(0, 3));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('device lost during lrfr enroll', () => {
  it('gives one clear error, keeps the committed batch, and the next command resumes', async () => {
    const gallery = join(tmp, 'g');
    const args = [join(tmp, 'enroll'), '--names-from-dirs', '--batch', '1', '--gallery', gallery];
    enrollHooks.afterCommit = (done) => {
      if (done === 1) getDevice().destroy();
    };
    let err = '';
    const code = await enrollCommand(args, { out: () => {}, err: (s) => { err += s; } });
    enrollHooks.afterCommit = undefined;
    expect(code).toBe(1);
    const lines = err.trim().split('\n').filter((l) => l.startsWith('lrfr enroll:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lrfr enroll: the GPU device was lost \(destroyed.*\).*Every batch committed before it is kept; run the same command again to resume\.$/);

    const g = await LanceGallery.open(gallery);
    try {
      expect(await g.count()).toBe(1);
      await checkConsistent(g);
    } finally {
      await g.close();
    }
    // the next command, in a fresh process
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/lrfr.js'), 'enroll', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, LRFR_TUNE_CACHE: 'off' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 of 3 files are in the gallery already/);
    expect(r.stdout).toMatch(/enrolled 2 templates of 2 people from 2 files/);
    const g2 = await LanceGallery.open(gallery);
    try {
      expect(await g2.count()).toBe(3);
      await checkConsistent(g2);
    } finally {
      await g2.close();
    }
  });
});
