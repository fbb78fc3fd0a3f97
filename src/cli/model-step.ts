// The model workloads of `lrfr tune --model` and `lrfr profile --model`: a model with seeded weights,
// a seeded input batch, and one step (a forward, or with train a forward + backward of sum(y²)).
import { rand, noGrad, backward, sum, mul, zeroGrad, type Tensor } from '../runtime/index.js';
import { buildModel } from '../nn/registry.js';
import { AdamW } from '../train/optim.js';

export const STEP_MODELS = ['edgeface', 'mobilefacenet', 'dsr', 'dsr-paper', 'wdsr', 'unet'] as const;
export type StepModel = (typeof STEP_MODELS)[number];

export interface ModelStep {
  /** Input side (112 for the recognizers, the probe size for the super-resolvers). */
  side: number;
  /** The network's parameters (what a training step's backward gives gradients). */
  params: Tensor[];
  /** Records one step and returns its output (the caller scopes it: tidy / autotune). */
  step(): Tensor;
  /** Frees the gradients the training steps left on the parameters. */
  clearGrads(): void;
  dispose(): void;
}

/**
 * adamw (with train): the step ends with an AdamW update of every parameter (lr 1e-3, weight decay 0.01,
 * bench:models's training step), its gradients dropped before the next step as its zeroGrad does.
 */
export function modelStep(name: StepModel, batch: number, size: number, train: boolean, adamw = false): ModelStep {
  const net = name === 'edgeface' ? buildModel('edgeface-xxs', {}, 1)
    : name === 'mobilefacenet' ? buildModel('mobilefacenet', {}, 1)
    : name === 'wdsr' ? buildModel('wdsr', { inputSize: size }, 1)
    : name === 'unet' ? buildModel('unet', { inputSize: size }, 1)
    : buildModel('dsr', { preset: name === 'dsr-paper' ? 'paper' : 'cpu', inputSize: size }, 1);
  const side = name === 'edgeface' || name === 'mobilefacenet' ? 112 : size;
  // A forward is an inference forward (BatchNorm on its running statistics); a training step trains.
  if (!train) net.eval();
  const x = rand([batch, 3, side, side], 2, 0, 1);
  const clearGrads = () => zeroGrad(net.parameters(), true);
  const opt = train && adamw ? new AdamW(net.parameters(), { lr: 1e-3, weightDecay: 0.01 }) : null;
  return {
    side,
    params: net.parameters(),
    step() {
      if (!train) return noGrad(() => net.forward(x));
      // as a training step: the last step's gradients dropped (the optimizers' zeroGrad)
      clearGrads();
      // the UNet's training-mode dropout draws its masks from a seed per forward
      const y = name === 'unet' ? (net as unknown as { forward(x: Tensor, o: { dropoutSeed: number }): Tensor }).forward(x, { dropoutSeed: 1 }) : net.forward(x);
      backward(sum(mul(y, y)));
      opt?.step();
      return y;
    },
    clearGrads,
    dispose() {
      opt?.dispose();
      x.dispose();
      net.dispose();
    },
  };
}
