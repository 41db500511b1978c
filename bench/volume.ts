// bench/volume: what volumes cost. `run --rm` with a named volume, a bind, a tmpfs against the
// plain run; first use of a fresh volume (copy-up of the image's /bin); `volume create` and
// `volume ls` with many volumes. berthd through the docker CLI, and dockerd when it runs here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startDaemon } from '../test/helpers/daemon.js';
import { median, timeRuns, dockerdAvailable, fmt, DOCKER } from './common.js';

const N = Number(process.env.N ?? 15);
const MANY = Number(process.env.MANY ?? 300);

type Engine = { name: string; env: NodeJS.ProcessEnv; host: string[] };

function dk(e: Engine, args: string[]): string {
  const r = spawnSync(DOCKER, [...e.host, ...args], { env: e.env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function timeOne(e: Engine, args: string[]): number {
  const t = process.hrtime.bigint();
  dk(e, args);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function measure(e: Engine, hostDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const run = (extra: string[]) => median(timeRuns(DOCKER, [...e.host, 'run', '--rm', '--network', 'none', ...extra, 'busybox', 'true'], N, 2, e.env));
  dk(e, ['volume', 'create', 'bench-named']);
  out.set('run --rm (no mounts)', run([]));
  out.set('run --rm -v named:/d', run(['-v', 'bench-named:/d']));
  out.set('run --rm -v /host:/h', run(['-v', `${hostDir}:/h`]));
  out.set('run --rm --tmpfs /t', run(['--tmpfs', '/t:size=16m']));
  out.set('run --rm -v /anon (create+rm)', run(['-v', '/anon']));
  dk(e, ['volume', 'rm', 'bench-named']);
  const copy: number[] = [];
  for (let i = 0; i < N; i++) {
    copy.push(timeOne(e, ['run', '--rm', '--network', 'none', '-v', `bench-cp-${i}:/bin`, 'busybox', 'true']));
    dk(e, ['volume', 'rm', `bench-cp-${i}`]);
  }
  out.set('first use with copy-up of /bin', median(copy));
  const create: number[] = [];
  for (let i = 0; i < MANY; i++) create.push(timeOne(e, ['volume', 'create', '--label', 'bench=1', `bench-many-${i}`]));
  out.set(`volume create (median of ${MANY})`, median(create));
  out.set(`volume ls with ${MANY} volumes`, median(timeRuns(DOCKER, [...e.host, 'volume', 'ls', '-q'], N, 1, e.env)));
  out.set(`volume ls dangling=true (${MANY})`, median(timeRuns(DOCKER, [...e.host, 'volume', 'ls', '-q', '--filter', 'dangling=true'], N, 1, e.env)));
  const t = process.hrtime.bigint();
  // API < 1.42 (Debian's dockerd 20.10) has no --all: its prune takes named volumes anyway.
  try { dk(e, ['volume', 'prune', '-af', '--filter', 'label=bench=1']); } catch { dk(e, ['volume', 'prune', '-f', '--filter', 'label=bench=1']); }
  out.set(`volume prune -a (${MANY} volumes)`, Number(process.hrtime.bigint() - t) / 1e6);
  return out;
}

async function main(): Promise<void> {
  const hostDir = mkdtempSync(join(tmpdir(), 'berth-bench-vol-'));
  const d = await startDaemon();
  try {
    const berth = measure({ name: 'berthd', env: d.env, host: [] }, hostDir);
    let ref: Map<string, number> | undefined;
    if (dockerdAvailable()) ref = measure({ name: 'dockerd', env: process.env, host: ['-H', 'unix:///var/run/docker.sock'] }, hostDir);
    console.log(`volumes, docker CLI, medians of ${N}${ref ? ' (berthd / dockerd)' : ' (dockerd not running: no ratios)'}:`);
    for (const [k, v] of berth) {
      const r = ref?.get(k);
      console.log(`  ${k.padEnd(36)} ${fmt(v).padStart(10)}${r !== undefined ? `  dockerd ${fmt(r).padStart(10)}  ${(v / r).toFixed(2)}x` : ''}`);
    }
  } finally {
    await d.stop();
    rmSync(hostDir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
