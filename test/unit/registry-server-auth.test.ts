import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AccessController, parseHtpasswd, parseScope } from '../../src/registry/server/auth.js';
import { parseConfig } from '../../src/registry/server/config.js';
import { signJwt, verifyJwt, type TokenClaims } from '../../src/registry/server/jwt.js';

describe('registry auth pieces', () => {
  it('parses Docker scope strings, including host:port names and resource classes', () => {
    assert.deepEqual(parseScope('repository:library/busybox:pull,push'), [{ type: 'repository', name: 'library/busybox', actions: ['pull', 'push'] }]);
    assert.deepEqual(parseScope('repository:localhost:5000/a:pull'), [{ type: 'repository', name: 'localhost:5000/a', actions: ['pull'] }]);
    assert.deepEqual(parseScope('repository(plugin):p/x:pull registry:catalog:*'), [
      { type: 'repository', name: 'p/x', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
    assert.deepEqual(parseScope('garbage'), []);
  });

  it('JWTs: verify round trip, reject tampering, expiry, wrong audience and alg', () => {
    const key = Buffer.alloc(32, 1);
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = { iss: 'i', sub: 'u', aud: 's', exp: now + 60, nbf: now, iat: now, jti: 'x', access: [] };
    const t = signJwt(claims, key);
    assert.equal(verifyJwt(t, key, { aud: 's', iss: 'i' })?.sub, 'u');
    assert.equal(verifyJwt(t, Buffer.alloc(32, 2), { aud: 's', iss: 'i' }), undefined);
    assert.equal(verifyJwt(t, key, { aud: 'other', iss: 'i' }), undefined);
    assert.equal(verifyJwt(signJwt({ ...claims, exp: now - 3600 }, key), key, { aud: 's', iss: 'i' }), undefined);
    const [, body, sig] = t.split('.');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.${sig}`;
    assert.equal(verifyJwt(none, key, { aud: 's', iss: 'i' }), undefined);
    assert.equal(verifyJwt('a.b', key, { aud: 's', iss: 'i' }), undefined);
  });

  it('htpasswd: bcrypt only, with the line of a bad entry', () => {
    const h = bcrypt.hashSync('pw', 4);
    assert.equal(parseHtpasswd(`# c\nalice:${h}\n\n`).get('alice'), h);
    assert.throws(() => parseHtpasswd('bob:{SHA}abc', 'users'), /users:1: user bob: only bcrypt/);
    assert.throws(() => parseHtpasswd('nocolon'), /expected user:hash/);
  });

  const dir = mkdtempSync(join(tmpdir(), 'berth-regauth-unit-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('decides public/private access per user, group and token', async () => {
    writeFileSync(join(dir, 'htpasswd'), ['alice', 'bob', 'carol'].map((u) => `${u}:${bcrypt.hashSync(u, 4)}`).join('\n'));
    const cfg = parseConfig({
      auth: { htpasswd: 'htpasswd' },
      groups: { devs: ['bob'] },
      repositories: [
        { match: 'pub/**', access: 'public', push: ['alice'] },
        { match: 'priv/*', access: 'private', pull: ['group:devs'], push: ['alice'], delete: ['carol'] },
      ],
    }, dir);
    const ac = new AccessController(cfg, dir);
    await ac.init();
    assert.equal(ac.decide({ kind: 'anonymous' }, 'pub/x', 'pull'), 'allow');
    assert.equal(ac.decide({ kind: 'anonymous' }, 'pub/x', 'push'), 'unauthorized');
    assert.equal(ac.decide({ kind: 'anonymous' }, 'priv/x', 'pull'), 'unauthorized');
    assert.equal(ac.decide({ kind: 'basic', user: 'carol' }, 'priv/x', 'pull'), 'denied');
    assert.equal(ac.decide({ kind: 'basic', user: 'carol' }, 'priv/x', 'delete'), 'allow');
    assert.equal(ac.decide({ kind: 'basic', user: 'bob' }, 'priv/x', 'pull'), 'allow');
    assert.equal(ac.decide({ kind: 'basic', user: 'bob' }, 'priv/x', 'push'), 'denied');
    assert.equal(ac.decide({ kind: 'basic', user: 'alice' }, 'priv/x', 'pull'), 'allow');
    // Default rule: any authenticated user, nobody anonymous.
    assert.equal(ac.decide({ kind: 'anonymous' }, 'other/x', 'pull'), 'unauthorized');
    assert.equal(ac.decide({ kind: 'basic', user: 'carol' }, 'other/x', 'push'), 'allow');
    assert.ok(await ac.checkPassword('bob', 'bob'));
    assert.ok(!(await ac.checkPassword('bob', 'alice')));
    assert.ok(!(await ac.checkPassword('nobody', 'x')));
    assert.equal(await ac.authenticate(`Basic ${Buffer.from('bob:wrong').toString('base64')}`), undefined);
    assert.equal(await ac.authenticate('Digest abc'), undefined);
    const t = ac.issueToken('bob', ['repository:priv/x:pull,push,delete', 'repository:pub/y:*']);
    assert.deepEqual(t.access, [
      { type: 'repository', name: 'priv/x', actions: ['pull'] },
      { type: 'repository', name: 'pub/y', actions: ['pull'] },
    ]);
    const id = await ac.authenticate(`Bearer ${t.token}`);
    assert.equal(id?.user, 'bob');
    assert.equal(ac.decide(id!, 'priv/x', 'pull'), 'allow');
    assert.equal(ac.decide(id!, 'priv/x', 'push'), 'denied');
  });
});
