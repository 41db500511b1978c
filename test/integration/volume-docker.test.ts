// Volumes, bind mounts and tmpfs, driven by the real docker CLI against berthd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, docker as dockerCli, TestDaemon, CliResult } from '../helpers/daemon.js';

// Containers here need no network: --network none keeps these tests independent of the network part.
function docker(daemon: TestDaemon, args: string[], input?: string): CliResult {
  const a = args[0] === 'run' || args[0] === 'create' ? [args[0], '--network', 'none', ...args.slice(1)] : args;
  return dockerCli(daemon, a, input);
}

let d: TestDaemon;
let scratch: string;
before(async () => {
  d = await startDaemon();
  scratch = mkdtempSync(join(tmpdir(), 'berth-vol-it-'));
});
after(async () => {
  await d?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function ok(args: string[], input?: string): string {
  const r = docker(d, args, input);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

test('volume create/inspect/ls/rm with labels and filters', () => {
  assert.equal(ok(['volume', 'create', '--label', 'team=a', 'v-one']), 'v-one\n');
  ok(['volume', 'create', 'v-two']);
  const insp = JSON.parse(ok(['volume', 'inspect', 'v-one'])) as Record<string, unknown>[];
  assert.equal(insp[0].Name, 'v-one');
  assert.equal(insp[0].Driver, 'local');
  assert.equal(insp[0].Scope, 'local');
  assert.deepEqual(insp[0].Labels, { team: 'a' });
  assert.equal(insp[0].Mountpoint, join(d.dataRoot, 'volumes', 'v-one', '_data'));
  assert.ok(existsSync(insp[0].Mountpoint as string));
  assert.match(insp[0].CreatedAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(ok(['volume', 'ls', '-q', '--filter', 'label=team=a']), 'v-one\n');
  assert.equal(ok(['volume', 'ls', '-q', '--filter', 'name=two']), 'v-two\n');
  assert.equal(ok(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}', '--filter', 'name=v-']), 'v-one local\nv-two local\n');
  assert.match(ok(['volume', 'ls']), /^DRIVER\s+VOLUME NAME\nlocal\s+v-one\nlocal\s+v-two\n/);
  assert.equal(ok(['volume', 'rm', 'v-one', 'v-two']), 'v-one\nv-two\n');
  const miss = docker(d, ['volume', 'inspect', 'v-one']);
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /no such volume/);
  assert.equal(docker(d, ['volume', 'rm', '-f', 'nosuchvol']).code, 0);
});

test('bad volume create input: 400 with Docker wording, nothing stored', async () => {
  const r = docker(d, ['volume', 'create', 'bad/name']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /"bad\/name" includes invalid characters for a local volume name/);
  const opt = docker(d, ['volume', 'create', '--opt', 'foo=bar', 'vopt']);
  assert.match(opt.stderr, /invalid option: "foo"/);
  const api = await d.request('POST', '/volumes/create', { Name: 'x y' });
  assert.equal(api.status, 400);
  assert.match(JSON.parse(api.body).message, /includes invalid characters/);
  const drv = await d.request('POST', '/volumes/create', { Name: 'vdrv', Driver: 'nfsplugin' });
  assert.equal(drv.status, 404);
  const bad = await d.request('POST', '/volumes/create', '{"Name": 3}');
  assert.equal(bad.status, 400);
  const flt = await d.request('GET', '/volumes?filters=' + encodeURIComponent('{"colour":{"red":true}}'));
  assert.equal(flt.status, 400);
  assert.equal(ok(['volume', 'ls', '-q']), '');
});

test('a named volume carries data between containers, survives their removal and a berthd restart', async () => {
  ok(['run', '--name', 'writer', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f']);
  assert.equal(ok(['run', '--rm', '-v', 'shared:/data', 'busybox', 'cat', '/data/f']), 'persisted\n');
  const mounts = JSON.parse(ok(['inspect', '-f', '{{json .Mounts}}', 'writer'])) as Record<string, unknown>[];
  assert.deepEqual(mounts, [{ Type: 'volume', Name: 'shared', Source: join(d.dataRoot, 'volumes', 'shared', '_data'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }]);
  // In use: 409 naming the container.
  const inUse = await d.request('DELETE', '/volumes/shared');
  assert.equal(inUse.status, 409);
  const id = ok(['inspect', '-f', '{{.Id}}', 'writer']).trim();
  assert.equal(JSON.parse(inUse.body).message, `remove shared: volume is in use - [${id}]`);
  assert.match(docker(d, ['volume', 'rm', 'shared']).stderr, /volume is in use/);
  assert.equal(ok(['volume', 'ls', '-q', '--filter', 'dangling=true']), '');
  ok(['rm', '-v', 'writer']);
  assert.equal(ok(['volume', 'ls', '-q', '--filter', 'dangling=true']), 'shared\n');
  await d.restart();
  assert.equal(ok(['run', '--rm', '-v', 'shared:/data', 'busybox', 'cat', '/data/f']), 'persisted\n');
  ok(['volume', 'rm', 'shared']);
});

test(':ro makes writes fail with EROFS', () => {
  ok(['volume', 'create', 'rovol']);
  const r = docker(d, ['run', '--rm', '-v', 'rovol:/data:ro', 'busybox', 'touch', '/data/x']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Read-only file system/);
  const m = docker(d, ['run', '--rm', '--mount', 'type=volume,src=rovol,dst=/data,readonly', 'busybox', 'sh', '-c', 'touch /data/x']);
  assert.match(m.stderr, /Read-only file system/);
  ok(['volume', 'rm', 'rovol']);
});

test('a bind mount shows host changes live; -v creates a missing source, --mount refuses it', async () => {
  const host = join(scratch, 'live');
  mkdirSync(host);
  writeFileSync(join(host, 'f'), 'one\n');
  ok(['run', '-d', '--name', 'binder', '-v', `${host}:/h`, 'busybox', 'sleep', '300']);
  assert.equal(ok(['exec', 'binder', 'cat', '/h/f']), 'one\n');
  writeFileSync(join(host, 'f'), 'two\n');
  assert.equal(ok(['exec', 'binder', 'cat', '/h/f']), 'two\n');
  ok(['exec', 'binder', 'sh', '-c', 'echo from-container > /h/g']);
  assert.equal(readFileSync(join(host, 'g'), 'utf8'), 'from-container\n');
  const mounts = JSON.parse(ok(['inspect', '-f', '{{json .Mounts}}', 'binder'])) as Record<string, unknown>[];
  assert.deepEqual(mounts, [{ Type: 'bind', Source: host, Destination: '/h', Mode: '', RW: true, Propagation: 'rprivate' }]);
  ok(['rm', '-f', 'binder']);

  const created = join(scratch, 'made-by-v', 'deep');
  ok(['run', '--rm', '-v', `${created}:/m:rw,z`, 'busybox', 'true']);
  assert.ok(existsSync(created));
  const missing = docker(d, ['run', '--rm', '--mount', `type=bind,src=${join(scratch, 'nope')},dst=/m`, 'busybox', 'true']);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /invalid mount config for type "bind": bind source path does not exist: .*nope/);
  assert.ok(!existsSync(join(scratch, 'nope')));

  // A single file bound read-only.
  const file = join(scratch, 'conf.txt');
  writeFileSync(file, 'cfg\n');
  assert.equal(ok(['run', '--rm', '--mount', `type=bind,src=${file},dst=/etc/app.conf,readonly`, 'busybox', 'cat', '/etc/app.conf']), 'cfg\n');
});

test('--tmpfs is a tmpfs of the given size; --mount type=tmpfs too', () => {
  const out = ok(['run', '--rm', '--tmpfs', '/scratch:size=64m', 'busybox', 'sh', '-c', 'grep " /scratch " /proc/mounts; df -k /scratch | tail -1']);
  assert.match(out, /^tmpfs \/scratch tmpfs rw,nosuid,nodev,noexec,.*size=65536k/m);
  assert.match(out, /\s65536\s/);
  const m = ok(['run', '--rm', '--mount', 'type=tmpfs,dst=/t,tmpfs-size=1048576,tmpfs-mode=700', 'busybox', 'sh', '-c', 'grep " /t " /proc/mounts; stat -c %a /t']);
  assert.match(m, /tmpfs \/t tmpfs .*size=1024k,mode=700/);
  assert.match(m, /^700$/m);
  const bad = docker(d, ['run', '--rm', '--tmpfs', '/x:size=huge', 'busybox', 'true']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /invalid tmpfs option "size=huge"/);
});

test('--read-only root: touch fails, a tmpfs is writable only where asked', () => {
  const r = docker(d, ['run', '--rm', '--read-only', 'busybox', 'touch', '/x']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Read-only file system/);
  const tmp = docker(d, ['run', '--rm', '--read-only', 'busybox', 'touch', '/tmp/x']);
  assert.match(tmp.stderr, /Read-only file system/);
  ok(['run', '--rm', '--read-only', '--tmpfs', '/tmp', 'busybox', 'touch', '/tmp/x']);
});

test('copy-up: an empty named volume gets the image content at its path; nocopy skips it', () => {
  assert.equal(ok(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'sh', '-c', 'cat /etc/passwd | head -1']).startsWith('root:'), true);
  assert.ok(existsSync(join(d.dataRoot, 'volumes', 'etcvol', '_data', 'passwd')));
  // Not empty any more: no second copy over the user's data.
  ok(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'sh', '-c', 'echo mine > /etc/passwd']);
  assert.equal(ok(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'cat', '/etc/passwd']), 'mine\n');
  assert.equal(ok(['run', '--rm', '-v', 'nocp:/etc:nocopy', 'busybox', 'ls', '/etc']), '');
  ok(['volume', 'rm', 'etcvol', 'nocp']);
});

test('run --rm removes the anonymous volume and keeps the named one; rm -v likewise', () => {
  ok(['run', '--rm', '-v', '/anon', '-v', 'keepme:/named', 'busybox', 'sh', '-c', 'echo a > /anon/f; echo n > /named/f']);
  assert.equal(ok(['volume', 'ls', '-q']), 'keepme\n');
  ok(['create', '--name', 'withanon', '-v', '/anon2', '-v', 'keepme:/named', 'busybox', 'true']);
  const mounts = JSON.parse(ok(['inspect', '-f', '{{json .Mounts}}', 'withanon'])) as { Name: string; Destination: string }[];
  const anon = mounts.find((m) => m.Destination === '/anon2');
  assert.ok(anon && /^[a-f0-9]{64}$/.test(anon.Name));
  const labels = JSON.parse(ok(['volume', 'inspect', '-f', '{{json .Labels}}', anon.Name])) as Record<string, string>;
  assert.deepEqual(labels, { 'com.docker.volume.anonymous': '' });
  ok(['rm', '-v', 'withanon']);
  assert.equal(ok(['volume', 'ls', '-q']), 'keepme\n');
  // rm without -v keeps the anonymous volume; prune (anonymous only by default) takes it.
  ok(['create', '--name', 'keepanon', '-v', '/anon3', 'busybox', 'true']);
  ok(['rm', 'keepanon']);
  assert.equal(ok(['volume', 'ls', '-q']).split('\n').filter(Boolean).length, 2);
  const pr = ok(['volume', 'prune', '-f']);
  assert.match(pr, /Deleted Volumes:\n[a-f0-9]{64}\n/);
  assert.equal(ok(['volume', 'ls', '-q']), 'keepme\n');
  ok(['volume', 'create', '--label', 'p=1', 'prunable']);
  assert.match(ok(['volume', 'prune', '-af', '--filter', 'label=p=1']), /prunable/);
  assert.equal(ok(['volume', 'ls', '-q']), 'keepme\n');
  ok(['volume', 'rm', 'keepme']);
});

test('--volumes-from shares the other container\'s volumes (ro when asked)', () => {
  ok(['create', '--name', 'source', '-v', 'vf:/shared', '-v', '/anonvf', 'busybox', 'true']);
  ok(['run', '--rm', '--volumes-from', 'source', 'busybox', 'sh', '-c', 'echo x > /shared/y; echo z > /anonvf/z']);
  const ro = docker(d, ['run', '--rm', '--volumes-from', 'source:ro', 'busybox', 'touch', '/shared/q']);
  assert.match(ro.stderr, /Read-only file system/);
  assert.equal(ok(['run', '--rm', '--volumes-from', 'source', 'busybox', 'cat', '/shared/y', '/anonvf/z']), 'x\nz\n');
  const missing = docker(d, ['run', '--rm', '--volumes-from', 'nosuchctr', 'busybox', 'true']);
  assert.match(missing.stderr, /No such container: nosuchctr/);
  ok(['rm', '-v', 'source']);
  ok(['volume', 'rm', 'vf']);
  assert.equal(ok(['volume', 'ls', '-q']), '');
});

test('local driver options: a tmpfs volume is mounted while used', () => {
  ok(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', 'o=size=2m', 'tvol']);
  const out = ok(['run', '--rm', '-v', 'tvol:/t', 'busybox', 'sh', '-c', 'df -k /t | tail -1']);
  assert.match(out, /\s2048\s/);
  const insp = JSON.parse(ok(['volume', 'inspect', 'tvol'])) as { Options: Record<string, string> }[];
  assert.deepEqual(insp[0].Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' });
  const mounted = readFileSync('/proc/self/mountinfo', 'utf8').includes(join(d.dataRoot, 'volumes', 'tvol', '_data'));
  assert.equal(mounted, false, 'unmounted after the container stopped');
  ok(['volume', 'rm', 'tvol']);
  // Shared by two containers: the second one stopping must not unmount it under the first.
  ok(['volume', 'create', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', 'tvol2']);
  const tmpfsPath = join(d.dataRoot, 'volumes', 'tvol2', '_data');
  ok(['run', '-d', '--name', 'holder', '-v', 'tvol2:/t', 'busybox', 'sh', '-c', 'echo held > /t/f; exec sleep 300']);
  assert.equal(ok(['run', '--rm', '-v', 'tvol2:/t', 'busybox', 'sh', '-c', 'sleep 0.3; cat /t/f']), 'held\n');
  assert.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(tmpfsPath), 'still mounted for the running holder');
  assert.equal(ok(['exec', 'holder', 'cat', '/t/f']), 'held\n');
  ok(['rm', '-f', 'holder']);
  assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(tmpfsPath), 'unmounted when the last user stopped');
  ok(['volume', 'rm', 'tvol2']);
  // type=none,o=bind: a named volume backed by a host directory.
  const dev = join(scratch, 'bind-device');
  mkdirSync(dev);
  writeFileSync(join(dev, 'inside'), 'dev\n');
  ok(['volume', 'create', '--opt', 'type=none', '--opt', 'o=bind', '--opt', `device=${dev}`, 'bvol']);
  assert.equal(ok(['run', '--rm', '-v', 'bvol:/b', 'busybox', 'sh', '-c', 'cat /b/inside; echo back > /b/out']), 'dev\n');
  assert.equal(readFileSync(join(dev, 'out'), 'utf8'), 'back\n');
  ok(['volume', 'rm', 'bvol']);
  assert.ok(existsSync(join(dev, 'inside')), 'removing the volume leaves the bound device alone');
});

test('bad mount input: relative -v, unknown --mount key (API 400 naming it), duplicates', async () => {
  const rel = docker(d, ['run', '--rm', '-v', 'relative/path:/x', 'busybox', 'true']);
  assert.equal(rel.code, 125);
  assert.match(rel.stderr, /create relative\/path: "relative\/path" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed. If you intended to pass a host directory, use absolute path/);
  const cli = docker(d, ['run', '--rm', '--mount', 'type=bind,src=/tmp,dst=/x,colour=red', 'busybox', 'true']);
  assert.equal(cli.code, 125);
  assert.match(cli.stderr, /colour/);
  const api = await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'], HostConfig: { Mounts: [{ Type: 'bind', Source: '/tmp', Target: '/x', Colour: 'red' }] } });
  assert.equal(api.status, 400);
  assert.match(JSON.parse(api.body).message, /unknown field "Colour"/);
  const dup = docker(d, ['run', '--rm', '-v', 'a1:/x', '-v', 'a2:/x', 'busybox', 'true']);
  assert.match(dup.stderr, /Duplicate mount point: \/x/);
  const mode = docker(d, ['run', '--rm', '-v', '/tmp:/x:rw,ro', 'busybox', 'true']);
  assert.match(mode.stderr, /invalid mode: rw,ro/);
  assert.equal(ok(['ps', '-aq']), '');
  assert.equal(ok(['volume', 'ls', '-q']), '', 'failed creates leave no volumes behind');
});

test('ps shows mounts; system df -v shows volume sizes; events report mount and unmount', () => {
  ok(['volume', 'create', 'sized']);
  ok(['run', '--name', 'sizer', '-v', 'sized:/d', 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /d/blob']);
  assert.equal(ok(['ps', '-a', '--format', '{{.Mounts}}', '--filter', 'name=sizer']), 'sized\n');
  assert.match(ok(['system', 'df', '-v']), /^VOLUME NAME\s+LINKS\s+SIZE\nsized\s+1\s+100kB$/m);
  assert.match(ok(['system', 'df']), /^Local Volumes\s+1\s+1\s+100kB\s+0B \(0%\)$/m);
  const until = String(Math.floor(Date.now() / 1000) + 1);
  const ev = ok(['events', '--since', '0', '--until', until, '--filter', 'type=volume', '--filter', 'volume=sized', '--format', '{{.Action}}']);
  assert.equal(ev, 'create\nmount\nunmount\n');
  ok(['rm', 'sizer']);
  ok(['volume', 'rm', 'sized']);
});

test('volume-subpath mounts a directory of the volume; a symlink in the volume cannot lead out of it', () => {
  ok(['run', '--rm', '-v', 'subv:/v', 'busybox', 'sh', '-c', 'mkdir -p /v/sub && echo in-sub > /v/sub/f && echo top > /v/top && ln -s / /v/esc && ln -s ../../../../../etc /v/climb']);
  assert.equal(ok(['run', '--rm', '--mount', 'type=volume,src=subv,dst=/x,volume-subpath=sub', 'busybox', 'cat', '/x/f']), 'in-sub\n');
  // Symlinks resolve inside the volume: both land on the volume's own root, not the host's / or /etc.
  assert.equal(ok(['run', '--rm', '--mount', 'type=volume,src=subv,dst=/x,volume-subpath=esc', 'busybox', 'cat', '/x/top']), 'top\n');
  const climb = docker(d, ['run', '--rm', '--mount', 'type=volume,src=subv,dst=/x,volume-subpath=climb', 'busybox', 'ls', '/x']);
  assert.notEqual(climb.code, 0, 'the subpath resolves to <volume>/etc, which does not exist');
  assert.match(climb.stderr, /subpath does not exist in volume subv/);
  const missing = docker(d, ['run', '--rm', '--mount', 'type=volume,src=subv,dst=/x,volume-subpath=nope', 'busybox', 'true']);
  assert.match(missing.stderr, /subpath does not exist/);
  ok(['container', 'prune', '-f']);
  ok(['volume', 'rm', 'subv']);
});
