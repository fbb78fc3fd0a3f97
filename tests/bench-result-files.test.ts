// A benchmark never replaces a results file: a second run the same day (on another host, whose
// committed figures the README cites) writes beside the first, and bench/summary's "newest" still
// finds the later run.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeStem, byRunOrder } from '../bench/lib/result-files.js';

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

describe('byRunOrder', () => {
  it("puts a day's first run before its timed ones and days in order", () => {
    const names = ['mesa-lavapipe-2026-12-07-0311.json', 'mesa-lavapipe-2026-12-07.json', 'mesa-lavapipe-2026-12-06.json', 'mesa-lavapipe-2026-12-07-0311-2.json'];
    expect(byRunOrder(names)).toEqual(['mesa-lavapipe-2026-12-06.json', 'mesa-lavapipe-2026-12-07.json', 'mesa-lavapipe-2026-12-07-0311.json', 'mesa-lavapipe-2026-12-07-0311-2.json']);
    expect([...names].sort().at(-1)).toBe('mesa-lavapipe-2026-12-07.json'); // what a plain sort picked as newest
  });
});
