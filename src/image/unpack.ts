// Unpacks a layer tar into a directory, turning OCI whiteouts into overlayfs whiteouts.
// Every path is checked: no entry may land outside the root, through a symlink, or hard-link
// to a file outside it (CVE-2014-6407 class of bugs).
import { promises as fsp, createWriteStream } from 'node:fs';
import { posix, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { InvalidParameterError } from '../errors.js';
import { makeSpecialFiles, SpecialFile } from '../util/fsops.js';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

export class UnsafeTarEntryError extends InvalidParameterError {
  constructor(entry: string, why: string) {
    super(`refusing to unpack tar entry ${JSON.stringify(entry)}: ${why}`);
  }
}

export interface UnpackResult {
  /** Bytes of regular file content written. */
  size: number;
  entries: number;
}

export interface UnpackOptions {
  /** Convert .wh. entries to overlayfs whiteouts (layer store). When false they are applied as deletions. */
  overlayWhiteouts: boolean;
  /** Keep uid/gid from the tar (true for layers). */
  sameOwner?: boolean;
}

/** Normalises a tar entry name to a path relative to the root; throws if it would escape. */
export function cleanEntryPath(name: string): string {
  let p = name.replace(/\\/g, '/');
  const norm = posix.normalize('/' + p);
  // `..` that climbs above the root is refused instead of silently clamped: a layer that tries is hostile.
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  let depth = 0;
  for (const s of parts) {
    if (s === '..') { depth--; if (depth < 0) throw new UnsafeTarEntryError(name, 'path escapes the root'); } else depth++;
  }
  p = norm.replace(/^\/+/, '');
  return p;
}

/**
 * Makes sure every directory above `rel` exists inside `root` as a real directory (never a
 * symlink), creating missing ones.
 */
async function ensureParents(root: string, rel: string, known: Set<string>): Promise<void> {
  const dir = posix.dirname(rel);
  if (dir === '.' || dir === '' || known.has(dir)) return;
  const parts = dir.split('/');
  let cur = '';
  for (const part of parts) {
    cur = cur ? `${cur}/${part}` : part;
    if (known.has(cur)) continue;
    const abs = join(root, cur);
    try {
      const st = await fsp.lstat(abs);
      if (st.isSymbolicLink()) throw new UnsafeTarEntryError(rel, `parent ${cur} is a symlink`);
      if (!st.isDirectory()) throw new UnsafeTarEntryError(rel, `parent ${cur} is not a directory`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await fsp.mkdir(abs, { mode: 0o755 });
    }
    known.add(cur);
  }
}

async function removeExisting(abs: string, keepDir: boolean): Promise<void> {
  let st;
  try { st = await fsp.lstat(abs); } catch { return; }
  if (st.isDirectory()) {
    if (keepDir) return;
    await fsp.rm(abs, { recursive: true, force: true });
  } else {
    await fsp.unlink(abs);
  }
}

/** Unpacks an uncompressed tar stream into `root` (which must exist). */
export async function unpackTar(source: Readable, root: string, opts: UnpackOptions): Promise<UnpackResult> {
  const extract = tar.extract();
  const known = new Set<string>();
  const special: SpecialFile[] = [];
  const opaque: string[] = [];
  const dirs: { abs: string; mode: number; mtime?: Date }[] = [];
  const sameOwner = opts.sameOwner ?? true;
  let size = 0;
  let entries = 0;

  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      entries++;
      const rel = cleanEntryPath(h.name);
      if (rel === '') { entry.resume(); continue; }
      const base = posix.basename(rel);
      await ensureParents(root, rel, known);
      const abs = join(root, rel);
      const parentAbs = join(root, posix.dirname(rel));

      if (base.startsWith(WHITEOUT_PREFIX)) {
        entry.resume();
        if (base === WHITEOUT_OPAQUE) {
          if (opts.overlayWhiteouts) opaque.push(parentAbs);
          else {
            for (const child of await fsp.readdir(parentAbs)) await fsp.rm(join(parentAbs, child), { recursive: true, force: true });
          }
        } else {
          const target = base.slice(WHITEOUT_PREFIX.length);
          if (target === '' || target === '.' || target === '..') throw new UnsafeTarEntryError(h.name, 'bad whiteout name');
          const targetAbs = join(parentAbs, target);
          await removeExisting(targetAbs, false);
          known.clear();
          if (opts.overlayWhiteouts) special.push({ path: targetAbs, kind: 'whiteout' });
        }
        continue;
      }

      const mode = (h.mode ?? 0o644) & 0o7777;
      switch (h.type) {
        case 'directory': {
          entry.resume();
          await removeExisting(abs, true);
          try { await fsp.mkdir(abs, { mode: 0o755 }); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; }
          known.add(rel);
          dirs.push({ abs, mode, mtime: h.mtime });
          if (sameOwner) await fsp.lchown(abs, h.uid ?? 0, h.gid ?? 0);
          break;
        }
        case 'file':
        case 'contiguous-file': {
          await removeExisting(abs, false);
          known.clear();
          // 'wx' never follows or truncates something already there.
          await pipeline(entry, createWriteStream(abs, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }));
          size += h.size ?? 0;
          if (sameOwner) await fsp.lchown(abs, h.uid ?? 0, h.gid ?? 0);
          await fsp.chmod(abs, mode);
          if (h.mtime) await fsp.utimes(abs, h.mtime, h.mtime);
          break;
        }
        case 'symlink': {
          entry.resume();
          await removeExisting(abs, false);
          known.clear();
          await fsp.symlink(h.linkname ?? '', abs);
          if (sameOwner) await fsp.lchown(abs, h.uid ?? 0, h.gid ?? 0);
          if (h.mtime) await fsp.lutimes(abs, h.mtime, h.mtime);
          break;
        }
        case 'link': {
          entry.resume();
          const targetRel = cleanEntryPath(h.linkname ?? '');
          if (targetRel === '') throw new UnsafeTarEntryError(h.name, 'hard link to the root');
          await ensureParents(root, targetRel, known);
          const targetAbs = join(root, targetRel);
          const st = await fsp.lstat(targetAbs).catch(() => undefined);
          if (!st) throw new UnsafeTarEntryError(h.name, `hard link target ${h.linkname} does not exist in the layer`);
          if (st.isDirectory()) throw new UnsafeTarEntryError(h.name, 'hard link to a directory');
          await removeExisting(abs, false);
          known.clear();
          await fsp.link(targetAbs, abs);
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          entry.resume();
          await removeExisting(abs, false);
          known.clear();
          special.push({
            path: abs,
            kind: h.type === 'fifo' ? 'fifo' : h.type === 'block-device' ? 'block' : 'char',
            major: h.devmajor ?? 0, minor: h.devminor ?? 0, mode,
          });
          break;
        }
        default:
          // pax headers are folded in by tar-stream; anything else (e.g. GNU sparse) is skipped.
          entry.resume();
      }
    }
  })().catch((e: unknown) => { extract.destroy(e as Error); throw e; });

  await Promise.all([pipeline(source, extract), done]);
  await makeSpecialFiles(special, opaque);
  // Directory modes and times last: a read-only directory must not block its own children.
  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i];
    await fsp.chmod(d.abs, d.mode);
    if (d.mtime) await fsp.utimes(d.abs, d.mtime, d.mtime);
  }
  return { size, entries };
}
