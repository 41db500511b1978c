// Volumes against an imported image: the image's VOLUME gets an anonymous volume filled from the
// image (copy-up) and removed by run --rm; and the security regression
// volume-security-destination-symlink-escape: an image whose mount destination is a symlink to a
// host path (absolute, or climbing with ..) cannot make a bind or volume land outside its rootfs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, symlinkSync, copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, docker as dockerCli, TestDaemon, CliResult } from '../helpers/daemon.js';

function docker(daemon: TestDaemon, args: string[], input?: string): CliResult {
  const a = args[0] === 'run' || args[0] === 'create' ? [args[0], '--network', 'none', ...args.slice(1)] : args;
  return dockerCli(daemon, a, input);
}

let d: TestDaemon;
let scratch: string;
/** A host directory the image's symlinks point at: nothing may ever appear in it. */
let outside: string;
const IMAGE = 'berth-vol-test/evil:1';

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'berth-vol-img-'));
  outside = join(scratch, 'outside');
  mkdirSync(outside);
  const root = join(scratch, 'rootfs');
  for (const dir of ['bin', 'data', 'etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  spawnSync('chmod', ['755', join(root, 'bin', 'busybox')]);
  for (const cmd of ['sh', 'cat', 'ls', 'touch', 'grep', 'echo', 'test', 'readlink', 'true']) symlinkSync('busybox', join(root, 'bin', cmd));
  writeFileSync(join(root, 'data', 'hello'), 'from the image\n');
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  // The attacks: an absolute symlink and a climbing relative one, both aimed at `outside`.
  symlinkSync(outside, join(root, 'abs'));
  symlinkSync(`../../../../../../../../../..${outside}`, join(root, 'etc', 'climb'));
  const tar = join(scratch, 'rootfs.tar');
  const t = spawnSync('tar', ['-C', root, '-cf', tar, '.']);
  assert.equal(t.status, 0, t.stderr?.toString());
  d = await startDaemon();
  const imp = docker(d, ['import', '--change', 'VOLUME /data', '--change', 'CMD ["sh"]', tar, IMAGE]);
  assert.equal(imp.code, 0, imp.stderr);
});

after(async () => {
  await d?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function ok(args: string[]): string {
  const r = docker(d, args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('image VOLUME: anonymous volume with the image content, removed by run --rm', () => {
  assert.equal(ok(['run', '--rm', IMAGE, 'cat', '/data/hello']), 'from the image\n');
  assert.equal(ok(['volume', 'ls', '-q']), '');
  ok(['create', '--name', 'keeper', IMAGE, 'cat', '/data/hello']);
  const mounts = JSON.parse(ok(['inspect', '-f', '{{json .Mounts}}', 'keeper'])) as { Type: string; Name: string; Destination: string; Mode: string; RW: boolean }[];
  assert.equal(mounts.length, 1);
  assert.equal(mounts[0].Type, 'volume');
  assert.equal(mounts[0].Destination, '/data');
  assert.match(mounts[0].Name, /^[a-f0-9]{64}$/);
  ok(['start', '-a', 'keeper']);
  assert.equal(readFileSync(join(d.dataRoot, 'volumes', mounts[0].Name, '_data', 'hello'), 'utf8'), 'from the image\n');
  ok(['rm', '-v', 'keeper']);
  assert.equal(ok(['volume', 'ls', '-q']), '');
  // A named volume over the VOLUME path is filled too, and kept.
  assert.equal(ok(['run', '--rm', '-v', 'named-data:/data', IMAGE, 'cat', '/data/hello']), 'from the image\n');
  assert.equal(ok(['volume', 'ls', '-q']), 'named-data\n');
  ok(['volume', 'rm', 'named-data']);
});

test('volume-security-destination-symlink-escape: binds and volumes stay inside the rootfs', () => {
  const src = join(scratch, 'bindsrc');
  mkdirSync(src);
  writeFileSync(join(src, 'marker'), 'bound\n');
  // Absolute symlink: /abs -> <outside>. The mount must land at <rootfs>/<outside>/x.
  const out1 = ok(['run', '--rm', '-v', `${src}:/abs/x`, IMAGE, 'sh', '-c', `cat /abs/x/marker; cat ${outside}/x/marker`]);
  assert.equal(out1, 'bound\nbound\n');
  // Climbing relative symlink, with a volume and with --mount.
  ok(['run', '--rm', '-v', 'escvol:/etc/climb/y', IMAGE, 'sh', '-c', 'echo in-volume > /etc/climb/y/f']);
  assert.equal(readFileSync(join(d.dataRoot, 'volumes', 'escvol', '_data', 'f'), 'utf8'), 'in-volume\n');
  ok(['run', '--rm', '--mount', `type=bind,src=${src},dst=/etc/climb`, IMAGE, 'cat', `${outside}/marker`]);
  ok(['run', '--rm', '--tmpfs', '/abs/t', IMAGE, 'true']);
  // Nothing was created or mounted on the host side.
  assert.deepEqual(readdirSync(outside), []);
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  assert.ok(!mountinfo.split('\n').some((l) => (l.split(' ')[4] ?? '').startsWith(outside)), 'no mount under the outside dir');
  assert.ok(!existsSync(join(outside, 'x')));
  ok(['volume', 'rm', 'escvol']);
});
