// Filesystem storage for the registry. Layout under --root:
//
//   blobs/sha256/<hex>                                  every blob and manifest, shared by all repositories
//   repositories/<name>/_layers/sha256/<hex>            empty file: blob <hex> belongs to <name>
//   repositories/<name>/_manifests/revisions/sha256/<hex>   JSON ManifestLink: manifest <hex> is in <name>
//   repositories/<name>/_manifests/tags/<tag>           the digest the tag points at
//   repositories/<name>/_referrers/<subject-hex>/<hex>  JSON descriptor of a manifest whose subject is <subject-hex>
//   uploads/<uuid>/{info.json,data}                     upload sessions, invisible to readers
//   tmp/                                                temp files for atomic writes
//
// Names and tags are validated before they get here (names.ts), and repository components
// cannot start with "_", so "_layers" etc. never collide with a nested repository.
// Every file that readers see appears by rename after fsync, so a crash leaves either the old
// state or the new one; an interrupted upload only leaves a directory under uploads/.

import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from './errors.js';
import { checkDigest } from './names.js';

export interface ManifestLink {
  mediaType: string;
  size: number;
  artifactType?: string;
  subject?: string;
}

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface UploadInfo {
  uuid: string;
  name: string;
  startedAt: string;
}

interface UploadState {
  hash: Hash;
  size: number;
}

function isENOENT(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function statOrUndef(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (e) {
    if (isENOENT(e)) return undefined;
    throw e;
  }
}

async function fsyncFile(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

/** Makes a rename durable across power loss (the new directory entry itself must reach disk). */
async function fsyncDir(dir: string): Promise<void> {
  await fsyncFile(dir).catch(() => undefined);
}

export class RegistryStorage {
  readonly blobsDir: string;
  readonly reposDir: string;
  readonly uploadsDir: string;
  readonly tmpDir: string;
  private readonly uploadState = new Map<string, UploadState>();
  private readonly uploadLocks = new Map<string, Promise<unknown>>();

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs', 'sha256');
    this.reposDir = join(root, 'repositories');
    this.uploadsDir = join(root, 'uploads');
    this.tmpDir = join(root, 'tmp');
  }

  async init(): Promise<void> {
    for (const d of [this.blobsDir, this.reposDir, this.uploadsDir, this.tmpDir]) await fsp.mkdir(d, { recursive: true });
  }

  // ---- small atomic files

  async writeAtomic(dest: string, data: string | Buffer): Promise<void> {
    const tmp = join(this.tmpDir, `w-${randomBytes(8).toString('hex')}`);
    const fh = await fsp.open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.rename(tmp, dest);
    } catch (e) {
      if (!isENOENT(e)) { await fsp.rm(tmp, { force: true }); throw e; }
      await fsp.mkdir(join(dest, '..'), { recursive: true });
      await fsp.rename(tmp, dest).catch(async (e2: unknown) => { await fsp.rm(tmp, { force: true }); throw e2; });
    }
    await fsyncDir(dirname(dest));
  }

  // ---- blobs

  blobPath(digest: string): string {
    return join(this.blobsDir, checkDigest(digest));
  }

  async blobStat(digest: string): Promise<Stats | undefined> {
    return statOrUndef(this.blobPath(digest));
  }

  /** Marks a blob as recently used, so gc's grace period protects it until a manifest refers to it. */
  async touchBlob(digest: string): Promise<void> {
    const now = new Date();
    await fsp.utimes(this.blobPath(digest), now, now).catch(() => undefined);
  }

  repoDir(name: string): string {
    return join(this.reposDir, name);
  }

  private layerLink(name: string, digest: string): string {
    return join(this.repoDir(name), '_layers', 'sha256', checkDigest(digest));
  }

  private revisionLink(name: string, digest: string): string {
    return join(this.repoDir(name), '_manifests', 'revisions', 'sha256', checkDigest(digest));
  }

  private tagFile(name: string, tag: string): string {
    return join(this.repoDir(name), '_manifests', 'tags', tag);
  }

  async repoExists(name: string): Promise<boolean> {
    return (await statOrUndef(this.repoDir(name)))?.isDirectory() ?? false;
  }

  /** Size of a blob the repository may serve (linked as a layer or a manifest), or undefined. */
  async repoBlobStat(name: string, digest: string): Promise<Stats | undefined> {
    const linked = (await statOrUndef(this.layerLink(name, digest))) ?? (await statOrUndef(this.revisionLink(name, digest)));
    if (!linked) return undefined;
    return this.blobStat(digest);
  }

  async linkBlob(name: string, digest: string): Promise<void> {
    await this.writeAtomic(this.layerLink(name, digest), '');
  }

  async unlinkBlob(name: string, digest: string): Promise<boolean> {
    try {
      await fsp.unlink(this.layerLink(name, digest));
      return true;
    } catch (e) {
      if (isENOENT(e)) return false;
      throw e;
    }
  }

  // ---- uploads

  private uploadDir(uuid: string): string {
    return join(this.uploadsDir, uuid);
  }

  uploadDataPath(uuid: string): string {
    return join(this.uploadDir(uuid), 'data');
  }

  async createUpload(name: string): Promise<UploadInfo> {
    const uuid = randomBytes(16).toString('hex');
    const dir = this.uploadDir(uuid);
    await fsp.mkdir(dir);
    const info: UploadInfo = { uuid, name, startedAt: new Date().toISOString() };
    await fsp.writeFile(join(dir, 'data'), '');
    await fsp.writeFile(join(dir, 'info.json'), JSON.stringify(info));
    this.uploadState.set(uuid, { hash: createHash('sha256'), size: 0 });
    return info;
  }

  /** The upload session, if it exists and belongs to `name`. */
  async getUpload(name: string, uuid: string): Promise<{ info: UploadInfo; size: number } | undefined> {
    let info: UploadInfo;
    try {
      info = JSON.parse(await fsp.readFile(join(this.uploadDir(uuid), 'info.json'), 'utf8')) as UploadInfo;
    } catch (e) {
      if (isENOENT(e) || e instanceof SyntaxError) return undefined;
      throw e;
    }
    if (info.name !== name) return undefined;
    const st = await statOrUndef(this.uploadDataPath(uuid));
    if (!st) return undefined;
    return { info, size: st.size };
  }

  async listUploads(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.uploadsDir)).filter((n) => /^[a-f0-9]{32}$/.test(n));
    } catch (e) {
      if (isENOENT(e)) return [];
      throw e;
    }
  }

  /** Runs `fn` with the upload session locked, so chunks of one session never interleave. */
  async withUploadLock<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.uploadLocks.get(uuid) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.uploadLocks.set(uuid, tail);
    try {
      return await run;
    } finally {
      if (this.uploadLocks.get(uuid) === tail) this.uploadLocks.delete(uuid);
    }
  }

  /**
   * Appends `body` to the upload. `expectedLength`, when known (Content-Range/Content-Length),
   * must match what arrived; on any failure the data file is cut back to `start`, so a failed
   * chunk leaves the session exactly as it was. Returns the new size.
   */
  async appendUpload(uuid: string, start: number, body: Readable, expectedLength?: number): Promise<number> {
    const path = this.uploadDataPath(uuid);
    let state = this.uploadState.get(uuid);
    if (state && state.size !== start) state = undefined;
    if (!state) this.uploadState.delete(uuid);
    const hash = state?.hash;
    let written = 0;
    const ws = createWriteStream(path, { flags: 'r+', start, highWaterMark: 1 << 20 });
    // Flush to disk while the body is still arriving, so the fsync before commit has only the
    // tail left to write instead of the whole blob (it dominated large pushes otherwise).
    const syncer = await fsp.open(path, 'r');
    let syncing: Promise<void> | undefined;
    let unsynced = 0;
    const SYNC_EVERY = 32 * 1024 * 1024;
    try {
      await pipeline(
        body,
        async function* (src: AsyncIterable<Buffer>) {
          for await (const chunk of src) {
            written += chunk.length;
            if (expectedLength !== undefined && written > expectedLength) {
              throw new RegistryError('SIZE_INVALID', { expected: expectedLength, reason: 'body longer than declared' });
            }
            hash?.update(chunk);
            unsynced += chunk.length;
            if (unsynced >= SYNC_EVERY && syncing === undefined) {
              unsynced = 0;
              syncing = syncer.datasync().catch(() => undefined).finally(() => { syncing = undefined; });
            }
            yield chunk;
          }
        },
        ws,
      );
      if (expectedLength !== undefined && written !== expectedLength) {
        throw new RegistryError('SIZE_INVALID', { expected: expectedLength, received: written });
      }
    } catch (e) {
      this.uploadState.delete(uuid);
      await syncing;
      await syncer.close();
      await fsp.truncate(path, start).catch(() => undefined);
      throw e;
    }
    await syncing;
    await syncer.close();
    if (state) state.size = start + written;
    return start + written;
  }

  /** sha256 of the upload's data: from the rolling hash when it is current, else by re-reading. */
  private async uploadDigest(uuid: string, size: number): Promise<string> {
    const state = this.uploadState.get(uuid);
    if (state && state.size === size) return `sha256:${state.hash.copy().digest('hex')}`;
    const h = createHash('sha256');
    await pipeline(createReadStream(this.uploadDataPath(uuid), { highWaterMark: 1 << 20 }), async (src: AsyncIterable<Buffer>) => {
      for await (const c of src) h.update(c);
    });
    return `sha256:${h.digest('hex')}`;
  }

  /**
   * Verifies the upload against `digest` and moves it into the blob store, linked into `name`.
   * On a mismatch the session is removed and DIGEST_INVALID thrown: nothing is stored.
   */
  async commitUpload(name: string, uuid: string, digest: string, size: number): Promise<void> {
    const actual = await this.uploadDigest(uuid, size);
    if (actual !== digest) {
      await this.cancelUpload(uuid);
      throw new RegistryError('DIGEST_INVALID', { expected: digest, actual });
    }
    const dest = this.blobPath(digest);
    if (await statOrUndef(dest)) {
      // Someone committed the same content first; theirs is identical, keep it.
      await this.touchBlob(digest);
    } else {
      await fsyncFile(this.uploadDataPath(uuid));
      await fsp.rename(this.uploadDataPath(uuid), dest);
      await fsyncDir(this.blobsDir);
    }
    await this.linkBlob(name, digest);
    await this.cancelUpload(uuid);
  }

  async cancelUpload(uuid: string): Promise<void> {
    this.uploadState.delete(uuid);
    await fsp.rm(this.uploadDir(uuid), { recursive: true, force: true });
  }

  // ---- manifests and tags

  async getManifestLink(name: string, digest: string): Promise<ManifestLink | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.revisionLink(name, digest), 'utf8')) as ManifestLink;
    } catch (e) {
      if (isENOENT(e)) return undefined;
      throw e;
    }
  }

  async resolveTag(name: string, tag: string): Promise<string | undefined> {
    try {
      const d = (await fsp.readFile(this.tagFile(name, tag), 'utf8')).trim();
      return d;
    } catch (e) {
      if (isENOENT(e)) return undefined;
      throw e;
    }
  }

  async readBlob(digest: string): Promise<Buffer> {
    return fsp.readFile(this.blobPath(digest));
  }

  /**
   * Stores a validated manifest: blob first, then the revision link, the referrer entry and the
   * tags, so a crash at any point leaves nothing that points at missing content.
   */
  async putManifest(name: string, digest: string, body: Buffer, link: ManifestLink, tags: string[], referrer?: ReferrerDescriptor): Promise<void> {
    const dest = this.blobPath(digest);
    if (await statOrUndef(dest)) await this.touchBlob(digest);
    else await this.writeAtomic(dest, body);
    await this.writeAtomic(this.revisionLink(name, digest), JSON.stringify(link));
    if (link.subject && referrer) {
      await this.writeAtomic(join(this.repoDir(name), '_referrers', checkDigest(link.subject), checkDigest(digest)), JSON.stringify(referrer));
    }
    for (const tag of tags) await this.writeAtomic(this.tagFile(name, tag), digest);
  }

  async listTags(name: string): Promise<string[]> {
    try {
      return (await fsp.readdir(join(this.repoDir(name), '_manifests', 'tags'))).sort();
    } catch (e) {
      if (isENOENT(e)) return [];
      throw e;
    }
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    try {
      await fsp.unlink(this.tagFile(name, tag));
      return true;
    } catch (e) {
      if (isENOENT(e)) return false;
      throw e;
    }
  }

  /** Removes a manifest from a repository with every tag that points at it and its referrer entry. */
  async deleteManifest(name: string, digest: string): Promise<boolean> {
    const link = await this.getManifestLink(name, digest);
    if (!link) return false;
    for (const tag of await this.listTags(name)) {
      if ((await this.resolveTag(name, tag)) === digest) await this.deleteTag(name, tag);
    }
    if (link.subject) {
      await fsp.rm(join(this.repoDir(name), '_referrers', checkDigest(link.subject), checkDigest(digest)), { force: true });
    }
    await fsp.unlink(this.revisionLink(name, digest));
    return true;
  }

  async listRevisions(name: string): Promise<string[]> {
    try {
      return (await fsp.readdir(join(this.repoDir(name), '_manifests', 'revisions', 'sha256')))
        .filter((h) => /^[a-f0-9]{64}$/.test(h))
        .map((h) => `sha256:${h}`);
    } catch (e) {
      if (isENOENT(e)) return [];
      throw e;
    }
  }

  async listLayerLinks(name: string): Promise<{ digest: string; mtimeMs: number }[]> {
    const dir = join(this.repoDir(name), '_layers', 'sha256');
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if (isENOENT(e)) return [];
      throw e;
    }
    const out: { digest: string; mtimeMs: number }[] = [];
    for (const h of names) {
      if (!/^[a-f0-9]{64}$/.test(h)) continue;
      const st = await statOrUndef(join(dir, h));
      if (st) out.push({ digest: `sha256:${h}`, mtimeMs: st.mtimeMs });
    }
    return out;
  }

  async referrers(name: string, subject: string): Promise<ReferrerDescriptor[]> {
    const dir = join(this.repoDir(name), '_referrers', checkDigest(subject));
    let names: string[];
    try {
      names = (await fsp.readdir(dir)).filter((h) => /^[a-f0-9]{64}$/.test(h)).sort();
    } catch (e) {
      if (isENOENT(e)) return [];
      throw e;
    }
    const out: ReferrerDescriptor[] = [];
    for (const h of names) {
      try {
        out.push(JSON.parse(await fsp.readFile(join(dir, h), 'utf8')) as ReferrerDescriptor);
      } catch (e) {
        if (!isENOENT(e)) throw e;
      }
    }
    return out;
  }

  /** Every repository: a directory under repositories/ that holds "_"-prefixed storage dirs. */
  async listRepositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fsp.readdir(join(this.reposDir, rel), { withFileTypes: true });
      } catch (e) {
        if (isENOENT(e)) return;
        throw e;
      }
      if (rel !== '' && entries.some((e) => e.isDirectory() && (e.name === '_manifests' || e.name === '_layers'))) out.push(rel);
      for (const e of entries) {
        if (e.isDirectory() && !e.name.startsWith('_')) await walk(rel === '' ? e.name : `${rel}/${e.name}`);
      }
    };
    await walk('');
    return out.sort();
  }
}
