// `berth registry gc`: mark and sweep that keeps everything referenced, everything an
// in-progress upload's repository holds, and everything inside the grace period.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultConfig } from '../../src/registry/server/config.js';
import { collectGarbage } from '../../src/registry/server/gc.js';
import { RegistryServer } from '../../src/registry/server/server.js';
import { http, run, MAIN, sha256 } from './registry-server-helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function age(root: string, digest: string, repo?: string): void {
  const old = new Date(Date.now() - 7200_000);
  utimesSync(join(root, 'blobs', 'sha256', digest.slice(7)), old, old);
  if (repo) {
    const link = join(root, 'repositories', repo, '_layers', 'sha256', digest.slice(7));
    if (existsSync(link)) utimesSync(link, old, old);
  }
}

describe('registry gc', () => {
  let root: string;
  let server: RegistryServer;
  let base: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'berth-reggc-'));
    server = new RegistryServer({ root, config: { ...defaultConfig(), deleteEnabled: true }, log: () => undefined });
    base = `http://127.0.0.1:${(await server.listen('127.0.0.1', 0)).port}`;
  });
  after(async () => { await server.close(); rmSync(root, { recursive: true, force: true }); });

  async function blob(repo: string, data: string): Promise<string> {
    const d = sha256(data);
    assert.equal((await http('POST', `${base}/v2/${repo}/blobs/uploads/?digest=${d}`, { body: data })).status, 201);
    return d;
  }

  it('sweeps unreferenced blobs, keeps referenced, recent and in-upload ones', async () => {
    const cfg = await blob('gc/app', '{"os":"linux"}');
    const layer = await blob('gc/app', 'layer');
    const m = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfg, size: 14 }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: 5 }] });
    assert.equal((await http('PUT', `${base}/v2/gc/app/manifests/v1`, { body: m, headers: { 'Content-Type': OCI_MANIFEST } })).status, 201);
    const orphan = await blob('gc/app', 'orphan');
    const recent = await blob('gc/app', 'recent orphan');
    const busy = await blob('gc/busy', 'blob in a repo with an upload in progress');
    for (const [d, r] of [[cfg, 'gc/app'], [layer, 'gc/app'], [orphan, 'gc/app'], [busy, 'gc/busy']] as const) age(root, d, r);
    age(root, sha256(m));
    // An upload in progress into gc/busy: the manifest that will use `busy` is not pushed yet.
    const up = await http('POST', `${base}/v2/gc/busy/blobs/uploads/`);
    await http('PATCH', `${base}${up.headers.location}`, { body: 'half' });

    const opts = { gracePeriodSeconds: 3600, uploadPurgeAgeSeconds: 86400 };
    const dry = await collectGarbage(root, { ...opts, dryRun: true });
    assert.deepEqual(dry.blobsDeleted, [orphan]);
    assert.ok(existsSync(join(root, 'blobs', 'sha256', orphan.slice(7))), 'dry run deletes nothing');

    const report = await collectGarbage(root, opts);
    assert.deepEqual(report.blobsDeleted, [orphan]);
    assert.equal(report.uploadsActive, 1);
    assert.equal(report.linksRemoved, 1);
    for (const d of [cfg, layer, recent, busy, sha256(m)]) assert.ok(existsSync(join(root, 'blobs', 'sha256', d.slice(7))), d);
    assert.equal((await http('GET', `${base}/v2/gc/app/manifests/v1`)).status, 200);
    assert.equal((await http('GET', `${base}/v2/gc/app/blobs/${layer}`)).status, 200);
    assert.equal((await http('HEAD', `${base}/v2/gc/app/blobs/${orphan}`)).status, 404);

    // Once the upload is gone, the unreferenced blob of gc/busy goes too.
    assert.equal((await http('DELETE', `${base}${up.headers.location}`)).status, 204);
    assert.deepEqual((await collectGarbage(root, opts)).blobsDeleted, [busy]);

    // Deleting the manifest makes its blobs garbage.
    assert.equal((await http('DELETE', `${base}/v2/gc/app/manifests/${sha256(m)}`)).status, 202);
    const r3 = await collectGarbage(root, opts);
    assert.deepEqual(new Set(r3.blobsDeleted), new Set([cfg, layer, sha256(m)]));
  });

  it('purges abandoned upload sessions and runs as `berth registry gc --dry-run`', async () => {
    const up = await http('POST', `${base}/v2/gc/stale/blobs/uploads/`);
    const uuid = up.headers['docker-upload-uuid'] as string;
    const old = new Date(Date.now() - 3 * 86400_000);
    for (const f of ['data', 'info.json']) utimesSync(join(root, 'uploads', uuid, f), old, old);
    const cfgFile = join(root, '..', `${uuid}-gc.json`);
    writeFileSync(cfgFile, JSON.stringify({ gc: { gracePeriodSeconds: 0, uploadPurgeAgeSeconds: 86400 } }));
    try {
      const dry = await run(process.execPath, [MAIN, 'gc', '--root', root, '--config', cfgFile, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.deepEqual((JSON.parse(dry.stdout) as { uploadsPurged: string[] }).uploadsPurged, [uuid]);
      assert.ok(readdirSync(join(root, 'uploads')).includes(uuid));
      const real = await run(process.execPath, [MAIN, 'gc', '--root', root, '--config', cfgFile]);
      assert.equal(real.code, 0, real.stderr);
      assert.ok(!readdirSync(join(root, 'uploads')).includes(uuid));
    } finally {
      rmSync(cfgFile, { force: true });
    }
  });
});
