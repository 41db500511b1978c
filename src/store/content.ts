import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, existsSync, statSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { randomBytes } from 'node:crypto';

export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export interface BlobInfo {
  digest: string;
  size: number;
}

export class DigestMismatchError extends InvalidParameterError {
  constructor(readonly expected: string, readonly actual: string) {
    super(`digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/**
 * The content store: blobs/sha256/<hex>. Every write goes to a temp file in blobs/tmp (same
 * filesystem), is hashed while streaming, fsynced, verified and only then renamed into place,
 * so a crash or a bad digest never leaves a blob that is not what its name says.
 */
export class ContentStore {
  readonly blobsDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.tmpDir = join(root, 'blobs', 'tmp');
    mkdirSync(this.blobsDir, { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
  }

  static checkDigest(digest: string): string {
    if (!DIGEST_RE.test(digest)) throw new InvalidParameterError(`invalid digest: ${JSON.stringify(digest)}`);
    return digest.slice('sha256:'.length);
  }

  path(digest: string): string {
    return join(this.blobsDir, ContentStore.checkDigest(digest));
  }

  has(digest: string): boolean {
    return DIGEST_RE.test(digest) && existsSync(this.path(digest));
  }

  size(digest: string): number | undefined {
    try { return statSync(this.path(digest)).size; } catch { return undefined; }
  }

  async read(digest: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.path(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`blob ${digest} not found`);
      throw e;
    }
  }

  stream(digest: string, start = 0): Readable {
    if (!this.has(digest)) throw new NotFoundError(`blob ${digest} not found`);
    return createReadStream(this.path(digest), { start, highWaterMark: 1 << 20 });
  }

  async put(data: Buffer | string, expected?: string): Promise<BlobInfo> {
    return this.ingest(Readable.from([typeof data === 'string' ? Buffer.from(data) : data]), expected);
  }

  /**
   * Streams `source` into the store. When `expected` is given, a mismatch throws
   * DigestMismatchError and nothing is stored.
   */
  async ingest(source: Readable, expected?: string, expectedSize?: number): Promise<BlobInfo> {
    if (expected !== undefined) ContentStore.checkDigest(expected);
    const tmp = join(this.tmpDir, `ingest-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) { hash.update(chunk); size += chunk.length; cb(null, chunk); },
    });
    try {
      const out = createWriteStream(tmp, { flags: 'wx' });
      await pipeline(source, tap, out);
      const digest = `sha256:${hash.digest('hex')}`;
      if (expected !== undefined && digest !== expected) throw new DigestMismatchError(expected, digest);
      if (expectedSize !== undefined && size !== expectedSize) {
        throw new InvalidParameterError(`size mismatch for ${digest}: expected ${expectedSize}, got ${size}`);
      }
      await commitFile(tmp, this.path(digest));
      return { digest, size };
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }

  /** Moves a fully written and verified temp file into place. */
  async adopt(tmpFile: string, digest: string): Promise<void> {
    await commitFile(tmpFile, this.path(digest));
  }

  async delete(digest: string): Promise<void> {
    await fsp.rm(this.path(digest), { force: true });
  }

  list(): string[] {
    return readdirSync(this.blobsDir).filter((h) => /^[a-f0-9]{64}$/.test(h)).map((h) => `sha256:${h}`);
  }
}

/** fsync a finished temp file and rename it over `dest` (atomic on one filesystem). */
export async function commitFile(tmp: string, dest: string): Promise<void> {
  const fh = await fsp.open(tmp, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
  await fsp.rename(tmp, dest);
}

/** Writes a small file atomically (temp + fsync + rename). */
export async function writeFileAtomic(dest: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const tmp = `${dest}.tmp-${randomBytes(4).toString('hex')}`;
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, dest);
}
