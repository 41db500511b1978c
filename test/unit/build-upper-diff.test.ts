import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { makeSpecialFiles } from '../../src/util/fsops.js';
import { changesToTar, upperChanges } from '../../src/build/upper-diff.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

test('overlay upper dir → OCI layer: whiteouts, opaque dirs, mount points left out', async () => {
  const upper = mkdtempSync(join(tmpdir(), 'berth-upper-'));
  dirs.push(upper);
  mkdirSync(join(upper, 'etc'));
  writeFileSync(join(upper, 'etc', 'new.conf'), 'x');
  await makeSpecialFiles([{ path: join(upper, 'etc', 'gone'), kind: 'whiteout' }]);
  mkdirSync(join(upper, 'var'));
  mkdirSync(join(upper, 'var', 'cache'));
  await makeSpecialFiles([], [join(upper, 'var', 'cache')]);
  symlinkSync('new.conf', join(upper, 'etc', 'link'));
  // mount points the runtime created for build mounts and /etc/hosts
  mkdirSync(join(upper, 'run', 'secrets'), { recursive: true });
  writeFileSync(join(upper, 'run', 'secrets', 'tok'), '');
  writeFileSync(join(upper, 'etc', 'hosts'), '');
  const below = new Set(['/etc', '/var', '/var/cache']);
  const changes = await upperChanges(upper, { mountPoints: ['/run/secrets/tok', '/etc/hosts'], existsBelow: async (p) => below.has(p) });
  const names: string[] = [];
  const ex = tar.extract();
  const done = (async () => { for await (const e of ex) { names.push(`${e.header.type}:${e.header.name}`); e.resume(); } })();
  changesToTar(upper, changes).pipe(ex);
  await done;
  assert.deepEqual(names.sort(), [
    'directory:etc', 'directory:var', 'directory:var/cache', 'file:etc/.wh.gone', 'file:etc/new.conf', 'file:var/cache/.wh..wh..opq', 'symlink:etc/link',
  ]);
});

test('an upper dir with only mount points is no change', async () => {
  const upper = mkdtempSync(join(tmpdir(), 'berth-upper-'));
  dirs.push(upper);
  mkdirSync(join(upper, 'src'));
  const changes = await upperChanges(upper, { mountPoints: ['/src'], existsBelow: async () => false });
  assert.equal(changes.items.length, 0);
});
