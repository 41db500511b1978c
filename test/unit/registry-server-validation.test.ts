import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globToRegExp, parseConfig } from '../../src/registry/server/config.js';
import { RegistryError } from '../../src/registry/server/errors.js';
import { parseManifest } from '../../src/registry/server/manifest.js';
import { checkDigest, isValidName, isValidTag } from '../../src/registry/server/names.js';

const D = (c: string): string => `sha256:${c.repeat(64)}`;

describe('registry names, tags and digests', () => {
  it('accepts distribution repository names and rejects the rest', () => {
    for (const n of ['a', 'library/busybox', 'a.b_c__d-e--f/g9', 'x/y/z/w', '0/1']) assert.ok(isValidName(n), n);
    for (const n of ['', 'A', 'a/B', '/a', 'a/', 'a//b', '..', 'a/../b', '.a', 'a.', '_a', 'a/_b', 'a___b', 'a%2fb', 'a b', 'a:b', 'a'.repeat(256)]) {
      assert.ok(!isValidName(n), n);
    }
  });
  it('tags', () => {
    for (const t of ['latest', 'v1.2.3', '_x', 'A-b.c_d', 'a'.repeat(128)]) assert.ok(isValidTag(t), t);
    for (const t of ['', '.x', '-x', 'a/b', 'a:b', 'a'.repeat(129), '..']) assert.ok(!isValidTag(t), t);
  });
  it('digests: only sha256, with a clear reason', () => {
    assert.equal(checkDigest(D('a')), 'a'.repeat(64));
    for (const d of ['sha256:abc', 'sha256:' + 'A'.repeat(64), 'sha512:' + 'a'.repeat(128), 'sha256:../../etc/passwd', 'nope']) {
      assert.throws(() => checkDigest(d), (e: unknown) => e instanceof RegistryError && e.code === 'DIGEST_INVALID', d);
    }
    assert.throws(() => checkDigest('sha512:' + 'a'.repeat(128)), /unsupported digest algorithm/);
  });
});

describe('registry config', () => {
  it('globs: * stays in one component, ** crosses', () => {
    assert.ok(globToRegExp('lib/*').test('lib/a'));
    assert.ok(!globToRegExp('lib/*').test('lib/a/b'));
    assert.ok(globToRegExp('lib/**').test('lib/a/b'));
    assert.ok(!globToRegExp('lib.x').test('libax'));
  });
  it('parses a full config and resolves paths against the file', () => {
    const c = parseConfig({
      auth: { htpasswd: 'users', challenge: 'basic', tokenTtlSeconds: 60 },
      groups: { devs: ['a'] },
      repositories: [{ match: 'p/*', access: 'public', push: ['group:devs'] }],
      delete: true,
      gc: { gracePeriodSeconds: 0 },
      limits: { requestsPerSecond: 10 },
      log: { access: false },
    }, '/etc/berth');
    assert.equal(c.auth?.htpasswd, '/etc/berth/users');
    assert.equal(c.auth?.challenge, 'basic');
    assert.equal(c.auth?.service, 'berth-registry');
    assert.equal(c.repositories[0]!.pattern.test('p/x'), true);
    assert.equal(c.deleteEnabled, true);
    assert.equal(c.gc.gracePeriodSeconds, 0);
    assert.equal(c.gc.uploadPurgeAgeSeconds, 86400);
    assert.equal(c.log.access, false);
  });
  it('rejects unknown keys, bad values and unknown groups with the path of the problem', () => {
    assert.throws(() => parseConfig({ delet: true }, '/'), /\$\.delet: unknown key/);
    assert.throws(() => parseConfig({ auth: {} }, '/'), /\$\.auth\.htpasswd: must be a non-empty string/);
    assert.throws(() => parseConfig({ repositories: [{ match: 'a', access: 'open' }] }, '/'), /access: must be "public" or "private"/);
    assert.throws(() => parseConfig({ repositories: [{ match: 'a', pull: ['group:nope'] }] }, '/'), /unknown group "nope"/);
    assert.throws(() => parseConfig({ gc: { gracePeriodSeconds: -1 } }, '/'), /must be a number >= 0/);
    assert.throws(() => parseConfig([], '/'), /must be an object/);
  });
});

describe('manifest validation', () => {
  const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('c'), size: 2 };
  const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('1'), size: 10 };
  const img = (extra: Record<string, unknown> = {}): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: cfg, layers: [layer], ...extra }));
  const invalid = (body: Buffer | string, ct?: string, re?: RegExp): void => {
    assert.throws(() => parseManifest(Buffer.from(body), ct), (e: unknown) => e instanceof RegistryError && e.code === 'MANIFEST_INVALID' && (!re || re.test(e.message)));
  };
  it('returns the references an image manifest makes, and its artifactType', () => {
    const p = parseManifest(img(), 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(p.blobs.map((b) => b.digest), [D('c'), D('1')]);
    assert.equal(p.artifactType, cfg.mediaType);
    const q = parseManifest(img({ artifactType: 'x/y', subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('f'), size: 3 } }), undefined);
    assert.equal(q.artifactType, 'x/y');
    assert.equal(q.subject?.digest, D('f'));
  });
  it('indexes and Docker schema2; mediaType inferred when absent', () => {
    const idx = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('e'), size: 5 }] })), 'application/json');
    assert.equal(idx.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(idx.manifests.map((m) => m.digest), [D('e')]);
    const docker = parseManifest(img({ mediaType: 'application/vnd.docker.distribution.manifest.v2+json' }), 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(docker.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  });
  it('skips foreign layers that carry urls', () => {
    const p = parseManifest(img({ layers: [{ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: D('9'), size: 1, urls: ['https://x'] }] }), undefined);
    assert.deepEqual(p.blobs.map((b) => b.digest), [D('c')]);
  });
  it('rejects malformed manifests precisely', () => {
    invalid('not json', undefined, /not valid JSON/);
    invalid('[]', undefined, /JSON object/);
    invalid(img({ schemaVersion: 1 }), undefined, /schema1/);
    invalid(img(), 'application/vnd.oci.image.index.v1+json', /does not match/);
    invalid(img({ mediaType: 'text/plain' }), undefined, /unsupported manifest media type/);
    invalid(img({ config: undefined }), undefined, /config must be a descriptor/);
    invalid(img({ layers: 'x' }), undefined, /layers must be an array/);
    invalid(img({ layers: [{ ...layer, size: -1 }] }), undefined, /size must be a non-negative integer/);
    invalid(img({ layers: [{ ...layer, mediaType: undefined }] }), undefined, /mediaType is required/);
    invalid(img({ annotations: { a: 1 } }), undefined, /annotations/);
    invalid(img({ manifests: [] }), undefined, /no "manifests"/);
    assert.throws(() => parseManifest(img({ layers: [{ ...layer, digest: 'sha256:nope' }] }), undefined), (e: unknown) => e instanceof RegistryError && e.code === 'DIGEST_INVALID');
  });
});
