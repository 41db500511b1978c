// The container service: create, start, stop, wait, remove and watch containers. Runtime work is
// delegated to an OciRuntime driver (crun/runc under conmon); this file owns the state machine
// and keeps it consistent across berthd restarts (conmon's exit files are the source of truth).
import { existsSync, mkdirSync, promises as fsp, readFileSync, watch, writeFileSync, statSync, FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, hostname as hostHostname } from 'node:os';
import { EventEmitter } from 'node:events';
import { SeqpacketSocket } from 'node-unix-socket';
import { Db, ensureSchema } from '../store/db.js';
import { ConflictError, InvalidParameterError, NotFoundError, NotModifiedError, NotImplementedError, SystemError, BerthError } from '../errors.js';
import { newId } from '../util/ids.js';
import { dirSize } from '../util/dirsize.js';
import { secureJoin } from '../util/securejoin.js';
import { generateName, VALID_CONTAINER_NAME } from '../util/names.js';
import type { ImageStore } from '../image/store.js';
import type { EventBus } from '../daemon/events.js';
import {
  ContainerRecord, ContainerCreateBody, ContainerConfig, HostConfig, initialState, ZERO_TIME, ContainerStatus,
} from './types.js';
import { OciRuntime, RuntimeCreateError } from './runtime.js';
import { buildSpec, effectiveCapabilities, limitResources, resolveUser, OciMount, validateNamespaceModes } from './spec.js';
import { mountRootfs, unmountRootfs, rootfsDirs } from './rootfs.js';
import { CgroupMode, oomKillCount, removeCgroup, cgroupPids } from './cgroups.js';
import { readLogs, LogEntry, LogReadOptions, rotate } from './logs.js';
import { mergeHealthcheck } from './health.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  data TEXT NOT NULL
);
`;

/** Hooks other parts (network, volumes) plug into the container lifecycle. */
export interface ContainerHooks {
  /** Before the runtime starts: returns extra mounts, the netns to join, resolv/hosts content. */
  prepare?(c: ContainerRecord, rootfs: string): Promise<PrepareResult>;
  /** After the container stopped (or failed to start): release what prepare took. */
  release?(c: ContainerRecord): Promise<void>;
  /** After the container was removed. */
  removed?(c: ContainerRecord, opts: { removeVolumes: boolean }): Promise<void>;
  /** At create: validate and normalise HostConfig mounts etc.; may throw InvalidParameter. */
  validate?(c: ContainerRecord): Promise<void>;
}

export interface PrepareResult {
  mounts?: OciMount[];
  netnsPath?: string;
  hostNetwork?: boolean;
  hosts?: string;
  resolvConf?: string;
  /** linux.rootfsPropagation, for binds that ask for shared/slave propagation. */
  rootfsPropagation?: string;
}

export interface AttachOptions { stdin: boolean; stdout: boolean; stderr: boolean }

export interface AttachSession {
  /** Write client stdin to the container (chunks kept under conmon's packet size). */
  write(data: Buffer): void;
  /** Client closed its stdin. */
  closeStdin(): void;
  /** Stop receiving output. */
  close(): void;
}

export interface AttachSink {
  output(stream: 'stdout' | 'stderr', data: Buffer): void;
  end(): void;
}

interface PendingAttach { opts: AttachOptions; sink: AttachSink; session: LazyAttachSession }

class LazyAttachSession implements AttachSession {
  socket?: SeqpacketSocket;
  private queued: Buffer[] = [];
  private stdinClosed = false;
  closed = false;
  constructor(readonly tty: boolean, readonly detachKeys: number[] | undefined, private readonly onDetach: () => void) {}
  bind(sock: SeqpacketSocket): void {
    this.socket = sock;
    for (const b of this.queued) this.send(b);
    this.queued = [];
    if (this.stdinClosed) sock.end();
  }
  private send(b: Buffer) {
    for (let i = 0; i < b.length; i += 8192) this.socket?.write(b.subarray(i, i + 8192));
  }
  private detachPos = 0;
  write(data: Buffer): void {
    if (this.closed) return;
    if (this.tty && this.detachKeys && this.detachKeys.length) {
      for (const byte of data) {
        if (byte === this.detachKeys[this.detachPos]) {
          this.detachPos++;
          if (this.detachPos === this.detachKeys.length) { this.onDetach(); return; }
        } else this.detachPos = 0;
      }
    }
    if (this.socket) this.send(data); else this.queued.push(data);
  }
  closeStdin(): void {
    this.stdinClosed = true;
    if (this.socket) { try { this.socket.end(); } catch { /* closed */ } }
  }
  close(): void {
    this.closed = true;
    try { this.socket?.destroy(); } catch { /* closed */ }
  }
}

export interface ContainerServiceOptions {
  db: Db;
  dataRoot: string;
  execRoot: string;
  images: ImageStore;
  events: EventBus;
  runtimes: Record<string, OciRuntime>;
  defaultRuntime: string;
  cgroupMode: CgroupMode;
  cgroupParent: string;
  /** A static init (tini) for `--init`, run as /sbin/docker-init; undefined when none is installed. */
  initPath?: string;
  log: (line: string) => void;
  hooks?: ContainerHooks;
}

export interface CreateResult { id: string; warnings: string[] }

/** The limits `docker update` may change (swagger ContainerUpdateRequest's Resources). */
const UPDATABLE_LIMITS = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuShares', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight'] as const;

/** The body of POST /containers/{id}/update. */
export type ContainerUpdate = Partial<Pick<HostConfig, (typeof UPDATABLE_LIMITS)[number] | 'RestartPolicy'>>;

/** "0-3,5" → the numbers it names; undefined if it is not such a list. */
function parseCpuList(list: string): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = Number(m[2] ?? m[1]);
    if (hi < lo || hi - lo > 65536) return undefined;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}

/**
 * A cpuset (`--cpuset-cpus`/`--cpuset-mems`) may name only what the host has online, as moby's
 * sysinfo checks; `online` is the sysfs list of it.
 */
function checkCpuset(what: 'cpus' | 'mems', list: string | undefined, online: string): void {
  if (!list) return;
  const wanted = parseCpuList(list);
  if (!wanted) throw new InvalidParameterError(`Invalid value ${list} for cpuset ${what}: invalid format: ${list}`);
  let available: string;
  try { available = readFileSync(online, 'utf8').trim(); } catch { return; }
  const have = parseCpuList(available);
  if (have && [...wanted].some((i) => !have.has(i))) {
    throw new InvalidParameterError(`Requested ${what === 'cpus' ? 'CPUs' : 'memory nodes'} are not available - requested ${list}, available: ${available}`);
  }
}

/** What create and update both refuse, as moby's verifyPlatformContainerResources words it. */
function checkLimits(hc: HostConfig): void {
  if (hc.RestartPolicy?.Name && !['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(hc.RestartPolicy.Name)) {
    throw new InvalidParameterError(`invalid restart policy '${hc.RestartPolicy.Name}'`);
  }
  if (hc.Memory && hc.Memory > 0 && hc.Memory < 6 * 1024 * 1024) throw new InvalidParameterError('Minimum memory limit allowed is 6MB');
  if (hc.Memory && hc.Memory > 0 && hc.MemorySwap && hc.MemorySwap > 0 && hc.MemorySwap < hc.Memory) {
    throw new InvalidParameterError('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  checkCpuset('cpus', hc.CpusetCpus, '/sys/devices/system/cpu/online');
  checkCpuset('mems', hc.CpusetMems, '/sys/devices/system/node/online');
  const nanoCpus = hc.NanoCpus ?? 0;
  if (nanoCpus > 0 && hc.CpuPeriod) throw new InvalidParameterError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nanoCpus > 0 && hc.CpuQuota) throw new InvalidParameterError('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  // 0.01 is the finest a 1 ms CFS quota in a 100 ms period can give.
  const cpus = availableParallelism();
  if (nanoCpus < 0 || (nanoCpus > 0 && nanoCpus < 1e7) || nanoCpus > cpus * 1e9) {
    throw new InvalidParameterError(`Range of CPUs is from 0.01 to ${cpus}.00, as there are only ${cpus} CPUs available`);
  }
}

/**
 * The log drivers a container may name. All keep the json-file log berth reads (conmon writes
 * it); `none` keeps nothing readable, as `docker logs` then says.
 */
const LOG_DRIVERS = ['json-file', 'local', 'k8s-file', 'none'];
/** dockerd's other built-in drivers: refused as unsupported, not as unknown plugins. */
const DOCKER_LOG_DRIVERS = ['syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries'];

/** Go's and OCI's names for the same architectures. */
const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', x86: '386', i386: '386', aarch64: 'arm64', armhf: 'arm', armel: 'arm' };

/** moby's check that a local image is for the platform a create asks for. */
function checkPlatform(ref: string, wanted: string, image: { os?: string; architecture?: string; variant?: string }): void {
  const [os = '', arch = '', variant] = wanted.toLowerCase().split('/');
  const norm = (a: string) => ARCH_ALIASES[a] ?? a;
  const have = { os: image.os ?? 'linux', arch: norm(image.architecture ?? 'amd64'), variant: image.variant };
  if ((os && os !== have.os) || (arch && norm(arch) !== have.arch) || (variant && have.variant && variant !== have.variant)) {
    const actual = [have.os, have.arch, have.variant].filter(Boolean).join('/');
    throw new NotFoundError(`image with reference ${ref} was found but does not match the specified platform: wanted ${wanted}, actual: ${actual}`);
  }
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

const DEFAULT_LOG_MAX_SIZE = 10 * 1024 * 1024;
const DEFAULT_LOG_MAX_FILE = 3;

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)b?$/i.exec(s.trim());
  if (!m) throw new InvalidParameterError(`invalid size: '${s}'`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
  return Math.floor(Number(m[1]) * mult[m[2].toLowerCase()]);
}

function nowIso(): string {
  const d = new Date();
  const ns = String(process.hrtime.bigint() % 1_000_000n).padStart(6, '0');
  return d.toISOString().replace(/Z$/, `${ns}Z`);
}

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13,
  ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24,
  XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, PWR: 30, SYS: 31,
};

/** Normalises "SIGTERM", "term", "15" to a signal number; throws Docker's error otherwise. */
export function parseSignal(s: string): number {
  const t = s.trim().toUpperCase().replace(/^SIG/, '');
  if (/^\d+$/.test(t)) { const n = Number(t); if (n > 0 && n <= 64) return n; }
  if (t in SIGNALS) return SIGNALS[t];
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(t);
  if (rt) return 34 + Number(rt[1] ?? 0);
  throw new InvalidParameterError(`Invalid signal: ${s}`);
}

export class ContainerService {
  private readonly byId = new Map<string, ContainerRecord>();
  private readonly emitter = new EventEmitter();
  private readonly pending = new Map<string, PendingAttach[]>();
  private readonly exitDir: string;
  private exitWatcher?: FSWatcher;
  private readonly handlingExit = new Map<string, Promise<void>>();
  private readonly userStopped = new Set<string>();
  private rotateTimer?: NodeJS.Timeout;
  hooks: ContainerHooks;

  constructor(private readonly o: ContainerServiceOptions) {
    ensureSchema(o.db, 'containers', 1, SCHEMA);
    this.hooks = o.hooks ?? {};
    this.emitter.setMaxListeners(0);
    this.exitDir = join(o.execRoot, 'exits');
    mkdirSync(this.exitDir, { recursive: true });
    mkdirSync(join(o.dataRoot, 'containers'), { recursive: true });
    for (const row of o.db.prepare('SELECT data FROM containers').all() as { data: string }[]) {
      const r = JSON.parse(row.data) as ContainerRecord;
      this.byId.set(r.id, r);
    }
  }

  // ---- lookup -------------------------------------------------------------------------------

  list(): ContainerRecord[] {
    return [...this.byId.values()].sort((a, b) => (a.created < b.created ? 1 : -1));
  }

  /** Finds by full ID, exact name, or unique ID prefix, as Docker does. */
  get(ref: string): ContainerRecord {
    const c = this.tryGet(ref);
    if (!c) throw new NotFoundError(`No such container: ${ref}`);
    return c;
  }

  tryGet(ref: string): ContainerRecord | undefined {
    const key = ref.replace(/^\//, '');
    const exact = this.byId.get(key);
    if (exact) return exact;
    for (const c of this.byId.values()) if (c.name === key) return c;
    if (/^[a-f0-9]+$/.test(key)) {
      const hits = [...this.byId.values()].filter((c) => c.id.startsWith(key));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw new InvalidParameterError(`multiple IDs found with provided prefix: ${key}`);
    }
    return undefined;
  }

  usersOfImage(imageId: string): { id: string; name: string; running: boolean }[] {
    return [...this.byId.values()].filter((c) => c.imageId === imageId).map((c) => ({ id: c.id, name: c.name, running: c.state.Running }));
  }

  containerDir(id: string): string {
    return join(this.o.dataRoot, 'containers', id);
  }

  cgroupsPath(id: string): string {
    return `${this.o.cgroupParent}/${id}`;
  }

  runtimeFor(c: ContainerRecord): OciRuntime {
    const rt = this.o.runtimes[c.runtime];
    if (!rt) throw new InvalidParameterError(`unknown or invalid runtime name: ${c.runtime}`);
    return rt;
  }

  private save(c: ContainerRecord): void {
    this.byId.set(c.id, c);
    this.o.db.prepare('INSERT INTO containers(id, name, data) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, data = excluded.data')
      .run(c.id, c.name, JSON.stringify(c));
  }

  /** The attributes of this container's events: its labels, image and name. */
  eventAttributes(c: ContainerRecord, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(c.config.Labels ?? {}), image: c.imageName, name: c.name, ...extra };
  }

  // ---- create -------------------------------------------------------------------------------

  /** `platform` is the create query's ("linux/arm64"): the image must be for it. */
  async create(body: ContainerCreateBody, name: string | undefined, platform?: string): Promise<CreateResult> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidParameterError('invalid JSON: config must be an object');
    if (!body.Image || typeof body.Image !== 'string') throw new InvalidParameterError('No image was specified');
    if (name !== undefined && name !== '') {
      if (!VALID_CONTAINER_NAME.test(name)) throw new InvalidParameterError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = name.replace(/^\//, '');
      const taken = [...this.byId.values()].find((c) => c.name === name);
      if (taken) {
        throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
    } else {
      let i = 0;
      do { name = generateName(i++); } while ([...this.byId.values()].some((c) => c.name === name));
    }
    const image = this.o.images.resolve(body.Image);
    const fullConfig = await this.o.images.config(image.id);
    if (platform) checkPlatform(body.Image, platform, fullConfig);
    const imageConfig = fullConfig.config ?? {};
    const { HostConfig: hostConfig = {}, NetworkingConfig: networkingConfig = {}, ...config } = body;
    const hc: HostConfig = { ...hostConfig };
    const runtime = hc.Runtime || this.o.defaultRuntime;
    if (!this.o.runtimes[runtime]) throw new InvalidParameterError(`unknown or invalid runtime name: ${runtime}`);
    hc.Runtime = runtime;
    if (!hc.NetworkMode) hc.NetworkMode = 'default';
    if (!hc.LogConfig || !hc.LogConfig.Type) hc.LogConfig = { Type: 'json-file', Config: hc.LogConfig?.Config ?? {} };
    const driver = hc.LogConfig.Type;
    if (DOCKER_LOG_DRIVERS.includes(driver)) {
      throw new NotImplementedError(`berth does not support the ${driver} logging driver (it has ${LOG_DRIVERS.join(', ')})`);
    }
    if (!LOG_DRIVERS.includes(driver)) throw new InvalidParameterError(`error looking up logging plugin ${driver}: plugin "${driver}" not found`);
    try {
      for (const [k, v] of Object.entries(hc.LogConfig.Config ?? {})) {
        if (k === 'max-size') parseSize(v);
        else if (k === 'max-file' && !/^\d+$/.test(v)) throw new InvalidParameterError(`invalid value for max-file: ${v}`);
      }
    } catch (e) {
      throw new InvalidParameterError(`failed to initialize logging driver: ${(e as Error).message}`);
    }
    // Checked at create, as dockerd does; the spec checks them again at start.
    effectiveCapabilities(hc.CapAdd ?? [], hc.CapDrop ?? []);
    const gpus = hc.DeviceRequests?.[0];
    if (gpus) {
      const caps = (gpus.Capabilities ?? []).map((set) => `[${set.join(' ')}]`).join(' ');
      throw new InvalidParameterError(`could not select device driver "${gpus.Driver ?? ''}" with capabilities: [${caps}]`);
    }
    if (hc.StorageOpt && Object.keys(hc.StorageOpt).length) throw new InvalidParameterError('--storage-opt is not supported by berth (its overlay2 has no quotas)');
    for (const link of hc.Links ?? []) {
      const target = link.split(':')[0]!.replace(/^\//, '');
      if (!this.tryGet(target)) throw new InvalidParameterError(`could not get container for ${target}: No such container: ${target}`);
    }
    if (hc.OomScoreAdj !== undefined && (hc.OomScoreAdj < -1000 || hc.OomScoreAdj > 1000)) {
      throw new InvalidParameterError(`Invalid value ${hc.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
    }
    checkLimits(hc);
    if (hc.AutoRemove && hc.RestartPolicy?.Name && !['', 'no'].includes(hc.RestartPolicy.Name)) {
      throw new InvalidParameterError("can't create 'AutoRemove' container with restart policy");
    }
    validateNamespaceModes(hc);

    // Merge the image's config under the request's, as Docker's merge does.
    const merged: ContainerConfig = { ...config };
    const envMap = new Map<string, string>();
    for (const e of [...(imageConfig.Env ?? []), ...(config.Env ?? [])]) {
      const k = e.includes('=') ? e.slice(0, e.indexOf('=')) : e;
      envMap.set(k, e);
    }
    merged.Env = [...envMap.values()];
    let entrypoint: string[];
    let cmd: string[];
    if (config.Entrypoint !== undefined && config.Entrypoint !== null) {
      entrypoint = config.Entrypoint;
      cmd = config.Cmd ?? [];
    } else {
      entrypoint = imageConfig.Entrypoint ?? [];
      cmd = config.Cmd && config.Cmd.length ? config.Cmd : imageConfig.Cmd ?? [];
      merged.Entrypoint = imageConfig.Entrypoint ?? null;
    }
    merged.Cmd = cmd;
    const argv = [...entrypoint, ...cmd];
    if (argv.length === 0) throw new InvalidParameterError('no command specified');
    merged.WorkingDir = config.WorkingDir || imageConfig.WorkingDir || '';
    if (merged.WorkingDir && !merged.WorkingDir.startsWith('/')) throw new InvalidParameterError(`the working directory '${merged.WorkingDir}' is invalid, it needs to be an absolute path`);
    merged.User = config.User || imageConfig.User || '';
    merged.Labels = { ...(imageConfig.Labels ?? {}), ...(config.Labels ?? {}) };
    merged.ExposedPorts = { ...(imageConfig.ExposedPorts ?? {}), ...(config.ExposedPorts ?? {}) };
    merged.Volumes = { ...(imageConfig.Volumes ?? {}), ...(config.Volumes ?? {}) };
    merged.StopSignal = config.StopSignal || imageConfig.StopSignal;
    if (merged.StopSignal) parseSignal(merged.StopSignal);
    merged.Healthcheck = mergeHealthcheck(config.Healthcheck, imageConfig.Healthcheck);
    merged.Image = body.Image;
    merged.OnBuild = null;

    const id = newId();
    merged.Hostname = config.Hostname || id.slice(0, 12);
    merged.Domainname = config.Domainname ?? '';
    for (const k of ['AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce'] as const) merged[k] = config[k] === true;
    const dir = this.containerDir(id);
    const rec: ContainerRecord = {
      id, name: name as string, created: nowIso(), imageId: image.id, imageName: body.Image,
      config: merged, hostConfig: hc, networkingConfig: networkingConfig as Record<string, unknown>, state: initialState(),
      topChainId: image.topChainId, runtime, restartCount: 0, conmonPid: 0,
      path: argv[0], args: argv.slice(1),
      logPath: join(dir, 'ctr.log'), hostnamePath: join(dir, 'hostname'), hostsPath: join(dir, 'hosts'), resolvConfPath: join(dir, 'resolv.conf'),
    };
    if (this.hooks.validate) await this.hooks.validate(rec);
    mkdirSync(dir, { recursive: true });
    try {
      this.save(rec);
    } catch (e) {
      await fsp.rm(dir, { recursive: true, force: true });
      if (/UNIQUE/.test((e as Error).message)) throw new ConflictError(`Conflict. The container name "/${rec.name}" is already in use. You have to remove (or rename) that container to be able to reuse that name.`);
      throw e;
    }
    this.o.events.emit('container', 'create', id, this.eventAttributes(rec));
    return { id, warnings: [] };
  }

  // ---- start --------------------------------------------------------------------------------

  async start(ref: string, opts: { detachKeys?: string } = {}): Promise<void> {
    const c = this.get(ref);
    if (c.state.Running) {
      if (c.state.Paused) throw new ConflictError('cannot start a paused container, try unpause instead');
      throw new NotModifiedError();
    }
    if (c.state.Status === 'removing') throw new ConflictError(`container is marked for removal and cannot be started`);
    void opts;
    await this.startRecord(c);
  }

  private async startRecord(c: ContainerRecord): Promise<void> {
    const dir = this.containerDir(c.id);
    const rt = this.runtimeFor(c);
    const exitFile = join(this.exitDir, c.id);
    await fsp.rm(exitFile, { force: true });
    await rt.delete(c.id, true).catch(() => undefined);
    let rootfs: string | undefined;
    let prepared = false;
    try {
      const lowers = c.topChainId ? this.o.images.layers.lowerDirs(c.topChainId) : [];
      rootfs = await mountRootfs(dir, lowers);
      const user = resolveUser(rootfs, c.config.User, (c.hostConfig.GroupAdd ?? []) as string[]);
      if (c.config.WorkingDir) {
        // Docker creates a missing working directory.
        await fsp.mkdir(secureJoin(rootfs, c.config.WorkingDir), { recursive: true }).catch(() => undefined);
      }
      const prep: PrepareResult = this.hooks.prepare ? await this.hooks.prepare(c, rootfs) : {};
      prepared = true;
      const hostname = prep.hostNetwork ? hostHostname() : (c.config.Hostname || c.id.slice(0, 12));
      writeFileSync(c.hostnamePath, `${hostname}\n`);
      writeFileSync(c.hostsPath, prep.hosts ?? defaultHosts(hostname));
      writeFileSync(c.resolvConfPath, prep.resolvConf ?? defaultResolvConf());
      if (c.hostConfig.Init === true && !this.o.initPath) {
        throw new SystemError('--init needs a static tini as docker-init (apt-get install tini): none is installed');
      }
      const spec = buildSpec({
        record: c, rootfs, user, cgroupsPath: this.cgroupsPath(c.id), netnsPath: prep.netnsPath, hostNetwork: prep.hostNetwork,
        mounts: prep.mounts ?? [], cgroupV2: this.o.cgroupMode === 'v2', env: c.config.Env ?? [], rootfsPropagation: prep.rootfsPropagation,
        initPath: c.hostConfig.Init === true ? this.o.initPath : undefined,
        pidNamespacePath: this.joinedNamespace(c.hostConfig.PidMode, 'pid'),
        ipcNamespacePath: this.joinedNamespace(c.hostConfig.IpcMode, 'ipc'),
      });
      writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
      const stdin = c.config.OpenStdin === true;
      // As dockerd: StdinOnce closes stdin at the client's EOF only without a TTY; a TTY's stdin
      // stays open so that a detached (Ctrl-P Ctrl-Q) `run -it` can be attached to again.
      const { pid, conmonPid } = await rt.create({
        id: c.id, name: c.name, bundle: dir, logPath: c.logPath, exitDir: this.exitDir,
        stdin, leaveStdinOpen: stdin && (c.config.StdinOnce !== true || c.config.Tty === true), tty: c.config.Tty === true,
        executable: c.path,
      });
      c.conmonPid = conmonPid;
      await this.bindPendingAttaches(c);
      await rt.start(c.id);
      c.state = {
        ...c.state, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
        Pid: pid, ExitCode: 0, Error: '', StartedAt: nowIso(), FinishedAt: c.state.FinishedAt,
      };
      this.save(c);
      this.o.events.emit('container', 'start', c.id, this.eventAttributes(c));
      // The container may already have exited between start and here.
      if (existsSync(exitFile)) void this.handleExit(c.id);
    } catch (e) {
      const msg = e instanceof RuntimeCreateError ? e.message : (e as Error).message;
      await rt.delete(c.id, true).catch(() => undefined);
      removeCgroup(this.cgroupsPath(c.id), this.o.cgroupMode);
      if (prepared && this.hooks.release) await this.hooks.release(c).catch(() => undefined);
      await unmountRootfs(dir).catch(() => undefined);
      this.failPendingAttaches(c.id);
      c.state = { ...c.state, Status: c.state.Status === 'running' ? 'exited' : c.state.Status, Running: false, Pid: 0, Error: msg, ExitCode: e instanceof RuntimeCreateError ? 127 : c.state.ExitCode };
      if (e instanceof RuntimeCreateError) c.state.ExitCode = /permission denied/i.test(msg) ? 126 : 127;
      if (e instanceof RuntimeCreateError) c.state.FinishedAt = nowIso();
      this.save(c);
      this.emitter.emit(`exit:${c.id}`, c.state.ExitCode);
      if (c.hostConfig.AutoRemove) await this.removeRecord(c, { removeVolumes: true }).catch(() => undefined);
      if (e instanceof BerthError && e.kind !== 'System') throw e;
      throw new SystemError(msg, { cause: e });
    }
  }

  // ---- exit handling ------------------------------------------------------------------------

  /** Starts watching conmon's exit files and reconciles what happened while berthd was away. */
  async recover(): Promise<void> {
    this.exitWatcher = watch(this.exitDir, (_ev, file) => {
      if (file && this.byId.has(String(file))) void this.handleExit(String(file));
    });
    for (const c of this.byId.values()) {
      if (c.state.Status === 'removing') { await this.removeRecord(c, { removeVolumes: false }).catch(() => undefined); continue; }
      if (!c.state.Running) continue;
      if (existsSync(join(this.exitDir, c.id))) { await this.handleExit(c.id); continue; }
      const alive = c.conmonPid > 0 && processAlive(c.conmonPid);
      if (!alive) {
        const st = await this.runtimeFor(c).state(c.id).catch(() => undefined);
        if (st && (st.status === 'running' || st.status === 'paused')) continue; // running without monitor: keep it
        await this.markExited(c, 255, 'container monitor exited unexpectedly');
      }
    }
    for (const c of this.byId.values()) {
      const policy = c.hostConfig.RestartPolicy?.Name;
      if (!c.state.Running && (policy === 'always' || (policy === 'unless-stopped' && !c.state.Error.includes('stopped-by-user')))
        && c.state.StartedAt !== ZERO_TIME && !c.state.Error.startsWith('user-stopped')) {
        await this.startRecord(c).catch((e) => this.o.log(`restart of ${c.name} failed: ${(e as Error).message}`));
      }
    }
    this.rotateTimer = setInterval(() => { void this.rotateLogs(); }, 5000);
    this.rotateTimer.unref();
  }

  close(): void {
    this.exitWatcher?.close();
    if (this.rotateTimer) clearInterval(this.rotateTimer);
  }

  private handleExit(id: string): Promise<void> {
    const running = this.handlingExit.get(id);
    if (running) return running;
    const p = this.doHandleExit(id).finally(() => this.handlingExit.delete(id));
    this.handlingExit.set(id, p);
    return p;
  }

  private async doHandleExit(id: string): Promise<void> {
    const c = this.byId.get(id);
    const exitFile = join(this.exitDir, id);
    if (!c || !existsSync(exitFile)) return;
    let code = 255;
    for (let i = 0; i < 20; i++) {
      const t = readFileSync(exitFile, 'utf8').trim();
      if (t !== '') { code = Number(t); break; }
      await new Promise((r) => setTimeout(r, 10));
    }
    await fsp.rm(exitFile, { force: true });
    if (!c.state.Running) return;
    const oom = oomKillCount(this.cgroupsPath(id), this.o.cgroupMode) > 0 || existsSync(join(this.containerDir(id), 'oom'));
    await this.markExited(c, code, '', oom);
  }

  private async markExited(c: ContainerRecord, code: number, error: string, oom = false): Promise<void> {
    const dir = this.containerDir(c.id);
    await this.runtimeFor(c).delete(c.id, true).catch((e) => this.o.log(`runtime delete ${c.id}: ${(e as Error).message}`));
    removeCgroup(this.cgroupsPath(c.id), this.o.cgroupMode);
    if (this.hooks.release) await this.hooks.release(c).catch((e) => this.o.log(`release ${c.id}: ${(e as Error).message}`));
    await unmountRootfs(dir).catch((e) => this.o.log(`unmount ${c.id}: ${(e as Error).message}`));
    await fsp.rm(join(dir, 'oom'), { force: true });
    c.state = {
      ...c.state, Status: 'exited', Running: false, Paused: false, Restarting: false, OOMKilled: oom, Pid: 0,
      ExitCode: code, Error: error, FinishedAt: nowIso(),
    };
    c.conmonPid = 0;
    this.save(c);
    const attrs = this.eventAttributes(c, { exitCode: String(code) });
    if (oom) this.o.events.emit('container', 'oom', c.id, this.eventAttributes(c));
    this.o.events.emit('container', 'die', c.id, attrs);
    this.emitter.emit(`exit:${c.id}`, code);
    if (c.hostConfig.AutoRemove) {
      await this.removeRecord(c, { removeVolumes: true }).catch((e) => this.o.log(`auto-remove ${c.id}: ${(e as Error).message}`));
      return;
    }
    const policy = c.hostConfig.RestartPolicy?.Name;
    const userStopped = this.userStopped.delete(c.id);
    const restart = !userStopped && (policy === 'always' || policy === 'unless-stopped' ||
      (policy === 'on-failure' && code !== 0 && (!c.hostConfig.RestartPolicy?.MaximumRetryCount || c.restartCount < c.hostConfig.RestartPolicy.MaximumRetryCount)));
    if (restart) {
      c.restartCount++;
      c.state.Restarting = true; c.state.Status = 'restarting';
      this.save(c);
      const delay = Math.min(100 * 2 ** Math.min(c.restartCount, 10), 60_000);
      setTimeout(() => {
        const cur = this.byId.get(c.id);
        if (!cur || !cur.state.Restarting) return;
        cur.state.Restarting = false;
        void this.startRecord(cur).catch((e) => this.o.log(`restart ${cur.name}: ${(e as Error).message}`));
      }, delay).unref();
    }
  }

  // ---- stop / kill / pause -----------------------------------------------------------------

  async stop(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const c = this.get(ref);
    if (c.state.Restarting) { c.state.Restarting = false; c.state.Status = 'exited'; this.save(c); return; }
    if (!c.state.Running) throw new NotModifiedError();
    this.userStopped.add(c.id);
    const sig = signal ?? c.config.StopSignal ?? 'SIGTERM';
    const t = timeoutSec ?? c.config.StopTimeout ?? 10;
    const exited = this.waitExit(c.id);
    if (c.state.Paused) await this.runtimeFor(c).resume(c.id).catch(() => undefined);
    // As moby: the stop signal goes first even with no time to act on it, and each signal sent
    // is a kill event.
    await this.signal(c, parseSignal(sig));
    if (t !== 0) {
      const done = t < 0 ? await exited.then(() => true) : await Promise.race([exited.then(() => true), sleep(t * 1000).then(() => false)]);
      if (done) { this.o.events.emit('container', 'stop', c.id, this.eventAttributes(c)); return; }
    }
    await this.signal(c, 9);
    await Promise.race([exited, sleep(10_000)]);
    if (this.byId.get(c.id)?.state.Running) {
      // conmon is gone and never wrote an exit file.
      await this.markExited(c, 137, '');
    }
    this.o.events.emit('container', 'stop', c.id, this.eventAttributes(c));
  }

  /** For --pid/--ipc container:<name>: the namespace of that (running) container's process. */
  private joinedNamespace(mode: string | undefined, kind: 'pid' | 'ipc'): string | undefined {
    if (!mode?.startsWith('container:')) return undefined;
    const other = this.get(mode.slice('container:'.length));
    if (!other.state.Running || other.state.Pid <= 0) throw new ConflictError(`cannot join ${kind.toUpperCase()} of a non running container: ${other.id}`);
    return `/proc/${other.state.Pid}/ns/${kind}`;
  }

  /** Sends a signal on the way to stopping or removing a container (it may be gone already). */
  private async signal(c: ContainerRecord, num: number): Promise<void> {
    await this.runtimeFor(c).kill(c.id, String(num), num === 9).catch(() => undefined);
    this.o.events.emit('container', 'kill', c.id, this.eventAttributes(c, { signal: String(num) }));
  }

  private waitExit(id: string): Promise<void> {
    return new Promise((resolve) => this.emitter.once(`exit:${id}`, () => resolve()));
  }

  async kill(ref: string, signal = 'SIGKILL'): Promise<void> {
    const c = this.tryGet(ref);
    if (!c) throw new NotFoundError(`Cannot kill container: ${ref}: No such container: ${ref}`);
    const num = parseSignal(signal);
    if (!c.state.Running) throw new ConflictError(`cannot kill container: ${ref}: container ${c.id} is not running`);
    if (num === 9 || num === 15 || num === 2) this.userStopped.add(c.id);
    await this.runtimeFor(c).kill(c.id, String(num), num === 9);
    this.o.events.emit('container', 'kill', c.id, this.eventAttributes(c, { signal: String(num) }));
  }

  async restart(ref: string, timeoutSec?: number, signal?: string): Promise<void> {
    const c = this.get(ref);
    if (c.state.Running) await this.stop(ref, timeoutSec, signal).catch((e) => { if (!(e instanceof NotModifiedError)) throw e; });
    this.userStopped.delete(c.id);
    await this.startRecord(this.get(c.id));
    this.o.events.emit('container', 'restart', c.id, this.eventAttributes(c));
  }

  async pause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (!c.state.Running) throw new ConflictError(`Container ${c.id} is not running`);
    if (c.state.Paused) throw new ConflictError(`Container ${c.id} is already paused`);
    await this.runtimeFor(c).pause(c.id);
    c.state.Paused = true; c.state.Status = 'paused';
    this.save(c);
    this.o.events.emit('container', 'pause', c.id, this.eventAttributes(c));
  }

  async unpause(ref: string): Promise<void> {
    const c = this.get(ref);
    if (!c.state.Paused) throw new ConflictError(`Container ${c.id} is not paused`);
    await this.runtimeFor(c).resume(c.id);
    c.state.Paused = false; c.state.Status = 'running';
    this.save(c);
    this.o.events.emit('container', 'unpause', c.id, this.eventAttributes(c));
  }

  // ---- wait ---------------------------------------------------------------------------------

  /**
   * Returns a promise for the exit code per Docker's conditions. The promise is created at once,
   * so a caller can answer HTTP headers before the container starts.
   */
  wait(ref: string, condition: WaitCondition = 'not-running'): Promise<{ code: number; error?: string }> {
    const c = this.get(ref);
    if (condition === 'not-running' && !c.state.Running) return Promise.resolve({ code: c.state.ExitCode });
    if (condition === 'removed') {
      return new Promise((resolve) => {
        this.emitter.once(`removed:${c.id}`, () => resolve({ code: this.lastExit.get(c.id) ?? c.state.ExitCode }));
      });
    }
    return new Promise((resolve) => {
      this.emitter.once(`exit:${c.id}`, (code: number) => resolve({ code }));
    });
  }

  private readonly lastExit = new Map<string, number>();

  // ---- remove / rename / prune --------------------------------------------------------------

  async remove(ref: string, opts: { force: boolean; removeVolumes: boolean }): Promise<void> {
    const c = this.get(ref);
    if (c.state.Running) {
      if (!opts.force) {
        if (c.state.Paused) throw new ConflictError(`cannot remove container "/${c.name}": container is paused and must be unpaused first`);
        throw new ConflictError(`cannot remove container "/${c.name}": container is running: stop the container before removing or force remove`);
      }
      this.userStopped.add(c.id);
      const exited = this.waitExit(c.id);
      await this.signal(c, 9);
      await Promise.race([exited, sleep(10_000)]);
      if (this.byId.get(c.id)?.state.Running) await this.markExited(c, 137, '');
      if (!this.byId.has(c.id)) return; // AutoRemove already did it
    }
    await this.removeRecord(c, opts);
  }

  private async removeRecord(c: ContainerRecord, opts: { removeVolumes: boolean }): Promise<void> {
    if (!this.byId.has(c.id)) return;
    c.state.Status = 'removing';
    this.save(c);
    const dir = this.containerDir(c.id);
    await this.runtimeFor(c).delete(c.id, true).catch(() => undefined);
    removeCgroup(this.cgroupsPath(c.id), this.o.cgroupMode);
    await unmountRootfs(dir).catch(() => undefined);
    if (this.hooks.removed) await this.hooks.removed(c, opts).catch((e) => this.o.log(`remove hook ${c.id}: ${(e as Error).message}`));
    await fsp.rm(dir, { recursive: true, force: true });
    this.o.db.prepare('DELETE FROM containers WHERE id = ?').run(c.id);
    this.byId.delete(c.id);
    this.lastExit.set(c.id, c.state.ExitCode);
    setTimeout(() => this.lastExit.delete(c.id), 60_000).unref();
    this.o.events.emit('container', 'destroy', c.id, this.eventAttributes(c));
    this.emitter.emit(`removed:${c.id}`);
  }

  /**
   * `docker update`: new limits and restart policy, applied to the running container by the
   * runtime and kept for its next start. Fields left zero keep their value, as in moby.
   */
  async updateResources(ref: string, changes: ContainerUpdate): Promise<string[]> {
    const c = this.get(ref);
    if (c.state.Status === 'removing' || c.state.Dead) throw new ConflictError(`Cannot update container ${c.id}: container is marked for removal and cannot be "update"`);
    const hc: HostConfig = { ...c.hostConfig };
    for (const k of UPDATABLE_LIMITS) {
      const v = changes[k];
      if (v !== undefined && v !== null && v !== 0 && v !== '') (hc as Record<string, unknown>)[k] = v;
    }
    if (changes.RestartPolicy?.Name) {
      if (hc.AutoRemove && changes.RestartPolicy.Name !== 'no') throw new InvalidParameterError('Restart policy cannot be updated because AutoRemove is enabled for the container');
      hc.RestartPolicy = changes.RestartPolicy;
    }
    // A new memory limit above the swap limit already set: moby says so before its general check.
    const oldSwap = c.hostConfig.MemorySwap ?? 0;
    if (changes.Memory && !changes.MemorySwap && oldSwap > 0 && changes.Memory > oldSwap) {
      throw new InvalidParameterError('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    checkLimits(hc);
    if (c.state.Running) {
      try {
        await this.runtimeFor(c).update(c.id, limitResources(hc));
      } catch (e) {
        throw new SystemError(`Cannot update container ${c.id}: ${(e as Error).message}`);
      }
    }
    c.hostConfig = hc;
    this.save(c);
    this.o.events.emit('container', 'update', c.id, this.eventAttributes(c));
    return [];
  }

  rename(ref: string, newName: string): void {
    const c = this.get(ref);
    const name = newName.replace(/^\//, '');
    if (!VALID_CONTAINER_NAME.test(name)) throw new InvalidParameterError(`Invalid container name (${newName}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (c.name === name) throw new InvalidParameterError('Renaming a container with the same name as its current name');
    const taken = [...this.byId.values()].find((x) => x.name === name);
    if (taken) throw new ConflictError(`Conflict. The container name "/${name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
    const old = c.name;
    c.name = name;
    this.save(c);
    this.o.events.emit('container', 'rename', c.id, this.eventAttributes(c, { oldName: `/${old}` }));
  }

  async prune(filter: (c: ContainerRecord) => boolean): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const c of this.list()) {
      if (c.state.Running || !filter(c)) continue;
      reclaimed += await dirSize(rootfsDirs(this.containerDir(c.id)).upper);
      await this.removeRecord(c, { removeVolumes: false });
      deleted.push(c.id);
    }
    return { deleted, reclaimed };
  }

  // ---- attach / logs / top ------------------------------------------------------------------

  /**
   * Attaches to a container's stdio through conmon's attach socket. For a container that is not
   * running yet, the attach is bound when it starts (docker run attaches before start).
   */
  attach(ref: string, opts: AttachOptions, sink: AttachSink, detachKeys?: number[]): AttachSession {
    const c = this.get(ref);
    const session = new LazyAttachSession(c.config.Tty === true, c.config.Tty ? detachKeys ?? [16, 17] : undefined, () => {
      session.close();
      sink.end();
      this.o.events.emit('container', 'detach', c.id, this.eventAttributes(c));
    });
    const p: PendingAttach = { opts, sink, session };
    if (c.state.Running) {
      void this.connectAttach(c, p).catch((e) => { this.o.log(`attach ${c.id}: ${(e as Error).message}`); sink.end(); });
    } else {
      const list = this.pending.get(c.id) ?? [];
      list.push(p);
      this.pending.set(c.id, list);
    }
    this.o.events.emit('container', 'attach', c.id, this.eventAttributes(c));
    return session;
  }

  private async bindPendingAttaches(c: ContainerRecord): Promise<void> {
    const list = this.pending.get(c.id) ?? [];
    this.pending.delete(c.id);
    await Promise.all(list.filter((p) => !p.session.closed).map((p) => this.connectAttach(c, p)));
  }

  private failPendingAttaches(id: string): void {
    for (const p of this.pending.get(id) ?? []) p.sink.end();
    this.pending.delete(id);
  }

  private connectAttach(c: ContainerRecord, p: PendingAttach): Promise<void> {
    const path = this.runtimeFor(c).attachSocket(c.id);
    return new Promise((resolve, reject) => {
      const sock = new SeqpacketSocket();
      let settled = false;
      let ended = false;
      const end = () => { if (!ended) { ended = true; p.sink.end(); } };
      sock.on('error', (e: Error) => { if (!settled) { settled = true; reject(e); } end(); });
      sock.on('data', (buf: Buffer) => {
        if (buf.length < 1) return;
        const type = buf[0];
        const data = Buffer.from(buf.subarray(1));
        // conmon: 2 = stdout, 3 = stderr
        if (type === 2 && p.opts.stdout) p.sink.output('stdout', data);
        else if (type === 3 && p.opts.stderr) p.sink.output(c.config.Tty ? 'stdout' : 'stderr', data);
      });
      sock.on('end', end);
      sock.on('close', end);
      sock.connect(path, () => {
        settled = true;
        p.session.bind(sock);
        if (!p.opts.stdin) { try { sock.end(); } catch { /* ignore */ } }
        resolve();
      });
    });
  }

  /** Sends a resize to conmon's control fifo (TTY containers). */
  async resize(ref: string, height: number, width: number): Promise<void> {
    const c = this.get(ref);
    if (!c.state.Running) throw new ConflictError(`Container ${c.id} is not running`);
    if (!c.config.Tty) return;
    await writeCtl(join(this.containerDir(c.id), 'ctl'), `1 ${height} ${width}\n`);
  }

  logs(ref: string, o: Omit<LogReadOptions, 'stopped'>): AsyncGenerator<LogEntry> {
    const c = this.get(ref);
    if (c.hostConfig.LogConfig?.Type === 'none') throw new NotImplementedError('configured logging driver does not support reading');
    const stopped = c.state.Running ? this.waitExit(c.id).then(() => sleep(50)) : Promise.resolve();
    return readLogs(c.logPath, { ...o, stopped });
  }

  private async rotateLogs(): Promise<void> {
    for (const c of this.byId.values()) {
      if (!c.state.Running) continue;
      const cfg = c.hostConfig.LogConfig?.Config ?? {};
      const max = cfg['max-size'] ? parseSize(cfg['max-size']) : DEFAULT_LOG_MAX_SIZE;
      const files = cfg['max-file'] ? Number(cfg['max-file']) : DEFAULT_LOG_MAX_FILE;
      let size = 0;
      try { size = statSync(c.logPath).size; } catch { continue; }
      if (size < max) continue;
      await rotate(c.logPath, files).catch(() => undefined);
      await writeCtl(join(this.containerDir(c.id), 'ctl'), '2 0 0\n').catch(() => undefined);
    }
  }

  pids(ref: string): number[] {
    const c = this.get(ref);
    if (!c.state.Running) throw new ConflictError(`Container ${c.id} is not running`);
    return cgroupPids(this.cgroupsPath(c.id), this.o.cgroupMode);
  }

  cgroupMode(): CgroupMode { return this.o.cgroupMode; }

  /** Bytes in the container's writable layer. */
  upperSize(id: string): Promise<number> {
    return dirSize(rootfsDirs(this.containerDir(id)).upper);
  }

  /** `size=true` of inspect and list: the writable layer, and that plus the image. */
  async sizes(id: string): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const c = this.get(id);
    const rw = await this.upperSize(c.id);
    return { SizeRw: rw, SizeRootFs: (this.o.images.tryGet(c.imageId)?.size ?? 0) + rw };
  }

  /** Persists a record changed by a hook (network endpoints, mounts). */
  update(c: ContainerRecord): void { this.save(c); }

  /**
   * Adds another part's lifecycle hooks (volumes, network). prepare results are merged in
   * registration order; release/removed run in reverse order.
   */
  addHooks(h: ContainerHooks): void {
    const prev = this.hooks;
    this.hooks = {
      validate: async (c) => { await prev.validate?.(c); await h.validate?.(c); },
      prepare: async (c, rootfs) => {
        const a: PrepareResult = (await prev.prepare?.(c, rootfs)) ?? {};
        let b: PrepareResult;
        try {
          b = (await h.prepare?.(c, rootfs)) ?? {};
        } catch (e) {
          await prev.release?.(c).catch(() => undefined);
          throw e;
        }
        return { ...a, ...b, mounts: [...(a.mounts ?? []), ...(b.mounts ?? [])] };
      },
      release: async (c) => { await h.release?.(c).catch((e) => this.o.log(`release: ${(e as Error).message}`)); await prev.release?.(c); },
      removed: async (c, o) => { await h.removed?.(c, o).catch((e) => this.o.log(`removed: ${(e as Error).message}`)); await prev.removed?.(c, o); },
    };
  }

  /** Chain IDs containers stand on, so image removal keeps their layers. */
  referencedChains(): Set<string> {
    return new Set([...this.byId.values()].map((c) => c.topChainId).filter((x): x is string => x !== null));
  }
}

async function writeCtl(path: string, line: string): Promise<void> {
  const fh = await fsp.open(path, 'w');
  try { await fh.write(line); } finally { await fh.close(); }
}

export function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}


export function defaultHosts(hostname: string): string {
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n127.0.1.1\t${hostname}\n`;
}

/** The host's resolv.conf without loopback resolvers, which would not work inside the container. */
export function defaultResolvConf(): string {
  let text = '';
  try { text = readFileSync('/etc/resolv.conf', 'utf8'); } catch { text = ''; }
  const lines = text.split('\n').filter((l) => !/^\s*nameserver\s+(127\.|::1\b)/.test(l));
  if (!lines.some((l) => /^\s*nameserver\s/.test(l))) lines.push('nameserver 8.8.8.8', 'nameserver 8.8.4.4');
  return lines.join('\n').replace(/\n*$/, '\n');
}

export type { ContainerStatus };
