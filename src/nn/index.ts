export * from './module.js';
export * from './layers.js';
export * from './safetensors.js';
export * from './tfjs-weights.js';
export * from './edgeface.js';
