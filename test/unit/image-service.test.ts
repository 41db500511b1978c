import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { openDatabase } from '../../src/store/db.js';
import { ContentStore } from '../../src/store/content.js';
import { LayerStore } from '../../src/image/layers.js';
import { ImageStore } from '../../src/image/store.js';
import { EventBus } from '../../src/daemon/events.js';
import { ImageService, ImageDaemon } from '../../src/image/service.js';
import { JsonMessage } from '../../src/image/progress.js';

export async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function makeDaemon() {
  const root = mkdtempSync(join(tmpdir(), 'berth-imgsvc-'));
  const db = openDatabase(join(root, 'berth.db'));
  const content = new ContentStore(root);
  const layers = new LayerStore(db, content, root);
  const images = new ImageStore(db, content, layers);
  const users = new Map<string, { id: string; name: string; running: boolean }[]>();
  const d: ImageDaemon = {
    config: { dataRoot: root }, db, content, layers, images, events: new EventBus(), log: () => {},
    containers: { usersOfImage: (id) => users.get(id) ?? [] },
  };
  after(() => { db.close(); rmSync(root, { recursive: true, force: true }); });
  return { d, svc: new ImageService(d), users, root };
}

async function importImage(svc: ImageService, files: Record<string, string>, repo?: string, changes: string[] = []): Promise<string> {
  const msgs: JsonMessage[] = [];
  const id = await svc.importTarball(Readable.from([await tarOf(files)]), { repo, changes }, (m) => msgs.push(m));
  assert.deepEqual(msgs, [{ status: id }]);
  return id;
}

test('import, list, inspect, history', async () => {
  const { svc } = makeDaemon();
  const id = await importImage(svc, { 'a.txt': 'hello' }, 'example/one:1', ['CMD ["sh"]', 'LABEL team=x']);
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  const list = await svc.list();
  assert.equal(list.length, 1);
  assert.deepEqual(list[0].RepoTags, ['example/one:1']);
  assert.equal(list[0].Size, 5);
  assert.deepEqual(list[0].Labels, { team: 'x' });
  const ins = await svc.inspect('example/one:1');
  assert.equal(ins.Id, id);
  assert.equal(ins.RootFS.Type, 'layers');
  assert.equal(ins.RootFS.Layers.length, 1);
  assert.deepEqual((ins.Config as { Cmd: string[] }).Cmd, ['sh']);
  assert.equal(ins.GraphDriver.Name, 'overlay2');
  assert.ok(ins.GraphDriver.Data?.UpperDir);
  assert.ok(!Number.isNaN(Date.parse(ins.Created)));
  assert.notEqual(ins.Metadata.LastTagTime, '0001-01-01T00:00:00Z');
  const h = await svc.history(id);
  assert.equal(h.length, 1);
  assert.equal(h[0].Id, id);
  assert.equal(h[0].Comment, 'Imported from -');
  assert.equal(h[0].Size, 5);
  await assert.rejects(svc.inspect('nope'), { message: 'No such image: nope:latest' });
});

test('list filters: reference, dangling, label, before/since', async () => {
  const { svc } = makeDaemon();
  const a = await importImage(svc, { a: '1' }, 'alpha:1', ['LABEL k=v']);
  const b = await importImage(svc, { b: '2' }, 'beta:2');
  const c = await importImage(svc, { c: '3' });
  const ids = async (f: Record<string, string[]>) => (await svc.list({ filters: new Map(Object.entries(f)) })).map((i) => i.Id).sort();
  assert.deepEqual(await ids({ reference: ['alpha'] }), [a]);
  assert.deepEqual(await ids({ reference: ['*:2'] }), [b]);
  assert.deepEqual(await ids({ dangling: ['true'] }), [c]);
  assert.deepEqual(await ids({ dangling: ['false'] }), [a, b].sort());
  assert.deepEqual(await ids({ label: ['k=v'] }), [a]);
  await assert.rejects(svc.list({ filters: new Map([['bogus', ['1']]]) }), { message: "invalid filter 'bogus'" });
});

test('tag and rmi: untag vs delete, conflicts with Docker texts', async () => {
  const { svc, users, d, root } = makeDaemon();
  const id = await importImage(svc, { f: 'x' }, 'img:1');
  svc.tag('img:1', 'other', 'two');
  svc.tag(id, 'img:extra', undefined);
  assert.deepEqual(d.images.repoTags(id).sort(), ['img:1', 'img:extra', 'other:two']);
  await assert.rejects(svc.remove(id.slice(7, 19)), {
    message: `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`,
  });
  assert.deepEqual(await svc.remove('other:two'), [{ Untagged: 'other:two' }]);
  assert.deepEqual(await svc.remove('img:extra'), [{ Untagged: 'img:extra' }]);
  users.set(id, [{ id: 'c'.repeat(64), name: 'x', running: false }]);
  await assert.rejects(svc.remove('img:1'), {
    message: `conflict: unable to remove repository reference "img:1" (must force) - container cccccccccccc is using its referenced image ${id.slice(7, 19)}`,
  });
  users.set(id, [{ id: 'c'.repeat(64), name: 'x', running: true }]);
  await assert.rejects(svc.remove(id, { force: true }), {
    message: `conflict: unable to delete ${id.slice(7, 19)} (cannot be forced) - image is being used by running container cccccccccccc`,
  });
  users.delete(id);
  const recs = await svc.remove('img:1');
  assert.deepEqual(recs[0], { Untagged: 'img:1' });
  assert.deepEqual(recs[1], { Deleted: id });
  assert.equal((await svc.list()).length, 0);
  assert.deepEqual(readdirSync(join(root, 'layers')).filter((x) => x !== 'tmp'), []);
  await assert.rejects(svc.remove('img:1'), { message: 'No such image: img:1' });
});

test('prune: dangling by default, -a removes unused tagged images and their layers', async () => {
  const { svc, users, root, d } = makeDaemon();
  const kept = await importImage(svc, { k: 'keep' }, 'kept:1');
  const dang = await importImage(svc, { d: 'dangling' });
  const used = await importImage(svc, { u: 'used' }, 'used:1');
  users.set(used, [{ id: 'u'.repeat(64), name: 'u', running: false }]);
  const r1 = await svc.prune();
  assert.deepEqual(r1.ImagesDeleted?.filter((x) => 'Deleted' in x && x.Deleted === dang).length, 1);
  assert.equal(r1.SpaceReclaimed, 8);
  const r2 = await svc.pruneAll();
  assert.ok(r2.ImagesDeleted?.some((x) => 'Untagged' in x && x.Untagged === 'kept:1'));
  assert.ok(!d.images.tryGet(kept));
  assert.ok(d.images.tryGet(used));
  users.clear();
  await svc.pruneAll();
  assert.equal(d.images.list().length, 0);
  assert.deepEqual(readdirSync(join(root, 'layers')).filter((x) => x !== 'tmp'), []);
  assert.deepEqual(readdirSync(join(root, 'blobs', 'sha256')), []);
});

test('import refuses a bad repository name before reading the body', async () => {
  const { svc, d } = makeDaemon();
  await assert.rejects(svc.importTarball(Readable.from([Buffer.alloc(0)]), { repo: 'Bad' }, () => {}), /must be lowercase/);
  await assert.rejects(svc.importTarball(Readable.from([Buffer.alloc(0)]), { changes: ['RUN x'] }, () => {}), /not a valid change command/);
  assert.equal(d.images.list().length, 0);
});

test('diskUsage counts shared layers', async () => {
  const { svc } = makeDaemon();
  const id = await importImage(svc, { a: 'abc' }, 'x:1');
  svc.tag(id, 'y', '1');
  const du = await svc.diskUsage();
  assert.equal(du.LayersSize, 3);
  assert.equal(du.Images.length, 1);
  assert.equal(du.Images[0].Containers, 0);
});
