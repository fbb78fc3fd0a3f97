// Derives the canonical alignment positions of src/nn/face-detect.ts (ALIGN_TEMPLATE_112): runs our
// TinyFaceDetector (input 416) + tiny landmark net (face-api's weights) over the first image of each
// of the first N people of BLUFR split1 train1.xml (deep-funneled LFW, training people only), maps
// each face's five alignment points into the project's 112 crop ((p - (53, 41)) * 112 / 143, see
// ../shared/data/README.md), and prints their mean and spread. Deep-funneled LFW centres the
// labelled person, but other people's faces are often in the picture too: the face used is the
// best-scoring detection whose box contains the image centre; images with none are skipped (counted).
//   npx tsx scripts/derive-face-template.mts [N=300]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initNodeGPU } from '../src/node/gpu.js';
import { loadTinyFaceDetectorFromFaceApi, loadLandmarkTinyFromFaceApi } from '../src/node/face-detect.js';
import { detectFaces, detectLandmarks, fivePoints } from '../src/nn/face-detect.js';
import { decodeImage } from '../src/train/image.js';
import { parseSigset } from '../src/train/protocol.js';
import { resolveDataRoot, ARCFACE_WINDOW } from '../src/train/data.js';

const N = Number(process.argv[2] ?? 300);
await initNodeGPU();
const root = resolveDataRoot();
const refs = parseSigset(readFileSync(join(root, 'lfw-protocol/openbr-sigset/BLUFR/split1/train1.xml'), 'utf8'));
const seen = new Set<string>();
const files: string[] = [];
for (const r of refs) {
  if (seen.has(r.person)) continue;
  seen.add(r.person);
  files.push(r.path);
  if (files.length === N) break;
}
const det = await loadTinyFaceDetectorFromFaceApi();
const lm = await loadLandmarkTinyFromFaceApi();
const s = ARCFACE_WINDOW.out / ARCFACE_WINDOW.size;
const pts: number[][] = [];
let skipped = 0;
const t0 = performance.now();
for (const f of files) {
  const img = await decodeImage(join(root, 'lfw-deepfunneled', f));
  const cx = img.w / 2, cy = img.h / 2;
  const face = (await detectFaces(det, img)).find((b) => b.x <= cx && cx <= b.x + b.width && b.y <= cy && cy <= b.y + b.height);
  if (!face) { skipped++; continue; }
  const five = fivePoints(await detectLandmarks(lm, img, face));
  pts.push(five.flatMap((p) => [(p.x - ARCFACE_WINDOW.x) * s, (p.y - ARCFACE_WINDOW.y) * s]));
}
const n = pts.length;
const mean = Array.from({ length: 10 }, (_, k) => pts.reduce((a, p) => a + p[k]!, 0) / n);
const sd = Array.from({ length: 10 }, (_, k) => Math.sqrt(pts.reduce((a, p) => a + (p[k]! - mean[k]!) ** 2, 0) / (n - 1)));
const names = ['left eye', 'right eye', 'nose tip', 'mouth left', 'mouth right'];
console.log(`${n} faces (${skipped} skipped: no detection over the image centre) of ${files.length}, ${((performance.now() - t0) / files.length).toFixed(0)} ms/image`);
names.forEach((nm, i) => console.log(`${nm}: (${mean[2 * i]!.toFixed(3)}, ${mean[2 * i + 1]!.toFixed(3)}) sd (${sd[2 * i]!.toFixed(3)}, ${sd[2 * i + 1]!.toFixed(3)})`));
process.exit(0);
