// The ONNX Runtime peer: onnxruntime-node (CPU execution provider, 2 intra-op threads) running the
// forward graphs the PyTorch peer exports (torch.onnx.export, dynamic batch axis; input "x", output
// "y"). Imported lazily: a machine without the package still runs the rest of the benchmark.
export const ORT_THREADS = 2;

type Ort = typeof import('onnxruntime-node');
let ortModule: Ort | null = null;

/** Loads onnxruntime-node; returns its version, or throws an error that says what is missing. */
export async function loadOrt(): Promise<string> {
  try {
    ortModule = await import('onnxruntime-node');
  } catch (e) {
    throw new Error(`onnxruntime-node is not installed or does not load (${((e as Error).message ?? String(e)).split('\n')[0]}); it is a devDependency: npm ci`);
  }
  return ortModule.env.versions?.node ?? 'unknown';
}

export interface OrtRun {
  /** One launch: session.run on the batch (awaited). */
  run(): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** A session on `onnxPath` fed `x` ([n, ...shape]); sequential execution, 2 intra-op threads. */
export async function ortRun(onnxPath: string, x: Float32Array, shape: number[]): Promise<OrtRun> {
  const ort = ortModule;
  if (!ort) throw new Error('onnxruntime-node not loaded (call loadOrt first)');
  const session = await ort.InferenceSession.create(onnxPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: ORT_THREADS,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = { x: new ort.Tensor('float32', x, shape) };
  return {
    run: async () => {
      const out = await session.run(feeds);
      const y = out.y;
      if (!y) throw new Error(`onnxruntime: the graph has no output "y" (outputs: ${Object.keys(out).join(', ')})`);
      return y.data as Float32Array;
    },
    dispose: () => session.release(),
  };
}
