export * from './module.js';
export * from './layers.js';
export * from './safetensors.js';
export * from './tfjs-weights.js';
export * from './edgeface.js';
export * from './dsr.js';
export * from './dlib-resnet.js';
export * from './registry.js';
