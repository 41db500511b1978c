// docker diff and commit's layer from an overlay upper dir: whiteouts are deletions, copied-up
// parents with nothing changed under them are not changes, runtime mount points are left out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { makeSpecialFiles } from '../../src/util/fsops.js';
import { containerChanges, changesLayerTar } from '../../src/container/changes.js';
import { readNetDev, systemCpuUsageNs } from '../../src/container/stats.js';
import type { ContainerService } from '../../src/container/service.js';
import type { ImageStore } from '../../src/image/store.js';
import type { ContainerRecord } from '../../src/container/types.js';

let base: string;
let svc: ContainerService;
let images: ImageStore;
const c = { id: 'cid', topChainId: 'sha256:top' } as unknown as ContainerRecord;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'berth-changes-'));
  const lower = join(base, 'lower');
  const upper = join(base, 'ctr', 'upper');
  for (const d of ['etc', 'bin', 'tmp', 'var/lib/opq']) mkdirSync(join(lower, d), { recursive: true });
  writeFileSync(join(lower, 'var', 'lib', 'opq', 'hidden'), 'h');
  writeFileSync(join(lower, 'etc', 'passwd'), 'root\n');
  writeFileSync(join(lower, 'bin', 'vi'), 'vi');
  writeFileSync(join(lower, 'bin', 'sh'), 'sh');
  for (const d of ['etc', 'bin', 'tmp', 'new', 'var/lib/opq']) mkdirSync(join(upper, d), { recursive: true });
  writeFileSync(join(upper, 'etc', 'passwd'), 'root\nuser\n');
  writeFileSync(join(upper, 'etc', 'hostname'), 'abc\n'); // runtime mount point
  writeFileSync(join(upper, 'new', 'f'), 'v');
  await makeSpecialFiles([{ path: join(upper, 'bin', 'vi'), kind: 'whiteout' }], [join(upper, 'var', 'lib', 'opq')]);
  svc = { containerDir: () => join(base, 'ctr') } as unknown as ContainerService;
  images = { layers: { lowerDirs: () => [lower] } } as unknown as ImageStore;
});
after(() => rmSync(base, { recursive: true, force: true }));

test('changes: A/C/D as docker diff prints them', async () => {
  const got = (await containerChanges(svc, images, c)).map((x) => `${'CAD'[x.Kind]} ${x.Path}`);
  assert.deepEqual(got, ['C /bin', 'D /bin/vi', 'C /etc', 'C /etc/passwd', 'A /new', 'A /new/f', 'C /var', 'C /var/lib', 'C /var/lib/opq']);
});

test('commit layer: OCI whiteouts, no runtime mount points', async () => {
  const names: string[] = [];
  const ex = tar.extract();
  ex.on('entry', (h, s, next) => { names.push(h.name); s.resume(); s.on('end', next); });
  const done = new Promise<void>((r, j) => { ex.on('finish', () => r()); ex.on('error', j); });
  ((await changesLayerTar(svc, images, c)) as Readable).pipe(ex);
  await done;
  assert.ok(names.includes('bin/.wh.vi'), names.join(','));
  assert.ok(names.includes('var/lib/opq/.wh..wh..opq'), names.join(','));
  assert.ok(names.includes('etc/passwd'));
  assert.ok(!names.some((n) => n.startsWith('etc/hostname')));
});

test('stats helpers: host CPU time and net/dev parsing', () => {
  assert.ok(systemCpuUsageNs() > 0);
  const net = readNetDev(process.pid);
  if (net) for (const [name, v] of Object.entries(net)) { assert.notEqual(name, 'lo'); assert.ok(v.rx_bytes >= 0); }
  assert.equal(readNetDev(2 ** 30), undefined);
});
