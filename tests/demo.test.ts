// lrfr demo (npm start): picks the best pipeline found in the weights folder, runs bicubic and the DSR
// on the same held-out probes, prints both rank-1 figures and writes the grid. A seeded, untrained
// DSR stands in for trained weights (the test checks the plumbing, not the accuracy). Needs the data
// root and face-api's dlib weights.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoCommand } from '../src/cli/demo.js';
import { buildModel, modelConfig } from '../src/nn/registry.js';
import { saveSafetensorsFile } from '../src/node/files.js';

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'lrfr-demo-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function demo(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await demoCommand(argv, { out: (s) => { out += s; }, err: (s) => { err += s; } });
  return { code, out, err };
}

describe('lrfr demo', () => {
  it('without trained weights: says which files it looks for and how to train them', async () => {
    const r = await demo(['--weights', join(tmp, 'none')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no trained pipeline in');
    expect(r.err).toContain('dlib-c0-dsr + dlib');
    expect(r.err).toContain('configs/cycle-dlib.json');
  });

  it('rejects a bad option with the usage', async () => {
    const r = await demo(['--size', '20']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--size must be 16, 24 or 32, got "20"');
  });

  it('runs the pipeline it finds (C0 DSR -> dlib) beside bicubic on the same ORL probes and writes the grid', async () => {
    const w = join(tmp, 'weights');
    mkdirSync(w);
    const m = buildModel('dsr', { preset: 'cpu', inputSize: 32, probeSizes: [16, 24] }, 1);
    await saveSafetensorsFile(join(w, 'dlib-c0-dsr.safetensors'), m, { model: 'dsr', config: modelConfig('dsr', m) });
    m.dispose();
    const out = join(tmp, 'out');
    const r = await demo(['--weights', w, '--limit', '6', '--out', out]);
    expect(r.err).toContain('dlib C0 (C0 DSR -> frozen dlib)');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/16x16 -> bicubic -> dlib +\d+\.\d\d %/);
    expect(r.out).toMatch(/16x16 -> dlib-c0-dsr -> dlib +\d+\.\d\d %/);
    expect(existsSync(join(out, 'grid.png'))).toBe(true);
    const j = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as { rank1: { bicubic: number; sr: number } };
    expect(j.rank1.bicubic).toBeGreaterThanOrEqual(0);
    expect(j.rank1.sr).toBeLessThanOrEqual(1);
  }, 300_000);
});
