// cgroup layout detection. These VMs mount cgroup v1 controllers plus a cgroup2 "unified"
// hierarchy that still owns some controllers (hugetlb); crun refuses that hybrid, so every
// controller the unified hierarchy holds is given its own v1 mount at start.
import { existsSync, mkdirSync, readFileSync, statfsSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP2_SUPER_MAGIC = 0x63677270;

export type CgroupMode = 'v2' | 'v1' | 'hybrid';

export function cgroupMode(): CgroupMode {
  try {
    if (statfsSync(CGROUP_ROOT).type === CGROUP2_SUPER_MAGIC) return 'v2';
  } catch { return 'v1'; }
  try {
    if (existsSync(join(CGROUP_ROOT, 'unified')) && statfsSync(join(CGROUP_ROOT, 'unified')).type === CGROUP2_SUPER_MAGIC) return 'hybrid';
  } catch { /* v1 */ }
  return 'v1';
}

function mounted(path: string): boolean {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === path);
}

/**
 * Moves controllers off the unified hierarchy so crun sees a plain v1 layout. Returns what it
 * did, for the daemon's log.
 */
export function fixHybridCgroups(): string[] {
  if (cgroupMode() !== 'hybrid') return [];
  const done: string[] = [];
  const file = join(CGROUP_ROOT, 'unified', 'cgroup.controllers');
  const controllers = readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);
  for (const c of controllers) {
    const dir = join(CGROUP_ROOT, c);
    if (mounted(dir)) continue;
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'cgroup', '-o', c, 'cgroup', dir], { stdio: 'pipe' });
    done.push(c);
  }
  return done;
}

/** Filesystem path of a controller's directory for cgroupsPath (v1) or the unified one (v2). */
export function controllerDir(cgroupsPath: string, controller: string, mode: CgroupMode): string {
  if (mode === 'v2') return join(CGROUP_ROOT, cgroupsPath);
  return join(CGROUP_ROOT, controller, cgroupsPath);
}

function readNumber(file: string): number | undefined {
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (t === 'max') return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  } catch { return undefined; }
}

function readKeyed(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k && v !== undefined && Number.isFinite(Number(v))) out[k] = Number(v);
    }
  } catch { /* missing */ }
  return out;
}

/** How many times the kernel OOM-killed a process in this cgroup. */
export function oomKillCount(cgroupsPath: string, mode: CgroupMode): number {
  if (mode === 'v2') return readKeyed(join(controllerDir(cgroupsPath, 'memory', mode), 'memory.events')).oom_kill ?? 0;
  return readKeyed(join(controllerDir(cgroupsPath, 'memory', mode), 'memory.oom_control')).oom_kill ?? 0;
}

export interface CgroupStats {
  cpuUsageNs: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  memoryUsage: number;
  memoryLimit: number;
  memoryStats: Record<string, number>;
  pids: number;
  pidsLimit?: number;
  blkioRead: number;
  blkioWrite: number;
}

export function readStats(cgroupsPath: string, mode: CgroupMode): CgroupStats {
  if (mode === 'v2') {
    const dir = controllerDir(cgroupsPath, '', mode);
    const cpu = readKeyed(join(dir, 'cpu.stat'));
    const mem = readKeyed(join(dir, 'memory.stat'));
    let r = 0; let w = 0;
    try {
      for (const line of readFileSync(join(dir, 'io.stat'), 'utf8').split('\n')) {
        const rb = /rbytes=(\d+)/.exec(line); const wb = /wbytes=(\d+)/.exec(line);
        if (rb) r += Number(rb[1]); if (wb) w += Number(wb[1]);
      }
    } catch { /* none */ }
    return {
      cpuUsageNs: (cpu.usage_usec ?? 0) * 1000, cpuUserNs: (cpu.user_usec ?? 0) * 1000, cpuSystemNs: (cpu.system_usec ?? 0) * 1000,
      memoryUsage: readNumber(join(dir, 'memory.current')) ?? 0,
      memoryLimit: readNumber(join(dir, 'memory.max')) ?? 0,
      memoryStats: mem,
      pids: readNumber(join(dir, 'pids.current')) ?? 0,
      pidsLimit: readNumber(join(dir, 'pids.max')),
      blkioRead: r, blkioWrite: w,
    };
  }
  const cpuacct = controllerDir(cgroupsPath, 'cpuacct', mode);
  const memory = controllerDir(cgroupsPath, 'memory', mode);
  const ticks = readKeyed(join(cpuacct, 'cpuacct.stat'));
  const tickNs = 1e9 / 100;
  let r = 0; let w = 0;
  try {
    for (const line of readFileSync(join(controllerDir(cgroupsPath, 'blkio', mode), 'blkio.throttle.io_service_bytes'), 'utf8').split('\n')) {
      const p = line.trim().split(/\s+/);
      if (p[1] === 'Read') r += Number(p[2]); if (p[1] === 'Write') w += Number(p[2]);
    }
  } catch { /* none */ }
  return {
    cpuUsageNs: readNumber(join(cpuacct, 'cpuacct.usage')) ?? 0,
    cpuUserNs: (ticks.user ?? 0) * tickNs, cpuSystemNs: (ticks.system ?? 0) * tickNs,
    memoryUsage: readNumber(join(memory, 'memory.usage_in_bytes')) ?? 0,
    memoryLimit: readNumber(join(memory, 'memory.limit_in_bytes')) ?? 0,
    memoryStats: readKeyed(join(memory, 'memory.stat')),
    pids: readNumber(join(controllerDir(cgroupsPath, 'pids', mode), 'pids.current')) ?? 0,
    pidsLimit: readNumber(join(controllerDir(cgroupsPath, 'pids', mode), 'pids.max')),
    blkioRead: r, blkioWrite: w,
  };
}

/** Removes a container's (empty) cgroup directories if the runtime left them. */
export function removeCgroup(cgroupsPath: string, mode: CgroupMode): void {
  const dirs = mode === 'v2' ? [controllerDir(cgroupsPath, '', mode)] :
    ['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'hugetlb', 'net_cls', 'net_prio', 'perf_event', 'systemd']
      .map((c) => controllerDir(cgroupsPath, c === 'systemd' ? 'systemd' : c, mode));
  for (const d of dirs) { try { rmdirSync(d); } catch { /* gone or busy */ } }
}

/** Pids of all processes in the container's cgroup (for top). */
export function cgroupPids(cgroupsPath: string, mode: CgroupMode): number[] {
  const file = mode === 'v2' ? join(controllerDir(cgroupsPath, '', mode), 'cgroup.procs') : join(controllerDir(cgroupsPath, 'pids', mode), 'cgroup.procs');
  try { return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number); } catch { return []; }
}
