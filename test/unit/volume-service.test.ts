// VolumeService without a daemon: store, filters, prune, in-use, create-time validation that
// leaves nothing behind, rm -v semantics and disk usage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/db.js';
import { VolumeService, ContainerLookup } from '../../src/volume/service.js';
import { ContainerRecord, initialState } from '../../src/container/types.js';

function fakeContainers(): ContainerLookup & { add(c: ContainerRecord): void; del(id: string): void } {
  const m = new Map<string, ContainerRecord>();
  return {
    list: () => [...m.values()],
    tryGet: (ref) => m.get(ref) ?? [...m.values()].find((c) => c.name === ref),
    add: (c) => m.set(c.id, c),
    del: (id) => { m.delete(id); },
  };
}

function record(id: string, hostConfig: ContainerRecord['hostConfig'] = {}, volumes: Record<string, Record<string, never>> = {}): ContainerRecord {
  return {
    id, name: `c-${id}`, created: new Date().toISOString(), imageId: 'sha256:x', imageName: 'x', config: { Volumes: volumes },
    hostConfig, networkingConfig: {}, state: initialState(), topChainId: null, runtime: 'crun', restartCount: 0,
    conmonPid: 0, path: 'sh', args: [], logPath: '', hostnamePath: '', hostsPath: '', resolvConfPath: '',
  };
}

function setup(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-vol-svc-'));
  const db = openDatabase(join(dir, 'berth.db'));
  t.after(() => { db.close(); rmSync(dir, { recursive: true, force: true }); });
  const containers = fakeContainers();
  const svc = new VolumeService(db, dir, containers);
  return { dir, db, containers, svc };
}

/** What a successful container create does: validate, then the container exists. */
async function createContainer(s: ReturnType<typeof setup>, c: ContainerRecord): Promise<void> {
  await s.svc.validate(c);
  s.containers.add(c);
}

test('create is idempotent; view is Docker\'s Volume object', (t) => {
  const { svc, dir } = setup(t);
  const v = svc.create({ name: 'data', labels: { a: 'b' } });
  assert.deepEqual(svc.view(v), { CreatedAt: v.createdAt, Driver: 'local', Labels: { a: 'b' }, Mountpoint: join(dir, 'volumes', 'data', '_data'), Name: 'data', Options: null, Scope: 'local' });
  assert.equal(svc.create({ name: 'data' }).createdAt, v.createdAt);
  const anon = svc.create({});
  assert.match(anon.name, /^[a-f0-9]{64}$/);
  assert.throws(() => svc.create({ name: 'xx', driver: 'nfs' }), { name: 'NotFoundError' });
  assert.throws(() => svc.create({ name: 'xx', options: { type: 'tmpfs' } }), /missing required option: "device"/);
  assert.equal(svc.store.tryGet('xx'), undefined);
});

test('list filters: name, label, dangling, driver; unknown filter is an error', async (t) => {
  const s = setup(t);
  s.svc.create({ name: 'alpha', labels: { env: 'prod' } });
  s.svc.create({ name: 'beta', labels: { env: 'dev', tier: '' } });
  await createContainer(s, record('c1', { Binds: ['alpha:/a'] }));
  const names = (f: Record<string, string[]>) => s.svc.list(new Map(Object.entries(f))).map((v) => v.name);
  assert.deepEqual(names({}), ['alpha', 'beta']);
  assert.deepEqual(names({ name: ['lph'] }), ['alpha']);
  assert.deepEqual(names({ label: ['env=dev'] }), ['beta']);
  assert.deepEqual(names({ label: ['tier'] }), ['beta']);
  assert.deepEqual(names({ dangling: ['true'] }), ['beta']);
  assert.deepEqual(names({ dangling: ['0'] }), ['alpha']);
  assert.deepEqual(names({ driver: ['local'] }), ['alpha', 'beta']);
  assert.throws(() => names({ colour: ['x'] }), /invalid filter 'colour'/);
  assert.throws(() => names({ dangling: ['maybe'] }), /invalid filter 'dangling=maybe'/);
});

test('in-use volumes: rm is a 409 naming the container, even with force', async (t) => {
  const s = setup(t);
  await createContainer(s, record('c1', { Binds: ['busy:/a'] }));
  await assert.rejects(s.svc.remove('busy', false), { name: 'ConflictError', message: 'remove busy: volume is in use - [c1]' });
  await assert.rejects(s.svc.remove('busy', true), { name: 'ConflictError' });
  await assert.rejects(s.svc.remove('nosuch', false), { name: 'NotFoundError', message: 'get nosuch: no such volume' });
  await s.svc.remove('nosuch', true);
  await s.svc.removed(record('c1'), { removeVolumes: true });
  s.containers.del('c1');
  assert.ok(s.svc.store.tryGet('busy'), 'named volumes survive rm -v');
  await s.svc.remove('busy', false);
  assert.equal(s.svc.store.tryGet('busy'), undefined);
});

test('failed validation leaves no volumes and no plans behind', async (t) => {
  const s = setup(t);
  const bad = [
    record('b1', { Binds: ['fresh:/a'], Mounts: [{ Type: 'bind', Source: join(s.dir, 'missing'), Target: '/b' }] }),
    record('b2', { Binds: ['fresh:/a', 'relative/path:/b'] }),
    record('b3', { Binds: ['fresh:/a', 'other:/a'] }),
    record('b4', { Binds: ['fresh:/a'], Tmpfs: { '/t': 'size=big' } }),
    record('b5', { Binds: ['fresh:/a'], VolumesFrom: ['ghost'] }),
    record('b6', { Mounts: [{ Type: 'volume', Source: 'fresh', Target: '/a', VolumeOptions: { DriverConfig: { Options: { bogus: '1' } } } }] }),
  ];
  for (const c of bad) await assert.rejects(s.svc.validate(c), { name: 'InvalidParameterError' }, c.id);
  await assert.rejects(s.svc.validate(record('b7', {}, { '/anon': {} , '/x': {} })).then(() => s.svc.validate(record('b7', { Binds: ['/h:/x:bad'] }))), /invalid mode/);
  assert.deepEqual(s.svc.store.list().map((v) => v.name).length, 2, 'only the successful b7 anonymous volumes');
  assert.deepEqual(readdirSync(join(s.dir, 'volumes')).length, 2);
  for (const c of bad) assert.deepEqual(s.svc.plansOf(c.id), []);
});

test('rm -v removes anonymous volumes unless another container (volumes-from) still uses them', async (t) => {
  const s = setup(t);
  const a = record('a', { Binds: ['named:/n'] }, { '/anon': {} });
  await createContainer(s, a);
  const anonName = s.svc.plansOf('a').find((p) => p.destination === '/anon')?.name as string;
  assert.match(anonName, /^[a-f0-9]{64}$/);
  assert.deepEqual(s.svc.get(anonName).labels, { 'com.docker.volume.anonymous': '' });
  const b = record('b', { VolumesFrom: ['c-a:ro'] });
  await createContainer(s, b);
  assert.deepEqual(s.svc.mountPoints(b).map((m) => [m.Destination, m.RW]), [['/n', false], ['/anon', false]]);
  await s.svc.removed(a, { removeVolumes: true });
  s.containers.del('a');
  assert.ok(s.svc.store.tryGet(anonName), 'still used by b');
  await s.svc.removed(b, { removeVolumes: true });
  s.containers.del('b');
  assert.equal(s.svc.store.tryGet(anonName), undefined);
  assert.ok(s.svc.store.tryGet('named'));
});

test('prune: anonymous only by default (API >= 1.42), all=true for named, label filters; disk usage', async (t) => {
  const s = setup(t);
  s.svc.create({ name: 'keep', labels: { k: '1' } });
  s.svc.create({ name: 'big' });
  const anon = s.svc.create({ labels: { 'com.docker.volume.anonymous': '' } });
  writeFileSync(join(s.svc.store.dataDir('big'), 'f'), Buffer.alloc(5000));
  mkdirSync(join(s.svc.store.dataDir('big'), 'sub'));
  writeFileSync(join(s.svc.store.dataDir('big'), 'sub', 'g'), Buffer.alloc(100));
  const du = await s.svc.diskUsage();
  assert.deepEqual(du.map((v) => [v.Name, v.UsageData]), [[anon.name, { Size: 0, RefCount: 0 }], ['big', { Size: 5100, RefCount: 0 }], ['keep', { Size: 0, RefCount: 0 }]].sort());
  assert.deepEqual(await s.svc.prune(new Map(), true), { VolumesDeleted: [anon.name], SpaceReclaimed: 0 });
  assert.deepEqual(await s.svc.prune(new Map([['all', ['true']], ['label!', ['k=1']]]), true), { VolumesDeleted: ['big'], SpaceReclaimed: 5100 });
  assert.deepEqual(await s.svc.prune(new Map(), false), { VolumesDeleted: ['keep'], SpaceReclaimed: 0 }, 'old API prunes named volumes too');
  await assert.rejects(s.svc.prune(new Map([['dangling', ['true']]]), true), /invalid filter 'dangling'/);
  assert.ok(!existsSync(join(s.dir, 'volumes', 'big')));
});

test('orphan plans of a create that never completed are collected on restart', async (t) => {
  const s = setup(t);
  await s.svc.validate(record('ghost', { Binds: ['v1:/a'] }));
  assert.equal(s.svc.usersOf('v1').length, 0, 'a container that does not exist uses nothing');
  const again = new VolumeService(s.db, s.dir, s.containers);
  assert.deepEqual(again.plansOf('ghost'), []);
});

test('volume-security-name-traversal: names can never address paths outside volumes/', async (t) => {
  const s = setup(t);
  for (const name of ['../../etc', '..', '.hidden', 'a/b', '/abs', 'x\u0000y']) {
    assert.throws(() => s.svc.create({ name }), { name: 'InvalidParameterError' }, name);
  }
  assert.throws(() => s.svc.get('../volumes'), { name: 'NotFoundError' });
  await assert.rejects(s.svc.remove('..', false), { name: 'NotFoundError' });
  assert.deepEqual(readdirSync(join(s.dir, 'volumes')), []);
});
