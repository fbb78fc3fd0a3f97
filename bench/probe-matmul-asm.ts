// What lavapipe makes of a matmul kernel: instruction counts of the x86 code it compiles.
//   npx tsx bench/probe-matmul-asm.ts ['nt:1568x88x352'] ['{tuning}' ...]
// For each matmulTuning override (default '{}'), one product runs in a child process with
// GALLIVM_DEBUG=asm (Mesa prints the machine code of every shader it compiles) and
// MESA_SHADER_CACHE_DISABLE=true (a shader taken from the cache is not compiled, so not printed). Of
// the compute functions printed (cs_co_variant), the one with the most vector multiplies is the
// product's; its k-loop is the backward branch whose body holds the most of them. The loop body's
// instructions are counted by kind, and those outside it (set-up and stores). Static counts: the
// branches of lavapipe's per-lane loads skip some of them (a lane's else-path) on each pass. Counts, not time: the
// same code gives the same counts whatever the machine's load, so variants compare without noise
// (though fewer instructions need not mean faster). Only for lavapipe (llvmpipe) adapters.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const shape = args[0] && !args[0].startsWith('{') ? args.shift()! : 'nt:1568x88x352';
const configs = args.length > 0 ? args : ['{}'];
const [flags, dims] = shape.split(':') as [string, string];
const [M, K, N] = (dims ?? '').split('x').map(Number) as [number, number, number];
if (!/^[nt][nt]$/.test(flags) || ![M, K, N].every((x) => Number.isInteger(x) && x > 0)) {
  throw new Error(`probe-matmul-asm: the shape must read flags:MxKxN (flags nn, nt, tn or tt), got "${shape}"`);
}

if (process.env.LRFR_PROBE_CHILD === '1') {
  const { initNodeGPU } = await import('../src/node/gpu.js');
  const { getEngine, matmul, matmulTuning, rand } = await import('../src/runtime/index.js');
  await initNodeGPU();
  Object.assign(matmulTuning, JSON.parse(configs[0]!));
  const a = rand(flags[0] === 't' ? [K, M] : [M, K], 1, -1, 1);
  const b = rand(flags[1] === 't' ? [N, K] : [K, N], 2, -1, 1);
  matmul(a, b, { transA: flags[0] === 't', transB: flags[1] === 't' });
  await getEngine().sync();
  process.exit(0);
}

interface Ins { addr: number; op: string; arg: string }

/** The instructions of each function in Mesa's dump ("name:" lines, then "  addr:\top\targs"). */
function functions(text: string): { name: string; ins: Ins[] }[] {
  const out: { name: string; ins: Ins[] }[] = [];
  for (const line of text.split('\n')) {
    const head = /^([A-Za-z_][\w.]*):$/.exec(line);
    if (head) { out.push({ name: head[1]!, ins: [] }); continue; }
    const m = /^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$/.exec(line);
    if (m && out.length > 0) out[out.length - 1]!.ins.push({ addr: parseInt(m[1]!, 16), op: m[2]!, arg: m[3]! });
  }
  return out;
}

const isMulAdd = (op: string) => /^v(mul|add|fmadd\w*)ps$/.test(op);
function kind(op: string): string {
  if (isMulAdd(op)) return 'float multiply / add';
  if (op.startsWith('j')) return 'branches';
  if (op.startsWith('nop')) return 'nops';
  if (op === 'vpinsrd' || op === 'vmovd' || op === 'vpextrd') return 'lane inserts / extracts';
  if (op.startsWith('v')) return 'other vector';
  return 'scalar (general and mask registers)';
}

function report(label: string, text: string): void {
  const cs = functions(text).filter((f) => f.name === 'cs_co_variant');
  if (cs.length === 0) {
    console.log(`${label}: no compute shader in the dump (not lavapipe, or Mesa built without GALLIVM_DEBUG)`);
    return;
  }
  const f = cs.reduce((p, q) => (q.ins.filter((i) => isMulAdd(i.op)).length > p.ins.filter((i) => isMulAdd(i.op)).length ? q : p));
  // Branch targets are printed as displacements from the next instruction.
  let loop: { from: number; to: number; muls: number } | null = null;
  f.ins.forEach((ins, i) => {
    if (!ins.op.startsWith('j') || !/^-?\d+$/.test(ins.arg.trim()) || i + 1 >= f.ins.length) return;
    const target = f.ins[i + 1]!.addr + Number(ins.arg.trim());
    if (target >= ins.addr) return;
    const muls = f.ins.filter((x) => x.addr >= target && x.addr <= ins.addr && x.op === 'vmulps').length;
    if (!loop || muls > loop.muls) loop = { from: target, to: ins.addr, muls };
  });
  const l = loop as { from: number; to: number; muls: number } | null;
  if (!l) {
    console.log(`${label}: no loop found in the compute shader`);
    return;
  }
  const body = f.ins.filter((x) => x.addr >= l.from && x.addr <= l.to);
  const counts = new Map<string, number>();
  for (const x of body) counts.set(kind(x.op), (counts.get(kind(x.op)) ?? 0) + 1);
  const pct = (n: number) => `${n} (${((100 * n) / body.length).toFixed(0)} %)`;
  console.log(`${label}: ${f.ins.length} instructions in the shader; its k-loop body ${body.length}, with ${l.muls} vector multiplies (${8 * l.muls} multiply-adds)`);
  for (const k of ['float multiply / add', 'other vector', 'lane inserts / extracts', 'scalar (general and mask registers)', 'branches', 'nops']) {
    console.log(`  ${k.padEnd(38)}${pct(counts.get(k) ?? 0).padStart(12)}`);
  }
  // lavapipe's code keeps a step's multiply-adds together and its loads (of the next step) apart.
  const mi = body.map((x, i) => (x.op === 'vmulps' ? i : -1)).filter((i) => i >= 0);
  const span = mi.length > 0 ? mi[mi.length - 1]! - mi[0]! + 1 : 0;
  console.log(`  of the body: from the first multiply to the last ${String(span).padStart(7)}; the rest (loads, loop control) ${body.length - span}`);
  console.log(`  outside the k-loop (set-up, stores)   ${String(f.ins.length - body.length).padStart(12)}`);
}

const self = fileURLToPath(import.meta.url);
console.log(`matmul ${shape}: instruction counts of lavapipe's code for it`);
for (const c of configs) {
  JSON.parse(c); // a bad override fails here, not in the child
  // One file for both streams, so that the dump's lines stay in the order Mesa wrote them.
  const out = join(tmpdir(), `lrfr-matmul-asm-${process.pid}.txt`);
  const fd = fs.openSync(out, 'w');
  const r = spawnSync('npx', ['tsx', self, shape, c], {
    env: { ...process.env, LRFR_PROBE_CHILD: '1', GALLIVM_DEBUG: 'asm', MESA_SHADER_CACHE_DISABLE: 'true', LRFR_TUNE_CACHE: 'off' },
    stdio: ['ignore', fd, fd],
  });
  fs.closeSync(fd);
  const text = fs.readFileSync(out, 'utf8');
  fs.unlinkSync(out);
  if (r.status !== 0) throw new Error(`probe-matmul-asm: the child for ${c} failed (${r.status}): ${text.slice(-2000)}`);
  report(c, text);
}
