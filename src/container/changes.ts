// A container's filesystem changes, read from its overlay upper dir: `docker diff` (A/C/D) and
// the layer `docker commit` makes. Paths the runtime created only as mount points (/proc,
// /etc/hosts, volume targets, ...) are left out, as Docker keeps them in its init layer.
import { existsSync, promises as fsp, readFileSync, Stats } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { upperChanges, changesToTar } from '../build/upper-diff.js';
import type { ContainerRecord } from './types.js';
import type { ContainerService } from './service.js';
import type { ImageStore } from '../image/store.js';
import { rootfsDirs } from './rootfs.js';

/** GET /containers/{id}/changes items; Kind 0 = modified, 1 = added, 2 = deleted. */
export interface ChangeItem { Path: string; Kind: 0 | 1 | 2 }

/** Mount destinations of the container's last OCI spec, plus what berth always mounts. */
export function mountPoints(containerDir: string): string[] {
  const out = new Set(['/proc', '/sys', '/dev', '/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);
  const spec = join(containerDir, 'config.json');
  if (existsSync(spec)) {
    try {
      const s = JSON.parse(readFileSync(spec, 'utf8')) as { mounts?: { destination: string }[] };
      for (const m of s.mounts ?? []) out.add(m.destination);
    } catch { /* unreadable spec: the defaults above */ }
  }
  return [...out];
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try { return await fsp.lstat(p); } catch { return undefined; }
}

function belowLookup(lowers: string[]): (abs: string) => Promise<Stats | undefined> {
  return async (abs) => {
    const rel = abs.replace(/^\/+/, '');
    for (const l of lowers) {
      const st = await lstatOrUndefined(join(l, rel));
      if (st) return st.isCharacterDevice() && st.rdev === 0 ? undefined : st;
    }
    return undefined;
  };
}

interface UpperSet { upper: string; changes: Awaited<ReturnType<typeof upperChanges>>; below: (abs: string) => Promise<Stats | undefined> }

async function readUpper(svc: ContainerService, images: ImageStore, c: ContainerRecord): Promise<UpperSet> {
  const dir = svc.containerDir(c.id);
  const upper = rootfsDirs(dir).upper;
  const lowers = c.topChainId ? images.layers.lowerDirs(c.topChainId) : [];
  const below = belowLookup(lowers);
  const points = mountPoints(dir);
  if (!existsSync(upper)) return { upper, changes: { items: [], opaque: new Set() }, below };
  const changes = await upperChanges(upper, { mountPoints: points, existsBelow: async (p) => (await below(p)) !== undefined });
  return { upper, changes, below };
}

export async function containerChanges(svc: ContainerService, images: ImageStore, c: ContainerRecord): Promise<ChangeItem[]> {
  const { changes, below } = await readUpper(svc, images, c);
  const items = changes.items;
  const out: ChangeItem[] = [];
  for (const it of items) {
    const path = `/${it.rel}`;
    if (it.whiteout) { out.push({ Path: path, Kind: 2 }); continue; }
    const lower = await below(path);
    if (!lower) { out.push({ Path: path, Kind: 1 }); continue; }
    if (it.st.isDirectory() && lower.isDirectory() && !changes.opaque.has(it.rel)) {
      // A directory copied up only because something below it changed shows up as changed
      // only when it still has a change under it or its own metadata differs.
      const hasChild = items.some((o) => o.rel.startsWith(`${it.rel}/`));
      const same = lower.mode === it.st.mode && lower.uid === it.st.uid && lower.gid === it.st.gid;
      if (!hasChild && same) continue;
    }
    out.push({ Path: path, Kind: 0 });
  }
  return out.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}

/** The upper dir as a layer tar with OCI whiteouts (what commit stores). */
export async function changesLayerTar(svc: ContainerService, images: ImageStore, c: ContainerRecord): Promise<Readable> {
  const { upper, changes } = await readUpper(svc, images, c);
  return changesToTar(upper, changes);
}
