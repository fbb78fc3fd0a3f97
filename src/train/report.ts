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
