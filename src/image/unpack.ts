// Unpacks a layer tar into a directory, turning OCI whiteouts into overlayfs whiteouts.
// Every path is checked: no entry may land outside the root, through a symlink, or hard-link
// to a file outside it (CVE-2014-6407 class of bugs).
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
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

/** Removes whatever is at `abs`; says whether it was a directory (cached parents are then stale). */
async function removeExisting(abs: string, keepDir: boolean): Promise<'none' | 'dir' | 'other'> {
  let st;
  try { st = await fsp.lstat(abs); } catch { return 'none'; }
  if (st.isDirectory()) {
    if (keepDir) return 'none';
    await fsp.rm(abs, { recursive: true, force: true });
    return 'dir';
  }
  await fsp.unlink(abs);
  return 'other';
}

const UMASK = process.umask();

/**
 * Writes one regular file: created exclusively ('wx' never follows or truncates what is there;
 * an existing entry is removed first and the create retried), written in batches, owned and
 * timed through the open handle — a handful of syscalls a file, which is what small-file layers
 * are made of.
 */
async function writeFile(abs: string, entry: AsyncIterable<Buffer> | Iterable<Buffer>, h: { mode: number; uid: number; gid: number; mtime?: Date }, sameOwner: boolean,
  onReplaceDir: () => void): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await fsp.open(abs, 'wx', h.mode & 0o777);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if ((await removeExisting(abs, false)) === 'dir') onReplaceDir();
    fh = await fsp.open(abs, 'wx', h.mode & 0o777);
  }
  try {
    let batch: Buffer[] = [];
    let n = 0;
    for await (const c of entry) {
      batch.push(c);
      n += c.length;
      if (n >= 1 << 20) { await fh.writev(batch); batch = []; n = 0; }
    }
    if (batch.length) await fh.writev(batch);
    if (sameOwner && (h.uid !== 0 || h.gid !== 0)) await fh.chown(h.uid, h.gid);
    // chown clears setuid/setgid, and the umask may have trimmed the mode: fix it up only then.
    if ((h.mode & 0o7000) !== 0 || ((h.mode & 0o777) & UMASK) !== 0) await fh.chmod(h.mode);
    if (h.mtime) await fh.utimes(h.mtime, h.mtime);
  } finally {
    await fh.close();
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

  // Small files are read into memory and written while the next entries are read, a few at a
  // time: small-file layers are bound by syscall round trips, not bytes. Any other entry, or a
  // file whose path is above or below one still being written, waits for those writes first,
  // so every path check still sees the tree as a sequential unpack would.
  const pending = new Map<string, Promise<void>>();
  let writeError: unknown;
  const drain = async () => {
    await Promise.all(pending.values());
    if (writeError !== undefined) throw writeError;
  };
  const conflicts = (rel: string) => {
    for (const k of pending.keys()) if (k === rel || k.startsWith(`${rel}/`) || rel.startsWith(`${k}/`)) return true;
    return false;
  };

  const done = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      entries++;
      const rel = cleanEntryPath(h.name);
      if (rel === '') { entry.resume(); continue; }
      const base = posix.basename(rel);
      const isFile = (h.type === 'file' || h.type === 'contiguous-file') && !base.startsWith(WHITEOUT_PREFIX);
      if (!isFile || conflicts(rel) || pending.size >= 8) await drain();
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
          if ((await removeExisting(targetAbs, false)) === 'dir') known.clear();
          if (opts.overlayWhiteouts) special.push({ path: targetAbs, kind: 'whiteout' });
        }
        continue;
      }

      const mode = (h.mode ?? 0o644) & 0o7777;
      switch (h.type) {
        case 'directory': {
          entry.resume();
          try {
            await fsp.mkdir(abs, { mode: 0o755 });
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
            // Something is there: keep a real directory, replace anything else (a symlink above all).
            if ((await removeExisting(abs, true)) !== 'none') await fsp.mkdir(abs, { mode: 0o755 });
          }
          known.add(rel);
          dirs.push({ abs, mode, mtime: h.mtime });
          if (sameOwner && ((h.uid ?? 0) !== 0 || (h.gid ?? 0) !== 0)) await fsp.lchown(abs, h.uid ?? 0, h.gid ?? 0);
          break;
        }
        case 'file':
        case 'contiguous-file': {
          const meta = { mode, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime };
          size += h.size ?? 0;
          if ((h.size ?? 0) > 1 << 20) {
            await writeFile(abs, entry as AsyncIterable<Buffer>, meta, sameOwner, () => known.clear());
            break;
          }
          const chunks: Buffer[] = [];
          for await (const c of entry) chunks.push(c as Buffer);
          const p = writeFile(abs, chunks, meta, sameOwner, () => known.clear())
            .catch((e: unknown) => { if (writeError === undefined) writeError = e; })
            .finally(() => pending.delete(rel));
          pending.set(rel, p);
          break;
        }
        case 'symlink': {
          entry.resume();
          if ((await removeExisting(abs, false)) === 'dir') known.clear();
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
          if ((await removeExisting(abs, false)) === 'dir') known.clear();
          await fsp.link(targetAbs, abs);
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo': {
          entry.resume();
          if ((await removeExisting(abs, false)) === 'dir') known.clear();
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
    await drain();
  })().catch(async (e: unknown) => {
    await Promise.allSettled(pending.values());
    extract.destroy(e as Error);
    throw e;
  });

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
