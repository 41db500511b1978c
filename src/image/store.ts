// The image store: images are identified by the digest of their config (the image ID), their
// layers live in the LayerStore, and names (tags, digests) point at image IDs.
import { Db, ensureSchema } from '../store/db.js';
import { ContentStore } from '../store/content.js';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js';
import { LayerStore, chainIds } from './layers.js';
import { ImageConfig } from './types.js';
import {
  Reference, parseReference, withDefaultTag, fullString, familiarString, repositoryName, familiarRepository,
} from './reference.js';

export interface ImageRecord {
  id: string;
  /** Seconds since the epoch, from the config's `created`. */
  created: number;
  /** Sum of the unpacked sizes of its layers. */
  size: number;
  parent: string;
  topChainId: string | null;
  added: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY,
  created INTEGER NOT NULL,
  size INTEGER NOT NULL,
  parent TEXT NOT NULL DEFAULT '',
  top_chain_id TEXT,
  added INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS image_tags (
  ref TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  added INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS image_tags_by_image ON image_tags(image_id);
CREATE TABLE IF NOT EXISTS image_digests (
  repo TEXT NOT NULL,
  digest TEXT NOT NULL,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  PRIMARY KEY (repo, digest)
);
`;

type ImageRow = { id: string; created: number; size: number; parent: string; top_chain_id: string | null; added: number };

function rowToRecord(r: ImageRow): ImageRecord {
  return { id: r.id, created: r.created, size: r.size, parent: r.parent, topChainId: r.top_chain_id, added: r.added };
}

export class ImageStore {
  private readonly configs = new Map<string, ImageConfig>();

  constructor(private readonly db: Db, readonly content: ContentStore, readonly layers: LayerStore) {
    ensureSchema(db, 'images', 1, SCHEMA);
  }

  /**
   * Registers an image from its config JSON. Every layer of its rootfs must already be in the
   * layer store. Returns the existing record when the image is already known.
   */
  async create(configJson: Buffer | string, opts: { parent?: string } = {}): Promise<ImageRecord> {
    const raw = typeof configJson === 'string' ? Buffer.from(configJson) : configJson;
    let config: ImageConfig;
    try {
      config = JSON.parse(raw.toString('utf8')) as ImageConfig;
    } catch (e) {
      throw new InvalidParameterError(`invalid image config: ${(e as Error).message}`);
    }
    if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw new InvalidParameterError('invalid image config: no rootfs.diff_ids');
    const chains = chainIds(config.rootfs.diff_ids);
    let size = 0;
    for (const c of chains) {
      if (!this.layers.has(c)) throw new NotFoundError(`layer ${c} of image is not in the layer store`);
      size += this.layers.get(c).size;
    }
    const { digest } = await this.content.put(raw);
    const existing = this.tryGet(digest);
    if (existing) return existing;
    const created = config.created ? Math.floor(Date.parse(config.created) / 1000) || 0 : 0;
    const rec: ImageRecord = {
      id: digest, created, size, parent: opts.parent ?? '', topChainId: chains.length ? chains[chains.length - 1] : null, added: Date.now(),
    };
    this.db.prepare('INSERT INTO images(id, created, size, parent, top_chain_id, added) VALUES (?, ?, ?, ?, ?, ?)')
      .run(rec.id, rec.created, rec.size, rec.parent, rec.topChainId, rec.added);
    this.configs.set(digest, config);
    return rec;
  }

  tryGet(id: string): ImageRecord | undefined {
    const r = this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    return r ? rowToRecord(r) : undefined;
  }

  get(id: string): ImageRecord {
    const r = this.tryGet(id);
    if (!r) throw new NotFoundError(`No such image: ${id}`);
    return r;
  }

  list(): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images ORDER BY added DESC').all() as ImageRow[]).map(rowToRecord);
  }

  async config(id: string): Promise<ImageConfig> {
    const cached = this.configs.get(id);
    if (cached) return cached;
    const c = JSON.parse((await this.content.read(id)).toString('utf8')) as ImageConfig;
    this.configs.set(id, c);
    return c;
  }

  /**
   * Finds an image the way Docker does: a full or short ID, a name with tag (default latest),
   * or name@digest. Throws NotFound with Docker's "No such image" wording.
   */
  resolve(nameOrId: string): ImageRecord {
    const found = this.tryResolve(nameOrId);
    if (!found) throw new NotFoundError(`No such image: ${notFoundName(nameOrId)}`);
    return found;
  }

  tryResolve(nameOrId: string): ImageRecord | undefined {
    const s = nameOrId.trim();
    if (/^sha256:[a-f0-9]{64}$/.test(s)) return this.tryGet(s);
    if (/^[a-f0-9]{64}$/.test(s)) return this.tryGet(`sha256:${s}`);
    let ref: Reference | undefined;
    try { ref = parseReference(s); } catch { ref = undefined; }
    if (ref) {
      if (ref.digest) {
        const r = this.db.prepare('SELECT image_id FROM image_digests WHERE repo = ? AND digest = ?')
          .get(repositoryName(ref), ref.digest) as { image_id: string } | undefined;
        if (r) return this.tryGet(r.image_id);
        if (this.tryGet(ref.digest)) return this.tryGet(ref.digest);
      } else {
        const r = this.db.prepare('SELECT image_id FROM image_tags WHERE ref = ?').get(fullString(withDefaultTag(ref))) as
          { image_id: string } | undefined;
        if (r) return this.tryGet(r.image_id);
      }
    }
    const prefix = s.replace(/^sha256:/, '');
    if (/^[a-f0-9]{1,63}$/.test(prefix)) {
      const rows = this.db.prepare("SELECT * FROM images WHERE id LIKE ? || '%'").all(`sha256:${prefix}`) as ImageRow[];
      if (rows.length === 1) return rowToRecord(rows[0]);
      if (rows.length > 1) throw new ConflictError(`multiple IDs found with provided prefix: ${prefix}`);
    }
    return undefined;
  }

  /** Points `name` (default tag latest) at `id`, moving the tag if it pointed elsewhere. */
  tag(id: string, name: string): Reference {
    this.get(id);
    const ref = withDefaultTag(parseReference(name));
    if (ref.digest && !ref.tag) throw new InvalidParameterError('refusing to create a tag with a digest reference');
    this.db.prepare('INSERT INTO image_tags(ref, image_id, added) VALUES (?, ?, ?) ON CONFLICT(ref) DO UPDATE SET image_id = excluded.image_id, added = excluded.added')
      .run(fullString({ domain: ref.domain, path: ref.path, tag: ref.tag }), id, Date.now());
    return ref;
  }

  /** Removes a tag; returns the image it pointed at, or undefined. */
  untag(name: string): string | undefined {
    const ref = withDefaultTag(parseReference(name));
    if (ref.digest) {
      const r = this.db.prepare('SELECT image_id FROM image_digests WHERE repo = ? AND digest = ?').get(repositoryName(ref), ref.digest) as
        { image_id: string } | undefined;
      if (!r) return undefined;
      this.db.prepare('DELETE FROM image_digests WHERE repo = ? AND digest = ?').run(repositoryName(ref), ref.digest);
      return r.image_id;
    }
    const key = fullString(ref);
    const r = this.db.prepare('SELECT image_id FROM image_tags WHERE ref = ?').get(key) as { image_id: string } | undefined;
    if (!r) return undefined;
    this.db.prepare('DELETE FROM image_tags WHERE ref = ?').run(key);
    return r.image_id;
  }

  addDigest(id: string, repo: Reference, digest: string): void {
    this.db.prepare('INSERT OR REPLACE INTO image_digests(repo, digest, image_id) VALUES (?, ?, ?)').run(repositoryName(repo), digest, id);
  }

  /** Familiar tags, e.g. ["busybox:latest"]. */
  repoTags(id: string): string[] {
    const rows = this.db.prepare('SELECT ref FROM image_tags WHERE image_id = ? ORDER BY added').all(id) as { ref: string }[];
    return rows.map((r) => familiarString(parseReference(r.ref)));
  }

  /** Familiar repo@digest strings. */
  repoDigests(id: string): string[] {
    const rows = this.db.prepare('SELECT repo, digest FROM image_digests WHERE image_id = ?').all(id) as { repo: string; digest: string }[];
    return rows.map((r) => `${familiarRepository(parseReference(r.repo))}@${r.digest}`);
  }

  /** Every name of an image as parsed references: tags and repo@digest entries. */
  references(id: string): { tags: Reference[]; digests: Reference[] } {
    const tags = (this.db.prepare('SELECT ref FROM image_tags WHERE image_id = ? ORDER BY added').all(id) as { ref: string }[])
      .map((r) => parseReference(r.ref));
    const digests = (this.db.prepare('SELECT repo, digest FROM image_digests WHERE image_id = ?').all(id) as { repo: string; digest: string }[])
      .map((r) => ({ ...parseReference(r.repo), digest: r.digest }));
    return { tags, digests };
  }

  /** When the image was last tagged (ms since the epoch), for inspect's Metadata.LastTagTime. */
  lastTagTime(id: string): number | undefined {
    const r = this.db.prepare('SELECT MAX(added) AS t FROM image_tags WHERE image_id = ?').get(id) as { t: number | null } | undefined;
    return r?.t ?? undefined;
  }

  /** Removes the image record and its config; layers are pruned separately. */
  async remove(id: string): Promise<void> {
    this.db.prepare('DELETE FROM images WHERE id = ?').run(id);
    this.configs.delete(id);
    await this.content.delete(id);
  }

  /** Top chain IDs of every image, for layer pruning. */
  referencedChains(): Set<string> {
    const rows = this.db.prepare('SELECT top_chain_id FROM images WHERE top_chain_id IS NOT NULL').all() as { top_chain_id: string }[];
    return new Set(rows.map((r) => r.top_chain_id));
  }

  children(id: string): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images WHERE parent = ?').all(id) as ImageRow[]).map(rowToRecord);
  }
}

/** The name moby puts in "No such image": a name gets its default tag, IDs and digests stay. */
function notFoundName(nameOrId: string): string {
  if (/^(sha256:)?[0-9a-f]{64}$/.test(nameOrId)) return nameOrId;
  try {
    return familiarString(withDefaultTag(parseReference(nameOrId)));
  } catch {
    return nameOrId;
  }
}
