// One suite, two implementations: the same distribution-API cases run against
// `berth registry serve` and Debian's docker-registry (distribution 2.8), so berth's answers are
// checked against the reference where the spec leaves room. Cases only where 2.8 follows the
// OCI spec; berth-only behaviour (referrers, NAME_INVALID on odd names) is in registry-server-api.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { http, sha256, startRegistry, type HttpResult } from './registry-server-helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_REGISTRY = '/usr/bin/docker-registry';

interface Impl { base: string; stop(): Promise<void> }

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const p = (s.address() as { port: number }).port;
  s.close();
  return p;
}

async function startReference(dir: string): Promise<Impl> {
  const port = await freePort();
  writeFileSync(join(dir, 'config.yml'), `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${join(dir, 'data')}}\n  delete: {enabled: true}\nhttp: {addr: "127.0.0.1:${port}"}\n`);
  const proc: ChildProcess = spawn(DOCKER_REGISTRY, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { await http('GET', `${base}/v2/`); break; } catch { if (i > 100) throw new Error('docker-registry did not start'); await sleep(50); }
  }
  return { base, async stop() { if (proc.exitCode === null) { const e = once(proc, 'exit'); proc.kill(); await e; } } };
}

function code(r: HttpResult): string | undefined {
  try { return r.json<{ errors: { code: string }[] }>().errors[0]?.code; } catch { return undefined; }
}

/** Location may be relative (berth) or absolute (distribution); returns a path. */
function loc(r: HttpResult): string {
  const l = r.headers.location as string;
  return l.startsWith('http') ? new URL(l).pathname + new URL(l).search : l;
}

function withDigest(path: string, digest: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}digest=${digest}`;
}

async function upload(base: string, repo: string, data: string): Promise<string> {
  const d = sha256(data);
  const p = await http('POST', `${base}/v2/${repo}/blobs/uploads/`);
  assert.equal(p.status, 202);
  const r = await http('PUT', `${base}${withDigest(loc(p), d)}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 201, r.body.toString());
  return d;
}

// `strict`: also assert where distribution 2.8 itself deviates from the OCI spec (noted inline).
function suite(name: string, start: (dir: string) => Promise<Impl>, strict: boolean): void {
  describe(`distribution API conformance: ${name}`, () => {
    let dir: string;
    let impl: Impl;
    let base: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'berth-regconf-'));
      impl = await start(dir);
      base = impl.base;
    });
    after(async () => { await impl?.stop(); rmSync(dir, { recursive: true, force: true }); });

    it('base endpoint', async () => {
      const r = await http('GET', `${base}/v2/`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
    });

    it('chunked upload with Content-Range, status, wrong range 416, completion', async () => {
      const p = await http('POST', `${base}/v2/conf/chunks/blobs/uploads/`);
      assert.equal(p.status, 202);
      assert.ok(p.headers['docker-upload-uuid']);
      const c1 = await http('PATCH', `${base}${loc(p)}`, { body: 'abcd', headers: { 'Content-Range': '0-3', 'Content-Type': 'application/octet-stream' } });
      assert.equal(c1.status, 202);
      assert.equal(c1.headers.range, '0-3');
      const st = await http('GET', `${base}${loc(c1)}`);
      assert.equal(st.status, 204);
      assert.equal(st.headers.range, '0-3');
      const next = loc(c1);
      if (strict) {
        // distribution 2.8 accepts an out-of-order chunk with 202; the OCI spec requires 416.
        const bad = await http('PATCH', `${base}${next}`, { body: 'zz', headers: { 'Content-Range': '10-11', 'Content-Type': 'application/octet-stream' } });
        assert.equal(bad.status, 416);
      }
      const c2 = await http('PATCH', `${base}${next}`, { body: 'efgh', headers: { 'Content-Range': '4-7', 'Content-Type': 'application/octet-stream' } });
      assert.equal(c2.status, 202);
      assert.equal(c2.headers.range, '0-7');
      const d = sha256('abcdefgh');
      const fin = await http('PUT', `${base}${withDigest(loc(c2), d)}`);
      assert.equal(fin.status, 201);
      assert.equal(fin.headers['docker-content-digest'], d);
      const g = await http('GET', `${base}/v2/conf/chunks/blobs/${d}`);
      assert.equal(g.body.toString(), 'abcdefgh');
      const part = await http('GET', `${base}/v2/conf/chunks/blobs/${d}`, { headers: { Range: 'bytes=1-2' } });
      assert.equal(part.status, 206);
      assert.equal(part.body.toString(), 'bc');
    });

    it('digest mismatch is DIGEST_INVALID; unknown blob is BLOB_UNKNOWN; unknown upload is BLOB_UPLOAD_UNKNOWN', async () => {
      const p = await http('POST', `${base}/v2/conf/bad/blobs/uploads/`);
      const r = await http('PUT', `${base}${withDigest(loc(p), sha256('other'))}`, { body: 'data', headers: { 'Content-Type': 'application/octet-stream' } });
      assert.equal(r.status, 400);
      assert.equal(code(r), 'DIGEST_INVALID');
      const b = await http('GET', `${base}/v2/conf/bad/blobs/${sha256('nothing')}`);
      assert.equal(b.status, 404);
      assert.equal(code(b), 'BLOB_UNKNOWN');
      const u = await http('GET', `${base}/v2/conf/bad/blobs/uploads/0123456789abcdef0123456789abcdef`);
      // distribution 2.8 answers 404 BLOB_UPLOAD_INVALID for an id that is not its UUID format.
      assert.equal(u.status, 404);
      if (strict) assert.equal(code(u), 'BLOB_UPLOAD_UNKNOWN');
    });

    it('manifests: push, get, MANIFEST_BLOB_UNKNOWN, MANIFEST_UNKNOWN, NAME_UNKNOWN, tags with Link, delete', async () => {
      const cfg = await upload(base, 'conf/img', '{"os":"linux"}');
      const layer = await upload(base, 'conf/img', 'layer data');
      const m = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg, size: 14 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: 10 }] });
      for (const t of ['a', 'b', 'c']) {
        const r = await http('PUT', `${base}/v2/conf/img/manifests/${t}`, { body: m, headers: { 'Content-Type': OCI_MANIFEST } });
        assert.equal(r.status, 201, r.body.toString());
        assert.equal(r.headers['docker-content-digest'], sha256(m));
      }
      const g = await http('GET', `${base}/v2/conf/img/manifests/a`, { headers: { Accept: OCI_MANIFEST } });
      assert.equal(g.status, 200);
      assert.equal(g.headers['content-type'], OCI_MANIFEST);
      assert.equal(g.body.toString(), m);
      const missing = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg, size: 14 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256('absent'), size: 6 }] });
      const mb = await http('PUT', `${base}/v2/conf/img/manifests/x`, { body: missing, headers: { 'Content-Type': OCI_MANIFEST } });
      assert.equal(mb.status, 400);
      assert.equal(code(mb), 'MANIFEST_BLOB_UNKNOWN');
      const mu = await http('GET', `${base}/v2/conf/img/manifests/nope`, { headers: { Accept: OCI_MANIFEST } });
      assert.equal(mu.status, 404);
      assert.equal(code(mu), 'MANIFEST_UNKNOWN');
      const nu = await http('GET', `${base}/v2/conf/never/tags/list`);
      assert.equal(nu.status, 404);
      assert.equal(code(nu), 'NAME_UNKNOWN');
      const all = await http('GET', `${base}/v2/conf/img/tags/list`);
      assert.deepEqual([...all.json<{ tags: string[] }>().tags].sort(), ['a', 'b', 'c']);
      if (strict) {
        // distribution 2.8 ignores n/last on tags and lists them in directory order; the spec
        // requires lexical order, n results and a Link header.
        const p1 = await http('GET', `${base}/v2/conf/img/tags/list?n=2`);
        assert.match(p1.headers.link as string, /^<\/v2\/conf\/img\/tags\/list\?.*last=b.*>; rel="next"$/);
        assert.deepEqual(p1.json<{ tags: string[] }>().tags, ['a', 'b']);
        const p2 = await http('GET', `${base}/v2/conf/img/tags/list?n=2&last=b`);
        assert.deepEqual(p2.json<{ tags: string[] }>().tags, ['c']);
      }
      const cat = await http('GET', `${base}/v2/_catalog`);
      assert.ok(cat.json<{ repositories: string[] }>().repositories.includes('conf/img'));
      const del = await http('DELETE', `${base}/v2/conf/img/manifests/${sha256(m)}`);
      assert.equal(del.status, 202);
      assert.equal((await http('GET', `${base}/v2/conf/img/manifests/${sha256(m)}`, { headers: { Accept: OCI_MANIFEST } })).status, 404);
    });

    it('cross-repository mount', async () => {
      const d = await upload(base, 'conf/src', 'mount me');
      const r = await http('POST', `${base}/v2/conf/dst/blobs/uploads/?mount=${d}&from=conf/src`);
      assert.equal(r.status, 201);
      assert.equal((await http('GET', `${base}/v2/conf/dst/blobs/${d}`)).body.toString(), 'mount me');
    });
  });
}

suite('berth registry serve', async (dir) => {
  writeFileSync(join(dir, 'config.json'), '{"delete": true}');
  const r = await startRegistry(join(dir, 'root'), { config: join(dir, 'config.json') });
  return { base: r.base, stop: () => r.stop() };
}, true);
if (existsSync(DOCKER_REGISTRY)) suite('docker-registry (reference)', startReference, false);
