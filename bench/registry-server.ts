// Benchmark: `berth registry serve` against Debian's docker-registry (distribution 2.8) on
// loopback, in the same run.
//   1. skopeo copy push and pull of a 200 MiB single-layer image (median of ITERATIONS=5
//      interleaved runs, a fresh root and server each);
//   2. 50 concurrent pulls of a 10 MiB blob: req/s and p99 latency (median of 3 interleaved rounds);
//   3. server RSS during a 1 GiB streamed upload (memory must stay flat).
// Run: npm run build && node dist/bench/registry-server.js   (or bench/registry-server.sh)

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { makeOciLayout, run, startRegistry } from '../test/integration/registry-server-helpers.js';

const DOCKER_REGISTRY = '/usr/bin/docker-registry';

interface Server { name: string; port: number; pid: number; stop(): Promise<void> }

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const p = (s.address() as { port: number }).port;
  s.close();
  return p;
}

async function waitHttp(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const r = request({ host: '127.0.0.1', port, path: '/v2/' }, (res) => { res.resume(); resolve(true); });
      r.on('error', () => resolve(false));
      r.end();
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`nothing listening on ${port}`);
}

async function startBerth(root: string): Promise<Server> {
  const r = await startRegistry(root);
  // Drop accumulated access-log lines so a long run does not grow the bench's own memory.
  setInterval(() => { r.log.length = 0; }, 1000).unref();
  return { name: 'berth', port: r.port, pid: r.proc.pid!, stop: () => r.stop() };
}

async function startDockerRegistry(root: string): Promise<Server> {
  const port = await freePort();
  const cfg = join(root, '..', `distribution-${port}.yml`);
  writeFileSync(cfg, [
    'version: 0.1',
    'log: {level: error}',
    'storage:',
    `  filesystem: {rootdirectory: ${root}}`,
    '  delete: {enabled: true}',
    `http: {addr: "127.0.0.1:${port}"}`,
  ].join('\n'));
  const proc: ChildProcess = spawn(DOCKER_REGISTRY, ['serve', cfg], { stdio: 'ignore' });
  await waitHttp(port);
  return {
    name: 'docker-registry',
    port,
    pid: proc.pid!,
    async stop() {
      if (proc.exitCode !== null) return;
      const e = once(proc, 'exit');
      proc.kill('SIGTERM');
      await e;
    },
  };
}

type Starter = (root: string) => Promise<Server>;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(cmd: string, args: string[]): Promise<number> {
  const t = process.hrtime.bigint();
  const r = await run(cmd, args, { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function pushPullOnce(start: Starter, work: string, imgDir: string, i: number): Promise<{ push: number; pull: number }> {
  const root = mkdtempSync(join(work, 'root-'));
  const s = await start(root);
  try {
    const ref = `docker://127.0.0.1:${s.port}/bench/big:v1`;
    // Each copy starts with nothing left to write back: docker-registry does not fsync, so
    // without this its 200 MB push is flushed ~30 s later, during whichever run comes next.
    await run('sync', []);
    const push = await timed('skopeo', ['copy', '--dest-tls-verify=false', `oci:${imgDir}:latest`, ref]);
    // Pulled into tmpfs: the figure is the registry's and the client's, not this VM's disk (its
    // ext4 is mounted with discard, and the previous run's delete slows the next run's writes).
    const out = join(existsSync('/dev/shm') ? '/dev/shm' : work, `berth-regbench-pulled-${s.name}-${process.pid}-${i}`);
    await run('sync', []);
    const pull = await timed('skopeo', ['copy', '--src-tls-verify=false', ref, `dir:${out}`]);
    rmSync(out, { recursive: true, force: true });
    return { push, pull };
  } finally {
    await s.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

function httpCall(method: string, port: number, path: string, body?: Buffer, agent?: Agent): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function concurrentPulls(start: Starter, work: string, concurrency: number, total: number): Promise<{ rps: number; p50: number; p99: number }> {
  const root = mkdtempSync(join(work, 'root-'));
  const s = await start(root);
  try {
    const blob = Buffer.alloc(10 * 1024 * 1024);
    for (let i = 0; i < blob.length; i += 32) createHash('sha256').update(String(i)).digest().copy(blob, i);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    // POST then PUT: distribution 2.8 ignores a monolithic POST body.
    const loc = await startUpload(s.port, '/v2/bench/blob/blobs/uploads/');
    const up = await httpCall('PUT', s.port, `${loc}${loc.includes('?') ? '&' : '?'}digest=${digest}`, blob);
    if (up.status !== 201) throw new Error(`${s.name}: blob upload answered ${up.status}`);
    const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    const path = `/v2/bench/blob/blobs/${digest}`;
    // Warm-up (page cache, connections).
    await Promise.all(Array.from({ length: concurrency }, () => httpCall('GET', s.port, path, undefined, agent)));
    const lat: number[] = [];
    let next = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t = process.hrtime.bigint();
        const r = await httpCall('GET', s.port, path, undefined, agent);
        if (r.status !== 200 || r.bytes !== blob.length) throw new Error(`${s.name}: bad pull ${r.status} ${r.bytes}`);
        lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    agent.destroy();
    lat.sort((a, b) => a - b);
    return { rps: total / secs, p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))]! };
  } finally {
    await s.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/** Starts an upload session; returns the Location as a path (distribution answers absolute URLs). */
function startUpload(port: number, path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const r = request({ host: '127.0.0.1', port, path, method: 'POST' }, (res) => {
      res.resume();
      const l = res.headers.location;
      if (res.statusCode !== 202 || !l) { reject(new Error(`POST ${path}: ${res.statusCode}`)); return; }
      resolve(l.startsWith('http') ? new URL(l).pathname + new URL(l).search : l);
    });
    r.on('error', reject);
    r.end();
  });
}

function rssMiB(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
}

async function bigUpload(start: Starter, work: string, bytes: number): Promise<{ before: number; peak: number; secs: number; quartiles: number[] }> {
  const root = mkdtempSync(join(work, 'root-'));
  const s = await start(root);
  try {
    const loc = await startUpload(s.port, '/v2/bench/huge/blobs/uploads/');
    const before = rssMiB(s.pid);
    let peak = before;
    const timer = setInterval(() => { peak = Math.max(peak, rssMiB(s.pid)); }, 50);
    // RSS at each quarter of the upload: flat means the last quarters are no higher than the first.
    const quartiles: number[] = [];
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    const hash = createHash('sha256');
    const t0 = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.port, path: loc, method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`${s.name}: PATCH ${res.statusCode}`))));
      });
      req.on('error', reject);
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes) {
          const c = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
          sent += c.length;
          hash.update(c);
          if (sent % (bytes / 4) === 0) quartiles.push(rssMiB(s.pid));
          if (!req.write(c)) { req.once('drain', pump); return; }
        }
        req.end();
      };
      pump();
    });
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    clearInterval(timer);
    peak = Math.max(peak, rssMiB(s.pid));
    return { before, peak, secs, quartiles };
  } finally {
    await s.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

function fmt(n: number, d = 2): string {
  return n.toFixed(d);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'berth-regbench-'));
  try {
    const haveRef = (await run('test', ['-x', DOCKER_REGISTRY])).code === 0;
    const starters: [string, Starter][] = [['berth', startBerth]];
    if (haveRef) starters.push(['docker-registry', startDockerRegistry]);
    const MiB = 1024 * 1024;
    process.stderr.write('building a 200 MiB single-layer OCI image...\n');
    const img = await makeOciLayout(join(work, 'img'), { fileSize: 200 * MiB, gzip: true, seed: 'bench' });
    const mb = img.layerSize / MiB;

    const ITER = Number(process.env.ITERATIONS ?? 5);
    type Row = { push: number; pull: number; rps: number; p50: number; p99: number; rssBefore: number; rssPeak: number; upSecs: number; quartiles: number[] };
    const results = new Map<string, Row>();
    // Interleave the servers run by run, so load from elsewhere on the machine hits both alike,
    // and swap which goes first each run (each run follows the other server's 200 MB delete).
    const pushes = new Map<string, number[]>();
    const pulls = new Map<string, number[]>();
    for (let i = 0; i < ITER; i++) {
      for (const [name, start] of i % 2 ? [...starters].reverse() : starters) {
        process.stderr.write(`${name}: skopeo push/pull run ${i + 1}/${ITER}...\n`);
        const r = await pushPullOnce(start, work, img.dir, i);
        pushes.set(name, [...(pushes.get(name) ?? []), r.push]);
        pulls.set(name, [...(pulls.get(name) ?? []), r.pull]);
      }
    }
    const conc = new Map<string, { rps: number; p50: number; p99: number }[]>();
    for (let i = 0; i < 3; i++) {
      for (const [name, start] of starters) {
        process.stderr.write(`${name}: 50 concurrent pulls of a 10 MiB blob, round ${i + 1}/3...\n`);
        conc.set(name, [...(conc.get(name) ?? []), await concurrentPulls(start, work, 50, 500)]);
      }
    }
    for (const [name, start] of starters) {
      const rounds = conc.get(name)!;
      const cp = { rps: median(rounds.map((r) => r.rps)), p50: median(rounds.map((r) => r.p50)), p99: median(rounds.map((r) => r.p99)) };
      process.stderr.write(`${name}: 1 GiB upload, sampling RSS...\n`);
      const up = await bigUpload(start, work, 1024 * MiB);
      results.set(name, { push: median(pushes.get(name)!), pull: median(pulls.get(name)!), ...cp, rssBefore: up.before, rssPeak: up.peak, upSecs: up.secs, quartiles: up.quartiles });
      process.stderr.write(`${name}: push runs ${pushes.get(name)!.map((x) => fmt(x)).join(' ')}; pull runs ${pulls.get(name)!.map((x) => fmt(x)).join(' ')}\n`);
    }

    const b = results.get('berth')!;
    const d = results.get('docker-registry');
    const lines: string[] = [];
    lines.push(`registry-server benchmark (layer ${fmt(mb, 1)} MiB; push/pull medians of ${ITER} interleaved runs; loopback; ${(await import('node:os')).cpus().length} CPUs)`);
    lines.push('metric                          berth        docker-registry   ratio (berth vs ref, >1 = berth better)');
    const row = (label: string, bv: number, dv: number | undefined, unit: string, higherBetter: boolean): void => {
      const ratio = dv === undefined ? '-' : fmt(higherBetter ? bv / dv : dv / bv) + 'x';
      lines.push(`${label.padEnd(32)}${(fmt(bv) + unit).padEnd(13)}${(dv === undefined ? '-' : fmt(dv) + unit).padEnd(18)}${ratio}`);
    };
    row('push 200 MiB (skopeo copy)', b.push, d?.push, ' s', false);
    row('push throughput', mb / b.push, d ? mb / d.push : undefined, ' MiB/s', true);
    row('pull 200 MiB (skopeo copy)', b.pull, d?.pull, ' s', false);
    row('pull throughput', mb / b.pull, d ? mb / d.pull : undefined, ' MiB/s', true);
    row('50x concurrent 10 MiB GET', b.rps, d?.rps, ' req/s', true);
    row('  p50 latency', b.p50, d?.p50, ' ms', false);
    row('  p99 latency', b.p99, d?.p99, ' ms', false);
    row('1 GiB PATCH upload', b.upSecs, d?.upSecs, ' s', false);
    row('  server RSS before', b.rssBefore, d?.rssBefore, ' MiB', false);
    row('  server RSS peak', b.rssPeak, d?.rssPeak, ' MiB', false);
    for (const [name, r] of results) lines.push(`${name}: RSS at 25/50/75/100% of the 1 GiB upload: ${r.quartiles.map((q) => fmt(q, 1)).join(' / ')} MiB`);
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
