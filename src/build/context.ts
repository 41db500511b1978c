// The build context: the tar that `POST /build` receives (plain or gzip), unpacked into a temp
// dir with every entry checked (no absolute names, no `..` above the root, nothing written
// through a symlink, no hard link to outside), then `.dockerignore` applied as Docker does.
import { createWriteStream, promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Ignore } from '@balena/dockerignore';
import { InvalidParameterError } from '../errors.js';
import { compressionOf, decompressed } from '../image/layers.js';
import { peekBytes } from '../util/streams.js';
import type { ContextWorkerReply, ContextWorkerRequest } from './context-worker.js';

// The package is CommonJS whose typings claim an ES default export; require() gets the factory as it is.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

export class ContextEscapeError extends InvalidParameterError {
  constructor(readonly entry: string, why: string) {
    super(`invalid build context: refusing tar entry ${JSON.stringify(entry)}: ${why}`);
  }
}

/** A tar entry name made relative to the context root; throws if it is absolute or escapes. */
export function contextEntryPath(name: string): string {
  if (name.startsWith('/')) throw new ContextEscapeError(name, 'absolute path');
  let depth = 0;
  const parts: string[] = [];
  for (const s of name.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      depth--;
      if (depth < 0) throw new ContextEscapeError(name, 'path escapes the build context');
      parts.pop();
    } else { depth++; parts.push(s); }
  }
  return parts.join('/');
}

async function ensureDirs(root: string, relDir: string, known: Set<string>): Promise<void> {
  if (relDir === '' || known.has(relDir)) return;
  let cur = '';
  for (const part of relDir.split('/')) {
    cur = cur ? `${cur}/${part}` : part;
    if (known.has(cur)) continue;
    const abs = join(root, cur);
    const st = await fsp.lstat(abs).catch(() => undefined);
    if (st?.isSymbolicLink()) throw new ContextEscapeError(cur, 'a parent directory is a symlink');
    if (st && !st.isDirectory()) throw new ContextEscapeError(cur, 'a parent is not a directory');
    if (!st) await fsp.mkdir(abs, { mode: 0o755 });
    known.add(cur);
  }
}

async function clearPath(abs: string): Promise<void> {
  const st = await fsp.lstat(abs).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) await fsp.rm(abs, { recursive: true, force: true }); else await fsp.unlink(abs);
}

export interface ExtractResult {
  /** The body was not a tar: it is the Dockerfile itself (`docker build - < Dockerfile`). */
  dockerfileOnly?: Buffer;
  bytes: number;
  files: number;
  /** sha256 (hex) of each regular file, computed while unpacking, by path relative to the root. */
  hashes: Map<string, string>;
}

/**
 * Where unchanged context files are kept between builds: a file whose content, mode and mtime
 * were seen before is hard-linked from here instead of written again, so re-sending an
 * unchanged context costs a read and a hash, not a write. Files are found by those three.
 */
export interface ContextBlobCache {
  dir: string;
  /** Files up to this size are held in memory while hashed (bigger ones are written as usual). */
  maxFileBytes: number;
}

const BLOB_NAME_RE = /^[a-f0-9]{64}-[0-7]+-\d+$/;

/** Keeps the context blob cache under `maxBytes`, dropping the least recently linked first. */
export async function trimContextBlobCache(dir: string, maxBytes: number): Promise<number> {
  const entries: { path: string; size: number; used: number }[] = [];
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
    const p = join(dir, n);
    const st = await fsp.lstat(p).catch(() => undefined);
    if (!st) continue;
    // Leftover temp files from a crash, and anything else, go.
    if (!BLOB_NAME_RE.test(n)) { if (Date.now() - st.mtimeMs > 3600_000) await fsp.rm(p, { force: true }); continue; }
    // link() updates ctime: it says when a blob was last used by a context.
    entries.push({ path: p, size: st.size, used: st.ctimeMs });
  }
  entries.sort((a, b) => b.used - a.used);
  let total = 0;
  let freed = 0;
  for (const e of entries) {
    total += e.size;
    if (total > maxBytes) { await fsp.rm(e.path, { force: true }); freed += e.size; }
  }
  return freed;
}

/**
 * The context worker (one per process, started when first needed, stopped after a minute with
 * nothing to do: a thread is ~10 MB of berthd's memory) and the files it is handling.
 */
let contextWorker: Worker | undefined;
let idleTimer: NodeJS.Timeout | undefined;
const inWorker = new Map<number, { resolve: (sha: string) => void; reject: (e: Error) => void }>();
let nextFileId = 1;

function worker(): Worker {
  clearTimeout(idleTimer);
  if (contextWorker) return contextWorker;
  const w = new Worker(new URL('./context-worker.js', import.meta.url));
  const failAll = (e: Error) => {
    for (const p of inWorker.values()) p.reject(e);
    inWorker.clear();
    if (contextWorker === w) contextWorker = undefined;
  };
  w.on('message', (r: ContextWorkerReply) => {
    const p = inWorker.get(r.id);
    if (!p) return;
    inWorker.delete(r.id);
    if (!inWorker.size) {
      w.unref();
      idleTimer = setTimeout(() => { if (contextWorker === w && !inWorker.size) { contextWorker = undefined; void w.terminate(); } }, 60_000);
      idleTimer.unref();
    }
    if ('error' in r) p.reject(new Error(r.error)); else p.resolve(r.sha);
  });
  w.on('error', failAll);
  w.on('exit', (code) => failAll(new Error(`the build context worker exited (${code})`)));
  w.unref();
  contextWorker = w;
  return w;
}

/** The chunk's memory as an ArrayBuffer of its own, to move to the worker (copied if shared). */
function ownArrayBuffer(c: Buffer): ArrayBuffer {
  const ab = c.buffer;
  if (ab instanceof ArrayBuffer && c.byteOffset === 0 && c.byteLength === ab.byteLength) return ab;
  return ab.slice(c.byteOffset, c.byteOffset + c.byteLength) as ArrayBuffer;
}

function post(w: Worker, m: ContextWorkerRequest): void {
  if (m.kind !== 'data') { w.postMessage(m); return; }
  try {
    w.postMessage(m, m.chunks);
  } catch {
    // Memory Node will not let go of (pooled buffers): send copies.
    w.postMessage({ ...m, chunks: m.chunks.map((ab) => ab.slice(0)) });
  }
}

/** What fileViaWorker reads from a tar entry. */
interface EntryData {
  on(event: 'data', f: (c: unknown) => void): unknown;
  once(event: 'end', f: () => void): unknown;
  once(event: 'error', f: (e: unknown) => void): unknown;
}

/**
 * Streams one context file to the worker, which hashes it and puts it at `abs` through the blob
 * cache; resolves to its sha256 once it is there.
 */
async function fileViaWorker(entry: EntryData, cacheDir: string, mode: number, mtime: Date | undefined, abs: string): Promise<{ placed: Promise<string> }> {
  const w = worker();
  const id = nextFileId++;
  let batch: ArrayBuffer[] = [];
  let batchBytes = 0;
  const flush = () => {
    if (!batch.length) return;
    post(w, { kind: 'data', id, chunks: batch });
    batch = [];
    batchBytes = 0;
  };
  await new Promise<void>((resolve, reject) => {
    entry.once('error', (e) => { post(w, { kind: 'drop', id }); reject(e); });
    entry.on('data', (c) => {
      const b = c as Buffer;
      batch.push(ownArrayBuffer(b));
      batchBytes += b.length;
      if (batchBytes >= 1 << 20) flush();
    });
    entry.once('end', resolve);
  });
  flush();
  const placed = new Promise<string>((resolve, reject) => { inWorker.set(id, { resolve, reject }); });
  w.ref();
  post(w, { kind: 'end', id, cacheDir, mode, mtime: mtime?.getTime(), abs });
  return { placed };
}

/**
 * Feeds the context tar to the extractor. The docker CLI ends a context made with `-f -` right
 * after the last file's data, without its padding or the end-of-archive blocks (Go's tar reader
 * accepts that), so the stream is padded here.
 */
function pump(plain: Readable, extract: ReturnType<typeof tar.extract>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let total = 0;
    const fail = (e: Error) => { plain.destroy(); extract.destroy(e); reject(e); };
    plain.on('data', (c: Buffer) => {
      total += c.length;
      if (!extract.write(c)) plain.pause();
    });
    extract.on('drain', () => plain.resume());
    plain.once('error', fail);
    extract.once('error', fail);
    plain.once('end', () => {
      extract.end(Buffer.alloc((512 - (total % 512)) % 512 + 1024));
      extract.once('finish', () => resolve());
    });
  });
}

/**
 * Unpacks a build context into `dest` (an existing empty directory), hashing every regular file;
 * with a blob cache, files up to its size limit are hashed and placed by the context worker.
 */
export async function extractContext(source: Readable, dest: string, blobCache?: ContextBlobCache): Promise<ExtractResult> {
  // Contexts are plain tar unless the client compressed them (docker build --compress).
  let { head, stream: plain } = await peekBytes(source, 512);
  if (compressionOf(head)) ({ head, stream: plain } = await peekBytes(await decompressed(plain), 512));
  // A tar has "ustar" at offset 257 (or is empty: zero blocks).
  const isTar = head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  const allZero = head.length >= 512 && head.subarray(0, 512).every((x) => x === 0);
  if (!isTar && !allZero) {
    const rest: Buffer[] = [];
    for await (const c of plain) rest.push(c as Buffer);
    const body = Buffer.concat(rest);
    return { dockerfileOnly: body, bytes: body.length, files: 0, hashes: new Map() };
  }
  const extract = tar.extract();
  const known = new Set<string>();
  const dirs: { abs: string; mode: number; mtime?: Date }[] = [];
  let bytes = 0;
  let files = 0;
  const hashes = new Map<string, string>();
  // Files the worker is still putting in place, by path. Only a run of plain files is let run
  // ahead: anything else (a directory, link, symlink, a new parent or the same path again) waits
  // until they are all in place, so that no entry can change a path the worker is writing under.
  // At most ~64 MB is handed over and not yet in place: the worker may be slower (writing new
  // files to disk) than the context arrives.
  const placing = new Map<string, Promise<void>>();
  let placingBytes = 0;
  const settle = async () => {
    const all = [...placing.values()];
    placing.clear();
    placingBytes = 0;
    await Promise.all(all);
  };
  const work = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const rel = contextEntryPath(h.name);
      if (rel === '') { entry.resume(); continue; }
      const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
      const plainFile = (h.type === 'file' || h.type === 'contiguous-file') && blobCache !== undefined && (h.size ?? 0) <= blobCache.maxFileBytes;
      if (placing.size && (!plainFile || placing.has(rel) || (parent !== '' && !known.has(parent)) || placingBytes > 64 << 20)) await settle();
      await ensureDirs(dest, parent, known);
      const abs = join(dest, rel);
      const mode = (h.mode ?? 0o644) & 0o777;
      switch (h.type) {
        case 'directory': {
          entry.resume();
          const st = await fsp.lstat(abs).catch(() => undefined);
          if (st && !st.isDirectory()) await clearPath(abs);
          if (!st || !st.isDirectory()) await fsp.mkdir(abs, { mode: 0o755 });
          known.add(rel);
          dirs.push({ abs, mode, mtime: h.mtime });
          break;
        }
        case 'file': case 'contiguous-file': {
          await clearPath(abs);
          known.delete(rel);
          // Hashed on the way in, so the cache never has to read the context a second time.
          if (plainFile && blobCache) {
            const placed = (await fileViaWorker(entry, blobCache.dir, mode, h.mtime, abs)).placed.then((sha) => { hashes.set(rel, sha); });
            placed.catch(() => undefined);
            placing.set(rel, placed);
            placingBytes += h.size ?? 0;
          } else {
            const hasher = createHash('sha256');
            const tap = new Transform({ transform(c: Buffer, _e, cb) { hasher.update(c); cb(null, c); } });
            await pipeline(entry, tap, createWriteStream(abs, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }));
            hashes.set(rel, hasher.digest('hex'));
            await fsp.chmod(abs, mode);
            if (h.mtime) await fsp.utimes(abs, h.mtime, h.mtime);
          }
          bytes += h.size ?? 0;
          files++;
          break;
        }
        case 'symlink': {
          entry.resume();
          await clearPath(abs);
          known.delete(rel);
          hashes.delete(rel);
          // Kept as written: COPY resolves links inside the context and refuses ones that leave it.
          await fsp.symlink(h.linkname ?? '', abs);
          break;
        }
        case 'link': {
          entry.resume();
          const target = contextEntryPath(h.linkname ?? '');
          if (target === '') throw new ContextEscapeError(h.name, 'hard link to the context root');
          await ensureDirs(dest, posix.dirname(target) === '.' ? '' : posix.dirname(target), known);
          const st = await fsp.lstat(join(dest, target)).catch(() => undefined);
          if (!st || !st.isFile()) throw new ContextEscapeError(h.name, `hard link target ${h.linkname} is not a file in the context`);
          await clearPath(abs);
          await fsp.link(join(dest, target), abs);
          const th = hashes.get(target);
          if (th) hashes.set(rel, th);
          files++;
          break;
        }
        default:
          // Devices, fifos and unknown types have no place in a build context.
          entry.resume();
      }
    }
    await settle();
  })().catch((e: unknown) => { extract.destroy(e as Error); throw e; });
  await Promise.all([pump(plain, extract), work]);
  for (let i = dirs.length - 1; i >= 0; i--) {
    await fsp.chmod(dirs[i].abs, dirs[i].mode | 0o700);
    if (dirs[i].mtime) await fsp.utimes(dirs[i].abs, dirs[i].mtime as Date, dirs[i].mtime as Date);
  }
  return { bytes, files, hashes };
}

/** `.dockerignore` lines → patterns, as Docker's ReadAll cleans them. */
export function readIgnorePatterns(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let neg = false;
    if (line.startsWith('!')) { neg = true; line = line.slice(1).trim(); }
    if (line === '') continue;
    let p = posix.normalize(line);
    if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    if (p.endsWith('/') && p.length > 1) p = p.slice(0, -1);
    out.push(neg ? `!${p}` : p);
  }
  return out;
}

export interface IgnoreMatcher {
  readonly patterns: string[];
  ignores(rel: string): boolean;
}

export function ignoreMatcher(patterns: string[]): IgnoreMatcher {
  const ig = ignore().add(patterns);
  return { patterns, ignores: (rel) => rel !== '' && rel !== '.' && ig.ignores(rel) };
}

/** `<Dockerfile>.dockerignore` beside the Dockerfile wins over `.dockerignore` at the root. */
export async function loadIgnore(root: string, dockerfilePath: string): Promise<IgnoreMatcher> {
  for (const p of [`${dockerfilePath}.dockerignore`, '.dockerignore']) {
    const text = await fsp.readFile(join(root, p), 'utf8').catch(() => undefined);
    if (text !== undefined) return ignoreMatcher(readIgnorePatterns(text));
  }
  return ignoreMatcher([]);
}

/** Removes what the patterns exclude; directories with exceptions inside are walked. */
export async function pruneIgnored(root: string, m: IgnoreMatcher): Promise<number> {
  if (m.patterns.length === 0) return 0;
  const hasExceptions = m.patterns.some((p) => p.startsWith('!'));
  let removed = 0;
  const walk = async (rel: string): Promise<boolean> => {
    const entries = await fsp.readdir(join(root, rel), { withFileTypes: true });
    let kept = 0;
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const ignored = m.ignores(r);
      if (e.isDirectory()) {
        if (ignored && !hasExceptions) { await fsp.rm(join(root, r), { recursive: true, force: true }); removed++; continue; }
        const anyKept = await walk(r);
        if (ignored && !anyKept) { await fsp.rm(join(root, r), { recursive: true, force: true }); removed++; continue; }
        kept++;
      } else if (ignored) {
        await fsp.rm(join(root, r), { force: true });
        removed++;
      } else kept++;
    }
    return kept > 0;
  };
  await walk('');
  return removed;
}
