// Per test file: the WebGPU device (Dawn on this machine's Vulkan driver) and tfjs on its CPU backend.
import * as tf from '@tensorflow/tfjs';
import { initNodeGPU } from '../src/node/gpu.js';
import '../src/runtime/index.js';

await initNodeGPU();
await tf.setBackend('cpu');
(tf.backend() as unknown as { firstUse: boolean }).firstUse = false; // no tfjs-node banner
