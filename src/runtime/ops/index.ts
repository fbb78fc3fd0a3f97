// Every op of the runtime. One module per op family, forward and backward side by side.
import { gradKernels } from '../autograd.js';
import { onesLike, zerosLike, add, addInPlace, fillInPlace } from './elementwise.js';

export * from './elementwise.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './conv.js';
export * from './norm.js';
export * from './pool.js';
export * from './softmax.js';
export * from './attention.js';
export * from './layout.js';
export * from './residual.js';
export * from './pixelshuffle.js';
export * from './resize.js';
export * from './haar.js';
export * from './weightnorm.js';
export * from './activation.js';
export * from './loss.js';
export * from './margin.js';

gradKernels.onesLike = onesLike;
gradKernels.zerosLike = zerosLike;
gradKernels.add = add;
gradKernels.addInPlace = (dst, src) => void addInPlace(dst, src);
gradKernels.zeroInPlace = (t) => void fillInPlace(t, 0);
