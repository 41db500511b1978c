// unpackTar writes small files while it reads the next entries; these cases pin down that the
// result, and every refusal, is exactly what a sequential unpack gives.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, lstatSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackTar } from '../../src/image/unpack.js';
import { tarEntries, TarEntry } from '../integration/registry-client-fixture.js';

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-unpack-order-'));
  after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function unpack(entries: TarEntry[], root = dir()): Promise<string> {
  await unpackTar(Readable.from([await tarEntries(entries)]), root, { overlayWhiteouts: true });
  return root;
}

test('a later entry for the same file wins', async () => {
  const r = await unpack([{ name: 'f', body: 'one' }, { name: 'g', body: 'x' }, { name: 'f', body: 'two' }]);
  assert.equal(readFileSync(join(r, 'f'), 'utf8'), 'two');
});

test('a file below a file that is still being written is refused', async () => {
  await assert.rejects(unpack([{ name: 'a/x', body: '1' }, { name: 'a/x/y', body: '2' }]), /parent a\/x is not a directory/);
});

test('a file replacing a directory with pending writes inside ends as that file', async () => {
  const r = await unpack([{ name: 'a/f1', body: '1' }, { name: 'a/f2', body: '2' }, { name: 'a', body: 'now a file' }]);
  assert.ok(lstatSync(join(r, 'a')).isFile());
  assert.equal(readFileSync(join(r, 'a'), 'utf8'), 'now a file');
});

test('cve-2014-6407-tar-symlink (concurrent writes): a directory swapped for a symlink is not written through', async () => {
  const outside = dir();
  const root = dir();
  await assert.rejects(unpack([
    { name: 'd/', type: 'directory' }, { name: 'd/f1', body: '1' }, { name: 'd/f2', body: '2' },
    { name: 'd', type: 'symlink', linkname: outside }, { name: 'd/evil', body: 'pwned' },
  ], root), /parent d is a symlink/);
  assert.deepEqual(readdirSync(outside), []);
  assert.ok(!existsSync(join(outside, 'evil')));
});

test('many small files in many directories all land with their content', async () => {
  const entries: TarEntry[] = [];
  for (let i = 0; i < 300; i++) entries.push({ name: `d${i % 7}/f${i}`, body: `content ${i}` });
  const r = await unpack(entries);
  for (let i = 0; i < 300; i += 37) assert.equal(readFileSync(join(r, `d${i % 7}`, `f${i}`), 'utf8'), `content ${i}`);
});
