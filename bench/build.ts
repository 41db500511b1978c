// Build benchmark: a 10-step Dockerfile with a ~200 MB context, built with the docker CLI's
// classic builder (DOCKER_BUILDKIT=0) against berthd and, when it runs, dockerd — cold
// (--no-cache), fully cached, and after changing one small file. Also context upload MB/s.
//
//   node dist/bench/build.js [--mb 200] [--runs 3]   (engines take turns run by run; each build after a sync)
//   BERTH_HOST=unix:///run/berth/berth.sock  use a running berthd (else one is started in-process)
//   DOCKERD_HOST=unix:///var/run/docker.sock  the reference (skipped when absent)
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { Daemon } from '../src/daemon/daemon.js';
import { buildRouter } from '../src/daemon/main.js';
import { createApiServer } from '../src/daemon/http/server.js';
import { Builder } from '../src/build/builder.js';
import { DaemonBuildBackend } from '../src/build/daemon-backend.js';
import { buildRoute } from '../src/build/http.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const MB = opt('mb', 200);
const RUNS = opt('runs', 3);
const DOCKER = '/usr/local/bin/docker';

function docker(host: string, a: string[]): Promise<{ ms: number; code: number; out: string }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(DOCKER, a, { env: { ...process.env, DOCKER_HOST: host, DOCKER_BUILDKIT: '0' }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ ms: performance.now() - t0, code: err ? 1 : 0, out: stdout + stderr });
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function startInProcess(base: string): Promise<{ host: string; stop: () => Promise<void> }> {
  const socket = join(base, 'berth.sock');
  const execRoot = join('/run/berth', `bench-${base.slice(-6)}`);
  const cgroupParent = `/berth-bench-${base.slice(-6)}`;
  const d = await Daemon.open({ dataRoot: join(base, 'root'), execRoot, socketPath: socket, defaultRuntime: 'crun', runtimePaths: {},
    cgroupParent, insecureRegistries: [], defaultImage: true }, () => undefined);
  const router = buildRouter(d);
  const stateDir = join(base, 'root', 'build');
  router.post('/build', buildRoute({ builder: new Builder(new DaemonBuildBackend({ db: d.db, images: d.images, containers: d.containers, stateDir }), { stateDir }), stateDir }));
  const server: Server = createApiServer({ router, serverVersion: '28.5.2', log: () => undefined });
  await new Promise<void>((r) => server.listen(socket, () => r()));
  return {
    host: `unix://${socket}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(() => r(undefined)));
      for (const c of d.containers.list()) await d.containers.remove(c.id, { force: true, removeVolumes: true }).catch(() => undefined);
      d.close();
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(`${base}/`));
      for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
      for (const root of existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c))) {
        const dir = join(root, cgroupParent);
        if (!existsSync(dir)) continue;
        const walk = (x: string) => { for (const e of readdirSync(x, { withFileTypes: true })) if (e.isDirectory()) walk(join(x, e.name)); try { rmdirSync(x); } catch { /* busy */ } };
        walk(dir);
      }
      rmSync(execRoot, { recursive: true, force: true });
    },
  };
}

const DOCKERFILE = `FROM busybox
ENV A=1
COPY big/ /big/
RUN du -s /big > /du.txt
COPY small.txt /small.txt
RUN cat /small.txt > /copy.txt
WORKDIR /app
LABEL bench=build
RUN echo done > /done
CMD ["sh"]
`;

interface Engine { name: string; host: string; tag: string; cold: number[]; cached: number[]; changed: number[]; uploadMBs: number }

// Each measured build starts after a `sync`, so that it is not charged with writing back what the
// build before it left in the page cache (this VM's ext4 is mounted with discard, and a cold build
// leaves ~400 MB dirty). Both engines get the same treatment.
function sync(): void { spawnSync('sync'); }

async function build(e: Engine, ctx: string, extra: string[]): Promise<number> {
  sync();
  const r = await docker(e.host, ['build', ...extra, '-q', '-t', e.tag, ctx]);
  if (r.code !== 0) throw new Error(`${e.name} build ${extra.join(' ')} failed:\n${r.out}`);
  return r.ms;
}

/** One cold, one fully cached and one one-file-changed build of each engine, run by run in turn. */
async function measureAll(engines: Engine[], ctx: string): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    for (const e of engines) {
      writeFileSync(join(ctx, 'small.txt'), 'v1\n');
      e.cold.push(await build(e, ctx, ['--no-cache']));
      e.cached.push(await build(e, ctx, []));
      writeFileSync(join(ctx, 'small.txt'), `changed ${i} ${Date.now()}\n`);
      e.changed.push(await build(e, ctx, []));
    }
  }
  // Upload: a one-step build of the same context, so the time is the transfer and unpack.
  writeFileSync(join(ctx, 'Dockerfile.upload'), 'FROM busybox\n');
  for (const e of engines) {
    sync();
    const u = await docker(e.host, ['build', '-q', '-f', join(ctx, 'Dockerfile.upload'), ctx]);
    if (u.code !== 0) throw new Error(`${e.name} upload build failed:\n${u.out}`);
    e.uploadMBs = MB / (u.ms / 1000);
    await docker(e.host, ['rmi', '-f', e.tag]);
  }
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'berth-bench-build-'));
  const ctx = join(base, 'ctx');
  mkdirSync(join(ctx, 'big'), { recursive: true });
  const files = Math.max(1, Math.round(MB / 10));
  for (let i = 0; i < files; i++) writeFileSync(join(ctx, 'big', `f${i}.bin`), randomBytes(Math.round((MB * 1024 * 1024) / files)));
  writeFileSync(join(ctx, 'small.txt'), 'v1\n');
  writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  let berth: { host: string; stop: () => Promise<void> } | undefined;
  try {
    berth = process.env.BERTH_HOST ? { host: process.env.BERTH_HOST, stop: async () => undefined } : await startInProcess(base);
    const engine = (name: string, host: string): Engine => ({ name, host, tag: `bench-build-${randomBytes(3).toString('hex')}`, cold: [], cached: [], changed: [], uploadMBs: 0 });
    const engines = [engine('berthd', berth.host)];
    const dockerd = process.env.DOCKERD_HOST ?? (existsSync('/var/run/docker.sock') ? 'unix:///var/run/docker.sock' : undefined);
    if (dockerd && (await docker(dockerd, ['version'])).code === 0) engines.push(engine('dockerd', dockerd));
    else console.log('dockerd not running: no reference numbers (tools/reference-engines.sh starts it)');
    await measureAll(engines, ctx);
    console.log(`context ${MB} MB, ${RUNS} runs each, engines in turn, medians (ms):`);
    console.log('engine    cold      cached    one-file  upload MB/s');
    for (const e of engines) {
      console.log(`${e.name.padEnd(9)} ${median(e.cold).toFixed(0).padStart(8)}  ${median(e.cached).toFixed(0).padStart(8)}  ${median(e.changed).toFixed(0).padStart(8)}  ${e.uploadMBs.toFixed(1).padStart(8)}`);
      console.log(`  runs: cold ${e.cold.map((x) => x.toFixed(0)).join(' ')}; cached ${e.cached.map((x) => x.toFixed(0)).join(' ')}; one-file ${e.changed.map((x) => x.toFixed(0)).join(' ')}`);
    }
    if (engines.length === 2) {
      const [b, dk] = engines;
      const r = (k: 'cold' | 'cached' | 'changed') => (median(b[k]) / median(dk[k])).toFixed(2);
      console.log(`ratio berthd/dockerd: cold ${r('cold')} (target <= 1.0), cached ${r('cached')} (target <= 0.5), one-file ${r('changed')}`);
    }
  } finally {
    await berth?.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
