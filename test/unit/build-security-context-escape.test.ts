// Regression tests for build-context escapes: a context tar or a COPY source must never reach
// outside the context directory (CVE-2014-6407-style tar tricks, symlink breakouts).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, symlinkSync, mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { extractContext, ContextEscapeError } from '../../src/build/context.js';
import { planCopy, resolveInRoot } from '../../src/build/copy.js';
import { makeTar } from './build-context.test.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'berth-esc-')); dirs.push(d); return d; };

/** A context dir and, beside it, a dir outside it that nothing may reach. */
function ctxBesideOutside(): { base: string; outside: string; dest: string } {
  const base = tmp();
  const outside = join(base, 'outside');
  const dest = join(base, 'ctx');
  mkdirSync(outside);
  mkdirSync(dest);
  return { base, outside, dest };
}

async function refuses(entries: Parameters<typeof makeTar>[0], outside: string) {
  const base = tmp();
  const dest = join(base, 'ctx');
  mkdirSync(dest);
  await assert.rejects(extractContext(Readable.from([await makeTar(entries)]), dest), ContextEscapeError);
  assert.equal(existsSync(join(base, outside)), false, `${outside} must not be written`);
}

test('context-dotdot-escape: ../ entries are refused', async () => {
  await refuses([{ name: '../evil', data: 'x' }], 'evil');
  await refuses([{ name: 'a/../../evil', data: 'x' }], 'evil');
});

test('context-absolute-path: absolute entries are refused', async () => {
  const base = tmp();
  await assert.rejects(extractContext(Readable.from([await makeTar([{ name: `${base}/abs-evil`, data: 'x' }])]), join(base)), /absolute path/);
  assert.equal(existsSync(join(base, 'abs-evil')), false);
});

test('context-symlink-parent: writing through a symlinked directory is refused', async () => {
  const { outside, dest } = ctxBesideOutside();
  await assert.rejects(extractContext(Readable.from([await makeTar([
    { name: 'link', type: 'symlink', linkname: outside },
    { name: 'link/evil', data: 'x' },
  ])]), dest), /a parent directory is a symlink/);
  assert.equal(existsSync(join(outside, 'evil')), false);
});

test('context-hardlink-escape: hard links to files outside are refused', async () => {
  await refuses([{ name: 'h', type: 'link', linkname: '../../etc/passwd' }], 'h');
});

test('copy-symlink-escape: COPY through a symlink pointing outside the context is refused', async () => {
  const base = tmp();
  const ctx = join(base, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(base, 'secret'), 'host secret');
  symlinkSync('../secret', join(ctx, 'rel'));
  symlinkSync(join(base, 'secret'), join(ctx, 'abs'));
  mkdirSync(join(ctx, 'd'));
  symlinkSync('../..', join(ctx, 'd', 'up'));
  for (const src of ['rel', 'abs', 'd/up/secret', '../secret']) {
    await assert.rejects(planCopy({
      root: ctx, strictRoot: true, sources: [src], contents: [], dest: '/x', destIsDir: async () => false, unpackArchives: false, command: 'COPY',
    }), /forbidden path outside the build context/, src);
  }
  // In an image's rootfs (COPY --from), links resolve as in a chroot instead.
  const rootfs = join(base, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  writeFileSync(join(rootfs, 'bin', 'busybox'), 'bb');
  symlinkSync('/bin/busybox', join(rootfs, 'bin', 'sh'));
  symlinkSync('../../../../bin/busybox', join(rootfs, 'climb'));
  assert.equal(await resolveInRoot(rootfs, 'bin/sh', false, 'bin/sh'), 'bin/busybox');
  assert.equal(await resolveInRoot(rootfs, 'climb', false, 'climb'), 'bin/busybox');
});

test('context-symlink-swap-blobcache: files still being placed by the worker are never written through a swapped-in symlink', async () => {
  const { base, outside, dest } = ctxBesideOutside();
  const cache = { dir: join(base, 'blobs'), maxFileBytes: 16 << 20 };
  mkdirSync(cache.dir);
  const big = 'x'.repeat(3 << 20);
  await assert.rejects(extractContext(Readable.from([await makeTar([
    { name: 'd/a', data: big },
    { name: 'd/b', data: big },
    { name: 'd', type: 'symlink', linkname: outside },
    { name: 'd/c', data: 'x' },
  ])]), dest, cache), /a parent directory is a symlink/);
  assert.deepEqual(readdirSync(outside), []);
});
