// Copying files out of and into a container's root filesystem (GET/PUT/HEAD archive, export).
// Paths are always resolved inside the rootfs (util/securejoin): a symlink in the container
// that points at "/etc" means the container's /etc, never the host's. Stopped containers get
// their overlay mounted for the duration of the copy, as Docker mounts BaseFS.
import {
  createReadStream, constants as fsc, promises as fsp, Stats, lstatSync, mkdirSync, rmSync, openSync, writevSync, closeSync,
  fchownSync, fchmodSync, futimesSync, symlinkSync, lchownSync, linkSync, chmodSync, utimesSync,
} from 'node:fs';
import { join, posix, relative } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js';
import { secureJoin } from '../util/securejoin.js';
import { existsSync } from 'node:fs';
import { makeSpecialFiles } from '../util/fsops.js';
import type { ContainerRecord } from './types.js';
import type { ContainerService } from './service.js';
import type { ImageStore } from '../image/store.js';
import { mountRootfs, unmountRootfs, rootfsDirs } from './rootfs.js';

/** Docker's ContainerPathStat (the X-Docker-Container-Path-Stat header, base64 JSON). */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's os.FileMode: permission bits plus type bits. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

// Go os.FileMode type bits (the CLI tests IsDir() and ModeSymlink on them).
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_DEVICE = 2 ** 26;
const GO_MODE_NAMED_PIPE = 2 ** 25;
const GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_CHAR_DEVICE = 2 ** 21;
const GO_MODE_STICKY = 2 ** 20;

export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m += GO_MODE_SETUID;
  if (st.mode & 0o2000) m += GO_MODE_SETGID;
  if (st.mode & 0o1000) m += GO_MODE_STICKY;
  if (st.isDirectory()) m += GO_MODE_DIR;
  else if (st.isSymbolicLink()) m += GO_MODE_SYMLINK;
  else if (st.isFIFO()) m += GO_MODE_NAMED_PIPE;
  else if (st.isSocket()) m += GO_MODE_SOCKET;
  else if (st.isCharacterDevice()) m += GO_MODE_DEVICE + GO_MODE_CHAR_DEVICE;
  else if (st.isBlockDevice()) m += GO_MODE_DEVICE;
  return m;
}

/** Go's RFC3339Nano rendering of a time, as Docker's JSON has it. */
function goTime(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return new Date(Number(secs) * 1000).toISOString().replace(/\.\d{3}Z$/, `${frac ? '.' + frac : ''}Z`);
}

function notFound(path: string, c: ContainerRecord): NotFoundError {
  return new NotFoundError(`Could not find the file ${path} in container ${c.name}`);
}

const holds = new Map<string, number>();

/**
 * Runs `fn` with the container's rootfs mounted: a running container's is mounted already; a
 * stopped one's is mounted for the call and unmounted after unless it started meanwhile.
 */
export async function withRootfs<T>(svc: ContainerService, images: ImageStore, c: ContainerRecord, fn: (root: string) => Promise<T>): Promise<T> {
  const dir = svc.containerDir(c.id);
  holds.set(c.id, (holds.get(c.id) ?? 0) + 1);
  let release = true;
  try {
    const lowers = c.topChainId ? images.layers.lowerDirs(c.topChainId) : [];
    const root = await mountRootfs(dir, lowers);
    const result = await fn(root);
    const stream = result instanceof Readable ? result
      : typeof result === 'object' && result !== null && (result as { stream?: unknown }).stream instanceof Readable ? (result as unknown as { stream: Readable }).stream : undefined;
    if (stream) {
      // The stream reads the rootfs after we return: keep it mounted until it is done.
      release = false;
      let done = false;
      const fin = () => { if (!done) { done = true; void releaseRootfs(svc, c.id, dir); } };
      stream.on('close', fin); stream.on('end', fin); stream.on('error', fin);
    }
    return result;
  } finally {
    if (release) await releaseRootfs(svc, c.id, dir);
  }
}

async function releaseRootfs(svc: ContainerService, id: string, dir: string): Promise<void> {
  const n = (holds.get(id) ?? 1) - 1;
  if (n > 0) { holds.set(id, n); return; }
  holds.delete(id);
  const cur = svc.tryGet(id);
  if (cur && (cur.state.Running || cur.state.Status === 'restarting')) return;
  // A start may be between mounting and marking the record running: the runtime knows it then.
  if (cur && (await svc.runtimeFor(cur).state(id).then((st) => st !== undefined && st.status !== 'stopped', () => false))) return;
  await unmountRootfs(dir).catch(() => undefined);
}

/** Docker's ResolvePath: the parent directories are resolved in the rootfs, the last element is not. */
function resolvePath(root: string, path: string): { resolved: string; abs: string } {
  let abs = posix.join('/', path);
  // A trailing "/" or "/." asks to follow the last element too (a symlink to a directory).
  if (/\/\.?$/.test(path) && abs !== '/') abs += path.endsWith('/.') ? '/.' : '/';
  const slash = abs.lastIndexOf('/', abs.endsWith('/') && abs.length > 1 ? abs.length - 2 : abs.length);
  const dirPart = abs.endsWith('/') ? abs : abs.slice(0, slash + 1);
  const base = abs.endsWith('/') ? '' : abs.slice(slash + 1);
  const resolvedDir = secureJoin(root, dirPart);
  return { resolved: base ? join(resolvedDir, base) : resolvedDir, abs };
}

/** Files berthd bind-mounts over the image's: reading them means reading the container's copy. */
function daemonManagedFile(c: ContainerRecord, abs: string): string | undefined {
  const p = posix.normalize(abs);
  return p === '/etc/hostname' ? c.hostnamePath : p === '/etc/hosts' ? c.hostsPath : p === '/etc/resolv.conf' ? c.resolvConfPath : undefined;
}

export async function statPath(root: string, c: ContainerRecord, path: string): Promise<{ stat: ContainerPathStat; resolved: string; abs: string }> {
  const r = resolvePath(root, path);
  const abs = r.abs;
  const managed = daemonManagedFile(c, abs);
  const resolved = managed && existsSync(managed) ? managed : r.resolved;
  let st: Stats;
  try { st = await fsp.lstat(resolved); } catch { throw notFound(path, c); }
  let linkTarget = '';
  if (st.isSymbolicLink()) linkTarget = '/' + relative(root, secureJoin(root, abs));
  const clean = posix.normalize(abs).replace(/\/+$/, '');
  const name = clean === '' ? '/' : posix.basename(clean);
  const mtimeNs = (await fsp.lstat(resolved, { bigint: true })).mtimeNs;
  return { stat: { name, size: st.size, mode: goFileMode(st), mtime: goTime(mtimeNs), linkTarget }, resolved, abs };
}

export function encodePathStat(s: ContainerPathStat): string {
  return Buffer.from(JSON.stringify(s)).toString('base64');
}

// ---- tar out -----------------------------------------------------------------------------------

export interface TarOptions {
  /** Name of `source` itself in the archive ("" for the contents of a directory without a prefix). */
  rebaseTo: string;
  /** Skip these absolute host paths (and what is below them). */
  exclude?: (hostPath: string) => boolean;
}

/** Streams `source` (not following a symlink at it) as a tar; directories recursively. */
export function tarPath(source: string, o: TarOptions): Readable {
  const pack = tar.pack();
  const inodes = new Map<string, string>();
  const add = async (host: string, name: string): Promise<void> => {
    if (o.exclude?.(host)) return;
    let st: Stats;
    try { st = await fsp.lstat(host); } catch { return; } // vanished while we walked
    const base = { name, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
    if (st.isDirectory()) {
      if (name !== '') await entry(pack, { ...base, name: name.endsWith('/') ? name : `${name}/`, type: 'directory' });
      let names: string[] = [];
      try { names = (await fsp.readdir(host)).sort(); } catch { return; }
      for (const n of names) await add(join(host, n), name === '' ? n : posix.join(name, n));
    } else if (st.isSymbolicLink()) {
      await entry(pack, { ...base, type: 'symlink', linkname: await fsp.readlink(host) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? inodes.get(key) : undefined;
      if (first) { await entry(pack, { ...base, type: 'link', linkname: first }); return; }
      if (st.nlink > 1) inodes.set(key, name);
      const w = pack.entry({ ...base, type: 'file', size: st.size });
      await pipeline(createReadStream(host, { highWaterMark: 1 << 20 }), w);
    } else if (st.isFIFO()) {
      await entry(pack, { ...base, type: 'fifo' });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const rdev = st.rdev;
      await entry(pack, { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: (rdev >> 8) & 0xfff, devminor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) });
    }
    // Sockets are not archived, as Docker's archive package skips them.
  };
  void add(source, o.rebaseTo).then(() => pack.finalize(), (e: unknown) => pack.destroy(e as Error));
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  pack.on('error', (e) => out.destroy(e));
  pack.pipe(out);
  return out;
}

function entry(pack: tar.Pack, h: Partial<tar.Header> & { name: string }): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(h as tar.Header, (err) => (err ? reject(err) : resolve())));
}

/** GET /containers/{id}/archive: the stat of `path` and a tar of it named as Docker names it. */
export async function archivePath(root: string, c: ContainerRecord, path: string): Promise<{ stat: ContainerPathStat; stream: Readable }> {
  const { stat, resolved, abs } = await statPath(root, c, path);
  const clean = posix.normalize(abs);
  // Entries are named after the requested path's last element, even when a trailing "/"
  // made us follow a symlink to somewhere else ("/foo/link/" → "link/...").
  const trimmed = clean.replace(/\/+$/, '').replace(/\/\.$/, '');
  const rebase = trimmed === '' || trimmed === '/.' ? '.' : posix.basename(trimmed);
  return { stat, stream: tarPath(resolved, { rebaseTo: rebase }) };
}

// ---- tar in ------------------------------------------------------------------------------------

/** File data is gathered up to this much and written with one synchronous writev. */
const WRITE_BATCH = 1 << 20;

/** Writes all of `bufs` to `fd`, carrying on after a short write. */
function writeAllSync(fd: number, bufs: Buffer[]): void {
  let rest = bufs;
  while (rest.length) {
    let n = writevSync(fd, rest);
    let i = 0;
    while (i < rest.length && n >= rest[i].length) n -= rest[i++].length;
    rest = rest.slice(i);
    if (n > 0) rest[0] = rest[0].subarray(n);
  }
}

/**
 * Streams an entry's data into `fd` in synchronous batches. Writes go straight from the event
 * that brings the data: a thread-pool round trip per chunk made the copy of a big file twice
 * as slow as tar -x.
 */
function writeEntryData(fd: number, stream: Readable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = () => { writeAllSync(fd, batch); batch = []; batched = 0; };
    stream.on('data', (c: Buffer) => {
      batch.push(c);
      batched += c.length;
      if (batched >= WRITE_BATCH) { try { flush(); } catch (e) { stream.destroy(e as Error); } }
    });
    stream.once('error', reject);
    stream.once('end', () => { try { flush(); resolve(); } catch (e) { reject(e as Error); } });
  });
}

export class ArchiveEscapeError extends InvalidParameterError {}

export interface ExtractOptions {
  /** Keep the uid/gid of the tar (docker cp -a); otherwise everything belongs to root. */
  copyUidGid: boolean;
  /** Refuse to replace a directory with a non-directory or the reverse (docker cp does). */
  noOverwriteDirNonDir: boolean;
}

/** Tar entry name → path relative to the extraction dir; a `..` climbing above it is an attack. */
export function cleanArchiveName(name: string): string {
  const parts = name.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '..') {
      if (out.length === 0) throw new ArchiveEscapeError(`refusing to extract ${JSON.stringify(name)}: path is outside of the destination directory`);
      out.pop();
    } else out.push(p);
  }
  return out.join('/');
}

/**
 * PUT /containers/{id}/archive: extracts a tar into the directory `path` of the rootfs. Every
 * entry's parent is resolved inside the rootfs, the entry itself is never followed (a symlink
 * there is replaced), and hard links must point inside the rootfs.
 */
export async function extractArchive(root: string, c: ContainerRecord, path: string, source: Readable, o: ExtractOptions): Promise<void> {
  const destAbs = posix.join('/', path);
  const dest = secureJoin(root, destAbs);
  let st: Stats;
  try { st = await fsp.stat(dest); } catch { throw notFound(path, c); }
  if (!st.isDirectory()) throw new InvalidParameterError('extraction point is not a directory');
  if (c.hostConfig.ReadonlyRootfs) throw new ConflictError('container rootfs is marked read-only');
  const destInRoot = '/' + relative(root, dest);
  const dirTimes: { p: string; mtime: Date }[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      handleEntry(h, stream as unknown as Readable).then(() => next(), (e: unknown) => { stream.resume(); extract.destroy(e as Error); });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  // Metadata calls are synchronous on purpose: a copy of many small files is dominated by
  // thread-pool round trips otherwise (4x slower than tar -x). File data of big files streams.
  const parents = new Map<string, string>();
  const resolveParent = (dirInCtr: string, name: string): string => {
    const hit = parents.get(dirInCtr);
    if (hit !== undefined) return hit;
    const parent = secureJoin(root, dirInCtr);
    mkdirSync(parent, { recursive: true });
    // mkdir -p may itself have met a symlink planted since we resolved: resolve again and compare.
    if (secureJoin(root, dirInCtr) !== parent) throw new ArchiveEscapeError(`refusing to extract ${JSON.stringify(name)}: its directory changed while extracting`);
    parents.set(dirInCtr, parent);
    return parent;
  };
  const handleEntry = async (h: tar.Header, stream: Readable): Promise<void> => {
    const rel = cleanArchiveName(h.name);
    const inCtr = posix.join(destInRoot, rel);
    const parent = rel === '' ? '' : resolveParent(posix.dirname(inCtr), h.name);
    const target = rel === '' ? dest : join(parent, posix.basename(inCtr));
    if (target !== root && !target.startsWith(root + '/')) throw new ArchiveEscapeError(`refusing to extract ${JSON.stringify(h.name)} outside of the container`);
    const existing = lstatSync(target, { throwIfNoEntry: false });
    const isDir = h.type === 'directory';
    if (existing) {
      if (o.noOverwriteDirNonDir && existing.isDirectory() && !isDir) throw new InvalidParameterError(`cannot overwrite directory "${'/' + relative(root, target)}" with non-directory "${h.name}"`);
      if (o.noOverwriteDirNonDir && !existing.isDirectory() && isDir) throw new InvalidParameterError(`cannot overwrite non-directory "${'/' + relative(root, target)}" with directory "${h.name}"`);
      if (!(existing.isDirectory() && isDir)) {
        rmSync(target, { recursive: true, force: true });
        parents.clear();
      }
    }
    const uid = o.copyUidGid ? h.uid ?? 0 : 0;
    const gid = o.copyUidGid ? h.gid ?? 0 : 0;
    const mode = (h.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777;
    const mtime = h.mtime ?? new Date();
    switch (h.type) {
      case 'directory':
        if (!existing || !existing.isDirectory()) mkdirSync(target, { mode });
        dirTimes.push({ p: target, mtime });
        break;
      case 'file': case 'contiguous-file': {
        const flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_TRUNC | fsc.O_NOFOLLOW | fsc.O_EXCL;
        const fd = openSync(target, flags, mode);
        try {
          await writeEntryData(fd, stream);
          fchownSync(fd, uid, gid);
          fchmodSync(fd, mode);
          futimesSync(fd, mtime, mtime);
        } finally { closeSync(fd); }
        return;
      }
      case 'symlink':
        // The target text is kept as is: it is only ever followed inside the rootfs.
        symlinkSync(h.linkname ?? '', target);
        lchownSync(target, uid, gid);
        parents.clear();
        stream.resume();
        return;
      case 'link': {
        const linkRel = cleanArchiveName(h.linkname ?? '');
        const from = join(secureJoin(root, posix.dirname(posix.join(destInRoot, linkRel))), posix.basename(linkRel));
        if (!from.startsWith(root + '/')) throw new ArchiveEscapeError(`refusing hard link ${JSON.stringify(h.name)} to ${JSON.stringify(h.linkname)}: outside of the container`);
        const lst = lstatSync(from, { throwIfNoEntry: false });
        if (!lst) throw new InvalidParameterError(`hard link target ${h.linkname} does not exist`);
        if (lst.isDirectory()) throw new ArchiveEscapeError(`refusing hard link ${JSON.stringify(h.name)} to a directory`);
        linkSync(from, target);
        stream.resume();
        return;
      }
      case 'fifo': case 'character-device': case 'block-device':
        await makeSpecialFiles([{ path: target, kind: h.type === 'fifo' ? 'fifo' : h.type === 'character-device' ? 'char' : 'block', major: h.devmajor, minor: h.devminor, mode }]);
        break;
      default:
        stream.resume();
        return;
    }
    stream.resume();
    lchownSync(target, uid, gid);
    chmodSync(target, mode);
    if (!isDir) { try { utimesSync(target, mtime, mtime); } catch { /* special file */ } }
  };
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract);
  await done;
  // Directory times last: adding their children changed them.
  for (const { p, mtime } of dirTimes.reverse()) { try { utimesSync(p, mtime, mtime); } catch { /* removed by a later entry */ } }
}

/** GET /containers/{id}/export: the whole rootfs (overlay merged view) as one tar. */
export function exportRootfs(root: string): Readable {
  return tarPath(root, { rebaseTo: '' });
}

export { rootfsDirs };
