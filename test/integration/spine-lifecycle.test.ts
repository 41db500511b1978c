// Lifecycle commands beyond run/stop/rm, through the real docker CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { startDaemon, berth, docker, TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('--runtime runc runs containers too', () => {
  const r = docker(d, ['run', '--rm', '--runtime', 'runc', 'busybox', 'sh', '-c', 'echo via-runc; exit 4']);
  assert.equal(r.stdout, 'via-runc\n', r.stderr);
  assert.equal(r.code, 4);
});

test('kill -s, pause/unpause, restart, rename, top, wait', async () => {
  assert.equal(docker(d, ['run', '-d', '--name', 'lc', 'busybox', 'sh', '-c', "trap 'echo got-usr1' USR1; while true; do sleep 0.1; done"]).code, 0);
  assert.equal(docker(d, ['kill', '-s', 'USR1', 'lc']).code, 0);
  await sleep(500);
  assert.match(docker(d, ['logs', 'lc']).stdout, /got-usr1/);
  assert.equal(docker(d, ['pause', 'lc']).code, 0);
  assert.equal(docker(d, ['inspect', '-f', '{{.State.Status}} {{.State.Paused}}', 'lc']).stdout, 'paused true\n');
  assert.match(docker(d, ['ps']).stdout, /\(Paused\)/);
  assert.equal(docker(d, ['unpause', 'lc']).code, 0);
  const top = docker(d, ['top', 'lc']);
  assert.match(top.stdout, /^UID\s+PID\s+PPID/m);
  assert.match(top.stdout, /while true/);
  const pid1 = docker(d, ['inspect', '-f', '{{.State.Pid}}', 'lc']).stdout;
  assert.equal(docker(d, ['restart', '-t', '1', 'lc']).code, 0);
  assert.notEqual(docker(d, ['inspect', '-f', '{{.State.Pid}}', 'lc']).stdout, pid1);
  assert.equal(docker(d, ['rename', 'lc', 'lc2']).code, 0);
  assert.equal(docker(d, ['inspect', '-f', '{{.Name}}', 'lc2']).stdout, '/lc2\n');
  docker(d, ['kill', 'lc2']);
  assert.equal(docker(d, ['wait', 'lc2']).stdout, '137\n');
  assert.equal(docker(d, ['rm', 'lc2']).code, 0);
});

test('ps filters, -n, -l, --no-trunc, -q and container prune', () => {
  docker(d, ['run', '--name', 'ok0', '--label', 'team=a', 'busybox', 'true']);
  docker(d, ['run', '--name', 'bad3', 'busybox', 'sh', '-c', 'exit 3']);
  docker(d, ['run', '-d', '--name', 'up1', '--label', 'team=b', 'busybox', 'sleep', '300']);
  assert.equal(docker(d, ['ps', '--format', '{{.Names}}']).stdout, 'up1\n');
  assert.equal(docker(d, ['ps', '-a', '--filter', 'exited=3', '--format', '{{.Names}}']).stdout, 'bad3\n');
  assert.equal(docker(d, ['ps', '-a', '--filter', 'label=team=a', '--format', '{{.Names}}']).stdout, 'ok0\n');
  assert.equal(docker(d, ['ps', '-a', '--filter', 'status=running', '-q']).stdout.trim().length, 12);
  assert.equal(docker(d, ['ps', '-l', '--format', '{{.Names}}']).stdout, 'up1\n');
  assert.equal(docker(d, ['ps', '-a', '-n', '2', '--format', '{{.Names}}']).stdout, 'up1\nbad3\n');
  assert.equal(docker(d, ['ps', '-a', '--no-trunc', '-q', '--filter', 'name=up1']).stdout.trim().length, 64);
  assert.equal(docker(d, ['ps', '-a', '--filter', 'ancestor=busybox', '-q']).stdout.trim().split('\n').length, 3);
  const prune = docker(d, ['container', 'prune', '-f']);
  assert.equal(prune.code, 0, prune.stderr);
  assert.match(prune.stdout, /Deleted Containers:/);
  assert.equal(docker(d, ['ps', '-a', '--format', '{{.Names}}']).stdout, 'up1\n');
  docker(d, ['rm', '-f', 'up1']);
});

test('logs: --tail, --since, -t, -f ends when the container stops', async () => {
  docker(d, ['run', '-d', '--name', 'lg', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo l$i; done; sleep 2; echo last']);
  await sleep(500);
  assert.equal(docker(d, ['logs', '--tail', '2', 'lg']).stdout, 'l4\nl5\n');
  assert.match(docker(d, ['logs', '-t', '--tail', '1', 'lg']).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z l5\n$/);
  assert.equal(docker(d, ['logs', '--since', '2099-01-01T00:00:00Z', 'lg']).stdout, '');
  const f = docker(d, ['logs', '-f', 'lg'], undefined, 10_000);
  assert.equal(f.stdout, 'l1\nl2\nl3\nl4\nl5\nlast\n');
  docker(d, ['rm', 'lg']);
});

test('log files rotate at --log-opt max-size and keep max-file files', async () => {
  docker(d, ['run', '-d', '--name', 'rot', '--log-opt', 'max-size=64k', '--log-opt', 'max-file=2', 'busybox', 'sh', '-c',
    'i=0; while [ $i -lt 4000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; sleep 30']);
  const dir = `${d.dataRoot}/containers/${docker(d, ['inspect', '-f', '{{.Id}}', 'rot']).stdout.trim()}`;
  await sleep(6500);
  const files = readdirSync(dir).filter((f) => f.startsWith('ctr.log'));
  assert.ok(files.length <= 2, `files: ${files}`);
  assert.ok(files.includes('ctr.log.1'), `rotated: ${files}`);
  for (const f of files) assert.ok(statSync(`${dir}/${f}`).size < 1024 * 1024);
  assert.match(docker(d, ['logs', '--tail', '1', 'rot']).stdout, /^line-3999-/);
  docker(d, ['rm', '-f', 'rot']);
});

test('--init runs the command under docker-init (tini), which reaps, forwards signals and passes the exit code on', () => {
  const ps = docker(d, ['run', '--rm', '--init', 'busybox', 'ps', '-o', 'pid,args']);
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, /^\s*1 \/sbin\/docker-init -- ps -o pid,args$/m);
  assert.equal(docker(d, ['run', '--rm', '--init', 'busybox', 'sh', '-c', 'exit 7']).code, 7);
  // A shell's orphaned child is reaped by tini: no zombie is left once it exits.
  const z = docker(d, ['run', '--rm', '--init', 'busybox', 'sh', '-c', '(sleep 0.1 &) ; sleep 0.5; ps -o stat,args | grep -c "^Z" || true']);
  assert.equal(z.stdout.trim(), '0', z.stdout);
  // sleep as pid 1 ignores SIGTERM and waits out the timeout; under tini it dies at once.
  assert.equal(docker(d, ['run', '-d', '--name', 'withinit', '--init', 'busybox', 'sleep', '300']).code, 0);
  const t = Date.now();
  assert.equal(docker(d, ['stop', '-t', '5', 'withinit']).code, 0);
  assert.ok(Date.now() - t < 3000, `stop took ${Date.now() - t} ms`);
  assert.equal(docker(d, ['inspect', '-f', '{{.HostConfig.Init}} {{.Path}} {{.State.ExitCode}}', 'withinit']).stdout, 'true sleep 143\n');
  docker(d, ['rm', 'withinit']);
});

test('--pid, --ipc and --uts: host, another container\'s, none; --device maps a host device', () => {
  const hostProcs = docker(d, ['run', '--rm', '--pid', 'host', 'busybox', 'sh', '-c', 'ps -o pid | wc -l']);
  assert.ok(Number(hostProcs.stdout) > 10, `the host's processes are visible: ${hostProcs.stdout}`);
  try {
    const owner = docker(d, ['run', '-d', '--name', 'nsowner', '--ipc', 'shareable', 'busybox', 'sh', '-c', 'echo owner > /dev/shm/mark; sleep 300']);
    assert.equal(owner.code, 0, owner.stderr);
    const peers = docker(d, ['run', '--rm', '--pid', 'container:nsowner', 'busybox', 'ps', '-o', 'pid,args']);
    assert.match(peers.stdout, /^\s*1 sleep 300$/m, peers.stdout);
    const [ownerIpc, peerIpc] = [
      docker(d, ['exec', 'nsowner', 'readlink', '/proc/self/ns/ipc']).stdout,
      docker(d, ['run', '--rm', '--ipc', 'container:nsowner', 'busybox', 'readlink', '/proc/self/ns/ipc']).stdout,
    ];
    assert.equal(peerIpc, ownerIpc);
    docker(d, ['stop', '-t', '0', 'nsowner']);
    const stopped = docker(d, ['run', '--rm', '--pid', 'container:nsowner', 'busybox', 'true']);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /cannot join PID of a non running container/);
  } finally {
    docker(d, ['rm', '-f', 'nsowner']);
  }
  assert.match(docker(d, ['run', '--rm', '--ipc', 'none', 'busybox', 'sh', '-c', 'test -e /dev/shm || echo no-shm']).stdout, /no-shm/);
  assert.equal(docker(d, ['run', '--rm', '--uts', 'host', 'busybox', 'hostname']).stdout.trim(), spawnSync('hostname', { encoding: 'utf8' }).stdout.trim());
  const bad = docker(d, ['run', '--rm', '--device', '/dev/does-not-exist', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /error gathering device information while adding custom device "\/dev\/does-not-exist": no such file or directory/);
  // /dev/full, renamed: writing to it fails with ENOSPC only if it is really that device.
  const full = docker(d, ['run', '--rm', '--device', '/dev/full:/dev/myfull', 'busybox', 'sh', '-c', 'ls -l /dev/myfull; echo x > /dev/myfull']);
  assert.match(full.stdout, /^c.* 1,\s+7 .*\/dev\/myfull$/m, full.stdout);
  assert.match(full.stderr, /No space left on device/);
  // The device cgroup denies /dev/fuse (10:229) even to a node made in the container; --device
  // allows it.
  if (existsSync('/dev/fuse')) {
    const open = ['sh', '-c', 'mknod /tmp/f c 10 229 && exec 3<>/tmp/f && echo opened'];
    const denied = docker(d, ['run', '--rm', 'busybox', ...open]);
    assert.match(denied.stderr, /Operation not permitted/);
    assert.equal(docker(d, ['run', '--rm', '--device', '/dev/fuse', 'busybox', ...open]).stdout, 'opened\n');
  }
});

test('-u and --group-add: the primary group is a supplementary group too, as with dockerd', () => {
  assert.equal(docker(d, ['run', '--rm', '-u', '1000:1000', 'busybox', 'id', '-G']).stdout, '1000\n');
  assert.equal(docker(d, ['run', '--rm', '-u', '1000', 'busybox', 'id', '-G']).stdout, '0\n');
  assert.equal(docker(d, ['run', '--rm', '-u', '1000:1000', '--group-add', '10', 'busybox', 'id', '-G']).stdout, '1000 10\n');
  assert.equal(docker(d, ['exec', '-u', '1000:1000', docker(d, ['run', '-d', '--rm', 'busybox', 'sleep', '30']).stdout.trim(), 'id', '-G']).stdout, '1000\n');
});

test('error texts as dockerd words them: a missing image gets its tag, kill of nothing, a command that is not executable', () => {
  assert.match(docker(d, ['rmi', 'nosuch']).stderr, /^Error response from daemon: No such image: nosuch:latest$/m);
  assert.match(docker(d, ['kill', 'nosuch']).stderr, /^Error response from daemon: Cannot kill container: nosuch: No such container: nosuch$/m);
  const r = docker(d, ['run', '--rm', 'busybox', '/etc/passwd']);
  assert.equal(r.code, 126);
  assert.match(r.stderr, /unable to start container process: exec: "\/etc\/passwd": permission denied: unknown/);
});

test('update changes a running container\'s limits in place and its restart policy; bad values change nothing', async () => {
  try {
    assert.equal(docker(d, ['run', '-d', '--name', 'upd', '--memory', '64m', 'busybox', 'sleep', '300']).code, 0);
    const u = docker(d, ['update', '--memory', '128m', '--memory-swap', '256m', '--cpus', '0.5', '--pids-limit', '20', '--restart', 'on-failure:3', 'upd']);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.stdout, 'upd\n');
    assert.equal(docker(d, ['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}', 'upd']).stdout,
      '134217728 268435456 500000000 20 on-failure:3\n');
    // The runtime applied it: the memory cgroup's limit is what stats reports.
    assert.match(docker(d, ['stats', '--no-stream', '--format', '{{.MemUsage}}', 'upd']).stdout, / \/ 128MiB\n$/);
    const small = docker(d, ['update', '--memory', '1k', 'upd']);
    assert.notEqual(small.code, 0);
    assert.match(small.stderr, /Minimum memory limit allowed is 6MB/);
    // Above the swap limit already set (256m): moby's update-specific words.
    assert.match(docker(d, ['update', '--memory', '300m', 'upd']).stderr, /Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time/);
    assert.equal(docker(d, ['inspect', '-f', '{{.HostConfig.Memory}}', 'upd']).stdout, '134217728\n');
    const { availableParallelism } = await import('node:os');
    const n = availableParallelism();
    for (const args of [['update', '--cpus', String(n + 1), 'upd'], ['run', '--rm', '--cpus', String(n + 1), 'busybox', 'true']]) {
      const many = docker(d, args);
      assert.notEqual(many.code, 0, args.join(' '));
      assert.match(many.stderr, new RegExp(`Range of CPUs is from 0\\.01 to ${n}\\.00, as there are only ${n} CPUs available`), args.join(' '));
    }
    assert.match(docker(d, ['update', '--memory', '64m', 'nosuch']).stderr, /No such container: nosuch/);
    // berth's own update: the same flags, output and exit codes as docker's.
    const b = berth(d, ['update', '-m', '96m', '--restart', 'always', 'upd', 'nosuch']);
    assert.equal(b.stdout, 'upd\n');
    assert.match(b.stderr, /No such container: nosuch/);
    assert.equal(b.code, 1);
    assert.equal(docker(d, ['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.RestartPolicy.Name}}', 'upd']).stdout, '100663296 always\n');
    for (const args of [['update', 'upd'], ['update', '-c', 'x', 'upd']]) {
      const [ours, theirs] = [berth(d, args), docker(d, args)];
      assert.equal(ours.code, theirs.code, args.join(' '));
      assert.equal(ours.stderr.replace(/berth/g, 'docker'), theirs.stderr, args.join(' '));
    }
  } finally {
    docker(d, ['rm', '-f', 'upd']);
  }
});

test('create-time checks as dockerd words them: log driver and options, oom score, platform, gpus, storage options, cpusets, swap, links, capabilities; a network container is looked up at start', () => {
  const cases: [string[], RegExp][] = [
    [['--log-driver', 'bogus'], /error looking up logging plugin bogus: plugin "bogus" not found/],
    [['--log-driver', 'syslog'], /berth does not support the syslog logging driver \(it has json-file, local, k8s-file, none\)/],
    [['--log-opt', 'max-size=x'], /failed to initialize logging driver: invalid size: 'x'/],
    [['--oom-score-adj', '2000'], /Invalid value 2000, range for oom score adj is \[-1000, 1000\]/],
    [['--pull', 'never', '--platform', 'linux/arm64'], /image with reference busybox was found but does not match the specified platform: wanted linux\/arm64, actual: linux\/amd64/],
    [['--gpus', 'all'], /could not select device driver "" with capabilities: \[\[gpu\]\]/],
    [['--storage-opt', 'size=1G'], /--storage-opt is not supported by berth/],
    [['--cpuset-cpus', '0,99'], /Requested CPUs are not available - requested 0,99, available: 0(-\d+)?/],
    [['--cpuset-cpus', 'x'], /Invalid value x for cpuset cpus: invalid format: x/],
    [['--memory', '10m', '--memory-swap', '8m'], /Minimum memoryswap limit should be larger than memory limit, see usage/],
    [['--link', 'nosuch:db'], /could not get container for nosuch: No such container: nosuch/],
    [['--cap-add', 'NOSUCH'], /invalid CapAdd: unknown capability: "CAP_NOSUCH"/],
  ];
  for (const [flags, err] of cases) {
    const r = docker(d, ['run', '--rm', ...flags, 'busybox', 'true']);
    assert.equal(r.code, 125, flags.join(' '));
    assert.match(r.stderr, err, flags.join(' '));
  }
  assert.equal(docker(d, ['run', '--rm', '--oom-score-adj', '500', 'busybox', 'cat', '/proc/self/oom_score_adj']).stdout, '500\n');

  // --log-driver none: output still reaches an attached client, but there are no logs to read.
  assert.equal(docker(d, ['run', '--name', 'nolog', '--log-driver', 'none', 'busybox', 'echo', 'hi']).stdout, 'hi\n');
  const logs = docker(d, ['logs', 'nolog']);
  assert.equal(logs.code, 1);
  assert.equal(logs.stderr, 'Error response from daemon: configured logging driver does not support reading\n');
  docker(d, ['rm', '-f', 'nolog']);

  // Not a 404 at create, which the docker CLI would take for a missing image and try to pull.
  const created = docker(d, ['create', '--name', 'netc', '--network', 'container:nosuch', 'busybox', 'true']);
  assert.equal(created.code, 0, created.stderr);
  const started = docker(d, ['start', 'netc']);
  assert.notEqual(started.code, 0);
  assert.match(started.stderr, /No such container: nosuch/);
  docker(d, ['rm', '-f', 'netc']);
});
