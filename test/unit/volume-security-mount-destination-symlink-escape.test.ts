// Security regression: a mount destination that is a symlink inside the image (absolute, or
// climbing with ..) must resolve inside the container's rootfs, and berth must never create
// mountpoints on the host outside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, symlinkSync, existsSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeMountpoint } from '../../src/volume/service.js';

function setup(t: { after: (fn: () => void) => void }) {
  const base = mkdtempSync(join(tmpdir(), 'berth-vol-sec-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const rootfs = join(base, 'rootfs');
  const outside = join(base, 'outside');
  mkdirSync(rootfs);
  mkdirSync(outside);
  return { base, rootfs, outside };
}

test('absolute symlink to a host path stays inside the rootfs', (t) => {
  const { rootfs, outside } = setup(t);
  symlinkSync(outside, join(rootfs, 'data'));
  const dest = makeMountpoint(rootfs, '/data/sub', true);
  assert.equal(dest, outside.replace(/^\//, '/') + '/sub');
  assert.ok(existsSync(join(rootfs, outside, 'sub')), 'created inside the rootfs');
  assert.ok(!existsSync(join(outside, 'sub')), 'nothing created on the host');
});

test('relative symlink climbing with .. is clamped at the rootfs', (t) => {
  const { rootfs, outside } = setup(t);
  mkdirSync(join(rootfs, 'etc'));
  symlinkSync('../../../../../../outside', join(rootfs, 'etc', 'evil'));
  const dest = makeMountpoint(rootfs, '/etc/evil', true);
  assert.equal(dest, '/outside');
  assert.ok(statSync(join(rootfs, 'outside')).isDirectory());
  assert.ok(!existsSync(join(outside, 'x')));
});

test('destination given with .. cannot leave the rootfs', (t) => {
  const { rootfs, base } = setup(t);
  const dest = makeMountpoint(rootfs, '/../../escape', true);
  assert.equal(dest, '/escape');
  assert.ok(!existsSync(join(base, 'escape')));
});

test('a symlink to / as destination is refused (would mount over the container root)', (t) => {
  const { rootfs } = setup(t);
  symlinkSync('/', join(rootfs, 'root-link'));
  assert.throws(() => makeMountpoint(rootfs, '/root-link', true), /resolves to the container's root/);
});

test('file mountpoints are created as files inside the rootfs', (t) => {
  const { rootfs, outside } = setup(t);
  symlinkSync(join(outside, 'f'), join(rootfs, 'conf'));
  const dest = makeMountpoint(rootfs, '/conf', false);
  assert.equal(dest, join(outside, 'f'));
  assert.ok(statSync(join(rootfs, outside, 'f')).isFile());
  assert.ok(!existsSync(join(outside, 'f')));
});
