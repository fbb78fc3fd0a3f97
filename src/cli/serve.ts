// lrfr serve [--port N]: the browser app (web/app) on 127.0.0.1; prints the URL, runs until Ctrl+C.
import { startAppServer } from '../node/serve.js';

export const SERVE_USAGE = `usage: lrfr serve [--port N] [--weights DIR]

Bundles the browser app (web/app, with esbuild, from the same src/runtime + src/nn as Node) and
serves it on http://127.0.0.1:N/ (default 8080; 0 picks a free port), with the weights in weights/
(or DIR) and face-api's detector and landmark weights. Open the printed URL in a browser with
WebGPU (Chrome/Edge 113+; Linux: --enable-unsafe-webgpu). Ctrl+C stops it.
`;

export async function serveMain(argv: string[]): Promise<number> {
  let port = 8080;
  let weightsDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string | undefined => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]);
    if (a === '--help' || a === '-h') { process.stdout.write(SERVE_USAGE); return 0; }
    if (a === '--port' || a.startsWith('--port=')) {
      const v = val();
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < 0 || n > 65535) { process.stderr.write(`lrfr serve: --port needs an integer 0..65535, got ${v ?? 'nothing'}\n\n${SERVE_USAGE}`); return 2; }
      port = n;
    } else if (a === '--weights' || a.startsWith('--weights=')) {
      weightsDir = val();
      if (!weightsDir) { process.stderr.write(`lrfr serve: --weights needs a folder\n\n${SERVE_USAGE}`); return 2; }
    } else { process.stderr.write(`lrfr serve: unknown option "${a}"\n\n${SERVE_USAGE}`); return 2; }
  }
  let server;
  try {
    server = await startAppServer({ port, weightsDir });
  } catch (e) {
    process.stderr.write(`lrfr serve: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`lrfr serve: app bundled (${(server.bundleBytes / 2 ** 20).toFixed(1)} MiB in ${(server.bundleMs / 1000).toFixed(1)} s)\n`);
  process.stdout.write(`lrfr serve: open ${server.url}  (Ctrl+C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  process.stdout.write('lrfr serve: stopped\n');
  return 0;
}
