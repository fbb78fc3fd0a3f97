// The report of an evaluation run: the markdown table lrfr eval prints (and writes to table.md).
import type { ResultRow } from './scoring.js';

const pct = (v: number | undefined, d = 2) => (v === undefined || !Number.isFinite(v) ? '—' : (100 * v).toFixed(d));

/** The markdown table of a run (see the CLI help for the columns). */
export function markdownTable(rows: readonly ResultRow[]): string {
  const head = ['protocol', 'resolution', 'rank-1', 'rank-5', 'rank-10', '10-fold acc', 'TAR@FAR=1e-2', 'TAR@FAR=1e-3 (impostors)', 'AUC', 'SR PSNR (dB)', 'SR SSIM', 'N'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((h, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const acc = r.acc === undefined ? '—' : `${pct(r.acc)} ± ${pct(r.accStd)}`;
    const n = r.kind === 'ident' ? `${r.n} probes / ${r.gallery} gallery` : `${r.n} pairs`;
    lines.push(`| ${[r.protocol, r.resolution, pct(r.rank1), pct(r.rank5), pct(r.rank10), acc, pct(r.tar1e2), `${pct(r.tar1e3)} (${r.impostors})`, pct(r.auc), r.psnr === undefined ? '—' : r.psnr.toFixed(2), r.ssim === undefined ? '—' : r.ssim.toFixed(4), n].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** One pipeline's rows for comparisonTable (an lrfr eval results.json's `results`, or a manifest's `evaluation.rows`). */
export interface PipelineRows { label: string; rows: readonly Pick<ResultRow, 'protocol' | 'size' | 'resolution' | 'acc' | 'tar1e3' | 'auc' | 'rank1' | 'psnr' | 'ssim'>[] }

/** The metrics comparisonTable can show, in its order; `key` selects them (options.metrics). */
export const COMPARISON_METRICS: readonly { key: string; protocol: string; name: string; get: (r: PipelineRows['rows'][number]) => number | undefined; fmt: (v: number) => string }[] = [
  { key: 'lfw-acc', protocol: 'lfw-verify', name: 'acc', get: (r) => r.acc, fmt: (v) => pct(v) },
  { key: 'lfw-tar', protocol: 'lfw-verify', name: 'TAR@FAR=1e-3', get: (r) => r.tar1e3, fmt: (v) => pct(v) },
  { key: 'lfw-auc', protocol: 'lfw-verify', name: 'AUC', get: (r) => r.auc, fmt: (v) => pct(v) },
  { key: 'blufr-rank1', protocol: 'blufr-ident', name: 'rank-1', get: (r) => r.rank1, fmt: (v) => pct(v) },
  { key: 'orl-rank1', protocol: 'orl', name: 'rank-1', get: (r) => r.rank1, fmt: (v) => pct(v) },
  { key: 'yaleb-rank1', protocol: 'yaleb', name: 'rank-1', get: (r) => r.rank1, fmt: (v) => pct(v) },
  { key: 'psnr', protocol: 'lfw-verify', name: 'SR PSNR dB, LFW probes', get: (r) => r.psnr, fmt: (v) => v.toFixed(2) },
  { key: 'ssim', protocol: 'lfw-verify', name: 'SR SSIM, LFW probes', get: (r) => r.ssim, fmt: (v) => v.toFixed(4) },
];

/**
 * Pipelines side by side: a line per (protocol metric, pipeline), a column per resolution (HR and the
 * LR sizes, largest first): LFW verification accuracy, TAR@FAR=1e-3 and AUC, rank-1 of the
 * identification protocols, and the SR output's PSNR / SSIM on the LFW probes. A cell a pipeline
 * has no row for is '—'. options.metrics keeps the lines of those metrics only (keys of
 * COMPARISON_METRICS, shown in its order; all by default).
 */
export function comparisonTable(pipelines: readonly PipelineRows[], options: { metrics?: readonly string[] } = {}): string {
  // rows kept in manifests carry the resolution label only ('full', '16x16')
  const sizeOf = (r: PipelineRows['rows'][number]) => (r.size !== undefined ? r.size : r.resolution === 'full' ? null : parseInt(r.resolution, 10));
  const sizes = [...new Set(pipelines.flatMap((p) => p.rows.map(sizeOf)))].sort((a, b) => (a === null ? -1 : b === null ? 1 : b - a));
  const cols = sizes.map((s) => (s === null ? 'HR' : `${s} px`));
  const lines = [`| protocol (metric) | pipeline | ${cols.join(' | ')} |`, `|---|---|${cols.map(() => '---:').join('|')}|`];
  const wanted = options.metrics ?? COMPARISON_METRICS.map((m) => m.key);
  for (const k of wanted) if (!COMPARISON_METRICS.some((m) => m.key === k)) throw new Error(`unknown metric "${k}" (known: ${COMPARISON_METRICS.map((m) => m.key).join(', ')})`);
  for (const m of COMPARISON_METRICS.filter((x) => wanted.includes(x.key))) {
    const label = m.name.startsWith('SR ') ? m.name : `${m.protocol} (${m.name})`;
    const present = pipelines.filter((p) => p.rows.some((r) => r.protocol === m.protocol && m.get(r) !== undefined));
    for (const p of present) {
      const cells = sizes.map((s) => {
        const r = p.rows.find((x) => x.protocol === m.protocol && sizeOf(x) === s);
        const v = r ? m.get(r) : undefined;
        return v === undefined || !Number.isFinite(v) ? '—' : m.fmt(v);
      });
      lines.push(`| ${label} | ${p.label} | ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}
