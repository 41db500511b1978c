// BuildBackend over berthd's own parts: images and layers from the image store, RUN steps as
// real containers of the container service (same isolation as `run`), their upper dirs
// committed as layers, and the cache in berth.db.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Db } from '../store/db.js';
import { SystemError } from '../errors.js';
import type { ImageStore } from '../image/store.js';
import { chainIds } from '../image/layers.js';
import type { ImageConfig } from '../image/types.js';
import type { ContainerService, PrepareResult } from '../container/service.js';
import type { ContainerRecord } from '../container/types.js';
import type { OciMount } from '../container/spec.js';
import type { EventBus } from '../daemon/events.js';
import type { BuildBackend, BuildImage, MountedImage, RunMountSpec, RunResult, RunSpec } from './backend.js';
import { BuildCacheStore, SqliteBuildCache } from './cache.js';
import { changesToTar, upperChanges } from './upper-diff.js';
import { resolveInRoot } from './copy.js';

export interface DaemonBuildDeps {
  db: Db;
  images: ImageStore;
  containers: ContainerService;
  events?: EventBus;
  /** <data-root>/build: cache mounts, temp contexts, read-only image views. */
  stateDir: string;
  /** Fetches a missing base image (ImageService.pull); omitted offline. */
  pull?: (ref: string, platform: string | undefined, progress: (line: string) => void) => Promise<void>;
}

/** Files the runtime bind-mounts into every container: never part of a RUN layer. */
const RUNTIME_MOUNTS = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'];

function sh(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _o, stderr) => (err ? reject(new SystemError(`${cmd} ${args[0]}: ${(stderr || err.message).trim()}`)) : resolve()));
  });
}

function ociMount(m: RunMountSpec): OciMount {
  if (m.type === 'tmpfs') {
    return { destination: m.target, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', ...(m.sizeBytes ? [`size=${m.sizeBytes}`] : [])] };
  }
  return { destination: m.target, type: 'bind', source: m.source, options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'] };
}

export class DaemonBuildBackend implements BuildBackend {
  readonly cache: BuildCacheStore;
  private readonly pendingMounts = new Map<string, OciMount[]>();
  private innerPrepare: ((c: ContainerRecord, rootfs: string) => Promise<PrepareResult>) | undefined;
  private readonly prepare = async (c: ContainerRecord, rootfs: string): Promise<PrepareResult> => {
    const r = this.innerPrepare ? await this.innerPrepare(c, rootfs) : {};
    const extra = this.pendingMounts.get(c.id);
    return extra ? { ...r, mounts: [...(r.mounts ?? []), ...extra] } : r;
  };

  constructor(private readonly d: DaemonBuildDeps) {
    this.cache = new SqliteBuildCache(d.db);
    mkdirSync(join(d.stateDir, 'mnt'), { recursive: true });
  }

  /** Build mounts ride on the container service's prepare hook, after whatever else is there. */
  private ensureHook(): void {
    const h = this.d.containers.hooks;
    if (h.prepare !== this.prepare) {
      this.innerPrepare = h.prepare?.bind(h);
      h.prepare = this.prepare;
    }
  }

  private async toBuildImage(id: string): Promise<BuildImage> {
    return { id, config: structuredClone(await this.d.images.config(id)) };
  }

  async resolveImage(ref: string): Promise<BuildImage | undefined> {
    const rec = this.d.images.tryResolve(ref);
    return rec ? this.toBuildImage(rec.id) : undefined;
  }

  get pullImage(): BuildBackend['pullImage'] {
    const pull = this.d.pull;
    if (!pull) return undefined;
    return async (ref, platform, progress) => {
      await pull(ref, platform, progress);
      const img = await this.resolveImage(ref);
      if (!img) throw new SystemError(`pulled ${ref} but it is not in the store`);
      return img;
    };
  }

  async imageParent(id: string): Promise<string | undefined> {
    return this.d.images.tryGet(id)?.parent || undefined;
  }

  private topChain(img: BuildImage | null): string | null {
    if (!img) return null;
    const c = chainIds(img.config.rootfs.diff_ids);
    return c.length ? c[c.length - 1] : null;
  }

  async addLayer(parent: BuildImage | null, tar: Readable): Promise<string> {
    // Build steps keep plain tar blobs: builds should not pay for gzip; a push compresses once.
    const rec = await this.d.images.layers.createFromTar(this.topChain(parent), tar, { compress: false });
    return rec.diffId;
  }

  async createImage(config: ImageConfig, parentId: string | null): Promise<string> {
    const rec = await this.d.images.create(JSON.stringify(config), { parent: parentId ?? '' });
    return rec.id;
  }

  async tagImage(id: string, ref: string): Promise<void> {
    this.d.images.tag(id, ref);
    this.d.events?.emit('image', 'tag', id, { name: ref });
  }

  private lowers(img: BuildImage | null): string[] {
    const top = this.topChain(img);
    return top ? this.d.images.layers.lowerDirs(top) : [];
  }

  async mountImage(image: BuildImage | null): Promise<MountedImage> {
    const lowers = this.lowers(image);
    // One layer is its own rootfs (read only by convention: the builder never writes there).
    if (lowers.length === 1) return { path: lowers[0], release: async () => undefined };
    const dir = join(this.d.stateDir, 'mnt', randomBytes(8).toString('hex'));
    await fsp.mkdir(dir, { recursive: true });
    if (lowers.length === 0) return { path: dir, release: () => fsp.rm(dir, { recursive: true, force: true }) };
    // overlayfs without an upper dir is read only.
    await sh('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers.join(':')}`, dir]);
    return {
      path: dir,
      release: async () => {
        await sh('umount', [dir]).catch(() => sh('umount', ['-l', dir]));
        await fsp.rmdir(dir).catch(() => undefined);
      },
    };
  }

  async pathIsDir(image: BuildImage | null, abs: string): Promise<boolean> {
    // Top layer first: the first layer that has the path (or a whiteout for it) decides.
    let sawLink = false;
    for (const l of this.lowers(image)) {
      const rel = await resolveInRoot(l, abs, false, abs, false).catch(() => undefined);
      if (rel === undefined) continue;
      const st = await fsp.lstat(join(l, rel)).catch(() => undefined);
      if (!st) continue;
      if (st.isCharacterDevice() && st.rdev === 0) return false;
      if (st.isSymbolicLink() || rel !== abs.replace(/^\/+|\/+$/g, '')) { sawLink = true; break; }
      return st.isDirectory();
    }
    // Links may point into other layers: only then is the merged view needed.
    if (!sawLink) return false;
    const m = await this.mountImage(image);
    try {
      const rel = await resolveInRoot(m.path, abs, false, abs);
      return rel !== undefined && (await fsp.stat(join(m.path, rel)).catch(() => undefined))?.isDirectory() === true;
    } finally {
      await m.release();
    }
  }

  async run(spec: RunSpec): Promise<RunResult> {
    this.ensureHook();
    const svc = this.d.containers;
    const { id } = await svc.create({
      Image: spec.image.id, Entrypoint: [], Cmd: spec.args, Env: spec.env, User: spec.user, WorkingDir: spec.workdir,
      AttachStdout: true, AttachStderr: true, Labels: { 'berth.build': 'step' },
      HostConfig: { NetworkMode: spec.network || 'default', ExtraHosts: spec.extraHosts ?? [], LogConfig: { Type: 'json-file' } },
    }, undefined);
    this.pendingMounts.set(id, spec.mounts.map(ociMount));
    const cleanup = async () => {
      this.pendingMounts.delete(id);
      await svc.remove(id, { force: true, removeVolumes: true }).catch(() => undefined);
    };
    let exitCode: number;
    try {
      spec.onStart?.(id);
      const exited = svc.wait(id, 'next-exit');
      const onAbort = () => { void svc.kill(id, 'SIGKILL').catch(() => undefined); };
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await svc.start(id);
      } catch (e) {
        // The runtime could not start the command (e.g. not found): Docker reports it as is.
        await cleanup();
        throw e;
      }
      const logs = (async () => {
        for await (const e of svc.logs(id, { stdout: true, stderr: true, follow: true })) spec.onOutput(e.data);
      })().catch(() => undefined);
      exitCode = (await exited).code;
      await Promise.race([logs, new Promise((r) => setTimeout(r, 2000))]);
      spec.signal?.removeEventListener('abort', onAbort);
    } catch (e) {
      await cleanup();
      throw e;
    }
    const upper = join(svc.containerDir(id), 'upper');
    const lowers = this.lowers(spec.image);
    return {
      containerId: id,
      exitCode,
      commit: async () => {
        if (!existsSync(upper)) return null;
        const changes = await upperChanges(upper, {
          mountPoints: [...spec.mounts.map((m) => m.target), ...RUNTIME_MOUNTS],
          existsBelow: async (abs) => {
            // Resolved inside each layer: a layer's absolute symlink must never reach the host's tree.
            for (const l of lowers) {
              const rel = await resolveInRoot(l, abs, false, abs, false).catch(() => undefined);
              if (rel !== undefined && (await fsp.lstat(join(l, rel)).catch(() => undefined))) return true;
            }
            return false;
          },
        });
        if (changes.items.length === 0) return null;
        return this.addLayer(spec.image, changesToTar(upper, changes));
      },
      remove: cleanup,
    };
  }
}
