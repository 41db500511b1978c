// Path and mode rules of docker cp: entry-name cleaning, Go FileMode bits, stat of paths with
// symlinks and trailing slashes, tar naming.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, symlinkSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { cleanArchiveName, goFileMode, statPath, archivePath, ArchiveEscapeError } from '../../src/container/archive.js';
import type { ContainerRecord } from '../../src/container/types.js';

const ctr = { id: 'c', name: 'c1', hostConfig: {} } as unknown as ContainerRecord;
let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-archive-'));
  mkdirSync(join(root, 'etc', 'sub'), { recursive: true });
  writeFileSync(join(root, 'etc', 'f'), 'hello');
  writeFileSync(join(root, 'etc', 'sub', 'g'), 'g');
  symlinkSync('/etc', join(root, 'lnk'));
  symlinkSync('/nowhere', join(root, 'dangling'));
});
after(() => rmSync(root, { recursive: true, force: true }));

async function names(s: Readable): Promise<string[]> {
  const ex = tar.extract();
  const out: string[] = [];
  ex.on('entry', (h, st, next) => { out.push(h.name); st.resume(); st.on('end', next); });
  const done = new Promise<void>((r, j) => { ex.on('finish', () => r()); ex.on('error', j); });
  s.pipe(ex);
  await done;
  return out;
}

test('cleanArchiveName keeps paths inside and refuses climbing out', () => {
  assert.equal(cleanArchiveName('./a/b/'), 'a/b');
  assert.equal(cleanArchiveName('/abs/x'), 'abs/x');
  assert.equal(cleanArchiveName('a/../b'), 'b');
  assert.equal(cleanArchiveName('.'), '');
  assert.throws(() => cleanArchiveName('../x'), ArchiveEscapeError);
  assert.throws(() => cleanArchiveName('a/../../x'), ArchiveEscapeError);
});

test('goFileMode sets Go type bits', () => {
  assert.equal(goFileMode(lstatSync(join(root, 'etc'))), 2 ** 31 + 0o755);
  assert.equal(goFileMode(lstatSync(join(root, 'lnk'))), 2 ** 27 + 0o777);
  assert.equal(goFileMode(lstatSync(join(root, 'etc', 'f'))) & 0o777, lstatSync(join(root, 'etc', 'f')).mode & 0o777);
});

test('stat: a symlink is not followed but its target is resolved in the rootfs', async () => {
  const { stat } = await statPath(root, ctr, '/lnk');
  assert.equal(stat.name, 'lnk');
  assert.equal(stat.linkTarget, '/etc');
  assert.ok(stat.mode & 2 ** 27);
  const dir = await statPath(root, ctr, '/lnk/');
  assert.ok(dir.stat.mode & 2 ** 31, 'a trailing slash follows the link');
  assert.match(dir.stat.mtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const d2 = await statPath(root, ctr, '/dangling');
  assert.equal(d2.stat.linkTarget, '/nowhere');
});

test('stat of a missing path: Docker\'s 404 message', async () => {
  await assert.rejects(statPath(root, ctr, '/nope/x'), (e: Error & { kind?: string }) => e.kind === 'NotFound' && e.message === 'Could not find the file /nope/x in container c1');
});

test('archive names entries after the requested path', async () => {
  assert.deepEqual(await names((await archivePath(root, ctr, '/etc')).stream), ['etc/', 'etc/f', 'etc/sub/', 'etc/sub/g']);
  assert.deepEqual(await names((await archivePath(root, ctr, '/lnk')).stream), ['lnk']);
  assert.deepEqual(await names((await archivePath(root, ctr, '/lnk/')).stream), ['lnk/', 'lnk/f', 'lnk/sub/', 'lnk/sub/g']);
  assert.deepEqual(await names((await archivePath(root, ctr, '/etc/f')).stream), ['f']);
});
