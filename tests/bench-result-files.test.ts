// A benchmark never replaces a results file: a second run the same day (on another host, whose
// committed figures the README cites) writes beside the first, and bench/summary's "newest" still
// finds the later run.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freeStem, byRunOrder, writeResultFiles } from '../bench/lib/result-files.js';

describe('freeStem', () => {
  it("keeps the day's name for the first run, then the start time, then a counter", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrfr-results-'));
    try {
      const stem = join(dir, 'models-mesa-lavapipe-2026-12-07');
      const at = '2026-12-07T03:11:07.018Z';
      expect(freeStem(stem, at)).toBe(stem);
      writeFileSync(`${stem}.md`, 'an Intel run'); // either file taken is enough
      expect(freeStem(stem, at)).toBe(`${stem}-0311`);
      writeFileSync(`${stem}-0311.json`, '{}');
      expect(freeStem(stem, at)).toBe(`${stem}-0311-2`);
      writeFileSync(`${stem}-0311-2.json`, '{}');
      expect(freeStem(stem, at)).toBe(`${stem}-0311-3`);
      expect(freeStem(stem, 'no time here')).toBe(`${stem}-run`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('writeResultFiles', () => {
  it('creates the folder, writes both files under the day name, and a second run beside them', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lrfr-results-')), 'results');
    try {
      const first = writeResultFiles(dir, 'models-k', '2026-12-07T04:22:45.602Z', '{"a":1}\n', '# first\n');
      expect(first).toEqual({ json: join(dir, 'models-k-2026-12-07.json'), md: join(dir, 'models-k-2026-12-07.md') });
      const second = writeResultFiles(dir, 'models-k', '2026-12-07T04:58:16.277Z', '{"a":2}\n', '# second\n');
      expect(second.json).toBe(join(dir, 'models-k-2026-12-07-0458.json'));
      expect(readFileSync(first.md, 'utf8')).toBe('# first\n');
      expect(readFileSync(second.json, 'utf8')).toBe('{"a":2}\n');
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });
});

describe('byRunOrder', () => {
  it("puts a day's first run before its timed ones and days in order", () => {
    const names = ['mesa-lavapipe-2026-12-07-0311.json', 'mesa-lavapipe-2026-12-07.json', 'mesa-lavapipe-2026-12-06.json', 'mesa-lavapipe-2026-12-07-0311-2.json'];
    expect(byRunOrder(names)).toEqual(['mesa-lavapipe-2026-12-06.json', 'mesa-lavapipe-2026-12-07.json', 'mesa-lavapipe-2026-12-07-0311.json', 'mesa-lavapipe-2026-12-07-0311-2.json']);
    expect([...names].sort().at(-1)).toBe('mesa-lavapipe-2026-12-07.json'); // what a plain sort picked as newest
  });
});
