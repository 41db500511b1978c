// save → load round trips, and loading the older docker-archive layout (<id>/layer.tar with
// symlinked duplicates) that `docker save` wrote before Docker 25.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { makeEngine, tarEntries, Engine } from '../integration/registry-client-fixture.js';
import { JsonMessage } from '../../src/image/progress.js';

function engine(): Engine {
  const e = makeEngine();
  after(() => e.close());
  return e;
}

async function collect(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function listTar(buf: Buffer): Promise<string[]> {
  const names: string[] = [];
  const ex = tar.extract();
  const done = (async () => { for await (const e of ex) { names.push(e.header.name); e.resume(); } })();
  Readable.from([buf]).pipe(ex);
  await done;
  return names;
}

test('save then load into an empty store: same ID, tags, layers; OCI layout and manifest.json present', async () => {
  const a = engine();
  const l1 = await tarEntries([{ name: 'etc/', type: 'directory' }, { name: 'etc/hello', body: 'hi' }]);
  const id = await a.svc.importTarball(Readable.from([l1]), { repo: 'saved/img', tag: 'v1', changes: ['CMD ["sh"]'] }, () => {});
  a.svc.tag(id, 'saved/img', 'v2');
  const archive = await collect(a.svc.save(['saved/img']));
  const names = await listTar(archive);
  for (const n of ['index.json', 'manifest.json', 'oci-layout', `blobs/sha256/${id.slice(7)}`]) assert.ok(names.includes(n), `${n} in ${names}`);
  const b = engine();
  const msgs: JsonMessage[] = [];
  const loaded = await b.svc.load(Readable.from([archive]), (m) => msgs.push(m));
  assert.deepEqual(loaded.sort(), ['saved/img:v1', 'saved/img:v2']);
  assert.ok(msgs.some((m) => m.stream === 'Loaded image: saved/img:v1\n'));
  assert.equal((await b.svc.inspect('saved/img:v1')).Id, id);
  // Loading again is harmless; nothing extra stays in the content store.
  await b.svc.load(Readable.from([archive]), () => {});
  assert.equal(b.d.images.list().length, 1);
  assert.equal(readdirSync(join(b.root, 'blobs', 'sha256')).length, 2);
  // By ID: no tags in the archive, "Loaded image ID".
  const c = engine();
  const byId = await collect(a.svc.save([id]));
  assert.deepEqual(await c.svc.load(Readable.from([byId]), () => {}), [id]);
  await assert.rejects(async () => a.svc.save(['nope:1']), { message: 'No such image: nope:1' });
});

test('loads the pre-25 docker-archive layout with symlinked duplicate layers', async () => {
  const layer = await tarEntries([{ name: 'a.txt', body: 'layer one' }]);
  const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [diffId, diffId] } }));
  const configHex = createHash('sha256').update(config).digest('hex');
  const archive = await tarEntries([
    { name: 'aaaa/', type: 'directory' },
    { name: 'aaaa/layer.tar', body: layer },
    { name: 'aaaa/VERSION', body: '1.0' },
    { name: 'bbbb/', type: 'directory' },
    { name: 'bbbb/layer.tar', type: 'symlink', linkname: '../aaaa/layer.tar' },
    { name: `${configHex}.json`, body: config },
    { name: 'manifest.json', body: JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['old/style:latest'], Layers: ['aaaa/layer.tar', 'bbbb/layer.tar'] }]) },
    { name: 'repositories', body: '{}' },
  ]);
  const b = engine();
  assert.deepEqual(await b.svc.load(Readable.from([archive]), () => {}), ['old/style:latest']);
  assert.equal((await b.svc.inspect('old/style')).Id, `sha256:${configHex}`);
});

test('load: malformed archives are refused with a precise error and leave nothing', async () => {
  const b = engine();
  await assert.rejects(b.svc.load(Readable.from([await tarEntries([{ name: 'x', body: 'y' }])]), () => {}),
    { message: 'invalid archive: neither manifest.json nor index.json found' });
  await assert.rejects(b.svc.load(Readable.from([await tarEntries([{ name: 'manifest.json', body: '[{' }])]), () => {}), /invalid archive: manifest.json/);
  const layer = await tarEntries([{ name: 'a', body: 'b' }]);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['sha256:' + '0'.repeat(64)] } }));
  await assert.rejects(b.svc.load(Readable.from([await tarEntries([
    { name: 'l.tar', body: layer }, { name: 'c.json', body: config },
    { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['x:1'], Layers: ['l.tar'] }]) },
  ])]), () => {}), /diff ID mismatch/);
  assert.equal(b.d.images.list().length, 0);
  assert.equal(b.d.layers.list().length, 0);
  assert.deepEqual(readdirSync(join(b.root, 'blobs', 'sha256')), []);
});
