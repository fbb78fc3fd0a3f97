// lrfr sr in.png out.png [--model path.safetensors | bicubic]: super-resolves one face to 112x112.
import { writeFile } from 'node:fs/promises';
import { initNodeGPU } from '../node/gpu.js';
import { decodeImage, encodePng, type ChwImage } from '../train/image.js';
import { resizeBicubicCpu, clamp01, HR_SIZE } from '../train/degrade.js';
import { loadSuperResolver, evalAutotune } from '../train/eval.js';
import type { Io } from './eval.js';

export const SR_USAGE = `usage: lrfr sr in.png out.png [--model dsr.safetensors | bicubic] [--tune]

Super-resolves one face image (square, at most ${HR_SIZE}x${HR_SIZE}; any format sharp reads) to a
${HR_SIZE}x${HR_SIZE} PNG. bicubic (default) = plain bicubic upsampling (a = -0.75), the eval baseline.
A DSR model takes the probe size it was trained for; other sizes are resized to it first (bicubic).
--tune autotunes the model's kernels for this input shape first (minutes, once per adapter).
`;

const defaultIo: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export async function srCommand(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  const pos: string[] = [];
  let model = 'bicubic';
  let tune = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--model') {
      const v = argv[++i];
      if (v === undefined) { io.err(`lrfr sr: --model needs a value\n\n${SR_USAGE}`); return 2; }
      model = v;
    } else if (a.startsWith('--model=')) model = a.slice(8);
    else if (a === '--tune') tune = true;
    else if (a.startsWith('-')) { io.err(`lrfr sr: unknown option "${a}"\n\n${SR_USAGE}`); return 2; }
    else pos.push(a);
  }
  if (pos.length !== 2) { io.err(`lrfr sr: expected an input and an output file\n\n${SR_USAGE}`); return 2; }
  const [input, output] = pos as [string, string];
  let img: ChwImage;
  try {
    img = await decodeImage(input);
  } catch (e) {
    io.err(`lrfr sr: cannot read image ${input}: ${(e as Error).message}\n`);
    return 1;
  }
  if (img.h !== img.w) { io.err(`lrfr sr: ${input} is ${img.w}x${img.h}; expected a square face crop\n`); return 1; }
  if (img.h > HR_SIZE) { io.err(`lrfr sr: ${input} is ${img.w}x${img.h}; expected at most ${HR_SIZE}x${HR_SIZE}\n`); return 1; }
  try {
    if (model !== 'bicubic') await initNodeGPU();
    evalAutotune.enabled = tune; // --tune: the SR model's kernels for this input shape first (cached per adapter)
    const sr = await loadSuperResolver(model);
    try {
      let x = img;
      if (sr.sizes && !sr.sizes.includes(img.h)) {
        const S = sr.sizes.reduce((b, s) => (Math.abs(s - img.h) < Math.abs(b - img.h) ? s : b));
        io.err(`lrfr sr: the model takes ${S}x${S} probes; resizing ${img.w}x${img.h} to ${S}x${S} (bicubic)\n`);
        x = clamp01(resizeBicubicCpu(img, S, S, { antialias: S < img.h }));
      }
      const [y] = await sr.run([x]);
      await writeFile(output, await encodePng(y!));
    } finally {
      sr.dispose();
    }
  } catch (e) {
    io.err(`lrfr sr: ${(e as Error).message}\n`);
    return 1;
  }
  io.err(`lrfr sr: ${input} (${img.w}x${img.h}) -> ${output} (${HR_SIZE}x${HR_SIZE}, ${model})\n`);
  return 0;
}

export async function srMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SR_USAGE);
    return 0;
  }
  return srCommand(argv);
}
