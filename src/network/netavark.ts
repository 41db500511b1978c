// The netavark driver: setup/teardown of a container's networks in a netns, and the netns
// itself (`ip netns add` under a per-daemon prefix, so several berthds share the host safely).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { SystemError } from '../errors.js';
import type { NvOptions, NvSetupResult } from './types.js';

export interface NetavarkDriverOptions {
  netavark: string;
  aardvark: string;
  /** aardvark-dns config dir (a tmpfs in /run, one per daemon). */
  configDir: string;
  log: (line: string) => void;
}

export interface RunResult { code: number; stdout: string; stderr: string }

export function run(cmd: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    p.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

/** netavark logs "failed to connect to syslog" on machines without one: not an error. */
function cleanStderr(s: string): string {
  return s.split('\n').filter((l) => l.trim() && !/failed to connect to syslog/.test(l)).join('\n').trim();
}

function netavarkError(stdout: string, stderr: string): string {
  // netavark prints {"error": "..."} on stdout when it fails.
  try {
    const j = JSON.parse(stdout) as { error?: string };
    if (j.error) return j.error;
  } catch { /* not JSON */ }
  return cleanStderr(stderr) || stdout.trim() || 'unknown error';
}

export class NetavarkDriver {
  // One netavark at a time per daemon, as podman holds its network lock around them: parallel
  // runs race on creating the same bridge and on aardvark's config.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: NetavarkDriverOptions) {}

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private args(sub: string, netns: string): string[] {
    return ['--config', this.o.configDir, '--aardvark-binary', this.o.aardvark, sub, netns];
  }

  async setup(netns: string, opts: NvOptions): Promise<NvSetupResult> {
    const r = await this.serial(() => run(this.o.netavark, this.args('setup', netns), JSON.stringify(opts)));
    if (r.code !== 0) throw new SystemError(`netavark setup: ${netavarkError(r.stdout, r.stderr)}`);
    try {
      return JSON.parse(r.stdout) as NvSetupResult;
    } catch {
      throw new SystemError(`netavark setup printed no JSON: ${r.stdout.slice(0, 200)}`);
    }
  }

  async teardown(netns: string, opts: NvOptions): Promise<void> {
    const r = await this.serial(() => run(this.o.netavark, this.args('teardown', netns), JSON.stringify(opts)));
    if (r.code !== 0) throw new SystemError(`netavark teardown: ${netavarkError(r.stdout, r.stderr)}`);
  }
}

export const NETNS_DIR = '/run/netns';

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export async function createNetns(name: string): Promise<string> {
  const r = await run('ip', ['netns', 'add', name]);
  if (r.code !== 0 && !/File exists/.test(r.stderr)) throw new SystemError(`ip netns add ${name}: ${r.stderr.trim()}`);
  // A fresh netns has lo down; crun brings it up only for namespaces it creates itself.
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return netnsPath(name);
}

export async function deleteNetns(name: string): Promise<void> {
  if (!existsSync(netnsPath(name))) return;
  const r = await run('ip', ['netns', 'delete', name]);
  if (r.code !== 0 && existsSync(netnsPath(name))) throw new SystemError(`ip netns delete ${name}: ${r.stderr.trim()}`);
}

export function listNetns(prefix: string): string[] {
  try { return readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix)); } catch { return []; }
}
