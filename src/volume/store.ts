// The volume store and its local driver: metadata in SQLite, data under
// <data-root>/volumes/<name>/_data. A volume created with `type/device/o` options (Docker's local
// driver: tmpfs, bind, nfs, ...) gets that filesystem mounted on _data while containers use it.
import { execFile } from 'node:child_process';
import { mkdirSync, promises as fsp, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Db, ensureSchema } from '../store/db.js';
import { ConflictError, InvalidParameterError, NotFoundError, SystemError } from '../errors.js';
import { newId } from '../util/ids.js';
import { dirSize } from '../util/dirsize.js';
import { validateVolumeName } from './spec.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS volumes (
  name TEXT PRIMARY KEY,
  driver TEXT NOT NULL,
  labels TEXT,
  options TEXT,
  created TEXT NOT NULL
);
`;

/** Docker's label on volumes that it named itself (image VOLUME, `-v /path`). */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string> | null;
  options: Record<string, string> | null;
  /** RFC 3339, seconds, UTC (as Docker prints it). */
  createdAt: string;
}

export interface CreateVolumeInput {
  name?: string;
  driver?: string;
  labels?: Record<string, string> | null;
  options?: Record<string, string> | null;
}

const LOCAL_OPTIONS = new Set(['type', 'device', 'o', 'size']);

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _out, stderr) => (err ? reject(new Error((stderr || err.message).trim())) : resolve()));
  });
}

function isMounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

export class VolumeStore {
  private readonly root: string;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly db: Db, dataRoot: string) {
    ensureSchema(db, 'volumes', 1, SCHEMA);
    this.root = join(dataRoot, 'volumes');
    mkdirSync(this.root, { recursive: true, mode: 0o701 });
  }

  /**
   * Runs fn alone for this volume: two containers starting at once must not mount a driver
   * filesystem twice or copy up into the same empty volume together.
   */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(name, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(name) === next) this.locks.delete(name);
    }
  }

  dir(name: string): string { return join(this.root, name); }
  dataDir(name: string): string { return join(this.root, name, '_data'); }

  private fromRow(r: { name: string; driver: string; labels: string | null; options: string | null; created: string }): VolumeRecord {
    return { name: r.name, driver: r.driver, labels: r.labels ? JSON.parse(r.labels) as Record<string, string> : null, options: r.options ? JSON.parse(r.options) as Record<string, string> : null, createdAt: r.created };
  }

  tryGet(name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as Parameters<VolumeStore['fromRow']>[0] | undefined;
    return row ? this.fromRow(row) : undefined;
  }

  get(name: string): VolumeRecord {
    const v = this.tryGet(name);
    if (!v) throw new NotFoundError(`get ${name}: no such volume`);
    return v;
  }

  list(): VolumeRecord[] {
    return (this.db.prepare('SELECT * FROM volumes ORDER BY name').all() as Parameters<VolumeStore['fromRow']>[0][]).map((r) => this.fromRow(r));
  }

  /** Validates without side effects: what create would refuse. */
  check(input: CreateVolumeInput): void {
    const name = input.name ?? '';
    if (name !== '') validateVolumeName(name);
    const driver = input.driver || 'local';
    if (driver !== 'local') throw new NotFoundError(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    const opts = input.options ?? {};
    for (const [k, v] of Object.entries(opts)) {
      if (!LOCAL_OPTIONS.has(k)) throw new InvalidParameterError(`create ${name}: invalid option: "${k}"`);
      if (typeof v !== 'string') throw new InvalidParameterError(`create ${name}: option "${k}" must be a string`);
    }
    if (Object.keys(opts).length) {
      if (opts.size !== undefined && !opts.type) throw new InvalidParameterError(`create ${name}: quota size requested but no quota support`);
      if (opts.type && !opts.device) throw new InvalidParameterError(`create ${name}: missing required option: "device"`);
      if (opts.device && !opts.type) throw new InvalidParameterError(`create ${name}: missing required option: "type"`);
      if (opts.type && /[,\s]/.test(opts.type)) throw new InvalidParameterError(`create ${name}: invalid option type: "${opts.type}"`);
      if (opts.type === 'none' && opts.o && /(^|,)bind(,|$)/.test(opts.o) && !opts.device.startsWith('/')) {
        throw new InvalidParameterError(`create ${name}: bind device must be an absolute path: "${opts.device}"`);
      }
    }
    for (const [k, v] of Object.entries(input.labels ?? {})) if (typeof v !== 'string') throw new InvalidParameterError(`create ${name}: label "${k}" must be a string`);
  }

  /** Creates a volume, or returns the existing one of that name (Docker's create is idempotent). */
  create(input: CreateVolumeInput): { volume: VolumeRecord; created: boolean } {
    this.check(input);
    const name = input.name || newId();
    const existing = this.tryGet(name);
    if (existing) {
      if (input.driver && input.driver !== existing.driver) throw new ConflictError(`create ${name}: a volume with the name ${name} already exists with driver "${existing.driver}"`);
      return { volume: existing, created: false };
    }
    const labels = input.labels && Object.keys(input.labels).length ? input.labels : null;
    const options = input.options && Object.keys(input.options).length ? input.options : null;
    const v: VolumeRecord = { name, driver: 'local', labels, options, createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    mkdirSync(this.dir(name), { recursive: true, mode: 0o701 });
    mkdirSync(this.dataDir(name), { recursive: true, mode: 0o755 });
    try {
      this.db.prepare('INSERT INTO volumes(name, driver, labels, options, created) VALUES (?, ?, ?, ?, ?)')
        .run(name, v.driver, labels ? JSON.stringify(labels) : null, options ? JSON.stringify(options) : null, v.createdAt);
    } catch (e) {
      rmSync(this.dir(name), { recursive: true, force: true });
      throw e;
    }
    return { volume: v, created: true };
  }

  /** Deletes metadata and data. Callers check that no container uses it. */
  async remove(name: string): Promise<void> {
    const v = this.get(name);
    await this.unmountDriver(v).catch(() => undefined);
    if (isMounted(this.dataDir(name))) throw new ConflictError(`remove ${name}: volume is still mounted at ${this.dataDir(name)}`);
    // The row goes first: a crash between the two leaves an orphan directory, never a row without data.
    this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name);
    await fsp.rm(this.dir(name), { recursive: true, force: true });
  }

  /** True when the volume's filesystem comes from its options (mounted on _data while in use). */
  hasDriverMount(v: VolumeRecord): boolean {
    return !!v.options?.type;
  }

  async mountDriver(v: VolumeRecord): Promise<void> {
    if (!this.hasDriverMount(v)) return;
    const target = this.dataDir(v.name);
    if (isMounted(target)) return;
    const o = v.options as Record<string, string>;
    mkdirSync(target, { recursive: true });
    const args = ['-t', o.type, ...(o.o ? ['-o', o.o] : []), o.device, target];
    try {
      await run('mount', args);
    } catch (e) {
      throw new SystemError(`error while mounting volume '${target}': failed to mount local volume: mount ${o.device}:${target}, flags: ${o.o ?? ''}: ${(e as Error).message}`);
    }
  }

  async unmountDriver(v: VolumeRecord): Promise<void> {
    const target = this.dataDir(v.name);
    if (!this.hasDriverMount(v) || !isMounted(target)) return;
    try { await run('umount', [target]); } catch { await run('umount', ['-l', target]); }
  }

  isEmpty(name: string): boolean {
    try { return readdirSync(this.dataDir(name)).length === 0; } catch { return true; }
  }

  /** Bytes used by a volume's files (each inode counted once), as `system df -v` shows. */
  size(name: string): Promise<number> {
    return dirSize(this.dataDir(name));
  }
}
