// Node file I/O for the trainer (src/train/trainer.ts TrainIO) and the teacher-target cache.
import * as fs from 'node:fs';
import { join, dirname } from 'node:path';
import { writeFileAtomic } from './files.js';
import { writeChartPng } from '../train/plots.js';
import type { TrainIO } from '../train/trainer.js';

const fsp = fs.promises;

export function nodeTrainIO(out: TrainIO['out'] = process.stderr): TrainIO {
  return {
    async read(path) {
      try {
        return new Uint8Array(await fsp.readFile(path));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw new Error(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
      }
    },
    async writeAtomic(path, bytes) {
      await fsp.mkdir(dirname(path), { recursive: true });
      await writeFileAtomic(path, bytes);
    },
    async writeText(path, text) {
      await fsp.mkdir(dirname(path), { recursive: true });
      await fsp.writeFile(path, text);
    },
    async appendText(path, text) {
      await fsp.appendFile(path, text);
    },
    async writeChart(path, spec) {
      await writeChartPng(path, spec);
    },
    join,
    async removeTemps(dir) {
      const names = (await fsp.readdir(dir)).filter((f) => /\.tmp-\d+-[0-9a-f]+$/.test(f));
      for (const f of names) await fsp.rm(join(dir, f), { force: true });
      return names;
    },
    out,
  };
}

/** Float32 arrays by key in a folder (the teacher targets), written atomically. */
export function floatCache(dir: string): { get(key: string): Promise<Float32Array | null>; put(key: string, v: Float32Array): Promise<void> } {
  const file = (k: string) => join(dir, `${k.replace(/[^A-Za-z0-9._-]/g, '_')}.f32`);
  return {
    async get(key) {
      try {
        const b = await fsp.readFile(file(key));
        if (b.byteLength % 4) return null;
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      } catch {
        return null;
      }
    },
    async put(key, v) {
      await fsp.mkdir(dir, { recursive: true });
      await writeFileAtomic(file(key), new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    },
  };
}
