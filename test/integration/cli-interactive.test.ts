// berth's interactive and container-content commands against a real berthd: -it in a real
// pseudo-terminal (driven by a small Python pty script), detach/attach, exec, cp, diff, export,
// commit, stats, events.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync, symlinkSync, chmodSync, statSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startDaemon, berth, BERTH_JS } from '../helpers/daemon.js';
import type { TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
const work = mkdtempSync(join(tmpdir(), 'berth-cli-int-'));
const driver = join(work, 'ptydrive.py');

// Runs argv in a pty of 33x101, sends each step after a pause, can resize, and prints JSON.
writeFileSync(
  driver,
  `import os, pty, sys, time, select, struct, fcntl, termios, signal, json
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(spec['argv'][0], spec['argv'])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 33, 101, 0, 0))
out = b''
def read_for(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try: out += os.read(fd, 65536)
            except OSError: return
read_for(2.5)
for step in spec['steps']:
    if step.startswith('RESIZE '):
        h, w = step.split()[1:]
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', int(h), int(w), 0, 0)); os.kill(pid, signal.SIGWINCH)
    else:
        os.write(fd, step.encode('latin1'))
    read_for(1.2)
deadline = time.time() + 10
while time.time() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done: break
    read_for(0.2)
else:
    os.kill(pid, signal.SIGKILL); _, status = os.waitpid(pid, 0)
print(json.dumps({'out': out.decode('utf8', 'replace'), 'code': os.waitstatus_to_exitcode(status)}))
`,
);

// The pty driver needs python3 (Debian's python3-minimal); without it the terminal tests are skipped.
const hasPython = spawnSync('python3', ['-c', 'import pty, termios'], { stdio: 'ignore' }).status === 0;
const ptyTest = hasPython ? test : test.skip;

function pty(args: string[], steps: string[]): { out: string; code: number } {
  const r = spawnSync('python3', [driver, JSON.stringify({ argv: [process.execPath, BERTH_JS, ...args], steps })], { env: d.env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { out: string; code: number };
}

before(async () => {
  d = await startDaemon();
});
after(async () => {
  await d?.stop();
  rmSync(work, { recursive: true, force: true });
});

ptyTest('run -it: a real terminal, arithmetic, stty size and resize, Ctrl-C, exit code', () => {
  const r = pty(['run', '-it', '--rm', 'busybox', 'sh'], ['echo $((6*7))\n', 'stty size\n', 'RESIZE 40 120', 'stty size\n', 'sleep 30\n', '\x03', 'echo after\n', 'exit 5\n']);
  assert.match(r.out, /\r\n42\r\n/);
  assert.match(r.out, /\r\n33 101\r\n/);
  assert.match(r.out, /\r\n40 120\r\n/);
  assert.match(r.out, /\^C\r\n/);
  assert.match(r.out, /\r\nafter\r\n/);
  assert.doesNotMatch(r.out, /\r\r\n/, 'output is not post-processed twice');
  assert.equal(r.code, 5);
});

ptyTest('Ctrl-P Ctrl-Q detaches, the container keeps running, attach gets it back', () => {
  const r = pty(['run', '-it', '--name', 'dt', 'busybox', 'sh'], ['echo one\n', '\x10\x11']);
  assert.equal(r.code, 0);
  assert.equal(berth(d, ['inspect', '-f', '{{.State.Running}}', 'dt']).stdout, 'true\n');
  const a = pty(['attach', 'dt'], ['echo two\n', 'exit 3\n']);
  assert.match(a.out, /\r\ntwo\r\n/);
  assert.equal(a.code, 3);
  assert.equal(berth(d, ['rm', 'dt']).code, 0);
});

ptyTest('exec -it and exec -u, -w, -e', () => {
  assert.equal(berth(d, ['run', '-d', '--name', 'ex2', 'busybox', 'sleep', '300']).code, 0);
  const r = pty(['exec', '-it', 'ex2', 'sh'], ['echo $((7*6))\n', 'stty size\n', 'exit 9\n']);
  assert.match(r.out, /\r\n42\r\n/);
  assert.match(r.out, /\r\n33 101\r\n/);
  assert.equal(r.code, 9);
  assert.equal(berth(d, ['exec', '-u', '1000', 'ex2', 'id', '-u']).stdout, '1000\n');
  assert.equal(berth(d, ['exec', '-w', '/tmp', '-e', 'X=y', 'ex2', 'sh', '-c', 'echo $(pwd) $X']).stdout, '/tmp y\n');
  assert.equal(berth(d, ['rm', '-f', 'ex2']).code, 0);
});

function sha(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

test('cp round-trips a tree with modes, symlinks and a big file', () => {
  const src = join(work, 'tree');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'sub', 'small.txt'), 'small\n');
  writeFileSync(join(src, 'secret'), 'x');
  chmodSync(join(src, 'secret'), 0o600);
  symlinkSync('sub/small.txt', join(src, 'link'));
  const big = Buffer.alloc(20 << 20);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  writeFileSync(join(src, 'big.bin'), big);
  assert.equal(berth(d, ['run', '-d', '--name', 'cpc', 'busybox', 'sleep', '300']).code, 0);
  const up = berth(d, ['cp', src, 'cpc:/tmp/']);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr, /^Successfully copied [\d.]+MB to cpc:\/tmp\/\n$/);
  assert.equal(berth(d, ['exec', 'cpc', 'cat', '/tmp/tree/link']).stdout, 'small\n');
  const back = join(work, 'back');
  const down = berth(d, ['cp', 'cpc:/tmp/tree', back]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(sha(join(back, 'big.bin')), sha(join(src, 'big.bin')));
  assert.equal(readFileSync(join(back, 'sub', 'small.txt'), 'utf8'), 'small\n');
  assert.equal(readlinkSync(join(back, 'link')), 'sub/small.txt');
  assert.equal(statSync(join(back, 'secret')).mode & 0o777, 0o600);
  // a file to a new name, and back out to stdout as a tar
  assert.equal(berth(d, ['cp', join(src, 'sub', 'small.txt'), 'cpc:/renamed.txt']).code, 0);
  assert.equal(berth(d, ['exec', 'cpc', 'cat', '/renamed.txt']).stdout, 'small\n');
  const tar = spawnSync(process.execPath, [BERTH_JS, 'cp', 'cpc:/renamed.txt', '-'], { env: d.env });
  assert.equal(spawnSync('tar', ['-t'], { input: tar.stdout }).stdout.toString(), 'renamed.txt\n');
  const missing = berth(d, ['cp', 'cpc:/nope', join(work, 'x')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Could not find the file \/nope/);
  const bad = berth(d, ['cp', 'a:/x', 'b:/y']);
  assert.equal(bad.stderr, 'copying between containers is not supported\n');
  assert.equal(berth(d, ['rm', '-f', 'cpc']).code, 0);
});

test('diff, export, commit and a run of the committed image', () => {
  assert.equal(berth(d, ['run', '--name', 'chg', 'busybox', 'sh', '-c', 'echo new > /added; rm /bin/ls']).code, 0);
  const diff = berth(d, ['diff', 'chg']).stdout.split('\n');
  assert.ok(diff.includes('A /added'), diff.join('|'));
  assert.ok(diff.includes('D /bin/ls'), diff.join('|'));
  assert.ok(diff.includes('C /bin'), diff.join('|'));
  const exp = spawnSync(process.execPath, [BERTH_JS, 'export', 'chg'], { env: d.env, maxBuffer: 64 << 20 });
  assert.equal(exp.status, 0, exp.stderr.toString());
  const names = spawnSync('tar', ['-t'], { input: exp.stdout, maxBuffer: 64 << 20 }).stdout.toString().split('\n');
  assert.ok(names.includes('added'), 'export has the new file');
  assert.ok(!names.includes('bin/ls'), 'export lacks the deleted file');
  const c = berth(d, ['commit', '-m', 'msg', '-c', 'CMD ["cat", "/added"]', 'chg', 'committed:1']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(berth(d, ['run', '--rm', 'committed:1']).stdout, 'new\n');
  assert.match(berth(d, ['history', 'committed:1']).stdout, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT\n[0-9a-f]{12}\s+.* ago\s+.*msg\n/);
  assert.equal(berth(d, ['rm', 'chg']).code, 0);
  assert.equal(berth(d, ['rmi', 'committed:1']).code, 0);
});

test('stats --no-stream and events --since/--until print what docker prints', () => {
  const since = Math.floor(Date.now() / 1000) - 1;
  assert.equal(berth(d, ['run', '-d', '--name', 'st', 'busybox', 'sleep', '300']).code, 0);
  const s = berth(d, ['stats', '--no-stream']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^CONTAINER ID   NAME      CPU %     MEM USAGE \/ LIMIT\s+MEM %     NET I\/O\s+BLOCK I\/O\s+PIDS\n[0-9a-f]{12}   st        \d+\.\d\d%\s+\S+ \/ \S+\s+\d+\.\d\d%\s+\S+ \/ \S+\s+\S+ \/ \S+\s+1\n$/);
  assert.equal(berth(d, ['rm', '-f', 'st']).code, 0);
  const until = Math.floor(Date.now() / 1000) + 1;
  const ev = berth(d, ['events', '--since', String(since), '--until', String(until), '--filter', 'type=container']);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container create [0-9a-f]{64} \(image=busybox, name=st\)$/m);
  assert.match(ev.stdout, / container start [0-9a-f]{64} \(image=busybox, name=st\)$/m);
  assert.match(berth(d, ['events', '--since', String(since), '--until', String(until), '--format', '{{.Type}} {{.Action}}']).stdout, /^container create$/m);
});
