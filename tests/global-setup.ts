// Bundles shaders/*.wgsl before any test imports the runtime.
// @ts-expect-error plain ESM script without types
import { genShaders } from '../scripts/gen-shaders.mjs';

export default function setup(): void {
  genShaders();
}
