// The writer lock of a LanceDB gallery folder: a file `lrfr-gallery.lock` created with O_EXCL
// ('wx'), holding the owner's pid, host and start time. Writers (enroll, import, delete, index,
// optimize) hold it around each read-modify-write commit: a fused row is the mean of the stored
// templates, so two processes enrolling the same person at once must not each compute it from a
// view without the other's templates (LanceDB itself would commit both merges and keep the last
// fused row). Readers (identify, list, export) never take it.
//
// A lock whose owner is gone (same host, pid no longer running, e.g. after kill -9) is broken: it
// is renamed to a private name (only one breaker wins the rename), and if what was renamed turns
// out to be a live owner's lock it is linked back. A lock held longer than the wait
// ($LRFR_GALLERY_LOCK_WAIT_S, default 300 s) is an error naming the owner and the file.
import * as fs from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const LOCK_FILE = 'lrfr-gallery.lock';

interface Owner {
  pid: number;
  host: string;
  since: string;
  token: string;
}

function readOwner(path: string): Owner | null {
  try {
    const o = JSON.parse(fs.readFileSync(path, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string' ? { pid: o.pid, host: o.host, since: String(o.since ?? ''), token: o.token } : null;
  } catch {
    return null; // gone, or being written (a lock is written in one write right after creation)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockWaitMs(): number {
  const v = Number(process.env.LRFR_GALLERY_LOCK_WAIT_S ?? 300);
  return (Number.isFinite(v) && v >= 0 ? v : 300) * 1000;
}

export class GalleryLockTimeout extends Error {}

/** Breaks `path` if its owner is a dead process on this host. True when the lock is gone (or was). */
function breakIfStale(path: string): boolean {
  const o = readOwner(path);
  if (!o) return false;
  if (o.host !== hostname() || alive(o.pid)) return false;
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(path, aside);
  } catch {
    return true; // someone else broke it first
  }
  const moved = readOwner(aside);
  if (moved && moved.token !== o.token) {
    // a live owner took the lock between our read and the rename: give it back (fails only if yet
    // another process has created a lock meanwhile, which then holds it)
    try { fs.linkSync(aside, path); } catch { /* see above */ }
  }
  fs.rmSync(aside, { force: true });
  return true;
}

/**
 * Holds the folder's writer lock while `fn` runs. Waits (polling, with jitter) while another live
 * writer holds it; throws GalleryLockTimeout after `waitMs`.
 */
export async function withFolderLock<T>(dir: string, fn: () => Promise<T>, waitMs = lockWaitMs()): Promise<T> {
  const path = join(dir, LOCK_FILE);
  const me: Owner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const t0 = Date.now();
  let delay = 5;
  for (;;) {
    let fd: number | null = null;
    try {
      fd = fs.openSync(path, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the gallery lock ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (fd !== null) {
      try {
        fs.writeSync(fd, JSON.stringify(me) + '\n');
      } finally {
        fs.closeSync(fd);
      }
      break;
    }
    if (breakIfStale(path)) continue;
    if (Date.now() - t0 > waitMs) {
      const o = readOwner(path);
      throw new GalleryLockTimeout(`gallery ${dir} is being written by another process (${o ? `pid ${o.pid} on ${o.host} since ${o.since}` : 'owner unknown'}; lock file ${path}); ` +
        `waited ${((Date.now() - t0) / 1000).toFixed(0)} s ($LRFR_GALLERY_LOCK_WAIT_S). If no lrfr command is writing to this gallery, delete the lock file.`);
    }
    await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
    delay = Math.min(200, delay * 2);
  }
  try {
    return await fn();
  } finally {
    // remove only our own lock
    const o = readOwner(path);
    if (o && o.token === me.token) fs.rmSync(path, { force: true });
  }
}
