// `docker stats`: Docker's StatsJSON from the container's cgroup (cpu, memory, blkio, pids) and
// its network namespace's /proc/<pid>/net/dev, with the previous sample as precpu_stats so
// that the CLI can compute CPU %.
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { ContainerRecord } from './types.js';
import { readStats, CgroupMode } from './cgroups.js';

export interface CpuStats {
  cpu_usage: { total_usage: number; usage_in_kernelmode: number; usage_in_usermode: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface NetStats {
  rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number;
  tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number;
}

export interface BlkioEntry { major: number; minor: number; op: string; value: number }

/** The swagger's ContainerStatsResponse (the fields the CLI reads, and a few more). */
export interface StatsJSON {
  name: string;
  id: string;
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: {
    io_service_bytes_recursive: BlkioEntry[] | null; io_serviced_recursive: null; io_queue_recursive: null;
    io_service_time_recursive: null; io_wait_time_recursive: null; io_merged_recursive: null; io_time_recursive: null; sectors_recursive: null;
  };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: { usage?: number; stats?: Record<string, number>; limit?: number };
  networks?: Record<string, NetStats>;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Host CPU time in ns from /proc/stat's first line (what dockerd reports as system_cpu_usage). */
export function systemCpuUsageNs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const ticks = line.trim().split(/\s+/).slice(1, 8).map(Number).reduce((a, b) => a + b, 0);
    return ticks * (1e9 / 100);
  } catch { return 0; }
}

/** Interfaces of a network namespace, from a process in it; loopback left out as Docker does. */
export function readNetDev(pid: number): Record<string, NetStats> | undefined {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/net/dev`, 'utf8'); } catch { return undefined; }
  const out: Record<string, NetStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    out[m[1]] = { rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3], tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11] };
  }
  return Object.keys(out).length ? out : undefined;
}

function emptyCpu(): CpuStats {
  return { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };
}

/** A stopped container's stats: zeros, as dockerd answers. */
export function emptyStats(c: ContainerRecord): StatsJSON {
  return {
    name: `/${c.name}`, id: c.id, read: ZERO_TIME, preread: ZERO_TIME, pids_stats: {},
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0, storage_stats: {}, cpu_stats: emptyCpu(), precpu_stats: emptyCpu(), memory_stats: {},
  };
}

export interface Sample { stats: StatsJSON }

/** Reads one sample; `prev` becomes its precpu_stats/preread. */
export function sampleStats(c: ContainerRecord, cgroupsPath: string, mode: CgroupMode, prev?: StatsJSON): StatsJSON {
  const s = readStats(cgroupsPath, mode);
  const online = cpus().length;
  const cpu: CpuStats = {
    cpu_usage: { total_usage: s.cpuUsageNs, usage_in_kernelmode: s.cpuSystemNs, usage_in_usermode: s.cpuUserNs },
    system_cpu_usage: systemCpuUsageNs(), online_cpus: online,
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
  // An unlimited cgroup reports a huge limit: dockerd shows the host's memory instead.
  const host = totalmem();
  const limit = s.memoryLimit > 0 && s.memoryLimit < host ? s.memoryLimit : host;
  const out: StatsJSON = {
    ...emptyStats(c),
    read: new Date().toISOString(), preread: prev?.read ?? ZERO_TIME,
    pids_stats: { current: s.pids, ...(s.pidsLimit !== undefined ? { limit: s.pidsLimit } : {}) },
    cpu_stats: cpu, precpu_stats: prev?.cpu_stats ?? emptyCpu(),
    memory_stats: { usage: s.memoryUsage, stats: s.memoryStats, limit },
  };
  out.blkio_stats.io_service_bytes_recursive = [
    { major: 0, minor: 0, op: mode === 'v2' ? 'read' : 'Read', value: s.blkioRead },
    { major: 0, minor: 0, op: mode === 'v2' ? 'write' : 'Write', value: s.blkioWrite },
  ];
  const net = c.state.Pid > 0 ? readNetDev(c.state.Pid) : undefined;
  if (net) out.networks = net;
  return out;
}
