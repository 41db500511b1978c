// The registry client against `berth registry serve` with bearer-token auth (the token flow
// that Docker Hub uses): login, push, pull back, refused without credentials, cross-repo mount.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, RunningRegistry } from './registry-server-helpers.js';
import { makeEngine, importInto, Engine } from './registry-client-fixture.js';
import { parseReference } from '../../src/image/reference.js';
import { JsonMessage } from '../../src/image/progress.js';

let reg: RunningRegistry;
let dir: string;
let host: string;
const engines: Engine[] = [];
function engine(): Engine { const e = makeEngine(); engines.push(e); return e; }
const creds = { username: 'carol', password: 'pa55word' };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-client-vs-berth-registry-'));
  const h = spawnSync('htpasswd', ['-Bbn', creds.username, creds.password]);
  writeFileSync(join(dir, 'htpasswd'), h.stdout);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    auth: { htpasswd: 'htpasswd', challenge: 'bearer', service: 'berth-registry' },
    defaultAccess: { access: 'private', pull: ['*'], push: ['*'] },
  }));
  reg = await startRegistry(join(dir, 'root'), { config: join(dir, 'config.json') });
  host = `127.0.0.1:${reg.port}`;
});

after(async () => {
  for (const e of engines) e.close();
  await reg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Docker never answers a pull with 401 (the CLI would prompt for a login): 500 or 404 with the registry's words. */
function pullAuthError(e: Error & { kind?: string }): boolean {
  assert.ok(e.kind === 'System' || e.kind === 'NotFound', `${e.kind}: ${e.message}`);
  assert.match(e.message, /unauthorized|no basic auth credentials|denied|authentication required/);
  return true;
}

test('bearer auth: login, push, pull back; refused without credentials', async () => {
  const a = engine();
  const id = await importInto(a, { 'x.txt': 'bearer' }, `${host}/team/app:1`);
  await assert.rejects(a.svc.login(host, { username: 'carol', password: 'nope' }), { kind: 'Unauthorized' } as object);
  await a.svc.login(host, creds);
  await assert.rejects(a.svc.push({ ref: parseReference(`${host}/team/app:1`) }, () => {}), { kind: 'Unauthorized' } as object);
  await a.svc.push({ ref: parseReference(`${host}/team/app:1`), credentials: creds }, () => {});
  a.svc.tag(id, `${host}/team/other`, '2');
  const msgs: JsonMessage[] = [];
  await a.svc.push({ ref: parseReference(`${host}/team/other:2`), credentials: creds }, (m) => msgs.push(m));
  assert.ok(msgs.some((m) => m.status === 'Layer already exists' || m.status?.startsWith('Mounted from')), JSON.stringify(msgs));
  const b = engine();
  await assert.rejects(b.svc.pull({ ref: parseReference(`${host}/team/app:1`) }, () => {}), pullAuthError);
  await b.svc.pull({ ref: parseReference(`${host}/team/app:1`), credentials: creds }, () => {});
  assert.equal((await b.svc.inspect(`${host}/team/app:1`)).Id, id);
  await assert.rejects(b.svc.pull({ ref: parseReference(`${host}/team/app:missing`), credentials: creds }, () => {}), { kind: 'NotFound' } as object);
});
