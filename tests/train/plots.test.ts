// Tick labels of the eval charts: every tick shows its own value (the CMC axis once labelled
// 1, 2, 5, 10 as 1, 1, 1e1, 1e1).
import { describe, expect, it } from 'vitest';
import { fmtTick, lineChart } from '../../src/train/plots.js';

/** The x-axis tick labels of an SVG chart (the only size-12 text anchored in the middle). */
function xTickLabels(svg: string): string[] {
  return [...svg.matchAll(/<text x="[\d.]+" y="\d+" font-size="12" text-anchor="middle">([^<]*)<\/text>/g)].map((m) => m[1]!);
}

describe('plots: tick labels', () => {
  it('a log CMC axis with ticks 1..100 labels each tick with its value', () => {
    const svg = lineChart({
      title: 'CMC', xLabel: 'rank', yLabel: 'rate', xLog: true, xRange: [1, 100], yRange: [0, 1],
      xTicks: [1, 2, 5, 10, 20, 50, 100], series: [{ name: 'a', x: [1, 10, 100], y: [0.1, 0.5, 0.9] }],
    });
    expect(xTickLabels(svg)).toEqual(['1', '2', '5', '10', '20', '50', '100']);
  });

  it('a log ROC axis from 1e-4 to 1 gets powers of ten, the smallest as 1e-4', () => {
    const svg = lineChart({
      title: 'ROC', xLabel: 'FAR', yLabel: 'TAR', xLog: true, xRange: [1e-4, 1], yRange: [0, 1],
      series: [{ name: 'a', x: [1e-4, 1e-2, 1], y: [0.1, 0.5, 1] }],
    });
    expect(xTickLabels(svg)).toEqual(['1e-4', '0.001', '0.01', '0.1', '1']);
  });

  it('linear ticks are rounded to 6 decimals; large log powers use 1eN', () => {
    expect(fmtTick(0.30000000000000004, false)).toBe('0.3');
    expect(fmtTick(1e5, true)).toBe('1e5');
    expect(fmtTick(1000, true)).toBe('1000');
  });
});
