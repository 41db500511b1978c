// Exec without a TTY: berthd runs `crun exec` itself with plain pipes. conmon adds nothing a pipe
// cannot do here, and costs a fork, a sync-pipe round trip and an attach socket per exec.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
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
  /** Attached when a sink is given; detached otherwise. */
  sink?: AttachSink;
  onStart(pid: number): void;
  onExit(code: number): void;
}

/** crun's words when it could not exec the process (it then exits 255 having run nothing). */
const RUNTIME_ERROR = /executable file `[^`]*` not found|open executable|exec(?:ve)? [`'"]?[^ ]*[`'"]?: (?:No such file|Permission denied)|^(?:crun|runc): /m;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

export async function startDirectExec(o: DirectExecOptions): Promise<AttachSession | undefined> {
  const attached = o.sink !== undefined;
  const child = spawn(o.runtimePath, [`--root=${o.runtimeRoot}`, 'exec', '--process', o.specFile, '--pid-file', join(o.dir, 'pid'), o.containerId], {
    stdio: [attached && o.attachStdin ? 'pipe' : 'ignore', attached ? 'pipe' : 'ignore', 'pipe'],
    detached: !attached,
  });
  const cleanup = () => rmSync(o.dir, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new SystemError(`exec failed: ${err.message}`)));
    });
  } catch (err) {
    cleanup();
    throw err;
  }
  o.onStart(child.pid ?? 0);
  const sink = o.sink;
  let errText = '';
  let produced = false;
  child.stdout?.on('data', (b: Buffer) => { produced = true; if (o.attachStdout) sink?.output('stdout', b); });
  child.stderr?.on('data', (b: Buffer) => {
    // Held back until the exit status says whether it was the runtime failing to exec.
    if (!produced && RUNTIME_ERROR.test(b.toString())) { errText += b.toString(); return; }
    produced = true;
    if (attached && o.attachStderr) sink?.output('stderr', b);
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
      cleanup();
      o.onExit(status);
      resolve();
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
