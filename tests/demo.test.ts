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
    expect(r.out).toMatch(/16x16 -> bicubic -> dlib, gallery matched to 16 px +\d+\.\d\d %/);
    expect(existsSync(join(out, 'grid.png'))).toBe(true);
    const j = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as { rank1: { bicubic: number; sr: number } };
    expect(j.rank1.bicubic).toBeGreaterThanOrEqual(0);
    expect(j.rank1.sr).toBeLessThanOrEqual(1);
    expect(r.out).toMatch(/dlib-c0-dsr -> dlib +\d+\.\d\d % +\(SR \d+\.\d\d dB, SSIM 0\.\d{3}\)/);
  }, 300_000);

  it('a cycle pipeline: bicubic -> the pretrained recognizer, bicubic -> C1 and C2 -> C1 on the same probes; the grid shows C0 and C2', async () => {
    const w = join(tmp, 'weights-cycle');
    mkdirSync(w);
    for (const [name, seed] of [['dlib-c0-dsr', 1], ['dlib-c2-dsr', 2]] as const) {
      const m = buildModel('dsr', { preset: 'cpu', inputSize: 32, probeSizes: [16, 24] }, seed);
      await saveSafetensorsFile(join(w, `${name}.safetensors`), m, { model: 'dsr', config: modelConfig('dsr', m) });
      m.dispose();
    }
    const rec = buildModel('dlib-resnet', {}, 3);
    await saveSafetensorsFile(join(w, 'dlib-c1-recognizer.safetensors'), rec, { model: 'dlib-resnet', config: modelConfig('dlib-resnet', rec) });
    rec.dispose();
    const out = join(tmp, 'out-cycle');
    const r = await demo(['--weights', w, '--limit', '6', '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('dlib cycle (C2 DSR -> C1 dlib student; gallery: frozen dlib)');
    const lines = r.out.split('\n').filter((l) => l.includes(' -> '));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/16x16 -> bicubic -> dlib +\d/);
    expect(lines[1]).toMatch(/16x16 -> bicubic -> dlib-c1-recognizer +\d/);
    expect(lines[2]).toMatch(/16x16 -> dlib-c2-dsr -> dlib-c1-recognizer +\d/);
    expect(lines[3]).toMatch(/16x16 -> bicubic -> dlib, gallery matched to 16 px +\d+\.\d\d % +\(no training/);
    expect(r.out).toContain('LR | bicubic | dlib-c0-dsr | dlib-c2-dsr | HR');
    const j = JSON.parse(readFileSync(join(out, 'demo.json'), 'utf8')) as { rank1: Record<string, number> };
    expect(Object.keys(j.rank1).sort()).toEqual(['bicubic', 'bicubicBaseline', 'bicubicMatched', 'sr']);
  }, 400_000);
});
