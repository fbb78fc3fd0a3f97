// The face gallery of the app, kept in the page's IndexedDB (database "lrfr-app", store "faces"):
// one record per enrolled face: the person's name, the L2-normalised embedding of the aligned HR
// crop (or of the bicubic image for a tiny crop), which recognizer made it, and a small thumbnail.
// Entries made by another recognizer are kept but not searched (their embeddings are not comparable).

export interface GalleryRecord {
  id: number;
  name: string;
  embedding: Float32Array;
  /** Recognizer id (weights file name + hash of its bytes). */
  recognizer: string;
  /** PNG data URL of the crop (small). */
  thumb: string;
  added: string;
}

const DB = 'lrfr-app';
const STORE = 'faces';

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

export class Gallery {
  private constructor(private readonly db: IDBDatabase) {}

  static async open(): Promise<Gallery> {
    if (typeof indexedDB === 'undefined') throw new Error('this browser has no IndexedDB: the gallery cannot be kept');
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: 'id', autoIncrement: true });
    };
    return new Gallery(await req(r));
  }

  private store(mode: IDBTransactionMode): IDBObjectStore {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  async add(rec: Omit<GalleryRecord, 'id'>): Promise<number> {
    const name = rec.name.trim();
    if (!name) throw new Error('enroll: give the person a name');
    return Number(await req(this.store('readwrite').add({ ...rec, name })));
  }

  async list(): Promise<GalleryRecord[]> {
    const all = (await req(this.store('readonly').getAll())) as GalleryRecord[];
    return all.map((r) => ({ ...r, embedding: r.embedding instanceof Float32Array ? r.embedding : new Float32Array(r.embedding) }));
  }

  async remove(id: number): Promise<void> {
    await req(this.store('readwrite').delete(id));
  }

  async clear(): Promise<void> {
    await req(this.store('readwrite').clear());
  }
}
