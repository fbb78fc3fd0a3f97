// The training state (src/train/state.ts), the trainer's schedule and data order, the config parser
// and the person-level split: unit tests on small modules (no face data needed).
import { describe, it, expect } from 'vitest';
import * as L from '../../src/runtime/index.js';
import { buildModel } from '../../src/nn/registry.js';
import { AdamW, SGD } from '../../src/train/optim.js';
import { TrainingState } from '../../src/train/state.js';
import { lrFactor, epochOrder } from '../../src/train/trainer.js';
import { parseTrainConfig, configKey } from '../../src/train/train-config.js';
import { splitTrainPeople } from '../../src/train/distill-data.js';
import { readTensors } from '../../src/nn/safetensors.js';

/** proj (AdamW "a") + ArcFace head (SGD "b"; with freezeHead the head is not trained: no "b"). */
function makeState(seed: number, freezeHead = false) {
  const proj = buildModel('projection', { in: 6, out: 4 }, seed);
  const head = buildModel('arcface-head', { classes: 3, dim: 4 }, seed + 1);
  const p = TrainingState.paramNames('proj', proj);
  const h = TrainingState.paramNames('head', head);
  const opt = new AdamW(p.params, { lr: 0.01 });
  const sgd = new SGD(h.params, { lr: 0.1, momentum: 0.9 });
  const state = new TrainingState(
    { proj: { name: 'projection', config: { in: 6, out: 4 }, module: proj }, head: { name: 'arcface-head', config: { classes: 3, dim: 4 }, module: head } },
    freezeHead ? { a: { opt, names: p.names } } : { a: { opt, names: p.names }, b: { opt: sgd, names: h.names } },
    new L.Rng(seed), seed + 5,
  );
  const dispose = () => { opt.dispose(); sgd.dispose(); proj.dispose(); head.dispose(); };
  return { state, proj, head, opt, sgd, dispose };
}

async function stepOnce(s: ReturnType<typeof makeState>, seed: number): Promise<number> {
  const x = L.tensor(L.randnArray(5 * 6, seed), [5, 6]);
  const loss = L.tidy(() => {
    s.opt.zeroGrad();
    s.sgd.zeroGrad();
    const e = s.proj.forward(x);
    const logits = L.arcfaceHead(e, s.head.weight, [0, 1, 2, 0, 1], { s: 8, m1: 1, m2: 0.2, m3: 0 });
    const l = L.crossEntropy(logits, [0, 1, 2, 0, 1]);
    L.backward(l);
    s.opt.step();
    s.sgd.step();
    return l;
  });
  x.dispose();
  const v = await loss.item();
  loss.dispose();
  s.state.rng.next();
  s.state.step++;
  return v;
}

async function params(s: ReturnType<typeof makeState>): Promise<Float32Array[]> {
  return readTensors([...s.proj.parameters(), ...s.head.parameters()]);
}

describe('TrainingState', () => {
  it('snapshot -> restore into a fresh state continues bit-identically (params, AdamW and SGD moments, steps, RNG, cursor)', async () => {
    const a = makeState(1);
    for (let i = 0; i < 3; i++) await stepOnce(a, 100 + i);
    a.state.cursor = { epoch: 2, position: 7, shuffleSeed: 6 };
    a.state.phase = 'p1';
    a.state.extra.best = { step: 2, score: 0.5 };
    const snap = await a.state.snapshot();
    const b = makeState(99); // different init: everything must come from the snapshot
    const meta = b.state.restore(snap);
    expect(meta.step).toBe(3);
    expect(b.state.step).toBe(3);
    expect(b.state.cursor).toEqual({ epoch: 2, position: 7, shuffleSeed: 6 });
    expect(b.state.phase).toBe('p1');
    expect(b.state.extra.best).toEqual({ step: 2, score: 0.5 });
    expect(b.state.rng.getState()).toEqual(a.state.rng.getState());
    expect(b.opt.steps).toEqual(a.opt.steps);
    const la: number[] = [], lb: number[] = [];
    for (let i = 0; i < 3; i++) { la.push(await stepOnce(a, 200 + i)); lb.push(await stepOnce(b, 200 + i)); }
    expect(lb).toEqual(la);
    const [pa, pb] = [await params(a), await params(b)];
    pa.forEach((t, i) => expect(Array.from(pb[i]!)).toEqual(Array.from(t)));
    expect(b.state.rng.next()).toBe(a.state.rng.next());
    a.dispose(); b.dispose();
  });

  it('keys optimizer state by parameter name: a state that freezes the head restores from a full one', async () => {
    const a = makeState(1);
    await stepOnce(a, 1);
    const snap = await a.state.snapshot();
    const frozen = makeState(2, true);
    frozen.state.restore(snap); // the file's head optimizer is not needed by a phase that freezes the head
    expect(frozen.opt.steps).toEqual(a.opt.steps);
    const [pa, pf] = [await params(a), await params(frozen)];
    pa.forEach((t, i) => expect(Array.from(pf[i]!)).toEqual(Array.from(t)));
    a.dispose(); frozen.dispose();
  });

  it('rejects a file with wrong shapes, missing tensors or another model, listing every problem and changing nothing', async () => {
    const a = makeState(1);
    await stepOnce(a, 1);
    const snap = await a.state.snapshot();
    const other = buildModel('projection', { in: 6, out: 5 }, 3);
    const o = TrainingState.paramNames('proj', other);
    const opt = new AdamW(o.params, { lr: 0.01 });
    const st = new TrainingState({ proj: { name: 'projection', config: { in: 6, out: 5 }, module: other } }, { a: { opt, names: o.names } }, new L.Rng(1), 1);
    const before = (await readTensors(other.parameters()))[0]!;
    expect(() => st.restore(snap, { what: 'ckpt.safetensors' })).toThrow(/ckpt\.safetensors: cannot restore the training state: \d+ problem\(s\)[\s\S]*config differs[\s\S]*proj\.fc\.weight/);
    expect(Array.from((await readTensors(other.parameters()))[0]!)).toEqual(Array.from(before));
    expect(st.step).toBe(0);
    expect(() => st.restore(snap.subarray(0, snap.length - 10))).toThrow(/checkpoint: /);
    expect(() => st.restore(new Uint8Array([1, 2, 3]))).toThrow(/checkpoint: /);
    opt.dispose(); other.dispose(); a.dispose();
  });

  it('needs allowNewParams to restore an optimizer whose parameters the file has no state for', async () => {
    const a = makeState(1);
    const snap = await a.state.snapshot();
    const p = buildModel('projection', { in: 6, out: 4 }, 1);
    const h = buildModel('arcface-head', { classes: 3, dim: 4 }, 2);
    const pn = TrainingState.paramNames('proj', p), hn = TrainingState.paramNames('head', h);
    // optimizer "a" now also trains the head (unfrozen in a later phase)
    const opt = new AdamW([...pn.params, ...hn.params], { lr: 0.01 });
    const sgd = new SGD(hn.params, { lr: 0.1, momentum: 0.9 });
    const st = new TrainingState(
      { proj: { name: 'projection', config: { in: 6, out: 4 }, module: p }, head: { name: 'arcface-head', config: { classes: 3, dim: 4 }, module: h } },
      { a: { opt, names: [...pn.names, ...hn.names] }, b: { opt: sgd, names: hn.names } }, new L.Rng(1), 1);
    expect(() => st.restore(snap)).toThrow(/optimizer "a": no state for parameter head\.weight/);
    st.restore(snap, { allowNewParams: true });
    expect(opt.steps).toEqual([0, 0]);
    opt.dispose(); sgd.dispose(); p.dispose(); h.dispose(); a.dispose();
  });
});

describe('schedule and data order', () => {
  it('warms up linearly, then decays by a cosine to minLrFactor', () => {
    expect(lrFactor(0, 100, 10, 0)).toBeCloseTo(0.1, 12);
    expect(lrFactor(9, 100, 10, 0)).toBeCloseTo(1, 12);
    expect(lrFactor(10, 100, 10, 0.1)).toBeCloseTo(1, 12);
    expect(lrFactor(55, 100, 10, 0)).toBeCloseTo(0.5, 12);
    expect(lrFactor(100, 100, 10, 0.1)).toBeCloseTo(0.1, 12);
  });
  it('shuffles each epoch by (seed, epoch): a permutation, reproducible, different per epoch', () => {
    const a = epochOrder(50, 3, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epochOrder(50, 3, 0)).toEqual(a);
    expect(epochOrder(50, 3, 1)).not.toEqual(a);
    expect(epochOrder(50, 4, 0)).not.toEqual(a);
  });
});

describe('training config', () => {
  const base = { name: 'x', task: 'distill', student: { model: 'dlib-resnet', init: 'teacher' } };
  it('fills defaults and keys the numbers-changing fields', () => {
    const c = parseTrainConfig(base);
    expect(c.batch).toBe(32);
    expect(c.data.pLowRes).toBe(0.7);
    expect(configKey(c)).toBe(configKey(parseTrainConfig({ ...base, checkpointEvery: 7 })));
    expect(configKey(c)).not.toBe(configKey(parseTrainConfig({ ...base, optim: { lr: 1e-3 } })));
  });
  it('names the field of a bad value or an unknown field', () => {
    expect(() => parseTrainConfig({ ...base, optim: { lr: -1 } })).toThrow('config: optim.lr must be a number > 0, got -1');
    expect(() => parseTrainConfig({ ...base, data: { pLowRes: 2 } })).toThrow('config: data.pLowRes must be in [0, 1], got 2');
    expect(() => parseTrainConfig({ ...base, optim: { learningRate: 1 } })).toThrow(/unknown field optim\.learningRate/);
    expect(() => parseTrainConfig({ ...base, bacth: 3 })).toThrow(/unknown field bacth/);
    expect(() => parseTrainConfig({ ...base, student: { model: 'edgeface-xxs', init: 'teacher' } })).toThrow(/init "teacher" needs student\.model "dlib-resnet"/);
    expect(() => parseTrainConfig({ ...base, name: 'a b' })).toThrow(/config: name must be/);
    expect(() => parseTrainConfig({ ...base, data: { lrMin: 30, lrMax: 20 } })).toThrow(/lrMin\.\.lrMax/);
  });
});

describe('person-level split', () => {
  const refs = Array.from({ length: 60 }, (_, i) => ({ person: `p${i % 20}`, path: `p${i % 20}/${i}.jpg` }))
    .concat(Array.from({ length: 10 }, (_, i) => ({ person: `single${i}`, path: `single${i}/0.jpg` })));
  it('holds out whole people with >= 2 images, never seen in training; reproducible in the seed', () => {
    const s = splitTrainPeople(refs, 0.2, 1);
    expect(s.val.length).toBe(4);
    const valPeople = new Set(s.val.map((v) => v[0]!.person));
    for (const r of s.train) expect(valPeople.has(r.person)).toBe(false);
    for (const v of s.val) expect(v.length).toBeGreaterThanOrEqual(2);
    expect(s.train.length + s.val.reduce((a, v) => a + v.length, 0)).toBe(refs.length);
    expect(splitTrainPeople(refs, 0.2, 1)).toEqual(s);
    expect(splitTrainPeople(refs, 0.2, 2).val).not.toEqual(s.val);
  });
});
