// Buffer pool: GPU storage buffers kept in free lists by exact (16-byte rounded) size.
// Counters: bytesAllocated = all buffers the pool created and has not destroyed (free or in use);
// bytesInUse = buffers currently handed out to tensors; peakBytesInUse = the most bytesInUse has been
// since the pool was made or resetPeak() was last called (the memory a step needs, e.g. in bench:models).

export const STORAGE_USAGE = GPUBufferUsage_STORAGE_COPY();

function GPUBufferUsage_STORAGE_COPY(): number {
  // GPUBufferUsage is a global in browsers and after Dawn's globals are installed; fall back to the
  // spec's constant values so this module can load before either.
  const U = (globalThis as { GPUBufferUsage?: { STORAGE: number; COPY_SRC: number; COPY_DST: number } }).GPUBufferUsage;
  return U ? U.STORAGE | U.COPY_SRC | U.COPY_DST : 0x80 | 0x04 | 0x08;
}

export interface PoolStats {
  bytesAllocated: number;
  bytesInUse: number;
  peakBytesInUse: number;
  buffersAllocated: number;
  buffersInUse: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private stats: PoolStats = { bytesAllocated: 0, bytesInUse: 0, peakBytesInUse: 0, buffersAllocated: 0, buffersInUse: 0 };

  constructor(private device: GPUDevice) {}

  static roundSize(bytes: number): number {
    return Math.max(16, Math.ceil(bytes / 16) * 16);
  }

  acquire(bytes: number): GPUBuffer {
    const size = BufferPool.roundSize(bytes);
    const max = this.device.limits.maxBufferSize;
    if (size > max) throw new Error(`buffer pool: ${size} bytes requested, adapter maxBufferSize is ${max}`);
    const list = this.free.get(size);
    let buf = list?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE });
      this.stats.bytesAllocated += size;
      this.stats.buffersAllocated++;
    }
    this.stats.bytesInUse += size;
    if (this.stats.bytesInUse > this.stats.peakBytesInUse) this.stats.peakBytesInUse = this.stats.bytesInUse;
    this.stats.buffersInUse++;
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = buf.size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.stats.bytesInUse -= size;
    this.stats.buffersInUse--;
  }

  /** Destroys every free buffer (in-use buffers are untouched). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.stats.bytesAllocated -= b.size;
        this.stats.buffersAllocated--;
        b.destroy();
      }
    }
    this.free.clear();
  }

  /** Starts a new peak: peakBytesInUse = bytesInUse now. */
  resetPeak(): void {
    this.stats.peakBytesInUse = this.stats.bytesInUse;
  }

  getStats(): PoolStats {
    return { ...this.stats };
  }
}
