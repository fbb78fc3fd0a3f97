// The SR phase of the cycle (src/train/sr-task.ts) and what it stands on: dlib's framing on the GPU
// (framing.ts dlibFrameTensor) against the CPU framing, the multi-scale DSR (config.probeSizes), and
// `lrfr train` on an SR config and on a cycle config, end to end on a tiny run (random EdgeFace-XXS as
// the frozen recognizer, a small DSR, 16 training people, batch 2). Needs the data root.
//
// Tolerances: dlibFrameTensor vs dlibInputFrom112: 0.02 on the 0..255 scale (float32 matrix products
// against the CPU's float64 sums, ~85 taps of weight <= 1); its gradient vs central differences
// (h = 1e-2, the function is linear away from the clamp): 1e-2 relative. Resume: bit-identical.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as L from '../../src/runtime/index.js';
import { dlibFrameTensor, dlibInputFrom112 } from '../../src/train/framing.js';
import { DSR } from '../../src/nn/dsr.js';
import { EdgeFaceXXS } from '../../src/nn/edgeface.js';
import { saveSafetensorsFile } from '../../src/node/files.js';
import { trainCommand } from '../../src/cli/train.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';
import { parseAnyConfig, configKey, type SrTrainConfig } from '../../src/train/train-config.js';

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'lrfr-sr-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function randomImage(rng: L.Rng, lo = -0.1, hi = 1.1) {
  const data = new Float32Array(3 * 112 * 112);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(lo, hi);
  return { data, c: 3, h: 112, w: 112 };
}

describe('dlibFrameTensor (dlib framing on the GPU)', () => {
  it('matches dlibInputFrom112 (resampling, clamp, x255) within 0.02 of 255', async () => {
    const rng = new L.Rng(5);
    const imgs = [randomImage(rng), randomImage(rng)];
    const x = new Float32Array(2 * 3 * 112 * 112);
    imgs.forEach((m, k) => x.set(m.data, k * m.data.length));
    const y = L.tidy(() => dlibFrameTensor(L.tensor(x, [2, 3, 112, 112])));
    expect(y.shape).toEqual([2, 3, 150, 150]);
    const d = await y.data();
    y.dispose();
    let maxErr = 0;
    imgs.forEach((m, k) => {
      const ref = dlibInputFrom112(m).data;
      for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(d[k * ref.length + i]! - ref[i]!));
    });
    expect(maxErr).toBeLessThan(0.02);
  });

  it('has the gradient of its function (central differences, inside the clamp)', async () => {
    const rng = new L.Rng(6);
    const img = randomImage(rng, 0.3, 0.7);
    const r = new Float32Array(3 * 150 * 150).map(() => rng.uniform(-1, 1));
    const f = (data: Float32Array) => L.noGrad(() => L.tidy(() => L.sum(L.mul(dlibFrameTensor(L.tensor(data, [1, 3, 112, 112])), L.tensor(r, [1, 3, 150, 150])))));
    const x = L.keep(L.tensor(img.data, [1, 3, 112, 112]));
    x.requiresGrad = true;
    L.tidy(() => L.backward(L.sum(L.mul(dlibFrameTensor(x), L.tensor(r, [1, 3, 150, 150])))));
    const g = await x.grad!.data();
    x.grad!.dispose();
    x.dispose();
    const h = 1e-2;
    for (const i of [0, 113 * 40 + 7, 112 * 112 + 5000, 2 * 112 * 112 + 112 * 111 + 3]) {
      const p = img.data.slice(), m = img.data.slice();
      p[i]! += h;
      m[i]! -= h;
      const [fp, fm] = [f(p), f(m)];
      const num = ((await fp.data())[0]! - (await fm.data())[0]!) / (2 * h);
      fp.dispose();
      fm.dispose();
      expect(Math.abs(num - g[i]!)).toBeLessThan(1e-2 * Math.max(1, Math.abs(num)));
    }
  });
});

describe('DSR with probeSizes (one multi-scale model)', () => {
  it('takes its other probe sizes, resizes them to inputSize inside, and its bicubic skip upsamples the probe as given', async () => {
    const m = new DSR({ config: { channels: 4, blocks: 1, inputSize: 32, probeSizes: [16, 24] }, seed: 2 });
    // zero tail: the output is exactly the skip
    L.getEngine().upload(m.tail.weight.buffer, new Float32Array(m.tail.weight.size));
    L.getEngine().upload(m.tail.bias!.buffer, new Float32Array(m.tail.bias!.size));
    const rng = new L.Rng(3);
    const lr = new Float32Array(2 * 3 * 16 * 16).map(() => rng.next());
    const [y, ref] = L.noGrad(() => L.tidy(() => {
      const t = L.tensor(lr, [2, 3, 16, 16]);
      return [m.forward(t), L.resizeBicubic(t, [112, 112])];
    }));
    const [a, b] = [await y!.data(), await ref!.data()];
    expect(y!.shape).toEqual([2, 3, 112, 112]);
    expect(Array.from(a)).toEqual(Array.from(b));
    y!.dispose();
    ref!.dispose();
    expect(() => L.noGrad(() => L.tidy(() => m.forward(L.tensor(new Float32Array(3 * 20 * 20), [1, 3, 20, 20]))))).toThrow('DSR: this model takes 32, 16, 24-pixel probes, got [1, 3, 20, 20]');
    expect(() => new DSR({ config: { probeSizes: [2] } })).toThrow('DSR: probeSizes must be a list of integers in 4..112, got [2]');
    m.dispose();
  });
});

describe('SR config', () => {
  const base = { name: 'x', task: 'sr', recognizer: 'dlib' };
  it('fills the defaults and names a bad field', () => {
    const c = parseAnyConfig(base);
    expect(c.task).toBe('sr');
    expect(() => parseAnyConfig({ ...base, loss: { identityMetric: 'l2' } })).toThrow('config: loss.identityMetric must be one of cosine, sqeuclid, got "l2"');
    expect(() => parseAnyConfig({ ...base, data: { sizes: [2] } })).toThrow('config: data.sizes must be a non-empty list of probe sizes (integers 4..112), got [2]');
    expect(() => parseAnyConfig({ ...base, loss: { pixel: 0, identity: 0, features: 0 } })).toThrow('every loss weight is 0');
    expect(() => parseAnyConfig({ ...base, recognizer: '' })).toThrow('config: recognizer must be "dlib" or the path');
    expect(() => parseAnyConfig({ name: 'c', task: 'cycle', phases: [] })).toThrow('config: phases must be a non-empty list of config files');
  });

  it('sr.model: dsr (default, left out of the config key so older runs resume) or wdsr (no DSR preset)', () => {
    const d = parseAnyConfig(base) as SrTrainConfig;
    expect(d.sr.model).toBe('dsr');
    expect(configKey(d)).not.toContain('"model"');
    const w = parseAnyConfig({ ...base, sr: { model: 'wdsr', config: { blocks: 2 } } }) as SrTrainConfig;
    expect(w.sr.model).toBe('wdsr');
    expect(configKey(w)).toContain('"model":"wdsr"');
    expect(() => parseAnyConfig({ ...base, sr: { model: 'edsr' } })).toThrow('config: sr.model must be one of dsr, wdsr, unet, got "edsr"');
    expect(() => parseAnyConfig({ ...base, sr: { model: 'wdsr', preset: 'paper' } })).toThrow(`config: sr.preset "paper" is DSR's; a WDSR takes its size from sr.config`);
  });
});

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const r = await trainCommand(argv, (s) => { err += s; });
  return { code: r.code, err };
}

describe('lrfr train: an SR phase and a cycle', () => {
  let recognizer: string;
  const srConfig = (name: string, extra: Record<string, unknown> = {}) => {
    const path = join(tmp, `${name}.json`);
    writeFileSync(path, JSON.stringify({
      name, task: 'sr', seed: 4, recognizer,
      sr: { preset: 'cpu', config: { channels: 4, blocks: 1 }, init: 'random' },
      loss: { pixel: 1, identity: 2, identityMetric: 'cosine', features: 0.5 },
      data: { limitPeople: 16, valFraction: 0.34, sizes: [16, 24], pDegrade: 0.5 },
      optim: { lr: 1e-3, warmup: 1 },
      batch: 2, steps: 4, checkpointEvery: 2, validateEvery: 2, valSizes: [16],
      ...extra,
    }));
    return path;
  };
  beforeAll(async () => {
    recognizer = join(tmp, 'edgeface.safetensors');
    const ef = new EdgeFaceXXS({ seed: 9 });
    await saveSafetensorsFile(recognizer, ef, { model: 'edgeface-xxs', config: ef.config });
    ef.dispose();
  });

  it('trains DSR only (the recognizer stays frozen), resumes bit-identically, and exports', async () => {
    const cfg = srConfig('sr');
    const a = join(tmp, 'runs', 'a'), b = join(tmp, 'runs', 'b');
    const ra = await run(['--config', cfg, '--out', a, '--export', join(tmp, 'weights')]);
    expect(ra.err).toContain('bicubic on the validation people: rank1_16');
    expect(ra.err).toMatch(/step 4\/4 .*pixel .*identity .*features /);
    expect(ra.code).toBe(0);
    const rb1 = await run(['--config', cfg, '--out', b, '--stop-after', '2']);
    expect(rb1.code).toBe(130);
    const rb2 = await run(['--config', cfg, '--out', b, '--resume']);
    expect(rb2.code).toBe(0);
    const losses = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; loss?: number }).filter((r) => r.type === 'step').map((r) => r.loss);
    expect(losses(b)).toEqual(losses(a));
    expect(losses(a).length).toBe(4);
    const ca = decodeSafetensors(new Uint8Array(readFileSync(join(a, 'checkpoint.safetensors'))));
    const cb = decodeSafetensors(new Uint8Array(readFileSync(join(b, 'checkpoint.safetensors'))));
    // only DSR is in the training state: the recognizer has no optimizer slots and no model entry
    const keys = [...ca.tensors.keys()];
    expect(keys.every((k) => k.startsWith('model/sr/') || k.startsWith('optim/sr/'))).toBe(true);
    expect(keys.some((k) => k.startsWith('optim/sr/sr.tail.weight/'))).toBe(true);
    for (const [k, t] of ca.tensors) expect(Array.from(cb.tensors.get(k)!.data)).toEqual(Array.from(t.data));
    const manifest = JSON.parse(readFileSync(join(tmp, 'weights', 'sr.json'), 'utf8')) as { model: string; modelConfig: { probeSizes: number[]; inputSize: number } };
    expect(manifest.model).toBe('dsr');
    expect(manifest.modelConfig.inputSize).toBe(24);
    expect(manifest.modelConfig.probeSizes).toEqual([16]);
  }, 600_000);

  it('a cycle config runs its phases in order, exports each, and skips the finished ones on a rerun', async () => {
    const c0 = srConfig('c0');
    const c1 = srConfig('c1', { sr: { preset: 'cpu', config: { channels: 4, blocks: 1 }, init: join(tmp, 'weights', 'c0.safetensors') }, steps: 2 });
    const cycle = join(tmp, 'cycle.json');
    writeFileSync(cycle, JSON.stringify({ name: 'cycle', task: 'cycle', phases: [c0, c1] }));
    const r1 = await run(['--config', cycle, '--out', join(tmp, 'cycle-runs'), '--export', join(tmp, 'weights')]);
    expect(r1.code).toBe(0);
    expect(r1.err).toContain('cycle phase 1/2 (c0): starting');
    expect(r1.err).toContain('cycle phase 2/2 (c1): starting');
    expect(r1.err).toContain('starting from');
    expect(existsSync(join(tmp, 'weights', 'c1.safetensors'))).toBe(true);
    const r2 = await run(['--config', cycle, '--out', join(tmp, 'cycle-runs'), '--export', join(tmp, 'weights')]);
    expect(r2.code).toBe(0);
    expect(r2.err).toContain('cycle phase 1/2 (c0): done');
    expect(r2.err).toContain('cycle phase 2/2 (c1): done');
    // a phase whose weights were made with another config is not silently skipped
    writeFileSync(c0, readFileSync(c0, 'utf8').replace('"steps":4', '"steps":5'));
    const r3 = await run(['--config', cycle, '--out', join(tmp, 'cycle-runs'), '--export', join(tmp, 'weights')]);
    expect(r3.code).toBe(1);
    expect(r3.err).toContain('was made with another config; move it aside to retrain this phase');
  }, 600_000);

  it('a phase exported from a stopped run (--export-only) is not taken for done: the cycle continues that run', async () => {
    const p = srConfig('c0s');
    const runs = join(tmp, 'cycle-runs2'), w = join(tmp, 'weights2');
    expect((await run(['--config', p, '--out', join(runs, 'c0s'), '--stop-after', '2'])).code).toBe(130);
    expect((await run(['--config', p, '--out', join(runs, 'c0s'), '--export-only', '--export', w])).code).toBe(0);
    const m1 = JSON.parse(readFileSync(join(w, 'c0s.json'), 'utf8')) as { finished: boolean; runStep: number; totalSteps: number };
    expect([m1.finished, m1.runStep, m1.totalSteps]).toEqual([false, 2, 4]);
    const cycle = join(tmp, 'cycle2.json');
    writeFileSync(cycle, JSON.stringify({ name: 'cycle2', task: 'cycle', phases: [p] }));
    const r = await run(['--config', cycle, '--out', runs, '--export', w]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('came from a stopped run; continuing that run');
    expect(r.err).toContain('resumed at step 2');
    const m2 = JSON.parse(readFileSync(join(w, 'c0s.json'), 'utf8')) as { finished: boolean; runStep: number };
    expect([m2.finished, m2.runStep]).toEqual([true, 4]);
  }, 600_000);

  it('trains a WDSR (sr.model wdsr) against a frozen MobileFaceNet with L1 + 0.5 (1 - cos), resumes bit-identically, and its export is an SR model for lrfr eval and the face pipeline', async () => {
    const mfn = join(tmp, 'mobilefacenet.safetensors');
    const { MobileFaceNet } = await import('../../src/nn/mobilefacenet.js');
    const f = new MobileFaceNet({ seed: 5 });
    await saveSafetensorsFile(mfn, f, { model: 'mobilefacenet', config: f.config });
    f.dispose();
    const cfg = srConfig('wdsr', {
      recognizer: mfn, sr: { model: 'wdsr', config: { channels: 4, blocks: 1, expand: 2 }, init: 'random' },
      loss: { pixel: 1, identity: 0.5, identityMetric: 'cosine', features: 0 },
    });
    const a = join(tmp, 'runs', 'wdsr-a'), b = join(tmp, 'runs', 'wdsr-b');
    const ra = await run(['--config', cfg, '--out', a, '--export', join(tmp, 'weights')]);
    expect(ra.err).toContain('lrfr train: wdsr: WDSR ');
    expect(ra.err).toMatch(/step 4\/4 .*pixel .*identity /);
    expect(ra.code, ra.err).toBe(0);
    expect((await run(['--config', cfg, '--out', b, '--stop-after', '2'])).code).toBe(130);
    expect((await run(['--config', cfg, '--out', b, '--resume'])).code).toBe(0);
    const losses = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; loss?: number }).filter((r) => r.type === 'step').map((r) => r.loss);
    expect(losses(b)).toEqual(losses(a));
    const ck = decodeSafetensors(new Uint8Array(readFileSync(join(a, 'checkpoint.safetensors'))));
    expect([...ck.tensors.keys()].some((k) => k.startsWith('optim/sr/sr.body.0.expand.weight_g/'))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(tmp, 'weights', 'wdsr.json'), 'utf8')) as { model: string; modelConfig: Record<string, unknown> };
    expect(manifest.model).toBe('wdsr');
    expect(manifest.modelConfig).toMatchObject({ channels: 4, blocks: 1, expand: 2, inputSize: 24, probeSizes: [16] });
    const { loadSuperResolver } = await import('../../src/train/recognizers.js');
    const sr = await loadSuperResolver(join(tmp, 'weights', 'wdsr.safetensors'));
    try {
      expect(sr.sizes).toEqual([16, 24]);
      const lr = { data: new Float32Array(3 * 16 * 16).fill(0.4), c: 3, h: 16, w: 16 };
      const [y] = await sr.run([lr]);
      expect([y!.h, y!.w]).toEqual([112, 112]);
      expect(y!.data.every((v) => v >= 0 && v <= 1)).toBe(true);
    } finally {
      sr.dispose();
    }
    const { dsrFromBytes, dsrSizes } = await import('../../src/nn/face-pipeline.js');
    const m = dsrFromBytes(new Uint8Array(readFileSync(join(tmp, 'weights', 'wdsr.safetensors'))));
    expect(dsrSizes(m)).toEqual([16, 24]);
    m.dispose();
    expect(() => dsrFromBytes(new Uint8Array(readFileSync(mfn)), 'x.safetensors')).toThrow('x.safetensors: these are weights for "mobilefacenet" (mobilefacenet), not for a super-resolver (dsr, wdsr, unet)');
  }, 600_000);

  it('joint SR + recognizer (recognizerLrFactor): both are trained against the frozen starting copy, resume bit-identically, and export together', async () => {
    const mfn = join(tmp, 'mobilefacenet.safetensors'); // written by the WDSR test above
    const cfg = srConfig('joint', {
      recognizer: mfn, recognizerLrFactor: 0.1, sr: { model: 'wdsr', config: { channels: 4, blocks: 1, expand: 2 }, init: 'random' },
      loss: { pixel: 1, identity: 0.5, identityMetric: 'cosine', features: 0 }, steps: 2, checkpointEvery: 1, validateEvery: 2,
    });
    const a = join(tmp, 'runs', 'joint-a'), b = join(tmp, 'runs', 'joint-b'), w = join(tmp, 'weights-joint');
    const ra = await run(['--config', cfg, '--out', a, '--export', w]);
    expect(ra.code, ra.err).toBe(0);
    expect(ra.err).toContain('trained jointly (lr x 0.1; HR side: its frozen starting copy)');
    expect((await run(['--config', cfg, '--out', b, '--stop-after', '1'])).code).toBe(130);
    expect((await run(['--config', cfg, '--out', b, '--resume'])).code).toBe(0);
    const ca = decodeSafetensors(new Uint8Array(readFileSync(join(a, 'checkpoint.safetensors'))));
    const cb = decodeSafetensors(new Uint8Array(readFileSync(join(b, 'checkpoint.safetensors'))));
    const keys = [...ca.tensors.keys()];
    expect(keys.some((k) => k.startsWith('model/recognizer/')) && keys.some((k) => k.startsWith('optim/recognizer/'))).toBe(true);
    for (const [k, t] of ca.tensors) expect(Array.from(cb.tensors.get(k)!.data), k).toEqual(Array.from(t.data));
    // the exported recognizer moved away from the starting weights; the SR file is a WDSR
    const manifest = JSON.parse(readFileSync(join(w, 'joint.json'), 'utf8')) as { model: string; companions: Record<string, { file: string; model: string; sha256: string }> };
    expect(manifest.model).toBe('wdsr');
    expect(manifest.companions.recognizer).toMatchObject({ file: 'joint-recognizer.safetensors', model: 'mobilefacenet' });
    const start = decodeSafetensors(new Uint8Array(readFileSync(mfn))).tensors;
    const trained = decodeSafetensors(new Uint8Array(readFileSync(join(w, 'joint-recognizer.safetensors')))).tensors;
    let moved = 0;
    for (const [k, t] of start) {
      const u = trained.get(k)!;
      expect(u.shape, k).toEqual(t.shape);
      for (let i = 0; i < t.data.length; i++) moved = Math.max(moved, Math.abs(u.data[i]! - t.data[i]!));
    }
    expect(moved).toBeGreaterThan(0);
    const { loadRecognizer } = await import('../../src/train/recognizers.js');
    const rec = await loadRecognizer(join(w, 'joint-recognizer.safetensors'));
    expect(rec.dim).toBe(128);
    rec.dispose();
    expect(() => parseAnyConfig({ name: 'x', task: 'sr', recognizer: 'dlib', recognizerLrFactor: 0.1, loss: { identity: 0, features: 0 } })).toThrow('config: recognizerLrFactor > 0 trains the recognizer, but neither loss.identity nor loss.features reaches it');
  }, 600_000);

  it('trains a UNet (sr.model unet, method B) with dropout: the masks come from the checkpointed RNG, so resume is bit-identical; the export loads as an SR model', async () => {
    const cfg = srConfig('unet', {
      sr: { model: 'unet', config: { channels: 2, depth: 6, workSize: 64, dropout: 0.5 }, init: 'random' },
      loss: { pixel: 5, identity: 1, identityMetric: 'cosine', features: 0 },
    });
    const a = join(tmp, 'runs', 'unet-a'), b = join(tmp, 'runs', 'unet-b');
    const ra = await run(['--config', cfg, '--out', a, '--export', join(tmp, 'weights')]);
    expect(ra.code, ra.err).toBe(0);
    expect(ra.err).toContain('lrfr train: unet: UNET ');
    expect((await run(['--config', cfg, '--out', b, '--stop-after', '2'])).code).toBe(130);
    expect((await run(['--config', cfg, '--out', b, '--resume'])).code).toBe(0);
    const losses = (dir: string) => readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; loss?: number }).filter((r) => r.type === 'step').map((r) => r.loss);
    expect(losses(b)).toEqual(losses(a));
    expect(losses(a).length).toBe(4);
    const manifest = JSON.parse(readFileSync(join(tmp, 'weights', 'unet.json'), 'utf8')) as { model: string; modelConfig: Record<string, unknown> };
    expect(manifest.model).toBe('unet');
    expect(manifest.modelConfig).toMatchObject({ channels: 2, depth: 6, workSize: 64, inputSize: 24, probeSizes: [16] });
    const { loadSuperResolver } = await import('../../src/train/recognizers.js');
    const sr = await loadSuperResolver(join(tmp, 'weights', 'unet.safetensors'));
    try {
      const [y] = await sr.run([{ data: new Float32Array(3 * 16 * 16).fill(0.4), c: 3, h: 16, w: 16 }]);
      expect([y!.h, y!.w]).toEqual([112, 112]);
    } finally {
      sr.dispose();
    }
    expect(() => parseAnyConfig({ name: 'x', task: 'sr', recognizer: 'dlib', sr: { model: 'unet', preset: 'paper' } })).toThrow(`config: sr.preset "paper" is DSR's; a UNET takes its size from sr.config`);
  }, 600_000);

  it("a C1 phase: a trained recognizer fine-tuned with its LR samples and validation probes through a frozen DSR", async () => {
    const c1 = (name: string, valSizes: (number | null)[]) => {
      const path = join(tmp, `${name}.json`);
      writeFileSync(path, JSON.stringify({
        name, task: 'distill', seed: 2,
        student: { model: 'edgeface-xxs', init: recognizer },
        loss: { embedding: 'cosine', centreTargets: true, projection: true },
        data: { limitPeople: 16, valFraction: 0.34, pLowRes: 1, views: 1, sr: join(tmp, 'weights', 'c0.safetensors') },
        optim: { lr: 1e-4, warmup: 1 },
        batch: 2, steps: 2, checkpointEvery: 2, validateEvery: 2, valSizes,
      }));
      return path;
    };
    const r = await run(['--config', c1('c1r', [null, 16]), '--out', join(tmp, 'runs', 'c1r')]);
    expect(r.err).toContain('finished at step 2/2');
    expect(r.err).toMatch(/best validation step 2: rank1_hr [\d.]+%, rank1_16 [\d.]+%/);
    expect(r.code).toBe(0);
    const bad = await run(['--config', c1('c1bad', [32]), '--out', join(tmp, 'runs', 'c1bad')]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('valSizes 32: the DSR of data.sr takes 24, 16-pixel probes only');
  }, 600_000);
});
