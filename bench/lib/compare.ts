// The agreement criterion of bench:models (and its peer test): per output tensor, max |ours − peer|
// divided by max |peer|; the worst tensor decides. NaN anywhere fails.
export const TOL = 1e-3;

/** Worst over output tensors of max|a − b| / max|b| (and the absolute diff there). NaN if any NaN. */
export function compare(a: Float32Array[], b: Float32Array[]): { rel: number; abs: number; worst: number } {
  if (a.length !== b.length) throw new Error(`${a.length} outputs vs ${b.length} from the peer`);
  let rel = 0, abs = 0, worst = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!, y = b[k]!;
    if (x.length !== y.length) throw new Error(`output ${k}: ${x.length} elements vs ${y.length} from the peer`);
    let d = 0, m = 0;
    for (let i = 0; i < x.length; i++) {
      const di = Math.abs(x[i]! - y[i]!);
      if (Number.isNaN(di)) return { rel: NaN, abs: NaN, worst: k };
      if (di > d) d = di;
      m = Math.max(m, Math.abs(y[i]!));
    }
    const r = d / Math.max(m, 1e-30);
    if (r > rel) [rel, abs, worst] = [r, d, k];
  }
  return { rel, abs, worst };
}

/**
 * Our training step with Winograd forwards (convVariants.winogradRecorded, the default) against the
 * same step with direct forwards, which is what the peers are checked against: per output tensor
 * ||a − b|| / ||b||, the worst decides. Not max-based: a pre-activation within Winograd's rounding
 * (~6e-6 of scale) of a ReLU's or an L1 loss's kink flips, and shifts the gradient behind it
 * elementwise by up to ~2.5e-2 of its largest value (DSR-cpu at batch 1: 6.1e-3 in L2, 2026-12-06);
 * a wrong transform shows as O(1).
 */
export const WINOGRAD_L2_TOL = 2e-2;

export function compareL2(a: Float32Array[], b: Float32Array[]): { rel: number; worst: number } {
  if (a.length !== b.length) throw new Error(`${a.length} outputs vs ${b.length}`);
  let rel = 0, worst = 0;
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!, y = b[k]!;
    if (x.length !== y.length) throw new Error(`output ${k}: ${x.length} elements vs ${y.length}`);
    let d2 = 0, n2 = 0;
    for (let i = 0; i < x.length; i++) {
      d2 += (x[i]! - y[i]!) ** 2;
      n2 += y[i]! ** 2;
    }
    if (Number.isNaN(d2)) return { rel: NaN, worst: k };
    const r = Math.sqrt(d2) / Math.max(Math.sqrt(n2), 1e-30);
    if (r > rel) [rel, worst] = [r, k];
  }
  return { rel, worst };
}
