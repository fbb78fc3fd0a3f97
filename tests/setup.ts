// Per test file: the WebGPU device (Dawn on this machine's Vulkan driver) and tfjs on its CPU backend.
import * as tf from '@tensorflow/tfjs';
import { initNodeGPU } from '../src/node/gpu.js';
import '../src/runtime/index.js';
import { tunePrimer } from '../src/runtime/autotune.js';

await initNodeGPU();
// Tests time nothing and print no progress: the autotuner compiles each variant at its first run
// (tests/autotune.test.ts checks the primer hook itself).
tunePrimer.fn = null;
await tf.setBackend('cpu');
(tf.backend() as unknown as { firstUse: boolean }).firstUse = false; // no tfjs-node banner
