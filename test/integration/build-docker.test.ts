// Builds through a real berthd (in this process, with the build route mounted the way the lead
// wires it) with the real docker CLI's classic builder, then runs and inspects the results.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync, existsSync, readdirSync, rmdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http, { type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { Daemon } from '../../src/daemon/daemon.js';
import { buildRouter } from '../../src/daemon/main.js';
import { createApiServer } from '../../src/daemon/http/server.js';
import { Builder } from '../../src/build/builder.js';
import { DaemonBuildBackend } from '../../src/build/daemon-backend.js';
import { buildRoute } from '../../src/build/http.js';

const DOCKER = '/usr/local/bin/docker';
let base = '';
let d: Daemon | undefined;
let server: Server | undefined;
let env: NodeJS.ProcessEnv = {};
let cgroupParent = '';
let execRoot = '';

function dockerAsync(args: string[], opts: { input?: string; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = execFile(DOCKER, args, { env, cwd: opts.cwd, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    if (opts.input !== undefined) p.stdin?.end(opts.input);
  });
}

function ctxDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(base, 'ctx-'));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}

let socket = '';

async function startDaemon(): Promise<void> {
  d = await Daemon.open({
    dataRoot: join(base, 'root'), execRoot, socketPath: socket, defaultRuntime: 'crun', runtimePaths: {},
    cgroupParent, insecureRegistries: [], defaultImage: true,
  }, () => undefined);
  const router = buildRouter(d);
  const stateDir = join(base, 'root', 'build');
  const backend = new DaemonBuildBackend({ db: d.db, images: d.images, containers: d.containers, events: d.events, stateDir });
  router.post('/build', buildRoute({ builder: new Builder(backend, { stateDir }), stateDir }));
  server = createApiServer({ router, serverVersion: '28.5.2', log: () => undefined });
  await new Promise<void>((r) => server!.listen(socket, () => r()));
}

async function stopDaemon(): Promise<void> {
  if (server) { server.closeAllConnections(); await new Promise((r) => server!.close(() => r(undefined))); server = undefined; }
  if (d) {
    for (const c of d.containers.list()) await d.containers.remove(c.id, { force: true, removeVolumes: true }).catch(() => undefined);
    d.close();
    d = undefined;
  }
}

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'berth-build-it-'));
  const suffix = base.slice(-6);
  execRoot = join('/run/berth', `b-${suffix}`);
  cgroupParent = `/berth-build-test-${suffix}`;
  socket = join(base, 'berth.sock');
  await startDaemon();
  env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0', DOCKER_CONFIG: join(base, 'docker-config') };
});

after(async () => {
  await stopDaemon();
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(`${base}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  for (const root of existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c))) {
    const dir = join(root, cgroupParent);
    if (!existsSync(dir)) continue;
    const walk = (x: string) => {
      for (const e of readdirSync(x, { withFileTypes: true })) if (e.isDirectory()) walk(join(x, e.name));
      try { rmdirSync(x); } catch { /* busy */ }
    };
    walk(dir);
  }
  rmSync(execRoot, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
});

test('docker build (classic): RUN, COPY, ENV, CMD; the image runs', async () => {
  const dir = ctxDir({
    'Dockerfile': 'FROM busybox\nENV GREETING=hello\nCOPY app.txt /app/\nRUN echo "$GREETING from run" > /app/run.txt && cat /app/app.txt\nWORKDIR /app\nCMD ["cat", "run.txt", "app.txt"]\n',
    'app.txt': 'from context\n',
  });
  const b = await dockerAsync(['build', '-t', 'it-basic', dir]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  assert.match(b.stdout, /Step 1\/6 : FROM busybox/);
  assert.match(b.stdout, /from context/);
  assert.match(b.stdout, /Successfully tagged it-basic:latest/);
  const r = await dockerAsync(['run', '--rm', 'it-basic']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hello from run\nfrom context\n');
  const insp = JSON.parse((await dockerAsync(['image', 'inspect', 'it-basic'])).stdout) as { Config: { Env: string[]; WorkingDir: string } }[];
  assert.ok(insp[0].Config.Env.includes('GREETING=hello'));
  assert.equal(insp[0].Config.WorkingDir, '/app');
  const again = await dockerAsync(['build', '-t', 'it-basic', dir]);
  assert.equal((again.stdout.match(/Using cache/g) ?? []).length, 5, again.stdout);
  utimesSync(join(dir, 'app.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  const touched = await dockerAsync(['build', '-t', 'it-basic', dir]);
  assert.equal((touched.stdout.match(/Using cache/g) ?? []).length, 5, touched.stdout);
});

test('docker build: failing RUN exits with its code and leaves no tag', async () => {
  const dir = ctxDir({ 'Dockerfile': 'FROM busybox\nRUN exit 2\n' });
  const b = await dockerAsync(['build', '-t', 'it-fail', dir]);
  assert.equal(b.code, 2);
  assert.match(b.stderr + b.stdout, /The command '\/bin\/sh -c exit 2' returned a non-zero code: 2/);
  const i = await dockerAsync(['image', 'inspect', 'it-fail']);
  assert.notEqual(i.code, 0);
  assert.equal(d!.containers.list().filter((c) => c.config.Labels?.['berth.build']).length, 0, 'step containers are removed');
});

test('docker build: parse errors name the line', async () => {
  const dir = ctxDir({ 'Dockerfile': 'FROM busybox\nFOO bar\n' });
  const b = await dockerAsync(['build', dir]);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /dockerfile parse error on line 2: unknown instruction: FOO/);
});

test('docker build: multi-stage with heredoc and secret-free history', async () => {
  const dir = ctxDir({
    'Dockerfile': 'FROM busybox AS build\nRUN <<EOF\nmkdir -p /out\necho built > /out/artifact\nEOF\nFROM busybox\nCOPY --from=build /out/artifact /artifact\nCMD ["cat", "/artifact"]\n',
  });
  const b = await dockerAsync(['build', '-t', 'it-multi', dir]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  const r = await dockerAsync(['run', '--rm', 'it-multi']);
  assert.equal(r.stdout, 'built\n', r.stderr);
});

test('docker build -f - (Dockerfile on stdin) and .dockerignore', async () => {
  const dir = ctxDir({ 'keep.txt': 'k', 'skip.txt': 's', '.dockerignore': 'skip.txt\n' });
  const b = await dockerAsync(['build', '-t', 'it-stdin', '-f', '-', dir], { input: 'FROM busybox\nCOPY . /ctx/\nRUN ls /ctx\n' });
  assert.equal(b.code, 0, b.stdout + b.stderr);
  const r = await dockerAsync(['run', '--rm', 'it-stdin', 'ls', '/ctx']);
  assert.match(r.stdout, /keep\.txt/);
  assert.doesNotMatch(r.stdout, /skip\.txt/);
});

/** POST /build straight over the socket (for what the classic docker CLI cannot send, like secrets). */
function postBuild(query: string, tarBody: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; messages: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: `/v1.51/build?${query}`, headers: { 'Content-Type': 'application/x-tar', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, messages: text.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) });
      });
    });
    req.on('error', reject);
    req.end(tarBody);
  });
}

function tarOf(dir: string): Buffer {
  return spawnSync('tar', ['-C', dir, '-cf', '-', '.']).stdout;
}

test('RUN --mount=type=secret: the value is in no layer, no history, no inspect; cache mounts persist', async () => {
  const value = 'TOPSECRET-' + Math.random().toString(36).slice(2);
  const dir = ctxDir({
    'Dockerfile': [
      'FROM busybox',
      'RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | cut -c1-64 > /hash',
      'RUN --mount=type=secret,id=tok,env=TOKEN test -n "$TOKEN" && echo ok > /used',
      'RUN --mount=type=cache,target=/cache echo run >> /cache/log && cp /cache/log /seen',
    ].join('\n') + '\n',
  });
  const secrets = Buffer.from(JSON.stringify({ tok: Buffer.from(value).toString('base64') })).toString('base64');
  const r = await postBuild('t=it-secret&nocache=1', tarOf(dir), { 'X-Berth-Build-Secrets': secrets });
  assert.equal(r.status, 200);
  assert.ok(r.messages.some((m) => m.aux), JSON.stringify(r.messages));
  const layersDir = join(base, 'root', 'layers');
  const grep = spawnSync('grep', ['-r', '-l', value, layersDir, join(base, 'root', 'blobs')]);
  assert.equal(grep.stdout.toString(), '', 'secret found on disk');
  const hist = await dockerAsync(['history', '--no-trunc', 'it-secret']);
  assert.equal(hist.stdout.includes(value), false);
  const insp = await dockerAsync(['image', 'inspect', 'it-secret']);
  assert.equal(insp.stdout.includes(value), false);
  const files = await dockerAsync(['run', '--rm', 'it-secret', 'sh', '-c', 'ls /run/secrets 2>&1; cat /hash /used /seen']);
  assert.ok(files.stdout.includes(`${createHash('sha256').update(value).digest('hex')}\nok\nrun\n`), files.stdout);
  assert.doesNotMatch(files.stdout, /tok/);
  const r2 = await postBuild('t=it-secret&nocache=1', tarOf(dir), { 'X-Berth-Build-Secrets': secrets });
  assert.ok(r2.messages.some((m) => m.aux));
  const seen = await dockerAsync(['run', '--rm', 'it-secret', 'cat', '/seen']);
  assert.equal(seen.stdout, 'run\nrun\n', 'the cache mount kept the first build\'s file');
});

test('the build cache survives a daemon restart', async () => {
  const dir = ctxDir({ 'Dockerfile': 'FROM busybox\nCOPY f /f\nRUN cat /f > /g\nLABEL x=y\n', 'f': 'data' });
  const first = await dockerAsync(['build', '-t', 'it-restart', dir]);
  assert.equal(first.code, 0, first.stderr);
  await stopDaemon();
  await startDaemon();
  const again = await dockerAsync(['build', '-t', 'it-restart', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((again.stdout.match(/Using cache/g) ?? []).length, 3, again.stdout);
});

test('COPY --chown and a missing COPY source through docker', async () => {
  const dir = ctxDir({ 'Dockerfile': 'FROM busybox\nCOPY --chown=nobody:nogroup --chmod=640 f /f\nCMD ["stat", "-c", "%U %G %a", "/f"]\n', 'f': 'x' });
  const b = await dockerAsync(['build', '-t', 'it-chown', dir]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  const r = await dockerAsync(['run', '--rm', 'it-chown']);
  assert.equal(r.stdout.trim(), 'nobody nogroup 640', r.stderr);
  const bad = ctxDir({ 'Dockerfile': 'FROM busybox\nCOPY missing.txt /\n' });
  const e = await dockerAsync(['build', bad]);
  assert.notEqual(e.code, 0);
  assert.match(e.stderr + e.stdout, /COPY failed: file not found in build context or excluded by \.dockerignore: stat missing\.txt: file does not exist/);
});

test('docker build --build-arg --target --label: config fields as docker inspect shows them', async () => {
  const dir = ctxDir({
    'Dockerfile': [
      'ARG BASE=busybox',
      'FROM $BASE AS base',
      'ARG VERSION=0',
      'ENV APP_VERSION=$VERSION',
      'EXPOSE 8080/tcp',
      'HEALTHCHECK --interval=30s CMD true',
      'STOPSIGNAL SIGQUIT',
      'USER nobody',
      'VOLUME /data',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD ["echo $APP_VERSION"]',
      'FROM base AS never',
      'RUN exit 9',
    ].join('\n') + '\n',
  });
  const b = await dockerAsync(['build', '--build-arg', 'VERSION=1.2', '--target', 'base', '--label', 'team=build', '-t', 'it-cfg', dir]);
  assert.equal(b.code, 0, b.stdout + b.stderr);
  assert.doesNotMatch(b.stdout, /exit 9/, 'the stage after the target is not built');
  const [img] = JSON.parse((await dockerAsync(['image', 'inspect', 'it-cfg'])).stdout) as {
    Config: { Env: string[]; ExposedPorts: Record<string, unknown>; Healthcheck: { Test: string[]; Interval: number }; StopSignal: string; User: string;
      Volumes: Record<string, unknown>; Entrypoint: string[]; Cmd: string[]; Labels: Record<string, string> };
  }[];
  assert.ok(img.Config.Env.includes('APP_VERSION=1.2'));
  assert.deepEqual(Object.keys(img.Config.ExposedPorts), ['8080/tcp']);
  assert.deepEqual(img.Config.Healthcheck.Test, ['CMD-SHELL', 'true']);
  assert.equal(img.Config.Healthcheck.Interval, 30e9);
  assert.equal(img.Config.StopSignal, 'SIGQUIT');
  assert.equal(img.Config.User, 'nobody');
  assert.deepEqual(Object.keys(img.Config.Volumes), ['/data']);
  assert.deepEqual(img.Config.Entrypoint, ['/bin/sh', '-c']);
  assert.equal(img.Config.Labels.team, 'build');
  const r = await dockerAsync(['run', '--rm', 'it-cfg']);
  assert.equal(r.stdout, '1.2\n', r.stderr);
});
