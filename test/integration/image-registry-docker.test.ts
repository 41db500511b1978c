// The real docker CLI against berthd and Debian's docker-registry: push, rmi, pull, run; login
// to a basic-auth registry; unknown tags; save/load (also through skopeo's docker-archive).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startDaemon, docker, TestDaemon, CliResult, DOCKER as DOCKER_BIN } from '../helpers/daemon.js';
import { startDockerRegistry, Registry } from './registry-client-fixture.js';

let d: TestDaemon;
let reg: Registry;
let authReg: Registry;
let tmp: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'berth-img-docker-'));
  reg = await startDockerRegistry();
  authReg = await startDockerRegistry({ user: 'alice', password: 's3cret' });
  d = await startDaemon();
  d.env = { ...d.env, DOCKER_CONFIG: join(tmp, 'docker-config') };
});

after(async () => {
  await d?.stop();
  await reg?.stop();
  await authReg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nlogs: ${d.logs().slice(-2000)}`);
  return r.stdout;
}

test('docker push, rmi, pull, run through berthd', () => {
  const name = `${reg.host}/bb/busybox:1`;
  ok(docker(d, ['tag', 'busybox', name]), 'tag');
  const pushed = ok(docker(d, ['push', name]), 'push');
  assert.match(pushed, /1: digest: sha256:[a-f0-9]{64} size: \d+/);
  const rmi = ok(docker(d, ['rmi', name]), 'rmi');
  assert.match(rmi, new RegExp(`Untagged: ${name.replace(/[.]/g, '\\.')}`));
  const pulled = ok(docker(d, ['pull', name]), 'pull');
  assert.match(pulled, /Status: Downloaded newer image for|Status: Image is up to date for/);
  assert.match(ok(docker(d, ['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}']), 'images'), new RegExp(`${reg.host}/bb/busybox:1 sha256:`));
  assert.equal(ok(docker(d, ['run', '--rm', name, 'echo', 'pulled-ok']), 'run').trim(), 'pulled-ok');
});

test('docker pull of an unknown tag: manifest unknown; of an unreachable registry: a clear error', () => {
  const r = docker(d, ['pull', `${reg.host}/bb/busybox:nope`]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /manifest unknown/);
  const t0 = Date.now();
  const u = docker(d, ['pull', '127.0.0.1:1/x:y']);
  assert.notEqual(u.code, 0);
  assert.match(u.stderr, /Get "http:\/\/127\.0\.0\.1:1\/v2\/": dial tcp 127\.0\.0\.1:1: connect: connection refused/);
  assert.ok(Date.now() - t0 < 15_000);
});

test('docker login through berthd, then push and pull with a basic-auth registry', () => {
  const name = `${authReg.host}/priv/busybox:latest`;
  ok(docker(d, ['tag', 'busybox', name]), 'tag');
  const denied = docker(d, ['push', name]);
  assert.notEqual(denied.code, 0);
  const bad = docker(d, ['login', '-u', 'alice', '-p', 'wrong', authReg.host]);
  assert.notEqual(bad.code, 0, bad.stdout);
  assert.match(ok(docker(d, ['login', '-u', 'alice', '--password-stdin', authReg.host], 's3cret\n'), 'login'), /Login Succeeded/);
  ok(docker(d, ['push', name]), 'push');
  ok(docker(d, ['rmi', name]), 'rmi');
  ok(docker(d, ['pull', name]), 'pull');
  ok(docker(d, ['logout', authReg.host]), 'logout');
  // Without credentials: an error, never a 401 that would make the CLI prompt for a login.
  ok(docker(d, ['rmi', name]), 'rmi');
  const anon = docker(d, ['pull', name]);
  assert.notEqual(anon.code, 0);
  assert.match(anon.stderr, /no basic auth credentials/);
  assert.doesNotMatch(anon.stdout, /Username/);
});

test('docker save | docker load, and skopeo reads what we save and writes what we load', () => {
  const file = join(tmp, 'bb.tar');
  ok(docker(d, ['tag', 'busybox', 'saved/bb:v1']), 'tag');
  ok(docker(d, ['save', '-o', file, 'saved/bb:v1']), 'save');
  const sk = spawnSync('skopeo', ['inspect', `docker-archive:${file}`]);
  assert.equal(sk.status, 0, sk.stderr?.toString());
  ok(docker(d, ['rmi', 'saved/bb:v1']), 'rmi');
  assert.match(ok(docker(d, ['load', '-i', file]), 'load'), /Loaded image: saved\/bb:v1/);
  const skFile = join(tmp, 'skopeo.tar');
  const cp = spawnSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/bb/busybox:1`, `docker-archive:${skFile}:sk/bb:1`]);
  assert.equal(cp.status, 0, cp.stderr?.toString());
  assert.match(ok(docker(d, ['load', '-i', skFile]), 'load skopeo'), /Loaded image: sk\/bb:1/);
  const oci = join(tmp, 'oci-layout.tar');
  const cp2 = spawnSync('sh', ['-c', `skopeo copy --src-tls-verify=false docker://${reg.host}/bb/busybox:1 oci-archive:${oci}:sk/oci:2`]);
  assert.equal(cp2.status, 0, cp2.stderr?.toString());
  assert.match(ok(docker(d, ['load', '-i', oci]), 'load oci'), /Loaded image/);
});

test('docker images, inspect, history, import, image prune', () => {
  const ins = JSON.parse(ok(docker(d, ['image', 'inspect', 'busybox']), 'inspect')) as { Id: string; RootFS: { Layers: string[] }; GraphDriver: { Name: string } }[];
  assert.equal(ins[0].GraphDriver.Name, 'overlay2');
  assert.ok(ins[0].RootFS.Layers.length >= 1);
  assert.match(ok(docker(d, ['history', 'busybox']), 'history'), /IMAGE/);
  const rootfs = join(tmp, 'rootfs.tar');
  spawnSync('tar', ['-cf', rootfs, '-C', '/etc', 'hostname']);
  const imported = ok(docker(d, ['import', '-c', 'CMD ["/bin/true"]', '-m', 'hello', rootfs, 'imported/x:1']), 'import');
  assert.match(imported, /^sha256:[a-f0-9]{64}/);
  assert.match(ok(docker(d, ['history', '--format', '{{.Comment}}', 'imported/x:1']), 'history'), /hello/);
  assert.match(ok(docker(d, ['images', '--filter', 'reference=imported/*', '--format', '{{.Repository}}:{{.Tag}}']), 'images'), /imported\/x:1/);
  ok(docker(d, ['rmi', 'imported/x:1']), 'rmi');
  ok(docker(d, ['image', 'prune', '-f']), 'prune');
});

test('with a real dockerd: berth save | docker load, and docker save | berth load', { skip: !existsSync('/var/run/docker.sock') && 'no dockerd on /var/run/docker.sock' }, () => {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: 'unix:///var/run/docker.sock' };
  delete env.DOCKER_API_VERSION;
  const real = (args: string[]) => spawnSync(DOCKER_BIN, args, { env, maxBuffer: 64 << 20 });
  if (real(['info']).status !== 0) return;
  const tag = `berth-it-save-${process.pid}`;
  const ours = join(tmp, 'ours.tar');
  const theirs = join(tmp, 'theirs.tar');
  try {
    ok(docker(d, ['tag', 'busybox', `${tag}/from-berth:1`]), 'tag');
    ok(docker(d, ['save', '-o', ours, `${tag}/from-berth:1`]), 'save');
    const l = real(['load', '-i', ours]);
    assert.equal(l.status, 0, l.stderr.toString());
    assert.match(l.stdout.toString(), new RegExp(`Loaded image: ${tag}/from-berth:1`));
    const run = real(['run', '--rm', `${tag}/from-berth:1`, 'echo', 'in-dockerd']);
    assert.equal(run.stdout.toString().trim(), 'in-dockerd', run.stderr.toString());
    assert.equal(real(['tag', `${tag}/from-berth:1`, `${tag}/from-dockerd:2`]).status, 0);
    assert.equal(real(['save', '-o', theirs, `${tag}/from-dockerd:2`]).status, 0);
    assert.match(ok(docker(d, ['load', '-i', theirs]), 'load'), new RegExp(`Loaded image: ${tag}/from-dockerd:2`));
    assert.equal(ok(docker(d, ['run', '--rm', `${tag}/from-dockerd:2`, 'echo', 'in-berthd']), 'run').trim(), 'in-berthd');
  } finally {
    real(['rmi', '-f', `${tag}/from-berth:1`, `${tag}/from-dockerd:2`]);
  }
});
