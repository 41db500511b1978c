// runtime-binary-readonly (CVE-2019-5736): the runtime berthd executes, which a container's init
// briefly is, can never be written through /proc/<pid>/exe; and making it leaves no mount behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealedRuntimeBinary } from '../../src/container/runtime-binary.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-rtbin-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const crun = ['/usr/bin/crun', '/usr/local/bin/crun'].find((p) => existsSync(p));

test('runtime-binary-readonly: the view berthd runs is read-only, works, and is not in the mount table', { skip: !crun || process.getuid?.() !== 0 }, () => {
  const { binary, fallback } = sealedRuntimeBinary(crun as string, dir);
  assert.equal(fallback, undefined);
  assert.match(binary.execPath, /^\/proc\/\d+\/fd\/\d+$/);
  assert.equal(binary.env._LIBCONTAINER_CLONED_BINARY, '1');
  assert.throws(() => closeSync(openSync(binary.execPath, 'r+')), { code: 'EROFS' });
  const v = spawnSync(binary.execPath, ['--version'], { env: binary.env, encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /crun version/);
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), false, 'no mount is left under the scratch dir');
  assert.deepEqual(spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout, '');
});
