// Security regression: `berth cp CONTAINER:path local` extracts a tar that the daemon (or whatever
// answers on the socket) sends. A hostile archive with "../" members, absolute names, or a symlink
// followed by a file "through" it must not write outside the destination directory.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, PassThrough } from 'node:stream';

import tarStream from 'tar-stream';

import { main } from '../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cp-escape-'));
const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function hostileTar(outside: string): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  pack.entry({ name: 'payload', type: 'directory', mode: 0o755 });
  pack.entry({ name: 'payload/ok.txt', mode: 0o644 }, 'fine\n');
  pack.entry({ name: 'payload/../../dotdot.txt', mode: 0o644 }, 'escaped\n');
  pack.entry({ name: `${outside}/absolute.txt`, mode: 0o644 }, 'escaped\n');
  pack.entry({ name: 'payload/link', type: 'symlink', linkname: outside });
  pack.entry({ name: 'payload/link/through-symlink.txt', mode: 0o644 }, 'escaped\n');
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

class Sink extends Writable {
  text = '';
  override _write(c: Buffer, _e: string, cb: () => void): void {
    this.text += c.toString();
    cb();
  }
}

test('cp from a container refuses ../, absolute and symlink-traversing members', async () => {
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  const dest = join(dir, 'dest', 'inner');
  mkdirSync(dest, { recursive: true });
  const tar = await hostileTar(outside);
  const socket = join(dir, 'd.sock');
  const server = http.createServer((req, res) => {
    res.setHeader('Api-Version', '1.51');
    if (req.url?.includes('/archive')) {
      const stat = Buffer.from(JSON.stringify({ name: 'payload', size: 4096, mode: 2 ** 31 + 0o755, mtime: '2026-01-01T00:00:00Z', linkTarget: '' })).toString('base64');
      res.setHeader('X-Docker-Container-Path-Stat', stat);
      res.setHeader('Content-Type', 'application/x-tar');
      return res.end(tar);
    }
    res.end();
  });
  await new Promise<void>((r) => server.listen(socket, r));
  servers.push(server);
  const stderr = new Sink();
  await main(['-H', `unix://${socket}`, 'cp', 'c1:/payload', dest], { stdin: new PassThrough(), stdout: new Sink(), stderr, env: {} });
  // whatever tar reported, nothing may exist outside dest
  assert.deepEqual(readdirSync(outside), [], `outside dir stays empty: ${stderr.text}`);
  assert.ok(!existsSync(join(dir, 'dotdot.txt')));
  assert.ok(!existsSync(join(dir, 'dest', 'dotdot.txt')));
  assert.ok(existsSync(join(dest, 'payload', 'ok.txt')), 'the well-formed member is extracted');
});
