// exec, cp, diff, export, commit, stats, top and events through the real docker CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, symlinkSync, chmodSync, statSync, lstatSync, readlinkSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import tar from 'tar-stream';
import { startDaemon, docker, TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
let work: string;
before(async () => {
  d = await startDaemon();
  work = mkdtempSync(join(tmpdir(), 'berth-it-cp-'));
  assert.equal(docker(d, ['run', '-d', '--name', 'box', 'busybox', 'sleep', '600']).code, 0);
});
after(async () => { await d?.stop(); if (work) rmSync(work, { recursive: true, force: true }); });

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

test('exec: ps sees only the container, -u 1000, exit codes, env and workdir', () => {
  const ps = docker(d, ['exec', 'box', 'ps', '-o', 'pid,args']);
  assert.equal(ps.code, 0, ps.stderr);
  const lines = ps.stdout.trim().split('\n').slice(1).map((l) => l.trim());
  assert.match(lines[0], /^1 sleep 600$/);
  assert.equal(lines.length, 2, ps.stdout); // sleep and ps itself
  assert.equal(docker(d, ['exec', '-u', '1000', 'box', 'id', '-u']).stdout, '1000\n');
  assert.equal(docker(d, ['exec', 'box', 'sh', '-c', 'exit 42']).code, 42);
  assert.equal(docker(d, ['exec', '-e', 'A=b', '-w', '/tmp', 'box', 'sh', '-c', 'echo $A $(pwd)']).stdout, 'b /tmp\n');
  assert.equal(docker(d, ['exec', '-i', 'box', 'cat'], 'piped\n').stdout, 'piped\n');
  const det = docker(d, ['exec', '-d', 'box', 'sh', '-c', 'echo x > /tmp/detached']);
  assert.equal(det.code, 0, det.stderr);
});

test('exec that cannot start: a missing workdir or user ends with 126 and Docker\'s words', async () => {
  assert.equal(docker(d, ['run', '-d', '--name', 'nostart', 'busybox', 'sleep', '600']).code, 0);
  try {
    const wd = docker(d, ['exec', '-w', '/nonexist', 'nostart', 'true']);
    assert.equal(wd.code, 126);
    assert.match(wd.stdout + wd.stderr, /OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd \("\/nonexist"\) set in config.json failed: no such file or directory/);
    const user = docker(d, ['exec', '-u', 'nosuchuser', 'nostart', 'true']);
    assert.equal(user.code, 126);
    assert.match(user.stdout + user.stderr, /unable to find user nosuchuser: no matching entries in passwd file/);
    // Neither left its exec dir behind.
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(existsSync(join(d.execRoot, 'execs')) ? readdirSync(join(d.execRoot, 'execs')) : [], []);
  } finally {
    docker(d, ['rm', '-f', 'nostart']);
  }
});

test('exec into a stopped container is 409 with Docker\'s message; resize of an unknown exec is 404', async () => {
  assert.equal(docker(d, ['create', '--name', 'stopped', 'busybox', 'true']).code, 0);
  const r = docker(d, ['exec', 'stopped', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Error response from daemon: container [0-9a-f]{64} is not running/);
  const id = docker(d, ['inspect', '-f', '{{.Id}}', 'stopped']).stdout.trim();
  const api = await d.request('POST', `/containers/${id}/exec`, { Cmd: ['true'] });
  assert.equal(api.status, 409);
  const rs = await d.request('POST', '/exec/0123456789abcdef/resize?h=10&w=10');
  assert.equal(rs.status, 404);
  assert.match(JSON.parse(rs.body).message, /No such exec instance/);
  docker(d, ['rm', 'stopped']);
});

test('an attached exec forked at create still runs detached, and leaves nothing when its container stops first', async () => {
  const run = docker(d, ['run', '-d', '--name', 'prep', 'busybox', 'sleep', '600']);
  assert.equal(run.code, 0);
  const prepId = run.stdout.trim();
  const created = async (cmd: string[]) => {
    const r = await d.request('POST', '/containers/prep/exec', { Cmd: cmd, AttachStdout: true, AttachStderr: true });
    assert.equal(r.status, 201, r.body);
    return (JSON.parse(r.body) as { Id: string }).Id;
  };
  // A waiter (a shell, a cat and a crun blocked reading its process spec) for this container.
  const waiters = () => spawnSync('pgrep', ['-f', `${d.execRoot}.* ${prepId}$`]).stdout.toString().trim();
  // Created attached, started with Detach: the command still runs, with no stream.
  const det = await created(['sh', '-c', 'echo ran > /tmp/prepared']);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await d.request('POST', `/exec/${det}/start`, { Detach: true })).status, 200);
  for (let i = 0; i < 50 && docker(d, ['exec', 'prep', 'cat', '/tmp/prepared']).stdout !== 'ran\n'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(docker(d, ['exec', 'prep', 'cat', '/tmp/prepared']).stdout, 'ran\n');
  // Created, then the container stops: start reports it inside the stream (the connection is
  // taken first, as moby does) and the waiting process is gone.
  const late = await created(['true']);
  for (let i = 0; i < 20 && waiters() === ''; i++) await new Promise((r) => setTimeout(r, 50));
  assert.notEqual(waiters(), '', 'a waiter is started when an attached exec is created');
  assert.equal(docker(d, ['stop', '-t', '0', 'prep']).code, 0);
  const st = await d.request('POST', `/exec/${late}/start`, {});
  assert.match(st.body, /container [0-9a-f]{64} is not running/);
  for (let i = 0; i < 20 && waiters() !== ''; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(waiters(), '');
  assert.deepEqual(existsSync(join(d.execRoot, 'execs')) ? readdirSync(join(d.execRoot, 'execs')) : [], []);
  docker(d, ['rm', 'prep']);
});

test('docker cp round-trips a tree with modes, symlinks and a 100 MB file', () => {
  const src = join(work, 'tree');
  mkdirSync(join(src, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(src, 'a.txt'), 'alpha\n');
  writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho run\n');
  chmodSync(join(src, 'run.sh'), 0o750);
  chmodSync(join(src, 'sub'), 0o711);
  writeFileSync(join(src, 'sub', 'deep', 'z'), 'zed');
  symlinkSync('a.txt', join(src, 'link'));
  symlinkSync('/etc/passwd', join(src, 'abs-link'));
  spawnSync('dd', ['if=/dev/urandom', `of=${join(src, 'big.bin')}`, 'bs=1M', 'count=100', 'status=none']);
  const into = docker(d, ['cp', src, 'box:/copied'], undefined, 120_000);
  assert.equal(into.code, 0, into.stderr);
  assert.equal(docker(d, ['exec', 'box', 'sh', '-c', 'cat /copied/link; /copied/run.sh; readlink /copied/abs-link; stat -c %a /copied/run.sh /copied/sub']).stdout,
    'alpha\nrun\n/etc/passwd\n750\n711\n');
  const inSum = docker(d, ['exec', 'box', 'sha256sum', '/copied/big.bin']).stdout.split(/\s/)[0];
  assert.equal(inSum, sha(join(src, 'big.bin')));
  const back = join(work, 'back');
  const out = docker(d, ['cp', 'box:/copied', back], undefined, 120_000);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(sha(join(back, 'big.bin')), sha(join(src, 'big.bin')));
  assert.equal(statSync(join(back, 'run.sh')).mode & 0o777, 0o750);
  assert.equal(statSync(join(back, 'sub')).mode & 0o777, 0o711);
  assert.equal(readlinkSync(join(back, 'link')), 'a.txt');
  assert.equal(readlinkSync(join(back, 'abs-link')), '/etc/passwd');
  assert.equal(readFileSync(join(back, 'sub', 'deep', 'z'), 'utf8'), 'zed');
  // A single file to a new name, and to stdout as a tar.
  assert.equal(docker(d, ['cp', 'box:/copied/a.txt', join(work, 'renamed.txt')]).code, 0);
  assert.equal(readFileSync(join(work, 'renamed.txt'), 'utf8'), 'alpha\n');
  const t = docker(d, ['cp', 'box:/copied/a.txt', '-']);
  assert.match(t.stdout, /^a\.txt\0/);
  docker(d, ['exec', 'box', 'rm', '-rf', '/copied']);
});

test('docker cp: missing paths are 404 "Could not find the file"; stat header; stopped containers', async () => {
  const r = docker(d, ['cp', 'box:/no/such', join(work, 'x')]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Could not find the file \/no\/such in container box/);
  const h = await d.request('HEAD', '/containers/box/archive?path=/etc/passwd');
  assert.equal(h.status, 200);
  const st = JSON.parse(Buffer.from(String(h.headers['x-docker-container-path-stat']), 'base64').toString()) as { name: string; size: number; mode: number };
  assert.equal(st.name, 'passwd');
  assert.ok(st.size > 0);
  const missing = await d.request('GET', '/containers/box/archive?path=/nope');
  assert.equal(missing.status, 404);
  assert.match(JSON.parse(missing.body).message, /^Could not find the file \/nope in container box$/);
  // A container that never ran: its rootfs is mounted for the copy and unmounted after.
  assert.equal(docker(d, ['create', '--name', 'cold', 'busybox', 'true']).code, 0);
  writeFileSync(join(work, 'cold.txt'), 'cold\n');
  assert.equal(docker(d, ['cp', join(work, 'cold.txt'), 'cold:/cold.txt']).code, 0);
  assert.equal(docker(d, ['cp', 'cold:/cold.txt', join(work, 'cold-back.txt')]).code, 0);
  assert.equal(readFileSync(join(work, 'cold-back.txt'), 'utf8'), 'cold\n');
  const id = docker(d, ['inspect', '-f', '{{.Id}}', 'cold']).stdout.trim();
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(id), 'rootfs unmounted after the copy');
  assert.equal(docker(d, ['start', '-a', 'cold']).code, 0);
  docker(d, ['rm', 'cold']);
});

test('docker cp of a crafted tar with ../ entries is refused and writes nothing outside', () => {
  const marker = join(work, 'escape-marker');
  const pack = tar.pack();
  pack.entry({ name: 'ok.txt' }, 'fine');
  pack.entry({ name: `../../../../../../../..${marker}` }, 'pwned');
  pack.finalize();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => { chunks.push(c as Buffer); });
  return new Promise<void>((resolve) => pack.on('end', () => {
    const r = docker(d, ['cp', '-', 'box:/tmp'], Buffer.concat(chunks));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /outside of the destination/);
    assert.ok(!existsSync(marker));
    resolve();
  }));
});

test('docker diff, export | tar t, commit then run of the new image', () => {
  assert.equal(docker(d, ['run', '--name', 'chg', 'busybox', 'sh', '-c', 'mkdir /new && echo v > /new/f && rm /bin/vi && touch /etc/passwd']).code, 0);
  const diff = docker(d, ['diff', 'chg']);
  assert.equal(diff.code, 0, diff.stderr);
  assert.equal(diff.stdout, 'C /bin\nD /bin/vi\nC /etc\nC /etc/passwd\nA /new\nA /new/f\n');
  const exp = spawnSync('sh', ['-c', `${'/usr/local/bin/docker'} export chg | tar t`], { env: d.env, maxBuffer: 64 << 20 });
  const names = exp.stdout.toString().split('\n');
  assert.ok(names.includes('new/f'), 'export has the new file');
  assert.ok(names.includes('bin/busybox'));
  assert.ok(!names.includes('bin/vi'), 'deleted file is not exported');
  const commit = docker(d, ['commit', '-a', 'me', '-m', 'a message', '-c', 'ENV COMMITTED=yes', '-c', 'CMD ["cat", "/new/f"]', 'chg', 'committed:v1']);
  assert.equal(commit.code, 0, commit.stderr);
  assert.match(commit.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(docker(d, ['run', '--rm', 'committed:v1']).stdout, 'v\n');
  assert.equal(docker(d, ['run', '--rm', 'committed:v1', 'sh', '-c', 'echo $COMMITTED; test -e /bin/vi || echo gone']).stdout, 'yes\ngone\n');
  assert.equal(docker(d, ['inspect', '-f', '{{.Author}}|{{.Comment}}', 'committed:v1']).stdout, 'me|a message\n');
  const bad = docker(d, ['commit', '-c', 'FROM x', 'chg', 'bad:v1']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /from is not a valid change command/);
  docker(d, ['rm', 'chg']);
});

test('docker stats --no-stream prints Docker\'s table; the API gives precpu_stats', async () => {
  const r = docker(d, ['stats', '--no-stream', 'box']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS\n[0-9a-f]{12}\s+box\s+\d+\.\d\d%\s+\S+ \/ \S+\s+\d+\.\d\d%\s+\S+ \/ \S+\s+\S+ \/ \S+\s+1\n$/);
  const s = JSON.parse((await d.request('GET', '/containers/box/stats?stream=false')).body) as { precpu_stats: { system_cpu_usage?: number }; cpu_stats: { online_cpus: number }; pids_stats: { current: number }; name: string };
  assert.equal(s.name, '/box');
  assert.ok(s.precpu_stats.system_cpu_usage && s.precpu_stats.system_cpu_usage > 0);
  assert.ok(s.cpu_stats.online_cpus >= 1);
  assert.equal(s.pids_stats.current, 1);
});

test('docker top with ps options; docker events with --since/--until/--filter', () => {
  const top = docker(d, ['top', 'box', '-o', 'pid,comm']);
  assert.equal(top.code, 0, top.stderr);
  assert.match(top.stdout, /^PID\s+COMMAND\n\d+\s+sleep\n$/);
  const since = Math.floor(Date.now() / 1000) - 1;
  assert.equal(docker(d, ['run', '--rm', '--name', 'evt', 'busybox', 'true']).code, 0);
  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = docker(d, ['events', '--since', String(since), '--until', String(until), '--filter', 'container=evt', '--format', '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}']);
  assert.equal(ev.code, 0, ev.stderr);
  const lines = ev.stdout.trim().split('\n');
  for (const a of ['create', 'attach', 'start', 'die', 'destroy']) assert.ok(lines.includes(`container ${a} evt`), `${a} in ${ev.stdout}`);
  const onlyDie = docker(d, ['events', '--since', String(since), '--until', String(until), '--filter', 'event=die', '--filter', 'container=evt']);
  assert.match(onlyDie.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d) container die [0-9a-f]{64} \(exitCode=0, image=busybox, name=evt\)\n$/);
});

test('stats stream: one JSON object a second, each with the previous as precpu_stats; one-shot', async () => {
  const objs = await new Promise<{ read: string; preread: string; precpu_stats: { cpu_usage: { total_usage: number } } }[]>((resolve, reject) => {
    const got: string[] = [];
    const req = http.request({ socketPath: d.socket, path: '/containers/box/stats?stream=1' }, (res) => {
      let buf = '';
      res.on('data', (b: Buffer) => {
        buf += b.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        got.push(...lines.filter(Boolean));
        if (got.length >= 2) { req.destroy(); resolve(got.map((l) => JSON.parse(l))); }
      });
    });
    req.on('error', (e) => { if (got.length < 2) reject(e); });
    req.end();
  });
  assert.equal(objs[0].preread, '0001-01-01T00:00:00Z');
  assert.equal(objs[1].preread, objs[0].read);
  assert.ok(objs[1].precpu_stats.cpu_usage.total_usage > 0);
  const t0 = Date.now();
  const one = await d.request('GET', '/containers/box/stats?stream=0&one-shot=1');
  assert.equal(one.status, 200);
  assert.ok(Date.now() - t0 < 900, 'one-shot does not wait for a second sample');
  const bad = await d.request('GET', '/containers/box/stats?stream=1&one-shot=1');
  assert.equal(bad.status, 400);
});

// Regression: a hijacked exec or attach whose JSON body came in a packet of its own (after the
// headers) had its socket paused by the body read and never resumed, so stdin was never read.
for (const kind of ['exec', 'attach'] as const) {
  test(`hijack-split-body-stdin (${kind}): stdin flows when the request body arrives after the headers`, async () => {
    let path: string;
    let body: string;
    let cleanup = (): void => undefined;
    if (kind === 'exec') {
      const created = await d.request('POST', '/containers/box/exec', { Cmd: ['sh', '-c', 'read l; echo got:$l'], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: true });
      path = `/exec/${(JSON.parse(created.body) as { Id: string }).Id}/start`;
      body = JSON.stringify({ Detach: false, Tty: true });
    } else {
      assert.equal(docker(d, ['run', '-d', '-it', '--name', 'splitattach', 'busybox', 'sh', '-c', 'read l; echo got:$l; sleep 5']).code, 0);
      path = '/containers/splitattach/attach?stream=1&stdin=1&stdout=1';
      body = JSON.stringify({ options: 'as dockerode sends them' });
      cleanup = () => { docker(d, ['rm', '-f', 'splitattach']); };
    }
    const sock = (await import('node:net')).connect(d.socket);
    try {
      let out = '';
      sock.on('data', (b: Buffer) => { out += b.toString('latin1'); });
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write(`POST ${path} HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      await new Promise((r) => setTimeout(r, 200));
      sock.write(body);
      const until = async (re: RegExp) => { for (let i = 0; i < 100 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 50)); return re.test(out); };
      assert.ok(await until(/101 UPGRADED/), out);
      await new Promise((r) => setTimeout(r, 300));
      sock.write('hello\n');
      assert.ok(await until(/got:hello/), `no answer to stdin: ${JSON.stringify(out)}`);
    } finally {
      sock.destroy();
      cleanup();
    }
  });
}
