// Exec without a TTY: berthd runs `crun exec` itself with plain pipes. conmon adds nothing a pipe
// cannot do here, and costs a fork, a sync-pipe round trip and an attach socket per exec.
//
// The fork is paid before the exec is started: when the exec is created, a shell is spawned
// that waits on a trigger pipe and then replaces itself with `crun exec`. Clients create and
// start an exec in two requests (docker exec, dockerode, testcontainers all do), and forking a
// process of berthd's size costs milliseconds that would otherwise sit between "start" and the
// command running.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SystemError } from '../errors.js';
import type { AttachSink, AttachSession } from './service.js';
import { runtimeErrorMessage } from './runtime.js';

export interface DirectExecOptions {
  runtimePath: string;
  runtimeRoot: string;
  containerId: string;
  specFile: string;
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
const RUNTIME_ERROR = /executable file `[^`]*` not found|open executable|exec(?:ve)? [`'"]?[^ ]*[`'"]?: (?:No such file|Permission denied)|^(?:crun|runc): /m;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

// Reads one line from fd 3, then becomes the runtime. EOF instead of a line (the exec was
// dropped, or berthd went away) ends the shell without running anything.
const WAIT_THEN_EXEC = 'read -r _ <&3 || exit 0; exec 3<&-; exec "$0" "$@"';

function runtimeArgs(o: DirectExecOptions): string[] {
  return [`--root=${o.runtimeRoot}`, 'exec', '--process', o.specFile, '--pid-file', join(o.dir, 'pid'), o.containerId];
}

function spawned(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (err) => reject(new SystemError(`exec failed: ${err.message}`)));
  });
}

/** An attached exec whose process is forked and waiting for its start. */
export class PreparedDirectExec {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private taken = false;

  /** `onExpire` runs when nobody took the process within `keepMs` (it is discarded by then). */
  constructor(readonly options: DirectExecOptions, onExpire: () => void, keepMs = 30_000) {
    const o = options;
    this.child = spawn('/bin/sh', ['-c', WAIT_THEN_EXEC, o.runtimePath, ...runtimeArgs(o)], {
      stdio: [o.attachStdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    this.ready = spawned(this.child);
    this.ready.catch(() => undefined);
    // Nobody started it: let the shell go; a later start forks as usual.
    this.timer = setTimeout(() => { this.discard(); onExpire(); }, keepMs);
    this.timer.unref();
  }

  /** The waiting process, if it is still there to be started. */
  async take(): Promise<ChildProcess | undefined> {
    if (this.taken) return undefined;
    this.taken = true;
    clearTimeout(this.timer);
    try { await this.ready; } catch { return undefined; }
    if (this.child.exitCode !== null || this.child.signalCode !== null) return undefined;
    (this.child.stdio[3] as Writable).end('go\n');
    return this.child;
  }

  /** Lets the waiting process go and removes the exec's dir: the exec will never run. */
  discard(): void {
    this.cancel();
    rmSync(this.options.dir, { recursive: true, force: true });
  }

  /** Lets the waiting process go; the exec may still run, forked at its start. */
  cancel(): void {
    if (this.taken) return;
    this.taken = true;
    clearTimeout(this.timer);
    (this.child.stdio[3] as Writable | null)?.destroy();
    this.child.stdin?.destroy();
  }
}

export async function startDirectExec(o: DirectExecOptions, s: DirectExecStart, prepared?: PreparedDirectExec): Promise<AttachSession | undefined> {
  const attached = s.sink !== undefined;
  let child = attached ? await prepared?.take() : undefined;
  if (!child) {
    prepared?.cancel();
    child = spawn(o.runtimePath, runtimeArgs(o), {
      stdio: [attached && o.attachStdin ? 'pipe' : 'ignore', attached ? 'pipe' : 'ignore', 'pipe'],
      detached: !attached,
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
  const exited = new Promise<void>((resolve) => {
    child.once('close', (code, signal) => {
      let status = code ?? (signal ? 128 + (SIGNAL_NUMBERS[signal] ?? 0) : 126);
      if (errText && status === 255) {
        status = /not found|No such file/.test(errText) ? 127 : 126;
        const msg = runtimeErrorMessage(errText, 'exec');
        sink?.output('stdout', Buffer.from(`${msg}\r\n`));
      } else if (errText && o.attachStderr) {
        sink?.output('stderr', Buffer.from(errText));
      }
      s.onExit(status);
      resolve();
      rmSync(o.dir, { recursive: true, force: true });
    });
  });
  if (!sink) { child.unref(); void exited; return undefined; }
  void exited.then(() => sink.end());
  const stdin = child.stdin;
  return {
    write: (b: Buffer) => { if (stdin && !stdin.destroyed) stdin.write(b); },
    closeStdin: () => { stdin?.end(); },
    close: () => { stdin?.destroy(); },
  };
}
