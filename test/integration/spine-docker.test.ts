// The spine's acceptance, driven by the real docker CLI against berthd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, mkdirSync, copyFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
import { startDaemon, docker, TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

test('docker run --rm busybox echo hello prints hello', () => {
  const r = docker(d, ['run', '--rm', 'busybox', 'echo', 'hello']);
  assert.equal(r.stdout, 'hello\n', r.stderr);
  assert.equal(r.code, 0);
});

test('exit codes come back: sh -c "exit 3" exits 3', () => {
  assert.equal(docker(d, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']).code, 3);
});

test('piped stdin reaches the container with -i', () => {
  const r = docker(d, ['run', '-i', '--rm', 'busybox', 'cat'], 'x\n');
  assert.equal(r.stdout, 'x\n', r.stderr);
});

test('stdout and stderr stay apart', () => {
  const r = docker(d, ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
});

test('detached container: ps, logs, inspect, stop, rm', async () => {
  const run = docker(d, ['run', '-d', '--name', 'web', 'busybox', 'sh', '-c', 'echo started; exec sleep 300']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout.trim(), /^[a-f0-9]{64}$/);
  const ps = docker(d, ['ps']);
  assert.match(ps.stdout, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/m);
  assert.match(ps.stdout, /busybox\s+"sh -c 'echo started.*Up .*\s+web$/m);
  await waitFor(() => docker(d, ['logs', 'web']).stdout === 'started\n');
  assert.equal(docker(d, ['inspect', '-f', '{{.State.Running}}', 'web']).stdout, 'true\n');
  const stop = docker(d, ['stop', '-t', '1', 'web']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, 'web\n');
  assert.equal(docker(d, ['inspect', '-f', '{{.State.Running}} {{.State.Status}}', 'web']).stdout, 'false exited\n');
  assert.equal(docker(d, ['rm', 'web']).code, 0);
  assert.equal(docker(d, ['ps', '-aq']).stdout, '');
});

test('unknown image: "Unable to find image", exit 125, nothing created', () => {
  const r = docker(d, ['run', '--rm', 'nosuchimage-berth']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /Unable to find image 'nosuchimage-berth:latest' locally/);
  assert.equal(docker(d, ['ps', '-aq']).stdout, '');
});

test('unknown command: exit 127 with Docker wording', () => {
  const r = docker(d, ['run', '--rm', 'busybox', 'nosuchcommand']);
  assert.equal(r.code, 127, r.stderr);
  assert.match(r.stderr, /executable file not found in \$PATH/);
});

test('duplicate --name is a 409 "already in use"', async () => {
  assert.equal(docker(d, ['create', '--name', 'dup', 'busybox', 'true']).code, 0);
  const r = docker(d, ['create', '--name', 'dup', 'busybox', 'true']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /is already in use by container/);
  const api = await d.request('POST', '/containers/create?name=dup', { Image: 'busybox', Cmd: ['true'] });
  assert.equal(api.status, 409);
  assert.match(JSON.parse(api.body).message, /already in use/);
  docker(d, ['rm', 'dup']);
});

test('rm of a running container without -f is a 409; -f removes it', async () => {
  docker(d, ['run', '-d', '--name', 'busy', 'busybox', 'sleep', '300']);
  const api = await d.request('DELETE', '/containers/busy');
  assert.equal(api.status, 409);
  assert.match(JSON.parse(api.body).message, /container is running/);
  assert.equal(docker(d, ['rm', '-f', 'busy']).code, 0);
});

test('malformed JSON bodies are 400 with a message', async () => {
  const r = await d.request('POST', '/containers/create', '{"Image": ');
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body).message, /invalid JSON/);
  const r2 = await d.request('POST', '/containers/create', { Cmd: ['true'] });
  assert.equal(r2.status, 400);
  const r3 = await d.request('GET', '/containers/nosuch/json');
  assert.equal(r3.status, 404);
  assert.deepEqual(JSON.parse(r3.body), { message: 'No such container: nosuch' });
});

test('isolation: pid 1, own hostname, only lo, no host mounts', () => {
  const r = docker(d, ['run', '--rm', '--network', 'none', '--hostname', 'boxy', 'busybox', 'sh', '-c', 'echo $$; hostname; ls /sys/class/net; cat /proc/mounts']);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], '1');
  assert.equal(lines[1], 'boxy');
  assert.equal(lines[2], 'lo');
  assert.doesNotMatch(r.stdout, / \/work\/main /);
  const caps = docker(d, ['run', '--rm', 'busybox', 'grep', 'CapEff', '/proc/self/status']).stdout;
  assert.match(caps, /CapEff:\s+00000000a80425fb/);
});

test('--memory 32m with a memory hog ends OOMKilled with exit 137', () => {
  const r = docker(d, ['run', '--name', 'hog', '--memory', '32m', 'busybox', 'sh', '-c', 'x=a; while true; do x=$x$x; done']);
  assert.equal(r.code, 137, r.stderr);
  assert.equal(docker(d, ['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}}', 'hog']).stdout, 'true 137\n');
  docker(d, ['rm', 'hog']);
});

test('--pids-limit and --cpus become cgroup limits', () => {
  const r = docker(d, ['run', '--rm', '--pids-limit', '20', '--cpus', '0.5', 'busybox', 'sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max']);
  assert.match(r.stdout, /^20\n(50000|50000 100000)\n$/, r.stdout + r.stderr);
});

test('a container keeps running and logging while berthd is killed and restarted', async () => {
  docker(d, ['run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'i=0; while true; do echo line$i; i=$((i+1)); sleep 0.2; done']);
  await d.restart({ kill: true });
  const ps = docker(d, ['ps', '--format', '{{.Names}} {{.State}}']);
  assert.match(ps.stdout, /survivor running/);
  const before = docker(d, ['logs', 'survivor']).stdout.split('\n').length;
  await new Promise((r) => setTimeout(r, 600));
  assert.ok(docker(d, ['logs', 'survivor']).stdout.split('\n').length > before, 'still logging after restart');
  const stop = docker(d, ['stop', '-t', '1', 'survivor']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(docker(d, ['wait', 'survivor']).stdout, '137\n');
  docker(d, ['rm', 'survivor']);
});

test('docker import makes an image from a rootfs tarball', () => {
  const tar = spawnTar();
  const r = docker(d, ['import', '-', 'imported:1'], tar);
  assert.equal(r.code, 0, r.stderr);
  const run = docker(d, ['run', '--rm', 'imported:1', '/bin/busybox', 'cat', '/hello.txt']);
  assert.equal(run.stdout, 'hi from import\n', run.stderr);
});

function spawnTar(): Buffer {
  // A minimal rootfs: the busybox binary and a file.
  const dir = mkdtempSync('/tmp/berth-import-');
  try {
    mkdirSync(`${dir}/bin`);
    copyFileSync(existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox', `${dir}/bin/busybox`);
    chmodSync(`${dir}/bin/busybox`, 0o755);
    writeFileSync(`${dir}/hello.txt`, 'hi from import\n');
    return execFileSync('tar', ['-C', dir, '-c', '.'], { maxBuffer: 64 << 20 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}


test('swarm and plugin commands get the answers of a dockerd without swarm mode or plugins', () => {
  const notManager = 'Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n';
  for (const args of [['service', 'ls'], ['node', 'ls'], ['secret', 'ls'], ['config', 'ls'], ['swarm', 'ca']]) {
    const r = docker(d, args);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr, notManager, args.join(' '));
  }
  assert.equal(docker(d, ['swarm', 'leave']).stderr, 'Error response from daemon: This node is not part of a swarm\n');
  assert.match(docker(d, ['swarm', 'init']).stderr, /berth does not run swarm mode/);
  const plugins = docker(d, ['plugin', 'ls']);
  assert.equal(plugins.stdout, 'ID        NAME      DESCRIPTION   ENABLED\n', plugins.stderr);
  assert.equal(docker(d, ['plugin', 'inspect', 'foo']).stderr, 'Error response from daemon: plugin "foo" not found\n');
});

test('sizes on request: inspect -s and ps -s count the writable layer; events refuses since after until', () => {
  assert.equal(docker(d, ['run', '--name', 'sized', 'busybox', 'sh', '-c', 'printf 12345 > /tmp/f']).code, 0);
  try {
    assert.equal(docker(d, ['container', 'inspect', '-s', '-f', '{{.SizeRw}}', 'sized']).stdout, '5\n');
    assert.match(docker(d, ['ps', '-a', '-s', '--filter', 'name=sized', '--format', '{{.Size}}']).stdout, /^5B \(virtual \d+(\.\d+)?MB\)\n$/);
  } finally {
    docker(d, ['rm', '-f', 'sized']);
  }
  const ev = docker(d, ['events', '--since', '1s', '--until', '5s']);
  assert.equal(ev.code, 1);
  assert.match(ev.stderr, /^Error response from daemon: `since` time \(\S+\) cannot be after `until` time \(\S+\)\n$/);
});

test('info names the host OS, docker-init and an engine ID that is a UUID', () => {
  const r = docker(d, ['info', '-f', '{{.OperatingSystem}}|{{.InitBinary}}|{{.ID}}']);
  const [os, init, id] = r.stdout.trim().split('|');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  assert.equal(os, pretty);
  assert.equal(init, 'docker-init');
  assert.match(id ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});

async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (pred()) return; await new Promise((r) => setTimeout(r, 50)); }
  assert.fail('condition not met in time');
}
