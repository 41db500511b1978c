// `berth registry serve` driven by Debian's skopeo as a real, independent client, over plain
// HTTP and over TLS.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeOciLayout, run, startRegistry, type OciImage, type RunningRegistry } from './registry-server-helpers.js';
import { writeFileSync } from 'node:fs';

describe('registry server with skopeo', () => {
  let dir: string;
  let reg: RunningRegistry;
  let img: OciImage;
  let ref: (repo: string) => string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-regskopeo-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ delete: true }));
    reg = await startRegistry(join(dir, 'root'), { config: join(dir, 'config.json') });
    img = await makeOciLayout(join(dir, 'img'), { fileSize: 3 * 1024 * 1024, gzip: true });
    ref = (repo) => `docker://127.0.0.1:${reg.port}/${repo}`;
  });
  after(async () => { await reg.stop(); rmSync(dir, { recursive: true, force: true }); });

  it('copy to, inspect, list-tags, copy back byte-identical, delete', async () => {
    const push = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:latest`, ref('sk/app:v1')]);
    assert.equal(push.code, 0, push.stderr);
    // A second tag through a registry-to-registry copy (mount/dedup path).
    const cp = await run('skopeo', ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', ref('sk/app:v1'), ref('sk/other:v2')]);
    assert.equal(cp.code, 0, cp.stderr);
    const inspect = await run('skopeo', ['inspect', '--tls-verify=false', ref('sk/app:v1')]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[]; Os: string };
    assert.equal(info.Digest, img.manifestDigest);
    assert.deepEqual(info.Layers, [img.layerDigest]);
    assert.equal(info.Os, 'linux');
    const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', ref('sk/app:v1')]);
    assert.equal(raw.stdout, readFileSync(join(img.dir, 'blobs', 'sha256', img.manifestDigest.slice(7)), 'utf8'));
    const tags = await run('skopeo', ['list-tags', '--tls-verify=false', ref('sk/app')]);
    assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);
    const out = join(dir, 'out');
    const pull = await run('skopeo', ['copy', '--src-tls-verify=false', ref('sk/app:v1'), `oci:${out}:pulled`]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.deepEqual(readFileSync(join(out, 'blobs', 'sha256', img.layerDigest.slice(7))), readFileSync(join(img.dir, 'blobs', 'sha256', img.layerDigest.slice(7))));
    const del = await run('skopeo', ['delete', '--tls-verify=false', ref('sk/app:v1')]);
    assert.equal(del.code, 0, del.stderr);
    const gone = await run('skopeo', ['inspect', '--tls-verify=false', ref('sk/app:v1')]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /manifest unknown/i);
    // The other repository still has its own copy.
    assert.equal((await run('skopeo', ['inspect', '--tls-verify=false', ref('sk/other:v2')])).code, 0);
  });

  it('list-tags of an unknown repository fails with name unknown', async () => {
    const r = await run('skopeo', ['list-tags', '--tls-verify=false', ref('no/such')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /404|name unknown/i);
  });
});

describe('registry server over TLS', () => {
  let dir: string;
  let reg: RunningRegistry;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-regtls-'));
    const gen = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    assert.equal(gen.code, 0, gen.stderr);
    reg = await startRegistry(join(dir, 'root'), { extra: ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')] });
  });
  after(async () => { await reg.stop(); rmSync(dir, { recursive: true, force: true }); });

  it('serves HTTPS: skopeo pushes with verification off and pulls verifying against the cert', async () => {
    const img = await makeOciLayout(join(dir, 'img'), { fileSize: 1000, gzip: true });
    const dst = `docker://127.0.0.1:${reg.port}/tls/app:v1`;
    const push = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:latest`, dst]);
    assert.equal(push.code, 0, push.stderr);
    const certDir = join(dir, 'certs.d');
    await run('mkdir', ['-p', certDir]);
    await run('cp', [join(dir, 'cert.pem'), join(certDir, 'ca.crt')]);
    const insp = await run('skopeo', ['inspect', '--cert-dir', certDir, dst]);
    assert.equal(insp.code, 0, insp.stderr);
    assert.equal((JSON.parse(insp.stdout) as { Digest: string }).Digest, img.manifestDigest);
  });
});
