// Exec sessions: a process started in a running container's namespaces and cgroup by the OCI
// runtime's `exec`, under conmon (which keeps its stdio, TTY and exit code like a container's).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SeqpacketSocket } from 'node-unix-socket';
import { ConflictError, InvalidParameterError, NotFoundError, SystemError } from '../errors.js';
import { newId } from '../util/ids.js';
import type { ContainerService, AttachSink, AttachSession } from './service.js';
import type { EventBus } from '../daemon/events.js';
import { ALL_CAPS, OciSpec, resolveUser } from './spec.js';
import { rootfsDirs } from './rootfs.js';
import { parseSyncMessage, runtimeErrorMessage } from './runtime.js';
import { ExecWaiters, startDirectExec } from './exec-direct.js';
import type { DirectExecOptions } from './exec-direct.js';
import type { ContainerRecord } from './types.js';

/** The body of POST /containers/{id}/exec. */
export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
  Env?: string[] | null;
  Cmd?: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

export interface ExecRecord {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  /** The process's pid on the host (0 until known). */
  pid: number;
  /** A direct exec's `crun exec`, parent of the process and waiting for it. */
  runtimePid?: number;
  started: boolean;
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** GET /exec/{id}/json (swagger ExecInspectResponse). */
export interface ExecInspect {
  CanRemove: boolean;
  DetachKeys: string;
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { privileged: boolean; user: string; tty: boolean; entrypoint: string; arguments: string[] };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  ContainerID: string;
  Pid: number;
}

function lineReader(stream: Readable): () => Promise<string | undefined> {
  let buf = '';
  const lines: string[] = [];
  let waiter: ((l: string | undefined) => void) | undefined;
  let ended = false;
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i); buf = buf.slice(i + 1);
      if (waiter) { const w = waiter; waiter = undefined; w(l); } else lines.push(l);
    }
  });
  const end = () => { ended = true; if (waiter) { const w = waiter; waiter = undefined; w(undefined); } };
  stream.on('end', end); stream.on('close', end); stream.on('error', end);
  return () => new Promise((resolve) => {
    if (lines.length) resolve(lines.shift()); else if (ended) resolve(undefined); else waiter = resolve;
  });
}

export class ExecService {
  private readonly execs = new Map<string, ExecRecord>();
  private readonly dirs = new Map<string, string>();
  /** Attached execs whose spec was written at create, by exec ID (dropped if not started in 30 s). */
  private readonly prepared = new Map<string, { options: DirectExecOptions; timer: NodeJS.Timeout }>();
  /** Waiters ready for the next attached exec (see exec-direct.ts). */
  private readonly waiters: ExecWaiters;

  constructor(readonly containers: ContainerService, readonly events: EventBus, readonly execRoot: string, readonly log: (l: string) => void) {
    this.waiters = new ExecWaiters((id) => {
      const c = containers.tryGet(id);
      if (!c?.state.Running) return undefined;
      const { runtimePath, runtimeEnv, runtimeRoot } = containers.runtimeFor(c).conmonArgs();
      return { runtimePath, runtimeEnv, runtimeRoot, containerId: c.id };
    }, log);
    containers.addHooks({ release: async (c) => { this.waiters.drop(c.id); } });
  }

  idsFor(containerId: string): string[] | null {
    const ids = [...this.execs.values()].filter((e) => e.containerId === containerId).map((e) => e.id);
    return ids.length ? ids : null;
  }

  create(containerRef: string, config: ExecConfig): string {
    const c = this.containers.get(containerRef);
    if (!c.state.Running) throw new ConflictError(`container ${c.id} is not running`);
    if (c.state.Paused) throw new ConflictError(`container ${c.id} is paused, unpause the container before exec`);
    if (!Array.isArray(config.Cmd) || config.Cmd.length === 0) throw new InvalidParameterError('No exec command specified');
    for (const old of this.execs.values()) {
      if (this.containers.tryGet(old.containerId)) continue;
      this.execs.delete(old.id);
      this.dropPrepared(old.id);
      this.waiters.drop(old.containerId);
    }
    const id = newId();
    const e: ExecRecord = { id, containerId: c.id, config, running: false, exitCode: null, pid: 0, started: false };
    this.execs.set(id, e);
    this.events.emit('container', `exec_create: ${config.Cmd.join(' ')}`, c.id, { image: c.imageName, name: c.name, execID: id });
    // An attached exec without a TTY is the common case (docker exec c cmd): its spec is written,
    // and a waiter forked if the container has none, once the answer to this create is on its way.
    if (this.isDirectAttached(e)) setImmediate(() => {
      if (e.started || !c.state.Running) return;
      try {
        const options = this.directOptions(e, c);
        const timer = setTimeout(() => this.dropPrepared(id), 30_000);
        timer.unref();
        this.prepared.set(id, { options, timer });
        const stdin = options.attachStdin;
        const pending = [...this.prepared.values()].filter((p) => p.options.containerId === c.id && p.options.attachStdin === stdin).length;
        this.waiters.ensure(c.id, stdin, pending);
      } catch (err) {
        // Start does the same work again and reports what fails there.
        this.log(`exec ${id.slice(0, 12)}: not prepared: ${(err as Error).message}`);
      }
    });
    // Docker keeps finished execs for a while; berth keeps them until the container goes.
    return id;
  }

  /** Writes the exec's OCI process spec into its own dir under the exec root. */
  private writeProcessSpec(e: ExecRecord, c: ContainerRecord): { dir: string; specFile: string; spec: string; proc: OciSpec['process'] } {
    const bundleSpec = JSON.parse(readFileSync(join(this.containers.containerDir(c.id), 'config.json'), 'utf8')) as OciSpec;
    const proc = { ...bundleSpec.process };
    const rootfs = rootfsDirs(this.containers.containerDir(c.id)).merged;
    if (e.config.User) {
      const u = resolveUser(rootfs, e.config.User);
      proc.user = { uid: u.uid, gid: u.gid, ...(u.additionalGids.length ? { additionalGids: u.additionalGids } : {}) };
    }
    proc.args = e.config.Cmd ?? [];
    proc.terminal = e.config.Tty === true;
    const env = new Map<string, string>();
    for (const kv of [...proc.env, ...(e.config.Env ?? [])]) env.set(kv.split('=')[0], kv);
    if (proc.terminal && !env.has('TERM')) env.set('TERM', 'TERM=xterm');
    proc.env = [...env.values()];
    if (e.config.WorkingDir) proc.cwd = e.config.WorkingDir;
    if (e.config.Privileged) proc.capabilities = { bounding: ALL_CAPS, effective: ALL_CAPS, permitted: ALL_CAPS, inheritable: [], ambient: [] };
    if (e.config.ConsoleSize && e.config.ConsoleSize[0] > 0) proc.consoleSize = { height: e.config.ConsoleSize[0], width: e.config.ConsoleSize[1] };
    else delete proc.consoleSize;
    // The dir is made only once the spec could be built (an unknown user fails above).
    const dir = join(this.execRoot, 'execs', e.id.slice(0, 16));
    mkdirSync(dir, { recursive: true });
    this.dirs.set(e.id, dir);
    const specFile = join(dir, 'process.json');
    const spec = JSON.stringify(proc);
    writeFileSync(specFile, spec);
    return { dir, specFile, spec, proc };
  }

  /** Builds what an exec needs to start; if that fails (unknown user...) the exec ends with 126, as in moby. */
  private specOrFail<T>(e: ExecRecord, make: () => T): T {
    try {
      return make();
    } catch (err) {
      e.exitCode = 126;
      throw err;
    }
  }

  private isDirectAttached(e: ExecRecord): boolean {
    return e.config.Tty !== true && (e.config.AttachStdout === true || e.config.AttachStderr === true);
  }

  private dropPrepared(id: string): void {
    const p = this.prepared.get(id);
    if (!p) return;
    this.prepared.delete(id);
    clearTimeout(p.timer);
    rmSync(p.options.dir, { recursive: true, force: true });
    this.dirs.delete(id);
  }

  private directOptions(e: ExecRecord, c: ContainerRecord): DirectExecOptions {
    const { runtimePath, runtimeEnv, runtimeRoot } = this.containers.runtimeFor(c).conmonArgs();
    const { dir, specFile, spec } = this.writeProcessSpec(e, c);
    return {
      runtimePath, runtimeEnv, runtimeRoot, containerId: c.id, specFile, spec, dir,
      attachStdin: e.config.AttachStdin === true, attachStdout: e.config.AttachStdout !== false, attachStderr: e.config.AttachStderr !== false,
    };
  }

  get(id: string): ExecRecord {
    const e = this.execs.get(id);
    if (!e) throw new NotFoundError(`No such exec instance: ${id}`);
    return e;
  }

  inspect(id: string): ExecInspect {
    const e = this.get(id);
    // A direct exec knows its runtime's pid at start; the process is the runtime's child that is
    // in the container's pid namespace (at first a child of crun's is still joining it).
    if (e.running && e.runtimePid !== undefined && e.pid === e.runtimePid) {
      const init = this.containers.tryGet(e.containerId)?.state.Pid ?? 0;
      const ns = (pid: number): string | undefined => { try { return readlinkSync(`/proc/${pid}/ns/pid`); } catch { return undefined; } };
      const want = init > 0 ? ns(init) : undefined;
      const child = childPids(e.runtimePid).find((pid) => want !== undefined && ns(pid) === want);
      if (child) e.pid = child;
    }
    const [entrypoint, ...args] = e.config.Cmd ?? [];
    return {
      CanRemove: false, DetachKeys: e.config.DetachKeys ?? '', ID: e.id, Running: e.running, ExitCode: e.exitCode,
      ProcessConfig: { privileged: e.config.Privileged === true, user: e.config.User ?? '', tty: e.config.Tty === true, entrypoint: entrypoint ?? '', arguments: args },
      OpenStdin: e.config.AttachStdin === true, OpenStderr: e.config.AttachStderr === true, OpenStdout: e.config.AttachStdout === true,
      ContainerID: e.containerId, Pid: e.pid,
    };
  }

  /** Forgets a finished exec (health probes, which nobody inspects, would otherwise pile up). */
  remove(id: string): void {
    const e = this.execs.get(id);
    if (!e || e.running) return;
    this.execs.delete(id);
    this.dropPrepared(id);
  }

  /**
   * Kills a running exec's process and what it started (a health probe past its timeout: `sh -c`
   * and its children). The runtime's `exec` is their ancestor and waits for the process, so the
   * exec then ends as any killed process does.
   */
  kill(id: string): void {
    const e = this.execs.get(id);
    const root = e?.runtimePid ?? e?.pid ?? 0;
    if (!e?.running || root <= 0) return;
    const tree: number[] = [];
    const walk = (pid: number): void => {
      for (const c of childPids(pid)) { tree.push(c); walk(c); }
    };
    walk(root);
    if (e.runtimePid === undefined) tree.unshift(root);
    for (const pid of tree) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  forgetContainer(containerId: string): void {
    for (const e of this.execs.values()) if (e.containerId === containerId) { this.execs.delete(e.id); this.dropPrepared(e.id); }
    this.waiters.drop(containerId);
  }

  async resize(id: string, height: number, width: number): Promise<void> {
    const e = this.get(id);
    const dir = this.dirs.get(id);
    if (!e.running || !dir || !e.config.Tty) return;
    const { promises: fsp } = await import('node:fs');
    const fh = await fsp.open(join(dir, 'ctl'), 'w');
    try { await fh.write(`1 ${height} ${width}\n`); } finally { await fh.close(); }
  }

  /**
   * Starts the exec. With a sink the caller is attached (stdout/stderr to the sink, stdin from the
   * returned session); the sink ends only after the exit code is known, so a client that asks for
   * it right after the stream ends (docker exec) sees it.
   */
  async start(id: string, opts: { detach: boolean; sink?: AttachSink; detachKeys?: number[] }): Promise<AttachSession | undefined> {
    const e = this.get(id);
    if (e.started) throw new ConflictError(`Error: Exec command ${id} has already run`);
    const c = this.containers.tryGet(e.containerId);
    if (!c?.state.Running) {
      this.dropPrepared(id);
      this.waiters.drop(e.containerId);
      throw new ConflictError(`container ${e.containerId} is not running`);
    }
    const prepared = this.prepared.get(id);
    if (prepared) { clearTimeout(prepared.timer); this.prepared.delete(id); }
    e.started = true;
    if (e.config.Tty !== true) {
      const who = { image: c.imageName, name: c.name, execID: id };
      const attached = !opts.detach && opts.sink !== undefined;
      const options = prepared?.options ?? this.specOrFail(e, () => this.directOptions(e, c));
      return startDirectExec(options, {
        sink: attached ? opts.sink : undefined,
        onStart: (pid) => {
          e.pid = pid; e.runtimePid = pid; e.running = true;
          this.events.emit('container', `exec_start: ${(e.config.Cmd ?? []).join(' ')}`, c.id, who);
        },
        onExit: (code) => {
          e.exitCode = code; e.running = false; this.dirs.delete(id);
          this.events.emit('container', 'exec_die', c.id, { ...who, exitCode: String(code) });
          if (attached) this.waiters.refill(c.id, options.attachStdin);
        },
      }, attached ? this.waiters.take(c.id, options.attachStdin) : undefined);
    }
    const rt = this.containers.runtimeFor(c);
    const { conmon, runtimePath, runtimeEnv, runtimeRoot, socketDir } = rt.conmonArgs();
    const { dir, specFile, proc } = this.specOrFail(e, () => this.writeProcessSpec(e, c));

    const attach = !opts.detach && opts.sink !== undefined;
    const stdin = attach && e.config.AttachStdin === true;
    const args = [
      '--api-version', '1', '-c', c.id, '-u', id, '-n', c.name, '-r', runtimePath, '-b', dir,
      '-p', join(dir, 'pid'), '-l', `k8s-file:${join(dir, 'log')}`, '--exit-dir', dir, '--socket-dir-path', socketDir,
      '--runtime-arg', `--root=${runtimeRoot}`, '-e', '--exec-process-spec', specFile, '--log-level', 'error',
    ];
    if (attach) args.push('--exec-attach');
    if (proc.terminal) args.push('-t');
    if (stdin) args.push('-i');
    const child = spawn(conmon, args, {
      cwd: dir, detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      env: { ...runtimeEnv, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4', ...(attach ? { _OCI_ATTACHPIPE: '5' } : {}) },
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
    const pipes = child.stdio as unknown as (Readable | Writable | null)[];
    const syncLine = lineReader(pipes[3] as Readable);
    const startPipe = pipes[4] as Writable;
    const attachLine = lineReader(pipes[5] as Readable);
    startPipe.write('0');

    let sock: SeqpacketSocket | undefined;
    let session: ExecAttachSession | undefined;
    const cleanup = () => {
      for (const s of [pipes[3], pipes[4], pipes[5]]) s?.destroy();
      rmSync(dir, { recursive: true, force: true });
      this.dirs.delete(id);
    };
    try {
      if (attach) {
        const ready = await attachLine();
        if (ready === undefined) throw new SystemError(`exec failed to start: ${stderr.trim() || 'conmon exited'}`);
        sock = await connectSeqpacket(join(socketDir, id, 'attach'));
        session = new ExecAttachSession(sock, proc.terminal ? opts.detachKeys ?? [16, 17] : undefined);
      }
      startPipe.write('0');
      const first = parseSyncMessage((await syncLine()) ?? '');
      if (!first || first.data <= 0) {
        const raw = first?.message ?? stderr.trim() ?? 'exec failed';
        const msg = runtimeErrorMessage(raw, 'exec');
        e.exitCode = 126;
        sock?.destroy();
        throw new SystemError(msg);
      }
      e.pid = first.data;
      e.running = true;
      this.events.emit('container', `exec_start: ${(e.config.Cmd ?? []).join(' ')}`, c.id, { image: c.imageName, name: c.name, execID: id });
    } catch (err) {
      cleanup();
      e.running = false;
      throw err;
    }

    const exited = (async () => {
      const line = await syncLine();
      const msg = parseSyncMessage(line ?? '');
      let code = msg ? msg.data : NaN;
      if (!Number.isFinite(code)) {
        try { code = Number(readFileSync(join(dir, id), 'utf8').trim()); } catch { code = 126; }
      }
      e.exitCode = code;
      e.running = false;
      this.events.emit('container', 'exec_die', c.id, { image: c.imageName, name: c.name, execID: id, exitCode: String(code) });
      cleanup();
    })();

    if (sock && session && opts.sink) {
      const sink = opts.sink;
      const tty = proc.terminal;
      const want = { stdout: e.config.AttachStdout !== false, stderr: e.config.AttachStderr !== false };
      let ended = false;
      const end = () => { if (ended) return; ended = true; void exited.finally(() => sink.end()); };
      session.onDetach = () => { ended = true; sock?.destroy(); sink.end(); };
      sock.on('data', (buf: Buffer) => {
        if (buf.length < 1) return;
        const data = Buffer.from(buf.subarray(1));
        if (buf[0] === 2 && want.stdout) sink.output('stdout', data);
        else if (buf[0] === 3 && want.stderr) sink.output(tty ? 'stdout' : 'stderr', data);
      });
      sock.on('end', end);
      sock.on('close', end);
      sock.on('error', end);
      if (!stdin) { try { sock.end(); } catch { /* closed */ } }
      return session;
    }
    void exited;
    return undefined;
  }
}

function connectSeqpacket(path: string): Promise<SeqpacketSocket> {
  return new Promise((resolve, reject) => {
    const s = new SeqpacketSocket();
    s.once('error', reject);
    s.connect(path, () => { s.removeListener('error', reject); resolve(s); });
  });
}

class ExecAttachSession implements AttachSession {
  onDetach?: () => void;
  private pos = 0;
  constructor(private readonly sock: SeqpacketSocket, private readonly detachKeys: number[] | undefined) {}
  write(data: Buffer): void {
    if (this.detachKeys && this.detachKeys.length) {
      for (const b of data) {
        if (b === this.detachKeys[this.pos]) { if (++this.pos === this.detachKeys.length) { this.onDetach?.(); return; } } else this.pos = 0;
      }
    }
    for (let i = 0; i < data.length; i += 8192) { try { this.sock.write(data.subarray(i, i + 8192)); } catch { return; } }
  }
  closeStdin(): void { try { this.sock.end(); } catch { /* closed */ } }
  close(): void { try { this.sock.destroy(); } catch { /* closed */ } }
}
