// Concurrent writers on one LanceDB gallery folder: every row stored once, and every fused row the
// mean of exactly the person's stored templates (a fused row is read-modify-write: without the
// writer lock, two enrollments of the same person each compute it from a view without the other's
// templates and the last commit wins with a stale mean).
// 1. Two stores in one process, many small interleaved commits of the same people (no GPU).
// 2. Two `lrfr enroll` processes (bin/lrfr.js) started together on the same folder, the same people
//    from different files, one commit per file: both succeed, nothing lost or twice.
// 3. A lock left by a killed process (dead pid) is broken; one held by a live process makes the
//    writer wait, then fail with a message naming the owner and the lock file.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, mkdirSync, copyFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir, hostname } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LanceGallery } from '../../src/gallery/lance.js';
import { LOCK_FILE } from '../../src/gallery/lock.js';
import { commitTemplates, l2normalize, templateId, type GalleryModel, type TemplateRow } from '../../src/gallery/store.js';
import { mulberry32 } from '../../src/node/fuzz-loaders.js';
import { makeFixtures, PEOPLE } from './fixtures.js';
import { checkConsistent } from './consistency.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = mkdtempSync(join(tmpdir(), 'lrfr-gallery-concurrent-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const MODEL: GalleryModel = { model: 'synthetic', modelHash: 'concurrent00000', dim: 16 };

function rowsFor(writer: string, batch: number, people: readonly string[], seed: number): TemplateRow[] {
  const r = mulberry32(seed);
  const now = new Date().toISOString();
  return people.map((person) => ({
    id: templateId(person, `${writer}-${batch}`, 'hr', 0), person, source: `${writer}/${batch}/${person}`, model: MODEL.model, modelHash: MODEL.modelHash,
    kind: 'hr' as const, embedding: l2normalize(Array.from({ length: MODEL.dim }, () => r() - 0.5)), enrolledAt: now,
  }));
}

describe('concurrent writers on one LanceDB gallery', () => {
  it('two stores in one process: 2 x 12 interleaved commits of the same 3 people, every row once, fused rows exact', async () => {
    const dir = join(tmp, 'two-stores');
    const [a, b] = await Promise.all([LanceGallery.open(dir), LanceGallery.open(dir)]);
    try {
      await Promise.all([a.bind(MODEL), b.bind(MODEL)]);
      const people = ['Ann', 'Bob', 'Cid'];
      const write = async (g: LanceGallery, w: string) => {
        for (let i = 0; i < 12; i++) await commitTemplates(g, MODEL, rowsFor(w, i, people, w.charCodeAt(0) * 100 + i));
      };
      await Promise.all([write(a, 'a'), write(b, 'b')]);
      const c = await LanceGallery.open(dir);
      try {
        const templates = await checkConsistent(c);
        expect(templates).toHaveLength(2 * 12 * people.length);
        expect(await c.count({ includeFused: true })).toBe(2 * 12 * people.length + people.length);
      } finally {
        await c.close();
      }
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a lock of a dead process is broken; a live owner\'s lock makes writers wait, then fail naming it', async () => {
    const dir = join(tmp, 'stale');
    const g = await LanceGallery.open(dir);
    try {
      // a pid that has exited: a finished child's
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00Z', token: 'dead' }));
      await g.bind(MODEL);
      await commitTemplates(g, MODEL, rowsFor('s', 0, ['Ann'], 1));
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
      expect(readdirSync(dir).filter((f) => f.startsWith(LOCK_FILE))).toEqual([]);
      // a live owner (this process, another token): waits, then the error names pid and file
      writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00Z', token: 'live' }));
      process.env.LRFR_GALLERY_LOCK_WAIT_S = '0.5';
      const t0 = Date.now();
      await expect(commitTemplates(g, MODEL, rowsFor('s', 1, ['Ann'], 2))).rejects.toThrow(new RegExp(`being written by another process \\(pid ${process.pid} on .*${LOCK_FILE}`));
      expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
      expect(existsSync(join(dir, LOCK_FILE))).toBe(true); // not ours: left alone
      rmSync(join(dir, LOCK_FILE));
      await commitTemplates(g, MODEL, rowsFor('s', 1, ['Ann'], 2));
      expect(await checkConsistent(g)).toHaveLength(2);
    } finally {
      delete process.env.LRFR_GALLERY_LOCK_WAIT_S;
      await g.close();
    }
  });

  it('two lrfr enroll processes at once into one folder: both succeed, every template once, fused rows exact', async () => {
    await makeFixtures(join(tmp, 'fx'), PEOPLE);
    // process 1 enrolls each person's first crop, process 2 the second: the same people, other files
    for (const [set, src] of [['set1', (p: string) => join(tmp, 'fx', 'enroll', p, '1.png')], ['set2', (p: string) => join(tmp, 'fx', 'probe', `${p}_2.png`)]] as const) {
      for (const p of PEOPLE) {
        mkdirSync(join(tmp, set, p), { recursive: true });
        copyFileSync(src(p), join(tmp, set, p, `${set}.png`));
      }
    }
    const gallery = join(tmp, 'g');
    const run = (set: string) => new Promise<{ code: number | null; out: string; err: string }>((res) => {
      const child = spawn(process.execPath, [join(ROOT, 'bin/lrfr.js'), 'enroll', join(tmp, set), '--names-from-dirs', '--degraded', '16', '--batch', '1', '--gallery', gallery],
        { cwd: ROOT, env: { ...process.env, LRFR_TUNE_CACHE: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '';
      child.stdout.on('data', (d) => { out += d; });
      child.stderr.on('data', (d) => { err += d; });
      child.on('exit', (code) => res({ code, out, err }));
    });
    const [r1, r2] = await Promise.all([run('set1'), run('set2')]);
    expect(r1.code, r1.err.slice(-1000)).toBe(0);
    expect(r2.code, r2.err.slice(-1000)).toBe(0);
    for (const r of [r1, r2]) expect(r.out).toContain(`enrolled ${2 * PEOPLE.length} templates of ${PEOPLE.length} people from ${PEOPLE.length} files`);
    const g = await LanceGallery.open(gallery);
    try {
      const templates = await checkConsistent(g);
      expect(templates).toHaveLength(2 * 2 * PEOPLE.length); // hr + degraded, 2 files per person
      expect(new Set(templates.map((t) => `${t.source}|${t.kind}`)).size).toBe(templates.length);
      for (const p of PEOPLE) expect(templates.filter((t) => t.person === p)).toHaveLength(4);
    } finally {
      await g.close();
    }
    expect(readdirSync(gallery).filter((f) => f.startsWith(LOCK_FILE) || f.includes('.tmp-'))).toEqual([]);
  }, 600_000);
});
