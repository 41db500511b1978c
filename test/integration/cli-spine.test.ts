// berth CLI against a real berthd: the spine's acceptance, and the same output as the real docker
// CLI gives against the same daemon.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startDaemon, berth, docker } from '../helpers/daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
const work = mkdtempSync(join(tmpdir(), 'berth-cli-it-'));
before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('condition not met in time');
}

/**
 * Masks the parts of a table that move with time so berth and docker can be compared. Column
 * padding is collapsed too: "Up 9 seconds" and "Up 10 seconds" read a moment apart widen a
 * column differently, so the padding is checked on its own by assertAligned.
 */
function stable(s: string): string {
  assertAligned(s);
  return s
    .replace(/(Less than a second|About a minute|About an hour|\d+ (second|minute|hour|day|week|month|year)s?)( ago)?/g, 'T$3')
    .replace(/ {2,}/g, '   ');
}

/** Every row's cells start where the header's columns do, as a tabwriter table's must. */
function assertAligned(table: string): void {
  const [header, ...rows] = table.split('\n').filter(Boolean);
  if (header === undefined) return;
  const starts = [...header.matchAll(/ {2,}(?=\S)/g)].map((m) => m.index + m[0].length);
  for (const row of rows) {
    for (const at of starts) {
      assert.ok(row.slice(at - 2, at) === '  ' || row.length <= at, `row not aligned at column ${at}:\n${header}\n${row}`);
    }
  }
}

test('run --rm busybox echo hello prints hello', () => {
  const r = berth(d, ['run', '--rm', 'busybox', 'echo', 'hello']);
  assert.equal(r.stdout, 'hello\n', r.stderr);
  assert.equal(r.code, 0);
});

test("the container's exit code is ours: sh -c 'exit 3' exits 3", () => {
  const r = berth(d, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 3']);
  assert.equal(r.code, 3, r.stderr);
});

test('-i sends piped stdin and half-closes it: cat echoes and ends', () => {
  const r = berth(d, ['run', '-i', '--rm', 'busybox', 'cat'], 'x\n');
  assert.equal(r.stdout, 'x\n', r.stderr);
  assert.equal(r.code, 0);
  const wc = berth(d, ['run', '-i', '--rm', 'busybox', 'wc', '-c'], Buffer.alloc(300_000, 97));
  assert.equal(wc.stdout.trim(), '300000', wc.stderr);
});

test('stdout and stderr stay apart', () => {
  const r = berth(d, ['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2']);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
});

test('combined short flags and --flag=value forms', () => {
  const r = berth(d, ['run', '--rm', '-i', '-e', 'A=1', '--env=B=2', '-w/tmp', '--hostname=hh', 'busybox', 'sh', '-c', 'echo $A$B $(pwd) $(hostname)'], '');
  assert.equal(r.stdout, '12 /tmp hh\n', r.stderr);
  const flagsAfterImage = berth(d, ['run', '--rm', 'busybox', 'echo', '-n', '--rm']);
  assert.equal(flagsAfterImage.stdout, '--rm', flagsAfterImage.stderr);
});

test('detached lifecycle: run -d, ps, logs, inspect -f, stop -t, rm — and docker prints the same', async () => {
  const run = berth(d, ['run', '-d', '--name', 'web', '-l', 'tier=front', 'busybox', 'sh', '-c', 'echo started; echo oops >&2; exec sleep 300']);
  assert.equal(run.code, 0, run.stderr);
  const id = run.stdout.trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const ps = berth(d, ['ps']);
  assert.match(ps.stdout, /^CONTAINER ID   IMAGE     COMMAND                  CREATED\s+STATUS\s+PORTS     NAMES$/m);
  assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)}   busybox   "sh -c 'echo started…"   .* ago\\s+Up .*\\s+web$`, 'm'));
  assert.equal(stable(ps.stdout), stable(docker(d, ['ps']).stdout));
  assert.equal(berth(d, ['ps', '-q']).stdout, `${id.slice(0, 12)}\n`);
  assert.equal(berth(d, ['ps', '--no-trunc', '-q']).stdout, `${id}\n`);
  assert.equal(berth(d, ['ps', '--filter', 'label=tier=front', '--format', '{{.Names}} {{.Label "tier"}}']).stdout, 'web front\n');
  assert.equal(berth(d, ['ps', '--filter', 'name=nomatch', '-q']).stdout, '');
  await waitFor(() => berth(d, ['logs', 'web']).stdout === 'started\n');
  const logs = berth(d, ['logs', 'web']);
  assert.equal(logs.stderr, 'oops\n');
  assert.match(berth(d, ['logs', '-t', '--tail', '1', 'web']).stdout + berth(d, ['logs', '-t', '--tail', '1', 'web']).stderr, /^\d{4}-\d\d-\d\dT\S+Z (started|oops)\n/m);
  assert.equal(berth(d, ['inspect', '-f', '{{.State.Running}}', 'web']).stdout, 'true\n');
  assert.equal(berth(d, ['container', 'inspect', '--format', '{{.Name}} {{.Config.Labels}} {{json .Config.Cmd}}', 'web']).stdout, '/web map[tier:front] ["sh","-c","echo started; echo oops \\u003e\\u00262; exec sleep 300"]\n'.replace('\\u003e\\u00262', '>&2'));
  const full = JSON.parse(berth(d, ['inspect', 'web']).stdout) as Array<{ Id: string }>;
  assert.equal(full[0]!.Id, id);
  const stop = berth(d, ['stop', '-t', '1', 'web']);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(stop.stdout, 'web\n');
  assert.equal(berth(d, ['inspect', '-f', '{{.State.Running}} {{.State.Status}}', 'web']).stdout, 'false exited\n');
  assert.match(berth(d, ['ps', '-a']).stdout, /Exited \(\d+\) .* ago\s+web$/m);
  assert.equal(berth(d, ['rm', 'web']).stdout, 'web\n');
  assert.equal(berth(d, ['ps', '-aq']).stdout, '');
});

test('unknown image: "Unable to find image", exit 125, nothing created', () => {
  const r = berth(d, ['run', '--rm', 'nosuchimage-berth']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /^Unable to find image 'nosuchimage-berth:latest' locally\n/);
  assert.match(r.stderr, /\n\nRun 'berth run --help' for more information\n$/);
  assert.equal(berth(d, ['ps', '-aq']).stdout, '');
});

test('start failures: 127 for a missing command, 126 for a non-executable', () => {
  const r = berth(d, ['run', '--rm', 'busybox', 'nosuchcommand']);
  assert.equal(r.code, 127, r.stderr);
  assert.match(r.stderr, /^berth: Error response from daemon: .*executable file not found in \$PATH/);
  const r2 = berth(d, ['run', '--rm', 'busybox', '/etc/passwd']);
  assert.equal(r2.code, 126, r2.stderr);
});

test('duplicate --name is a 409 conflict, exit 125', () => {
  assert.equal(berth(d, ['create', '--name', 'dup', 'busybox', 'true']).code, 0);
  const r = berth(d, ['create', '--name', 'dup', 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /^berth: Error response from daemon: .*"\/dup" is already in use/);
  assert.equal(berth(d, ['rm', 'dup']).code, 0);
});

test('create, start -a, wait, rename, restart, kill -s, pause/unpause, top, rm -f', async () => {
  const created = berth(d, ['create', '--name', 'c1', 'busybox', 'sh', '-c', 'echo from-c1; exit 4']);
  assert.equal(created.code, 0, created.stderr);
  const started = berth(d, ['start', '-a', 'c1']);
  assert.equal(started.stdout, 'from-c1\n', started.stderr);
  assert.equal(started.code, 4);
  assert.equal(berth(d, ['wait', 'c1']).stdout, '4\n');
  assert.equal(berth(d, ['rename', 'c1', 'c2']).code, 0);
  assert.equal(berth(d, ['inspect', '-f', '{{.Name}}', 'c2']).stdout, '/c2\n');
  assert.equal(berth(d, ['rm', 'c2']).code, 0);

  assert.equal(berth(d, ['run', '-d', '--name', 'long', 'busybox', 'sleep', '300']).code, 0);
  const rm = berth(d, ['rm', 'long']);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /^Error response from daemon: .*(running|stop the container)/i);
  assert.equal(berth(d, ['pause', 'long']).stdout, 'long\n');
  assert.equal(berth(d, ['inspect', '-f', '{{.State.Paused}}', 'long']).stdout, 'true\n');
  assert.equal(berth(d, ['unpause', 'long']).stdout, 'long\n');
  const top = berth(d, ['top', 'long']);
  assert.equal(top.code, 0, top.stderr);
  assert.match(top.stdout, /^UID\s+PID\s+PPID/);
  assert.match(top.stdout, /sleep 300/);
  assert.equal(berth(d, ['restart', '-t', '1', 'long']).stdout, 'long\n');
  assert.equal(berth(d, ['inspect', '-f', '{{.State.Running}}', 'long']).stdout, 'true\n');
  assert.equal(berth(d, ['kill', '-s', 'KILL', 'long']).stdout, 'long\n');
  await waitFor(() => berth(d, ['inspect', '-f', '{{.State.Running}}', 'long']).stdout === 'false\n');
  assert.equal(berth(d, ['inspect', '-f', '{{.State.ExitCode}}', 'long']).stdout, '137\n');
  assert.equal(berth(d, ['rm', '-f', 'long']).stdout, 'long\n');
});

test('errors: missing container, inspect of nothing, flag errors', () => {
  const rm = berth(d, ['rm', 'nope-x']);
  assert.equal(rm.code, 1);
  assert.equal(rm.stderr, 'Error response from daemon: No such container: nope-x\n');
  assert.equal(rm.stderr, docker(d, ['rm', 'nope-x']).stderr);
  const insp = berth(d, ['inspect', 'nope-x']);
  assert.equal(insp.stdout, '[]\n');
  assert.equal(insp.stderr, 'Error: No such object: nope-x\n');
  assert.equal(insp.code, 1);
  const flag = berth(d, ['run', '--bogus', 'busybox']);
  assert.equal(flag.code, 125);
  assert.match(flag.stderr, /^unknown flag: --bogus\n\nUsage:  berth run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]/);
  const args = berth(d, ['stop']);
  assert.equal(args.code, 1);
  assert.match(args.stderr, /'berth stop' requires at least 1 argument/);
  const tmpl = berth(d, ['ps', '-a', '--format', '{{.Nope}}']);
  // docker ps runs the format on an empty container first, so it fails with no containers too.
  assert.equal(tmpl.code, 1);
  assert.equal(tmpl.stderr, docker(d, ['ps', '-a', '--format', '{{.Nope}}']).stderr);
  const badTmpl = berth(d, ['inspect', '-f', '{{.Nope}}', 'busybox']);
  assert.equal(badTmpl.code, 1);
  assert.match(badTmpl.stderr, /^template parsing error: template: :1:\d+: executing "" at <\.Nope>: map has no entry for key "Nope"/);
});

test('images, tag, image inspect, rmi — as docker prints them', () => {
  const imgs = berth(d, ['images']);
  assert.match(imgs.stdout, /^REPOSITORY   TAG       IMAGE ID       CREATED\s+SIZE\n/);
  assert.match(imgs.stdout, /^busybox      latest    [0-9a-f]{12}   /m);
  assert.equal(stable(imgs.stdout), stable(docker(d, ['images']).stdout));
  assert.equal(berth(d, ['tag', 'busybox', 'mybox:1']).code, 0);
  assert.match(berth(d, ['images', 'mybox']).stdout, /^mybox        1         /m);
  const id = berth(d, ['image', 'inspect', '-f', '{{.Id}}', 'mybox:1']).stdout.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(berth(d, ['images', '-q', 'mybox']).stdout, `${id.slice(7, 19)}\n`);
  const rmi = berth(d, ['rmi', 'mybox:1']);
  assert.equal(rmi.stdout, 'Untagged: mybox:1\n', rmi.stderr);
  const missing = berth(d, ['rmi', 'mybox:1']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^Error response from daemon: No such image: mybox:1/);
});

test('import a rootfs tarball from stdin and run it', () => {
  const root = join(work, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  writeFileSync(join(root, 'hello.txt'), 'imported\n');
  const tar = spawnSync('tar', ['-C', root, '-c', '.'], { maxBuffer: 64 << 20 }).stdout;
  const r = berth(d, ['import', '-', 'imported:v1'], tar);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
  const run = berth(d, ['run', '--rm', 'imported:v1', '/bin/busybox', 'cat', '/hello.txt']);
  assert.equal(run.stdout, 'imported\n', run.stderr);
  assert.equal(berth(d, ['rmi', 'imported:v1']).code, 0);
});

test('container prune -f removes stopped containers and reports them', () => {
  const id = berth(d, ['create', 'busybox', 'true']).stdout.trim();
  const r = berth(d, ['container', 'prune', '-f']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Deleted Containers:\n${id}\n\nTotal reclaimed space: 0B\n`);
});

test('version and info talk to the daemon', () => {
  const v = berth(d, ['version']);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^Client: berth\n Version:\s+\S+\n API version:\s+1\.\d+/);
  assert.match(v.stdout, /\nServer: /);
  assert.match(berth(d, ['version', '--format', '{{.Server.ApiVersion}}']).stdout, /^1\.\d+\n$/);
  const i = berth(d, ['info']);
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /^ Containers: \d+$/m);
  assert.match(i.stdout, /^ Images: \d+$/m);
});

test('exec runs in a running container and reports its exit code', () => {
  assert.equal(berth(d, ['run', '-d', '--name', 'ex', 'busybox', 'sleep', '300']).code, 0);
  const r = berth(d, ['exec', 'ex', 'sh', '-c', 'echo in-exec; echo e >&2; exit 7']);
  assert.equal(r.stdout, 'in-exec\n');
  assert.equal(r.stderr, 'e\n');
  assert.equal(r.code, 7);
  const i = berth(d, ['exec', '-i', 'ex', 'cat'], 'piped\n');
  assert.equal(i.stdout, 'piped\n', i.stderr);
  assert.equal(berth(d, ['rm', '-f', 'ex']).code, 0);
});

test('network, volume and port: the same output as docker', () => {
  for (const [tool, suffix] of [[berth, 'b'], [docker, 'd']] as const) {
    assert.match(tool(d, ['network', 'create', '--label', 'a=b', '--subnet', `10.98.${suffix === 'b' ? 1 : 2}.0/24`, `tnet-${suffix}`]).stdout, /^[0-9a-f]{64}\n$/);
    assert.equal(tool(d, ['volume', 'create', '--label', 'x=y', `tvol-${suffix}`]).stdout, `tvol-${suffix}\n`);
    assert.equal(tool(d, ['run', '-d', '--name', `pp-${suffix}`, '-p', `127.0.0.1:1808${suffix === 'b' ? 1 : 2}:80`, '--network', `tnet-${suffix}`, '-v', `tvol-${suffix}:/data`, 'busybox', 'sleep', '300']).code, 0);
  }
  try {
    compareNetworkVolumePort();
  } finally {
    for (const s of ['b', 'd']) {
      berth(d, ['rm', '-f', `pp-${s}`]);
      berth(d, ['network', 'rm', `tnet-${s}`]);
      berth(d, ['volume', 'rm', `tvol-${s}`]);
    }
  }
});

function compareNetworkVolumePort(): void {
  assert.equal(berth(d, ['network', 'ls']).stdout, docker(d, ['network', 'ls']).stdout);
  assert.equal(berth(d, ['volume', 'ls']).stdout, docker(d, ['volume', 'ls']).stdout);
  assert.equal(berth(d, ['volume', 'inspect', '-f', '{{.Name}} {{.Labels}}', 'tvol-b']).stdout, 'tvol-b map[x:y]\n');
  assert.equal(berth(d, ['port', 'pp-b']).stdout, '80/tcp -> 127.0.0.1:18081\n');
  assert.equal(berth(d, ['port', 'pp-d']).stdout, docker(d, ['port', 'pp-d']).stdout);
  assert.equal(stable(berth(d, ['ps']).stdout), stable(docker(d, ['ps']).stdout));
  for (const s of ['b', 'd']) {
    assert.equal(berth(d, ['rm', '-f', `pp-${s}`]).code, 0);
    assert.equal(berth(d, ['network', 'rm', `tnet-${s}`]).stdout, `tnet-${s}\n`);
    assert.equal(berth(d, ['volume', 'rm', `tvol-${s}`]).stdout, `tvol-${s}\n`);
  }
}

test('logs -f follows to the end, --since and --until bound it; ps -n, -l and filters', async () => {
  const id = berth(d, ['run', '-d', '--name', 'lf', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line$i; sleep 0.3; done']).stdout.trim();
  const f = berth(d, ['logs', '-f', 'lf']);
  assert.equal(f.stdout, 'line1\nline2\nline3\n', f.stderr);
  assert.equal(berth(d, ['logs', '--tail', '2', 'lf']).stdout, 'line2\nline3\n');
  assert.equal(berth(d, ['logs', '--since', '2000-01-01T00:00:00Z', '--until', '2000-01-02T00:00:00Z', 'lf']).stdout, '');
  assert.equal(berth(d, ['logs', '--since', '10m', 'lf']).stdout, 'line1\nline2\nline3\n');
  assert.equal(berth(d, ['create', '--name', 'newest', 'busybox']).code, 0);
  assert.equal(berth(d, ['ps', '-l', '--format', '{{.Names}}']).stdout, 'newest\n');
  assert.equal(berth(d, ['ps', '-n', '2', '--format', '{{.Names}}']).stdout, 'newest\nlf\n');
  assert.equal(berth(d, ['ps', '-a', '--filter', 'status=exited', '--format', '{{.ID}}']).stdout, `${id.slice(0, 12)}\n`);
  assert.equal(berth(d, ['ps', '-a', '--filter', 'status=created', '--format', '{{.Names}} {{.State}}']).stdout, 'newest created\n');
  assert.equal(berth(d, ['ps', '-a', '--filter', 'ancestor=busybox', '-q']).stdout.split('\n').filter(Boolean).length, 2);
  assert.equal(berth(d, ['rm', 'lf', 'newest']).stdout, 'lf\nnewest\n');
});
