// Public surface of the runtime: device, engine, tensors, scopes, autograd, ops.
export * from './device.js';
export * from './engine.js';
export * from './tensor.js';
export * from './scope.js';
export * from './autograd.js';
export * from './shape.js';
export * from './random.js';
export * from './ops/index.js';
export * from './autotune.js';
export * from './macs.js';
export * from './shape-class.js';
import './tunables.js'; // registers the built-in tunables (matmul, conv, depthwise, ...)
