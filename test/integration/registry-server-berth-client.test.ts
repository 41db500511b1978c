// berth's own pull/push (the image service and registry client) against `berth registry serve`,
// open and with bearer-token auth on a private repository.
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseReference } from '../../src/image/reference.js';
import type { JsonMessage } from '../../src/image/progress.js';
import { importInto, makeEngine, type Engine } from './registry-client-fixture.js';
import { startRegistry, type RunningRegistry } from './registry-server-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-regsrv-client-'));
let open: RunningRegistry;
let secured: RunningRegistry;
const engines: Engine[] = [];
function engine(): Engine { const e = makeEngine(); engines.push(e); return e; }

before(async () => {
  open = await startRegistry(join(dir, 'open'));
  writeFileSync(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('s3cret', 4)}\n`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    auth: { htpasswd: 'htpasswd' },
    repositories: [{ match: 'priv/**', access: 'private', pull: ['alice'], push: ['alice'] }],
  }));
  secured = await startRegistry(join(dir, 'secured'), { config: join(dir, 'config.json') });
});
after(async () => {
  for (const e of engines) e.close();
  await open?.stop();
  await secured?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('berth push then pull through berth registry serve gives the same image', async () => {
  const host = `127.0.0.1:${open.port}`;
  const a = engine();
  const id = await importInto(a, { 'hello.txt': 'hello', 'bin/x': randomBytes(8192) }, `${host}/berth/one:v1`);
  const msgs: JsonMessage[] = [];
  await a.svc.push({ ref: parseReference(`${host}/berth/one:v1`) }, (m) => msgs.push(m));
  const aux = msgs.find((m) => m.aux)?.aux as { Digest: string };
  assert.ok(aux?.Digest, JSON.stringify(msgs));
  const again: JsonMessage[] = [];
  await a.svc.push({ ref: parseReference(`${host}/berth/one:v1`) }, (m) => again.push(m));
  assert.ok(again.some((m) => m.status === 'Layer already exists'), JSON.stringify(again));
  a.svc.tag(id, `${host}/berth/two`, 'x');
  const mounted: JsonMessage[] = [];
  await a.svc.push({ ref: parseReference(`${host}/berth/two:x`) }, (m) => mounted.push(m));
  assert.ok(mounted.some((m) => m.status?.startsWith('Mounted from')), JSON.stringify(mounted));

  const b = engine();
  await b.svc.pull({ ref: parseReference(`${host}/berth/one:v1`) }, () => {});
  assert.equal((await b.svc.inspect(`${host}/berth/one:v1`)).Id, id);
  const c = engine();
  await c.svc.pull({ ref: parseReference(`${host}/berth/one@${aux.Digest}`) }, () => {});
  assert.equal((await c.svc.inspect(`${host}/berth/one@${aux.Digest}`)).Id, id);
});

test('private repository with token auth: berth client refused anonymously, works with credentials', async () => {
  const host = `127.0.0.1:${secured.port}`;
  const a = engine();
  await importInto(a, { f: 'secret stuff' }, `${host}/priv/img:1`);
  await assert.rejects(a.svc.push({ ref: parseReference(`${host}/priv/img:1`) }, () => {}), { kind: 'Unauthorized' } as object);
  await assert.rejects(a.svc.login(host, { username: 'alice', password: 'wrong' }), { kind: 'Unauthorized' } as object);
  await a.svc.login(host, { username: 'alice', password: 's3cret' });
  const creds = { username: 'alice', password: 's3cret' };
  await a.svc.push({ ref: parseReference(`${host}/priv/img:1`), credentials: creds }, () => {});
  const b = engine();
  // The message is the contract here; the error kind is the client's business (and in flux).
  await assert.rejects(b.svc.pull({ ref: parseReference(`${host}/priv/img:1`) }, () => {}), /unauthorized|authentication required/);
  await b.svc.pull({ ref: parseReference(`${host}/priv/img:1`), credentials: creds }, () => {});
  assert.equal(b.d.images.list().length, 1);
});
