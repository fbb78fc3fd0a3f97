// What Dawn prints natively that a user need not see: the adapter's limit notes, printed on every run
// on lavapipe. src/node/gpu.ts captures fd 2 around the first adapter enumeration and writes back
// filterDawnOutput of it; where fd 2 cannot be captured (a socket: Node has no dup to restore it,
// and vitest's fork workers have one), the process that copies the output on filters it instead
// (filterWrites: vitest.config.ts on its own stderr).

/** Lines Dawn prints on every run that say nothing a user can act on (shown with LRFR_VERBOSE=1). */
export const BENIGN_DAWN_LINES: RegExp[] = [
  /^Warning: max\w+ artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.?$/,
];

export function verbose(): boolean {
  return process.env.LRFR_VERBOSE === '1' || process.env.LRFR_VERBOSE === 'true';
}

/** The captured text minus the benign lines (all of it when verbose). */
export function filterDawnOutput(text: string, showAll = verbose()): string {
  if (showAll) return text;
  return text.split(/(?<=\n)/).filter((l) => !BENIGN_DAWN_LINES.some((re) => re.test(l.replace(/\r?\n$/, '')))).join('');
}

/**
 * Wraps stream.write so that a chunk's benign Dawn lines are dropped (a chunk with nothing else left
 * is not written, and its callback still runs); other chunks pass unchanged. Nothing in verbose mode.
 */
export function filterWrites(stream: NodeJS.WritableStream & { write: (...a: never[]) => boolean }, showAll = verbose()): void {
  if (showAll) return;
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  (stream as { write: unknown }).write = (chunk: unknown, ...rest: unknown[]): boolean => {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return write(chunk, ...rest);
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const kept = filterDawnOutput(text, false);
    if (kept === text) return write(chunk, ...rest);
    if (kept === '') {
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (cb) queueMicrotask(cb);
      return true;
    }
    return write(kept, ...rest.filter((r) => typeof r === 'function'));
  };
}
