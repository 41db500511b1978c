// What the builder keeps between builds, as `system df` lists it and `builder prune` removes it:
// step records (the images they point at are counted with the images, so Size 0; shared while
// that image is there, dangling once it is gone), the context blob cache, and RUN
// --mount=type=cache directories.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import { timestampMs } from '../util/human.js';
import { dirSize } from '../util/dirsize.js';
import type { BuildBackend } from './backend.js';

/** The step records and the images they point at. */
export type BuildCacheOwner = Pick<BuildBackend, 'cache' | 'resolveImage'>;

export const contextBlobDir = (stateDir: string): string => join(stateDir, 'context-blobs');
const cacheMountDir = (stateDir: string): string => join(stateDir, 'cache-mounts');

/** One entry of `GET /system/df`'s BuildCache list (swagger definition BuildCache). */
export interface BuildCacheRecord {
  ID: string;
  Parents: string[];
  Type: 'regular' | 'exec.cachemount';
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string;
  UsageCount: number;
}

/** `POST /build/prune`'s query, parsed. */
export interface BuildCachePruneOptions {
  /** Step records too: they are shared with images, so not dangling. */
  all?: boolean;
  /** until, id, parent, type, description, inuse, shared, private. */
  filters?: Map<string, string[]>;
  /** Keep the most recently used cache up to this many bytes (`reserved-space`, `keep-storage`). */
  reservedSpace?: number;
  maxUsedSpace?: number;
  /** Prune until the file system has this many bytes free. */
  minFreeSpace?: number;
}

export interface BuildCachePruneReport {
  CachesDeleted: string[];
  SpaceReclaimed: number;
}

interface CacheItem {
  record: BuildCacheRecord;
  remove(): Promise<void>;
}


async function cacheItems(owner: BuildCacheOwner, stateDir: string): Promise<CacheItem[]> {
  const out: CacheItem[] = [];
  for (const e of owner.cache.list()) {
    out.push({
      record: {
        ID: e.key.slice(7, 32), Parents: [], Type: 'regular', Description: e.instruction.slice(0, 200), InUse: false,
        Shared: (await owner.resolveImage(e.imageId)) !== undefined, Size: 0,
        CreatedAt: new Date(e.created).toISOString(), LastUsedAt: new Date(e.lastUsed).toISOString(), UsageCount: 1,
      },
      remove: async () => { owner.cache.remove([e.key]); },
    });
  }
  const blobs = contextBlobDir(stateDir);
  const blobSize = await dirSize(blobs);
  if (blobSize > 0) {
    const st = await fsp.stat(blobs).catch(() => undefined);
    const when = (st?.mtime ?? new Date()).toISOString();
    out.push({
      record: { ID: 'context-blobs', Parents: [], Type: 'regular', Description: 'build context files kept for the next build', InUse: false,
        Shared: false, Size: blobSize, CreatedAt: when, LastUsedAt: when, UsageCount: 1 },
      remove: () => fsp.rm(blobs, { recursive: true, force: true }),
    });
  }
  const mounts = cacheMountDir(stateDir);
  for (const name of await fsp.readdir(mounts).catch(() => [] as string[])) {
    const dir = join(mounts, name);
    const st = await fsp.stat(dir).catch(() => undefined);
    out.push({
      record: {
        ID: name.slice(0, 25), Parents: [], Type: 'exec.cachemount', Description: 'cached mount (RUN --mount=type=cache)', InUse: false, Shared: false,
        Size: await dirSize(dir), CreatedAt: (st?.birthtime ?? new Date()).toISOString(), LastUsedAt: (st?.mtime ?? new Date()).toISOString(), UsageCount: 1,
      },
      remove: () => fsp.rm(dir, { recursive: true, force: true }),
    });
  }
  return out;
}

/** The build cache, for `system df`. */
export async function buildCacheUsage(owner: BuildCacheOwner, stateDir: string): Promise<BuildCacheRecord[]> {
  return (await cacheItems(owner, stateDir)).map((i) => i.record);
}

const PRUNE_FILTERS = new Set(['until', 'id', 'parent', 'type', 'description', 'inuse', 'shared', 'private']);

function pruneFilter(filters: Map<string, string[]>): (r: BuildCacheRecord) => boolean {
  for (const k of filters.keys()) if (!PRUNE_FILTERS.has(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  const until = filters.get('until')?.[0];
  const untilMs = until === undefined ? undefined : timestampMs(until);
  const any = (k: string, f: (v: string) => boolean) => { const vs = filters.get(k); return !vs || vs.length === 0 || vs.some(f); };
  const flag = (k: string, set: boolean) => !filters.has(k) || set;
  return (r) => (untilMs === undefined || Date.parse(r.LastUsedAt) < untilMs)
    && any('id', (v) => r.ID.startsWith(v))
    && any('parent', (v) => r.Parents.includes(v))
    && any('type', (v) => v === r.Type)
    && any('description', (v) => r.Description.includes(v))
    && flag('inuse', r.InUse) && flag('shared', r.Shared) && flag('private', !r.Shared);
}

/**
 * `docker builder prune`: removes what is not in use and matches the filters, least recently
 * used first; with a space limit, only until the cache (or the disk) is within it. Without
 * `all`, only what is dangling: step records whose image is gone, context files, cache mounts.
 */
export async function pruneBuildCache(owner: BuildCacheOwner, stateDir: string, opts: BuildCachePruneOptions = {}): Promise<BuildCachePruneReport> {
  const matches = pruneFilter(opts.filters ?? new Map());
  const items = await cacheItems(owner, stateDir);
  const candidates = items
    .filter((i) => !i.record.InUse && (opts.all || !i.record.Shared) && matches(i.record))
    .sort((a, b) => Date.parse(a.record.LastUsedAt) - Date.parse(b.record.LastUsedAt));
  let used = items.reduce((n, i) => n + i.record.Size, 0);
  const keep = Math.min(opts.reservedSpace || Infinity, opts.maxUsedSpace || Infinity);
  let free = opts.minFreeSpace ? await freeBytes(stateDir) : Infinity;
  const limited = keep !== Infinity || (opts.minFreeSpace ?? 0) > 0;
  const report: BuildCachePruneReport = { CachesDeleted: [], SpaceReclaimed: 0 };
  for (const i of candidates) {
    if (limited && used <= keep && free >= (opts.minFreeSpace ?? 0)) break;
    await i.remove();
    report.CachesDeleted.push(i.record.ID);
    report.SpaceReclaimed += i.record.Size;
    used -= i.record.Size;
    free += i.record.Size;
  }
  return report;
}

async function freeBytes(dir: string): Promise<number> {
  const s = await fsp.statfs(dir).catch(() => undefined);
  return s ? s.bavail * s.bsize : Infinity;
}
