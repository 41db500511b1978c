// Test fixtures: Debian's docker-registry on a loopback port with its own temp config and
// storage (optionally htpasswd basic auth), and an image service over temp stores.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { openDatabase } from '../../src/store/db.js';
import { ContentStore } from '../../src/store/content.js';
import { LayerStore } from '../../src/image/layers.js';
import { ImageStore } from '../../src/image/store.js';
import { EventBus } from '../../src/daemon/events.js';
import { ImageService, ImageDaemon } from '../../src/image/service.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

export interface Registry {
  host: string;
  dir: string;
  stop(): Promise<void>;
}

async function waitUp(port: number, proc: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited: ${logs()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/v2/' }, (res) => { res.resume(); resolve(true); });
      req.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not start: ${logs()}`);
}

/** Starts docker-registry on 127.0.0.1:<free port>; `auth` adds htpasswd (bcrypt) basic auth. */
export async function startDockerRegistry(auth?: { user: string; password: string }): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-docker-registry-'));
  const port = await freePort();
  let authBlock = '';
  if (auth) {
    const r = spawnSync('htpasswd', ['-Bbn', auth.user, auth.password]);
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    writeFileSync(join(dir, 'htpasswd'), r.stdout);
    authBlock = `auth:\n  htpasswd:\n    realm: basic-realm\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  writeFileSync(join(dir, 'config.yml'), `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${authBlock}`);
  let out = '';
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    await waitUp(port, proc, () => out);
  } catch (e) {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    host: `127.0.0.1:${port}`,
    dir,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

export type TarEntry = { name: string; body?: Buffer | string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string };

/** A tar with links and directories too (archive and escape tests). */
export async function tarEntries(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink' || e.type === 'link') pack.entry({ name: e.name, type: e.type, linkname: e.linkname });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name, mode: 0o644 }, e.body ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

export interface Engine {
  d: ImageDaemon;
  svc: ImageService;
  root: string;
  close(): void;
}

/** An image service over fresh temp stores (no daemon): enough for pull/push/save/load. */
export function makeEngine(): Engine {
  const root = mkdtempSync(join(tmpdir(), 'berth-img-engine-'));
  const db = openDatabase(join(root, 'berth.db'));
  const content = new ContentStore(root);
  const layers = new LayerStore(db, content, root);
  const images = new ImageStore(db, content, layers);
  const d: ImageDaemon = {
    config: { dataRoot: root }, db, content, layers, images, events: new EventBus(), log: () => {},
    containers: { usersOfImage: () => [] },
  };
  return { d, svc: new ImageService(d), root, close() { db.close(); rmSync(root, { recursive: true, force: true }); } };
}

export async function importInto(e: Engine, files: Record<string, string | Buffer>, repo: string): Promise<string> {
  return e.svc.importTarball(Readable.from([await tarOf(files)]), { repo, changes: ['CMD ["sh"]'] }, () => {});
}
