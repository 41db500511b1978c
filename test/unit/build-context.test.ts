import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync, lstatSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { extractContext, ignoreMatcher, loadIgnore, pruneIgnored, readIgnorePatterns } from '../../src/build/context.js';
import { globMatch } from '../../src/build/copy.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'berth-ctx-')); dirs.push(d); return d; };

export type TarEntry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; data?: string; linkname?: string; mode?: number };

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, mode: e.mode ?? 0o644 }, e.data ?? '');
    else pack.entry({ name: e.name, type, linkname: e.linkname, mode: e.mode ?? 0o755 });
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('plain and gzip contexts unpack with modes kept', async () => {
  const t = await makeTar([{ name: 'Dockerfile', data: 'FROM x' }, { name: 'dir/', type: 'directory' }, { name: 'dir/run.sh', data: 'x', mode: 0o755 },
    { name: 'link', type: 'symlink', linkname: 'dir/run.sh' }, { name: 'hard', type: 'link', linkname: 'dir/run.sh' }]);
  for (const body of [t, gzipSync(t)]) {
    const d = tmp();
    const r = await extractContext(Readable.from([body]), d);
    assert.equal(r.dockerfileOnly, undefined);
    assert.equal(readFileSync(join(d, 'Dockerfile'), 'utf8'), 'FROM x');
    assert.equal(lstatSync(join(d, 'dir/run.sh')).mode & 0o777, 0o755);
    assert.ok(lstatSync(join(d, 'link')).isSymbolicLink());
    assert.equal(lstatSync(join(d, 'hard')).nlink, 2);
  }
});

test('a body that is not a tar is the Dockerfile itself', async () => {
  const d = tmp();
  const r = await extractContext(Readable.from([Buffer.from('FROM busybox\nRUN true\n')]), d);
  assert.equal(r.dockerfileOnly?.toString(), 'FROM busybox\nRUN true\n');
});

test('dockerignore patterns: Docker cleaning, exceptions, parents', async () => {
  assert.deepEqual(readIgnorePatterns('# c\n\n/abs\n./rel/\n!keep\n  spaced  \n**/*.tmp\n'), ['abs', 'rel', '!keep', 'spaced', '**/*.tmp']);
  const m = ignoreMatcher(readIgnorePatterns('node_modules\n*.log\n!keep.log\ndocs/**\n!docs/README.md\n**/*.tmp\n'));
  assert.equal(m.ignores('node_modules/x/y.js'), true);
  assert.equal(m.ignores('a.log'), true);
  assert.equal(m.ignores('keep.log'), false);
  assert.equal(m.ignores('sub/a.log'), false, '*.log is only at the root');
  assert.equal(m.ignores('docs/x'), true);
  assert.equal(m.ignores('docs/README.md'), false);
  assert.equal(m.ignores('deep/er/f.tmp'), true);
  const d = tmp();
  for (const f of ['Dockerfile', 'a.log', 'keep.log', 'node_modules/m/i.js', 'docs/x', 'docs/README.md', 'src/main.c']) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), f);
  }
  writeFileSync(join(d, '.dockerignore'), 'node_modules\n*.log\n!keep.log\ndocs/**\n!docs/README.md\n');
  await pruneIgnored(d, await loadIgnore(d, 'Dockerfile'));
  for (const gone of ['a.log', 'node_modules', 'docs/x']) assert.equal(existsSync(join(d, gone)), false, gone);
  for (const kept of ['keep.log', 'docs/README.md', 'src/main.c', 'Dockerfile']) assert.equal(existsSync(join(d, kept)), true, kept);
});

test('Dockerfile.dockerignore wins over .dockerignore', async () => {
  const d = tmp();
  writeFileSync(join(d, '.dockerignore'), 'a\n');
  writeFileSync(join(d, 'build.Dockerfile.dockerignore'), 'b\n');
  const m = await loadIgnore(d, 'build.Dockerfile');
  assert.equal(m.ignores('b'), true);
  assert.equal(m.ignores('a'), false);
});

test('glob matching is Go filepath.Match per component', () => {
  assert.equal(globMatch('*.txt', 'a.txt'), true);
  assert.equal(globMatch('*.txt', 'a.md'), false);
  assert.equal(globMatch('fil?', 'file'), true);
  assert.equal(globMatch('[ab]c', 'bc'), true);
  assert.equal(globMatch('[!ab]c', 'bc'), false);
});

test('unchanged context files are linked from the blob cache, not written again', async () => {
  const { statSync } = await import('node:fs');
  const { trimContextBlobCache } = await import('../../src/build/context.js');
  const blobDir = tmp();
  const cache = { dir: blobDir, maxFileBytes: 1 << 20 };
  const t = await makeTar([{ name: 'a', data: 'same', mode: 0o644 }, { name: 'b', data: 'same', mode: 0o755 }, { name: 'big', data: 'x'.repeat(2 << 20) }]);
  const d1 = tmp();
  await extractContext(Readable.from([t]), d1, cache);
  const d2 = tmp();
  const r2 = await extractContext(Readable.from([t]), d2, cache);
  assert.equal(readFileSync(join(d2, 'a'), 'utf8'), 'same');
  assert.equal(statSync(join(d2, 'a')).ino, statSync(join(d1, 'a')).ino, 'linked from the cache');
  assert.notEqual(statSync(join(d2, 'a')).ino, statSync(join(d2, 'b')).ino, 'a different mode is a different blob');
  assert.equal(statSync(join(d2, 'b')).mode & 0o777, 0o755);
  assert.equal(statSync(join(d2, 'big')).nlink, 1, 'big files are written, not cached');
  assert.equal(r2.hashes.get('a'), r2.hashes.get('b'));
  await trimContextBlobCache(blobDir, 0);
  assert.deepEqual(readdirSync(blobDir), []);
  assert.equal(readFileSync(join(d2, 'a'), 'utf8'), 'same', 'contexts keep their links');
});

test('context-blobcache-same-content-race: identical files placed at once all land (link() of a renamed-over inode is ENOENT)', async () => {
  const { writeViaBlobCache } = await import('../../src/build/context-blobs.js');
  const { statSync } = await import('node:fs');
  const data = [Buffer.alloc(256 << 10, 'x')];
  const mtime = new Date(1_700_000_000_000);
  for (let round = 0; round < 30; round++) {
    const blobDir = tmp();
    const dest = tmp();
    const names = Array.from({ length: 8 }, (_, i) => join(dest, `f${i}`));
    await Promise.all(names.map((abs) => writeViaBlobCache(blobDir, data, 'a'.repeat(64), 0o644, mtime, abs)));
    for (const abs of names) {
      assert.equal(statSync(abs).size, 256 << 10);
      assert.equal(statSync(abs).mode & 0o777, 0o644);
    }
    assert.deepEqual(readdirSync(blobDir), [`${'a'.repeat(64)}-644-1700000000`], 'one blob, no temp files');
  }
});
