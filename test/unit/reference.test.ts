import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReference, familiarString, fullString, withDefaultTag } from '../../src/image/reference.js';

test('short names normalise to docker.io/library and :latest', () => {
  const r = withDefaultTag(parseReference('busybox'));
  assert.equal(fullString(r), 'docker.io/library/busybox:latest');
  assert.equal(familiarString(r), 'busybox:latest');
});

test('user repos, registries with ports, localhost, digests', () => {
  assert.deepEqual(parseReference('foo/bar:1'), { domain: 'docker.io', path: 'foo/bar', tag: '1' });
  assert.deepEqual(parseReference('localhost:5000/x'), { domain: 'localhost:5000', path: 'x' });
  assert.deepEqual(parseReference('localhost/x'), { domain: 'localhost', path: 'x' });
  assert.deepEqual(parseReference('127.0.0.1:5000/a/b:v1.2'), { domain: '127.0.0.1:5000', path: 'a/b', tag: 'v1.2' });
  assert.deepEqual(parseReference('index.docker.io/library/busybox'), { domain: 'docker.io', path: 'library/busybox' });
  const dg = 'sha256:' + 'a'.repeat(64);
  assert.deepEqual(parseReference(`busybox@${dg}`), { domain: 'docker.io', path: 'library/busybox', digest: dg });
  assert.deepEqual(parseReference(`busybox:1@${dg}`), { domain: 'docker.io', path: 'library/busybox', tag: '1', digest: dg });
  assert.equal(familiarString(parseReference('localhost:5000/x:1')), 'localhost:5000/x:1');
  assert.equal(familiarString(parseReference('foo/bar')), 'foo/bar');
});

test("uppercase is refused with Docker's text, naming the normalised repository", () => {
  assert.throws(() => parseReference('Foo'), { message: 'invalid reference format: repository name (library/Foo) must be lowercase' });
  assert.throws(() => parseReference('me/Foo:1'), { message: 'invalid reference format: repository name (me/Foo) must be lowercase' });
  assert.throws(() => parseReference('localhost:5000/Foo'), { message: 'invalid reference format: repository name (Foo) must be lowercase' });
});

test('bad characters and empty input: invalid reference format', () => {
  for (const bad of ['', 'foo!', 'a:b:c', 'foo/', '/foo', 'foo:', 'foo@sha256:short', 'foo bar', '-foo', 'foo:-bad', 'a//b']) {
    assert.throws(() => parseReference(bad), { message: 'invalid reference format' }, bad);
  }
  assert.throws(() => parseReference('foo:' + 'x'.repeat(129)), { message: 'invalid reference format' });
});

test('64-hex strings are not repository names', () => {
  const id = 'f'.repeat(64);
  assert.throws(() => parseReference(id), { message: `invalid repository name (${id}), cannot specify 64-byte hexadecimal strings` });
});

test('names longer than 255 characters are refused', () => {
  assert.throws(() => parseReference('a'.repeat(250)), { message: 'repository name must not be more than 255 characters' });
});

test('errors are InvalidParameter (HTTP 400)', () => {
  try { parseReference('Foo'); assert.fail('no throw'); } catch (e) { assert.equal((e as { kind: string }).kind, 'InvalidParameter'); }
});
