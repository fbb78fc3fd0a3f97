// Tape-based reverse-mode autograd (micrograd-style: each output tensor points at the node that made
// it; backward() walks them in reverse topological order).
//
// An op records itself with record(name, inputs, out, backwardFn): backwardFn receives the gradient
// of `out` and returns one gradient per input (null where the input needs none). Gradients of
// leaves (parameters) accumulate in place into leaf.grad; interior gradients are freed as soon as
// they have been consumed.
import { Tensor, fmtShape } from './tensor.js';
import { tidy, keep } from './scope.js';

export interface GradNode {
  name: string;
  inputs: readonly Tensor[];
  backward: (gradOut: Tensor) => readonly (Tensor | PartialGrad | null)[];
}

/**
 * A gradient that is zero outside a region of its input (a slice's, a split piece's): backward()
 * materialises it where the input has no gradient yet, and adds it into the input's pending gradient
 * in place (the region only) where that gradient is a fresh tensor of this pass that nothing else
 * holds. So the pieces of a split cost one full pass and one pass over each other region, not a
 * padded copy each plus a full add per extra piece.
 */
export interface PartialGrad {
  readonly partial: true;
  /** The whole gradient (zeros outside the region), a fresh tensor shaped like the input. */
  materialize(): Tensor;
  /** dst += this gradient, over the region only (dst shaped like the input). */
  addInto(dst: Tensor): void;
}

const isPartial = (g: Tensor | PartialGrad): g is PartialGrad => (g as PartialGrad).partial === true;

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording ops for autograd (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Attaches the backward of an op to its output when any input needs a gradient. Returns out. */
export function record<T extends Tensor>(name: string, inputs: readonly Tensor[], out: T, backward: GradNode['backward']): T {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { name, inputs, backward };
  }
  return out;
}

/** Marks a tensor as a leaf that needs a gradient. */
export function requireGrad<T extends Tensor>(t: T): T {
  t.requiresGrad = true;
  return t;
}

// Kernels used by backward; bound by ops/index.ts (keeps this module free of op imports).
export const gradKernels: {
  onesLike: (t: Tensor) => Tensor;
  zerosLike: (t: Tensor) => Tensor;
  add: (a: Tensor, b: Tensor) => Tensor;
  addInPlace: (dst: Tensor, src: Tensor) => void;
  zeroInPlace: (t: Tensor) => void;
} = {
  onesLike: () => { throw new Error('autograd: kernels not registered (import src/runtime/index.ts)'); },
  zerosLike: () => { throw new Error('autograd: kernels not registered'); },
  add: () => { throw new Error('autograd: kernels not registered'); },
  addInPlace: () => { throw new Error('autograd: kernels not registered'); },
  zeroInPlace: () => { throw new Error('autograd: kernels not registered'); },
};

function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS (deep networks would overflow a recursive one).
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i]!;
      if (c.requiresGrad && !seen.has(c)) {
        seen.add(c);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/**
 * Back-propagates from `root`. gradOut defaults to ones (so root is normally a scalar loss).
 * Leaf gradients are accumulated into t.grad (kept tensors; zero them with zeroGrad()).
 */
export function backward(root: Tensor, gradOut?: Tensor): void {
  root.check('backward', 'root');
  if (!root.requiresGrad) throw new Error(`backward: ${root} does not require grad (no input of its graph has requiresGrad)`);
  if (gradOut && gradOut.size !== root.size) {
    throw new Error(`backward: gradient shape ${fmtShape(gradOut.shape)} does not match root ${fmtShape(root.shape)}`);
  }
  if (!gradOut && root.size !== 1) throw new Error(`backward: root ${fmtShape(root.shape)} is not a scalar; pass gradOut`);
  noGrad(() =>
    tidy(() => {
      const order = topoSort(root);
      const grads = new Map<Tensor, Tensor>();
      const refs = new Map<Tensor, number>(); // how many map entries hold a grad tensor
      // Pending gradients this pass made itself (materialised partials, sums) and has not yet handed
      // to a node: only the map holds them, so a partial gradient may be added into one in place.
      const owned = new Set<Tensor>();
      const taken = new Set<GPUBuffer>(); // buffers handed to leaves as their .grad in this pass
      const hold = (t: Tensor, g: Tensor) => {
        grads.set(t, g);
        refs.set(g, (refs.get(g) ?? 0) + 1);
      };
      const release = (g: Tensor) => {
        const n = (refs.get(g) ?? 1) - 1;
        if (n <= 0) {
          refs.delete(g);
          if (g !== gradOut) g.dispose();
        } else refs.set(g, n);
      };
      hold(root, gradOut ?? gradKernels.onesLike(root));
      for (const t of order) {
        const g = grads.get(t);
        if (!g) continue;
        owned.delete(g); // handed on: a node may return it (or views of it) for its inputs
        if (!t.node) {
          // A leaf's first gradient since zeroGrad(…, true): t.grad becomes a view of the gradient's
          // buffer (no zero fill, no accumulation pass) unless that buffer is the caller's gradOut, a
          // kept tensor's or already another leaf's grad in this pass. Gradients are fresh tensors
          // of this pass (or views of them), never written in place, and the pass's scope frees
          // every other tensor on the buffer, so the leaf ends up its only owner. Otherwise the
          // gradient is accumulated into the persistent .grad.
          if (!t.grad && !g.kept && g.buffer !== gradOut?.buffer && !taken.has(g.buffer)) {
            taken.add(g.buffer);
            t.grad = keep(g.viewAs(t.shape));
          } else {
            if (!t.grad) t.grad = keep(gradKernels.zerosLike(t));
            gradKernels.addInPlace(t.grad, g);
          }
        } else {
          const node = t.node;
          for (const x of node.inputs) x.check(`${node.name} backward`, 'saved');
          const gins = node.backward(g);
          if (gins.length !== node.inputs.length) throw new Error(`${node.name} backward returned ${gins.length} gradients for ${node.inputs.length} inputs`);
          gins.forEach((gk, k) => {
            const x = node.inputs[k]!;
            if (!gk || !x.requiresGrad) return;
            const prev = grads.get(x);
            let gi: Tensor;
            if (isPartial(gk)) {
              if (prev && owned.has(prev) && refs.get(prev) === 1) {
                gk.addInto(prev);
                return;
              }
              gi = gk.materialize();
              if (!prev) owned.add(gi);
            } else gi = gk;
            if (gi.size !== x.size) throw new Error(`${node.name} backward: gradient ${fmtShape(gi.shape)} for input ${fmtShape(x.shape)}`);
            if (!prev) hold(x, gi);
            else {
              const sum = gradKernels.add(prev, gi);
              release(prev);
              if (gi !== gk) gi.dispose();
              grads.delete(x);
              owned.delete(prev);
              hold(x, sum);
              owned.add(sum);
            }
          });
        }
        grads.delete(t);
        release(g);
      }
    }),
  );
}

/** Zeroes (in place) the gradients of the given tensors. */
export function zeroGrad(params: Iterable<Tensor>, setToNull = false): void {
  for (const p of params) {
    if (!p.grad) continue;
    if (setToNull) {
      p.grad.dispose();
      p.grad = null;
    } else {
      noGrad(() => gradKernels.zeroInPlace(p.grad!));
    }
  }
}
