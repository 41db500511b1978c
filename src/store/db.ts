import Database from 'better-sqlite3';

export type Db = Database.Database;

/**
 * Opens berth.db. WAL keeps readers (API requests) from blocking the writer; synchronous=NORMAL
 * is crash-safe in WAL mode (a crash may lose the last commit, never corrupt the file).
 */
export function openDatabase(file: string): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  memoizeStatements(db);
  return db;
}

/**
 * Makes `db.prepare(sql)` compile each SQL text once: the parts say `db.prepare(...)` where they
 * use it, and compiling is most of the cost of a one-row query (~0.1 ms each, several per API
 * request). No part changes a statement's modes (pluck, raw, expand), so sharing one is safe.
 */
function memoizeStatements(db: Db): void {
  const compile = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    let s = cache.get(sql);
    if (!s) {
      // SQL built at run time would grow this without end; such texts are few, but bound it.
      if (cache.size >= 1000) cache.clear();
      s = compile(sql);
      cache.set(sql, s);
    }
    return s;
  }) as Db['prepare'];
}

/**
 * Each part of berth owns its tables and creates them here; `name` keys a schema version row
 * so that later changes can be applied once.
 */
export function ensureSchema(db: Db, name: string, version: number, sql: string): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_versions WHERE name = ?').get(name) as { version: number } | undefined;
  if (row && row.version >= version) return;
  db.transaction(() => {
    db.exec(sql);
    db.prepare('INSERT INTO schema_versions(name, version) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version')
      .run(name, version);
  })();
}
