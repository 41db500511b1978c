// Bookkeeping for blobs that come from and go to registries: where a blob is known to live
// (for cross-repository mounts on push), and which downloaded blobs are not yet part of a layer
// (kept so an interrupted pull can resume, removed by prune when nothing claims them).
import { Db, ensureSchema } from '../store/db.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blob_sources (
  digest TEXT NOT NULL,
  registry TEXT NOT NULL,
  repo TEXT NOT NULL,
  PRIMARY KEY (digest, registry, repo)
);
CREATE TABLE IF NOT EXISTS pending_blobs (
  digest TEXT PRIMARY KEY,
  added INTEGER NOT NULL
);
`;

export class BlobRecords {
  constructor(private readonly db: Db) {
    ensureSchema(db, 'image_distribution', 1, SCHEMA);
  }

  addSource(digest: string, registry: string, repo: string): void {
    this.db.prepare('INSERT OR IGNORE INTO blob_sources(digest, registry, repo) VALUES (?, ?, ?)').run(digest, registry, repo);
  }

  /** Repositories on `registry` known to hold `digest`. */
  sources(digest: string, registry: string): string[] {
    return (this.db.prepare('SELECT repo FROM blob_sources WHERE digest = ? AND registry = ?').all(digest, registry) as { repo: string }[])
      .map((r) => r.repo);
  }

  addPending(digest: string): void {
    this.db.prepare('INSERT OR IGNORE INTO pending_blobs(digest, added) VALUES (?, ?)').run(digest, Date.now());
  }

  removePending(digest: string): void {
    this.db.prepare('DELETE FROM pending_blobs WHERE digest = ?').run(digest);
  }

  pending(): string[] {
    return (this.db.prepare('SELECT digest FROM pending_blobs').all() as { digest: string }[]).map((r) => r.digest);
  }
}
