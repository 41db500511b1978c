// Health checks through the real docker CLI: probes run in the container, and their results show
// in inspect, ps, ps --filter health= and the event stream as dockerd reports them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, docker, DOCKER, TestDaemon } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => { d = await startDaemon(); });
after(async () => { await d?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Health { Status: string; FailingStreak: number; Log: { Start: string; End: string; ExitCode: number; Output: string }[] }

function health(name: string): Health | null {
  const r = docker(d, ['inspect', '-f', '{{json .State.Health}}', name]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Health | null;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('a failing probe turns unhealthy after --health-retries, a passing one healthy; ps shows both', async () => {
  try {
    const r = docker(d, ['run', '-d', '--name', 'hc', '--health-cmd', 'cat /tmp/ok', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '300']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(health('hc')?.Status, 'starting');
    assert.match(docker(d, ['ps', '--format', '{{.Status}}']).stdout, /^Up .* \(health: starting\)\n$/);
    await until('unhealthy', () => health('hc')?.Status === 'unhealthy');
    const h = health('hc')!;
    assert.ok(h.FailingStreak >= 2);
    assert.equal(h.Log.at(-1)?.ExitCode, 1);
    assert.match(h.Log.at(-1)!.Output, /No such file or directory/);
    assert.match(docker(d, ['ps', '--format', '{{.Status}}']).stdout, /\(unhealthy\)/);
    assert.equal(docker(d, ['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}']).stdout, 'hc\n');

    assert.equal(docker(d, ['exec', 'hc', 'sh', '-c', 'echo fine > /tmp/ok']).code, 0);
    await until('healthy', () => health('hc')?.Status === 'healthy');
    assert.equal(health('hc')?.FailingStreak, 0);
    assert.equal(health('hc')?.Log.at(-1)?.Output, 'fine\n');
    assert.ok(health('hc')!.Log.length <= 5, 'at most five results are kept');
    assert.equal(docker(d, ['ps', '--filter', 'health=healthy', '--format', '{{.Names}}']).stdout, 'hc\n');
    assert.equal(docker(d, ['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}']).stdout, '');
    const bad = docker(d, ['ps', '--filter', 'health=sick']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Unrecognised filter value for health: sick/);

    // Stopped, the monitor stops and the container counts as unhealthy (moby's rule); started
    // again, it is starting until the next probe.
    assert.equal(docker(d, ['stop', '-t', '0', 'hc']).code, 0);
    assert.equal(health('hc')?.Status, 'unhealthy');
    assert.equal(docker(d, ['start', 'hc']).code, 0);
    assert.equal(health('hc')?.Status, 'starting');
    await until('healthy again', () => health('hc')?.Status === 'healthy');
  } finally {
    docker(d, ['rm', '-f', 'hc']);
  }
});

test('a probe past --health-timeout is killed and fails with moby\'s message', async () => {
  try {
    const r = docker(d, ['run', '-d', '--name', 'slow', '--health-cmd', 'echo started; sleep 30', '--health-timeout', '300ms', '--health-interval', '200ms', '--health-retries', '1', 'busybox', 'sleep', '300']);
    assert.equal(r.code, 0, r.stderr);
    await until('unhealthy', () => health('slow')?.Status === 'unhealthy');
    const last = health('slow')!.Log[0]!;
    assert.equal(last.ExitCode, -1);
    assert.equal(last.Output, 'Health check exceeded timeout (300ms): started\n');
    const took = Date.parse(last.End) - Date.parse(last.Start);
    assert.ok(took < 5000, `the probe was killed (${took} ms)`);
    // Killed with what it started, not left running: probes go on every 200 ms, and at most the
    // one in flight has a `sleep 30` in the container.
    await sleep(1500);
    const sleeping = docker(d, ['top', 'slow']).stdout.split('\n').filter((l) => /sleep 30$/.test(l));
    assert.ok(sleeping.length <= 1, `probes left behind:\n${sleeping.join('\n')}`);
  } finally {
    docker(d, ['rm', '-f', 'slow']);
  }
});

test('the image HEALTHCHECK is used, --health-* fields override it one by one, --no-healthcheck drops it', async () => {
  const ctx = mkdtempSync(join(tmpdir(), 'berth-health-ctx-'));
  try {
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nHEALTHCHECK --interval=1h --retries=7 CMD echo from-image\n');
    const b = docker(d, ['build', '-q', '-t', 'hcimg', ctx]);
    assert.equal(b.code, 0, b.stderr);
    // Only the interval is given: the image's test and retries stay.
    assert.equal(docker(d, ['run', '-d', '--name', 'img', '--health-interval', '200ms', 'hcimg', 'sleep', '300']).code, 0);
    const cfg = JSON.parse(docker(d, ['inspect', '-f', '{{json .Config.Healthcheck}}', 'img']).stdout) as { Test: string[]; Interval: number; Retries: number };
    assert.deepEqual(cfg.Test, ['CMD-SHELL', 'echo from-image']);
    assert.equal(cfg.Interval, 200_000_000);
    assert.equal(cfg.Retries, 7);
    await until('healthy', () => health('img')?.Status === 'healthy');
    assert.equal(health('img')!.Log[0]!.Output, 'from-image\n');

    assert.equal(docker(d, ['run', '-d', '--name', 'none', '--no-healthcheck', 'hcimg', 'sleep', '300']).code, 0);
    assert.equal(health('none'), null);
    assert.doesNotMatch(docker(d, ['ps', '--filter', 'name=none', '--format', '{{.Status}}']).stdout, /health/);
    assert.equal(docker(d, ['ps', '--filter', 'health=none', '--format', '{{.Names}}']).stdout, 'none\n');
  } finally {
    docker(d, ['rm', '-f', 'img', 'none']);
    docker(d, ['rmi', 'hcimg']);
    rmSync(ctx, { recursive: true, force: true });
  }
});

test('status changes are events (health_status: healthy), and a paused container is not probed', async () => {
  const ev = spawn(DOCKER, ['events', '--filter', 'event=health_status', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], { env: d.env });
  let events = '';
  ev.stdout.on('data', (b: Buffer) => { events += b.toString(); });
  try {
    await sleep(300);
    assert.equal(docker(d, ['run', '-d', '--name', 'ev', '--health-cmd', 'true', '--health-interval', '200ms', 'busybox', 'sleep', '300']).code, 0);
    await until('the event', () => events.includes('health_status: healthy ev\n'));
    assert.equal(docker(d, ['pause', 'ev']).code, 0);
    const probes = health('ev')!.Log.at(-1)!.End;
    await sleep(600);
    assert.equal(health('ev')!.Log.at(-1)!.End, probes, 'no probe while paused');
    assert.equal(health('ev')?.Status, 'unhealthy');
    assert.equal(docker(d, ['unpause', 'ev']).code, 0);
    await until('healthy after unpause', () => health('ev')?.Status === 'healthy');
  } finally {
    ev.kill();
    docker(d, ['rm', '-f', 'ev']);
  }
});
