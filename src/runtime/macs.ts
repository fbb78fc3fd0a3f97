// Multiply-accumulate counting: while a count is open, every conv2d, convTranspose2d, matmul and
// linear call adds the MACs of its forward product (k² · Cin/groups per output element; M·K·N per
// matrix product). Elementwise work, norms, pooling, resizes and the backward are not counted. The
// model cost tables (scripts/probe-costs.mts) run one forward inside countMacs; the analytic
// counters of DSR, WDSR and EdgeFace-XXS (dsrFlops, wdsrFlops, EdgeFaceXXS.flops) are checked
// against it in tests/runtime/macs.test.ts.

export interface MacCount {
  /** All counted MACs. */
  macs: number;
  /** MACs per op name (conv2d, convTranspose2d, matmul, linear). */
  byOp: Record<string, number>;
}

let open: MacCount | null = null;

/** Called by the ops: adds n MACs under op while a count is open. */
export function addMacs(op: string, n: number): void {
  if (!open) return;
  open.macs += n;
  open.byOp[op] = (open.byOp[op] ?? 0) + n;
}

/**
 * Runs fn (sync or async) with a MAC count open and returns its result with the count. Counts do
 * not nest: a count opened inside another is an error (the outer one would lose the inner MACs).
 */
export async function countMacs<T>(fn: () => T | Promise<T>): Promise<{ value: T } & MacCount> {
  if (open) throw new Error('countMacs: a MAC count is already open (counts do not nest)');
  const c: MacCount = { macs: 0, byOp: {} };
  open = c;
  try {
    const value = await fn();
    return { value, ...c };
  } finally {
    open = null;
  }
}
