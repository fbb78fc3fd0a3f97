// Node-only file helpers for weights: atomic safetensors save/load and tfjs weight directories.
import * as fs from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Module } from '../nn/module.js';
import { saveModuleBytes, loadModuleBytes, type ModuleMetadata, type LoadOptions, type LoadResult, type NamedArray } from '../nn/safetensors.js';
import { decodeTfjsWeights, parseTfjsManifest } from '../nn/tfjs-weights.js';

// fs.promises is looked up at call time (not destructured) so tests can simulate disk failures.
const fsp = fs.promises;

/** Writes bytes to `path` atomically: temp file in the same directory, fsync, rename over `path`. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fh: fs.promises.FileHandle | null = null;
  try {
    fh = await fsp.open(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, off, bytes.length - off, off);
      if (bytesWritten <= 0) throw new Error(`short write (${off} of ${bytes.length} bytes)`);
      off += bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await fsp.rename(tmp, path);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw new Error(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
  // Make the rename itself durable (best effort: not every platform can fsync a directory).
  try {
    const d = await fsp.open(dirname(resolve(path)), 'r');
    await d.sync().catch(() => {});
    await d.close();
  } catch {
    /* ignore */
  }
}

/**
 * Saves every parameter and buffer of `module` as a safetensors file. Atomic: an existing file at
 * `path` is either replaced whole or left as it was; no temporary file is left behind on failure.
 */
export async function saveSafetensorsFile(path: string, module: Module, metadata: ModuleMetadata): Promise<void> {
  const bytes = await saveModuleBytes(module, metadata);
  await writeFileAtomic(path, bytes);
}

/** Loads a safetensors file into `module` (see loadModuleBytes); errors name the file. */
export async function loadSafetensorsFile(path: string, module: Module, opts: LoadOptions = {}): Promise<LoadResult> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fsp.readFile(path));
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    return loadModuleBytes(module, bytes, opts);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Reads a tfjs weights manifest (`*-weights_manifest.json`, or a model.json with weightsManifest)
 * from `dir` and all the shards it names, and decodes them (see decodeTfjsWeights).
 */
export async function loadTfjsWeightsFromDir(dir: string, manifestName: string): Promise<Map<string, NamedArray>> {
  const mpath = join(dir, manifestName);
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fsp.readFile(mpath, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read tfjs manifest ${mpath}: ${(e as Error).message}`, { cause: e });
  }
  let groups;
  try {
    groups = parseTfjsManifest(manifest);
  } catch (e) {
    throw new Error(`${mpath}: ${(e as Error).message}`, { cause: e });
  }
  const shards: Uint8Array[] = [];
  for (const g of groups) {
    for (const p of g.paths) {
      const sp = join(dir, p);
      try {
        shards.push(new Uint8Array(await fsp.readFile(sp)));
      } catch (e) {
        throw new Error(`cannot read shard ${sp} (named by ${mpath}): ${(e as Error).message}`, { cause: e });
      }
    }
  }
  try {
    return decodeTfjsWeights(manifest, shards);
  } catch (e) {
    throw new Error(`${mpath}: ${(e as Error).message}`, { cause: e });
  }
}
