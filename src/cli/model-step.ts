// The model workloads of `lrfr tune --model` and `lrfr profile --model`: a model with seeded weights,
// a seeded input batch, and one step (a forward, or with train a forward + backward of sum(y²)).
import { rand, noGrad, backward, sum, mul, zeroGrad, type Tensor } from '../runtime/index.js';
import { buildModel } from '../nn/registry.js';

export const STEP_MODELS = ['edgeface', 'dsr', 'dsr-paper'] as const;
export type StepModel = (typeof STEP_MODELS)[number];

export interface ModelStep {
  /** Input side (112 for EdgeFace, the probe size for DSR). */
  side: number;
  /** Records one step and returns its output (the caller scopes it: tidy / autotune). */
  step(): Tensor;
  /** Frees the gradients the training steps left on the parameters. */
  clearGrads(): void;
  dispose(): void;
}

export function modelStep(name: StepModel, batch: number, size: number, train: boolean): ModelStep {
  const net = name === 'edgeface'
    ? buildModel('edgeface-xxs', {}, 1)
    : buildModel('dsr', { preset: name === 'dsr-paper' ? 'paper' : 'cpu', inputSize: size }, 1);
  const side = name === 'edgeface' ? 112 : size;
  const x = rand([batch, 3, side, side], 2, 0, 1);
  return {
    side,
    step() {
      if (!train) return noGrad(() => net.forward(x));
      const y = net.forward(x);
      backward(sum(mul(y, y)));
      return y;
    },
    clearGrads: () => zeroGrad(net.parameters(), true),
    dispose() {
      x.dispose();
      net.dispose();
    },
  };
}
