// The UNet super-resolver (src/nn/unet.ts, issue 14 method B) on our runtime vs the same network in
// tfjs (tests/reference/unet-tfjs.ts): forward in eval mode (running statistics) and in training
// mode (batch statistics, no dropout), all parameter gradients, the dropout masks (seeded, scaled,
// absent in eval mode), bad input.
import { describe, it, expect } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as L from '../../src/runtime/index.js';
import { UNet, UNET_CPU, dropout, type UNetConfig } from '../../src/nn/unet.js';
import { unetTf } from '../reference/unet-tfjs.js';

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Random weights with O(1) activations: convs N(0, 1/fanIn), BN gamma U(0.8, 1.2), beta N(0, .1²), running stats perturbed. */
function randomize(m: UNet, seed: number): Map<string, Float32Array> {
  const rng = new L.Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const [name, t] of [...m.namedParameters(), ...m.namedBuffers()]) {
    const a = new Float32Array(t.size);
    const fanIn = name.endsWith('.weight') && t.rank === 4 ? (name.includes('.up.') ? t.shape[0]! * 16 / 4 : t.shape.slice(1).reduce((x, y) => x * y, 1)) : 1;
    for (let i = 0; i < a.length; i++) {
      if (t.rank === 4) a[i] = rng.normal() / Math.sqrt(fanIn);
      else if (name.endsWith('running_var')) a[i] = rng.uniform(0.5, 1.5);
      else if (name.endsWith('running_mean')) a[i] = 0.1 * rng.normal();
      else if (name.endsWith('norm.weight')) a[i] = rng.uniform(0.8, 1.2);
      else a[i] = 0.1 * rng.normal();
    }
    L.getEngine().upload(t.buffer, a);
    out.set(name, a);
  }
  return out;
}

const small: UNetConfig = { ...UNET_CPU, channels: 4, depth: 5, workSize: 64, inputSize: 16, dropout: 0 };

describe('UNet (method B)', () => {
  it('pix2pix unet_128 layout: 7 levels, channels C..8C, the parameter count of its formula', () => {
    const m = new UNet({ seed: 1 });
    const C = 16;
    const w = (l: number) => C * Math.min(2 ** l, 8);
    let n = 0;
    for (let l = 0; l < 7; l++) {
      const outer = l === 0 ? 3 : w(l - 1), inner = w(l), upIn = l === 6 ? inner : 2 * inner;
      n += 16 * outer * inner + (l === 0 ? inner : 0); // down conv (bias only at level 0)
      if (l > 0 && l < 6) n += 2 * inner; // down BN
      n += 16 * upIn * outer + (l === 0 ? outer : 0); // up conv
      if (l > 0) n += 2 * outer; // up BN
    }
    expect(m.countParams()).toBe(n);
    expect([4, 5, 6].map((l) => m.hasDropout(l))).toEqual([true, true, false]);
    console.log(`UNet (C = 16, depth 7): ${n.toLocaleString('en-US')} parameters`);
    m.dispose();
  });

  for (const training of [false, true]) {
    it(`forward in ${training ? 'training' : 'eval'} mode matches tfjs (C = 4, depth 5, 64 px, 16 px probes, batch 2)`, async () => {
      const m = new UNet({ config: small, seed: 3 });
      try {
        const arrays = randomize(m, 4);
        if (training) m.train(); else m.eval();
        const x = L.randArray(2 * 3 * 16 * 16, 5);
        const ours = await L.noGrad(() => L.tidy(() => m.forward(L.tensor(x, [2, 3, 16, 16])))).data();
        const ref = tf.tidy(() => {
          const w = new Map([...arrays].map(([k, v]) => [k, tf.tensor(v, [...m.namedParameters(), ...m.namedBuffers()].find(([n]) => n === k)![1].shape as number[])]));
          return unetTf(small, w, tf.tensor4d(x, [2, 3, 16, 16]), training).dataSync() as Float32Array;
        });
        expect(ours.length).toBe(2 * 3 * 112 * 112);
        let d = 0;
        for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(ours[i]! - ref[i]!));
        console.log(`UNet forward (${training ? 'training' : 'eval'}): max |ours - ref| ${d.toExponential(2)}, output range of ref ${Math.min(...ref).toFixed(3)}..${Math.max(...ref).toFixed(3)}`);
        expect(maxAbs(ref.map((v) => v - 0.5))).toBeGreaterThan(0.1); // not a flat output
        expect(d).toBeLessThan(1e-4);
      } finally {
        m.dispose();
      }
    });
  }

  it('gradients of every parameter and the input match tf.grads (training mode, no dropout)', async () => {
    const m = new UNet({ config: small, seed: 6 });
    try {
      const arrays = randomize(m, 7);
      m.train();
      const x = L.randArray(2 * 3 * 16 * 16, 8), R = L.randnArray(2 * 3 * 112 * 112, 9);
      const params = m.namedParameters();
      L.zeroGrad(params.map(([, p]) => p), true);
      const xt = L.tensor(x, [2, 3, 16, 16]);
      xt.requiresGrad = true;
      L.tidy(() => L.backward(L.sum(L.mul(m.forward(xt), L.tensor(R, [2, 3, 112, 112])))));
      const names = params.map(([k]) => k);
      const buffers = new Map(m.namedBuffers().map(([k, t]) => [k, tf.tensor(arrays.get(k)!, t.shape as number[])]));
      const ref = tf.tidy(() => {
        const f = (...ts: tf.Tensor[]) => {
          const w = new Map<string, tf.Tensor>([...buffers, ...names.map((k, i) => [k, ts[i]!] as [string, tf.Tensor])]);
          return unetTf(small, w, ts[names.length] as tf.Tensor4D, true).mul(tf.tensor4d(R, [2, 3, 112, 112])).sum() as tf.Scalar;
        };
        return tf.grads(f)([...names.map((k, i) => tf.tensor(arrays.get(k)!, params[i]![1].shape as number[])), tf.tensor4d(x, [2, 3, 16, 16])]).map((g) => g.dataSync() as Float32Array);
      });
      const ours = [...await Promise.all(params.map(([, p]) => p.grad!.data())), await xt.grad!.data()];
      const fails: string[] = [];
      let worst = 0;
      [...names, 'input'].forEach((name, i) => {
        let d = 0;
        for (let j = 0; j < ref[i]!.length; j++) d = Math.max(d, Math.abs(ours[i]![j]! - ref[i]![j]!));
        worst = Math.max(worst, d / Math.max(maxAbs(ref[i]!), 1e-12));
        if (d > 1e-3 * maxAbs(ref[i]!) + 1e-6) fails.push(`${name}: max diff ${d.toExponential(2)}, max |ref| ${maxAbs(ref[i]!).toExponential(2)}`);
      });
      console.log(`UNet gradients: ${names.length} parameter tensors + input, worst max-diff / max|ref| ${worst.toExponential(2)}`);
      tf.dispose([...buffers.values()]);
      L.zeroGrad(params.map(([, p]) => p), true);
      xt.dispose();
      expect(fails).toEqual([]);
    } finally {
      m.dispose();
    }
  });

  it('dropout: seeded masks of 0 and 1/(1-p), about p dropped; none in eval mode; training mode asks for a seed', async () => {
    const x = L.ones([1, 4, 32, 32]);
    const a = await L.noGrad(() => dropout(x, 0.5, new L.Rng(3))).data();
    const b = await L.noGrad(() => dropout(x, 0.5, new L.Rng(3))).data();
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(a.every((v) => v === 0 || v === 2)).toBe(true);
    const dropped = a.filter((v) => v === 0).length / a.length;
    expect(Math.abs(dropped - 0.5)).toBeLessThan(0.05);
    x.dispose();
    const m = new UNet({ config: { ...small, depth: 6, dropout: 0.5 }, seed: 2 });
    try {
      expect(m.hasDropout(4)).toBe(true);
      const lr = L.rand([2, 3, 16, 16], 4);
      m.train();
      expect(() => L.tidy(() => m.forward(lr))).toThrow('UNet: training-mode dropout needs forward(lr, { dropoutSeed })');
      const s1 = await L.noGrad(() => m.forward(lr, { dropoutSeed: 1 })).data();
      const s1b = await L.noGrad(() => m.forward(lr, { dropoutSeed: 1 })).data();
      const s2 = await L.noGrad(() => m.forward(lr, { dropoutSeed: 2 })).data();
      expect(Array.from(s1b)).toEqual(Array.from(s1));
      expect(Array.from(s2)).not.toEqual(Array.from(s1));
      m.eval();
      const e1 = await L.noGrad(() => m.forward(lr)).data(), e2 = await L.noGrad(() => m.forward(lr, { dropoutSeed: 9 })).data();
      expect(Array.from(e2)).toEqual(Array.from(e1));
      lr.dispose();
    } finally {
      m.dispose();
    }
  });

  it('rejects bad inputs and configs with clear errors', () => {
    expect(() => new UNet({ config: { workSize: 100 } })).toThrow('UNet: workSize 100 is not divisible by 2^depth = 128');
    expect(() => new UNet({ config: { dropout: 1 } })).toThrow('UNet: dropout must be in [0, 1), got 1');
    const m = new UNet({ config: small, seed: 1 });
    try {
      L.tidy(() => {
        expect(() => m.forward(L.zeros([1, 3, 24, 24]))).toThrow('UNet: this model was built for 16x16 probes, got [1, 3, 24, 24]');
        expect(() => m.forward(L.zeros([1, 1, 16, 16]))).toThrow('UNet: expected 3 (RGB) input channels');
      });
    } finally {
      m.dispose();
    }
  });
});
