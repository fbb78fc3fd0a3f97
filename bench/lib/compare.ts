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
