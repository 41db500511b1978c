// Tools people point at a Docker daemon, pointed at berthd unchanged: dockerode (the Node SDK),
// testcontainers (which drives it) and Debian's docker-compose (the Python SDK).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import Docker from 'dockerode';
import tar from 'tar-stream';
import { startDaemon, docker, TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
let api: Docker;
before(async () => {
  d = await startDaemon();
  api = new Docker({ socketPath: d.socket });
});
after(async () => { await d?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Splits a multiplexed attach/logs/exec stream with dockerode's own demuxer. */
async function demuxed(stream: Readable): Promise<{ stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const o = collect(out);
  const e = collect(err);
  api.modem.demuxStream(stream, out, err);
  await new Promise<void>((resolve) => stream.on('end', () => resolve()));
  out.end();
  err.end();
  return { stdout: (await o).toString(), stderr: (await e).toString() };
}

/** A tar of the given files, as a Buffer dockerode can send. */
async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  return collect(pack as unknown as Readable);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('dockerode: version, create/start/wait/logs, exec, archive, list filters, remove', async () => {
  const v = await api.version();
  assert.match(v.ApiVersion, /^1\.\d+$/);
  assert.equal((await api.ping()).toString(), 'OK');

  const c = await api.createContainer({
    Image: 'busybox', name: 'sdk-one', Cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], Labels: { suite: 'sdk' },
  });
  await c.start();
  assert.deepEqual(await c.wait(), { StatusCode: 3, Error: null });
  const logs = await c.logs({ stdout: true, stderr: true, follow: false }) as unknown as Buffer;
  // Non-follow logs come back as one buffer of frames: stream 1 then 2.
  assert.equal(logs[0], 1);
  assert.match(logs.toString('latin1'), /out\n[\s\S]*err\n/);
  const info = await c.inspect();
  assert.equal(info.State.ExitCode, 3);
  assert.equal(info.Name, '/sdk-one');
  const listed = await api.listContainers({ all: true, filters: { label: ['suite=sdk'] } });
  assert.deepEqual(listed.map((x) => x.Names[0]), ['/sdk-one']);
  await c.remove();

  const run = await api.createContainer({ Image: 'busybox', Cmd: ['sleep', '300'], Env: ['GREETING=hi'] });
  try {
    await run.start();
    const ex = await run.exec({ Cmd: ['sh', '-c', 'echo $GREETING; echo oops >&2; exit 5'], AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const { stdout, stderr } = await demuxed(stream);
    assert.equal(stdout, 'hi\n');
    assert.equal(stderr, 'oops\n');
    assert.equal((await ex.inspect()).ExitCode, 5);
    // A detached exec's Pid is its process's (on the host), as with dockerd.
    const bg = await run.exec({ Cmd: ['sleep', '3'] });
    await bg.start({ Detach: true });
    const cmdline = (pid: number): string => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } };
    let running = await bg.inspect();
    for (let i = 0; i < 40 && cmdline(running.Pid) !== 'sleep\x003\x00'; i++) { await sleep(50); running = await bg.inspect(); }
    assert.equal(running.Running, true);
    assert.equal(cmdline(running.Pid), 'sleep\x003\x00');

    // putArchive / getArchive: a tar in, the same file out.
    await run.putArchive(await tarOf({ 'hello.txt': 'from dockerode\n' }), { path: '/tmp' });
    const back = await collect(await run.getArchive({ path: '/tmp/hello.txt' }) as Readable);
    assert.equal(spawnSync('tar', ['-xOf', '-', 'hello.txt'], { input: back, encoding: 'utf8' }).stdout, 'from dockerode\n');
    const top = await run.top() as { Processes: string[][] };
    assert.ok(top.Processes.some((p) => p.join(' ').includes('sleep 300')));
  } finally {
    await run.remove({ force: true });
  }
});

test('dockerode: attach with stdin (its options travel as a request body, which is not stdin), update', async () => {
  const c = await api.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'while read l; do echo "got $l"; done'], OpenStdin: true, AttachStdin: true, AttachStdout: true });
  try {
    const s = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }) as unknown as Readable & { write(b: string): void; end(): void };
    await c.start();
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => { text += b.toString(); });
    api.modem.demuxStream(s, out, out);
    s.write('hello\n');
    const end = Date.now() + 5000;
    while (!text.includes('got hello') && Date.now() < end) await sleep(50);
    assert.equal(text, 'got hello\n');
    assert.deepEqual(await c.update({ Memory: 64 * 1024 * 1024 }), { Warnings: [] });
    assert.equal((await c.inspect()).HostConfig.Memory, 64 * 1024 * 1024);
  } finally {
    await c.remove({ force: true });
  }
});

test('dockerode: buildImage from a tar context streams JSON progress; images, networks and volumes', async () => {
  const context = await tarOf({ Dockerfile: 'FROM busybox\nCOPY msg /msg\nCMD ["cat", "/msg"]\n', msg: 'built by dockerode\n' });
  const progress = await api.buildImage(Readable.from([context]), { t: 'sdk-built:1' });
  const events = await new Promise<{ stream?: string; error?: string; aux?: { ID: string } }[]>((resolve, reject) => {
    api.modem.followProgress(progress, (err, res) => (err ? reject(err) : resolve(res as never)));
  });
  assert.ok(!events.some((e) => e.error), JSON.stringify(events));
  assert.ok(events.some((e) => e.aux?.ID?.startsWith('sha256:')), 'the image ID arrives as aux');
  const img = await api.getImage('sdk-built:1').inspect();
  assert.deepEqual(img.Config.Cmd, ['cat', '/msg']);
  assert.ok((await api.listImages()).some((i) => (i.RepoTags ?? []).includes('sdk-built:1')));

  const net = await api.createNetwork({ Name: 'sdk-net', Labels: { suite: 'sdk' } });
  const vol = await api.createVolume({ Name: 'sdk-vol' });
  try {
    const c = await api.createContainer({
      Image: 'sdk-built:1', HostConfig: { NetworkMode: 'sdk-net', Binds: ['sdk-vol:/data'], AutoRemove: false },
    });
    await c.start();
    await c.wait();
    const out = await c.logs({ stdout: true }) as unknown as Buffer;
    assert.match(out.toString(), /built by dockerode/);
    const nets = (await c.inspect()).NetworkSettings.Networks;
    assert.ok(nets['sdk-net'], JSON.stringify(nets));
    await c.remove();
    assert.equal((await net.inspect()).Name, 'sdk-net');
    assert.ok((await api.listVolumes()).Volumes.some((v) => v.Name === 'sdk-vol'));
  } finally {
    await net.remove().catch(() => undefined);
    await api.getVolume('sdk-vol').remove().catch(() => undefined);
    await api.getImage('sdk-built:1').remove().catch(() => undefined);
  }
});

test('dockerode: the event stream reports what happens', async () => {
  const stream = await api.getEvents({ filters: { type: ['container'], label: ['suite=events'] } }) as Readable;
  const seen: string[] = [];
  let buf = '';
  stream.on('data', (b: Buffer) => {
    buf += b.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { seen.push((JSON.parse(buf.slice(0, i)) as { Action: string }).Action); buf = buf.slice(i + 1); }
  });
  try {
    const c = await api.createContainer({ Image: 'busybox', Cmd: ['true'], Labels: { suite: 'events' } });
    await c.start();
    await c.wait();
    await c.remove();
    // Removed by force while running: SIGKILL is a kill event before the die, as with dockerd.
    const running = await api.createContainer({ Image: 'busybox', Cmd: ['sleep', '300'], Labels: { suite: 'events' } });
    await running.start();
    await running.remove({ force: true });
    const end = Date.now() + 5000;
    while (seen.filter((a) => a === 'destroy').length < 2 && Date.now() < end) await sleep(50);
    assert.deepEqual(seen.filter((a) => ['create', 'start', 'kill', 'die', 'destroy'].includes(a)),
      ['create', 'start', 'die', 'destroy', 'create', 'start', 'kill', 'die', 'destroy']);
  } finally {
    stream.destroy();
  }
});

test('testcontainers: a container with a port, a log wait, a health wait, exec, copy, a network with aliases', async () => {
  // testcontainers reads its Docker host from the environment once; ryuk (its reaper) is an image
  // from Docker Hub, which CI cannot reach, and every container here is stopped by the test.
  process.env.DOCKER_HOST = d.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const web = await new GenericContainer('busybox')
    .withCommand(['sh', '-c', 'mkdir /www && echo hello > /www/index.html && echo ready && httpd -f -p 8080 -h /www'])
    .withExposedPorts(8080)
    .withEnvironment({ FOO: 'bar' })
    .withWaitStrategy(Wait.forLogMessage('ready'))
    .start();
  const net = await new Network().start();
  const started: { stop(): Promise<unknown> }[] = [web];
  try {
    const res = await fetch(`http://${web.getHost()}:${web.getMappedPort(8080)}/`);
    assert.equal(res.status, 200);
    assert.equal((await res.text()).trim(), 'hello');
    const ex = await web.exec(['sh', '-c', 'echo $FOO; exit 3']);
    assert.equal(ex.exitCode, 3);
    assert.equal(ex.output, 'bar\n');
    await web.copyContentToContainer([{ content: 'copied\n', target: '/tmp/x.txt' }]);
    assert.equal((await web.exec(['cat', '/tmp/x.txt'])).output, 'copied\n');

    const healthy = await new GenericContainer('busybox')
      .withCommand(['sh', '-c', 'sleep 1; touch /tmp/up; sleep 300'])
      .withHealthCheck({ test: ['CMD-SHELL', 'test -e /tmp/up'], interval: 200, timeout: 1000, retries: 20 })
      .withWaitStrategy(Wait.forHealthCheck())
      .withNetwork(net)
      .withNetworkAliases('srv')
      .start();
    started.push(healthy);
    const client = await new GenericContainer('busybox').withNetwork(net).withCommand(['sleep', '300']).start();
    started.push(client);
    await healthy.exec(['sh', '-c', 'echo alias-ok > /tmp/i.html; httpd -p 80 -h /tmp']);
    const got = await client.exec(['wget', '-qO-', 'http://srv/i.html']);
    assert.equal(got.output.trim(), 'alias-ok', got.output);
  } finally {
    for (const c of started.reverse()) await c.stop().catch(() => undefined);
    await net.stop().catch(() => undefined);
  }
});

const COMPOSE = '/usr/bin/docker-compose';

test('docker-compose: up with build, ports, a named volume, depends_on service_healthy; exec, run, down -v', { skip: !existsSync(COMPOSE) && `${COMPOSE} is not installed` }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-compose-'));
  const project = `bt${process.pid}`;
  const port = await freePort();
  const env = { ...d.env, COMPOSE_PROJECT_NAME: project };
  const compose = (args: string[]) => spawnSync(COMPOSE, args, { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
  try {
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'app', 'Dockerfile'), 'FROM busybox\nRUN echo built-ok > /msg\n');
    writeFileSync(join(dir, 'docker-compose.yml'), [
      'version: "2.4"',
      'services:',
      '  web:',
      '    image: busybox',
      '    command: sh -c \'mkdir -p /www && echo "hello from $$NAME" > /www/index.html && httpd -f -p 80 -h /www\'',
      '    environment: {NAME: web}',
      `    ports: ["127.0.0.1:${port}:80"]`,
      '    volumes: ["data:/data"]',
      '    healthcheck: {test: ["CMD", "wget", "-qO-", "http://localhost/"], interval: 200ms, retries: 20}',
      '  client:',
      '    image: busybox',
      '    command: sh -c \'wget -qO- http://web/ && sleep 300\'',
      '    depends_on: {web: {condition: service_healthy}}',
      '  built:',
      '    build: ./app',
      '    command: cat /msg',
      'volumes:',
      '  data: {}',
      '',
    ].join('\n'));
    const up = compose(['up', '-d']);
    assert.equal(up.status, 0, up.stderr);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal((await res.text()).trim(), 'hello from web');
    const ps = compose(['ps']);
    assert.match(ps.stdout, new RegExp(`${project}_web_1 .*Up \\(healthy\\)`), ps.stdout);
    let logs = '';
    for (let i = 0; i < 50 && !/hello from web/.test(logs); i++) { await sleep(100); logs = compose(['logs', '--no-color', 'client']).stdout; }
    assert.match(logs, /hello from web/, 'client started once web was healthy, and reached it by name');
    assert.match(compose(['logs', '--no-color', 'built']).stdout, /built-ok/);
    const ex = compose(['exec', '-T', 'web', 'cat', '/www/index.html']);
    assert.equal(ex.stdout, 'hello from web\n', ex.stderr);
    const once = compose(['run', '--rm', 'built', 'echo', 'one-off']);
    assert.equal(once.status, 0, once.stderr);
    assert.match(once.stdout, /one-off/);
    const down = compose(['down', '-v', '--rmi', 'local']);
    assert.equal(down.status, 0, down.stderr);
    assert.equal(docker(d, ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]).stdout, '');
    assert.doesNotMatch(docker(d, ['volume', 'ls', '-q']).stdout, new RegExp(`${project}_data`));
    assert.doesNotMatch(docker(d, ['network', 'ls']).stdout, new RegExp(`${project}_default`));
  } finally {
    compose(['down', '-v', '--rmi', 'local', '-t', '0']);
    rmSync(dir, { recursive: true, force: true });
  }
});
