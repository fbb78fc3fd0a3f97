// Where the subgroup matmul's time goes on this adapter, by taking parts out:
//   npx tsx bench/probe-matmul-ablation.ts [rounds]
// On EdgeFace-XXS's largest training-step products (the default block, vec4 reads and, where N % 4
// == 0, vec4 stores; autotuned choices off), four programs
// take turns (bench/lib/alternate.ts): the kernel as shipped; its operand reads hoisted out of the
// k-loop (read once at the first k, then reused: the same multiply-adds and broadcasts, no reads per
// step); its stores cut to one per row (the sum of the row's accumulators: the same arithmetic, 1/32
// of the stores); and both. Ablated programs compute wrong products on purpose: they are timed only,
// never used. The difference to the shipped kernel is what the reads / stores cost; what is left with
// both gone is the multiply-adds, broadcasts, accumulator spills and loop. The engine's run() is wrapped
// in this process only, rewriting the generated SG_STEP / SG_STORE of matmul_subgroup programs.
// Then what a linear's bias costs: linear(x, w, b) against linear(x, w) on the forward shapes,
// alternating (the bias is read once per tile and broadcast to the lanes: matmul-subgroup.ts).
// Needs an adapter with fixed 8-lane subgroups (lavapipe).
import { initNodeGPU } from '../src/node/gpu.js';
import { alternate, msPerCall } from './lib/alternate.js';
import { fixedSubgroupSize, getEngine, linear, matmul, randnArray, setAutotuneMode, tensor, type Program } from '../src/runtime/index.js';

await initNodeGPU();
setAutotuneMode('off'); // the default block on every product (the shipped table may pick others)
const rounds = Number(process.argv[2] ?? 7);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`probe-matmul-ablation: rounds must be a positive integer, got ${process.argv[2]}`);
if (fixedSubgroupSize() !== 8) {
  console.log(`this adapter has no fixed 8-lane subgroups (fixedSubgroupSize() = ${fixedSubgroupSize()}): the subgroup kernel does not run here`);
  process.exit(0);
}

type Mode = { hoist: boolean; oneStore: boolean };
// An operand read of a step: vec4 (av, bv, ag, bg = A[...] / B[...]) or scalar (a<i>_<x> = a_at(...), v<j>_<x> = b_at(...)).
const READ = /^\s*let ((av|bv|ag|bg)\w* = [AB]\[|(a|v)\d+_\d+ = (select\(0\.0, )?[ab]_at\()/;
// A row's stores: one column (out[o + j] = c<i>_<j> (+ bc<j>)) or four (OUT4: out[(o + j) >> 2u] = vec4<f32>(...)).
const STORE = /^\s*if \(n0 \+ \d+u < u\.N\) \{ out\[(o \+ \d+u|\(o \+ \d+u\) >> 2u)\] = .*; \}$/;

/** The operand reads of one k-step moved to the end of the declarations (read once, at the first k). */
function hoistReads(decl: string, step: string): { decl: string; step: string } {
  const lines = step.split('\n');
  const reads = lines.filter((l) => READ.test(l));
  if (!reads.length) throw new Error('probe-matmul-ablation: no operand reads found in SG_STEP (has the generator changed?)');
  return { decl: `${decl}\n${reads.map((l) => l.replace(/^ {4}/, '  ')).join('\n')}`, step: lines.filter((l) => !READ.test(l)).join('\n') };
}

/** Each row's stores replaced by one store of the sum of its accumulators (as a vec4 where out is vec4s). */
function oneStorePerRow(store: string): string {
  const out: string[] = [];
  let acc: string[] = [];
  let vec = false;
  for (const l of store.split('\n')) {
    if (STORE.test(l)) {
      acc.push(...(l.split('=').slice(1).join('=').match(/c\d+_\d+/g) ?? []));
      vec ||= l.includes('>> 2u');
      continue;
    }
    if (l.trim() === '} }' && acc.length) {
      const sum = acc.join(' + ');
      out.push(vec ? `    out[o >> 2u] = vec4<f32>(${sum});` : `    out[o] = ${sum};`);
      acc = [];
    }
    out.push(l);
  }
  if (!out.some((l) => l.includes('out[o] =') || l.includes('out[o >> 2u] ='))) throw new Error('probe-matmul-ablation: no stores found in SG_STORE (has the generator changed?)');
  return out.join('\n');
}

const eng = getEngine();
const run = eng.run.bind(eng);
let mode: Mode = { hoist: false, oneStore: false };
eng.run = (p: Program) => {
  if (p.shader !== 'matmul_subgroup' || (!mode.hoist && !mode.oneStore)) return run(p);
  const d = { ...p.defines } as Record<string, unknown>;
  if (mode.hoist) Object.assign(d, (({ decl, step }) => ({ SG_DECL: decl, SG_STEP: step }))(hoistReads(String(d.SG_DECL), String(d.SG_STEP))));
  if (mode.oneStore) d.SG_STORE = oneStorePerRow(String(d.SG_STORE));
  return run({ ...p, defines: d as Program['defines'] });
};

const modes: [string, Mode][] = [
  ['shipped', { hoist: false, oneStore: false }],
  ['no reads', { hoist: true, oneStore: false }],
  ['1 store/row', { hoist: false, oneStore: true }],
  ['neither', { hoist: true, oneStore: true }],
];
// [transA, transB, M, K, N]: forward (nt), input gradient (nn), weight gradient (tn) of EdgeFace-XXS at batch 32.
const shapes: [boolean, boolean, number, number, number][] = [
  [false, true, 1568, 88, 352], [false, false, 1568, 352, 88], [true, false, 96, 25088, 24],
  [false, true, 25088, 24, 96], [false, false, 25088, 96, 24], [false, true, 6272, 48, 192],
];
console.log(`ms per product, medians of ${rounds} alternating rounds of 5 products; reads, stores: shipped − ablated as a share of shipped; rest: "neither" as a share of shipped`);
console.log(`${'product'.padEnd(20)}${modes.map(([n]) => n.padStart(14)).join('')}   reads  stores  rest`);
for (const [tA, tB, M, K, N] of shapes) {
  const a = tensor(randnArray(M * K, 1), tA ? [K, M] : [M, K]);
  const b = tensor(randnArray(K * N, 2), tB ? [N, K] : [K, N]);
  const ms = await alternate(modes.length, rounds, (i) => {
    mode = modes[i]![1];
    return msPerCall(() => matmul(a, b, { transA: tA, transB: tB }));
  });
  mode = modes[0]![1];
  const [full, noRead, oneStore, neither] = ms as [number, number, number, number];
  const pct = (x: number) => `${Math.round((100 * x) / full)}%`.padStart(7);
  const label = `${tA ? 't' : 'n'}${tB ? 't' : 'n'} ${M}x${K}x${N}`;
  console.log(`${label.padEnd(20)}${ms.map((x) => x.toFixed(2).padStart(14)).join('')} ${pct(full - noRead)} ${pct(full - oneStore)} ${pct(neither)}`);
  a.dispose();
  b.dispose();
}

console.log(`\nlinear with a bias against without, ms per product (medians of ${rounds} alternating rounds)`);
for (const [M, K, N] of [[25088, 24, 96], [25088, 96, 24], [6272, 48, 192], [1568, 88, 352]] as const) {
  const x = tensor(randnArray(M * K, 1), [M, K]);
  const w = tensor(randnArray(N * K, 2), [N, K]);
  const b = tensor(randnArray(N, 3), [N]);
  const [plain, biased] = await alternate(2, rounds, (i) => msPerCall(() => linear(x, w, i ? b : null))) as [number, number];
  console.log(`${`nt ${M}x${K}x${N}`.padEnd(20)}${plain.toFixed(2).padStart(8)}${biased.toFixed(2).padStart(8)}  (${(biased / plain).toFixed(2)}x)`);
  for (const t of [x, w, b]) t.dispose();
}
