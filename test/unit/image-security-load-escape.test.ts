// Regression tests: an image archive may not name or link anything outside itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after } from 'node:test';
import { makeEngine, tarEntries } from '../integration/registry-client-fixture.js';

function engine() {
  const e = makeEngine();
  after(() => e.close());
  return e;
}

test('load-dotdot-entry: ../ in an archive entry is refused', async () => {
  const b = engine();
  const archive = await tarEntries([{ name: '../../escaped', body: 'x' }, { name: 'manifest.json', body: '[]' }]);
  await assert.rejects(b.svc.load(Readable.from([archive]), () => {}), /refusing to unpack tar entry "..\/..\/escaped": path escapes the root/);
  assert.ok(!existsSync(join(b.root, '..', 'escaped')));
});

test('load-symlink-outside: a symlink out of the archive is refused', async () => {
  const b = engine();
  for (const linkname of ['/etc/shadow', '../../../etc/shadow']) {
    const archive = await tarEntries([
      { name: 'layer.tar', type: 'symlink', linkname },
      { name: 'manifest.json', body: '[]' },
    ]);
    await assert.rejects(b.svc.load(Readable.from([archive]), () => {}), /refusing to unpack tar entry "layer.tar"/);
  }
});

test('load-hardlink-outside: a hard link out of the archive is refused', async () => {
  const b = engine();
  const archive = await tarEntries([{ name: 'x', type: 'link', linkname: '../../etc/passwd' }, { name: 'manifest.json', body: '[]' }]);
  await assert.rejects(b.svc.load(Readable.from([archive]), () => {}), /refusing to unpack tar entry "x"/);
  assert.equal(b.d.images.list().length, 0);
  assert.deepEqual(readdirSync(join(b.root, 'blobs', 'sha256')), []);
});
