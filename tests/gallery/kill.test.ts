// kill -9 during `lrfr enroll` of a folder (the real command, bin/lrfr.js, in a child process): the
// test watches the gallery from this process and kills the child once some batches are committed.
// After the kill the gallery is consistent (every stored file has all its templates, the fused rows
// are the means of exactly the stored templates, ids unique); the same command then resumes: the
// stored files are skipped, the rest enrolled, nothing twice. Repeated on a PostgreSQL gallery
// (PGlite over the wire), where the kill lands inside or between transactions.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, mkdirSync, copyFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { enrollCommand } from '../../src/cli/gallery.js';
import { LanceGallery } from '../../src/gallery/lance.js';
import { PgGallery } from '../../src/gallery/postgres.js';
import type { GalleryStore } from '../../src/gallery/store.js';
import { makeFixtures, PEOPLE } from './fixtures.js';
import { checkConsistent } from './consistency.js';
import { startPgliteServer, type TestPgServer } from './pglite-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const tmp = mkdtempSync(join(tmpdir(), 'lrfr-gallery-kill-'));
const FILES = 16;
let server: TestPgServer;

beforeAll(async () => {
  await makeFixtures(join(tmp, 'fx'));
  // 16 files: each person's 112 crops (enroll + probe image) under 2 folder names each
  let n = 0;
  for (const p of PEOPLE) {
    for (const copy of ['a', 'b']) {
      const d = join(tmp, 'set', `${p}_${copy}`);
      mkdirSync(d, { recursive: true });
      copyFileSync(join(tmp, 'fx', 'enroll', p, '1.png'), join(d, '1.png'));
      copyFileSync(join(tmp, 'fx', 'probe', `${p}_2.png`), join(d, '2.png'));
      n += 2;
    }
  }
  expect(n).toBe(FILES);
  server = await startPgliteServer();
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function killDuringEnroll(gallery: string, open: () => Promise<GalleryStore>): Promise<number> {
  const args = ['enroll', join(tmp, 'set'), '--names-from-dirs', '--degraded', '16', '--batch', '2', '--gallery', gallery];
  const child = spawn(process.execPath, [join(ROOT, 'bin/lrfr.js'), ...args], { cwd: ROOT, env: { ...process.env, LRFR_TUNE_CACHE: 'off' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  let done = false;
  void exited.then(() => { done = true; });
  // wait for at least 2 committed batches, then kill -9
  let seen = 0;
  const t0 = Date.now();
  while (!done && Date.now() - t0 < 90_000) {
    await new Promise((r) => setTimeout(r, 40));
    let g: GalleryStore | null = null;
    try {
      g = await open();
      seen = await g.count();
    } catch {
      seen = 0; // not created yet
    } finally {
      await g?.close().catch(() => {});
    }
    if (seen >= 8) break;
  }
  expect(done, `the enroll finished before it could be killed (stderr: ${stderr.slice(-500)})`).toBe(false);
  child.kill('SIGKILL');
  expect(await exited).toBeNull();
  return seen;
}

describe.each([['lancedb'], ['postgres']] as const)('kill -9 during lrfr enroll (%s)', (backend) => {
  it('leaves a consistent gallery; the same command resumes and enrolls nothing twice', async () => {
    const gallery = backend === 'lancedb' ? join(tmp, 'g') : `${server.url}&gallery=killed`;
    const open = () => (backend === 'lancedb' ? LanceGallery.open(gallery) : PgGallery.open(gallery));
    await killDuringEnroll(gallery, open);
    let g = await open();
    let stored: number;
    try {
      const templates = await checkConsistent(g);
      stored = templates.length;
      // whole files only: each stored file has its hr and its degraded template
      const bySource = new Map<string, string[]>();
      for (const t of templates) bySource.set(t.source, [...(bySource.get(t.source) ?? []), t.kind]);
      for (const kinds of bySource.values()) expect(kinds.sort()).toEqual(['degraded', 'hr']);
      expect(stored).toBeGreaterThan(0);
      expect(stored).toBeLessThan(2 * FILES);
    } finally {
      await g.close();
    }
    let err = '', out = '';
    const code = await enrollCommand([join(tmp, 'set'), '--names-from-dirs', '--degraded', '16', '--batch', '4', '--gallery', gallery],
      { out: (s) => { out += s; }, err: (s) => { err += s; } });
    expect(code, err).toBe(0);
    expect(err).toContain(`${stored / 2} of ${FILES} files are in the gallery already`);
    expect(out).toContain(`from ${FILES - stored / 2} files`);
    g = await open();
    try {
      const templates = await checkConsistent(g);
      expect(templates).toHaveLength(2 * FILES);
      expect(new Set(templates.map((t) => `${t.source}|${t.kind}`)).size).toBe(2 * FILES);
    } finally {
      await g.close();
    }
    if (backend === 'lancedb') expect(readdirSync(gallery).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
