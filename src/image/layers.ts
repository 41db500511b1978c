// The layer store: each layer unpacked once under layers/<chain-id>/diff and shared by every
// image that has it. A layer also keeps a (compressed) blob in the content store, so push and
// save never have to re-create the exact tar bytes.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, existsSync, promises as fsp, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, constants as zconst, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { cpus } from 'node:os';

const gzipAsync = promisify(gzip);
import { Db, ensureSchema } from '../store/db.js';
import { ContentStore } from '../store/content.js';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { unpackTar } from './unpack.js';
import { MediaType } from './types.js';

export interface LayerRecord {
  chainId: string;
  diffId: string;
  parent: string | null;
  /** Unpacked size in bytes, recorded when the layer was written. */
  size: number;
  created: number;
}

export interface LayerBlob {
  diffId: string;
  digest: string;
  mediaType: string;
  size: number;
}

export function chainIdOf(parent: string | null, diffId: string): string {
  if (parent === null) return diffId;
  return `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

/** Chain IDs for a list of diff IDs, bottom first. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  let parent: string | null = null;
  for (const d of diffIds) { parent = chainIdOf(parent, d); out.push(parent); }
  return out;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS layers (
  chain_id TEXT PRIMARY KEY,
  diff_id TEXT NOT NULL,
  parent TEXT,
  size INTEGER NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS layer_blobs (
  diff_id TEXT NOT NULL,
  digest TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (diff_id, digest)
);
`;

/** The compression a stream that starts with `head` uses, by its magic bytes. */
export function compressionOf(head: Buffer): 'gzip' | 'zstd' | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return undefined;
}

/**
 * Sniffs gzip by its magic bytes and hands back a stream of plain tar. Peeks through the async
 * iterator rather than read()/unshift(): a source that has already ended (a one-chunk
 * Readable.from) would otherwise drop the chunk that was put back. The 1 MiB read-ahead between
 * the network and gunzip matters: a pull through a plain pipe was a quarter slower.
 */
export async function decompressed(source: Readable): Promise<Readable> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < 4) {
    const n = await it.next();
    if (n.done) { ended = true; break; }
    const b = typeof n.value === 'string' ? Buffer.from(n.value) : n.value;
    chunks.push(b);
    have += b.length;
  }
  if (have === 0) return Readable.from([]);
  const head = Buffer.concat(chunks);
  const rest = Readable.from((async function* () {
    yield head;
    if (ended) return;
    for (;;) {
      const n = await it.next();
      if (n.done) return;
      yield typeof n.value === 'string' ? Buffer.from(n.value) : n.value;
    }
  })(), { objectMode: false, highWaterMark: 1 << 20 });
  const compression = compressionOf(head);
  if (compression === 'zstd') return zstdDecompressed(rest);
  if (compression === 'gzip') {
    // 1 MiB output chunks: inflate is a third faster than with 64 KiB ones on big layers.
    const gunzip = createGunzip({ chunkSize: 1 << 20 });
    rest.on('error', (e) => gunzip.destroy(e));
    return rest.pipe(gunzip);
  }
  return rest;
}

/**
 * zstd layers (OCI tar+zstd): Node 20 has no zstd, so the Debian `zstd` tool decompresses in a
 * child process, streaming both ways.
 */
function zstdDecompressed(source: Readable): Readable {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const out = child.stdout;
  child.on('error', (e) => out.destroy(new InvalidParameterError(`zstd-compressed layer: the zstd tool is needed (apt-get install zstd): ${e.message}`)));
  child.on('close', (code) => { if (code !== 0 && code !== null) out.destroy(new InvalidParameterError(`zstd-compressed layer: ${err.trim() || `zstd exited ${code}`}`)); });
  source.on('error', (e) => { child.kill('SIGKILL'); out.destroy(e); });
  child.stdin.on('error', () => { /* zstd exited early; its exit status says why */ });
  source.pipe(child.stdin);
  out.on('close', () => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return out;
}

const GZIP_CHUNK = 4 << 20;
const GZIP_PARALLEL = Math.max(2, Math.min(4, cpus().length));

/**
 * gzip in independent members compressed on libuv's thread pool at once (a multi-member gzip
 * stream is one valid gzip file, RFC 1952; Go's and Node's readers read it whole). gzip is the
 * bottleneck of a push: one core does ~27 MB/s here, so this scales it by the core count.
 */
export async function* parallelGzip(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const pending: Promise<Buffer>[] = [];
  let buf: Buffer[] = [];
  let len = 0;
  const flush = () => { const chunk = Buffer.concat(buf, len); buf = []; len = 0; pending.push(gzipAsync(chunk, { level: zconst.Z_BEST_SPEED })); };
  for await (const c of source) {
    buf.push(c); len += c.length;
    if (len >= GZIP_CHUNK) { flush(); if (pending.length >= GZIP_PARALLEL) yield await (pending.shift() as Promise<Buffer>); }
  }
  if (len > 0 || pending.length === 0) flush();
  while (pending.length) yield await (pending.shift() as Promise<Buffer>);
}

export class LayerStore {
  readonly dir: string;
  private readonly tmpDir: string;

  constructor(private readonly db: Db, private readonly content: ContentStore, root: string) {
    this.dir = join(root, 'layers');
    this.tmpDir = join(root, 'layers', 'tmp');
    mkdirSync(this.tmpDir, { recursive: true });
    ensureSchema(db, 'layers', 1, SCHEMA);
  }

  /** Removes temp dirs a crash left behind. */
  async cleanTemp(): Promise<void> {
    for (const d of readdirSync(this.tmpDir)) await fsp.rm(join(this.tmpDir, d), { recursive: true, force: true });
  }

  has(chainId: string): boolean {
    return this.db.prepare('SELECT 1 FROM layers WHERE chain_id = ?').get(chainId) !== undefined;
  }

  get(chainId: string): LayerRecord {
    const r = this.db.prepare('SELECT chain_id, diff_id, parent, size, created FROM layers WHERE chain_id = ?').get(chainId) as
      | { chain_id: string; diff_id: string; parent: string | null; size: number; created: number } | undefined;
    if (!r) throw new NotFoundError(`layer ${chainId} not found`);
    return { chainId: r.chain_id, diffId: r.diff_id, parent: r.parent, size: r.size, created: r.created };
  }

  list(): LayerRecord[] {
    return (this.db.prepare('SELECT chain_id, diff_id, parent, size, created FROM layers').all() as
      { chain_id: string; diff_id: string; parent: string | null; size: number; created: number }[])
      .map((r) => ({ chainId: r.chain_id, diffId: r.diff_id, parent: r.parent, size: r.size, created: r.created }));
  }

  diffDir(chainId: string): string {
    return join(this.dir, chainId.replace(/^sha256:/, ''), 'diff');
  }

  /** Diff dirs of a chain, top layer first (overlayfs lowerdir order). */
  lowerDirs(topChainId: string): string[] {
    const out: string[] = [];
    let cur: string | null = topChainId;
    while (cur) {
      const l = this.get(cur);
      out.push(this.diffDir(cur));
      cur = l.parent;
    }
    return out;
  }

  blobsFor(diffId: string): LayerBlob[] {
    return (this.db.prepare('SELECT diff_id, digest, media_type, size FROM layer_blobs WHERE diff_id = ?').all(diffId) as
      { diff_id: string; digest: string; media_type: string; size: number }[])
      .filter((r) => this.content.has(r.digest))
      .map((r) => ({ diffId: r.diff_id, digest: r.digest, mediaType: r.media_type, size: r.size }));
  }

  recordBlob(b: LayerBlob): void {
    this.db.prepare('INSERT OR IGNORE INTO layer_blobs(diff_id, digest, media_type, size) VALUES (?, ?, ?, ?)')
      .run(b.diffId, b.digest, b.mediaType, b.size);
  }

  /**
   * Unpacks a layer from a blob already in the content store (a pulled or loaded layer).
   * `expectedDiffId` (from the image config) is verified; a mismatch leaves nothing behind.
   */
  async applyBlob(parent: string | null, blobDigest: string, mediaType: string, expectedDiffId?: string): Promise<LayerRecord> {
    if (expectedDiffId) {
      const chainId = chainIdOf(parent, expectedDiffId);
      if (this.has(chainId)) {
        this.recordBlob({ diffId: expectedDiffId, digest: blobDigest, mediaType, size: this.content.size(blobDigest) ?? 0 });
        return this.get(chainId);
      }
    }
    const rec = await this.unpackInto(parent, this.content.stream(blobDigest), expectedDiffId, false);
    this.recordBlob({ diffId: rec.diffId, digest: blobDigest, mediaType, size: this.content.size(blobDigest) ?? 0 });
    return rec;
  }

  /**
   * Unpacks a layer from a stream while it is still arriving (a pull unpacks as it downloads).
   * `expectedDiffId` must come from a verified config: it is what makes the result trustworthy,
   * whatever the compressed bytes were. The caller records the blob once it is stored.
   */
  async applyStream(parent: string | null, source: Readable, expectedDiffId: string): Promise<LayerRecord> {
    const chainId = chainIdOf(parent, expectedDiffId);
    if (this.has(chainId)) { source.resume(); return this.get(chainId); }
    return this.unpackInto(parent, source, expectedDiffId, false);
  }

  /**
   * Creates a layer from a plain or gzip tar stream made locally (import, load, commit, build).
   * Its blob is stored gzip'd (compressed once, in parallel members) so push sends it as is;
   * `compress: false` keeps the plain tar instead (build steps), and push compresses it then.
   */
  async createFromTar(parent: string | null, source: Readable, opts: { compress?: boolean } = {}): Promise<LayerRecord & { blob: LayerBlob }> {
    const rec = await this.unpackInto(parent, source, undefined, opts.compress === false ? 'plain' : 'gzip');
    const blob = this.blobsFor(rec.diffId)[0];
    return { ...rec, blob };
  }

  private async unpackInto(parent: string | null, source: Readable, expectedDiffId: string | undefined, keepBlob: false | 'plain' | 'gzip'): Promise<LayerRecord> {
    if (parent !== null && !this.has(parent)) throw new NotFoundError(`parent layer ${parent} not found`);
    const work = join(this.tmpDir, randomBytes(8).toString('hex'));
    const diff = join(work, 'diff');
    await fsp.mkdir(diff, { recursive: true });
    try {
      const plain = await decompressed(source);
      const hash = createHash('sha256');
      const tap = new Transform({ transform(c: Buffer, _e, cb) { hash.update(c); cb(null, c); } });
      let blobPromise: Promise<{ digest: string; size: number }> | undefined;
      const toUnpack = new PassThrough({ highWaterMark: 1 << 20 });
      const plumbing: Promise<unknown>[] = [pipeline(plain, tap, toUnpack)];
      let toBlob: PassThrough | undefined;
      if (keepBlob) {
        toBlob = new PassThrough({ highWaterMark: 1 << 20 });
        tap.pipe(toBlob);
        blobPromise = this.content.ingest(keepBlob === 'gzip' ? Readable.from(parallelGzip(toBlob), { objectMode: false }) : toBlob);
      }
      const [, result] = await Promise.all([...plumbing, unpackTar(toUnpack, diff, { overlayWhiteouts: true })]);
      // A tar stream may end before the source has been read to its end (padding); drain it for the digest.
      const diffId = `sha256:${hash.digest('hex')}`;
      if (expectedDiffId && expectedDiffId !== diffId) {
        throw new LayerDigestError(`layer diff ID mismatch: expected ${expectedDiffId}, got ${diffId}`);
      }
      const blob = blobPromise ? await blobPromise : undefined;
      const chainId = chainIdOf(parent, diffId);
      if (blob) this.recordBlob({ diffId, digest: blob.digest, mediaType: keepBlob === 'gzip' ? MediaType.OciLayerGzip : MediaType.OciLayer, size: blob.size });
      if (this.has(chainId)) return this.get(chainId);
      const final = join(this.dir, chainId.replace(/^sha256:/, ''));
      if (existsSync(final)) await fsp.rm(final, { recursive: true, force: true }); // orphan from a crash
      await fsp.rename(work, final);
      const rec: LayerRecord = { chainId, diffId, parent, size: (result as { size: number }).size, created: Date.now() };
      this.db.prepare('INSERT INTO layers(chain_id, diff_id, parent, size, created) VALUES (?, ?, ?, ?, ?)')
        .run(rec.chainId, rec.diffId, rec.parent, rec.size, rec.created);
      return rec;
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  }

  /** Whether any layer or layer blob record uses this content-store digest. */
  blobInUse(digest: string): boolean {
    return this.db.prepare('SELECT 1 FROM layer_blobs WHERE digest = ?').get(digest) !== undefined;
  }

  /**
   * Removes one layer that nothing stands on (a failed pull's own layers), with the blobs
   * recorded for its diff ID when no other layer has that diff ID.
   */
  async remove(chainId: string): Promise<void> {
    if (!this.has(chainId)) return;
    const l = this.get(chainId);
    if (this.db.prepare('SELECT 1 FROM layers WHERE parent = ?').get(chainId)) return;
    await fsp.rm(join(this.dir, chainId.replace(/^sha256:/, '')), { recursive: true, force: true });
    this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(chainId);
    if (!this.db.prepare('SELECT 1 FROM layers WHERE diff_id = ?').get(l.diffId)) {
      const rows = this.db.prepare('SELECT digest FROM layer_blobs WHERE diff_id = ?').all(l.diffId) as { digest: string }[];
      this.db.prepare('DELETE FROM layer_blobs WHERE diff_id = ?').run(l.diffId);
      for (const r of rows) await this.content.delete(r.digest);
    }
  }

  /**
   * A gzip blob for the layer, made once from its plain blob and remembered (diff ID ↔ digest),
   * so later pushes send it as is.
   */
  async compressedBlob(diffId: string): Promise<LayerBlob | undefined> {
    const blobs = this.blobsFor(diffId);
    const gz = blobs.find((b) => b.mediaType.includes('gzip'));
    if (gz) return gz;
    const plain = blobs[0];
    if (!plain) return undefined;
    const { digest, size } = await this.content.ingest(Readable.from(parallelGzip(this.content.stream(plain.digest)), { objectMode: false }));
    const rec: LayerBlob = { diffId, digest, mediaType: MediaType.OciLayerGzip, size };
    this.recordBlob(rec);
    return rec;
  }

  /** Deletes layers no image refers to (children before parents). */
  async prune(referenced: Set<string>): Promise<{ chainId: string; size: number }[]> {
    const keep = new Set<string>();
    for (const top of referenced) {
      let cur: string | null = top;
      while (cur && !keep.has(cur)) {
        keep.add(cur);
        cur = this.has(cur) ? this.get(cur).parent : null;
      }
    }
    const removed: { chainId: string; size: number }[] = [];
    for (const l of this.list()) {
      if (keep.has(l.chainId)) continue;
      await fsp.rm(join(this.dir, l.chainId.replace(/^sha256:/, '')), { recursive: true, force: true });
      this.db.prepare('DELETE FROM layers WHERE chain_id = ?').run(l.chainId);
      removed.push({ chainId: l.chainId, size: l.size });
    }
    // Blobs of diff IDs no longer present go too.
    const diffIds = new Set(this.list().map((l) => l.diffId));
    const rows = this.db.prepare('SELECT diff_id, digest FROM layer_blobs').all() as { diff_id: string; digest: string }[];
    for (const r of rows) {
      if (diffIds.has(r.diff_id)) continue;
      this.db.prepare('DELETE FROM layer_blobs WHERE diff_id = ? AND digest = ?').run(r.diff_id, r.digest);
      await this.content.delete(r.digest);
    }
    return removed;
  }
}

export class LayerDigestError extends InvalidParameterError {}
