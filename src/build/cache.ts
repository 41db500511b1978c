// The build cache: a step's key is the hash of its parent image, its instruction (as expanded),
// the build args it uses and the content of what it copies. Each entry keeps those parts too,
// so a miss can be explained ("file /app/x changed", "build arg V changed").
import { createHash } from 'node:crypto';
import { Db, ensureSchema } from '../store/db.js';

export interface CacheParts {
  parent: string;
  /** The instruction as expanded (what history's created_by records). */
  instruction: string;
  /** Build args the step uses, name → value. */
  args: Record<string, string>;
  /** Content digest of copied files ("" for steps that copy nothing). */
  content: string;
  /** Per-file digests, for explaining misses (not part of the key beyond `content`). */
  files?: Record<string, string>;
}

export interface CacheEntry extends CacheParts {
  key: string;
  imageId: string;
  created: number;
  lastUsed: number;
}

export function cacheKey(p: CacheParts): string {
  const args = Object.keys(p.args).sort().map((k) => `${k}=${p.args[k]}`).join('\n');
  const h = createHash('sha256');
  h.update(`berth-build-cache/v1\nparent ${p.parent}\ninstruction ${p.instruction}\nargs ${args}\ncontent ${p.content}\n`);
  return `sha256:${h.digest('hex')}`;
}

/** Where the cache lives: the daemon's SQLite, or a Map in tests. */
export interface BuildCacheStore {
  get(key: string): CacheEntry | undefined;
  put(entry: Omit<CacheEntry, 'created' | 'lastUsed'>): void;
  touch(key: string): void;
  /** Earlier entries for the same parent (to explain a miss). */
  byParent(parent: string): CacheEntry[];
  /** Entries pointing at an image, e.g. when it is deleted. */
  removeImage(imageId: string): void;
  list(): CacheEntry[];
  /** Drops these entries (`builder prune`); returns how many there were. */
  remove(keys: string[]): number;
}

/** Why a step missed the cache, said the way a user thinks about it. */
export function explainMiss(p: CacheParts, previous: CacheEntry[]): string {
  if (previous.length === 0) return 'no earlier build of this step on this parent';
  const sameInst = previous.filter((e) => e.instruction === p.instruction);
  if (sameInst.length === 0) return 'the instruction changed (or is new)';
  const e = sameInst.sort((a, b) => b.lastUsed - a.lastUsed)[0];
  const reasons: string[] = [];
  for (const k of new Set([...Object.keys(p.args), ...Object.keys(e.args)])) {
    if (p.args[k] !== e.args[k]) reasons.push(`build arg ${k} changed`);
  }
  if (p.content !== e.content) {
    const now = p.files ?? {};
    const before = e.files ?? {};
    const changed = [...new Set([...Object.keys(now), ...Object.keys(before)])].filter((f) => now[f] !== before[f]).sort();
    if (changed.length) {
      const shown = changed.slice(0, 5).map((f) => (before[f] === undefined ? `${f} added` : now[f] === undefined ? `${f} removed` : `${f} changed`));
      reasons.push(shown.join(', ') + (changed.length > 5 ? `, and ${changed.length - 5} more` : ''));
    } else reasons.push('copied files changed (mode or owner)');
  }
  return reasons.length ? reasons.join('; ') : 'cached image is gone';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS build_cache (
  key TEXT PRIMARY KEY,
  image_id TEXT NOT NULL,
  parent TEXT NOT NULL,
  instruction TEXT NOT NULL,
  args TEXT NOT NULL,
  content TEXT NOT NULL,
  files TEXT,
  created INTEGER NOT NULL,
  last_used INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS build_cache_by_parent ON build_cache(parent);
CREATE INDEX IF NOT EXISTS build_cache_by_image ON build_cache(image_id);
`;

type Row = { key: string; image_id: string; parent: string; instruction: string; args: string; content: string; files: string | null; created: number; last_used: number };

function fromRow(r: Row): CacheEntry {
  return {
    key: r.key, imageId: r.image_id, parent: r.parent, instruction: r.instruction, args: JSON.parse(r.args) as Record<string, string>,
    content: r.content, files: r.files ? (JSON.parse(r.files) as Record<string, string>) : undefined, created: r.created, lastUsed: r.last_used,
  };
}

/** Per-file digests are only kept for explaining; a huge COPY keeps none. */
const MAX_FILES_KEPT = 2000;

export class SqliteBuildCache implements BuildCacheStore {
  constructor(private readonly db: Db) {
    ensureSchema(db, 'build_cache', 1, SCHEMA);
  }

  get(key: string): CacheEntry | undefined {
    const r = this.db.prepare('SELECT * FROM build_cache WHERE key = ?').get(key) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  put(e: Omit<CacheEntry, 'created' | 'lastUsed'>): void {
    const now = Date.now();
    const files = e.files && Object.keys(e.files).length <= MAX_FILES_KEPT ? JSON.stringify(e.files) : null;
    this.db.prepare(`INSERT INTO build_cache(key, image_id, parent, instruction, args, content, files, created, last_used)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT(key) DO UPDATE SET image_id = excluded.image_id, last_used = excluded.last_used, files = excluded.files`)
      .run(e.key, e.imageId, e.parent, e.instruction, JSON.stringify(e.args), e.content, files, now, now);
  }

  touch(key: string): void {
    this.db.prepare('UPDATE build_cache SET last_used = ? WHERE key = ?').run(Date.now(), key);
  }

  byParent(parent: string): CacheEntry[] {
    return (this.db.prepare('SELECT * FROM build_cache WHERE parent = ? ORDER BY last_used DESC LIMIT 50').all(parent) as Row[]).map(fromRow);
  }

  removeImage(imageId: string): void {
    this.db.prepare('DELETE FROM build_cache WHERE image_id = ? OR parent = ?').run(imageId, imageId);
  }

  list(): CacheEntry[] {
    return (this.db.prepare('SELECT * FROM build_cache ORDER BY last_used DESC').all() as Row[]).map(fromRow);
  }

  remove(keys: string[]): number {
    const del = this.db.prepare('DELETE FROM build_cache WHERE key = ?');
    let n = 0;
    for (const k of keys) n += del.run(k).changes;
    return n;
  }
}

export class MemoryBuildCache implements BuildCacheStore {
  private readonly m = new Map<string, CacheEntry>();
  get(key: string): CacheEntry | undefined { return this.m.get(key); }
  put(e: Omit<CacheEntry, 'created' | 'lastUsed'>): void {
    const now = Date.now();
    this.m.set(e.key, { ...e, created: this.m.get(e.key)?.created ?? now, lastUsed: now });
  }
  touch(key: string): void { const e = this.m.get(key); if (e) e.lastUsed = Date.now(); }
  byParent(parent: string): CacheEntry[] { return [...this.m.values()].filter((e) => e.parent === parent); }
  removeImage(imageId: string): void {
    for (const [k, e] of this.m) if (e.imageId === imageId || e.parent === imageId) this.m.delete(k);
  }
  list(): CacheEntry[] { return [...this.m.values()]; }
  remove(keys: string[]): number { let n = 0; for (const k of keys) if (this.m.delete(k)) n++; return n; }
}
