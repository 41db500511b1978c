// Pulling an image: resolve the manifest (picking a platform from an index), fetch the config,
// download missing layer blobs three at a time, verifying each digest while it streams into
// the content store (resuming a partial blob with Range), unpack them in order into the layer
// store, then register the image, its tag and its repository digest.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError, InvalidParameterError, NotFoundError, SystemError, UnavailableError } from '../errors.js';
import { RegistryClient, RegistryError, isInsecureRegistry } from '../registry/client/client.js';
import { Credentials } from '../registry/client/auth.js';
import { ConnectError, readBody } from '../registry/client/http.js';
import { Reference, familiarString, familiarRepository, repositoryName, withDefaultTag } from './reference.js';
import { Descriptor, ImageConfig, ImageIndex, ImageManifest, MediaType, isIndexMediaType } from './types.js';
import { chainIds, chainIdOf } from './layers.js';
import { BlobRecords } from './blobrecords.js';
import { ProgressSink, Throttle, progressBar } from './progress.js';
import { PlatformSpec, parsePlatform, platformMatches, formatPlatform } from './platform.js';
import type { ImageDaemon } from './service.js';

/** A registry answered something that is not what its digest says, or not a manifest at all. */
export class VerificationError extends InvalidParameterError {}
export class ManifestError extends BerthError {
  constructor(message: string) { super('System', message); }
}

export interface PullDeps {
  d: ImageDaemon;
  records: BlobRecords;
  hold(chainId: string): () => void;
}

export interface PullOptions {
  ref: Reference;
  platform?: string | null;
  credentials?: Credentials;
  /** Layer downloads at once (Docker: 3). */
  concurrency?: number;
}

export function clientFor(d: ImageDaemon, ref: Reference, credentials?: Credentials): RegistryClient {
  return new RegistryClient(ref.domain, { insecure: isInsecureRegistry(ref.domain, d.config.insecureRegistries ?? []), credentials });
}

const inflight = new Map<string, Promise<void>>();

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

interface Resolved {
  manifest: ImageManifest;
  /** Digest of what the tag points at (the index for multi-arch images), as Docker records it. */
  digest: string;
}

/** Parses manifest bytes, naming the digest in every complaint. */
export function parseManifestBytes(body: Buffer, digest: string, contentType: string): { kind: 'index'; index: ImageIndex; mediaType: string } | { kind: 'manifest'; manifest: ImageManifest; mediaType: string } {
  let json: unknown;
  try { json = JSON.parse(body.toString('utf8')); } catch (e) {
    throw new ManifestError(`malformed manifest ${digest}: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null) throw new ManifestError(`malformed manifest ${digest}: not a JSON object`);
  const j = json as { schemaVersion?: number; mediaType?: string; manifests?: unknown; config?: unknown; layers?: unknown };
  if (j.schemaVersion === 1 || contentType.includes('distribution.manifest.v1')) {
    throw new ManifestError(`manifest ${digest} uses Docker image schema 1, which is no longer supported; push it again with a current client`);
  }
  const mt = j.mediaType ?? contentType;
  if (isIndexMediaType(mt) || (Array.isArray(j.manifests) && !j.config)) {
    if (!Array.isArray(j.manifests)) throw new ManifestError(`malformed manifest ${digest}: index without manifests`);
    return { kind: 'index', index: json as ImageIndex, mediaType: mt || MediaType.OciIndex };
  }
  const m = json as ImageManifest;
  if (!m.config || typeof m.config.digest !== 'string' || !Array.isArray(m.layers) || m.layers.some((l) => !l || typeof l.digest !== 'string')) {
    throw new ManifestError(`malformed manifest ${digest}: missing config or layers`);
  }
  return { kind: 'manifest', manifest: m, mediaType: mt || MediaType.OciManifest };
}

async function resolveManifest(client: RegistryClient, repo: string, reference: string, platform: PlatformSpec, what: string): Promise<Resolved> {
  let got;
  try {
    got = await client.getManifest(repo, reference);
  } catch (e) {
    if (e instanceof BerthError && e.kind === 'NotFound') {
      throw new NotFoundError(`manifest for ${what} not found: ${e.message.replace(/^manifest for [^:]+:[^:]+: /, '')}`);
    }
    throw e;
  }
  const top = parseManifestBytes(got.body, got.digest, got.mediaType);
  if (top.kind === 'manifest') return { manifest: top.manifest, digest: got.digest };
  const choice = top.index.manifests.find((m) => platformMatches(platform, m.platform) && m.mediaType !== MediaType.OciIndex);
  if (!choice) throw new NotFoundError(`no matching manifest for ${formatPlatform(platform)} in the manifest list entries`);
  const inner = await client.getManifest(repo, choice.digest);
  const parsed = parseManifestBytes(inner.body, inner.digest, inner.mediaType);
  if (parsed.kind !== 'manifest') throw new ManifestError(`manifest ${choice.digest} is an index inside an index`);
  return { manifest: parsed.manifest, digest: got.digest };
}

async function fetchConfig(client: RegistryClient, repo: string, desc: Descriptor): Promise<Buffer> {
  const res = await client.getBlob(repo, desc.digest);
  const body = await readBody(res, 32 << 20);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (digest !== desc.digest) throw new VerificationError(`image config verification failed for digest ${desc.digest}: got ${digest}`);
  return body;
}

/**
 * Downloads one blob into the content store, hashing as it streams. A partial file from an
 * interrupted download is resumed with Range when the registry allows it.
 */
async function downloadBlob(deps: PullDeps, client: RegistryClient, repo: string, desc: Descriptor, progress: ProgressSink, signal: { aborted: boolean },
  unpack?: (s: Readable) => Promise<unknown>): Promise<void> {
  const { content } = deps.d;
  if (content.has(desc.digest)) return;
  const partialDir = join(content.root, 'blobs', 'partial');
  mkdirSync(partialDir, { recursive: true });
  const partial = join(partialDir, desc.digest.replace(/^sha256:/, ''));
  const id = short(desc.digest);
  const throttle = new Throttle(100);
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw new UnavailableError('pull aborted');
    let start = 0;
    try { start = (await fsp.stat(partial)).size; } catch { start = 0; }
    if (desc.size > 0 && start > desc.size) { await fsp.rm(partial, { force: true }); start = 0; }
    const hash = createHash('sha256');
    try {
      if (start > 0) {
        for await (const c of createReadStream(partial, { highWaterMark: 1 << 20 })) hash.update(c as Buffer);
      }
      const res = await client.getBlob(repo, desc.digest, start);
      if (start > 0 && res.status !== 206) {
        // The registry ignored Range: start again from zero.
        start = 0;
        hash.destroy();
        return await restart();
      }
      let current = start;
      const total = desc.size;
      const tap = new Transform({
        transform(chunk: Buffer, _e, cb) {
          if (signal.aborted) return cb(new UnavailableError('pull aborted'));
          current += chunk.length;
          if (total > 0 && current > total) return cb(new VerificationError(`blob ${desc.digest} is larger than its descriptor says (${total} bytes)`));
          hash.update(chunk);
          if (throttle.ready()) progress({ status: 'Downloading', progressDetail: { current, total }, progress: progressBar(current, total), id });
          cb(null, chunk);
        },
      });
      const file = createWriteStream(partial, { flags: start > 0 ? 'a' : 'w', highWaterMark: 1 << 20 });
      if (unpack && start === 0) {
        // Unpack while downloading: the bytes go to the partial file and to the unpacker.
        const toUnpack = new PassThrough({ highWaterMark: 4 << 20 });
        const tee = new Transform({
          transform(chunk: Buffer, _e, cb) {
            if (toUnpack.write(chunk)) cb(null, chunk);
            else toUnpack.once('drain', () => cb(null, chunk));
          },
          flush(cb) { toUnpack.end(); cb(); },
        });
        const unpacking = unpack(toUnpack);
        try {
          await pipeline(res.body, tap, tee, file);
        } catch (e) {
          toUnpack.destroy(e as Error);
          await unpacking.catch(() => undefined);
          throw e;
        }
        try {
          await unpacking;
        } catch (e) {
          await fsp.rm(partial, { force: true });
          throw e;
        }
      } else {
        await pipeline(res.body, tap, file);
      }
      progress({ status: 'Verifying Checksum', progressDetail: {}, id });
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== desc.digest) {
        await fsp.rm(partial, { force: true });
        throw new VerificationError(`filesystem layer verification failed for digest ${desc.digest}: got ${got}`);
      }
      deps.records.addPending(desc.digest);
      await content.adopt(partial, desc.digest);
      progress({ status: 'Download complete', progressDetail: {}, id });
      return;
    } catch (e) {
      const retriable = e instanceof ConnectError || (e as NodeJS.ErrnoException)?.code === 'ECONNRESET' || (e as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
      if (!retriable || attempt >= 3 || signal.aborted) throw e;
      progress({ status: `Retrying in ${attempt} second${attempt > 1 ? 's' : ''}`, progressDetail: {}, id });
      await new Promise((r) => setTimeout(r, attempt * 1000));
    }
  }
  async function restart(): Promise<void> {
    await fsp.rm(partial, { force: true });
    return downloadBlob(deps, client, repo, desc, progress, signal);
  }
}

/** Runs fns with at most `n` at once; each result settles independently. */
function limited<T>(n: number, fns: (() => Promise<T>)[]): Promise<T>[] {
  let running = 0;
  const queue: (() => void)[] = [];
  return fns.map((fn) => new Promise<T>((resolve, reject) => {
    const run = () => {
      running++;
      fn().then(resolve, reject).finally(() => { running--; queue.shift()?.(); });
    };
    if (running < n) run(); else queue.push(run);
  }));
}

export interface PullResult {
  id: string;
  digest: string;
  upToDate: boolean;
}

/** Pulls one tag or digest. Errors before the first progress message leave the HTTP answer free. */
export async function pullOne(deps: PullDeps, client: RegistryClient, opts: PullOptions, progress: ProgressSink): Promise<PullResult> {
  const { d } = deps;
  const ref = opts.ref.digest ? opts.ref : withDefaultTag(opts.ref);
  const platform = parsePlatform(opts.platform);
  const reference = ref.digest ?? (ref.tag as string);
  const display = familiarString(ref);
  const resolved = await resolveManifest(client, ref.path, reference, platform, display);
  const m = resolved.manifest;
  progress({ status: `Pulling from ${ref.path}`, id: ref.tag ?? ref.digest });

  if (m.config.mediaType && m.config.mediaType !== MediaType.OciConfig && m.config.mediaType !== MediaType.DockerConfig) {
    throw new ManifestError(`manifest ${resolved.digest} is not a container image (config media type ${m.config.mediaType})`);
  }
  const configBytes = await fetchConfig(client, ref.path, m.config);
  let config: ImageConfig;
  try { config = JSON.parse(configBytes.toString('utf8')) as ImageConfig; } catch (e) {
    throw new ManifestError(`malformed image config ${m.config.digest}: ${(e as Error).message}`);
  }
  if (config.os && config.os !== 'linux') throw new InvalidParameterError(`image operating system "${config.os}" cannot be used on this platform`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers = m.layers;
  if (diffIds.length !== layers.length) {
    throw new ManifestError(`manifest ${resolved.digest} lists ${layers.length} layers but its config has ${diffIds.length} diff IDs`);
  }
  const chains = chainIds(diffIds);
  const releases = chains.map((c) => deps.hold(c));
  const created: string[] = [];
  const previous = ref.tag ? d.images.tryResolve(`${repositoryName(ref)}:${ref.tag}`) : undefined;
  const signal = { aborted: false };
  try {
    const missing = layers.map((l, i) => !d.layers.has(chains[i]));
    layers.forEach((l, i) => {
      progress({ status: missing[i] ? 'Pulling fs layer' : 'Already exists', progressDetail: {}, id: short(l.digest) });
    });
    const concurrency = opts.concurrency ?? 3;
    const downloads = limited(concurrency, layers.map((l, i) => async () => {
      if (!missing[i] || d.content.has(l.digest)) {
        if (missing[i]) progress({ status: 'Download complete', progressDetail: {}, id: short(l.digest) });
        return;
      }
      const key = l.digest;
      let p = inflight.get(key);
      if (!p) {
        // Unpack while downloading when the layer's parent already exists (always for the first).
        const parentChain = i === 0 ? null : chains[i - 1];
        const streamable = parentChain === null || d.layers.has(parentChain);
        const unpack = streamable
          ? async (s: Readable) => { await d.layers.applyStream(parentChain, s, diffIds[i]); created.push(chains[i]); }
          : undefined;
        p = downloadBlob(deps, client, ref.path, l, progress, signal, unpack).finally(() => inflight.delete(key));
        inflight.set(key, p);
      }
      await p;
    }));
    layers.forEach((l, i) => {
      if (missing[i] && i >= concurrency && !d.content.has(l.digest)) progress({ status: 'Waiting', progressDetail: {}, id: short(l.digest) });
    });
    downloads.forEach((p) => p.catch(() => { signal.aborted = true; }));
    // Unpack in order as blobs arrive: a layer needs its parent first.
    let parent: string | null = null;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i];
      try {
        await downloads[i];
      } catch (e) {
        signal.aborted = true;
        await Promise.allSettled(downloads);
        throw e;
      }
      if (missing[i] && d.layers.has(chains[i])) {
        // Unpacked while it downloaded.
        d.layers.recordBlob({ diffId: diffIds[i], digest: l.digest, mediaType: l.mediaType || MediaType.OciLayerGzip, size: d.content.size(l.digest) ?? 0 });
        progress({ status: 'Pull complete', progressDetail: {}, id: short(l.digest) });
      } else if (missing[i]) {
        progress({ status: 'Extracting', progressDetail: {}, id: short(l.digest) });
        const mt = l.mediaType || MediaType.OciLayerGzip;
        try {
          await d.layers.applyBlob(parent, l.digest, mt, diffIds[i]);
        } catch (e) {
          signal.aborted = true;
          await Promise.allSettled(downloads);
          throw e;
        }
        created.push(chains[i]);
        progress({ status: 'Pull complete', progressDetail: {}, id: short(l.digest) });
      }
      deps.records.removePending(l.digest);
      deps.records.addSource(l.digest, client.host, ref.path);
      parent = chainIdOf(parent, diffIds[i]);
    }
    const rec = await d.images.create(configBytes);
    if (ref.tag) d.images.tag(rec.id, `${repositoryName(ref)}:${ref.tag}`);
    d.images.addDigest(rec.id, ref, resolved.digest);
    deps.records.addSource(m.config.digest, client.host, ref.path);
    progress({ status: `Digest: ${resolved.digest}` });
    const upToDate = previous?.id === rec.id;
    d.events.emit('image', 'pull', familiarString(ref), { name: familiarString(ref) });
    return { id: rec.id, digest: resolved.digest, upToDate };
  } catch (e) {
    // A blob that is not what its digest says poisons the whole pull: remove what it made.
    // Network failures keep completed blobs (pending) and partial files so a retry resumes.
    if (e instanceof VerificationError || (e instanceof BerthError && /diff ID mismatch|verification/.test(e.message))) {
      for (const c of created.reverse()) {
        if (![...d.images.referencedChains()].some((top) => chainsUnder(d, top).has(c))) await d.layers.remove(c);
      }
      for (const l of layers) {
        if (!d.layers.blobInUse(l.digest) && d.content.has(l.digest)) await d.content.delete(l.digest);
        deps.records.removePending(l.digest);
        await fsp.rm(join(d.content.root, 'blobs', 'partial', l.digest.replace(/^sha256:/, '')), { force: true });
      }
    }
    throw e;
  } finally {
    for (const r of releases) r();
  }
}

function chainsUnder(d: ImageDaemon, top: string): Set<string> {
  const out = new Set<string>();
  let cur: string | null = top;
  while (cur && d.layers.has(cur) && !out.has(cur)) { out.add(cur); cur = d.layers.get(cur).parent; }
  return out;
}

/**
 * Docker's translatePullError: a denied or unknown repository is "not found" with a hint to log
 * in; a 401 is never passed on as 401 (the docker CLI would start an interactive login).
 */
export function translatePullError(e: unknown, ref: Reference): unknown {
  if (!(e instanceof BerthError)) return e;
  if (e instanceof RegistryError && (e.code === 'DENIED' || e.code === 'NAME_UNKNOWN' || e.status === 403)) {
    return new NotFoundError(`pull access denied for ${familiarRepository(ref)}, repository does not exist or may require 'docker login': ${e.message.replace(/^[^:]*: (?=denied|name unknown)/, '')}`);
  }
  if (e.kind === 'Unauthorized' || e.kind === 'Forbidden') return new SystemError(e.message, { cause: e });
  return e;
}

/** POST /images/create?fromImage=: one tag/digest, or every tag when none is given. */
export async function pull(deps: PullDeps, opts: PullOptions & { allTags?: boolean }, progress: ProgressSink): Promise<void> {
  try {
    await pullTags(deps, opts, progress);
  } catch (e) {
    throw translatePullError(e, opts.ref);
  }
}

async function pullTags(deps: PullDeps, opts: PullOptions & { allTags?: boolean }, progress: ProgressSink): Promise<void> {
  const client = clientFor(deps.d, opts.ref, opts.credentials);
  if (opts.allTags && !opts.ref.tag && !opts.ref.digest) {
    const tags = await client.tags(opts.ref.path);
    if (tags.length === 0) throw new NotFoundError(`no tags found for ${familiarRepository(opts.ref)}`);
    for (const t of tags) await pullOne(deps, client, { ...opts, ref: { ...opts.ref, tag: t } }, progress);
    progress({ status: `Status: Downloaded newer image for ${familiarRepository(opts.ref)}` });
    return;
  }
  const r = await pullOne(deps, client, opts, progress);
  const name = familiarString(opts.ref.digest ? opts.ref : withDefaultTag(opts.ref));
  progress({ status: r.upToDate ? `Status: Image is up to date for ${name}` : `Status: Downloaded newer image for ${name}` });
}
