// Volumes as the rest of berth sees them: the store plus what containers use. The container
// service calls the hooks (validate at create, prepare before each start, release after each
// stop, removed on rm); routes call create/list/remove/prune. Each container's decided mounts
// (its MountPlans) live in the container_mounts table so that they survive berthd restarts.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { posix, relative, dirname } from 'node:path';
import { Db, ensureSchema } from '../store/db.js';
import { ConflictError, InvalidParameterError, NotFoundError, SystemError } from '../errors.js';
import { newId } from '../util/ids.js';
import type { ContainerHooks, PrepareResult } from '../container/service.js';
import type { ContainerRecord } from '../container/types.js';
import type { OciMount } from '../container/spec.js';
import type { EventBus } from '../daemon/events.js';
import { secureJoin } from '../util/securejoin.js';
import {
  MountPlan, parseBind, parseMount, parseTmpfs, parseVolumesFrom, sortByDepth, validateVolumeName,
} from './spec.js';
import { ANONYMOUS_LABEL, CreateVolumeInput, VolumeRecord, VolumeStore } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS container_mounts (
  container_id TEXT PRIMARY KEY,
  plans TEXT NOT NULL
);
`;

/** The containers a volume service needs to see (narrow, so tests can fake it). */
export interface ContainerLookup {
  list(): ContainerRecord[];
  tryGet(ref: string): ContainerRecord | undefined;
}

/** Docker's Volume object. */
export interface VolumeView {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
  UsageData?: { Size: number; RefCount: number };
}

/** Docker's MountPoint (inspect and ps). */
export interface MountPointView {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

function cp(src: string, dst: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // -a keeps owners, modes and symlinks as they are (never followed); `src/.` also copies the
    // directory's own owner and mode onto the volume root, as Docker's copy-up does.
    execFile('cp', ['-a', '--', `${src}/.`, `${dst}/`], (err, _o, stderr) => (err ? reject(new SystemError(`copy-up into volume: ${(stderr || err.message).trim()}`)) : resolve()));
  });
}

export class VolumeService {
  readonly store: VolumeStore;
  /** Containers between prepare and release, per volume: starting ones are not Running yet. */
  private readonly active = new Map<string, Set<string>>();

  constructor(private readonly db: Db, dataRoot: string, private readonly containers: ContainerLookup, private readonly events?: EventBus) {
    this.store = new VolumeStore(db, dataRoot);
    ensureSchema(db, 'container_mounts', 1, SCHEMA);
    this.collectOrphans();
  }

  // ---- plans per container ------------------------------------------------------------------

  plansOf(containerId: string): MountPlan[] {
    const row = this.db.prepare('SELECT plans FROM container_mounts WHERE container_id = ?').get(containerId) as { plans: string } | undefined;
    return row ? JSON.parse(row.plans) as MountPlan[] : [];
  }

  private savePlans(containerId: string, plans: MountPlan[]): void {
    this.db.prepare('INSERT INTO container_mounts(container_id, plans) VALUES (?, ?) ON CONFLICT(container_id) DO UPDATE SET plans = excluded.plans')
      .run(containerId, JSON.stringify(plans));
  }

  /** Rows of containers that never got saved (a create that failed after validate). */
  private collectOrphans(): void {
    const rows = this.db.prepare('SELECT container_id, plans FROM container_mounts').all() as { container_id: string; plans: string }[];
    for (const r of rows) {
      if (this.containers.tryGet(r.container_id)?.id === r.container_id) continue;
      this.db.prepare('DELETE FROM container_mounts WHERE container_id = ?').run(r.container_id);
    }
  }

  /** Volume name → the existing containers whose mounts name it, in one pass over the plans. */
  private usage(): Map<string, ContainerRecord[]> {
    const rows = this.db.prepare('SELECT container_id, plans FROM container_mounts').all() as { container_id: string; plans: string }[];
    const out = new Map<string, ContainerRecord[]>();
    for (const r of rows) {
      const c = this.containers.tryGet(r.container_id);
      if (!c || c.id !== r.container_id) continue;
      for (const p of JSON.parse(r.plans) as MountPlan[]) {
        if (p.type !== 'volume' || !p.name) continue;
        const list = out.get(p.name) ?? [];
        if (!list.includes(c)) list.push(c);
        out.set(p.name, list);
      }
    }
    return out;
  }

  /** Containers whose mounts name this volume. */
  usersOf(name: string): ContainerRecord[] {
    return this.usage().get(name) ?? [];
  }

  // ---- volumes (routes) ---------------------------------------------------------------------

  view(v: VolumeRecord): VolumeView {
    return { CreatedAt: v.createdAt, Driver: v.driver, Labels: v.labels, Mountpoint: this.store.dataDir(v.name), Name: v.name, Options: v.options, Scope: 'local' };
  }

  create(input: CreateVolumeInput): VolumeRecord {
    const { volume, created } = this.store.create(input);
    if (created) this.events?.emit('volume', 'create', volume.name, { driver: volume.driver });
    return volume;
  }

  get(name: string): VolumeRecord { return this.store.get(name); }

  list(filters: Map<string, string[]>): VolumeRecord[] {
    for (const k of filters.keys()) if (!['dangling', 'name', 'driver', 'label'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    let dangling: boolean | undefined;
    for (const v of filters.get('dangling') ?? []) {
      const l = v.toLowerCase();
      if (l === 'true' || l === '1') dangling = true;
      else if (l === 'false' || l === '0') dangling = false;
      else throw new InvalidParameterError(`invalid filter 'dangling=${v}'`);
    }
    const names = filters.get('name') ?? [];
    const drivers = filters.get('driver') ?? [];
    const labels = filters.get('label') ?? [];
    const usage = dangling === undefined ? undefined : this.usage();
    return this.store.list().filter((v) => (dangling === undefined || !usage?.has(v.name) === dangling)
      && (names.length === 0 || names.some((n) => v.name.includes(n)))
      && (drivers.length === 0 || drivers.includes(v.driver))
      && labels.every((l) => labelMatches(v.labels, l)));
  }

  async remove(name: string, force: boolean): Promise<void> {
    const v = this.store.tryGet(name);
    if (!v) {
      if (force) return;
      throw new NotFoundError(`get ${name}: no such volume`);
    }
    const users = this.usersOf(name);
    // Docker refuses even with force: force only ignores a missing volume.
    if (users.length) throw new ConflictError(`remove ${name}: volume is in use - [${users.map((c) => c.id).join(', ')}]`);
    await this.store.remove(name);
    this.events?.emit('volume', 'destroy', name, { driver: v.driver });
  }

  /** API >= 1.42: only anonymous volumes unless `all=true`; labels as in `label`/`label!`. */
  async prune(filters: Map<string, string[]>, apiAtLeast142: boolean): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    for (const k of filters.keys()) if (!['label', 'label!', 'all'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    let all = !apiAtLeast142;
    for (const v of filters.get('all') ?? []) {
      const l = v.toLowerCase();
      if (l === 'true' || l === '1') all = true;
      else if (l === 'false' || l === '0') all = false;
      else throw new InvalidParameterError(`invalid filter 'all=${v}': invalid value`);
    }
    const deleted: string[] = [];
    let reclaimed = 0;
    const usage = this.usage();
    for (const v of this.store.list()) {
      if (!all && !(v.labels && ANONYMOUS_LABEL in v.labels)) continue;
      if (!(filters.get('label') ?? []).every((l) => labelMatches(v.labels, l))) continue;
      if ((filters.get('label!') ?? []).some((l) => labelMatches(v.labels, l))) continue;
      if (usage.has(v.name)) continue;
      const size = await this.store.size(v.name);
      try {
        await this.remove(v.name, false);
      } catch { continue; }
      deleted.push(v.name);
      reclaimed += size;
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
  }

  /** Volumes with UsageData, for `system df` (`GET /system/df`'s Volumes). */
  async diskUsage(): Promise<VolumeView[]> {
    const out: VolumeView[] = [];
    const usage = this.usage();
    for (const v of this.store.list()) {
      out.push({ ...this.view(v), UsageData: { Size: await this.store.size(v.name), RefCount: usage.get(v.name)?.length ?? 0 } });
    }
    return out;
  }

  /** inspect/ps `Mounts` of a container. */
  mountPoints(c: ContainerRecord): MountPointView[] {
    return this.plansOf(c.id).filter((p) => !p.hidden).map((p) => {
      if (p.type === 'volume') {
        const name = p.name ?? '';
        const src = this.store.dataDir(name) + (p.subpath ? `/${p.subpath}` : '');
        return { Type: 'volume', Name: name, Source: src, Destination: p.destination, Driver: 'local', Mode: p.mode, RW: !p.readOnly, Propagation: '' };
      }
      if (p.type === 'bind') return { Type: 'bind', Source: p.source ?? '', Destination: p.destination, Mode: p.mode, RW: !p.readOnly, Propagation: p.propagation };
      return { Type: 'tmpfs', Source: '', Destination: p.destination, Mode: '', RW: !p.readOnly, Propagation: '' };
    });
  }

  // ---- container hooks ----------------------------------------------------------------------

  hooks(): ContainerHooks {
    return {
      validate: (c) => this.validate(c),
      prepare: (c, rootfs) => this.prepare(c, rootfs),
      release: (c) => this.release(c),
      removed: (c, o) => this.removed(c, o),
    };
  }

  /** Parses every mount source of a new container, creates the volumes it names, saves its plans. */
  async validate(c: ContainerRecord): Promise<void> {
    const hc = c.hostConfig;
    // 400, not 404: a 404 on create makes the docker CLI try to pull the image.
    if (hc.VolumeDriver && hc.VolumeDriver !== 'local') throw new InvalidParameterError(`error looking up volume plugin ${hc.VolumeDriver}: plugin "${hc.VolumeDriver}" not found`);
    const plans: MountPlan[] = [];
    const taken = new Set<string>();
    const add = (p: MountPlan) => {
      if (taken.has(p.destination)) throw new InvalidParameterError(`Duplicate mount point: ${p.destination}`);
      taken.add(p.destination);
      plans.push(p);
    };
    if (hc.Binds !== undefined && hc.Binds !== null && !Array.isArray(hc.Binds)) throw new InvalidParameterError('HostConfig.Binds must be a list of strings');
    for (const b of hc.Binds ?? []) {
      if (typeof b !== 'string') throw new InvalidParameterError('HostConfig.Binds must be a list of strings');
      add(parseBind(b));
    }
    if (hc.Mounts !== undefined && hc.Mounts !== null && !Array.isArray(hc.Mounts)) throw new InvalidParameterError('HostConfig.Mounts must be a list');
    for (const m of (hc.Mounts ?? []) as unknown[]) add(parseMount(m));
    if (hc.Tmpfs !== undefined && hc.Tmpfs !== null) {
      if (typeof hc.Tmpfs !== 'object' || Array.isArray(hc.Tmpfs)) throw new InvalidParameterError('HostConfig.Tmpfs must be an object');
      for (const [dest, opts] of Object.entries(hc.Tmpfs)) {
        if (typeof opts !== 'string') throw new InvalidParameterError(`HostConfig.Tmpfs: options of ${dest} must be a string`);
        add(parseTmpfs(dest, opts));
      }
    }
    // --volumes-from: the other container's mounts, except where this one mounts something itself.
    for (const spec of (hc.VolumesFrom ?? []) as unknown[]) {
      if (typeof spec !== 'string') throw new InvalidParameterError('HostConfig.VolumesFrom must be a list of strings');
      const { container, mode } = parseVolumesFrom(spec);
      const from = this.containers.tryGet(container);
      // 400, not 404: a 404 on create makes the docker CLI try to pull the image.
      if (!from) throw new InvalidParameterError(`No such container: ${container}`);
      if (from.id === c.id) throw new InvalidParameterError('cannot use volumes of the container itself');
      for (const p of this.plansOf(from.id)) {
        if (taken.has(p.destination) || p.hidden) continue;
        const copy: MountPlan = { ...p, copyUp: false };
        if (mode) { copy.readOnly = mode === 'ro'; copy.mode = p.type === 'bind' ? mode : copy.mode; }
        taken.add(p.destination);
        plans.push(copy);
      }
    }
    // The image's VOLUMEs and Config.Volumes (`-v /path` arrives here): anonymous volumes.
    const vols = c.config.Volumes ?? {};
    if (typeof vols !== 'object' || Array.isArray(vols)) throw new InvalidParameterError('Config.Volumes must be an object');
    for (const dest of Object.keys(vols)) {
      if (!dest.startsWith('/')) throw new InvalidParameterError(`invalid mount config for type "volume": invalid mount path: '${dest}' mount path must be absolute`);
      const clean = posix.normalize(dest).replace(/(.)\/+$/, '$1');
      if (clean === '/' || taken.has(clean)) continue;
      taken.add(clean);
      plans.push({ type: 'volume', destination: clean, anonymous: true, readOnly: false, mode: '', propagation: '', copyUp: true, createSource: false });
    }

    // Everything parsed: check what would fail before creating anything.
    for (const p of plans) {
      if (p.type === 'volume' && p.name && !this.store.tryGet(p.name)) this.store.check({ name: p.name, options: p.driverOpts, labels: p.labels });
      if (p.type === 'volume' && p.name) validateVolumeName(p.name);
      if (p.type === 'bind' && !p.createSource && !existsSync(p.source as string)) {
        throw new InvalidParameterError(`invalid mount config for type "bind": bind source path does not exist: ${p.source}`);
      }
    }
    const created: string[] = [];
    try {
      for (const p of plans) {
        if (p.type !== 'volume') continue;
        if (p.anonymous && !p.name) {
          p.name = newId();
          this.create({ name: p.name, labels: { [ANONYMOUS_LABEL]: '' } });
          created.push(p.name);
        } else if (p.name && !this.store.tryGet(p.name)) {
          this.create({ name: p.name, options: p.driverOpts, labels: p.labels });
          created.push(p.name);
        }
      }
      this.savePlans(c.id, plans);
    } catch (e) {
      for (const n of created) await this.store.remove(n).catch(() => undefined);
      throw e;
    }
  }

  /** The OCI mounts of a container about to start, their mountpoints made inside the rootfs. */
  async prepare(c: ContainerRecord, rootfs: string): Promise<PrepareResult> {
    const mounts: OciMount[] = [];
    for (const p of sortByDepth(this.plansOf(c.id))) {
      const ro = p.readOnly ? 'ro' : 'rw';
      if (p.type === 'volume') {
        const v = this.store.get(p.name as string);
        const source = await this.store.withLock(v.name, async () => {
          await this.store.mountDriver(v);
          const set = this.active.get(v.name) ?? new Set<string>();
          set.add(c.id);
          this.active.set(v.name, set);
          let src = this.store.dataDir(v.name);
          if (p.subpath) {
            src = secureJoin(src, p.subpath);
            if (!existsSync(src)) throw new InvalidParameterError(`cannot access path ${src}: subpath does not exist in volume ${v.name}`);
          }
          if (p.copyUp && !p.subpath && this.store.isEmpty(v.name)) await this.copyUp(rootfs, p.destination, src);
          return src;
        });
        const dest = makeMountpoint(rootfs, p.destination, true);
        mounts.push({ destination: dest, type: 'bind', source, options: ['rbind', 'rprivate', ro] });
        this.events?.emit('volume', 'mount', v.name, { container: c.id, destination: p.destination, driver: v.driver, propagation: '', 'read/write': String(!p.readOnly) });
      } else if (p.type === 'bind') {
        const source = p.source as string;
        if (!existsSync(source)) {
          if (!p.createSource) throw new InvalidParameterError(`invalid mount config for type "bind": bind source path does not exist: ${source}`);
          mkdirSync(source, { recursive: true, mode: 0o755 });
        }
        const dest = makeMountpoint(rootfs, p.destination, statSync(source).isDirectory());
        mounts.push({ destination: dest, type: 'bind', source, options: ['rbind', p.propagation || 'rprivate', ro] });
      } else {
        const dest = makeMountpoint(rootfs, p.destination, true);
        const opts = [...(p.tmpfsOptions ?? [])];
        if (!opts.some((o) => o === 'noexec' || o === 'exec')) opts.unshift('noexec');
        for (const f of ['nosuid', 'nodev']) if (!opts.includes(f) && !opts.includes(f.slice(2))) opts.unshift(f);
        mounts.push({ destination: dest, type: 'tmpfs', source: 'tmpfs', options: [...opts, ro] });
      }
    }
    // As Docker: a bind that wants shared/slave propagation needs the rootfs to propagate too.
    const props = mounts.flatMap((m) => m.options ?? []);
    const rootfsPropagation = props.some((o) => o === 'shared' || o === 'rshared') ? 'rshared'
      : props.some((o) => o === 'slave' || o === 'rslave') ? 'rslave' : undefined;
    return rootfsPropagation ? { mounts, rootfsPropagation } : { mounts };
  }

  /**
   * Docker's copy-up: an empty volume mounted over a directory of the image gets that
   * directory's content. The image path is resolved inside the rootfs (symlinks cannot point
   * the copy at the host).
   */
  private async copyUp(rootfs: string, destination: string, volumeDir: string): Promise<void> {
    const src = secureJoin(rootfs, destination);
    let st;
    try { st = lstatSync(src); } catch { return; }
    if (!st.isDirectory()) return;
    if (readdirSync(src).length === 0) return;
    await cp(src, volumeDir);
  }

  /** After a stop: unmount driver filesystems (tmpfs, nfs, bind options) no running container needs. */
  async release(c: ContainerRecord): Promise<void> {
    for (const p of this.plansOf(c.id)) {
      if (p.type !== 'volume' || !p.name) continue;
      const v = this.store.tryGet(p.name);
      if (!v) continue;
      this.events?.emit('volume', 'unmount', v.name, { container: c.id, driver: v.driver });
      const set = this.active.get(v.name);
      set?.delete(c.id);
      if (set && set.size === 0) this.active.delete(v.name);
      if (!this.store.hasDriverMount(v)) continue;
      await this.store.withLock(v.name, async () => {
        const set = this.active.get(v.name);
        const busy = (set?.size ?? 0) > 0 || this.usersOf(v.name).some((u) => u.id !== c.id && u.state.Running);
        if (!busy) await this.store.unmountDriver(v);
      });
    }
  }

  /** On rm: forget the plans; with `-v` (and `run --rm`) delete its anonymous volumes no one else uses. */
  async removed(c: ContainerRecord, opts: { removeVolumes: boolean }): Promise<void> {
    const plans = this.plansOf(c.id);
    this.db.prepare('DELETE FROM container_mounts WHERE container_id = ?').run(c.id);
    if (!opts.removeVolumes) return;
    for (const p of plans) {
      if (p.type !== 'volume' || !p.anonymous || !p.name) continue;
      if (this.usersOf(p.name).length) continue;
      await this.remove(p.name, true).catch(() => undefined);
    }
  }
}

/** `label` filter: `key` or `key=value`. */
function labelMatches(labels: Record<string, string> | null, f: string): boolean {
  const eq = f.indexOf('=');
  const l = labels ?? {};
  if (eq < 0) return f in l;
  return l[f.slice(0, eq)] === f.slice(eq + 1);
}

/**
 * Resolves a mount destination inside the rootfs (symlinks followed as the container would see
 * them, never leaving the rootfs), creates the mountpoint there, and returns the resolved
 * container path. The runtime then mounts on that path, so an image whose `/data` is a symlink
 * to `/../../host` cannot make a mount land outside the container.
 */
export function makeMountpoint(rootfs: string, destination: string, directory: boolean): string {
  const host = secureJoin(rootfs, destination);
  const rel = relative(rootfs, host);
  if (rel === '') throw new InvalidParameterError(`invalid mount destination ${destination}: it resolves to the container's root`);
  if (rel.startsWith('..') || posix.isAbsolute(rel)) throw new InvalidParameterError(`mount destination ${destination} resolves outside the container`);
  let st;
  try { st = lstatSync(host); } catch { st = undefined; }
  if (!st) {
    if (directory) mkdirSync(host, { recursive: true, mode: 0o755 });
    else {
      mkdirSync(dirname(host), { recursive: true, mode: 0o755 });
      writeFileSync(host, '', { flag: 'a', mode: 0o644 });
    }
  }
  return '/' + rel.split('\\').join('/');
}
