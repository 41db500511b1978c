// `save` and `load`: image archives in the format `docker save` writes since Docker 25 — an OCI
// image layout (oci-layout, index.json, blobs/sha256/...) plus Docker's manifest.json — and
// loading of both that and the older docker-archive layout (<id>/layer.tar, symlinked dupes).
// Every tar entry name is checked: nothing in an archive may point outside it.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import { cleanEntryPath, UnsafeTarEntryError } from './unpack.js';
import { chainIds, chainIdOf, compressionOf } from './layers.js';
import { ImageConfig, ImageIndex, ImageManifest, MediaType, isIndexMediaType } from './types.js';
import {
  Reference, familiarString, fullString, parseReference, repositoryName, withDefaultTag,
} from './reference.js';
import { ImageRecord } from './store.js';
import type { ImageDaemon } from './service.js';
import { ProgressSink } from './progress.js';
import { parsePlatform, platformMatches } from './platform.js';

interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

export interface SaveItem {
  rec: ImageRecord;
  tags: Reference[];
}

/** Resolves `docker save` arguments: a bare repository name means all of its tags. */
export function resolveSaveNames(d: ImageDaemon, names: string[]): SaveItem[] {
  if (names.length === 0) throw new InvalidParameterError('no images given to save');
  const byId = new Map<string, SaveItem>();
  const add = (rec: ImageRecord, tag?: Reference) => {
    const it = byId.get(rec.id) ?? { rec, tags: [] };
    if (tag && !it.tags.some((t) => fullString(t) === fullString(tag))) it.tags.push(tag);
    byId.set(rec.id, it);
  };
  for (const name of names) {
    let ref: Reference | undefined;
    try { ref = parseReference(name); } catch { ref = undefined; }
    if (ref && !ref.tag && !ref.digest && !/^(sha256:)?[a-f0-9]{1,64}$/.test(name)) {
      const matches = d.images.list().flatMap((rec) => d.images.references(rec.id).tags
        .filter((t) => repositoryName(t) === repositoryName(ref as Reference)).map((t) => ({ rec, t })));
      if (matches.length) { for (const m of matches) add(m.rec, m.t); continue; }
    }
    const rec = d.images.resolve(name);
    add(rec, ref?.tag ? withDefaultTag(ref) : undefined);
  }
  return [...byId.values()];
}

function hex(digest: string): string { return digest.replace(/^sha256:/, ''); }

/** Streams an archive of `items` (resolved beforehand, so a missing image is a plain 404). */
export function saveArchive(d: ImageDaemon, items: SaveItem[]): Readable {
  const pack = tar.pack();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const written = new Set<string>();
  const mtime = new Date(0);
  const addBuffer = (name: string, data: Buffer) => new Promise<void>((resolve, reject) => {
    pack.entry({ name, size: data.length, mode: 0o644, mtime }, data, (e) => (e ? reject(e) : resolve()));
  });
  const addBlob = async (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    const size = d.content.size(digest);
    if (size === undefined) throw new NotFoundError(`blob ${digest} is missing from the content store`);
    const entry = pack.entry({ name: `blobs/sha256/${hex(digest)}`, size, mode: 0o644, mtime });
    await pipeline(d.content.stream(digest), entry);
  };
  (async () => {
    pack.entry({ name: 'blobs/', type: 'directory', mode: 0o755, mtime });
    pack.entry({ name: 'blobs/sha256/', type: 'directory', mode: 0o755, mtime });
    const manifestJson: DockerManifestEntry[] = [];
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
    for (const it of items) {
      const config = await d.images.config(it.rec.id);
      const layers = (config.rootfs?.diff_ids ?? []).map((diffId) => {
        const blobs = d.layers.blobsFor(diffId);
        const b = blobs.find((x) => x.mediaType.includes('gzip')) ?? blobs[0];
        if (!b) throw new NotFoundError(`layer ${diffId} has no stored blob to save`);
        return b;
      });
      await addBlob(it.rec.id);
      for (const l of layers) await addBlob(l.digest);
      const manifest: ImageManifest = {
        schemaVersion: 2, mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: it.rec.id, size: d.content.size(it.rec.id) ?? 0 },
        layers: layers.map((l) => ({
          mediaType: l.mediaType.includes('gzip') ? MediaType.OciLayerGzip : MediaType.OciLayer, digest: l.digest, size: l.size,
        })),
      };
      const mBytes = Buffer.from(JSON.stringify(manifest));
      // The manifest only lives in the archive; the store does not keep it.
      const mDigest = `sha256:${createHash('sha256').update(mBytes).digest('hex')}`;
      if (!written.has(mDigest)) { written.add(mDigest); await addBuffer(`blobs/sha256/${hex(mDigest)}`, mBytes); }
      const desc = { mediaType: MediaType.OciManifest, digest: mDigest, size: mBytes.length };
      if (it.tags.length === 0) index.manifests.push(desc);
      for (const t of it.tags) {
        index.manifests.push({ ...desc, annotations: { 'io.containerd.image.name': fullString(t), 'org.opencontainers.image.ref.name': t.tag ?? 'latest' } });
      }
      manifestJson.push({
        Config: `blobs/sha256/${hex(it.rec.id)}`,
        RepoTags: it.tags.length ? it.tags.map(familiarString) : null,
        Layers: layers.map((l) => `blobs/sha256/${hex(l.digest)}`),
      });
    }
    await addBuffer('index.json', Buffer.from(JSON.stringify(index)));
    await addBuffer('manifest.json', Buffer.from(JSON.stringify(manifestJson)));
    await addBuffer('oci-layout', Buffer.from('{"imageLayoutVersion": "1.0.0"}'));
    pack.finalize();
  })().catch((e: unknown) => { pack.destroy(e as Error); out.destroy(e as Error); });
  pack.on('error', (e) => out.destroy(e));
  pack.pipe(out);
  for (const it of items) for (const t of it.tags) d.events.emit('image', 'save', it.rec.id, { name: familiarString(t) });
  return out;
}

const SMALL = 4 << 20;

interface ArchiveFiles {
  small: Map<string, Buffer>;
  /** Large files went straight into the content store: path → digest. */
  stored: Map<string, string>;
  links: Map<string, string>;
}

function resolvePath(files: ArchiveFiles, p: string): string {
  let cur = p;
  for (let i = 0; i < 16; i++) {
    const next = files.links.get(cur);
    if (next === undefined) return cur;
    cur = next;
  }
  throw new InvalidParameterError(`too many links in archive at ${p}`);
}

/** Loads an archive: docker-archive (manifest.json) or OCI layout (index.json). */
export async function loadArchive(d: ImageDaemon, body: Readable, hold: (c: string) => () => void, progress: ProgressSink): Promise<string[]> {
  const files: ArchiveFiles = { small: new Map(), stored: new Map(), links: new Map() };
  const before = new Set<string>();
  const ingested: string[] = [];
  const extract = tar.extract();
  const reading = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const name = cleanEntryPath(h.name);
      if (h.type === 'directory' || name === '') { entry.resume(); continue; }
      if (h.type === 'symlink' || h.type === 'link') {
        entry.resume();
        const target = h.linkname ?? '';
        if (h.type === 'symlink' && target.startsWith('/')) throw new UnsafeTarEntryError(h.name, 'absolute symlink in an image archive');
        const rel = h.type === 'symlink' ? posix.join(posix.dirname(name), target) : target;
        let clean: string;
        try { clean = cleanEntryPath(rel); } catch { throw new UnsafeTarEntryError(h.name, `link target ${target} is outside the archive`); }
        if (rel.startsWith('../') || rel === '..') throw new UnsafeTarEntryError(h.name, `link target ${target} is outside the archive`);
        files.links.set(name, clean);
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        if (h.type === 'character-device' || h.type === 'block-device' || h.type === 'fifo') throw new UnsafeTarEntryError(h.name, `unexpected ${h.type} in an image archive`);
        continue;
      }
      if ((h.size ?? 0) <= SMALL) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        files.small.set(name, Buffer.concat(chunks));
      } else {
        const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
        const expected = m ? `sha256:${m[1]}` : undefined;
        if (expected && d.content.has(expected)) { before.add(expected); entry.resume(); files.stored.set(name, expected); continue; }
        const info = await d.content.ingest(entry as unknown as Readable, expected);
        if (!before.has(info.digest)) ingested.push(info.digest);
        files.stored.set(name, info.digest);
      }
    }
  })().catch((e: unknown) => { extract.destroy(e as Error); throw e; });
  await Promise.all([pipeline(body, extract), reading]);

  const read = (p: string): Buffer | undefined => files.small.get(resolvePath(files, cleanEntryPath(p)));
  /** The content-store digest of an archive file, storing small ones now. */
  const blobOf = async (p: string): Promise<string> => {
    const real = resolvePath(files, cleanEntryPath(p));
    const stored = files.stored.get(real);
    if (stored) return stored;
    const small = files.small.get(real);
    if (!small) throw new InvalidParameterError(`invalid archive: ${p} is missing`);
    const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(real);
    const had = m ? d.content.has(`sha256:${m[1]}`) : false;
    const info = await d.content.put(small, m ? `sha256:${m[1]}` : undefined);
    if (!had && !before.has(info.digest)) ingested.push(info.digest);
    files.stored.set(real, info.digest);
    return info.digest;
  };

  interface Planned { config: Buffer; layers: string[]; tags: string[] }
  const planned: Planned[] = [];
  const manifestJson = read('manifest.json');
  if (manifestJson) {
    let entries: DockerManifestEntry[];
    try { entries = JSON.parse(manifestJson.toString('utf8')) as DockerManifestEntry[]; } catch (e) {
      throw new InvalidParameterError(`invalid archive: manifest.json: ${(e as Error).message}`);
    }
    if (!Array.isArray(entries)) throw new InvalidParameterError('invalid archive: manifest.json is not a list');
    for (const e of entries) {
      const config = typeof e.Config === 'string' ? read(e.Config) : undefined;
      if (!config) throw new InvalidParameterError(`invalid archive: config ${e.Config} is missing`);
      if (!Array.isArray(e.Layers)) throw new InvalidParameterError('invalid archive: manifest.json entry without Layers');
      planned.push({ config, layers: e.Layers, tags: e.RepoTags ?? [] });
    }
  } else {
    const indexBytes = read('index.json');
    if (!indexBytes) throw new InvalidParameterError('invalid archive: neither manifest.json nor index.json found');
    const platform = parsePlatform(undefined);
    const jsonOf = <T>(digest: string): T => {
      const b = read(`blobs/sha256/${hex(digest)}`);
      if (!b) throw new InvalidParameterError(`invalid archive: blob ${digest} is missing`);
      try { return JSON.parse(b.toString('utf8')) as T; } catch (e) {
        throw new InvalidParameterError(`invalid archive: malformed manifest ${digest}: ${(e as Error).message}`);
      }
    };
    let index: ImageIndex;
    try { index = JSON.parse(indexBytes.toString('utf8')) as ImageIndex; } catch (e) {
      throw new InvalidParameterError(`invalid archive: index.json: ${(e as Error).message}`);
    }
    const byManifest = new Map<string, Planned>();
    const visit = (desc: { digest: string; mediaType: string }, tags: string[], depth: number) => {
      if (depth > 4) throw new InvalidParameterError('invalid archive: indexes nested too deep');
      if (isIndexMediaType(desc.mediaType)) {
        const inner = jsonOf<ImageIndex>(desc.digest);
        const choice = inner.manifests.find((m) => platformMatches(platform, m.platform)) ?? inner.manifests.find((m) => !m.platform);
        if (!choice) throw new NotFoundError(`no matching manifest for ${platform.os}/${platform.architecture} in the archive`);
        visit(choice, tags, depth + 1);
        return;
      }
      const m = jsonOf<ImageManifest>(desc.digest);
      const config = read(`blobs/sha256/${hex(m.config.digest)}`);
      if (!config) throw new InvalidParameterError(`invalid archive: config ${m.config.digest} is missing`);
      const p = byManifest.get(desc.digest) ?? { config, layers: m.layers.map((l) => `blobs/sha256/${hex(l.digest)}`), tags: [] };
      p.tags.push(...tags);
      byManifest.set(desc.digest, p);
    };
    for (const desc of index.manifests ?? []) {
      const a = desc.annotations ?? {};
      const name = a['io.containerd.image.name'] ?? (a['org.opencontainers.image.ref.name']?.includes(':') || a['org.opencontainers.image.ref.name']?.includes('/') ? a['org.opencontainers.image.ref.name'] : undefined);
      visit(desc, name ? [name] : [], 0);
    }
    planned.push(...byManifest.values());
  }

  const loaded: string[] = [];
  const created: string[] = [];
  const releases: (() => void)[] = [];
  try {
    for (const p of planned) {
      let config: ImageConfig;
      try { config = JSON.parse(p.config.toString('utf8')) as ImageConfig; } catch (e) {
        throw new InvalidParameterError(`invalid archive: image config: ${(e as Error).message}`);
      }
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== p.layers.length) throw new InvalidParameterError(`invalid archive: ${p.layers.length} layers for ${diffIds.length} diff IDs`);
      const chains = chainIds(diffIds);
      for (const c of chains) releases.push(hold(c));
      let parent: string | null = null;
      for (let i = 0; i < diffIds.length; i++) {
        const chain = chainIdOf(parent, diffIds[i]);
        if (!d.layers.has(chain)) {
          const digest = await blobOf(p.layers[i]);
          const gz = await isGzip(d, digest);
          progress({ status: 'Loading layer', progressDetail: {}, id: hex(diffIds[i]).slice(0, 12) });
          await d.layers.applyBlob(parent, digest, gz ? MediaType.OciLayerGzip : MediaType.OciLayer, diffIds[i]);
          created.push(chain);
        }
        parent = chain;
      }
      const rec = await d.images.create(p.config);
      for (const t of p.tags) {
        const ref = withDefaultTag(parseReference(t));
        const old = d.images.tryResolve(fullString(ref));
        if (old && old.id !== rec.id) {
          progress({ stream: `The image ${familiarString(ref)} already exists, renaming the old one with ID ${old.id} to empty string\n` });
        }
        d.images.tag(rec.id, fullString(ref));
        progress({ stream: `Loaded image: ${familiarString(ref)}\n` });
        d.events.emit('image', 'load', rec.id, { name: familiarString(ref) });
        loaded.push(familiarString(ref));
      }
      if (p.tags.length === 0) {
        progress({ stream: `Loaded image ID: ${rec.id}\n` });
        d.events.emit('image', 'load', rec.id);
        loaded.push(rec.id);
      }
    }
  } catch (e) {
    for (const c of created.reverse()) {
      const used = [...d.images.referencedChains()].some((top) => {
        let cur: string | null = top;
        while (cur && d.layers.has(cur)) { if (cur === c) return true; cur = d.layers.get(cur).parent; }
        return false;
      });
      if (!used) await d.layers.remove(c);
    }
    throw e;
  } finally {
    for (const r of releases) r();
    // Whatever the archive brought that is neither a layer blob nor an image config goes.
    for (const dg of ingested) {
      if (!d.layers.blobInUse(dg) && !d.images.tryGet(dg)) await d.content.delete(dg);
    }
  }
  return loaded;
}

async function isGzip(d: ImageDaemon, digest: string): Promise<boolean> {
  const s = d.content.stream(digest);
  for await (const c of s) {
    s.destroy();
    return compressionOf(c as Buffer) === 'gzip';
  }
  return false;
}
