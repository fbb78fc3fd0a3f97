// Every op of the runtime. One module per op family, forward and backward side by side.
import { gradKernels } from '../autograd.js';
import { onesLike, zerosLike, add, addInPlace, fillInPlace } from './elementwise.js';

export * from './elementwise.js';
export * from './reduce.js';

gradKernels.onesLike = onesLike;
gradKernels.zerosLike = zerosLike;
gradKernels.add = add;
gradKernels.addInPlace = (dst, src) => void addInPlace(dst, src);
gradKernels.zeroInPlace = (t) => void fillInPlace(t, 0);
