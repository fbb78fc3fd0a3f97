// Where a benchmark writes its results without replacing any: bench/results/<key>-<day>.{json,md}
// holds the first run of a day; a later run the same day (on another host, say, whose committed
// figures the README cites) gets <key>-<day>-<HHMM> (UTC start time), then -2, -3, ... if taken.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A file stem (path without extension) none of whose `exts` files exists yet. */
export function freeStem(stem: string, isoDate: string, exts: readonly string[] = ['.json', '.md']): string {
  const free = (s: string) => exts.every((e) => !existsSync(`${s}${e}`));
  if (free(stem)) return stem;
  const hhmm = /T(\d\d):(\d\d)/.exec(isoDate);
  const timed = hhmm ? `${stem}-${hhmm[1]}${hhmm[2]}` : `${stem}-run`;
  if (free(timed)) return timed;
  for (let i = 2; ; i++) if (free(`${timed}-${i}`)) return `${timed}-${i}`;
}

/** Results file names in run order: a day's untimed stem before its timed ones (compare without the extension). */
export function byRunOrder(names: readonly string[]): string[] {
  const stem = (n: string) => n.replace(/\.[^.]+$/, '');
  return [...names].sort((a, b) => (stem(a) < stem(b) ? -1 : stem(a) > stem(b) ? 1 : 0));
}

/** Writes a run's JSON and markdown as <dir>/<name>-<day> (or the free name beside it: freeStem) and returns both paths. */
export function writeResultFiles(dir: string, name: string, isoDate: string, json: string, md: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const base = freeStem(join(dir, `${name}-${isoDate.slice(0, 10)}`), isoDate);
  const paths = { json: `${base}.json`, md: `${base}.md` };
  writeFileSync(paths.json, json);
  writeFileSync(paths.md, md);
  return paths;
}
