// Node side of the autotuner: a JSON file cache outside the repository
// (${LRFR_TUNE_CACHE} or ${XDG_CACHE_HOME:-~/.cache}/lrfr/autotune.json) and the LRFR_VARIANT override.
// initNodeGPU() installs it, so every Node process applies the cached winners of its adapter.
// LRFR_TUNE_CACHE=off: an in-memory store (nothing read or written; the tests run that way).
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { parseVariantSpec, setTuneStore, setShippedDefaults, MemoryTuneStore, JsonTuneStore } from '../runtime/autotune.js';

export function defaultTuneCachePath(): string {
  if (process.env.LRFR_TUNE_CACHE) return process.env.LRFR_TUNE_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'lrfr', 'autotune.json');
}

/** A TuneStore backed by one JSON file; every set() rewrites the file (temp + rename). */
export class FileTuneStore extends JsonTuneStore {
  constructor(readonly path: string = defaultTuneCachePath()) {
    super();
    let text: string | null = null;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch {
      // missing or unreadable: start empty
    }
    this.load(text);
  }

  protected persist(json: string): void {
    fs.mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, json);
    fs.renameSync(tmp, this.path);
  }
}

/** Installs the file store (memory when LRFR_TUNE_CACHE=off) and the LRFR_VARIANT overrides ("matmul=tiled,depthwise=generic"). */
// LRFR_TUNE_CACHE=off also turns the shipped defaults (src/runtime/tuned-defaults.ts) off: the
// default variants everywhere (the tests run that way). LRFR_TUNED_DEFAULTS=off turns off only those.
export function useNodeTuneCache(path?: string): FileTuneStore | (MemoryTuneStore & { path: string }) {
  const off = (path ?? defaultTuneCachePath()) === 'off';
  setShippedDefaults(off || process.env.LRFR_TUNED_DEFAULTS === 'off' ? {} : null);
  const s = (path ?? defaultTuneCachePath()) === 'off' ? Object.assign(new MemoryTuneStore(), { path: 'off (in memory)' }) : new FileTuneStore(path);
  setTuneStore(s);
  if (process.env.LRFR_VARIANT) parseVariantSpec(process.env.LRFR_VARIANT);
  return s;
}
