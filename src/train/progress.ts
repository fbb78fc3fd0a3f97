// A progress bar with rate and ETA on stderr. On a TTY it redraws one line (\r); otherwise (logs,
// pipes) it prints a plain line at most every `intervalMs` (default 15 s) and once at the end.
export interface ProgressOptions {
  stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  width?: number;
  intervalMs?: number;
  unit?: string;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = String(m).padStart(2, '0'), ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Progress {
  private done = 0;
  private readonly t0 = performance.now();
  private lastDraw = -Infinity;
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly tty: boolean;
  private finished = false;

  constructor(readonly label: string, readonly total: number, private readonly opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = !!this.stream.isTTY;
  }

  get count(): number {
    return this.done;
  }

  /** Seconds since the start. */
  get elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  line(): string {
    const w = this.opts.width ?? 28;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const fill = Math.round(frac * w);
    const el = this.elapsed;
    const rate = el > 0 ? this.done / el : 0;
    const eta = rate > 0 ? (this.total - this.done) / rate : NaN;
    const unit = this.opts.unit ?? 'img';
    return `${this.label} [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${this.done}/${this.total} ${(100 * frac).toFixed(0)}% ` +
      `${rate.toFixed(1)} ${unit}/s elapsed ${formatDuration(el)} ETA ${this.done >= this.total ? '00:00' : formatDuration(eta)}`;
  }

  tick(n = 1): void {
    this.done += n;
    const now = performance.now();
    const interval = this.tty ? 200 : (this.opts.intervalMs ?? 15_000);
    if (now - this.lastDraw >= interval) this.draw(now);
  }

  private draw(now: number): void {
    this.lastDraw = now;
    this.stream.write(this.tty ? `\r${this.line()}\x1b[K` : `${this.line()}\n`);
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.draw(performance.now());
    if (this.tty) this.stream.write('\n');
  }
}
