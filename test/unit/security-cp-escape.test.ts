// docker cp into a container must never write outside its rootfs: tar entries with `..`,
// symlinks planted by the tar or already in the container, and hard links are each tried.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, readdirSync, symlinkSync, existsSync, lstatSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { extractArchive, ArchiveEscapeError } from '../../src/container/archive.js';
import type { ContainerRecord } from '../../src/container/types.js';

interface E { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; body?: string; linkname?: string }

function tarOf(entries: E[]): Readable {
  const pack = tar.pack();
  for (const e of entries) {
    if ((e.type ?? 'file') === 'file') pack.entry({ name: e.name, mode: 0o644 }, e.body ?? 'x');
    else pack.entry({ name: e.name, type: e.type, linkname: e.linkname, mode: e.type === 'directory' ? 0o755 : 0o777 });
  }
  pack.finalize();
  return pack as unknown as Readable;
}

const ctr = { id: 'c', name: 'victim', hostConfig: {} } as unknown as ContainerRecord;
const opts = { copyUidGid: false, noOverwriteDirNonDir: true };
let base: string; let root: string; let outside: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'berth-cp-sec-'));
  root = join(base, 'rootfs');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'data'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'host secret');
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

const outsideUntouched = () => {
  assert.deepEqual(readdirSync(outside).sort(), ['secret']);
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret');
  assert.equal(statSync(join(outside, 'secret')).nlink, 1);
  assert.deepEqual(readdirSync(base).sort(), ['outside', 'rootfs']);
};

test('copy-dotdot-escape: an entry ../../outside/pwned is refused', async () => {
  await assert.rejects(extractArchive(root, ctr, '/data', tarOf([{ name: '../../outside/pwned' }]), opts), ArchiveEscapeError);
  await assert.rejects(extractArchive(root, ctr, '/data', tarOf([{ name: 'a/../../../../outside/pwned' }]), opts), ArchiveEscapeError);
  outsideUntouched();
});

test('copy-dotdot-escape: a destination path of /../../.. stays in the rootfs', async () => {
  await extractArchive(root, ctr, '/../../..', tarOf([{ name: 'top' }]), opts);
  assert.ok(existsSync(join(root, 'top')));
  outsideUntouched();
});

test('copy-symlink-escape: a symlink planted by the tar is followed inside the rootfs only', async () => {
  await extractArchive(root, ctr, '/data', tarOf([
    { name: 'evil', type: 'symlink', linkname: outside },
    { name: 'evil/pwned', body: 'p' },
    { name: 'rel', type: 'symlink', linkname: '../../../../../../../../..' + outside },
    { name: 'rel/pwned2', body: 'p' },
  ]), opts);
  outsideUntouched();
  assert.equal(readFileSync(join(root, outside, 'pwned'), 'utf8'), 'p');
  assert.equal(readFileSync(join(root, outside, 'pwned2'), 'utf8'), 'p');
});

test('copy-symlink-escape: a symlink already in the container, used as destination, resolves inside', async () => {
  symlinkSync(outside, join(root, 'data', 'link'));
  await extractArchive(root, ctr, '/data/link', tarOf([{ name: 'pwned' }]), opts).catch((e: Error) => assert.match(e.message, /Could not find the file/));
  outsideUntouched();
  mkdirSync(join(root, outside), { recursive: true });
  await extractArchive(root, ctr, '/data/link', tarOf([{ name: 'pwned' }]), opts);
  assert.ok(existsSync(join(root, outside, 'pwned')));
  outsideUntouched();
});

test('copy-symlink-escape: a file entry replaces a symlink instead of writing through it', async () => {
  symlinkSync(join(outside, 'secret'), join(root, 'data', 'f'));
  await extractArchive(root, ctr, '/data', tarOf([{ name: 'f', body: 'new' }]), opts);
  assert.ok(!lstatSync(join(root, 'data', 'f')).isSymbolicLink());
  assert.equal(readFileSync(join(root, 'data', 'f'), 'utf8'), 'new');
  outsideUntouched();
});

test('copy-hardlink-escape: hard links to ../ or through symlinks never reach host files', async () => {
  await assert.rejects(extractArchive(root, ctr, '/data', tarOf([{ name: 'h', type: 'link', linkname: '../../outside/secret' }]), opts), ArchiveEscapeError);
  symlinkSync(outside, join(root, 'data', 'l'));
  await assert.rejects(extractArchive(root, ctr, '/data', tarOf([{ name: 'h2', type: 'link', linkname: 'l/secret' }]), opts));
  await assert.rejects(extractArchive(root, ctr, '/data', tarOf([{ name: 'h3', type: 'link', linkname: outside + '/secret' }]), opts));
  outsideUntouched();
});

test('copy-symlink-escape: a directory entry through a symlinked parent lands inside', async () => {
  symlinkSync('/', join(root, 'data', 'up'));
  await extractArchive(root, ctr, '/data', tarOf([{ name: 'up/../../../outside-dir', type: 'directory' }]), opts).catch(() => undefined);
  await extractArchive(root, ctr, '/data', tarOf([{ name: 'up/etc2', type: 'directory' }, { name: 'up/etc2/x' }]), opts);
  assert.ok(existsSync(join(root, 'etc2', 'x')));
  assert.ok(!existsSync('/etc2'));
  outsideUntouched();
});
