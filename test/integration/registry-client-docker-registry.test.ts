// Push and pull through the image service against Debian's docker-registry, with and without
// basic auth, and a multi-arch index made by the test.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startDockerRegistry, makeEngine, importInto, Registry, Engine } from './registry-client-fixture.js';
import { parseReference } from '../../src/image/reference.js';
import { JsonMessage } from '../../src/image/progress.js';
import { RegistryClient } from '../../src/registry/client/client.js';
import { MediaType } from '../../src/image/types.js';

let reg: Registry;
let authReg: Registry;
const engines: Engine[] = [];
function engine(): Engine { const e = makeEngine(); engines.push(e); return e; }

before(async () => {
  reg = await startDockerRegistry();
  authReg = await startDockerRegistry({ user: 'alice', password: 's3cret' });
});
after(async () => {
  for (const e of engines) e.close();
  await reg?.stop();
  await authReg?.stop();
});

/** Docker never answers a pull with 401 (the CLI would prompt for a login): 500 or 404 with the registry's words. */
function pullAuthError(e: Error & { kind?: string }): boolean {
  assert.ok(e.kind === 'System' || e.kind === 'NotFound', `${e.kind}: ${e.message}`);
  assert.match(e.message, /unauthorized|no basic auth credentials|denied|authentication required/);
  return true;
}

test('push then pull back into an empty store gives the same image ID and digest', async () => {
  const a = engine();
  const id = await importInto(a, { 'hello.txt': 'hello world', 'bin/x': randomBytes(4096) }, `${reg.host}/test/one:v1`);
  const msgs: JsonMessage[] = [];
  await a.svc.push({ ref: parseReference(`${reg.host}/test/one:v1`) }, (m) => msgs.push(m));
  assert.ok(msgs.some((m) => m.status === 'Pushed'), JSON.stringify(msgs));
  const aux = msgs.find((m) => m.aux)?.aux as { Tag: string; Digest: string; Size: number };
  assert.equal(aux.Tag, 'v1');
  // A second push skips what the registry has.
  const again: JsonMessage[] = [];
  await a.svc.push({ ref: parseReference(`${reg.host}/test/one:v1`) }, (m) => again.push(m));
  assert.ok(again.some((m) => m.status === 'Layer already exists'));

  const b = engine();
  const pulled: JsonMessage[] = [];
  await b.svc.pull({ ref: parseReference(`${reg.host}/test/one:v1`) }, (m) => pulled.push(m));
  assert.deepEqual(pulled[0], { status: 'Pulling from test/one', id: 'v1' });
  assert.ok(pulled.some((m) => m.status === 'Pull complete'));
  assert.equal(pulled.at(-1)?.status, `Status: Downloaded newer image for ${reg.host}/test/one:v1`);
  assert.ok(pulled.some((m) => m.status === `Digest: ${aux.Digest}`));
  const ins = await b.svc.inspect(`${reg.host}/test/one:v1`);
  assert.equal(ins.Id, id);
  assert.deepEqual(ins.RepoDigests, [`${reg.host}/test/one@${aux.Digest}`]);
  // Pulling again: up to date, nothing downloaded.
  const second: JsonMessage[] = [];
  await b.svc.pull({ ref: parseReference(`${reg.host}/test/one:v1`) }, (m) => second.push(m));
  assert.ok(second.some((m) => m.status === 'Already exists'));
  assert.equal(second.at(-1)?.status, `Status: Image is up to date for ${reg.host}/test/one:v1`);
  // By digest.
  const c = engine();
  await c.svc.pull({ ref: parseReference(`${reg.host}/test/one@${aux.Digest}`) }, () => {});
  assert.equal((await c.svc.inspect(`${reg.host}/test/one@${aux.Digest}`)).Id, id);
  // A cross-repository push mounts the blob.
  a.svc.tag(id, `${reg.host}/other/two`, 'x');
  const mounted: JsonMessage[] = [];
  await a.svc.push({ ref: parseReference(`${reg.host}/other/two:x`) }, (m) => mounted.push(m));
  assert.ok(mounted.some((m) => m.status?.startsWith('Mounted from')), JSON.stringify(mounted));
});

test('unknown tag: manifest unknown, before any progress; nothing stored', async () => {
  const b = engine();
  const msgs: JsonMessage[] = [];
  await assert.rejects(b.svc.pull({ ref: parseReference(`${reg.host}/test/none:nope`) }, (m) => msgs.push(m)), (e: Error & { kind?: string }) => {
    assert.equal(e.kind, 'NotFound');
    assert.match(e.message, /manifest unknown/);
    return true;
  });
  assert.deepEqual(msgs, []);
  assert.equal(b.d.images.list().length, 0);
});

test('unreachable registry fails within seconds with a clear error', async () => {
  const b = engine();
  const t0 = Date.now();
  await assert.rejects(b.svc.pull({ ref: parseReference('127.0.0.1:1/x:y') }, () => {}), /dial tcp 127\.0\.0\.1:1: connect: connection refused/);
  assert.ok(Date.now() - t0 < 10_000);
});

test('basic auth registry: refused without credentials, works with them', async () => {
  const a = engine();
  await importInto(a, { f: 'secret stuff' }, `${authReg.host}/priv/img:1`);
  await assert.rejects(a.svc.push({ ref: parseReference(`${authReg.host}/priv/img:1`) }, () => {}), (e: Error & { kind?: string }) => {
    assert.equal(e.kind, 'Unauthorized');
    return true;
  });
  await assert.rejects(a.svc.login(authReg.host, { username: 'alice', password: 'wrong' }), { kind: 'Unauthorized' } as object);
  await a.svc.login(authReg.host, { username: 'alice', password: 's3cret' });
  const creds = { username: 'alice', password: 's3cret' };
  await a.svc.push({ ref: parseReference(`${authReg.host}/priv/img:1`), credentials: creds }, () => {});
  const b = engine();
  await assert.rejects(b.svc.pull({ ref: parseReference(`${authReg.host}/priv/img:1`) }, () => {}), pullAuthError);
  await b.svc.pull({ ref: parseReference(`${authReg.host}/priv/img:1`), credentials: creds }, () => {});
  assert.equal(b.d.images.list().length, 1);
});

test('a multi-arch index pulls the amd64 manifest (and --platform picks another)', async () => {
  const a = engine();
  const idAmd = await importInto(a, { arch: 'amd64' }, `${reg.host}/multi/src:amd64`);
  const idArm = await importInto(a, { arch: 'arm64' }, `${reg.host}/multi/src:arm64`);
  const digests: Record<string, { digest: string; size: number }> = {};
  for (const t of ['amd64', 'arm64']) {
    const msgs: JsonMessage[] = [];
    await a.svc.push({ ref: parseReference(`${reg.host}/multi/src:${t}`) }, (m) => msgs.push(m));
    const aux = msgs.find((m) => m.aux)?.aux as { Digest: string; Size: number };
    digests[t] = { digest: aux.Digest, size: aux.Size };
  }
  const client = new RegistryClient(reg.host, { insecure: true });
  const index = {
    schemaVersion: 2, mediaType: MediaType.OciIndex,
    manifests: [
      { mediaType: MediaType.DockerManifest, ...digests.arm64, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
      { mediaType: MediaType.DockerManifest, ...digests.amd64, platform: { architecture: 'amd64', os: 'linux' } },
    ],
  };
  const body = Buffer.from(JSON.stringify(index));
  await client.putManifest('multi/src', 'multi', body, MediaType.OciIndex);
  const indexDigest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const b = engine();
  await b.svc.pull({ ref: parseReference(`${reg.host}/multi/src:multi`) }, () => {});
  const ins = await b.svc.inspect(`${reg.host}/multi/src:multi`);
  assert.equal(ins.Id, idAmd);
  assert.deepEqual(ins.RepoDigests, [`${reg.host}/multi/src@${indexDigest}`]);
  const c = engine();
  await c.svc.pull({ ref: parseReference(`${reg.host}/multi/src:multi`), platform: 'linux/arm64' }, () => {});
  assert.equal((await c.svc.inspect(`${reg.host}/multi/src:multi`)).Id, idArm);
  await assert.rejects(engine().svc.pull({ ref: parseReference(`${reg.host}/multi/src:multi`), platform: 'linux/s390x' }, () => {}),
    { message: 'no matching manifest for linux/s390x in the manifest list entries' });
});

test('all tags', async () => {
  const a = engine();
  await importInto(a, { t: '1' }, `${reg.host}/alltags/x:a`);
  await importInto(a, { t: '2' }, `${reg.host}/alltags/x:b`);
  await a.svc.push({ ref: parseReference(`${reg.host}/alltags/x`) }, () => {});
  const b = engine();
  await b.svc.pull({ ref: parseReference(`${reg.host}/alltags/x`), allTags: true }, () => {});
  assert.deepEqual((await b.svc.list()).flatMap((i) => i.RepoTags).sort(), [`${reg.host}/alltags/x:a`, `${reg.host}/alltags/x:b`]);
  assert.deepEqual(readdirSync(join(b.root, 'blobs', 'partial')), []);
});
