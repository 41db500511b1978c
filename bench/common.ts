// Shared helpers for bench/ scripts: timing, medians, and starting a private berthd.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const DOCKER = '/usr/local/bin/docker';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs a command `n` times (after `warmup` runs) and returns wall times in ms. */
export function timeRuns(cmd: string, args: string[], n: number, warmup = 2, env: NodeJS.ProcessEnv = process.env): number[] {
  for (let i = 0; i < warmup; i++) spawnSync(cmd, args, { env, stdio: 'ignore' });
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString()}`);
    out.push(ms);
  }
  return out;
}

export function dockerdAvailable(): boolean {
  return existsSync('/var/run/docker.sock') && spawnSync(DOCKER, ['-H', 'unix:///var/run/docker.sock', 'info'], { stdio: 'ignore' }).status === 0;
}

export function podmanAvailable(): boolean {
  return spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function rssKiB(pid: number): number {
  const r = spawnSync('grep', ['VmRSS', `/proc/${pid}/status`]);
  const m = /(\d+)/.exec(r.stdout.toString());
  return m ? Number(m[1]) : 0;
}

export function fmt(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}
