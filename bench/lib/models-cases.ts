// The models of the model benchmark, each twice: ours (src/nn) and the same network in tfjs
// (tests/reference: edgeface-tfjs.ts, dsr-tfjs.ts, and face-api's own FaceRecognitionNet for dlib),
// on the same seeded weights and inputs.
//
//  - EdgeFace-XXS, 112x112 normalised input (U(-1, 1)). Weights: the test randomisation of
//    tests/models/edgeface.test.ts (conv/linear N(0, 1/fanIn), layer scales U(.3, .7), ...), because
//    timm's init (layer scales 1e-6) makes every block the identity and a comparison meaningless.
//    Training loss: sum(emb · R), R a fixed N(0, 1) [N, 512] matrix.
//  - DSR-cpu / DSR-paper, 32x32 RGB in [0, 1) -> 112x112. Weights N(0, 1/fanIn), biases N(0, .05²)
//    (as tests/models/dsr.test.ts). Training loss (DSR-cpu): mean |SR − T|, T a fixed U(0, 1)
//    [N, 3, 112, 112] target.
//  - dlib ResNet-34: face-api's shipped weights (ours: loadDlibFromFaceApi, scale layers folded into
//    the convs; peer: face-api's FaceRecognitionNet.loadFromDisk), 150x150 RGB in 0..255, uniform noise.
//    The peer is face-api's own forwardInput (NetInput of N HWC tensors: stack, mean subtraction, net).
// Training: ours AdamW(lr 1e-3, weight decay 0.01, grads zeroed in place); tfjs tf.train.adam(1e-3)
// via optimizer.minimize over tf.variables holding the same weights (tfjs has no AdamW; decoupled
// decay costs nothing extra in our fused kernel, it would be two more ops per tensor in tfjs).
import { join } from 'node:path';
import * as rt from '../../src/runtime/index.js';
import type { Tensor } from '../../src/runtime/tensor.js';
import type { EdgeFaceXXS } from '../../src/nn/edgeface.js';
import { DSR_CPU, DSR_PAPER, dsrFlops, type DSR, type DsrConfig } from '../../src/nn/dsr.js';
import { buildModel } from '../../src/nn/registry.js';
import type { DlibResNet } from '../../src/nn/dlib-resnet.js';
import { loadDlibFromFaceApi } from '../../src/node/dlib.js';
import { AdamW } from '../../src/train/optim.js';
import { edgefaceTf, randomizeEdgeFaceForTest } from '../../tests/reference/edgeface-tfjs.js';
import { dsrTf, dsrTfShapes, type DsrTfConfig } from '../../tests/reference/dsr-tfjs.js';
import { loadFaceApi, faceApiDir } from '../../tests/reference/faceapi.js';
import { tf } from './peers.js';
import type { PeerExport } from './peer-files.js';

/** One configured run of our model: step() records one launch (called inside rt.tidy). */
export interface OursRun {
  step(): Tensor[];
  /** Batch-1 outputs to compare (forward: the output; training: loss then every parameter's grad). */
  check(): Tensor[];
  dispose(): void;
}

/** One configured run of the tfjs peer on the current backend: step() runs inside tf.tidy. */
export interface PeerRun {
  step(): tf.Tensor | void;
  check(): tf.Tensor[];
  dispose(): void;
}

export interface ModelBench {
  /** e.g. "EdgeFace-XXS". */
  name: string;
  input: string;
  /** Forward FLOPs per image (2 x conv/linear MACs), where the model counts them. */
  flopsPerImage?: number;
  params: number;
  /** Training loss, when the model has a training case. */
  trainLoss?: string;
  prepare(): Promise<void>;
  oursForward(n: number): OursRun;
  /** Builds the peer's weights and inputs on the current tfjs backend (untimed). */
  peerForward(n: number): Promise<PeerRun>;
  oursTrain?(n: number): OursRun;
  peerTrain?(n: number): Promise<PeerRun>;
  /** What the PyTorch / ONNX Runtime peers need (after prepare()): kind, config, weights, inputs. */
  peerExport?(): PeerExport;
  dispose(): void;
}

export const MAX_BATCH = 32;
const LR = 1e-3;

type Arrays = Map<string, { data: Float32Array; shape: number[] }>;

const fanIn = (shape: readonly number[]) => shape.slice(1).reduce((a, b) => a * b, 1);

/** Reads every parameter back (the peers get exactly these numbers). */
async function readParams(params: [string, Tensor][]): Promise<Arrays> {
  const m: Arrays = new Map();
  for (const [k, p] of params) m.set(k, { data: await p.data(), shape: [...p.shape] });
  return m;
}

/** Writes the saved arrays back into the parameters (after a training case stepped them). */
function restoreParams(params: [string, Tensor][], arrays: Arrays): void {
  const e = rt.getEngine();
  for (const [k, p] of params) e.upload(p.buffer, arrays.get(k)!.data);
}

/** Peer weights on the current backend: plain tensors (forward) or tf.variables (training). */
function peerWeights(arrays: Arrays, variables: boolean): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>();
  for (const [k, v] of arrays) {
    const t = tf.tensor(v.data, v.shape);
    if (!variables) m.set(k, t);
    else {
      m.set(k, tf.variable(t, true));
      t.dispose();
    }
  }
  return m;
}

function first(a: Float32Array, n: number): Float32Array {
  return a.subarray(0, n);
}

/** Generic training pieces shared by EdgeFace and DSR: ours = AdamW; peer = tf.train.adam. */
function oursTrainRun(params: Tensor[], loss: () => Tensor, onDispose: () => void): OursRun {
  const opt = new AdamW(params, { lr: LR, weightDecay: 0.01 });
  return {
    step: () => {
      opt.zeroGrad();
      const l = loss();
      rt.backward(l);
      opt.step();
      return [l];
    },
    check: () => {
      rt.zeroGrad(params, true);
      const l = loss();
      rt.backward(l);
      return [l, ...params.map((p) => p.grad!)];
    },
    dispose: () => {
      opt.dispose();
      rt.zeroGrad(params, true);
      onDispose();
    },
  };
}

function peerTrainRun(vars: tf.Variable[], loss: () => tf.Scalar, onDispose: () => void): PeerRun {
  const opt = tf.train.adam(LR);
  return {
    step: () => void opt.minimize(loss, false, vars),
    check: () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      return [value, ...vars.map((v) => grads[v.name]!)];
    },
    dispose: () => {
      opt.dispose();
      tf.dispose(vars);
      onDispose();
    },
  };
}

// ---- EdgeFace-XXS -----------------------------------------------------------------------------

export function edgefaceBench(): ModelBench {
  const S = 112, px = 3 * S * S;
  let model: EdgeFaceXXS | null = null;
  let arrays: Arrays = new Map();
  const x = rt.randArray(MAX_BATCH * px, 101, -1, 1); // normalised input, (x01 - .5) / .5
  const R = rt.randnArray(MAX_BATCH * 512, 102);
  const self: ModelBench = {
    name: 'EdgeFace-XXS',
    input: '3×112×112',
    params: 0,
    trainLoss: 'sum(emb · R), R fixed N(0,1) [N,512]',
    async prepare() {
      model = buildModel('edgeface-xxs', {}, 5);
      randomizeEdgeFaceForTest(model, 6);
      arrays = await readParams(model.namedParameters());
      self.flopsPerImage = model.flops(S).flops;
      self.params = model.countParams();
    },
    oursForward(n) {
      const m = model!;
      const xt = rt.keep(rt.tensor(first(x, n * px), [n, 3, S, S]));
      const f = () => [rt.noGrad(() => m.forward(xt))];
      return { step: f, check: f, dispose: () => xt.dispose() };
    },
    async peerForward(n) {
      const w = peerWeights(arrays, false);
      const xt = tf.tensor4d(first(x, n * px), [n, 3, S, S]);
      return { step: () => edgefaceTf(w, xt), check: () => [edgefaceTf(w, xt)], dispose: () => tf.dispose([...w.values(), xt]) };
    },
    oursTrain(n) {
      const m = model!;
      const named = m.namedParameters();
      const xt = rt.keep(rt.tensor(first(x, n * px), [n, 3, S, S]));
      const r = rt.keep(rt.tensor(first(R, n * 512), [n, 512]));
      return oursTrainRun(m.parameters(), () => rt.sum(rt.mul(m.forward(xt), r)), () => {
        rt.dispose([xt, r]);
        restoreParams(named, arrays);
      });
    },
    async peerTrain(n) {
      const w = peerWeights(arrays, true);
      const xt = tf.tensor4d(first(x, n * px), [n, 3, S, S]);
      const r = tf.tensor2d(first(R, n * 512), [n, 512]);
      return peerTrainRun([...w.values()] as tf.Variable[], () => tf.sum(tf.mul(edgefaceTf(w, xt), r)) as tf.Scalar, () => tf.dispose([xt, r]));
    },
    peerExport() {
      const m = model!;
      return {
        kind: 'edgeface', config: m.config, weights: arrays, params: m.namedParameters().map(([k]) => k),
        x: { data: x, shape: [MAX_BATCH, 3, S, S] }, aux: { data: R, shape: [MAX_BATCH, 512] },
      };
    },
    dispose() {
      model?.dispose();
      model = null;
    },
  };
  return self;
}

// ---- DSR --------------------------------------------------------------------------------------

function randomizeDsr(m: DSR, seed: number): void {
  const rng = new rt.Rng(seed);
  for (const [name, p] of m.namedParameters()) {
    const a = new Float32Array(p.size);
    const fi = fanIn(p.shape);
    for (let i = 0; i < a.length; i++) a[i] = name.endsWith('.bias') ? 0.05 * rng.normal() : rng.normal() / Math.sqrt(fi);
    rt.getEngine().upload(p.buffer, a);
  }
}

export function dsrBench(which: 'cpu' | 'paper'): ModelBench {
  const cfg: DsrConfig = which === 'cpu' ? DSR_CPU : DSR_PAPER;
  const S = cfg.inputSize, O = cfg.outputSize, px = 3 * S * S, opx = 3 * O * O;
  let model: DSR | null = null;
  let arrays: Arrays = new Map();
  const x = rt.randArray(MAX_BATCH * px, 201);
  const target = which === 'cpu' ? rt.randArray(MAX_BATCH * opx, 202) : new Float32Array(0);
  const tfCfg = cfg as DsrTfConfig;
  const self: ModelBench = {
    name: `DSR-${which}`,
    input: `3×${S}×${S} → 3×${O}×${O} (C=${cfg.channels}, B=${cfg.blocks})`,
    flopsPerImage: dsrFlops(cfg).flops,
    params: 0,
    trainLoss: which === 'cpu' ? 'mean |SR − T|, T fixed U(0,1) [N,3,112,112]' : undefined,
    async prepare() {
      model = buildModel('dsr', { preset: which }, 7);
      randomizeDsr(model, 8);
      arrays = await readParams(model.namedParameters());
      self.params = model.countParams();
      // dsr-tfjs takes the PyTorch shapes from its own table; check they agree with ours.
      for (const [k, shape] of dsrTfShapes(tfCfg)) {
        const a = arrays.get(k);
        if (!a || a.shape.join() !== shape.join()) throw new Error(`DSR: parameter ${k} ${a?.shape} vs dsr-tfjs ${shape}`);
      }
    },
    oursForward(n) {
      const m = model!;
      const xt = rt.keep(rt.tensor(first(x, n * px), [n, 3, S, S]));
      const f = () => [rt.noGrad(() => m.forward(xt))];
      return { step: f, check: f, dispose: () => xt.dispose() };
    },
    async peerForward(n) {
      const w = peerWeights(arrays, false);
      const xt = tf.tensor4d(first(x, n * px), [n, 3, S, S]);
      return { step: () => dsrTf(tfCfg, w, xt), check: () => [dsrTf(tfCfg, w, xt)], dispose: () => tf.dispose([...w.values(), xt]) };
    },
    peerExport() {
      return {
        kind: 'dsr', config: cfg, weights: arrays, params: model!.namedParameters().map(([k]) => k),
        x: { data: x, shape: [MAX_BATCH, 3, S, S] }, aux: which === 'cpu' ? { data: target, shape: [MAX_BATCH, 3, O, O] } : undefined,
      };
    },
    dispose() {
      model?.dispose();
      model = null;
    },
  };
  if (which === 'cpu') {
    self.oursTrain = (n) => {
      const m = model!;
      const named = m.namedParameters();
      const xt = rt.keep(rt.tensor(first(x, n * px), [n, 3, S, S]));
      const t = rt.keep(rt.tensor(first(target, n * opx), [n, 3, O, O]));
      return oursTrainRun(m.parameters(), () => rt.l1Loss(m.forward(xt), t), () => {
        rt.dispose([xt, t]);
        restoreParams(named, arrays);
      });
    };
    self.peerTrain = async (n) => {
      const w = peerWeights(arrays, true);
      const xt = tf.tensor4d(first(x, n * px), [n, 3, S, S]);
      const t = tf.tensor4d(first(target, n * opx), [n, 3, O, O]);
      return peerTrainRun([...w.values()] as tf.Variable[], () => tf.mean(tf.abs(tf.sub(dsrTf(tfCfg, w, xt), t))) as tf.Scalar, () => tf.dispose([xt, t]));
    };
  }
  return self;
}

// ---- dlib ResNet-34 (face-api) ----------------------------------------------------------------

interface FaceRecognitionNetLike {
  loadFromDisk(path: string): Promise<void>;
  forwardInput(input: unknown): tf.Tensor2D;
  dispose(): void;
}
interface FaceApiModule {
  FaceRecognitionNet: new () => FaceRecognitionNetLike;
  toNetInput(input: tf.Tensor3D[]): Promise<unknown>;
}

export function dlibBench(): ModelBench {
  const S = 150, px = 3 * S * S;
  let model: DlibResNet | null = null;
  const x = rt.randArray(MAX_BATCH * px, 301, 0, 255); // NCHW, RGB 0..255
  // face-api takes HWC images.
  const hwc = new Float32Array(x.length);
  for (let n = 0; n < MAX_BATCH; n++) {
    for (let c = 0; c < 3; c++) for (let i = 0; i < S * S; i++) hwc[n * px + i * 3 + c] = x[n * px + c * S * S + i]!;
  }
  const nets = new Map<string, FaceRecognitionNetLike>(); // one per tfjs backend, weights loaded there
  const self: ModelBench = {
    name: 'dlib ResNet-34',
    input: '3×150×150 (face-api weights)',
    params: 0,
    async prepare() {
      model = await loadDlibFromFaceApi(); // eval, scale layers folded into the convs
      self.params = model.numParameters();
    },
    oursForward(n) {
      const m = model!;
      const xt = rt.keep(rt.tensor(first(x, n * px), [n, 3, S, S]));
      const f = () => [rt.noGrad(() => m.forward(xt))];
      return { step: f, check: f, dispose: () => xt.dispose() };
    },
    async peerForward(n) {
      const fa = loadFaceApi() as unknown as FaceApiModule;
      const be = tf.getBackend();
      let net = nets.get(be);
      if (!net) {
        net = new fa.FaceRecognitionNet();
        await net.loadFromDisk(join(faceApiDir(), 'model'));
        nets.set(be, net);
      }
      const imgs = Array.from({ length: n }, (_, i) => tf.tensor3d(hwc.subarray(i * px, (i + 1) * px), [S, S, 3]));
      const input = await fa.toNetInput(imgs);
      const nt = net;
      return { step: () => nt.forwardInput(input), check: () => [nt.forwardInput(input)], dispose: () => tf.dispose(imgs) };
    },
    dispose() {
      model?.dispose();
      model = null;
      for (const n of nets.values()) n.dispose();
      nets.clear();
    },
  };
  return self;
}

export function allModels(): ModelBench[] {
  return [edgefaceBench(), dsrBench('cpu'), dlibBench(), dsrBench('paper')];
}
