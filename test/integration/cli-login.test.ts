// `berth login`/`logout` against a registry that wants credentials (`berth registry serve` with
// htpasswd users and a private repository): docker's config.json, shared with the docker CLI,
// and pull/push sending what login stored.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from './registry-server-helpers.js';
import { startDaemon, berth, docker, TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
let dir: string;
// A process of its own: the CLIs run synchronously here, which would stall an in-process server.
let registry: RunningRegistry;
let reg: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'berth-cli-login-'));
  writeFileSync(join(dir, 'htpasswd'), `alice:${bcrypt.hashSync('alice-pw', 4)}\n`);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    auth: { htpasswd: 'htpasswd', challenge: 'bearer' },
    repositories: [{ match: 'priv/**', access: 'private', pull: ['alice'], push: ['alice'] }],
  }));
  registry = await startRegistry(join(dir, 'root'), { config: join(dir, 'config.json') });
  reg = `127.0.0.1:${registry.port}`;
  d = await startDaemon({ extraArgs: ['--insecure-registry', reg] });
});
after(async () => {
  await d?.stop();
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('login stores credentials where docker does, push and pull send them, logout forgets them', () => {
  const config = join(d.env.DOCKER_CONFIG!, 'config.json');
  const wrong = berth(d, ['login', '-u', 'alice', '-p', 'nope', reg]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /unauthorized|incorrect username or password/i);
  assert.ok(!existsSync(config), 'a failed login stores nothing');

  const ok = berth(d, ['login', '-u', 'alice', '--password-stdin', reg], 'alice-pw\n');
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'Login Succeeded\n');
  assert.match(ok.stderr, /WARNING! Your credentials are stored unencrypted/);
  assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { auths: { [reg]: { auth: Buffer.from('alice:alice-pw').toString('base64') } } });
  assert.equal(statSync(config).mode & 0o777, 0o600);

  assert.equal(berth(d, ['tag', 'busybox', `${reg}/priv/bb:1`]).code, 0);
  const push = berth(d, ['push', `${reg}/priv/bb:1`]);
  assert.equal(push.code, 0, push.stderr);
  assert.equal(berth(d, ['rmi', `${reg}/priv/bb:1`]).code, 0);
  const pull = berth(d, ['pull', `${reg}/priv/bb:1`]);
  assert.equal(pull.code, 0, pull.stderr);
  // The docker CLI reads the same file.
  assert.equal(docker(d, ['rmi', `${reg}/priv/bb:1`]).code, 0);
  assert.equal(docker(d, ['pull', '-q', `${reg}/priv/bb:1`]).code, 0);

  const again = berth(d, ['login', reg], '');
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /Authenticating with existing credentials\.\.\. \[Username: alice\]/);

  assert.equal(berth(d, ['logout', reg]).stdout, `Removing login credentials for ${reg}\n`);
  assert.deepEqual(JSON.parse(readFileSync(config, 'utf8')), { auths: {} });
  assert.equal(berth(d, ['rmi', `${reg}/priv/bb:1`]).code, 0);
  const denied = berth(d, ['pull', `${reg}/priv/bb:1`]);
  assert.notEqual(denied.code, 0);

  const noTty = berth(d, ['login', '-u', 'alice', reg], '');
  assert.equal(noTty.code, 1);
  assert.equal(noTty.stderr, 'Error: Cannot perform an interactive login from a non TTY device\n');
  const both = berth(d, ['login', '-u', 'alice', '-p', 'x', '--password-stdin', reg]);
  assert.equal(both.stderr, 'conflicting options: cannot specify both --password and --password-stdin\n');
});

test('search: docker search host/term through berthd lists what the stored login may pull, as docker prints it', () => {
  assert.equal(berth(d, ['login', '-u', 'alice', '--password-stdin', reg], 'alice-pw\n').code, 0);
  assert.equal(berth(d, ['tag', 'busybox', `${reg}/priv/searchme:1`]).code, 0);
  assert.equal(berth(d, ['push', `${reg}/priv/searchme:1`]).code, 0);
  const table = 'NAME            DESCRIPTION   STARS     OFFICIAL\npriv/searchme                 0         \n';
  for (const cli of [berth, docker]) {
    const r = cli(d, ['search', `${reg}/searchme`]);
    assert.equal(r.stdout, table, r.stderr);
  }
  for (const args of [['search', '--format', 'json', `${reg}/searchme`], ['search', '-f', 'stars=x', `${reg}/searchme`], ['search', '--limit', '101', `${reg}/x`]]) {
    const [ours, theirs] = [berth(d, args), docker(d, args)];
    assert.deepEqual([ours.code, ours.stdout, ours.stderr], [theirs.code, theirs.stdout, theirs.stderr.replace(/docker/g, 'berth')], args.join(' '));
  }
  assert.equal(berth(d, ['logout', reg]).code, 0);
  assert.equal(berth(d, ['search', `${reg}/searchme`]).stdout, 'NAME      DESCRIPTION   STARS     OFFICIAL\n', 'anonymous callers do not see the private repository');
});
