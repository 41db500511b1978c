// The registry client and pull against tiny in-test registries: bearer token flow, a tampered
// blob (nothing may stay behind), a connection cut mid-blob (resumed with Range), malformed
// manifests, X-Registry-Auth and challenge parsing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { openDatabase } from '../../src/store/db.js';
import { ContentStore } from '../../src/store/content.js';
import { LayerStore } from '../../src/image/layers.js';
import { ImageStore } from '../../src/image/store.js';
import { EventBus } from '../../src/daemon/events.js';
import { ImageService, ImageDaemon } from '../../src/image/service.js';
import { parseReference } from '../../src/image/reference.js';
import { MediaType } from '../../src/image/types.js';
import { JsonMessage } from '../../src/image/progress.js';
import { parseChallenges, decodeRegistryAuth, credentialsFromAuthConfig, credentialsFromDockerConfig } from '../../src/registry/client/auth.js';
import { isInsecureRegistry } from '../../src/registry/client/client.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function tarOf(files: Record<string, Buffer | string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

interface FakeImage { manifest: Buffer; manifestDigest: string; blobs: Map<string, Buffer>; layerDigests: string[] }

async function fakeImage(layerFiles: Record<string, Buffer | string>[], compression: 'gzip' | 'zstd' = 'gzip'): Promise<FakeImage> {
  const blobs = new Map<string, Buffer>();
  const diffIds: string[] = [];
  const layers = [];
  for (const files of layerFiles) {
    const t = await tarOf(files);
    const gz = compression === 'gzip' ? gzipSync(t) : spawnSync('zstd', ['-c', '-q'], { input: t, maxBuffer: 64 << 20 }).stdout;
    diffIds.push(sha(t));
    blobs.set(sha(gz), gz);
    layers.push({ mediaType: compression === 'gzip' ? MediaType.DockerLayerGzip : MediaType.OciLayerZstd, size: gz.length, digest: sha(gz) });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: diffIds } }));
  blobs.set(sha(config), config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.DockerManifest,
    config: { mediaType: MediaType.DockerConfig, size: config.length, digest: sha(config) }, layers,
  }));
  return { manifest, manifestDigest: sha(manifest), blobs, layerDigests: layers.map((l) => l.digest) };
}

interface FakeRegistry {
  host: string;
  rangeRequests: string[];
  tokenRequests: string[];
  close(): Promise<void>;
}

/**
 * A registry for `repo` with bearer auth (user bob / pw). `tamper` serves wrong bytes for a
 * blob; `cutOnce` drops the connection halfway through a blob the first time.
 */
async function fakeRegistry(img: FakeImage, opts: { tamper?: string; cutOnce?: string; manifestOverride?: Buffer } = {}): Promise<FakeRegistry> {
  const rangeRequests: string[] = [];
  const tokenRequests: string[] = [];
  let cut = false;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const host = req.headers.host;
    if (url.pathname === '/token') {
      tokenRequests.push(url.search);
      if (req.headers.authorization !== `Basic ${Buffer.from('bob:pw').toString('base64')}`) { res.writeHead(401); res.end(); return; }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token: 'tok-123', expires_in: 300 }));
      return;
    }
    if (req.headers.authorization !== 'Bearer tok-123') {
      res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${host}/token",service="fake",scope="repository:app:pull"`, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
      return;
    }
    if (url.pathname === '/v2/') { res.writeHead(200); res.end('{}'); return; }
    let m = /^\/v2\/app\/manifests\/(.+)$/.exec(url.pathname);
    if (m) {
      if (m[1] === 'latest' || m[1] === img.manifestDigest) {
        const body = opts.manifestOverride ?? img.manifest;
        res.writeHead(200, { 'Content-Type': MediaType.DockerManifest, 'Docker-Content-Digest': sha(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
      return;
    }
    m = /^\/v2\/app\/blobs\/(.+)$/.exec(url.pathname);
    if (m && img.blobs.has(m[1])) {
      let body = img.blobs.get(m[1]) as Buffer;
      if (opts.tamper === m[1]) { body = Buffer.from(body); body[body.length - 5] ^= 0xff; }
      let start = 0;
      const range = req.headers.range;
      if (range) {
        rangeRequests.push(range);
        start = Number(/bytes=(\d+)-/.exec(range)?.[1] ?? 0);
        res.writeHead(206, { 'Content-Length': String(body.length - start), 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
      } else {
        res.writeHead(200, { 'Content-Length': String(body.length) });
      }
      if (opts.cutOnce === m[1] && !cut) {
        cut = true;
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      }
      res.end(body.subarray(start));
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`, rangeRequests, tokenRequests,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

function engine() {
  const root = mkdtempSync(join(tmpdir(), 'berth-fake-reg-'));
  const db = openDatabase(join(root, 'berth.db'));
  const content = new ContentStore(root);
  const layers = new LayerStore(db, content, root);
  const images = new ImageStore(db, content, layers);
  const d: ImageDaemon = {
    config: { dataRoot: root }, db, content, layers, images, events: new EventBus(), log: () => {},
    containers: { usersOfImage: () => [] },
  };
  after(() => { db.close(); rmSync(root, { recursive: true, force: true }); });
  return { d, svc: new ImageService(d), root };
}

const creds = { username: 'bob', password: 'pw' };

/** Docker never answers a pull with 401 (the CLI would prompt for a login): 500 or 404 with the registry's words. */
function pullAuthError(e: Error & { kind?: string }): boolean {
  assert.ok(e.kind === 'System' || e.kind === 'NotFound', `${e.kind}: ${e.message}`);
  assert.match(e.message, /unauthorized|no basic auth credentials|denied|authentication required/);
  return true;
}

test('bearer token flow: pull with credentials; without, unauthorized', async (t) => {
  const img = await fakeImage([{ a: 'one' }, { b: 'two' }]);
  const reg = await fakeRegistry(img);
  t.after(() => reg.close());
  const { svc, d } = engine();
  await assert.rejects(svc.pull({ ref: parseReference(`${reg.host}/app:latest`) }, () => {}), pullAuthError);
  const msgs: JsonMessage[] = [];
  await svc.pull({ ref: parseReference(`${reg.host}/app:latest`), credentials: creds }, (m) => msgs.push(m));
  assert.equal(d.images.list().length, 1);
  assert.ok(reg.tokenRequests.some((q) => q.includes('scope=repository%3Aapp%3Apull') && q.includes('service=fake')), reg.tokenRequests.join(' '));
  assert.deepEqual((await svc.inspect(`${reg.host}/app`)).RepoDigests, [`${reg.host}/app@${img.manifestDigest}`]);
});

test('a tampered blob fails the pull with a digest error and leaves no blob, layer, image or tag', async (t) => {
  const img = await fakeImage([{ a: 'first layer' }, { b: randomBytes(10000) }, { c: 'third' }]);
  const reg = await fakeRegistry(img, { tamper: img.layerDigests[1] });
  t.after(() => reg.close());
  const { svc, d, root } = engine();
  await assert.rejects(svc.pull({ ref: parseReference(`${reg.host}/app:latest`), credentials: creds }, () => {}),
    new RegExp(`verification failed for digest ${img.layerDigests[1]}`));
  assert.equal(d.images.list().length, 0);
  assert.equal(d.layers.list().length, 0);
  assert.deepEqual(readdirSync(join(root, 'layers')).filter((x) => x !== 'tmp'), []);
  assert.deepEqual(readdirSync(join(root, 'blobs', 'sha256')), []);
  assert.deepEqual(readdirSync(join(root, 'blobs', 'partial')), []);
  assert.equal(d.images.tryResolve(`${reg.host}/app:latest`), undefined);
});

test('a connection cut mid-blob is resumed with a Range request', async (t) => {
  const img = await fakeImage([{ big: randomBytes(1 << 20) }]);
  const reg = await fakeRegistry(img, { cutOnce: img.layerDigests[0] });
  t.after(() => reg.close());
  const { svc, d } = engine();
  const msgs: JsonMessage[] = [];
  await svc.pull({ ref: parseReference(`${reg.host}/app:latest`), credentials: creds }, (m) => msgs.push(m));
  assert.equal(d.images.list().length, 1);
  assert.equal(reg.rangeRequests.length, 1, JSON.stringify(msgs.filter((m) => m.status !== 'Downloading')));
  assert.match(reg.rangeRequests[0], /^bytes=\d+-$/);
});

test('malformed manifest JSON: an error naming the digest; unknown tag: manifest unknown', async (t) => {
  const img = await fakeImage([{ a: 'x' }]);
  const bad = Buffer.from('{"schemaVersion": 2, "layers": [');
  const reg = await fakeRegistry(img, { manifestOverride: bad });
  t.after(() => reg.close());
  const { svc, d } = engine();
  await assert.rejects(svc.pull({ ref: parseReference(`${reg.host}/app:latest`), credentials: creds }, () => {}),
    new RegExp(`malformed manifest ${sha(bad)}`));
  await assert.rejects(svc.pull({ ref: parseReference(`${reg.host}/app:nope`), credentials: creds }, () => {}),
    (e: Error & { kind?: string }) => e.kind === 'NotFound' && /manifest unknown/.test(e.message));
  assert.equal(d.images.list().length, 0);
});

test('zstd layers unpack through the zstd tool', async (t) => {
  const img = await fakeImage([{ 'z.txt': 'zstd layer' }, { big: randomBytes(300000) }], 'zstd');
  const reg = await fakeRegistry(img);
  t.after(() => reg.close());
  const { svc, d } = engine();
  await svc.pull({ ref: parseReference(`${reg.host}/app:latest`), credentials: creds }, () => {});
  assert.equal(d.images.list().length, 1);
  assert.equal(d.layers.list().length, 2);
});

test('challenge parsing, X-Registry-Auth, config.json, insecure hosts', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="basic-realm"'), [{ scheme: 'basic', params: { realm: 'basic-realm' } }]);
  assert.deepEqual(decodeRegistryAuth('e30='), {});
  assert.equal(decodeRegistryAuth(''), undefined);
  assert.equal(credentialsFromAuthConfig(decodeRegistryAuth('e30=')), undefined);
  const hdr = Buffer.from(JSON.stringify({ username: 'u', password: 'p', serveraddress: 'x' })).toString('base64url');
  assert.deepEqual(credentialsFromAuthConfig(decodeRegistryAuth(hdr)), { username: 'u', password: 'p' });
  assert.throws(() => decodeRegistryAuth('!!!notjson'), /X-Registry-Auth/);
  assert.ok(isInsecureRegistry('127.0.0.1:5000'));
  assert.ok(isInsecureRegistry('localhost:5000'));
  assert.ok(!isInsecureRegistry('registry.example.com'));
  assert.ok(isInsecureRegistry('10.1.2.3:5000', ['10.0.0.0/8']));
  assert.ok(isInsecureRegistry('reg.lan:5000', ['reg.lan:5000']));
});

test('credentials from a docker config.json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-dockercfg-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ auths: { 'localhost:5000': { auth: Buffer.from('al:pw:x').toString('base64') }, 'https://index.docker.io/v1/': { auth: Buffer.from('hub:h').toString('base64') } } }));
  assert.deepEqual(await credentialsFromDockerConfig('localhost:5000', file), { username: 'al', password: 'pw:x' });
  assert.deepEqual(await credentialsFromDockerConfig('docker.io', file), { username: 'hub', password: 'h' });
  assert.equal(await credentialsFromDockerConfig('other:1', file), undefined);
  assert.ok(existsSync(file));
});
