// The per-dispatch profiler (timestamp queries: engine.startProfile/stopProfile) and `lrfr profile`.
// This machine's adapter (Dawn on lavapipe) lists 'timestamp-query': the tests fail, never skip,
// where it does not.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../src/runtime/index.js';
import { getEngine, adapterSummary, Engine, rand, tidy, type ProfileRecord } from '../src/runtime/index.js';
import { slotsPerDispatch } from '../src/train/multi-tensor.js';

const names = (rs: readonly ProfileRecord[]) => rs.map((r) => r.name);

describe('engine profiler', () => {
  it('the adapter lists timestamp-query and the device has it', () => {
    expect(adapterSummary().features, "this test machine's adapter should list 'timestamp-query'").toContain('timestamp-query');
    expect(getEngine().canProfile).toBe(true);
  });

  it('one record per dispatch, named by program, positive finite ms summing to at most the wall time', async () => {
    const eng = getEngine();
    const a = rand([64, 96], 1, -1, 1);
    const b = rand([96, 80], 2, -1, 1);
    const c = rand([64, 80], 3, -1, 1);
    // Warm-up: pipelines compiled outside the profile.
    tidy(() => L.add(L.matmul(a, b), c)).dispose();
    await eng.sync();

    const d0 = eng.stats.dispatches;
    const t0 = performance.now();
    eng.startProfile();
    expect(eng.profiling).toBe(true);
    const y = tidy(() => L.add(L.matmul(a, b), c));
    await eng.sync();
    const wall = performance.now() - t0;
    const recs = await eng.stopProfile();
    expect(eng.profiling).toBe(false);
    const dispatched = eng.stats.dispatches - d0;

    expect(recs.length).toBe(dispatched);
    expect(names(recs)).toContain('matmul');
    expect(names(recs)[recs.length - 1]).toBe('add');
    for (const r of recs) {
      expect(Number.isFinite(r.ms), `${r.name}: ${r.ms}`).toBe(true);
      expect(r.ms, r.name).toBeGreaterThan(0);
      expect(r.workgroups).toHaveLength(3);
      expect(r.workgroups.every((g) => Number.isInteger(g) && g >= 1)).toBe(true);
    }
    expect(recs.find((r) => r.name === 'add')!.shader).toBe('binary');
    expect(recs.reduce((s, r) => s + r.ms, 0)).toBeLessThanOrEqual(wall);
    y.dispose();
    L.dispose([a, b, c]);
  });

  it('results are bit-identical with and without profiling, and after it', async () => {
    const eng = getEngine();
    const a = rand([3, 33, 47], 4, -1, 1);
    const b = rand([3, 47, 29], 5, -1, 1);
    const c = rand([29], 6, -1, 1);
    const op = () => tidy(() => L.mul(L.add(L.matmul(a, b), c), c));
    const read = async () => {
      const t = op();
      try {
        return await t.data();
      } finally {
        t.dispose();
      }
    };
    const before = await read();
    eng.startProfile();
    const during = await read(); // a readback while profiling: the profile goes on
    const recs = await eng.stopProfile();
    const after = await read();
    expect(names(recs)).toEqual(expect.arrayContaining(['matmul', 'add', 'mul']));
    expect([...during]).toEqual([...before]);
    expect([...after]).toEqual([...before]);
    L.dispose([a, b, c]);
  });

  it('more dispatches than one query set holds (and than one submit takes): every one is timed', async () => {
    const eng = getEngine();
    let x = L.zeros([256]);
    const one = L.ones([256]);
    const n = 2100; // > 2048 dispatches per submit and > 4096 / 2 timestamp pairs per query set
    const s0 = eng.stats.submits;
    eng.startProfile();
    for (let i = 0; i < n; i++) {
      const next = L.add(x, one);
      x.dispose();
      x = next;
    }
    const recs = await eng.stopProfile();
    expect(eng.stats.submits - s0).toBeGreaterThanOrEqual(2);
    expect(recs.length).toBe(n);
    expect(recs.every((r) => r.name === 'add' && Number.isFinite(r.ms) && r.ms > 0)).toBe(true);
    expect((await x.data())[0]).toBe(n);
    L.dispose([x, one]);
  });

  it('stopProfile without startProfile, and a second startProfile, are errors', async () => {
    const eng = getEngine();
    await expect(eng.stopProfile()).rejects.toThrow(/no profile is running/);
    eng.startProfile();
    expect(() => eng.startProfile()).toThrow(/already running/);
    expect(await eng.stopProfile()).toEqual([]);
  });

  it("without 'timestamp-query' profiling fails with an error naming the feature", async () => {
    const dev = getEngine().device;
    // The real device, minus the feature.
    const lacking = new Proxy(dev, {
      get(t, k) {
        if (k === 'features') return new Set([...t.features].filter((f) => f !== 'timestamp-query'));
        const v = Reflect.get(t, k, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    const eng = new Engine(lacking);
    expect(eng.canProfile).toBe(false);
    expect(() => eng.startProfile()).toThrow(/'timestamp-query'/);
    await expect(eng.stopProfile()).rejects.toThrow(/'timestamp-query'/);
  });
});

describe('lrfr profile', () => {
  const run = (args: string[]) => spawnSync(process.execPath, ['bin/lrfr.js', 'profile', ...args], { encoding: 'utf8', timeout: 120_000 });

  it('bad arguments exit 2 and name the problem', () => {
    const r = run(['--model', 'resnet']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown model "resnet"/);
    expect(run([]).stderr).toMatch(/--model is required/);
    expect(run(['--model', 'dsr', '--steps', '0']).status).toBe(2);
    const f = run(['--model', 'dsr', '--adamw']);
    expect(f.status).toBe(2);
    expect(f.stderr).toMatch(/--adamw needs --train/);
  });

  it('--train --adamw: the step ends with the multi-tensor AdamW update', () => {
    const r = run(['--model', 'dsr', '--batch', '1', '--size', '8', '--steps', '1', '--train', '--adamw']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dsr train step with AdamW at batch 1/);
    // DSR at input 8 (4 up stages): 19 convs, 38 parameter tensors, all but the tail's 3-element bias
    // read as vec4s: ceil(37 / K) + 1 dispatches, K tensors each (this adapter's K, as the CLI's)
    const m = /^adamw\s+(\d+)\s/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBe(Math.ceil(37 / slotsPerDispatch(4, 0)) + 1);
  });

  it('prints the per-kernel table for a tiny DSR and writes the JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrfr-profile-'));
    const file = join(dir, 'p.json');
    try {
      const r = run(['--model', 'dsr', '--batch', '1', '--size', '8', '--steps', '2', '--json', file]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/kernel\s+calls\/step\s+ms\/step\s+% kernel\s+% wall\s+mean us\/call/);
      expect(r.stdout).toMatch(/^conv2d_forward\s+\d+\s+\d+\.\d+\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d$/m);
      expect(r.stdout).toMatch(/kernel time per step\s+\d+\.\d ms \(sum of \d+ dispatches\)/);
      expect(r.stdout).toMatch(/wall time per step\s+\d+\.\d ms profiled/);
      const doc = JSON.parse(readFileSync(file, 'utf8')) as {
        steps: number; dispatchesPerStep: number; kernelMsPerStep: number[]; wallMsPerStep: number[];
        kernels: { name: string; callsPerStep: number }[]; records: (ProfileRecord & { step: number })[];
      };
      expect(doc.steps).toBe(2);
      expect(doc.records.length).toBe(2 * doc.dispatchesPerStep);
      expect(doc.kernels.reduce((s, k) => s + k.callsPerStep, 0)).toBe(doc.dispatchesPerStep);
      for (let k = 0; k < 2; k++) expect(doc.kernelMsPerStep[k]!).toBeLessThanOrEqual(doc.wallMsPerStep[k]!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
