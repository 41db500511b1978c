// COPY and ADD: resolve sources (wildcards, symlinks kept inside their root), decide where each
// lands the way Docker does (directory contents copied, trailing-slash destinations, several
// sources need a directory), hash what is copied by content (never mtime) for the cache, then
// write the result as a layer tar.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp, Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { compressionOf } from '../image/layers.js';

export class CopyError extends InvalidParameterError {}

const MAX_LINKS = 255;

/**
 * Resolves `rel` inside `root` following symlinks. `strict` (the build context): a link that
 * points outside the root is refused. Otherwise (an image's rootfs) links resolve as in a chroot.
 * Returns the relative path from the root, or undefined if a component is missing.
 */
export async function resolveInRoot(root: string, rel: string, strict: boolean, display: string, followLast = true): Promise<string | undefined> {
  let remaining = rel.split('/').filter((s) => s !== '' && s !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (remaining.length) {
    const part = remaining.shift() as string;
    if (part === '..') {
      if (resolved.length === 0 && strict) throw forbidden(display, rel);
      resolved.pop();
      continue;
    }
    const abs = join(root, ...resolved, part);
    const st = await fsp.lstat(abs).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink() && (remaining.length > 0 || followLast)) {
      if (++links > MAX_LINKS) throw new CopyError(`too many levels of symbolic links: ${display}`);
      const target = await fsp.readlink(abs);
      if (target.startsWith('/')) {
        if (strict) throw forbidden(display, target);
        resolved.length = 0;
      } else if (strict) {
        // Refuse a relative link that climbs above the root.
        let depth = resolved.length;
        for (const s of target.split('/')) {
          if (s === '..') { depth--; if (depth < 0) throw forbidden(display, target); } else if (s !== '' && s !== '.') depth++;
        }
      }
      remaining = [...target.split('/').filter((s) => s !== '' && s !== '.'), ...remaining];
      continue;
    }
    resolved.push(part);
  }
  return resolved.join('/');
}

function forbidden(src: string, what: string): CopyError {
  return new CopyError(`forbidden path outside the build context: ${src} (${what})`);
}

/** Go's filepath.Match for one path component. */
export function globMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new CopyError(`syntax error in pattern: ${pattern}`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '!' + cls.slice(1);
      re += '[' + (cls.startsWith('!') ? '^' + cls.slice(1) : cls).replace(/\\/g, '\\\\') + ']';
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) { re += '\\' + pattern[++i]; } else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(re + '$', 's').test(name);
}

export const hasWildcard = (s: string) => /[*?[]/.test(s);

/** Expands a wildcard path component by component; results are relative and sorted. */
async function expandGlob(root: string, rel: string): Promise<string[]> {
  const parts = rel.split('/').filter((s) => s !== '' && s !== '.');
  let cur = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of cur) {
      if (!hasWildcard(part)) { next.push(base ? `${base}/${part}` : part); continue; }
      const names = await fsp.readdir(join(root, base)).catch(() => [] as string[]);
      for (const n of names.sort()) if (globMatch(part, n)) next.push(base ? `${base}/${n}` : n);
    }
    cur = next;
  }
  const out: string[] = [];
  for (const c of cur) if (await fsp.lstat(join(root, c)).catch(() => undefined)) out.push(c);
  return out;
}

export interface CopyOwner { uid: number; gid: number }

/** One entry of the layer a COPY writes. */
export interface CopyEntry {
  /** Absolute path in the image, no trailing slash. */
  dest: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  /** Host file to read (files). */
  src?: string;
  data?: Buffer;
  linkname?: string;
  size: number;
  mtime?: Date;
  /** Content digest (files), filled in by hashEntries. */
  sha?: string;
}

export interface CopyRequest {
  /** Where sources are read from: the context dir or an image rootfs. */
  root: string;
  /** The context (strict symlink rules) or an image/stage (chroot rules). */
  strictRoot: boolean;
  sources: string[];
  /** Heredoc sources (`COPY <<EOF /f`). */
  contents: { path: string; data: string }[];
  /** Absolute destination, trailing slash kept. */
  dest: string;
  destIsDir: (abs: string) => Promise<boolean>;
  owner?: CopyOwner;
  chmod?: number;
  /** ADD: extract local tar archives. */
  unpackArchives: boolean;
  command: 'COPY' | 'ADD';
  exclude?: string[];
}

function modeBits(st: Stats): number {
  return st.mode & 0o7777;
}

async function walkInto(root: string, rel: string, destBase: string, req: CopyRequest, out: CopyEntry[]): Promise<void> {
  const abs = join(root, rel);
  const names = (await fsp.readdir(abs)).sort();
  for (const n of names) {
    const r = rel ? `${rel}/${n}` : n;
    if (req.exclude?.some((p) => globMatch(p, n) || globMatch(p, r))) continue;
    const st = await fsp.lstat(join(root, r));
    const dest = posix.join(destBase, n);
    const base = { dest, uid: req.owner?.uid ?? 0, gid: req.owner?.gid ?? 0, mtime: st.mtime };
    if (st.isDirectory()) {
      out.push({ ...base, type: 'dir', mode: req.chmod ?? modeBits(st), size: 0 });
      await walkInto(root, r, dest, req, out);
    } else if (st.isSymbolicLink()) {
      out.push({ ...base, type: 'symlink', mode: 0o777, linkname: await fsp.readlink(join(root, r)), size: 0 });
    } else if (st.isFile()) {
      out.push({ ...base, type: 'file', mode: req.chmod ?? modeBits(st), src: join(root, r), size: st.size });
    }
  }
}

async function isArchive(file: string): Promise<'tar' | 'gzip' | undefined> {
  const fh = await fsp.open(file, 'r');
  try {
    const b = Buffer.alloc(512);
    const { bytesRead } = await fh.read(b, 0, 512, 0);
    if (compressionOf(b.subarray(0, bytesRead)) === 'gzip') return 'gzip';
    if (bytesRead >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}

/** An archive source of ADD, extracted into the layer at `dest`. */
export interface ArchiveSource { file: string; dest: string; kind: 'tar' | 'gzip'; sha?: string }

export interface CopyPlan {
  entries: CopyEntry[];
  archives: ArchiveSource[];
}

function cleanDest(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Works out every file a COPY/ADD writes. Errors are Docker's texts, naming the source. */
export async function planCopy(req: CopyRequest): Promise<CopyPlan> {
  const items: { rel: string; display: string }[] = [];
  for (const src of req.sources) {
    const norm = posix.normalize(src.replace(/^\/+/, '') || '.');
    if (norm === '..' || norm.startsWith('../')) throw forbidden(src, '');
    const matches = hasWildcard(norm) ? await expandGlob(req.root, norm) : [norm];
    if (hasWildcard(norm) && matches.length === 0) {
      throw new CopyError(`${req.command} failed: no source files were specified`);
    }
    for (const m of matches) items.push({ rel: m === '.' ? '' : m, display: src });
  }
  const count = items.length + req.contents.length;
  if (count === 0) throw new CopyError(`${req.command} failed: no source files were specified`);
  const destSlash = req.dest.endsWith('/') || req.dest.endsWith('/.');
  if (count > 1 && !destSlash) {
    throw new CopyError(`When using ${req.command} with more than one source file, the destination must be a directory and end with a /`);
  }
  const dest = cleanDest(req.dest);
  const destDir = destSlash || (await req.destIsDir(dest));
  const entries: CopyEntry[] = [];
  const archives: ArchiveSource[] = [];
  const owner = { uid: req.owner?.uid ?? 0, gid: req.owner?.gid ?? 0 };
  let destDirEntryAdded = false;
  const addDestDir = async (d: string) => {
    if (destDirEntryAdded || d === '/') return;
    destDirEntryAdded = true;
    if (!(await req.destIsDir(d))) entries.push({ dest: d, type: 'dir', mode: req.chmod ?? 0o755, ...owner, size: 0 });
  };
  for (const it of items) {
    const resolved = await resolveInRoot(req.root, it.rel, req.strictRoot, it.display);
    const st = resolved === undefined ? undefined : await fsp.lstat(join(req.root, resolved)).catch(() => undefined);
    if (resolved === undefined || !st) {
      throw new NotFoundError(`${req.command} failed: file not found in build context or excluded by .dockerignore: stat ${it.rel || '.'}: file does not exist`);
    }
    const abs = join(req.root, resolved);
    if (st.isDirectory()) {
      await addDestDir(dest);
      await walkInto(req.root, resolved, dest, req, entries);
      continue;
    }
    if (!st.isFile()) throw new CopyError(`${req.command} failed: ${it.display} is not a regular file or directory`);
    if (req.unpackArchives) {
      const kind = await isArchive(abs);
      if (kind) { archives.push({ file: abs, dest: dest, kind }); continue; }
    }
    const target = destDir ? posix.join(dest, posix.basename(it.rel || resolved)) : dest;
    entries.push({ dest: target, type: 'file', mode: req.chmod ?? modeBits(st), ...owner, src: abs, size: st.size, mtime: st.mtime });
  }
  for (const c of req.contents) {
    const data = Buffer.from(c.data);
    const target = destDir ? posix.join(dest, c.path) : dest;
    entries.push({ dest: target, type: 'file', mode: req.chmod ?? 0o644, ...owner, data, size: data.length });
  }
  return { entries, archives };
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

/**
 * The content hash of a plan: paths, types, modes, owners, link targets and file contents.
 * Mtimes are left out on purpose: `touch` must not invalidate the cache.
 */
export async function hashPlan(plan: CopyPlan, known?: (hostPath: string) => string | undefined): Promise<{ digest: string; files: Record<string, string> }> {
  const h = createHash('sha256');
  const files: Record<string, string> = {};
  for (const e of plan.entries) {
    if (e.type === 'file') {
      e.sha = e.data ? createHash('sha256').update(e.data).digest('hex') : known?.(e.src as string) ?? await sha256File(e.src as string);
    }
    h.update(`${e.dest}\0${e.type}\0${e.mode.toString(8)}\0${e.uid}:${e.gid}\0${e.linkname ?? ''}\0${e.sha ?? ''}\n`);
    if (e.sha) files[e.dest] = e.sha;
  }
  for (const a of plan.archives) {
    a.sha = known?.(a.file) ?? await sha256File(a.file);
    h.update(`archive\0${a.dest}\0${a.sha}\n`);
    files[`${a.dest} (archive)`] = a.sha;
  }
  return { digest: `sha256:${h.digest('hex')}`, files };
}

function stripRoot(p: string): string {
  return p.replace(/^\/+/, '');
}

function safeArchiveName(name: string): string | undefined {
  const parts: string[] = [];
  for (const s of name.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') { if (parts.length === 0) return undefined; parts.pop(); } else parts.push(s);
  }
  return parts.join('/');
}

/** Streams the plan as an uncompressed layer tar. */
export function planToTar(plan: CopyPlan): Readable {
  const pack = tar.pack();
  (async () => {
    for (const e of plan.entries) {
      const name = stripRoot(e.dest);
      const header = { name, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime ?? new Date(0) };
      if (e.type === 'dir') pack.entry({ ...header, type: 'directory' });
      else if (e.type === 'symlink') pack.entry({ ...header, type: 'symlink', linkname: e.linkname });
      else if (e.data) pack.entry({ ...header, type: 'file', size: e.data.length }, e.data);
      else {
        const st = await fsp.stat(e.src as string);
        const w = pack.entry({ ...header, type: 'file', size: st.size });
        await pipeline(createReadStream(e.src as string, { highWaterMark: 1 << 20 }), w);
      }
    }
    for (const a of plan.archives) {
      const ex = tar.extract();
      const src = createReadStream(a.file);
      const input = a.kind === 'gzip' ? src.pipe(createGunzip()) : src;
      const copying = (async () => {
        for await (const entry of ex) {
          const h = entry.header;
          const rel = safeArchiveName(h.name);
          if (rel === undefined) throw new CopyError(`ADD failed: archive entry ${JSON.stringify(h.name)} escapes the destination`);
          const name = stripRoot(posix.join(a.dest, rel));
          if (name === '') { entry.resume(); continue; }
          if (h.type === 'file' || h.type === 'contiguous-file') {
            await pipeline(entry, pack.entry({ ...h, name, type: 'file', size: h.size }));
          } else if (h.type === 'directory' || h.type === 'symlink') {
            entry.resume();
            pack.entry({ ...h, name });
          } else if (h.type === 'link') {
            entry.resume();
            const t = safeArchiveName(h.linkname ?? '');
            if (t === undefined) throw new CopyError(`ADD failed: archive entry ${JSON.stringify(h.name)} links outside the destination`);
            pack.entry({ ...h, name, linkname: stripRoot(posix.join(a.dest, t)) });
          } else entry.resume();
        }
      })();
      await Promise.all([pipeline(input, ex), copying]);
    }
    pack.finalize();
  })().catch((e: unknown) => pack.destroy(e as Error));
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  pack.on('error', (e) => out.destroy(e));
  pack.pipe(out);
  return out;
}

/** `--chown=user:group` against the image's /etc/passwd and /etc/group. */
export function resolveChown(spec: string, passwd: string | undefined, group: string | undefined): CopyOwner {
  const [u, g] = spec.split(':', 2);
  const lookup = (file: string | undefined, name: string, what: 'user' | 'group'): { id: number; gid?: number } => {
    if (/^\d+$/.test(name)) return { id: Number(name) };
    for (const line of (file ?? '').split('\n')) {
      const f = line.split(':');
      if (f[0] === name && f.length >= 3) return { id: Number(f[2]), gid: what === 'user' ? Number(f[3]) : undefined };
    }
    const kind = what === 'user' ? 'uid' : 'gid';
    throw new CopyError(`unable to convert uid/gid chown string to host mapping: can't find ${kind} for ${what} ${name}: no such ${what}: ${name}`);
  };
  const user = lookup(passwd, u, 'user');
  if (g === undefined) return { uid: user.id, gid: user.gid ?? user.id };
  return { uid: user.id, gid: lookup(group, g, 'group').id };
}

export function parseChmod(spec: string): number | undefined {
  if (spec === '') return undefined;
  if (!/^[0-7]{1,4}$/.test(spec)) throw new CopyError(`invalid chmod parameter: ${spec} (only octal modes are supported)`);
  return parseInt(spec, 8);
}
