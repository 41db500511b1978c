// Named regressions: a layer tar must never write outside the layer root
// (cve-2014-6407-style symlink and hard-link escapes, `../` entries).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, existsSync, readFileSync, rmSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { unpackTar, UnsafeTarEntryError, cleanEntryPath } from '../../src/image/unpack.js';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; body?: string; mode?: number };

function tarOf(entries: Entry[]): Readable {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'file' || e.type === undefined) pack.entry({ name: e.name, mode: e.mode ?? 0o644 }, e.body ?? '');
    else pack.entry({ name: e.name, type: e.type, linkname: e.linkname, mode: e.mode ?? 0o755 });
  }
  pack.finalize();
  return Readable.from(pack, { objectMode: false });
}

function sandbox(): { root: string; outside: string; done: () => void } {
  const base = mkdtempSync(join(tmpdir(), 'berth-unpack-'));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(root); mkdirSync(outside);
  return { root, outside, done: () => rmSync(base, { recursive: true, force: true }) };
}

test('layer-dotdot-escape: ../ entries are refused', async () => {
  const s = sandbox();
  try {
    await assert.rejects(unpackTar(tarOf([{ name: '../outside/pwned', body: 'x' }]), s.root, { overlayWhiteouts: true }), UnsafeTarEntryError);
    assert.equal(existsSync(join(s.outside, 'pwned')), false);
  } finally { s.done(); }
});

test('cve-2014-6407-tar-symlink: writing through a symlinked parent is refused', async () => {
  const s = sandbox();
  try {
    await assert.rejects(unpackTar(tarOf([
      { name: 'evil', type: 'symlink', linkname: s.outside },
      { name: 'evil/pwned', body: 'x' },
    ]), s.root, { overlayWhiteouts: true }), UnsafeTarEntryError);
    assert.equal(existsSync(join(s.outside, 'pwned')), false);
  } finally { s.done(); }
});

test('layer-symlink-overwrite: a file entry replaces a symlink instead of writing through it', async () => {
  const s = sandbox();
  try {
    await unpackTar(tarOf([
      { name: 'target', type: 'symlink', linkname: join(s.outside, 'victim') },
      { name: 'target', body: 'inside' },
    ]), s.root, { overlayWhiteouts: true });
    assert.equal(existsSync(join(s.outside, 'victim')), false);
    assert.equal(readFileSync(join(s.root, 'target'), 'utf8'), 'inside');
  } finally { s.done(); }
});

test('layer-hardlink-escape: hard links to files outside the root are refused', async () => {
  const s = sandbox();
  try {
    await assert.rejects(unpackTar(tarOf([{ name: 'h', type: 'link', linkname: '../outside/x' }]), s.root, { overlayWhiteouts: true }), UnsafeTarEntryError);
    await assert.rejects(unpackTar(tarOf([{ name: 'h2', type: 'link', linkname: '/etc/passwd' }]), s.root, { overlayWhiteouts: true }));
  } finally { s.done(); }
});

test('absolute entry names land inside the root; absolute symlinks are kept, not followed', async () => {
  const s = sandbox();
  try {
    await unpackTar(tarOf([
      { name: '/etc/', type: 'directory' },
      { name: '/etc/hostname', body: 'box\n' },
      { name: 'bin/', type: 'directory' },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
    ]), s.root, { overlayWhiteouts: true });
    assert.equal(readFileSync(join(s.root, 'etc', 'hostname'), 'utf8'), 'box\n');
    assert.ok(lstatSync(join(s.root, 'bin', 'sh')).isSymbolicLink());
    assert.equal(readlinkSync(join(s.root, 'bin', 'sh')), '/bin/busybox');
  } finally { s.done(); }
});

test('OCI whiteouts become overlayfs whiteouts (char 0/0) and opaque markers', async () => {
  const s = sandbox();
  try {
    await unpackTar(tarOf([
      { name: 'gone/', type: 'directory' },
      { name: '.wh.deleted', body: '' },
      { name: 'gone/.wh..wh..opq', body: '' },
    ]), s.root, { overlayWhiteouts: true });
    const st = lstatSync(join(s.root, 'deleted'));
    assert.ok(st.isCharacterDevice());
    assert.equal(st.rdev, 0);
  } finally { s.done(); }
});

test('cleanEntryPath normalises and refuses climbing above the root', () => {
  assert.equal(cleanEntryPath('./a/b/../c'), 'a/c');
  assert.equal(cleanEntryPath('/abs/x'), 'abs/x');
  assert.throws(() => cleanEntryPath('a/../../x'), UnsafeTarEntryError);
});
