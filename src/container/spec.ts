// Builds the OCI runtime spec (config.json) for a container with Docker's defaults:
// capabilities, masked and read-only /proc paths, device rules, /dev, /dev/shm, /dev/pts.
import { lstatSync, readdirSync, readFileSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import { secureJoin } from '../util/securejoin.js';
import { defaultSeccompProfile, SeccompProfile } from './seccomp.js';
import type { ContainerRecord, DeviceMapping, HostConfig } from './types.js';

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    consoleSize?: { height: number; width: number };
    user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>;
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: Record<string, unknown>;
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp?: SeccompProfile;
    sysctl?: Record<string, string>;
    devices?: { path: string; type: string; major: number; minor: number; fileMode?: number; uid?: number; gid?: number }[];
    rootfsPropagation?: string;
  };
}

export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

export const ALL_CAPS = [
  'CAP_AUDIT_CONTROL', 'CAP_AUDIT_READ', 'CAP_AUDIT_WRITE', 'CAP_BLOCK_SUSPEND', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_KILL', 'CAP_LEASE', 'CAP_LINUX_IMMUTABLE', 'CAP_MAC_ADMIN', 'CAP_MAC_OVERRIDE', 'CAP_MKNOD', 'CAP_NET_ADMIN',
  'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_RAW', 'CAP_PERFMON', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP',
  'CAP_SETUID', 'CAP_SYSLOG', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_CHROOT', 'CAP_SYS_MODULE', 'CAP_SYS_NICE',
  'CAP_SYS_PACCT', 'CAP_SYS_PTRACE', 'CAP_SYS_RAWIO', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG',
  'CAP_WAKE_ALARM',
];

const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function normaliseCap(c: string): string {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
}

export function effectiveCapabilities(capAdd: string[] = [], capDrop: string[] = [], privileged = false): string[] {
  if (privileged) return [...ALL_CAPS];
  const add = capAdd.map(normaliseCap);
  const drop = capDrop.map(normaliseCap);
  for (const [field, list] of [['CapAdd', add], ['CapDrop', drop]] as const) {
    for (const c of list) if (c !== 'CAP_ALL' && !ALL_CAPS.includes(c)) throw new InvalidParameterError(`invalid ${field}: unknown capability: "${c}"`);
  }
  let caps = add.includes('CAP_ALL') ? [...ALL_CAPS] : [...DEFAULT_CAPS, ...add.filter((c) => !DEFAULT_CAPS.includes(c))];
  if (drop.includes('CAP_ALL')) caps = add.filter((c) => c !== 'CAP_ALL');
  else caps = caps.filter((c) => !drop.includes(c));
  return caps;
}

export interface ResolvedUser { uid: number; gid: number; additionalGids: number[]; home: string }

/** Resolves `user[:group]` against the container's own /etc/passwd and /etc/group. */
export function resolveUser(rootfs: string, spec: string | undefined, groupAdd: string[] = []): ResolvedUser {
  const [userPart, groupPart] = (spec ?? '').split(':', 2);
  const passwd = readEtc(rootfs, '/etc/passwd');
  const group = readEtc(rootfs, '/etc/group');
  let uid = 0;
  let gid = 0;
  let home = '/';
  let name = 'root';
  if (userPart) {
    const entry = passwd.find((p) => p[0] === userPart || (/^\d+$/.test(userPart) && p[2] === userPart));
    if (entry) { uid = Number(entry[2]); gid = Number(entry[3]); home = entry[5] || '/'; name = entry[0]; }
    else if (/^\d+$/.test(userPart)) { uid = Number(userPart); gid = uid === 0 ? 0 : uid; name = ''; gid = 0; }
    else throw new InvalidParameterError(`unable to find user ${userPart}: no matching entries in passwd file`);
  } else {
    const root = passwd.find((p) => p[2] === '0');
    if (root) home = root[5] || '/root';
    else home = '/root';
  }
  if (groupPart) {
    const g = group.find((e) => e[0] === groupPart || (/^\d+$/.test(groupPart) && e[2] === groupPart));
    if (g) gid = Number(g[2]);
    else if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else throw new InvalidParameterError(`unable to find group ${groupPart}: no matching entries in group file`);
  }
  // As moby: the primary group first, then the groups that list the user, then --group-add.
  const additional = new Set<number>([gid]);
  if (name && !groupPart) {
    for (const g of group) if ((g[3] ?? '').split(',').includes(name)) additional.add(Number(g[2]));
  }
  for (const ga of groupAdd) {
    const g = group.find((e) => e[0] === ga || e[2] === ga);
    if (g) additional.add(Number(g[2]));
    else if (/^\d+$/.test(ga)) additional.add(Number(ga));
    else throw new InvalidParameterError(`unable to find group ${ga}: no matching entries in group file`);
  }
  return { uid, gid, additionalGids: [...additional], home };
}

function readEtc(rootfs: string, path: string): string[][] {
  try {
    return readFileSync(secureJoin(rootfs, path), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** The daemon's own hard RLIMIT_NOFILE: a container must never ask for more (CAP_SYS_RESOURCE is missing here). */
let nofileHard: number | undefined;
export function hostNofileHard(): number {
  nofileHard ??= readNofileHard();
  return nofileHard;
}

function readNofileHard(): number {
  try {
    const m = /Max open files\s+\d+\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') return Number(m[1]);
  } catch { /* fall through */ }
  return 1048576;
}

const ULIMIT_TYPES: Record<string, string> = {
  core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK', msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC', rss: 'RLIMIT_RSS', rtprio: 'RLIMIT_RTPRIO', rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK',
};

export interface SpecInput {
  record: ContainerRecord;
  rootfs: string;
  user: ResolvedUser;
  cgroupsPath: string;
  /** Joined instead of a new network namespace (another container's, or a prepared one). */
  netnsPath?: string;
  /** True when the host network is shared (--network host). */
  hostNetwork?: boolean;
  /** Extra mounts (volumes, binds, tmpfs) in container order. */
  mounts: OciMount[];
  cgroupV2: boolean;
  env: string[];
  rootfsPropagation?: string;
  /** With `--init`: this binary is mounted as /sbin/docker-init and runs the command as its child. */
  initPath?: string;
  /** `--pid` / `--ipc container:<name>`: the other container's namespaces, joined instead of new ones. */
  pidNamespacePath?: string;
  ipcNamespacePath?: string;
}

/**
 * A host device for `--device` (a directory adds the devices under it, as dockerd does). Its
 * major and minor numbers come from the device itself, so they are right on any host.
 */
function hostDevices(d: DeviceMapping): { path: string; type: 'c' | 'b'; major: number; minor: number; fileMode: number }[] {
  let st: BigIntStats;
  try {
    st = statSync(d.PathOnHost, { bigint: true });
  } catch (e) {
    throw new InvalidParameterError(`error gathering device information while adding custom device "${d.PathOnHost}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  const inContainer = d.PathInContainer || d.PathOnHost;
  if (st.isDirectory()) {
    return readdirSync(d.PathOnHost).flatMap((name) => {
      const sub = join(d.PathOnHost, name);
      const s = lstatSync(sub);
      return s.isCharacterDevice() || s.isBlockDevice() || s.isDirectory()
        ? hostDevices({ ...d, PathOnHost: sub, PathInContainer: join(inContainer, name) })
        : [];
    });
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new InvalidParameterError(`error gathering device information while adding custom device "${d.PathOnHost}": not a device node`);
  const rdev = st.rdev;
  // glibc's gnu_dev_major/minor: the 64-bit dev_t layout.
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return [{ path: inContainer, type: st.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: Number(st.mode & 0o777n) }];
}

/** The OCI linux.resources for a HostConfig's limits (memory, CPU, pids): at start, and for `update`. */
export function limitResources(hc: HostConfig): { memory?: Record<string, number>; cpu?: Record<string, unknown>; pids?: { limit: number } } {
  const out: ReturnType<typeof limitResources> = {};
  if (hc.Memory && hc.Memory > 0) {
    const memory: Record<string, number> = { limit: hc.Memory };
    if (hc.MemorySwap && (hc.MemorySwap > 0 || hc.MemorySwap === -1)) memory.swap = hc.MemorySwap;
    if (hc.MemoryReservation && hc.MemoryReservation > 0) memory.reservation = hc.MemoryReservation;
    out.memory = memory;
  } else if (hc.MemoryReservation && hc.MemoryReservation > 0) {
    out.memory = { reservation: hc.MemoryReservation };
  }
  const cpu: Record<string, unknown> = {};
  if (hc.NanoCpus && hc.NanoCpus > 0) { cpu.period = 100000; cpu.quota = Math.round((hc.NanoCpus * 100000) / 1e9); }
  if (hc.CpuQuota && hc.CpuQuota > 0) { cpu.quota = hc.CpuQuota; cpu.period = hc.CpuPeriod || 100000; }
  if (hc.CpuShares && hc.CpuShares > 0) cpu.shares = hc.CpuShares;
  if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (hc.PidsLimit && hc.PidsLimit > 0) out.pids = { limit: hc.PidsLimit };
  return out;
}

/** Docker's --pid/--ipc/--uts values: host, container:<name> (pid, ipc), and for ipc its own words. */
export function validateNamespaceModes(hc: HostConfig): void {
  const check = (flag: string, mode: string | undefined, extra: string[], joins: boolean): void => {
    if (!mode || mode === 'host' || extra.includes(mode)) return;
    if (joins && /^container:.+/.test(mode)) return;
    throw new InvalidParameterError(`invalid ${flag} mode: ${mode}`);
  };
  check('PID', hc.PidMode, [], true);
  check('IPC', hc.IpcMode, ['private', 'shareable', 'none'], true);
  check('UTS', hc.UTSMode, [], false);
}

/** Where `--init` puts the init in the container, as dockerd does. */
export const INIT_DESTINATION = '/sbin/docker-init';

export function buildSpec(input: SpecInput): OciSpec {
  const { record: r, user } = input;
  const hc = r.hostConfig;
  const caps = effectiveCapabilities(hc.CapAdd ?? [], hc.CapDrop ?? [], hc.Privileged === true);
  const tty = r.config.Tty === true;
  const nofile = hostNofileHard();
  const rlimits = [{ type: 'RLIMIT_NOFILE', hard: nofile, soft: Math.min(1024, nofile) }];
  for (const u of hc.Ulimits ?? []) {
    const type = ULIMIT_TYPES[u.Name];
    if (!type) throw new InvalidParameterError(`invalid ulimit type: ${u.Name}`);
    const existing = rlimits.findIndex((x) => x.type === type);
    const entry = { type, hard: u.Hard, soft: u.Soft };
    if (existing >= 0) rlimits[existing] = entry; else rlimits.push(entry);
  }

  const env = [...input.env];
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
  if (!env.some((e) => e.startsWith('HOSTNAME='))) env.splice(1, 0, `HOSTNAME=${r.config.Hostname ?? r.id.slice(0, 12)}`);
  if (tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);

  const shmSize = hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : 64 * 1024 * 1024;
  const ipcMode = hc.IpcMode ?? '';
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', hc.Privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', hc.Privileged ? 'rw' : 'ro'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ];
  // --ipc none: no /dev/shm at all; --ipc host: the host's.
  if (ipcMode === 'host') mounts.push({ destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  else if (ipcMode !== 'none') mounts.push({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] });
  const userTargets = new Set(input.mounts.map((m) => m.destination));
  const etc: [string, string][] = [['/etc/resolv.conf', r.resolvConfPath], ['/etc/hostname', r.hostnamePath], ['/etc/hosts', r.hostsPath]];
  for (const [dest, src] of etc) {
    if (!userTargets.has(dest)) mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'rprivate', hc.ReadonlyRootfs ? 'ro' : 'rw'] });
  }
  mounts.push(...input.mounts);
  if (input.initPath) mounts.push({ destination: INIT_DESTINATION, type: 'bind', source: input.initPath, options: ['rbind', 'rprivate', 'ro'] });

  const namespaces: { type: string; path?: string }[] = [{ type: 'mount' }];
  // host: the host's namespace (none of our own); container:<name>: that container's.
  if (hc.PidMode !== 'host') namespaces.push(input.pidNamespacePath ? { type: 'pid', path: input.pidNamespacePath } : { type: 'pid' });
  if (ipcMode !== 'host') namespaces.push(input.ipcNamespacePath ? { type: 'ipc', path: input.ipcNamespacePath } : { type: 'ipc' });
  const hostUts = hc.UTSMode === 'host';
  if (!hostUts) namespaces.push({ type: 'uts' });
  if (input.netnsPath) namespaces.push({ type: 'network', path: input.netnsPath });
  else if (!input.hostNetwork) namespaces.push({ type: 'network' });
  if (input.cgroupV2 && hc.CgroupnsMode !== 'host') namespaces.push({ type: 'cgroup' });

  const resources: Record<string, unknown> = {
    devices: hc.Privileged ? [{ allow: true, access: 'rwm' }] : [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' },
      { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' },
      { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' },
      { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
      { allow: true, type: 'c', major: 136, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
      { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' },
    ],
  };
  Object.assign(resources, limitResources(hc));
  const devices = (hc.Devices ?? []).flatMap((d) => hostDevices(d).map((dev) => ({ dev, access: d.CgroupPermissions || 'rwm' })));
  if (!hc.Privileged) {
    for (const { dev, access } of devices) (resources.devices as unknown[]).push({ allow: true, type: dev.type, major: dev.major, minor: dev.minor, access });
  }

  const consoleSize = hc.ConsoleSize && hc.ConsoleSize[0] > 0 ? { height: hc.ConsoleSize[0], width: hc.ConsoleSize[1] } : undefined;
  const noNewPriv = (hc.SecurityOpt ?? []).some((o) => /^no-new-privileges(?:[:=]true)?$/.test(o));
  const seccompUnconfined = (hc.SecurityOpt ?? []).some((o) => /^seccomp[:=]unconfined$/.test(o));

  const spec: OciSpec = {
    ociVersion: '1.0.2',
    process: {
      terminal: tty,
      ...(consoleSize && tty ? { consoleSize } : {}),
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      // tini reaps the zombies of the command it runs and passes signals on to it.
      args: input.initPath ? [INIT_DESTINATION, '--', r.path, ...r.args] : [r.path, ...r.args],
      env,
      cwd: r.config.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      rlimits,
      noNewPrivileges: noNewPriv,
      ...(hc.OomScoreAdj ? { oomScoreAdj: hc.OomScoreAdj } : {}),
    },
    root: { path: input.rootfs, readonly: hc.ReadonlyRootfs === true },
    hostname: input.hostNetwork ? '' : (r.config.Hostname || r.id.slice(0, 12)),
    ...(r.config.Domainname ? { domainname: r.config.Domainname } : {}),
    mounts,
    linux: {
      namespaces,
      cgroupsPath: input.cgroupsPath,
      resources,
      maskedPaths: hc.Privileged ? [] : (hc.MaskedPaths ?? MASKED_PATHS),
      readonlyPaths: hc.Privileged ? [] : (hc.ReadonlyPaths ?? READONLY_PATHS),
      ...(hc.Sysctls && Object.keys(hc.Sysctls).length ? { sysctl: hc.Sysctls } : {}),
      ...(hc.Privileged || seccompUnconfined ? {} : { seccomp: defaultSeccompProfile(caps) }),
      ...(input.rootfsPropagation ? { rootfsPropagation: input.rootfsPropagation } : {}),
      ...(devices.length ? { devices: devices.map(({ dev }) => ({ ...dev, uid: 0, gid: 0 })) } : {}),
    },
  };
  if (input.hostNetwork) spec.hostname = '';
  // Without a UTS namespace of its own a container has the host's name, and may not set one.
  if (hostUts) delete spec.hostname;
  return spec;
}
