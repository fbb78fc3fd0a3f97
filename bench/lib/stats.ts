// Small statistics the benchmarks share (no imports: the browser page bundles its users too).

/** The median of some figures (the mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** "median (min–max)" of some figures: the median to `digits` decimals followed by `unit`, the range to `rangeDigits`. */
export function medianRange(xs: readonly number[], digits: number, rangeDigits = digits, unit = ''): string {
  return `${median(xs).toFixed(digits)}${unit} (${Math.min(...xs).toFixed(rangeDigits)}–${Math.max(...xs).toFixed(rangeDigits)})`;
}
