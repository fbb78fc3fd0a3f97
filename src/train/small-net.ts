// A small network on a fixed synthetic task, used by the test suite to check that the whole stack
// (convs, GELU, LayerNorm2d, pooling, linear, ArcFace, cross-entropy, autograd, AdamW) trains, and
// that a training step allocates no new GPU memory once warm.
import * as L from '../runtime/index.js';
import { Module, Conv2d, LayerNorm2d, Linear } from '../nn/index.js';
import { AdamW } from './optim.js';

export class SmallNet extends Module {
  readonly c1: Conv2d;
  readonly n1: LayerNorm2d;
  readonly c2: Conv2d;
  readonly fc: Linear;
  readonly head: L.Tensor; // ArcFace class centres [K, D]
  constructor(readonly classes: number, rng: L.Rng) {
    super();
    this.c1 = this.child('c1', new Conv2d(3, 8, 3, { padding: 1, rng }));
    this.n1 = this.child('n1', new LayerNorm2d(8));
    this.c2 = this.child('c2', new Conv2d(8, 16, 3, { stride: 2, padding: 1, rng }));
    this.fc = this.child('fc', new Linear(16, 32, { rng }));
    this.head = this.param('head', L.randn([classes, 32], rng.int(1 << 30), 0.1));
  }
  embed(x: L.Tensor): L.Tensor {
    let h = L.gelu(this.c1.forward(x));
    h = this.n1.forward(h);
    h = L.gelu(this.c2.forward(h));
    h = L.globalAvgPool(h);
    return this.fc.forward(L.reshape(h, [x.shape[0]!, 16]));
  }
  loss(x: L.Tensor, labels: number[]): L.Tensor {
    const logits = L.arcfaceHead(this.embed(x), this.head, labels, { s: 16, m1: 1, m2: 0.2, m3: 0 });
    return L.crossEntropy(logits, labels);
  }
}

/** Class templates + Gaussian noise; the same seed gives the same batches. */
export class SyntheticFaces {
  private templates: Float32Array[];
  private rng: L.Rng;
  constructor(readonly classes: number, readonly size = 16, seed = 7, readonly noise = 0.6) {
    const r = new L.Rng(seed);
    this.templates = Array.from({ length: classes }, () => Float32Array.from({ length: 3 * size * size }, () => r.normal()));
    this.rng = new L.Rng(seed + 1);
  }
  batch(n: number): { x: Float32Array; labels: number[] } {
    const d = 3 * this.size * this.size;
    const x = new Float32Array(n * d);
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = this.rng.int(this.classes);
      labels.push(k);
      const t = this.templates[k]!;
      for (let j = 0; j < d; j++) x[i * d + j] = t[j]! + this.noise * this.rng.normal();
    }
    return { x, labels };
  }
}

export interface SmallRunResult {
  losses: number[];
  bytesAllocatedAt: Map<number, number>;
}

/** Trains `steps` steps (batch n); one await per step (the loss). */
export async function trainSmallNet(steps: number, n = 16, seed = 1, record: number[] = []): Promise<SmallRunResult> {
  const rng = new L.Rng(seed);
  const net = new SmallNet(4, rng);
  const data = new SyntheticFaces(4, 16, seed + 10);
  const opt = new AdamW(net.parameters(), { lr: 3e-3, weightDecay: 1e-4 });
  const losses: number[] = [];
  const bytesAllocatedAt = new Map<number, number>();
  const xT = L.keep(L.zeros([n, 3, 16, 16]));
  for (let step = 1; step <= steps; step++) {
    const { x, labels } = data.batch(n);
    L.getEngine().upload(xT.buffer, x);
    const loss = L.tidy(() => {
      opt.zeroGrad();
      const l = net.loss(xT, labels);
      L.backward(l);
      opt.step();
      return l;
    });
    losses.push(await loss.item());
    loss.dispose();
    if (record.includes(step)) bytesAllocatedAt.set(step, L.getEngine().pool.getStats().bytesAllocated);
  }
  xT.dispose();
  opt.dispose();
  net.dispose();
  return { losses, bytesAllocatedAt };
}
