// Access control of `berth registry serve`: htpasswd users, basic auth, bearer tokens from the
// token endpoint, public and private repositories, catalog filtering, and skopeo against it.
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/registry/server/config.js';
import { RegistryServer } from '../../src/registry/server/server.js';
import { basic, http, makeOciLayout, run, sha256, type HttpResult, type OciImage } from './registry-server-helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function code(r: HttpResult): string {
  return r.json<{ errors: { code: string }[] }>().errors[0]!.code;
}

async function setup(challenge: 'bearer' | 'basic'): Promise<{ base: string; port: number; server: RegistryServer; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-regauth-'));
  const users = { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' };
  writeFileSync(join(dir, 'htpasswd'), Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 4)}`).join('\n') + '\n');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    auth: { htpasswd: 'htpasswd', challenge },
    groups: { devs: ['bob'] },
    repositories: [
      { match: 'pub/**', access: 'public', push: ['alice'] },
      { match: 'priv/**', access: 'private', pull: ['group:devs'], push: ['alice'] },
    ],
    defaultAccess: { access: 'private', pull: ['*'], push: ['alice'] },
    delete: true,
  }));
  const server = new RegistryServer({ root: join(dir, 'root'), config: loadConfig(join(dir, 'config.json')), log: () => undefined });
  const a = await server.listen('127.0.0.1', 0);
  return { base: `http://127.0.0.1:${a.port}`, port: a.port, server, dir };
}

async function pushAs(base: string, auth: string, name: string, tag: string): Promise<HttpResult> {
  const cfg = `{"os":"linux","r":"${name}"}`;
  const d = sha256(cfg);
  const b = await http('POST', `${base}/v2/${name}/blobs/uploads/?digest=${d}`, { body: cfg, headers: { Authorization: auth } });
  if (b.status !== 201) return b;
  const m = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d, size: cfg.length }, layers: [] });
  return http('PUT', `${base}/v2/${name}/manifests/${tag}`, { body: m, headers: { Authorization: auth, 'Content-Type': OCI_MANIFEST } });
}

async function token(base: string, scope: string, auth?: string): Promise<HttpResult> {
  return http('GET', `${base}/token?service=berth-registry&scope=${encodeURIComponent(scope)}`, { headers: auth ? { Authorization: auth } : {} });
}

describe('registry server auth (bearer challenge)', () => {
  let env: Awaited<ReturnType<typeof setup>>;
  let img: OciImage;
  before(async () => {
    env = await setup('bearer');
    img = await makeOciLayout(join(env.dir, 'img'), { fileSize: 4096 });
    assert.equal((await pushAs(env.base, basic('alice', 'alice-pw'), 'priv/app', 'v1')).status, 201);
    assert.equal((await pushAs(env.base, basic('alice', 'alice-pw'), 'pub/app', 'v1')).status, 201);
    assert.equal((await pushAs(env.base, basic('alice', 'alice-pw'), 'team/app', 'v1')).status, 201);
  });
  after(async () => { await env.server.close(); rmSync(env.dir, { recursive: true, force: true }); });

  it('anonymous /v2/ gets a 401 with a Bearer challenge naming the token realm', async () => {
    const r = await http('GET', `${env.base}/v2/`);
    assert.equal(r.status, 401);
    assert.equal(code(r), 'UNAUTHORIZED');
    assert.equal(r.headers['www-authenticate'], `Bearer realm="${env.base}/token",service="berth-registry"`);
  });

  it('private repository: anonymous 401 with scope, wrong password 401, no rights 403 DENIED, right user pulls', async () => {
    const url = `${env.base}/v2/priv/app/manifests/v1`;
    const anon = await http('GET', url);
    assert.equal(anon.status, 401);
    assert.equal(anon.headers['www-authenticate'], `Bearer realm="${env.base}/token",service="berth-registry",scope="repository:priv/app:pull"`);
    const wrong = await http('GET', url, { headers: { Authorization: basic('bob', 'nope') } });
    assert.equal(wrong.status, 401);
    assert.equal(code(wrong), 'UNAUTHORIZED');
    const unknownUser = await http('GET', url, { headers: { Authorization: basic('mallory', 'x') } });
    assert.equal(unknownUser.status, 401);
    const carol = await http('GET', url, { headers: { Authorization: basic('carol', 'carol-pw') } });
    assert.equal(carol.status, 403);
    assert.equal(code(carol), 'DENIED');
    const bob = await http('GET', url, { headers: { Authorization: basic('bob', 'bob-pw'), Accept: OCI_MANIFEST } });
    assert.equal(bob.status, 200);
    const bobPush = await pushAs(env.base, basic('bob', 'bob-pw'), 'priv/app', 'v2');
    assert.equal(bobPush.status, 403);
    assert.equal(code(bobPush), 'DENIED');
    assert.equal(code(await http('DELETE', url, { headers: { Authorization: basic('bob', 'bob-pw') } })), 'DENIED');
  });

  it('public repository: anonymous pull works, anonymous push gets 401 with a push scope', async () => {
    const r = await http('GET', `${env.base}/v2/pub/app/manifests/v1`);
    assert.equal(r.status, 200);
    const push = await http('POST', `${env.base}/v2/pub/app/blobs/uploads/`);
    assert.equal(push.status, 401);
    assert.match(push.headers['www-authenticate'] as string, /scope="repository:pub\/app:pull,push"/);
    assert.equal((await pushAs(env.base, basic('carol', 'carol-pw'), 'pub/app', 'x')).status, 403);
    assert.equal((await pushAs(env.base, basic('alice', 'alice-pw'), 'pub/app', 'x')).status, 201);
  });

  it('token endpoint: grants only what the rules allow, and the server honours the token', async () => {
    const bad = await token(env.base, 'repository:priv/app:pull', basic('bob', 'wrong'));
    assert.equal(bad.status, 401);
    const t = await token(env.base, 'repository:priv/app:pull,push', basic('bob', 'bob-pw'));
    assert.equal(t.status, 200);
    const body = t.json<{ token: string; access_token: string; expires_in: number; issued_at: string }>();
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 300);
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1]!, 'base64url').toString()) as { sub: string; access: unknown };
    assert.equal(claims.sub, 'bob');
    assert.deepEqual(claims.access, [{ type: 'repository', name: 'priv/app', actions: ['pull'] }]);
    const bearer = { Authorization: `Bearer ${body.token}`, Accept: OCI_MANIFEST };
    assert.equal((await http('GET', `${env.base}/v2/priv/app/manifests/v1`, { headers: bearer })).status, 200);
    assert.equal((await http('GET', `${env.base}/v2/`, { headers: bearer })).status, 200);
    // Bob may not push: 403, not another round of challenges.
    assert.equal(code(await http('POST', `${env.base}/v2/priv/app/blobs/uploads/`, { headers: bearer })), 'DENIED');
    // Token for one repository used on another that bob could read: 401 insufficient_scope.
    const other = await http('GET', `${env.base}/v2/team/app/manifests/v1`, { headers: bearer });
    assert.equal(other.status, 401);
    assert.match(other.headers['www-authenticate'] as string, /error="insufficient_scope"/);
    // Carol gets a token without actions; using it is DENIED.
    const ct = (await token(env.base, 'repository:priv/app:pull', basic('carol', 'carol-pw'))).json<{ token: string }>().token;
    assert.equal(code(await http('GET', `${env.base}/v2/priv/app/manifests/v1`, { headers: { Authorization: `Bearer ${ct}` } })), 'DENIED');
    // Anonymous tokens: pull on public repositories only.
    const at = (await token(env.base, 'repository:pub/app:pull,push')).json<{ token: string }>().token;
    const ac = JSON.parse(Buffer.from(at.split('.')[1]!, 'base64url').toString()) as { access: unknown };
    assert.deepEqual(ac.access, [{ type: 'repository', name: 'pub/app', actions: ['pull'] }]);
    // A tampered token is rejected.
    const [h, p] = body.token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, access: [{ type: 'repository', name: 'priv/app', actions: ['push'] }] })).toString('base64url')}.${body.token.split('.')[2]}`;
    assert.equal((await http('GET', `${env.base}/v2/`, { headers: { Authorization: `Bearer ${forged}` } })).status, 401);
    void p;
    // OAuth2 password grant (POST), as docker login uses.
    const post = await http('POST', `${env.base}/token`, {
      body: 'grant_type=password&username=alice&password=alice-pw&service=berth-registry&scope=repository:priv/app:push',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(post.status, 200);
  });

  it('catalog lists only what the caller may pull', async () => {
    const list = async (h: Record<string, string> = {}): Promise<string[]> =>
      (await http('GET', `${env.base}/v2/_catalog`, { headers: h })).json<{ repositories: string[] }>().repositories;
    assert.deepEqual(await list(), ['pub/app']);
    assert.deepEqual(await list({ Authorization: basic('bob', 'bob-pw') }), ['priv/app', 'pub/app', 'team/app']);
    assert.deepEqual(await list({ Authorization: basic('carol', 'carol-pw') }), ['pub/app', 'team/app']);
    const ct = (await token(env.base, 'registry:catalog:*', basic('carol', 'carol-pw'))).json<{ token: string }>().token;
    assert.deepEqual(await list({ Authorization: `Bearer ${ct}` }), ['pub/app', 'team/app']);
  });

  it('v1 search (docker search host/term) finds only what the caller may pull', async () => {
    const names = async (q: string, h: Record<string, string> = {}): Promise<string[]> => {
      const r = await http('GET', `${env.base}/v1/search?q=${q}&n=10`, { headers: h });
      assert.equal(r.status, 200);
      return r.json<{ results: { name: string }[] }>().results.map((x) => x.name);
    };
    assert.deepEqual(await names('app'), ['pub/app']);
    assert.deepEqual(await names('app', { Authorization: basic('bob', 'bob-pw') }), ['priv/app', 'pub/app', 'team/app']);
    assert.deepEqual(await names('PRIV', { Authorization: basic('bob', 'bob-pw') }), ['priv/app']);
    assert.deepEqual(await names('priv', { Authorization: basic('carol', 'carol-pw') }), []);
    const paged = (await http('GET', `${env.base}/v1/search?q=app&n=1&page=2`, { headers: { Authorization: basic('bob', 'bob-pw') } }))
      .json<{ num_results: number; num_pages: number; page: number; results: { name: string }[] }>();
    assert.deepEqual([paged.num_results, paged.num_pages, paged.page, paged.results.map((x) => x.name)], [3, 3, 2, ['pub/app']]);
    assert.equal((await http('GET', `${env.base}/v1/search?q=app&n=101`)).status, 400);
    assert.equal((await http('GET', `${env.base}/v1/_ping`)).status, 200);
  });

  it('skopeo: push and pull with credentials through the token flow; denied without them', async () => {
    const dst = `docker://127.0.0.1:${env.port}/priv/skopeo:v1`;
    const anonPush = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:latest`, dst]);
    assert.notEqual(anonPush.code, 0);
    const push = await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:alice-pw', `oci:${img.dir}:latest`, dst]);
    assert.equal(push.code, 0, push.stderr);
    const bob = await run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'bob:bob-pw', dst]);
    assert.equal(bob.code, 0, bob.stderr);
    const carol = await run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'carol:carol-pw', dst]);
    assert.notEqual(carol.code, 0);
    const anon = await run('skopeo', ['inspect', '--tls-verify=false', '--no-creds', dst]);
    assert.notEqual(anon.code, 0);
    assert.match(anon.stderr, /unauthorized|authentication required/i);
    // Public: anonymous pull works, anonymous push does not.
    const pubDst = `docker://127.0.0.1:${env.port}/pub/skopeo:v1`;
    assert.equal((await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:alice-pw', `oci:${img.dir}:latest`, pubDst])).code, 0);
    const pull = await run('skopeo', ['copy', '--src-tls-verify=false', '--src-no-creds', pubDst, `oci:${join(env.dir, 'pulled')}:x`]);
    assert.equal(pull.code, 0, pull.stderr);
    const anonPub = await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-no-creds', `oci:${img.dir}:latest`, `docker://127.0.0.1:${env.port}/pub/skopeo:v2`]);
    assert.notEqual(anonPub.code, 0);
  });
});

describe('registry server auth (basic challenge)', () => {
  let env: Awaited<ReturnType<typeof setup>>;
  before(async () => { env = await setup('basic'); });
  after(async () => { await env.server.close(); rmSync(env.dir, { recursive: true, force: true }); });

  it('challenges with Basic and skopeo pushes and pulls with credentials', async () => {
    const r = await http('GET', `${env.base}/v2/priv/app/tags/list`);
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'] as string, /^Basic realm="berth-registry"/);
    const img = await makeOciLayout(join(env.dir, 'img'), { fileSize: 2048 });
    const dst = `docker://127.0.0.1:${env.port}/priv/basic:v1`;
    const push = await run('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', 'alice:alice-pw', `oci:${img.dir}:latest`, dst]);
    assert.equal(push.code, 0, push.stderr);
    const tags = await run('skopeo', ['list-tags', '--tls-verify=false', '--creds', 'bob:bob-pw', 'docker://127.0.0.1:' + env.port + '/priv/basic']);
    assert.equal(tags.code, 0, tags.stderr);
    assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);
    assert.notEqual((await run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'bob:wrong', dst])).code, 0);
  });
});
