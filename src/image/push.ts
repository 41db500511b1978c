// Pushing an image: each layer's stored compressed blob is sent as is (compressed once, when
// the layer was made), blobs the registry has are skipped (HEAD), blobs known to live in
// another repository of the same registry are mounted, the config follows and the manifest
// goes last so that the tag never points at something incomplete.
import { Transform } from 'node:stream';
import { NotFoundError, SystemError } from '../errors.js';
import { RegistryClient } from '../registry/client/client.js';
import { Credentials } from '../registry/client/auth.js';
import { Reference, familiarRepository, familiarString, repositoryName } from './reference.js';
import { Descriptor, ImageManifest, MediaType } from './types.js';
import { LayerBlob } from './layers.js';
import { ProgressSink, Throttle, progressBar } from './progress.js';
import { clientFor, PullDeps } from './pull.js';

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

const GZIP_TYPES: string[] = [MediaType.OciLayerGzip, MediaType.DockerLayerGzip];

/** The blob to send for a diff ID: a gzip one if there is one (smaller, what Docker sends). */
async function blobFor(deps: PullDeps, diffId: string): Promise<LayerBlob> {
  const b = await deps.d.layers.compressedBlob(diffId);
  if (!b) throw new SystemError(`layer ${diffId} has no stored blob to push; re-create the image (build or import) to push it`);
  return b;
}

async function uploadBlob(deps: PullDeps, client: RegistryClient, repo: string, digest: string, size: number, progress: ProgressSink | undefined, id: string): Promise<'exists' | 'mounted' | 'pushed'> {
  const scopes = [`repository:${repo}:pull,push`];
  if ((await client.blobSize(repo, digest, scopes)) !== undefined) return 'exists';
  const from = deps.records.sources(digest, client.host).find((r) => r !== repo);
  const started = await client.startUpload(repo, from ? { digest, from } : undefined);
  if ('mounted' in started) {
    progress?.({ status: `Mounted from ${familiarRepository({ domain: 'docker.io', path: from ?? '' })}`, progressDetail: {}, id });
    return 'mounted';
  }
  let current = 0;
  const throttle = new Throttle(100);
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      current += chunk.length;
      if (progress && throttle.ready()) progress({ status: 'Pushing', progressDetail: { current, total: size }, progress: progressBar(current, size), id });
      cb(null, chunk);
    },
  });
  const src = deps.d.content.stream(digest);
  src.on('error', (e) => tap.destroy(e));
  await client.putBlob(repo, started.location, digest, src.pipe(tap), size);
  return 'pushed';
}

function limit(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return <T>(fn: () => Promise<T>) => new Promise<T>((resolve, reject) => {
    const run = () => { running++; fn().then(resolve, reject).finally(() => { running--; queue.shift()?.(); }); };
    if (running < n) run(); else queue.push(run);
  });
}

export interface PushOptions {
  /** Repository, with a tag to push one tag; without, every tag of the repository. */
  ref: Reference;
  credentials?: Credentials;
}

/** Tags of `ref`'s repository to push, resolved before the stream starts (404 otherwise). */
export function tagsToPush(deps: PullDeps, ref: Reference): string[] {
  const { images } = deps.d;
  if (ref.tag) {
    // moby's pusher names the repository here, not the tag.
    if (!images.tryResolve(`${repositoryName(ref)}:${ref.tag}`)) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarRepository(ref)}`);
    return [ref.tag];
  }
  const tags: string[] = [];
  for (const rec of images.list()) {
    for (const t of images.references(rec.id).tags) if (repositoryName(t) === repositoryName(ref) && t.tag) tags.push(t.tag);
  }
  if (tags.length === 0) throw new NotFoundError(`An image does not exist locally with the tag: ${familiarRepository(ref)}`);
  return tags.sort();
}

export async function push(deps: PullDeps, opts: PushOptions, progress: ProgressSink): Promise<void> {
  const { d } = deps;
  const tags = tagsToPush(deps, opts.ref);
  const client = clientFor(d, opts.ref, opts.credentials);
  const repo = opts.ref.path;
  await client.ping();
  progress({ status: `The push refers to repository [${repositoryName(opts.ref).replace(/^docker\.io\//, 'docker.io/')}]` });
  for (const tag of tags) {
    const rec = d.images.resolve(`${repositoryName(opts.ref)}:${tag}`);
    const config = await d.images.config(rec.id);
    const diffIds = config.rootfs?.diff_ids ?? [];
    const blobs: LayerBlob[] = [];
    for (const id of diffIds) blobs.push(await blobFor(deps, id));
    const ids = diffIds.map(short);
    const order = diffIds.map((_, i) => diffIds.length - 1 - i); // Docker lists the top layer first.
    for (const i of order) progress({ status: 'Preparing', progressDetail: {}, id: ids[i] });
    const run = limit(3);
    order.slice(3).forEach((i) => progress({ status: 'Waiting', progressDetail: {}, id: ids[i] }));
    const seen = new Map<string, Promise<void>>();
    await Promise.all(order.map((i) => {
      const b = blobs[i];
      let p = seen.get(b.digest);
      if (!p) {
        p = run(async () => {
          const r = await uploadBlob(deps, client, repo, b.digest, b.size, progress, ids[i]);
          if (r === 'exists') progress({ status: 'Layer already exists', progressDetail: {}, id: ids[i] });
          else if (r === 'pushed') progress({ status: 'Pushed', progressDetail: {}, id: ids[i] });
          deps.records.addSource(b.digest, client.host, repo);
        });
        seen.set(b.digest, p);
      }
      return p;
    }));
    const configBytes = await d.content.read(rec.id);
    await uploadBlob(deps, client, repo, rec.id, configBytes.length, undefined, '');
    deps.records.addSource(rec.id, client.host, repo);
    // Docker's schema2 when every layer is gzip (what Docker itself pushes), OCI otherwise.
    const docker = blobs.every((b) => GZIP_TYPES.includes(b.mediaType));
    const layerDesc = (b: LayerBlob): Descriptor => ({
      mediaType: docker ? MediaType.DockerLayerGzip : b.mediaType, size: b.size, digest: b.digest,
    });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
      config: { mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig, size: configBytes.length, digest: rec.id },
      layers: blobs.map(layerDesc),
    };
    const body = Buffer.from(JSON.stringify(manifest, null, 3));
    const digest = await client.putManifest(repo, tag, body, manifest.mediaType as string);
    d.images.addDigest(rec.id, opts.ref, digest);
    progress({ status: `${tag}: digest: ${digest} size: ${body.length}` });
    progress({ progressDetail: {}, aux: { Tag: tag, Digest: digest, Size: body.length } });
    d.events.emit('image', 'push', familiarString({ ...opts.ref, tag }), { name: familiarString({ ...opts.ref, tag }) });
  }
}
