// What every command gets: the client, the streams, the environment. Injected so tests can run
// main() in-process with captured output.
import type { Readable, Writable } from 'node:stream';

import { EngineClient } from '../client/client.js';
import { isDaemonError } from '../client/errors.js';
import { errorMessage } from '../errors.js';

export interface CliIO {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** An error that ends the command with a given exit status and message (docker's cli.StatusError). */
export class StatusError extends Error {
  constructor(
    readonly status: number,
    message = '',
  ) {
    super(message);
    this.name = 'StatusError';
  }
}

/** A flag's value that does not parse (pflag's "invalid argument"): docker adds the usage hint. */
export class FlagValueError extends StatusError {
  constructor(value: string, flag: string, reason: string) {
    super(125, `invalid argument "${value}" for "${flag}" flag: ${reason}`);
    this.name = 'FlagValueError';
  }
}

export const PROG = 'berth';

export class Cli {
  private clientInstance?: EngineClient;
  host?: string;

  constructor(readonly io: CliIO) {}

  get client(): EngineClient {
    this.clientInstance ??= new EngineClient({ host: this.host, env: this.io.env, userAgent: 'Berth-Client/0.1.0 (linux)' });
    return this.clientInstance;
  }

  out(s: string): void {
    this.io.stdout.write(s);
  }
  err(s: string): void {
    this.io.stderr.write(s);
  }

  close(): void {
    this.clientInstance?.close();
  }
}

/** The text docker prints for an error: daemon errors get "Error response from daemon: ". */
export function describeError(e: unknown): string {
  if (isDaemonError(e)) return `Error response from daemon: ${e.message}`;
  return errorMessage(e);
}

/** Runs fn for each argument; prints successes, collects failures as docker does (exit 1). */
export async function forEachArg(cli: Cli, names: string[], fn: (name: string) => Promise<void>, print = true): Promise<number> {
  const errs: string[] = [];
  for (const n of names) {
    try {
      await fn(n);
      if (print) cli.out(`${n}\n`);
    } catch (e) {
      errs.push(describeError(e));
    }
  }
  if (errs.length) throw new StatusError(1, errs.join('\n'));
  return 0;
}

/** docker's "[y/N]" prompt for prune commands. */
export async function confirm(cli: Cli, message: string): Promise<boolean> {
  cli.out(`${message} [y/N] `);
  const stdin = cli.io.stdin;
  const answer = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (d: Buffer | string): void => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    };
    const done = (): void => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', done);
      stdin.pause();
      resolve(buf.split('\n')[0]!.trim());
    };
    stdin.on('data', onData);
    stdin.on('end', done);
    stdin.resume();
  });
  return /^(y|yes)$/i.test(answer);
}
