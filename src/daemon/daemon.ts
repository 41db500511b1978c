// The composition root of berthd: opens the store and wires the parts together. Routes get a
// Daemon and call its parts; the parts know nothing about HTTP.
import { createHash } from 'node:crypto';
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, Db } from '../store/db.js';
import { ContentStore } from '../store/content.js';
import { LayerStore } from '../image/layers.js';
import { ImageStore } from '../image/store.js';
import { ensureDefaultImage } from '../image/busybox.js';
import { EventBus } from './events.js';
import { ContainerService } from '../container/service.js';
import { sealedRuntimeBinary } from '../container/runtime-binary.js';
import { ConmonRuntime, OciRuntime } from '../container/runtime.js';
import { cgroupMode, fixHybridCgroups, CgroupMode } from '../container/cgroups.js';
import { ExecService } from '../container/exec.js';
import { HealthMonitor } from '../container/health.js';
import { NetworkService } from '../network/service.js';
import { VolumeService } from '../volume/service.js';

export interface DaemonConfig {
  dataRoot: string;
  /** Runtime state that must not outlive a reboot: exit files, attach sockets, runtime roots. */
  execRoot: string;
  socketPath: string;
  defaultRuntime: string;
  runtimePaths: Record<string, string>;
  cgroupParent: string;
  insecureRegistries: string[];
  /** false skips creating busybox:latest (tests of an empty store). */
  defaultImage: boolean;
  /** Default bridge and address pool (berthd --bridge-name, --bridge-subnet, --default-address-pool). */
  network?: { bridgeName?: string; bridgeSubnet?: string; addressPool?: string };
}

export const VERSION = '28.5.2';
export const BERTH_VERSION = '0.1.0';

export function defaultExecRoot(dataRoot: string): string {
  if (dataRoot === '/var/lib/berth') return '/run/berth/exec';
  return `/run/berth/x-${createHash('sha256').update(dataRoot).digest('hex').slice(0, 12)}`;
}

function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  for (const p of [`/usr/bin/${name}`, `/usr/sbin/${name}`, `/usr/local/bin/${name}`]) if (existsSync(p)) return p;
  return undefined;
}

export class Daemon {
  readonly db: Db;
  readonly content: ContentStore;
  readonly layers: LayerStore;
  readonly images: ImageStore;
  readonly events = new EventBus();
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly health: HealthMonitor;
  readonly networks: NetworkService;
  readonly volumes: VolumeService;
  readonly runtimes: Record<string, OciRuntime> = {};
  readonly cgroupMode: CgroupMode;
  readonly startedAt = new Date();
  /** The static init `--init` runs as /sbin/docker-init (tini), when one is installed. */
  readonly initPath = findExecutable('tini-static') ?? findExecutable('docker-init');
  /** Parts report their disk usage for GET /system/df (volumes, build cache) by setting these. */
  readonly usage: { volumes?: () => Promise<unknown[]>; buildCache?: () => Promise<unknown[]> } = {};

  private constructor(readonly config: DaemonConfig, readonly log: (line: string) => void) {
    mkdirSync(config.dataRoot, { recursive: true, mode: 0o711 });
    mkdirSync(config.execRoot, { recursive: true });
    const fixed = fixHybridCgroups();
    if (fixed.length) log(`cgroups: hybrid v1/v2 layout; mounted ${fixed.join(', ')} as cgroup v1 hierarchies so that crun accepts it`);
    this.cgroupMode = cgroupMode();
    log(`cgroups: ${this.cgroupMode === 'v2' ? 'v2 (unified)' : 'v1'}`);
    this.db = openDatabase(join(config.dataRoot, 'berth.db'));
    this.content = new ContentStore(config.dataRoot);
    this.layers = new LayerStore(this.db, this.content, config.dataRoot);
    this.images = new ImageStore(this.db, this.content, this.layers);
    for (const name of ['crun', 'runc']) {
      const path = config.runtimePaths[name] ?? findExecutable(name);
      if (!path) continue;
      const { binary, fallback } = sealedRuntimeBinary(path, config.execRoot);
      if (fallback) log(`${name}: running ${path} as installed (it copies itself on every call): ${fallback}`);
      this.runtimes[name] = new ConmonRuntime(name, path, config.execRoot, binary);
    }
    if (!this.runtimes[config.defaultRuntime]) throw new Error(`default runtime ${config.defaultRuntime} not found (apt-get install ${config.defaultRuntime})`);
    this.containers = new ContainerService({
      db: this.db, dataRoot: config.dataRoot, execRoot: config.execRoot, images: this.images, events: this.events,
      runtimes: this.runtimes, defaultRuntime: config.defaultRuntime, cgroupMode: this.cgroupMode,
      cgroupParent: config.cgroupParent, initPath: this.initPath, log,
    });
    this.execs = new ExecService(this.containers, this.events, config.execRoot, log);
    this.health = new HealthMonitor(this.containers, this.execs, this.events, log);
    this.networks = new NetworkService({
      db: this.db, containers: this.containers, events: this.events, dataRoot: config.dataRoot, execRoot: config.execRoot, log,
      ...config.network,
    });
    this.containers.addHooks(this.networks.hooks());
    this.volumes = new VolumeService(this.db, config.dataRoot, this.containers, this.events);
    this.containers.addHooks(this.volumes.hooks());
    this.usage.volumes = () => this.volumes.diskUsage();
  }

  static async open(config: DaemonConfig, log: (line: string) => void): Promise<Daemon> {
    const d = new Daemon(config, log);
    await d.layers.cleanTemp();
    if (config.defaultImage) {
      const img = await ensureDefaultImage(d.images);
      if (img) log(`created the embedded default image busybox:latest (${img.id.slice(7, 19)})`);
    }
    await d.containers.recover();
    d.health.resume();
    await d.networks.reconcile();
    return d;
  }

  close(): void {
    this.health.close();
    this.containers.close();
    this.db.close();
  }
}
