// Figures for `lrfr eval`, drawn as SVG here (no charting dependency) and rasterised to PNG by sharp
// (librsvg; text in DejaVu Sans / any sans-serif font fontconfig finds).
//   lineChart: curves with axes, grid, legend; linear or log10 x axis (CMC, ROC).
//   faceGrid:  rows of face images with column headers and row labels (LR | bicubic | SR | HR).
import sharp from 'sharp';
import { writeFile } from 'node:fs/promises';
import type { ChwImage } from './image.js';
import { encodePng } from './image.js';

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  xLog?: boolean;
  /** Axis ranges (default: the data's range; log axes: powers of ten around it). */
  xRange?: [number, number];
  yRange?: [number, number];
  width?: number;
  height?: number;
  /** Draw a marker at each point (for curves with few points, e.g. CMC). */
  markers?: boolean;
  /** Explicit x ticks (either axis kind). */
  xTicks?: number[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p;
}

/**
 * A tick label. On a log axis an exact power of ten beyond 1e±4 is written 1eN; every other tick
 * (2, 5, 20, 0.001, ...) as its number. (Labels used to be the nearest power of ten, so a CMC axis
 * with ticks 1, 2, 5, 10, ... read 1, 1, 1e1, 1e1, ...)
 */
export function fmtTick(v: number, log: boolean): string {
  if (log) {
    const e = Math.log10(v);
    if (Math.abs(e - Math.round(e)) < 1e-9 && Math.abs(Math.round(e)) >= 4) return `1e${Math.round(e)}`;
  }
  const r = Math.round(v * 1e6) / 1e6;
  return String(r);
}

/** An SVG line chart (see ChartSpec). */
export function lineChart(spec: ChartSpec): string {
  const W = spec.width ?? 640, H = spec.height ?? 440;
  const m = { l: 64, r: 16, t: 40, b: 52 };
  const pw = W - m.l - m.r, ph = H - m.t - m.b;
  const xs: number[] = [], ys: number[] = [];
  for (const s of spec.series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!, y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y) || (spec.xLog && x <= 0)) continue;
      xs.push(x); ys.push(y);
    }
  }
  const tx = (v: number) => (spec.xLog ? Math.log10(v) : v);
  let [x0, x1] = spec.xRange ?? (xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1]);
  let [y0, y1] = spec.yRange ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (spec.xLog) { x0 = 10 ** Math.floor(Math.log10(x0)); x1 = 10 ** Math.ceil(Math.log10(x1)); }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const X = (v: number) => m.l + ((tx(v) - tx(x0)) / (tx(x1) - tx(x0))) * pw;
  const Y = (v: number) => m.t + (1 - (v - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="24" font-size="16" text-anchor="middle">${escapeXml(spec.title)}</text>`);
  // grid + ticks
  const xticks: number[] = [];
  if (spec.xTicks) xticks.push(...spec.xTicks.filter((v) => v >= x0 && v <= x1));
  else if (spec.xLog) for (let e = Math.round(Math.log10(x0)); e <= Math.round(Math.log10(x1)); e++) xticks.push(10 ** e);
  else { const st = niceStep(x1 - x0, 8); for (let v = Math.ceil(x0 / st) * st; v <= x1 + 1e-9; v += st) xticks.push(v); }
  const yst = niceStep(y1 - y0, 6);
  const yticks: number[] = [];
  for (let v = Math.ceil(y0 / yst) * yst; v <= y1 + 1e-9; v += yst) yticks.push(v);
  for (const v of xticks) {
    out.push(`<line x1="${X(v).toFixed(1)}" y1="${m.t}" x2="${X(v).toFixed(1)}" y2="${m.t + ph}" stroke="#ddd"/>`);
    out.push(`<text x="${X(v).toFixed(1)}" y="${m.t + ph + 18}" font-size="12" text-anchor="middle">${fmtTick(v, !!spec.xLog)}</text>`);
  }
  for (const v of yticks) {
    out.push(`<line x1="${m.l}" y1="${Y(v).toFixed(1)}" x2="${m.l + pw}" y2="${Y(v).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${(Y(v) + 4).toFixed(1)}" font-size="12" text-anchor="end">${fmtTick(v, false)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 12}" font-size="13" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text x="16" y="${m.t + ph / 2}" font-size="13" text-anchor="middle" transform="rotate(-90 16 ${m.t + ph / 2})">${escapeXml(spec.yLabel)}</text>`);
  // curves (clipped to the plot area)
  out.push(`<clipPath id="plot"><rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}"/></clipPath><g clip-path="url(#plot)">`);
  spec.series.forEach((s, k) => {
    const col = PALETTE[k % PALETTE.length]!;
    const pts: string[] = [];
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!, y = s.y[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y) || (spec.xLog && x <= 0)) continue;
      pts.push(`${X(x).toFixed(2)},${Y(y).toFixed(2)}`);
    }
    if (pts.length) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${col}" stroke-width="2"/>`);
    if (spec.markers) for (const p of pts) { const [a, b] = p.split(','); out.push(`<circle cx="${a}" cy="${b}" r="2.5" fill="${col}"/>`); }
  });
  out.push('</g>');
  // legend (bottom right, inside)
  const lh = 18, lw = Math.max(...spec.series.map((s) => s.name.length), 4) * 7.5 + 34;
  const lx = m.l + pw - lw - 8, ly = m.t + ph - spec.series.length * lh - 10;
  out.push(`<rect x="${lx}" y="${ly}" width="${lw}" height="${spec.series.length * lh + 6}" fill="white" fill-opacity="0.85" stroke="#999"/>`);
  spec.series.forEach((s, k) => {
    const col = PALETTE[k % PALETTE.length]!;
    const yy = ly + 4 + k * lh + lh / 2;
    out.push(`<line x1="${lx + 6}" y1="${yy}" x2="${lx + 26}" y2="${yy}" stroke="${col}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 30}" y="${yy + 4}" font-size="12">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Rasterises an SVG string to PNG bytes. */
export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 96 }).flatten({ background: '#ffffff' }).png().toBuffer();
}

export async function writeChartPng(path: string, spec: ChartSpec): Promise<void> {
  await writeFile(path, await svgToPng(lineChart(spec)));
}

/** Nearest-neighbour enlargement to size x size (for showing LR faces at the size of the others). */
export function nearestUpscale(img: ChwImage, size: number): ChwImage {
  const out = new Float32Array(img.c * size * size);
  for (let q = 0; q < img.c; q++) {
    for (let y = 0; y < size; y++) {
      const sy = Math.min(img.h - 1, Math.floor((y * img.h) / size));
      for (let x = 0; x < size; x++) out[(q * size + y) * size + x] = img.data[(q * img.h + sy) * img.w + Math.min(img.w - 1, Math.floor((x * img.w) / size))]!;
    }
  }
  return { data: out, c: img.c, h: size, w: size };
}

export interface GridRow {
  label: string;
  images: ChwImage[];
}

/** A grid of faces as PNG: column headers on top, a label left of each row (images embedded as PNG). */
export async function faceGridPng(title: string, columns: readonly string[], rows: readonly GridRow[], cell = 112): Promise<Buffer> {
  const pad = 4, labelW = 110, headH = 44;
  const W = labelW + columns.length * (cell + pad) + pad;
  const H = headH + rows.length * (cell + pad) + pad;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="16" font-size="13" text-anchor="middle">${escapeXml(title)}</text>`);
  columns.forEach((c, j) => out.push(`<text x="${labelW + pad + j * (cell + pad) + cell / 2}" y="${headH - 8}" font-size="12" text-anchor="middle">${escapeXml(c)}</text>`));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const y = headH + i * (cell + pad);
    const parts = r.label.split('\n');
    parts.forEach((p, k) => out.push(`<text x="${labelW - 6}" y="${y + cell / 2 + (k - (parts.length - 1) / 2) * 14 + 4}" font-size="11" text-anchor="end">${escapeXml(p)}</text>`));
    for (let j = 0; j < r.images.length; j++) {
      const img = r.images[j]!;
      const shown = img.h === cell && img.w === cell ? img : nearestUpscale(img, cell);
      const b64 = (await encodePng(shown)).toString('base64');
      out.push(`<image x="${labelW + pad + j * (cell + pad)}" y="${y}" width="${cell}" height="${cell}" xlink:href="data:image/png;base64,${b64}"/>`);
    }
  }
  out.push('</svg>');
  return svgToPng(out.join('\n'));
}
