// The OCI runtime driver: crun (or runc) run under conmon, so that a container's stdio, logs
// and exit code are kept by a ~2 MB monitor process that outlives berthd.
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SystemError, NotFoundError, ConflictError } from '../errors.js';
import type { RuntimeBinary } from './runtime-binary.js';

export interface RuntimeCreateOptions {
  id: string;
  name: string;
  bundle: string;
  logPath: string;
  exitDir: string;
  stdin: boolean;
  /** Keep the container's stdin open after the attached client leaves (OpenStdin without StdinOnce). */
  leaveStdinOpen: boolean;
  tty: boolean;
  /** The command's executable, named in the error if the runtime cannot run it. */
  executable?: string;
}

export interface RuntimeState {
  status: 'created' | 'running' | 'paused' | 'stopped' | string;
  pid: number;
}

export interface ConmonArgs {
  conmon: string;
  /** What to execute as the runtime (see runtime-binary.ts), and its environment. */
  runtimePath: string;
  runtimeEnv: NodeJS.ProcessEnv;
  runtimeRoot: string;
  socketDir: string;
}

export interface OciRuntime {
  readonly name: string;
  readonly path: string;
  create(o: RuntimeCreateOptions): Promise<{ pid: number; conmonPid: number }>;
  start(id: string): Promise<void>;
  kill(id: string, signal: string, all?: boolean): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Changes a running container's limits (OCI linux.resources) in place. */
  update(id: string, resources: object): Promise<void>;
  delete(id: string, force?: boolean): Promise<void>;
  state(id: string): Promise<RuntimeState | undefined>;
  /** conmon's attach socket (SOCK_SEQPACKET) for a running container. */
  attachSocket(id: string): string;
  /** Arguments conmon needs to drive this runtime (used for exec sessions). */
  conmonArgs(): ConmonArgs;
}

/**
 * Error text from the runtime, shaped as moby words it for runc, so that the docker CLI derives
 * 126/127 as it does. `phase` is what failed: starting the container or an exec in it.
 */
export function runtimeErrorMessage(raw: string, phase: 'create' | 'exec' = 'create', executable?: string): string {
  const text = raw.replace(/^(crun|runc): /, '').replace(/\s+$/, '');
  const prefix = phase === 'exec'
    ? 'OCI runtime exec failed: exec failed: unable to start container process'
    : 'failed to create task for container: OCI runtime create failed: unable to start container process';
  const notFound = /executable file [`']?([^`'\s]+)[`']? not found/.exec(text);
  if (notFound) return `${prefix}: exec: "${notFound[1]}": executable file not found in $PATH: unknown`;
  const chdir = /chdir [`'"]?([^`'"\s:]*)[`'"]?: (.*)$/m.exec(text);
  if (chdir) return `${prefix}: chdir to cwd ("${chdir[1]}") set in config.json failed: ${chdir[2].toLowerCase()}: unknown`;
  const noEnt = /open executable: No such file or directory|exec(?:ve)? [`']?([^`'\s:]*)[`']?: No such file or directory/i.exec(text);
  if (noEnt) return `${prefix}: exec: ${noEnt[1] ? `"${noEnt[1]}"` : ''}: no such file or directory: unknown`;
  const denied = /open executable: Permission denied/i.test(text) && executable;
  if (denied) return `${prefix}: exec: "${executable}": permission denied: unknown`;
  if (/Permission denied/i.test(text)) return `${prefix}: ${text.toLowerCase()}: permission denied: unknown`;
  return `OCI runtime ${phase} failed: ${text}`;
}

/**
 * moby's exit code for a process the runtime could not start, from runtimeErrorMessage's words:
 * 127 when its command is missing, 126 when it is there but cannot be run (or anything else
 * kept it from running, such as a missing working directory).
 */
export function startFailureExitCode(message: string): 126 | 127 {
  return /exec: (?:"[^"]*")?: (?:executable file not found|no such file or directory)/.test(message) ? 127 : 126;
}

function run(bin: RuntimeBinary, name: string, args: string[], timeoutMs = 30_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin.execPath, args, { timeout: timeoutMs, maxBuffer: 16 << 20, env: bin.env }, (err, stdout, stderr) => {
      if (err) {
        const e = new SystemError(`${name} ${args.filter((a) => !a.startsWith('--root')).slice(0, 3).join(' ')}: ${(stderr || err.message).trim()}`);
        (e as SystemError & { stderr?: string }).stderr = stderr;
        return reject(e);
      }
      resolve({ stdout, stderr });
    });
  });
}

function readAll(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    stream.on('data', (d: Buffer) => { s += d.toString(); });
    stream.on('end', () => resolve(s));
    stream.on('error', () => resolve(s));
    stream.on('close', () => resolve(s));
  });
}

export class ConmonRuntime implements OciRuntime {
  private readonly root: string;
  private readonly socketDir: string;

  /** `path` is the runtime as installed (what `info` shows); `binary` how berthd executes it. */
  constructor(readonly name: string, readonly path: string, execRoot: string, private readonly binary: RuntimeBinary = { execPath: path, env: process.env }, private readonly conmonPath = 'conmon') {
    this.root = join(execRoot, name);
    this.socketDir = join(execRoot, 's');
    mkdirSync(this.root, { recursive: true });
    mkdirSync(this.socketDir, { recursive: true });
  }

  attachSocket(id: string): string {
    return join(this.socketDir, id, 'attach');
  }

  conmonArgs(): ConmonArgs {
    return { conmon: this.conmonPath, runtimePath: this.binary.execPath, runtimeEnv: this.binary.env, runtimeRoot: this.root, socketDir: this.socketDir };
  }

  async create(o: RuntimeCreateOptions): Promise<{ pid: number; conmonPid: number }> {
    const conmonPidFile = join(o.bundle, 'conmon.pid');
    const args = [
      '--api-version', '1',
      '-c', o.id, '-u', o.id, '-n', o.name,
      '-r', this.binary.execPath,
      '-b', o.bundle,
      '-p', join(o.bundle, 'pidfile'),
      '-P', conmonPidFile,
      '-l', `k8s-file:${o.logPath}`,
      '--exit-dir', o.exitDir,
      '--socket-dir-path', this.socketDir,
      '--runtime-arg', `--root=${this.root}`,
      '--log-level', 'error',
    ];
    if (o.tty) args.push('-t');
    if (o.stdin) args.push('-i');
    if (o.leaveStdinOpen) args.push('--leave-stdin-open');
    const child = spawn(this.conmonPath, args, {
      cwd: o.bundle,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...this.binary.env, _OCI_SYNCPIPE: '3' },
      detached: true,
    });
    const sync = child.stdio[3] as Readable;
    const [syncText, errText, code] = await Promise.all([
      readSyncMessage(sync),
      readAll(child.stderr as Readable),
      new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))),
    ]);
    sync.destroy();
    const msg = parseSyncMessage(syncText);
    if (!msg || msg.data <= 0) {
      const raw = msg?.message || errText.trim() || `conmon exited with ${code}`;
      throw new RuntimeCreateError(runtimeErrorMessage(raw, 'create', o.executable), raw);
    }
    let conmonPid = 0;
    try { conmonPid = Number(readFileSync(conmonPidFile, 'utf8').trim()); } catch { /* best effort */ }
    return { pid: msg.data, conmonPid };
  }

  async start(id: string): Promise<void> {
    await run(this.binary, this.name, [`--root=${this.root}`, 'start', id]);
  }

  async kill(id: string, signal: string, all = false): Promise<void> {
    try {
      await run(this.binary, this.name, [`--root=${this.root}`, 'kill', ...(all ? ['--all'] : []), id, signal]);
    } catch (e) {
      const s = (e as Error).message;
      if (/not running|does not exist|No such process|container not running/i.test(s)) throw new ConflictError(`container ${id} is not running`);
      throw e;
    }
  }

  async pause(id: string): Promise<void> { await run(this.binary, this.name, [`--root=${this.root}`, 'pause', id]); }
  async resume(id: string): Promise<void> { await run(this.binary, this.name, [`--root=${this.root}`, 'resume', id]); }

  async update(id: string, resources: object): Promise<void> {
    const file = join(this.root, `${id}.update.json`);
    writeFileSync(file, JSON.stringify(resources));
    try {
      await run(this.binary, this.name, [`--root=${this.root}`, 'update', '--resources', file, id]);
    } finally {
      rmSync(file, { force: true });
    }
  }

  async delete(id: string, force = false): Promise<void> {
    try {
      await run(this.binary, this.name, [`--root=${this.root}`, 'delete', ...(force ? ['--force'] : []), id]);
    } catch (e) {
      if (/does not exist|not found|No such file/i.test((e as Error).message)) return;
      throw e;
    }
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    if (!existsSync(join(this.root, id))) return undefined;
    try {
      const { stdout } = await run(this.binary, this.name, [`--root=${this.root}`, 'state', id]);
      const s = JSON.parse(stdout) as { status: string; pid: number };
      return { status: s.status, pid: s.pid };
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      return undefined;
    }
  }
}

export class RuntimeCreateError extends SystemError {
  constructor(message: string, readonly raw: string) { super(message); }
}

function readSyncMessage(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    const done = () => resolve(s);
    stream.on('data', (d: Buffer) => {
      s += d.toString();
      // The first complete line is the create result; later lines (exit) are not awaited.
      if (s.includes('\n')) { stream.removeAllListeners('data'); done(); }
    });
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

export function parseSyncMessage(text: string): { data: number; message?: string } | undefined {
  const line = text.split('\n').find((l) => l.trim().startsWith('{'));
  if (!line) return undefined;
  try {
    return JSON.parse(line) as { data: number; message?: string };
  } catch {
    const m = /"data"\s*:\s*(-?\d+)/.exec(line);
    if (!m) return undefined;
    const msg = /"message"\s*:\s*"(.*)"\s*}/.exec(line);
    return { data: Number(m[1]), message: msg ? msg[1].replace(/\\n/g, '\n') : undefined };
  }
}
