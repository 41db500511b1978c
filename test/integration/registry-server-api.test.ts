// Plain-HTTP tests of every endpoint of `berth registry serve` and every OCI error code.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultConfig, type RegistryConfig } from '../../src/registry/server/config.js';
import { RegistryServer } from '../../src/registry/server/server.js';
import { http, sha256, type HttpResult } from './registry-server-helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

interface Env { base: string; root: string; server: RegistryServer; logs: Record<string, unknown>[] }

async function startInProcess(cfg: Partial<RegistryConfig> = {}): Promise<Env> {
  const root = mkdtempSync(join(tmpdir(), 'berth-regsrv-'));
  const logs: Record<string, unknown>[] = [];
  const server = new RegistryServer({ root, config: { ...defaultConfig(), deleteEnabled: true, ...cfg }, log: (e) => logs.push(e) });
  const a = await server.listen('127.0.0.1', 0);
  return { base: `http://127.0.0.1:${a.port}`, root, server, logs };
}

async function pushBlob(env: Env, name: string, data: Buffer | string): Promise<string> {
  const digest = sha256(data);
  const r = await http('POST', `${env.base}/v2/${name}/blobs/uploads/?digest=${digest}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(r.status, 201, r.body.toString());
  return digest;
}

function imageManifest(config: { digest: string; size: number }, layers: { digest: string; size: number }[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
    ...extra,
  });
}

async function pushImage(env: Env, name: string, tag: string, layerData = 'layer-bytes', extra: Record<string, unknown> = {}): Promise<{ digest: string; body: string; layer: string; config: string }> {
  const cfg = JSON.stringify({ architecture: 'amd64', os: 'linux', n: Math.random() });
  const config = await pushBlob(env, name, cfg);
  const layer = await pushBlob(env, name, layerData);
  const body = imageManifest({ digest: config, size: Buffer.byteLength(cfg) }, [{ digest: layer, size: Buffer.byteLength(layerData) }], extra);
  const r = await http('PUT', `${env.base}/v2/${name}/manifests/${tag}`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(r.status, 201, r.body.toString());
  return { digest: sha256(body), body, layer, config };
}

function code(r: HttpResult): string {
  return r.json<{ errors: { code: string }[] }>().errors[0]!.code;
}

describe('registry server: plain HTTP API', () => {
  let env: Env;
  before(async () => { env = await startInProcess(); });
  after(async () => { await env.server.close(); rmSync(env.root, { recursive: true, force: true }); });

  it('GET and HEAD /v2/ answer 200 with the API version header', async () => {
    const r = await http('GET', `${env.base}/v2/`);
    assert.equal(r.status, 200);
    assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0');
    assert.equal((await http('HEAD', `${env.base}/v2/`)).status, 200);
  });

  it('monolithic POST ?digest= stores a blob and GET/HEAD serve it with ranges', async () => {
    const data = Buffer.from('0123456789abcdef');
    const digest = await pushBlob(env, 'ranges/blob', data);
    const head = await http('HEAD', `${env.base}/v2/ranges/blob/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '16');
    assert.equal(head.headers['docker-content-digest'], digest);
    const full = await http('GET', `${env.base}/v2/ranges/blob/blobs/${digest}`);
    assert.deepEqual(full.body, data);
    const part = await http('GET', `${env.base}/v2/ranges/blob/blobs/${digest}`, { headers: { Range: 'bytes=2-5' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], 'bytes 2-5/16');
    assert.equal(part.body.toString(), '2345');
    const suffix = await http('GET', `${env.base}/v2/ranges/blob/blobs/${digest}`, { headers: { Range: 'bytes=-3' } });
    assert.equal(suffix.body.toString(), 'def');
    const open = await http('GET', `${env.base}/v2/ranges/blob/blobs/${digest}`, { headers: { Range: 'bytes=14-' } });
    assert.equal(open.body.toString(), 'ef');
    const bad = await http('GET', `${env.base}/v2/ranges/blob/blobs/${digest}`, { headers: { Range: 'bytes=16-20' } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], 'bytes */16');
  });

  it('POST + PUT, chunked PATCH with Content-Range, status GET and the Range/Location/UUID answers', async () => {
    const start = await http('POST', `${env.base}/v2/chunked/img/blobs/uploads/`);
    assert.equal(start.status, 202);
    const loc = start.headers.location as string;
    const uuid = start.headers['docker-upload-uuid'] as string;
    assert.match(loc, new RegExp(`^/v2/chunked/img/blobs/uploads/${uuid}$`));
    assert.equal(start.headers.range, '0-0');
    const p1 = await http('PATCH', `${env.base}${loc}`, { body: 'hello ', headers: { 'Content-Range': '0-5', 'Content-Type': 'application/octet-stream' } });
    assert.equal(p1.status, 202);
    assert.equal(p1.headers.range, '0-5');
    const st = await http('GET', `${env.base}${loc}`);
    assert.equal(st.status, 204);
    assert.equal(st.headers.range, '0-5');
    assert.equal(st.headers['docker-upload-uuid'], uuid);
    // Out of order chunk: 416, session unchanged.
    const ooo = await http('PATCH', `${env.base}${loc}`, { body: 'xx', headers: { 'Content-Range': '3-4' } });
    assert.equal(ooo.status, 416);
    assert.equal(ooo.headers.range, '0-5');
    const garbage = await http('PATCH', `${env.base}${loc}`, { body: 'xx', headers: { 'Content-Range': 'nonsense' } });
    assert.equal(garbage.status, 416);
    // Content-Length disagreeing with Content-Range: SIZE_INVALID.
    const sz = await http('PATCH', `${env.base}${loc}`, { body: 'xx', headers: { 'Content-Range': '6-9' } });
    assert.equal(sz.status, 400);
    assert.equal(code(sz), 'SIZE_INVALID');
    // Streamed chunk without Content-Range.
    const p2 = await http('PATCH', `${env.base}${loc}`, { body: 'wor' });
    assert.equal(p2.headers.range, '0-8');
    const digest = sha256('hello world');
    const fin = await http('PUT', `${env.base}${loc}?digest=${digest}`, { body: 'ld', headers: { 'Content-Range': '9-10' } });
    assert.equal(fin.status, 201, fin.body.toString());
    assert.equal(fin.headers.location, `/v2/chunked/img/blobs/${digest}`);
    assert.equal(fin.headers['docker-content-digest'], digest);
    assert.equal((await http('GET', `${env.base}/v2/chunked/img/blobs/${digest}`)).body.toString(), 'hello world');
    const gone = await http('GET', `${env.base}${loc}`);
    assert.equal(gone.status, 404);
    assert.equal(code(gone), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('DELETE of an upload cancels it; unknown sessions are BLOB_UPLOAD_UNKNOWN', async () => {
    const start = await http('POST', `${env.base}/v2/cancel/me/blobs/uploads/`);
    const loc = start.headers.location as string;
    await http('PATCH', `${env.base}${loc}`, { body: 'partial' });
    assert.equal((await http('DELETE', `${env.base}${loc}`)).status, 204);
    assert.equal(code(await http('GET', `${env.base}${loc}`)), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(code(await http('DELETE', `${env.base}${loc}`)), 'BLOB_UPLOAD_UNKNOWN');
    assert.equal(code(await http('PATCH', `${env.base}/v2/cancel/me/blobs/uploads/not-a-uuid`, { body: 'x' })), 'BLOB_UPLOAD_UNKNOWN');
    // A session belongs to its repository.
    const other = await http('POST', `${env.base}/v2/cancel/me/blobs/uploads/`);
    const uuid = other.headers['docker-upload-uuid'] as string;
    assert.equal(code(await http('GET', `${env.base}/v2/someone/else/blobs/uploads/${uuid}`)), 'BLOB_UPLOAD_UNKNOWN');
  });

  it('DIGEST_INVALID: content that does not match its digest is rejected and nothing is stored', async () => {
    const wrong = sha256('something else');
    const before = readdirSync(join(env.root, 'blobs', 'sha256')).length;
    const r = await http('POST', `${env.base}/v2/digest/check/blobs/uploads/?digest=${wrong}`, { body: 'actual content' });
    assert.equal(r.status, 400);
    assert.equal(code(r), 'DIGEST_INVALID');
    const start = await http('POST', `${env.base}/v2/digest/check/blobs/uploads/`);
    const loc = start.headers.location as string;
    const r2 = await http('PUT', `${env.base}${loc}?digest=${wrong}`, { body: 'actual content' });
    assert.equal(code(r2), 'DIGEST_INVALID');
    assert.equal(readdirSync(join(env.root, 'blobs', 'sha256')).length, before);
    assert.deepEqual(readdirSync(join(env.root, 'uploads')).filter((u) => u === loc.split('/').pop()), []);
    assert.equal((await http('HEAD', `${env.base}/v2/digest/check/blobs/${sha256('actual content')}`)).status, 404);
    assert.equal(code(await http('POST', `${env.base}/v2/digest/check/blobs/uploads/?digest=sha256:xyz`, { body: 'a' })), 'DIGEST_INVALID');
    assert.equal(code(await http('PUT', `${env.base}${(await http('POST', `${env.base}/v2/digest/check/blobs/uploads/`)).headers.location}`, { body: 'a' })), 'DIGEST_INVALID');
    assert.equal(code(await http('GET', `${env.base}/v2/digest/check/blobs/md5:abc`)), 'DIGEST_INVALID');
  });

  it('manifests: push by tag and digest, content negotiation, HEAD, ?tag= on push by digest', async () => {
    const img = await pushImage(env, 'library/app', 'v1');
    const get = await http('GET', `${env.base}/v2/library/app/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
    assert.equal(get.status, 200);
    assert.equal(get.headers['content-type'], OCI_MANIFEST);
    assert.equal(get.headers['docker-content-digest'], img.digest);
    assert.equal(get.body.toString(), img.body);
    const head = await http('HEAD', `${env.base}/v2/library/app/manifests/${img.digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(Buffer.byteLength(img.body)));
    // A client that only accepts Docker schema2 does not get an OCI manifest it cannot read.
    const neg = await http('GET', `${env.base}/v2/library/app/manifests/v1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(neg.status, 404);
    assert.equal(code(neg), 'MANIFEST_UNKNOWN');
    const star = await http('GET', `${env.base}/v2/library/app/manifests/v1`, { headers: { Accept: '*/*' } });
    assert.equal(star.status, 200);
    // end-7b: push by digest with tags.
    const r = await http('PUT', `${env.base}/v2/library/app/manifests/${img.digest}?tag=a&tag=b`, { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.location, `/v2/library/app/manifests/${img.digest}`);
    const tags = await http('GET', `${env.base}/v2/library/app/tags/list`);
    assert.deepEqual(tags.json(), { name: 'library/app', tags: ['a', 'b', 'v1'] });
    // A manifest index over it.
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: img.digest, size: Buffer.byteLength(img.body), platform: { os: 'linux', architecture: 'amd64' } }] });
    const ri = await http('PUT', `${env.base}/v2/library/app/manifests/multi`, { body: index, headers: { 'Content-Type': OCI_INDEX } });
    assert.equal(ri.status, 201, ri.body.toString());
    assert.equal((await http('GET', `${env.base}/v2/library/app/manifests/multi`)).headers['content-type'], OCI_INDEX);
  });

  it('manifest errors: MANIFEST_INVALID, MANIFEST_BLOB_UNKNOWN, DIGEST_INVALID, SIZE_INVALID (413), MANIFEST_UNKNOWN, NAME_UNKNOWN', async () => {
    const put = (ref: string, body: string, ct = OCI_MANIFEST): Promise<HttpResult> =>
      http('PUT', `${env.base}/v2/errs/repo/manifests/${ref}`, { body, headers: { 'Content-Type': ct } });
    const notJson = await put('t', '{nope');
    assert.equal(notJson.status, 400);
    assert.equal(code(notJson), 'MANIFEST_INVALID');
    assert.equal(code(await put('t', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST }))), 'MANIFEST_INVALID');
    assert.equal(code(await put('t', JSON.stringify({ schemaVersion: 1, name: 'x' }), 'application/vnd.docker.distribution.manifest.v1+prettyjws')), 'MANIFEST_INVALID');
    assert.equal(code(await put('t', JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }), OCI_MANIFEST)), 'MANIFEST_INVALID');
    assert.equal(code(await put('bad..tag!', '{}')), 'MANIFEST_INVALID');
    const missingCfg = sha256('no such config');
    const missingLayer = sha256('no such layer');
    const m = imageManifest({ digest: missingCfg, size: 14 }, [{ digest: missingLayer, size: 13 }]);
    const mbu = await put('t', m);
    assert.equal(mbu.status, 400);
    const errs = mbu.json<{ errors: { code: string; detail: { digest: string } }[] }>().errors;
    assert.deepEqual(errs.map((e) => e.code), ['MANIFEST_BLOB_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN']);
    assert.deepEqual(errs.map((e) => e.detail.digest), [missingCfg, missingLayer]);
    // A blob in another repository does not count: it must be mounted or pushed here.
    const cfgElsewhere = await pushBlob(env, 'errs/other', 'cfg');
    const m2 = imageManifest({ digest: cfgElsewhere, size: 3 }, []);
    assert.equal(code(await put('t', m2)), 'MANIFEST_BLOB_UNKNOWN');
    const idx = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: missingCfg, size: 1 }] });
    assert.equal(code(await put('t', idx, OCI_INDEX)), 'MANIFEST_BLOB_UNKNOWN');
    const cfg = await pushBlob(env, 'errs/repo', 'cfg');
    const ok = imageManifest({ digest: cfg, size: 3 }, []);
    const wrongDigest = await put(sha256('other'), ok);
    assert.equal(code(wrongDigest), 'DIGEST_INVALID');
    const big = await put('t', JSON.stringify({ pad: 'x'.repeat(4 * 1024 * 1024 + 1) }));
    assert.equal(big.status, 413);
    assert.equal(code(big), 'SIZE_INVALID');
    assert.equal((await put('t', ok)).status, 201);
    const unknown = await http('GET', `${env.base}/v2/errs/repo/manifests/nosuchtag`);
    assert.equal(unknown.status, 404);
    assert.equal(code(unknown), 'MANIFEST_UNKNOWN');
    assert.equal(code(await http('GET', `${env.base}/v2/errs/repo/manifests/${sha256('nope')}`)), 'MANIFEST_UNKNOWN');
    const nameUnknown = await http('GET', `${env.base}/v2/never/pushed/manifests/latest`);
    assert.equal(nameUnknown.status, 404);
    assert.equal(code(nameUnknown), 'NAME_UNKNOWN');
    assert.equal(code(await http('GET', `${env.base}/v2/never/pushed/tags/list`)), 'NAME_UNKNOWN');
    assert.equal(code(await http('GET', `${env.base}/v2/errs/repo/blobs/${sha256('nope')}`)), 'BLOB_UNKNOWN');
  });

  it('NAME_INVALID for "..", uppercase, leading slashes and other bad names', async () => {
    for (const name of ['..', 'a/../b', 'Upper/case', '/leading', 'a//b', 'trailing/', '_under', 'a/_manifests', '%2e%2e/x', 'a'.repeat(256)]) {
      for (const suffix of ['/tags/list', '/manifests/latest', `/blobs/${sha256('x')}`, '/blobs/uploads/']) {
        const method = suffix === '/blobs/uploads/' ? 'POST' : 'GET';
        const r = await http(method, `${env.base}/v2/${name}${suffix}`);
        assert.equal(r.status, 400, `${method} ${name}${suffix}`);
        assert.equal(code(r), 'NAME_INVALID', `${method} ${name}${suffix}`);
      }
    }
    // A bad `from` is never used as a path: the mount falls back to a plain upload session.
    const m = await http('POST', `${env.base}/v2/ok/blobs/uploads/?mount=${sha256('x')}&from=../etc`);
    assert.equal(m.status, 202);
  });

  it('tags pagination with n, last and Link; n=0 is empty with no Link', async () => {
    const img = await pushImage(env, 'paged/repo', 't00');
    for (const t of ['t01', 't02', 't03', 't04']) {
      await http('PUT', `${env.base}/v2/paged/repo/manifests/${t}`, { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
    }
    const p1 = await http('GET', `${env.base}/v2/paged/repo/tags/list?n=2`);
    assert.deepEqual(p1.json<{ tags: string[] }>().tags, ['t00', 't01']);
    assert.equal(p1.headers.link, '</v2/paged/repo/tags/list?n=2&last=t01>; rel="next"');
    const p2 = await http('GET', `${env.base}/v2/paged/repo/tags/list?n=2&last=t01`);
    assert.deepEqual(p2.json<{ tags: string[] }>().tags, ['t02', 't03']);
    const p3 = await http('GET', `${env.base}/v2/paged/repo/tags/list?n=2&last=t03`);
    assert.deepEqual(p3.json<{ tags: string[] }>().tags, ['t04']);
    assert.equal(p3.headers.link, undefined);
    const z = await http('GET', `${env.base}/v2/paged/repo/tags/list?n=0`);
    assert.deepEqual(z.json<{ tags: string[] }>().tags, []);
    assert.equal(z.headers.link, undefined);
    assert.deepEqual((await http('GET', `${env.base}/v2/paged/repo/tags/list?last=t02`)).json<{ tags: string[] }>().tags, ['t03', 't04']);
    assert.equal((await http('GET', `${env.base}/v2/paged/repo/tags/list?n=-1`)).status, 400);
  });

  it('_catalog lists repositories with pagination', async () => {
    const all = (await http('GET', `${env.base}/v2/_catalog`)).json<{ repositories: string[] }>().repositories;
    assert.ok(all.includes('library/app') && all.includes('paged/repo'), JSON.stringify(all));
    assert.deepEqual([...all].sort(), all);
    const p = await http('GET', `${env.base}/v2/_catalog?n=1`);
    assert.deepEqual(p.json<{ repositories: string[] }>().repositories, [all[0]]);
    assert.equal(p.headers.link, `</v2/_catalog?n=1&last=${encodeURIComponent(all[0]!)}>; rel="next"`);
  });

  it('cross-repository mount, and fallback to an upload when the source lacks the blob', async () => {
    const d = await pushBlob(env, 'mount/src', 'shared layer');
    const r = await http('POST', `${env.base}/v2/mount/dst/blobs/uploads/?mount=${d}&from=mount/src`);
    assert.equal(r.status, 201);
    assert.equal(r.headers['docker-content-digest'], d);
    assert.equal((await http('GET', `${env.base}/v2/mount/dst/blobs/${d}`)).body.toString(), 'shared layer');
    const miss = await http('POST', `${env.base}/v2/mount/dst/blobs/uploads/?mount=${sha256('nope')}&from=mount/src`);
    assert.equal(miss.status, 202);
    assert.ok(miss.headers.location);
  });

  it('concurrent pushes of the same blob are safe', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const digest = sha256(data);
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => http('POST', `${env.base}/v2/conc/r${i}/blobs/uploads/?digest=${digest}`, { body: data })));
    assert.deepEqual(rs.map((r) => r.status), Array(8).fill(201));
    for (let i = 0; i < 8; i++) assert.deepEqual((await http('GET', `${env.base}/v2/conc/r${i}/blobs/${digest}`)).body, data);
  });

  it('referrers API: subject accepted with OCI-Subject, artifactType filter, empty list for none', async () => {
    const subject = await pushImage(env, 'refs/repo', 'base');
    const subj = { mediaType: OCI_MANIFEST, digest: subject.digest, size: Buffer.byteLength(subject.body) };
    const empty = await pushBlob(env, 'refs/repo', '{}');
    const mk = (artifactType: string, note: string): string => JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
      layers: [], subject: subj, annotations: { note },
    });
    const sbom = mk('application/vnd.example.sbom', 'sbom');
    const sig = mk('application/vnd.example.sig', 'sig');
    for (const body of [sbom, sig]) {
      const r = await http('PUT', `${env.base}/v2/refs/repo/manifests/${sha256(body)}`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
      assert.equal(r.status, 201, r.body.toString());
      assert.equal(r.headers['oci-subject'], subject.digest);
    }
    const all = await http('GET', `${env.base}/v2/refs/repo/referrers/${subject.digest}`);
    assert.equal(all.status, 200);
    assert.equal(all.headers['content-type'], OCI_INDEX);
    const idx = all.json<{ manifests: { digest: string; artifactType: string; annotations: Record<string, string> }[] }>();
    assert.deepEqual(idx.manifests.map((m) => m.artifactType).sort(), ['application/vnd.example.sbom', 'application/vnd.example.sig']);
    const f = await http('GET', `${env.base}/v2/refs/repo/referrers/${subject.digest}?artifactType=application/vnd.example.sig`);
    assert.equal(f.headers['oci-filters-applied'], 'artifactType');
    const fm = f.json<{ manifests: { digest: string; annotations: Record<string, string> }[] }>().manifests;
    assert.deepEqual(fm.map((m) => m.digest), [sha256(sig)]);
    assert.equal(fm[0]!.annotations.note, 'sig');
    const none = await http('GET', `${env.base}/v2/refs/repo/referrers/${sha256('nothing')}`);
    assert.equal(none.status, 200);
    assert.deepEqual(none.json<{ manifests: unknown[] }>().manifests, []);
    assert.equal(code(await http('GET', `${env.base}/v2/refs/repo/referrers/not-a-digest`)), 'DIGEST_INVALID');
    // Deleting a referrer removes it from the list.
    assert.equal((await http('DELETE', `${env.base}/v2/refs/repo/manifests/${sha256(sbom)}`)).status, 202);
    const after1 = await http('GET', `${env.base}/v2/refs/repo/referrers/${subject.digest}`);
    assert.deepEqual(after1.json<{ manifests: { digest: string }[] }>().manifests.map((m) => m.digest), [sha256(sig)]);
  });

  it('deletes: tag, manifest by digest (and its tags), blob link', async () => {
    const img = await pushImage(env, 'del/repo', 'keep');
    await http('PUT', `${env.base}/v2/del/repo/manifests/other`, { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal((await http('DELETE', `${env.base}/v2/del/repo/manifests/other`)).status, 202);
    assert.deepEqual((await http('GET', `${env.base}/v2/del/repo/tags/list`)).json<{ tags: string[] }>().tags, ['keep']);
    assert.equal(code(await http('DELETE', `${env.base}/v2/del/repo/manifests/other`)), 'MANIFEST_UNKNOWN');
    assert.equal((await http('DELETE', `${env.base}/v2/del/repo/manifests/${img.digest}`)).status, 202);
    assert.equal(code(await http('GET', `${env.base}/v2/del/repo/manifests/keep`)), 'MANIFEST_UNKNOWN');
    assert.deepEqual((await http('GET', `${env.base}/v2/del/repo/tags/list`)).json<{ tags: string[] }>().tags, []);
    assert.equal((await http('DELETE', `${env.base}/v2/del/repo/blobs/${img.layer}`)).status, 202);
    assert.equal(code(await http('GET', `${env.base}/v2/del/repo/blobs/${img.layer}`)), 'BLOB_UNKNOWN');
    assert.equal(code(await http('DELETE', `${env.base}/v2/del/repo/blobs/${img.layer}`)), 'BLOB_UNKNOWN');
  });

  it('UNSUPPORTED for wrong methods; /metrics in Prometheus format; JSON access log', async () => {
    const r = await http('POST', `${env.base}/v2/some/repo/tags/list`);
    assert.equal(r.status, 405);
    assert.equal(code(r), 'UNSUPPORTED');
    const m = await http('GET', `${env.base}/metrics`);
    assert.equal(m.status, 200);
    const text = m.body.toString();
    assert.match(text, /# TYPE berth_registry_http_requests_total counter/);
    assert.match(text, /berth_registry_http_requests_total\{method="PUT",route="manifest",status="201"\} \d+/);
    assert.match(text, /berth_registry_errors_total\{code="NAME_INVALID"\} \d+/);
    assert.match(text, /berth_registry_received_bytes_total [1-9]\d*/);
    assert.match(text, /berth_registry_sent_bytes_total [1-9]\d*/);
    const entry = env.logs.find((e) => e.route === 'manifest' && e.method === 'PUT');
    assert.ok(entry);
    assert.equal(typeof entry.duration_ms, 'number');
    assert.equal(entry.status, 201);
    assert.ok(env.logs.some((e) => e.error === 'NAME_INVALID'));
  });
});

describe('registry server: configurable deletes and rate limits', () => {
  let env: Env;
  before(async () => { env = await startInProcess({ deleteEnabled: false, limits: { maxManifestBytes: 4 << 20, requestsPerSecond: 5, burst: 5 } }); });
  after(async () => { await env.server.close(); rmSync(env.root, { recursive: true, force: true }); });

  it('DELETE is UNSUPPORTED (405) when deletes are disabled; bursts get TOOMANYREQUESTS', async () => {
    const d = await http('DELETE', `${env.base}/v2/x/y/manifests/latest`);
    assert.equal(d.status, 405);
    assert.equal(code(d), 'UNSUPPORTED');
    const rs = await Promise.all(Array.from({ length: 12 }, () => http('GET', `${env.base}/v2/`)));
    const limited = rs.filter((r) => r.status === 429);
    assert.ok(limited.length > 0);
    assert.equal(code(limited[0]!), 'TOOMANYREQUESTS');
    assert.ok(limited[0]!.headers['retry-after']);
    assert.ok(existsSync(join(env.root, 'blobs', 'sha256')));
  });
});
