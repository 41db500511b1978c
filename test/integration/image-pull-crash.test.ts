// Killing berthd in the middle of a pull leaves a consistent store: no image, tag or layer
// appears; after a restart the same pull resumes the partial blob with Range and succeeds; and
// `image prune -a` then brings the data root back to empty (no orphan layer dirs or blobs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, docker, TestDaemon, DOCKER } from '../helpers/daemon.js';
import { tarOf } from './registry-client-fixture.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
let d: TestDaemon;
let server: http.Server;
let host = '';
let slow = true;
const ranges: string[] = [];
let layerDigest = '';

before(async () => {
  const layerTar = await tarOf({ 'big.bin': randomBytes(6 << 20) });
  const gz = gzipSync(layerTar, { level: 1 });
  layerDigest = sha(gz);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [sha(layerTar)] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha(config) },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: gz.length, digest: layerDigest }],
  }));
  const blobs = new Map([[sha(config), config], [layerDigest, gz]]);
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/v2/') { res.writeHead(200); res.end('{}'); return; }
    if (url.pathname === '/v2/crash/img/manifests/1') {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.distribution.manifest.v2+json' });
      res.end(manifest);
      return;
    }
    const m = /^\/v2\/crash\/img\/blobs\/(.+)$/.exec(url.pathname);
    const body = m ? blobs.get(m[1]) : undefined;
    if (!body) { res.writeHead(404); res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}'); return; }
    let start = 0;
    if (req.headers.range) {
      ranges.push(req.headers.range);
      start = Number(/bytes=(\d+)-/.exec(req.headers.range)?.[1] ?? 0);
      res.writeHead(206, { 'Content-Length': String(body.length - start), 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else res.writeHead(200, { 'Content-Length': String(body.length) });
    if (!slow || body === config) { res.end(body.subarray(start)); return; }
    let off = start;
    const tick = setInterval(() => {
      if (res.destroyed || off >= body.length) { clearInterval(tick); res.end(); return; }
      res.write(body.subarray(off, off + (64 << 10)));
      off += 64 << 10;
    }, 25);
    res.on('close', () => clearInterval(tick));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  host = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  d = await startDaemon({ defaultImage: false });
});

after(async () => {
  await d?.stop();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
});

function dockerAsync(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(DOCKER, args, { env: d.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
    c.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

test('SIGKILL mid-pull, restart, pull resumes; prune -a empties the store', async () => {
  const name = `${host}/crash/img:1`;
  const partial = join(d.dataRoot, 'blobs', 'partial', layerDigest.slice(7));
  const child = spawn(DOCKER, ['pull', name], { env: d.env, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 20_000;
  while (!(existsSync(partial) && statSync(partial).size > (1 << 20))) {
    assert.ok(Date.now() < deadline, 'the pull never started downloading');
    await new Promise((r) => setTimeout(r, 50));
  }
  await d.restart({ kill: true });
  await exited;

  const list = await d.request('GET', '/images/json');
  assert.deepEqual(JSON.parse(list.body), []);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'layers')).filter((x) => x !== 'tmp'), []);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'layers', 'tmp')), []);

  slow = false;
  // Not spawnSync: the registry lives in this process and must keep answering.
  const r = await dockerAsync(['pull', name]);
  assert.equal(r.code, 0, r.stderr + d.logs().slice(-2000));
  assert.equal(ranges.length, 1, `resumed with Range: ${ranges.join(',')}`);
  assert.match(ranges[0], /^bytes=\d+-$/);
  const inspect = JSON.parse((await d.request('GET', `/images/${name}/json`)).body) as { RootFS: { Layers: string[] } };
  assert.equal(inspect.RootFS.Layers.length, 1);

  assert.equal(docker(d, ['rmi', name]).code, 0);
  const pr = docker(d, ['image', 'prune', '-af']);
  assert.equal(pr.code, 0, pr.stderr);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'layers')).filter((x) => x !== 'tmp'), []);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'blobs', 'sha256')), []);
  assert.deepEqual(readdirSync(join(d.dataRoot, 'blobs', 'partial')), []);
});
