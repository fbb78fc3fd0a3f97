// On-disk cache of face embeddings, so that `lrfr eval` never recomputes an embedding it has seen.
//
// Layout: <dir>/<recognizer hash>/<group>.emb, where the recognizer hash is a hash of the model's
// weight bytes (sha256, first 16 hex digits; hashBytes / hashFiles) and the group names everything
// else the embedding depends on: the input pipeline version and, for low-resolution probes, the size,
// the degradation model and the super-resolver's hash (eval.ts builds the names). Inside a group an
// embedding is keyed by the image ("lfw/Name/Name_0001.jpg").
//
// File format (little endian), append-only so an interrupted run keeps what it computed:
//   header: "LRFREMB1" (8 bytes), u32 dim
//   records: u16 key length, key (UTF-8), dim x f32
// A truncated last record (a run killed mid-write) is ignored and cut off on the next append. A file
// whose header does not match (other dim, not ours) is an error naming the file.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';

const MAGIC = 'LRFREMB1';

/** sha256 of some byte arrays (in order), first 16 hex digits. */
export function hashBytes(...parts: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
}

/** sha256 of the bytes of some files (in order), first 16 hex digits. */
export function hashFiles(paths: readonly string[]): string {
  return hashBytes(...paths.map((p) => new Uint8Array(fs.readFileSync(p))));
}

/** sha256 of a string, first `n` hex digits. */
export function hashString(s: string, n = 16): string {
  return createHash('sha256').update(s).digest('hex').slice(0, n);
}

export class CacheGroup {
  private readonly map = new Map<string, Float32Array>();
  /** Byte length of the valid prefix of the file (0: no file yet). */
  private validBytes = 0;

  constructor(readonly file: string, readonly dim: number) {
    if (!fs.existsSync(file)) return;
    const buf = fs.readFileSync(file);
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new Error(`embedding cache ${file}: not an lrfr embedding file (delete it)`);
    const d = buf.readUInt32LE(8);
    if (d !== dim) throw new Error(`embedding cache ${file}: holds ${d}-D embeddings, expected ${dim}-D (delete it)`);
    let off = 12;
    while (off + 2 <= buf.length) {
      const kl = buf.readUInt16LE(off);
      const end = off + 2 + kl + 4 * dim;
      if (end > buf.length) break; // truncated tail
      const key = buf.toString('utf8', off + 2, off + 2 + kl);
      const v = new Float32Array(dim);
      for (let i = 0; i < dim; i++) v[i] = buf.readFloatLE(off + 2 + kl + 4 * i);
      this.map.set(key, v);
      off = end;
    }
    this.validBytes = off;
  }

  get size(): number {
    return this.map.size;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string): Float32Array | undefined {
    return this.map.get(key);
  }

  /** Adds embeddings (rows of `data`, one per key) and appends them to the file. */
  put(keys: readonly string[], data: Float32Array): void {
    const dim = this.dim;
    if (data.length !== keys.length * dim) throw new Error(`embedding cache: ${data.length} values for ${keys.length} keys of dim ${dim}`);
    const chunks: Buffer[] = [];
    if (this.validBytes === 0) {
      const h = Buffer.alloc(12);
      h.write(MAGIC, 0, 'latin1');
      h.writeUInt32LE(dim, 8);
      chunks.push(h);
    }
    keys.forEach((key, k) => {
      const kb = Buffer.from(key, 'utf8');
      if (kb.length > 0xffff) throw new Error(`embedding cache: key too long (${kb.length} bytes)`);
      const rec = Buffer.alloc(2 + kb.length + 4 * dim);
      rec.writeUInt16LE(kb.length, 0);
      kb.copy(rec, 2);
      const v = data.slice(k * dim, (k + 1) * dim);
      for (let i = 0; i < dim; i++) rec.writeFloatLE(v[i]!, 2 + kb.length + 4 * i);
      chunks.push(rec);
      this.map.set(key, v);
    });
    const bytes = Buffer.concat(chunks);
    if (this.validBytes === 0) {
      fs.writeFileSync(this.file, bytes);
    } else {
      // drop a truncated tail left by an interrupted run, then append
      if (fs.statSync(this.file).size !== this.validBytes) fs.truncateSync(this.file, this.validBytes);
      fs.appendFileSync(this.file, bytes);
    }
    this.validBytes += bytes.length;
  }
}

/** The cache of one recognizer (its weights hash) under `dir`. */
export class EmbeddingCache {
  private readonly groups = new Map<string, CacheGroup>();
  readonly root: string;

  constructor(dir: string, readonly recognizerHash: string, readonly dim: number) {
    this.root = join(dir, recognizerHash);
    fs.mkdirSync(this.root, { recursive: true });
  }

  group(name: string): CacheGroup {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`embedding cache: bad group name "${name}"`);
    let g = this.groups.get(name);
    if (!g) {
      g = new CacheGroup(join(this.root, `${name}.emb`), this.dim);
      this.groups.set(name, g);
    }
    return g;
  }
}
