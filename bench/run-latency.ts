// bench/run-latency: `run --rm --network none busybox true` through the docker CLI against
// berthd, dockerd and podman (when installed) and raw `crun run` as the floor; berthd's idle RSS
// and the host memory each running container costs.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startDaemon, docker } from '../test/helpers/daemon.js';
import { median, timeRuns, dockerdAvailable, podmanAvailable, rssKiB, fmt, DOCKER } from './common.js';

const N = Number(process.env.N ?? 20);

function crunFloor(): number[] | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-crun-'));
  try {
    const rootfs = join(dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    spawnSync('cp', ['/bin/busybox', join(rootfs, 'bin', 'busybox')]);
    spawnSync('ln', ['-s', 'busybox', join(rootfs, 'bin', 'true')]);
    const spec = spawnSync('crun', ['spec'], { cwd: dir });
    if (spec.status !== 0) return undefined;
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: { terminal: boolean; args: string[] }; root: { path: string; readonly: boolean } };
    cfg.process.terminal = false; cfg.process.args = ['/bin/true']; cfg.root = { path: rootfs, readonly: true };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    let i = 0;
    const times: number[] = [];
    for (let k = 0; k < N + 2; k++) {
      const t = process.hrtime.bigint();
      spawnSync('crun', ['run', '--bundle', dir, `berth-bench-${process.pid}-${i++}`], { stdio: 'ignore' });
      if (k >= 2) times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return times;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const d = await startDaemon();
  try {
    const results: [string, number][] = [];
    const berth = timeRuns(DOCKER, ['run', '--rm', '--network', 'none', 'busybox', 'true'], N, 3, d.env);
    results.push(['berthd (docker CLI)', median(berth)]);
    const berthCli = timeRuns(process.execPath, [join(import.meta.dirname ?? '', '..', 'src', 'cli', 'main.js'), 'run', '--rm', '--network', 'none', 'busybox', 'true'], N, 2, d.env);
    results.push(['berthd (berth CLI)', median(berthCli)]);
    let dockerd: number | undefined;
    if (dockerdAvailable()) {
      dockerd = median(timeRuns(DOCKER, ['-H', 'unix:///var/run/docker.sock', 'run', '--rm', '--network', 'none', 'busybox', 'true'], N, 3));
      results.push(['dockerd (docker CLI)', dockerd]);
    }
    if (podmanAvailable()) {
      try { results.push(['podman', median(timeRuns('podman', ['run', '--rm', '--network', 'none', 'busybox', 'true'], N, 2))]); } catch (e) { console.log(`podman: ${(e as Error).message.split('\n')[0]}`); }
    }
    const floor = crunFloor();
    if (floor) results.push(['raw crun run', median(floor)]);

    console.log(`run --rm --network none busybox true, median of ${N}:`);
    for (const [name, ms] of results) {
      const ratio = dockerd ? `  ${(ms / dockerd).toFixed(2)}x dockerd` : '';
      console.log(`  ${name.padEnd(22)} ${fmt(ms).padStart(10)}${ratio}`);
    }

    // Memory: berthd idle, then per running container (conmon + berthd growth).
    await new Promise((r) => setTimeout(r, 1000));
    const pid = d.process.pid as number;
    const idle = rssKiB(pid);
    const K = 10;
    for (let i = 0; i < K; i++) docker(d, ['run', '-d', '--network', 'none', '--name', `mem${i}`, 'busybox', 'sleep', '300']);
    await new Promise((r) => setTimeout(r, 1000));
    const conmons = spawnSync('pgrep', ['-f', `conmon.*${d.dataRoot}`]).stdout.toString().split('\n').filter(Boolean).map(Number);
    const conmonKiB = conmons.reduce((a, p) => a + rssKiB(p), 0);
    const busy = rssKiB(pid);
    console.log(`berthd idle RSS: ${(idle / 1024).toFixed(1)} MiB (dockerd+containerd ≈ 146 MiB; target ≤ 80 MiB)`);
    console.log(`per running container: conmon ${(conmonKiB / conmons.length / 1024).toFixed(2)} MiB RSS (${conmons.length} conmons), berthd growth ${((busy - idle) / K / 1024).toFixed(2)} MiB; total ${((conmonKiB / conmons.length + Math.max(0, busy - idle) / K) / 1024).toFixed(2)} MiB (target ≤ 2.5 MiB)`);
    for (let i = 0; i < K; i++) docker(d, ['rm', '-f', `mem${i}`]);
  } finally {
    await d.stop();
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
