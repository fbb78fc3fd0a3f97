// `lrfr train` end to end on a tiny run of the real task (the dlib cross-resolution student, batch 2,
// 16 training people): exact resume, kill -9, SIGINT, NaN/Inf stops, bad input. Needs the data root
// ($LRFR_DATA or ../shared/data) and @vladmandic/face-api's weights (the teacher).
//
// Tolerance: resume must be bit-identical (losses in the log and every tensor of the checkpoint),
// since the data order, the augmentation RNG and every counter are restored and the kernels are
// deterministic on one adapter with the same kernel variants (tests run on the defaults).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { trainCommand } from '../../src/cli/train.js';
import { decodeSafetensors } from '../../src/nn/safetensors.js';

const REPO = resolve(import.meta.dirname, '..', '..');
let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'lrfr-train-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function config(name: string, extra: Record<string, unknown> = {}): string {
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    name, task: 'distill', seed: 3,
    student: { model: 'dlib-resnet', init: 'teacher' },
    data: { limitPeople: 16, valFraction: 0.34, pLowRes: 0.7, lrMin: 12, lrMax: 32, flip: true, shift: 2 },
    optim: { lr: 1e-4, warmup: 2 },
    batch: 2, steps: 6, checkpointEvery: 2, validateEvery: 3, valSizes: [16],
    ...extra,
  }));
  return path;
}

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const r = await trainCommand(argv, (s) => { err += s; });
  return { code: r.code, err };
}

interface Rec { type: string; step: number; loss?: number; event?: string }
const readLog = (dir: string): Rec[] => readFileSync(join(dir, 'log.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
const stepLosses = (dir: string) => readLog(dir).filter((r) => r.type === 'step').map((r) => [r.step, r.loss]);
function checkpoint(dir: string) {
  const d = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'checkpoint.safetensors'))));
  return { tensors: d.tensors, meta: JSON.parse(d.metadata['lrfr-state']!) as { step: number; cursor: { epoch: number; position: number }; rng: unknown } };
}

describe('lrfr train: exact resume', () => {
  it('stopping after 3 steps and resuming gives the same losses, weights, optimizer state and RNG as 6 uninterrupted steps', async () => {
    const cfg = config('resume');
    const a = join(tmp, 'runs', 'a'), b = join(tmp, 'runs', 'b');
    const ra = await run(['--config', cfg, '--out', a]);
    expect(ra.err).toContain('finished at step 6/6');
    expect(ra.code).toBe(0);
    const rb1 = await run(['--config', cfg, '--out', b, '--stop-after', '3']);
    expect(rb1.code).toBe(130);
    expect(rb1.err).toContain('stopped at step 3');
    expect(checkpoint(b).meta.step).toBe(3);
    const rb2 = await run(['--config', cfg, '--out', b, '--resume']);
    expect(rb2.code).toBe(0);
    expect(rb2.err).toContain('resumed at step 3');
    expect(stepLosses(b)).toEqual(stepLosses(a));
    expect(stepLosses(a).length).toBe(6);
    const [ca, cb] = [checkpoint(a), checkpoint(b)];
    expect(cb.meta).toEqual(ca.meta);
    expect([...cb.tensors.keys()].sort()).toEqual([...ca.tensors.keys()].sort());
    expect([...ca.tensors.keys()].some((k) => k.startsWith('optim/student/student.conv32_down.conv.weight/exp_avg'))).toBe(true);
    let differing = 0;
    for (const [k, t] of ca.tensors) {
      const u = cb.tensors.get(k)!;
      for (let i = 0; i < t.data.length; i++) if (!Object.is(t.data[i], u.data[i])) { differing++; break; }
    }
    expect(differing).toBe(0);
    // the training moved the weights away from the teacher's
    expect(readFileSync(join(a, 'best.safetensors')).length).toBeGreaterThan(20e6);
    expect(existsSync(join(a, 'loss.png'))).toBe(true);
  }, 600_000);

  it('compiling the step ahead on several queues (primeFirstRun) changes nothing: the same losses and weights as LRFR_PRIME=off', async () => {
    const cfg = config('prime', { steps: 2, validateEvery: 2 });
    const a = join(tmp, 'runs', 'prime-on'), b = join(tmp, 'runs', 'prime-off');
    const saved = process.env.LRFR_PRIME;
    let rb: { code: number; err: string };
    const ra = await run(['--config', cfg, '--out', a]);
    try {
      process.env.LRFR_PRIME = 'off';
      rb = await run(['--config', cfg, '--out', b]);
    } finally {
      if (saved === undefined) delete process.env.LRFR_PRIME;
      else process.env.LRFR_PRIME = saved;
    }
    expect([ra.code, rb.code]).toEqual([0, 0]);
    expect(stepLosses(a)).toEqual(stepLosses(b));
    const [ca, cb] = [checkpoint(a), checkpoint(b)];
    for (const [k, t] of ca.tensors) { const u = cb.tensors.get(k)!.data; expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(u.buffer, u.byteOffset, u.byteLength)), k).toBe(true); }
  }, 600_000);

  it('refuses to overwrite a run without --resume (naming --resume and --fresh), and a resume with another config', async () => {
    const cfg = config('resume');
    const a = join(tmp, 'runs', 'a');
    const r = await run(['--config', cfg, '--out', a]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/already holds a run.*--resume.*--fresh/);
    const other = config('resume', { optim: { lr: 2e-4, warmup: 2 } });
    const r2 = await run(['--config', other, '--out', a, '--resume']);
    expect(r2.code).toBe(1);
    expect(r2.err).toContain('was written with a different config');
  }, 300_000);
});

describe('lrfr train: NaN / Inf', () => {
  for (const term of ['embedding', 'gradient']) {
    it(`a non-finite ${term} at step 3 stops the run naming the step and the term, keeping the step-2 checkpoint`, async () => {
      const cfg = config(`nan-${term}`, { faults: { nanAtStep: 3, term } });
      const dir = join(tmp, 'runs', `nan-${term}`);
      const r = await run(['--config', cfg, '--out', dir]);
      expect(r.code).toBe(3);
      expect(r.err).toContain(term === 'gradient' ? 'step 3: the gradient norm is NaN' : 'step 3: the embedding loss term is NaN');
      expect(r.err).toContain('the last good checkpoint is kept');
      expect(checkpoint(dir).meta.step).toBe(2);
      const log = readLog(dir);
      expect(log.at(-1)).toMatchObject({ type: 'event', event: 'diverged', step: 3 });
    }, 300_000);
  }
});

function spawnTrain(args: string[]) {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'lrfr.js'), 'train', ...args], { cwd: REPO, env: { ...process.env, LRFR_TUNE_CACHE: 'off' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exit = new Promise<number | null>((res) => child.on('exit', (code, sig) => res(code ?? (sig ? -1 : null))));
  return { child, exit, err: () => err };
}

async function waitForStep(dir: string, step: number, exit: Promise<unknown>, timeoutMs = 240_000): Promise<number> {
  const t0 = Date.now();
  let done = false;
  void exit.then(() => { done = true; });
  while (Date.now() - t0 < timeoutMs && !done) {
    if (existsSync(join(dir, 'log.jsonl'))) {
      const last = readLog(dir).filter((r) => r.type === 'step').at(-1)?.step ?? 0;
      if (last >= step) return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`training did not reach step ${step} (exited: ${done})`);
}

describe('lrfr train: interruptions', () => {
  it('kill -9 at a random step loses at most one checkpoint interval, and --resume continues from the checkpoint', async () => {
    const cfg = config('kill');
    const dir = join(tmp, 'runs', 'kill');
    const target = 3 + Math.floor(Math.random() * 6); // a random moment: somewhere in steps 3..8
    const p = spawnTrain(['--config', cfg, '--out', dir, '--steps', '40']);
    const reached = await waitForStep(dir, target, p.exit);
    await new Promise((r) => setTimeout(r, Math.random() * 1500));
    p.child.kill('SIGKILL');
    expect(await p.exit).toBe(-1);
    const logged = readLog(dir).filter((r) => r.type === 'step').at(-1)!.step;
    expect(logged).toBeGreaterThanOrEqual(reached);
    const c = checkpoint(dir).meta.step; // decodes: never a half-written file
    expect(logged - c).toBeLessThanOrEqual(2); // one checkpoint interval
    expect(c).toBeGreaterThanOrEqual(2);
    const r = await run(['--config', cfg, '--out', dir, '--resume', '--steps', String(c + 2)]);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`resumed at step ${c}`);
    const steps = readLog(dir).filter((x) => x.type === 'step').map((x) => x.step);
    expect(steps).toEqual(Array.from({ length: c + 2 }, (_, i) => i + 1));
    // a checkpoint write cut by the kill leaves a temp file at most; the resume removes it
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 600_000);

  it('SIGINT saves a checkpoint at the current step and exits with 130', async () => {
    const cfg = config('sigint');
    const dir = join(tmp, 'runs', 'sigint');
    const p = spawnTrain(['--config', cfg, '--out', dir, '--steps', '40']);
    await waitForStep(dir, 1, p.exit);
    p.child.kill('SIGINT');
    expect(await p.exit).toBe(130);
    expect(p.err()).toMatch(/stopped at step \d+; checkpoint saved/);
    const logged = readLog(dir).filter((r) => r.type === 'step').at(-1)!.step;
    expect(checkpoint(dir).meta.step).toBe(logged);
  }, 600_000);
});

describe('lrfr train: EdgeFace-XXS by distillation', () => {
  it('trains the student through the projection with the cosine, relational and ArcFace terms, teacher-labelled views, degradation', async () => {
    const cfg = config('edgeface', {
      student: { model: 'edgeface-xxs', init: 'random' },
      loss: { embedding: 'cosine', centreTargets: true, relational: 1, arcface: 0.1, projection: true },
      data: { limitPeople: 16, valFraction: 0.34, pLowRes: 0.5, pDegrade: 1, views: 2, shift: 3 },
      optim: { lr: 2e-3, warmup: 1, clip: 5 },
      batch: 4, steps: 3, checkpointEvery: 3, validateEvery: 3, valSizes: [null, 16],
    });
    const dir = join(tmp, 'runs', 'edgeface');
    const r = await run(['--config', cfg, '--out', dir]);
    expect(r.err).toContain('finished at step 3/3');
    expect(r.code).toBe(0);
    const steps = readLog(dir).filter((x) => x.type === 'step') as unknown as { terms: Record<string, number> }[];
    expect(Object.keys(steps[0]!.terms).sort()).toEqual(['arcface', 'embedding', 'relational']);
    for (const s of steps) for (const v of Object.values(s.terms)) expect(Number.isFinite(v)).toBe(true);
    const c = checkpoint(dir);
    expect([...c.tensors.keys()].some((k) => k.startsWith('model/proj/fc.weight'))).toBe(true);
    expect([...c.tensors.keys()].some((k) => k.startsWith('model/head/weight'))).toBe(true);
    const best = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'best.safetensors'))));
    expect(best.metadata.model).toBe('edgeface-xxs');
    expect(best.tensors.get('head.fc.weight')!.shape).toEqual([512, 168]);
  }, 600_000);
});

// Issue 15's method C. (1) A centred dlib student that starts as the teacher, shown only HR faces
// at the teacher's framing (no shift), must have kd and wavelet terms of zero at step 1 (before any
// update): the teacher's class logits, the centring and the feature-map alignment are then computed
// consistently (bounds: float32 differences between the fused teacher and the unfused student).
// (2) The WaveResNet config trains (ArcFace + kd + wavelet, degradation) and exports its config and
// centre with the weights.
describe('lrfr train: WaveResNet with KD and the wavelet term', () => {
  it('kd and wavelet are zero at step 1 when the student is the teacher on HR faces', async () => {
    const cfg = config('kd-zero', {
      student: { model: 'dlib-resnet', config: { centre: true }, init: 'teacher' },
      loss: { embeddingWeight: 0, kd: 1, wavelet: 1 },
      data: { limitPeople: 16, valFraction: 0.34, pLowRes: 0, shift: 0, flip: true },
      batch: 4, steps: 1, checkpointEvery: 1, validateEvery: 1, valSizes: [null],
    });
    const dir = join(tmp, 'runs', 'kd-zero');
    const r = await run(['--config', cfg, '--out', dir]);
    expect(r.code, r.err).toBe(0);
    const step = readLog(dir).find((x) => x.type === 'step') as unknown as { terms: Record<string, number> };
    expect(Object.keys(step.terms).sort()).toEqual(['kd', 'wavelet']);
    expect(step.terms.kd).toBeLessThan(1e-3);
    expect(step.terms.wavelet).toBeLessThan(1e-6);
  }, 600_000);

  it('trains the Haar student with ArcFace, kd and wavelet on degraded LR faces, and exports { downsample: haar, centre }', async () => {
    const cfg = config('wave', {
      student: { model: 'dlib-resnet', config: { downsample: 'haar', centre: true }, init: 'teacher' },
      loss: { embeddingWeight: 0, arcface: 0.1, kd: 1, kdT: 4, wavelet: 10 },
      data: { limitPeople: 16, valFraction: 0.34, pLowRes: 0.7, pDegrade: 1, shift: 2 },
      batch: 4, steps: 2, checkpointEvery: 2, validateEvery: 2, valSizes: [null, 16],
    });
    const dir = join(tmp, 'runs', 'wave');
    const r = await run(['--config', cfg, '--out', dir]);
    expect(r.code, r.err).toBe(0);
    const steps = readLog(dir).filter((x) => x.type === 'step') as unknown as { terms: Record<string, number> }[];
    expect(Object.keys(steps[0]!.terms).sort()).toEqual(['arcface', 'kd', 'wavelet']);
    for (const st of steps) for (const v of Object.values(st.terms)) expect(Number.isFinite(v) && v > 0).toBe(true);
    const best = decodeSafetensors(new Uint8Array(readFileSync(join(dir, 'best.safetensors'))));
    expect(best.metadata.model).toBe('dlib-resnet');
    expect(JSON.parse(best.metadata.config!)).toEqual({ downsample: 'haar', centre: true });
    expect(best.tensors.get('centre')!.shape).toEqual([128]);
  }, 600_000);

  it('refuses kd without a centred student, and an uncentred embedding term with one', async () => {
    const a = await run(['--config', config('bad-kd', { loss: { kd: 1 } }), '--out', join(tmp, 'runs', 'bad-kd')]);
    expect(a.code).not.toBe(0);
    expect(a.err).toMatch(/loss\.kd needs a centred dlib-resnet student/);
    const b = await run(['--config', config('bad-emb', { student: { model: 'dlib-resnet', config: { centre: true }, init: 'teacher' } }), '--out', join(tmp, 'runs', 'bad-emb')]);
    expect(b.code).not.toBe(0);
    expect(b.err).toMatch(/needs loss\.centreTargets/);
  });
});

// Issue 14's FRNet: MobileFaceNet as a distillation student (the 112 crop, BN in training mode),
// loadable as a recognizer afterwards.
describe('lrfr train: MobileFaceNet by distillation', () => {
  it('trains with the cosine and ArcFace terms and loads back as a recognizer (cosine, 128-D)', async () => {
    const cfg = config('mobilefacenet', {
      student: { model: 'mobilefacenet', init: 'random' },
      loss: { embedding: 'cosine', centreTargets: true, arcface: 0.1 },
      data: { limitPeople: 16, valFraction: 0.34, pLowRes: 0.5, shift: 3 },
      optim: { lr: 1e-3, warmup: 1, clip: 5 },
      batch: 4, steps: 2, checkpointEvery: 2, validateEvery: 2, valSizes: [null, 16],
    });
    const dir = join(tmp, 'runs', 'mobilefacenet');
    const r = await run(['--config', cfg, '--out', dir]);
    expect(r.code, r.err).toBe(0);
    const steps = readLog(dir).filter((x) => x.type === 'step') as unknown as { terms: Record<string, number> }[];
    expect(Object.keys(steps[0]!.terms).sort()).toEqual(['arcface', 'embedding']);
    for (const st of steps) for (const v of Object.values(st.terms)) expect(Number.isFinite(v)).toBe(true);
    const { loadRecognizer } = await import('../../src/train/recognizers.js');
    const rec = await loadRecognizer(join(dir, 'best.safetensors'));
    try {
      expect([rec.dim, rec.metric]).toEqual([128, 'cosine']);
      const e = await rec.embed(new Float32Array(2 * 3 * 112 * 112).fill(0.5), [2, 3, 112, 112]);
      expect(e.length).toBe(256);
      expect(e.every(Number.isFinite)).toBe(true);
    } finally {
      rec.dispose();
    }
  }, 600_000);
});

describe('lrfr train: bad input', () => {
  it('names the problem: missing config, bad JSON, bad field, unknown option', async () => {
    expect((await run([])).err).toContain('--config FILE is required');
    expect((await run(['--config', join(tmp, 'nope.json')])).err).toMatch(/cannot read config .*nope\.json/);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{ "name": "x", ');
    expect((await run(['--config', bad])).err).toMatch(/bad\.json: not valid JSON/);
    writeFileSync(bad, JSON.stringify({ name: 'x', task: 'distill', student: { model: 'dlib-resnet' }, batch: 0 }));
    expect((await run(['--config', bad])).err).toContain('bad.json: config: batch must be an integer >= 2, got 0');
    expect((await run(['--config', bad, '--bogus'])).code).toBe(2);
  });
});
