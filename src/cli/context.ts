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
