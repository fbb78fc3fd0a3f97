// What every benchmark records about the machine it ran on: the processor as /proc/cpuinfo names it
// (family, model, AVX-512: src/node/host.ts), cores, OS, memory, and the load average at the start
// (the caller adds the one at the end). One record, so the results files of every bench compare.
import os from 'node:os';
import { hostProcessor } from '../../src/node/host.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  os: string;
  memGiB: number;
  loadavgStart: number[];
  loadavgEnd?: number[];
  /** Share of the CPU other processes took during the run (report.ts recordCpuShare). */
  otherCpuShare?: number;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: hostProcessor() ?? 'unknown',
    cores: os.cpus().length,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgStart: os.loadavg(),
  };
}

/** "cpu (N cores, load a b c)" for a bench's first line. */
export const machineLine = (m: MachineInfo): string => `${m.cpu} (${m.cores} cores, load ${m.loadavgStart.map((v) => v.toFixed(2)).join(' ')})`;
