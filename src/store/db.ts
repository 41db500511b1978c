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
  return db;
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
