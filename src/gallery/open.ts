// Which gallery a command uses: --gallery postgres://... (PgGallery), a folder (a path with a slash,
// or one that starts with a dot), or a bare name under the data folder
// ($XDG_DATA_HOME or ~/.local/share)/lrfr/galleries/<name>. Default: $LRFR_GALLERY, else "default".
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { GalleryStore } from './store.js';
import { LanceGallery } from './lance.js';
import { PgGallery, isPostgresUrl } from './postgres.js';

export function galleriesRoot(): string {
  const data = process.env.XDG_DATA_HOME && process.env.XDG_DATA_HOME !== '' ? process.env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(data, 'lrfr', 'galleries');
}

/** The folder or URL a --gallery value names. */
export function resolveGallerySpec(spec: string | undefined): string {
  const s = spec ?? process.env.LRFR_GALLERY ?? 'default';
  if (s === '') throw new Error('--gallery must not be empty');
  if (isPostgresUrl(s)) return s;
  if (s.includes('/') || s.startsWith('.')) return resolve(s);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(s)) throw new Error(`--gallery ${s}: a gallery name is letters, digits, . _ - (or give a folder path or a postgres:// URL)`);
  return join(galleriesRoot(), s);
}

/** Opens a gallery; with create false a missing gallery folder is an error instead of a new gallery. */
export async function openGallery(spec: string | undefined, opts: { create?: boolean } = {}): Promise<GalleryStore> {
  const where = resolveGallerySpec(spec);
  if (isPostgresUrl(where)) return PgGallery.open(where);
  if (opts.create === false && !existsSync(where)) throw new Error(`no gallery at ${where} (enroll someone first: lrfr enroll ... --gallery ${spec ?? process.env.LRFR_GALLERY ?? 'default'})`);
  return LanceGallery.open(where);
}
