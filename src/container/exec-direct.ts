// Exec without a TTY: berthd runs `crun exec` itself with plain pipes. conmon adds nothing a pipe
// cannot do here, and costs a fork, a sync-pipe round trip and an attach socket per exec.
//
// Most of an exec's time is spent before the command runs: forking a process of berthd's size
// (~4 ms with the event loop blocked) and crun loading itself and reading the container's state
// (~3 ms). A waiter does all of that ahead of time, for one container: `crun exec` started with
// its process spec to come from a pipe, blocked reading it. Starting the exec writes the spec.
// The first exec into a container starts its waiter when the exec is created (clients create and
// start in two requests); once an exec ends, a new waiter is started for the next one, after the
// client had its answers, so that repeated execs (health checks, test suites, scripts) find one
// ready. An unused waiter goes after a minute; so does it when its container stops.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SystemError } from '../errors.js';
import type { AttachSink, AttachSession } from './service.js';
import { runtimeErrorMessage, startFailureExitCode } from './runtime.js';

/** How a container's runtime is executed (from ConmonArgs). */
export interface RuntimeCall {
  runtimePath: string;
  runtimeEnv: NodeJS.ProcessEnv;
  runtimeRoot: string;
  containerId: string;
}

export interface DirectExecOptions extends RuntimeCall {
  specFile: string;
  /** The same spec, as written to specFile. */
  spec: string;
  /** Temp dir of this exec, removed when it ends. */
  dir: string;
  attachStdin: boolean;
  attachStdout: boolean;
  attachStderr: boolean;
}

export interface DirectExecStart {
  /** Attached when a sink is given; detached otherwise. */
  sink?: AttachSink;
  onStart(pid: number): void;
  onExit(code: number): void;
}

/** crun's words when it could not exec the process (it then exits 255 having run nothing). */
const RUNTIME_ERROR = /executable file `[^`]*` not found|open executable|exec(?:ve)? [`'"]?[^ ]*[`'"]?: (?:No such file|Permission denied)|^chdir |^(?:crun|runc): /m;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

// A waiter: crun reads its process spec from a pipe that `cat` fills from fd 3, berthd's end.
// (fd 3 is a socket, which crun cannot open through /proc/self/fd.) If berthd closes fd 3 without
// writing, or goes away, crun reads an empty spec and exits having run nothing. The process's
// stdin is the waiter's own (/dev/null, or berthd's pipe for an exec with stdin attached).
const WAITER = 'exec 5<&0; cat <&3 | { exec 4<&0 0<&5 5<&- 3<&-; exec "$0" "$1" exec --process /proc/self/fd/4 "$2"; }';

function runtimeArgs(o: DirectExecOptions): string[] {
  return [`--root=${o.runtimeRoot}`, 'exec', '--process', o.specFile, '--pid-file', join(o.dir, 'pid'), o.containerId];
}

function spawned(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new SystemError(`exec failed: ${err.message}`)));
  });
}

/** `crun exec` started for one container, waiting for the process spec of an attached exec. */
export class ExecWaiter {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private taken = false;

  /** `onExpire` runs when nobody took the waiter within `keepMs` (it is gone by then). */
  constructor(readonly call: RuntimeCall, readonly stdin: boolean, onExpire: () => void, keepMs = 60_000) {
    this.child = spawn('/bin/sh', ['-c', WAITER, call.runtimePath, `--root=${call.runtimeRoot}`, call.containerId], {
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'], env: call.runtimeEnv,
    });
    this.ready = spawned(this.child);
    this.ready.catch(() => undefined);
    this.timer = setTimeout(() => { this.discard(); onExpire(); }, keepMs);
    this.timer.unref();
  }

  /** Runs the exec `o`; undefined when the waiter is no longer there to do it. */
  async take(o: DirectExecOptions): Promise<ChildProcess | undefined> {
    if (this.taken || o.attachStdin !== this.stdin) return undefined;
    this.taken = true;
    clearTimeout(this.timer);
    try { await this.ready; } catch { return undefined; }
    if (this.child.exitCode !== null || this.child.signalCode !== null) return undefined;
    (this.child.stdio[3] as Writable).end(o.spec);
    return this.child;
  }

  /** Lets the waiting process go. */
  discard(): void {
    if (this.taken) return;
    this.taken = true;
    clearTimeout(this.timer);
    for (const s of this.child.stdio) s?.destroy();
  }
}

/** Waiters a container may have of one kind at once (several execs created before any starts). */
const MAX_WAITERS = 4;

/**
 * The waiters of every container, by container and kind (stdin attached or not). `callFor`
 * says how to run a container's runtime, or undefined when it is not running.
 */
export class ExecWaiters {
  private readonly byContainer = new Map<string, ExecWaiter[]>();

  constructor(private readonly callFor: (containerId: string) => RuntimeCall | undefined, private readonly log: (l: string) => void) {}

  private count(containerId: string, stdin: boolean): number {
    return (this.byContainer.get(containerId) ?? []).filter((w) => w.stdin === stdin).length;
  }

  /** Starts waiters until the container has `wanted` of this kind (at most MAX_WAITERS). */
  ensure(containerId: string, stdin: boolean, wanted: number): void {
    while (this.count(containerId, stdin) < Math.min(wanted, MAX_WAITERS)) {
      const call = this.callFor(containerId);
      if (!call) return;
      let list = this.byContainer.get(containerId);
      if (!list) { list = []; this.byContainer.set(containerId, list); }
      const w: ExecWaiter = new ExecWaiter(call, stdin, () => this.remove(containerId, w));
      list.push(w);
    }
  }

  /** After an attached exec ended: a waiter for the next one, once the client had its answers. */
  refill(containerId: string, stdin: boolean): void {
    setTimeout(() => {
      try { this.ensure(containerId, stdin, 1); } catch (err) { this.log(`exec waiter for ${containerId.slice(0, 12)}: ${(err as Error).message}`); }
    }, 10).unref();
  }

  take(containerId: string, stdin: boolean): ExecWaiter | undefined {
    const list = this.byContainer.get(containerId);
    const i = list ? list.findIndex((w) => w.stdin === stdin) : -1;
    if (!list || i < 0) return undefined;
    const [w] = list.splice(i, 1);
    if (!list.length) this.byContainer.delete(containerId);
    return w;
  }

  /** Lets all of a container's waiters go (it stopped, or is gone). */
  drop(containerId: string): void {
    for (const w of this.byContainer.get(containerId) ?? []) w.discard();
    this.byContainer.delete(containerId);
  }

  private remove(containerId: string, w: ExecWaiter): void {
    const list = this.byContainer.get(containerId);
    if (!list) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (!list.length) this.byContainer.delete(containerId);
  }
}

/** Starts an exec, attached through a waiter when one is given and still there. */
export async function startDirectExec(o: DirectExecOptions, s: DirectExecStart, waiter?: ExecWaiter): Promise<AttachSession | undefined> {
  const attached = s.sink !== undefined;
  let child = attached ? await waiter?.take(o) : undefined;
  if (!child) {
    waiter?.discard();
    child = spawn(o.runtimePath, runtimeArgs(o), {
      stdio: [attached && o.attachStdin ? 'pipe' : 'ignore', attached ? 'pipe' : 'ignore', 'pipe'],
      detached: !attached, env: o.runtimeEnv,
    });
    try {
      await spawned(child);
    } catch (err) {
      rmSync(o.dir, { recursive: true, force: true });
      throw err;
    }
  }
  return follow(child, o, s);
}

function follow(child: ChildProcess, o: DirectExecOptions, s: DirectExecStart): AttachSession | undefined {
  s.onStart(child.pid ?? 0);
  const sink = s.sink;
  let errText = '';
  let produced = false;
  (child.stdout as Readable | null)?.on('data', (b: Buffer) => { produced = true; if (o.attachStdout) sink?.output('stdout', b); });
  (child.stderr as Readable | null)?.on('data', (b: Buffer) => {
    // Held back until the exit status says whether it was the runtime failing to exec.
    if (!produced && RUNTIME_ERROR.test(b.toString())) { errText += b.toString(); return; }
    produced = true;
    if (sink && o.attachStderr) sink.output('stderr', b);
  });
  child.once('close', (code, signal) => {
    let status = code ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 0) : 126);
    if (errText && status === 255) {
      const msg = runtimeErrorMessage(errText, 'exec');
      status = startFailureExitCode(msg);
      sink?.output('stdout', Buffer.from(`${msg}\r\n`));
    } else if (errText && o.attachStderr) {
      sink?.output('stderr', Buffer.from(errText));
    }
    s.onExit(status);
    // The client asks for the exit code as soon as its stream ends: end it first, tidy after.
    sink?.end();
    setImmediate(() => rmSync(o.dir, { recursive: true, force: true }));
  });
  if (!sink) { child.unref(); return undefined; }
  const stdin = child.stdin;
  return {
    write: (b: Buffer) => { if (stdin && !stdin.destroyed) stdin.write(b); },
    closeStdin: () => { stdin?.end(); },
    close: () => { stdin?.destroy(); },
  };
}
