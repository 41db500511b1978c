// A RUN step's changes as a layer tar: the container's overlay upper dir, with overlayfs
// whiteouts (0:0 char devices, opaque dirs) turned into OCI whiteouts (.wh.<name>,
// .wh..wh..opq). Mount points the runtime made only to hold build mounts are left out.
import { createReadStream, promises as fsp, Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { opaqueDirs } from '../util/fsops.js';

export interface UpperDiffOptions {
  /** Paths in the container (absolute) that only exist to hold mounts. */
  mountPoints: string[];
  /** Does the path exist in the image below? Parents created just for a mount point are dropped. */
  existsBelow: (abs: string) => Promise<boolean>;
}

interface Item { rel: string; st: Stats; whiteout: boolean }

async function walk(root: string): Promise<Item[]> {
  const out: Item[] = [];
  const rec = async (rel: string) => {
    const names = (await fsp.readdir(join(root, rel))).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const st = await fsp.lstat(join(root, r));
      const whiteout = st.isCharacterDevice() && st.rdev === 0;
      out.push({ rel: r, st, whiteout });
      if (st.isDirectory()) await rec(r);
    }
  };
  await rec('');
  return out;
}

/** Lists the changes; empty means the step changed nothing. */
export async function upperChanges(upper: string, o: UpperDiffOptions): Promise<{ items: Item[]; opaque: Set<string> }> {
  let items = await walk(upper);
  const skip = new Set(o.mountPoints.map((p) => posix.normalize(p).replace(/^\/+/, '')));
  items = items.filter((i) => !skip.has(i.rel));
  // Directories that exist only because a mount point was created inside them.
  const dirs = items.filter((i) => i.st.isDirectory()).map((i) => i.rel).sort((a, b) => b.length - a.length);
  const dropped = new Set<string>();
  for (const d of dirs) {
    const hasChildren = items.some((i) => !dropped.has(i.rel) && i.rel.startsWith(`${d}/`));
    const heldMount = [...skip].some((s) => s.startsWith(`${d}/`));
    if (!hasChildren && heldMount && !(await o.existsBelow(`/${d}`))) dropped.add(d);
  }
  items = items.filter((i) => !dropped.has(i.rel));
  // Only a directory that also exists below can be opaque in a way that matters (hiding the
  // lower one's entries); asking about just those usually saves the helper process entirely.
  const dirItems: Item[] = [];
  for (const i of items) if (i.st.isDirectory() && (await o.existsBelow(`/${i.rel}`))) dirItems.push(i);
  const flags = await opaqueDirs(dirItems.map((i) => join(upper, i.rel)));
  const opaque = new Set(dirItems.filter((_, k) => flags[k]).map((i) => i.rel));
  return { items, opaque };
}

export function changesToTar(upper: string, changes: { items: Item[]; opaque: Set<string> }): Readable {
  const pack = tar.pack();
  (async () => {
    const inodes = new Map<string, string>();
    for (const it of changes.items) {
      const { st } = it;
      const base = { name: it.rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (it.whiteout) {
        pack.entry({ ...base, name: posix.join(posix.dirname(it.rel), `.wh.${posix.basename(it.rel)}`), type: 'file', size: 0, mode: 0o644 }, Buffer.alloc(0));
      } else if (st.isDirectory()) {
        pack.entry({ ...base, type: 'directory' });
        if (changes.opaque.has(it.rel)) pack.entry({ name: `${it.rel}/.wh..wh..opq`, type: 'file', size: 0, mode: 0o644, mtime: st.mtime }, Buffer.alloc(0));
      } else if (st.isSymbolicLink()) {
        pack.entry({ ...base, type: 'symlink', linkname: await fsp.readlink(join(upper, it.rel)) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? inodes.get(key) : undefined;
        if (first) {
          pack.entry({ ...base, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) inodes.set(key, it.rel);
        const w = pack.entry({ ...base, type: 'file', size: st.size });
        await pipeline(createReadStream(join(upper, it.rel), { highWaterMark: 1 << 20 }), w);
      } else if (st.isFIFO()) {
        pack.entry({ ...base, type: 'fifo' });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const rdev = st.rdev;
        pack.entry({ ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) });
      }
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  pack.on('error', (e) => out.destroy(e));
  pack.pipe(out);
  return out;
}
