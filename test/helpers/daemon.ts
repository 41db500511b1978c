// Starts a real berthd on a temp data root and socket for integration tests, and tears it down
// (containers, mounts, cgroups, files) even when the test failed.
import { spawn, ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync, rmdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import { createHash } from 'node:crypto';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root (this file runs from dist/test/helpers). */
export const REPO_ROOT = resolve(HERE, '..', '..', '..');
export const BERTHD_JS = join(REPO_ROOT, 'dist', 'src', 'daemon', 'main.js');
export const BERTH_JS = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
export const DOCKER = '/usr/local/bin/docker';

export interface TestDaemon {
  dataRoot: string;
  /** Where berthd keeps its runtime state (pid files, sockets, exec dirs) under /run. */
  execRoot: string;
  socket: string;
  host: string;
  /** Environment for docker/berth CLIs pointed at this daemon. */
  env: NodeJS.ProcessEnv;
  process: ChildProcess;
  logs(): string;
  /** Plain HTTP request to the API; resolves with status and body text. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>;
  restart(opts?: { kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  defaultImage?: boolean;
  extraArgs?: string[];
}

export interface CliResult { code: number; stdout: string; stderr: string }

/** Runs a CLI synchronously with the daemon's environment. */
export function runCli(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string | Buffer, timeoutMs = 60_000): CliResult {
  const r = spawnSync(cmd, args, { env, input, timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout?.toString() ?? '', stderr: r.stderr?.toString() ?? '' };
}

export function docker(d: TestDaemon, args: string[], input?: string | Buffer, timeoutMs?: number): CliResult {
  return runCli(DOCKER, args, d.env, input, timeoutMs);
}

export function berth(d: TestDaemon, args: string[], input?: string | Buffer, timeoutMs?: number): CliResult {
  return runCli(process.execPath, [BERTH_JS, ...args], d.env, input, timeoutMs);
}

function requestOn(socket: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const req = http.request({ socketPath: socket, method, path, headers: { ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

async function waitReady(socket: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`berthd exited with ${child.exitCode}:\n${logs()}`);
    try {
      const r = await requestOn(socket, 'GET', '/_ping');
      if (r.status === 200) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`berthd did not become ready:\n${logs()}`);
}

function umountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(dir + '/'));
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
}

function removeCgroupTree(parent: string): void {
  const roots = existsSync('/sys/fs/cgroup/cgroup.controllers') ? ['/sys/fs/cgroup'] : readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c));
  for (const root of roots) {
    const dir = join(root, parent);
    if (!existsSync(dir)) continue;
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
      try { rmdirSync(d); } catch { /* busy */ }
    };
    walk(dir);
  }
}

export async function startDaemon(opts: StartOptions = {}): Promise<TestDaemon> {
  const base = mkdtempSync(join(tmpdir(), 'berth-it-'));
  const dataRoot = join(base, 'root');
  const socket = join(base, 'berth.sock');
  const execRoot = join('/run/berth', `t-${base.slice(-6)}`);
  const cgroupParent = `/berth-test-${base.slice(-6)}`;
  let out = '';
  // The same V8 flags as bin/berthd, so tests and benchmarks run the daemon as it is deployed.
  const args = ['--max-semi-space-size=1', BERTHD_JS, '--data-root', dataRoot, '-H', socket, '--exec-root', execRoot, '--cgroup-parent', cgroupParent,
    ...(opts.defaultImage === false ? ['--no-default-image'] : []), ...(opts.extraArgs ?? [])];
  const launch = () => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (b: Buffer) => { out += b.toString(); });
    child.stderr?.on('data', (b: Buffer) => { out += b.toString(); });
    return child;
  };
  let child = launch();
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, BERTH_HOST: `unix://${socket}`, DOCKER_CONFIG: join(base, 'docker-config') };
  delete env.DOCKER_API_VERSION;
  const d: TestDaemon = {
    dataRoot, execRoot, socket, host: `unix://${socket}`, env, process: child,
    logs: () => out,
    request: (m, p, b, h) => requestOn(socket, m, p, b, h),
    async restart(o = {}) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(o.kill ? 'SIGKILL' : 'SIGTERM');
      await exited;
      child = launch();
      d.process = child;
      await waitReady(socket, child, () => out);
    },
    async stop() {
      // A daemon that died under a test is started once more: its start-up reconcile tears down
      // the network namespaces and firewall rules of its containers.
      if (child.exitCode !== null || child.signalCode !== null) {
        try { child = launch(); d.process = child; await waitReady(socket, child, () => out); } catch { /* clean up by hand below */ }
      }
      try {
        if (child.exitCode === null) {
          const list = await requestOn(socket, 'GET', '/containers/json?all=1');
          for (const c of JSON.parse(list.body) as { Id: string }[]) {
            await requestOn(socket, 'DELETE', `/containers/${c.Id}?force=1&v=1`).catch(() => undefined);
          }
        }
      } catch { /* daemon gone: clean up by hand below */ }
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      // Anything a failed test left: runtime containers, conmon, mounts, cgroups.
      for (const rt of ['crun', 'runc']) {
        const root = join(execRoot, rt);
        if (!existsSync(root)) continue;
        for (const id of readdirSync(root)) spawnSync(rt, [`--root=${root}`, 'delete', '--force', id]);
      }
      spawnSync('pkill', ['-9', '-f', `conmon.*${dataRoot}`]);
      umountUnder(dataRoot);
      const nsPrefix = `berth-${createHash('sha256').update(dataRoot).digest('hex').slice(0, 8)}-`;
      for (const ns of existsSync('/run/netns') ? readdirSync('/run/netns') : []) {
        if (ns.startsWith(nsPrefix)) spawnSync('ip', ['netns', 'delete', ns]);
      }
      spawnSync('ip', ['link', 'delete', `bb${createHash('sha256').update(dataRoot).digest('hex').slice(0, 10)}`], { stdio: 'ignore' });
      removeCgroupTree(cgroupParent);
      rmSync(base, { recursive: true, force: true });
      rmSync(execRoot, { recursive: true, force: true });
    },
  };
  try {
    await waitReady(socket, child, () => out);
  } catch (e) {
    await d.stop();
    throw e;
  }
  return d;
}
