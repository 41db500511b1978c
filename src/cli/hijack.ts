// Moves bytes between our stdio and a hijacked attach/exec stream, as docker's hijackedIOStreamer:
// output is demultiplexed unless there is a TTY; stdin is copied, and at its end (or at once when
// there is no stdin) the socket is half-closed so the daemon sees EOF but keeps sending output.
import type { Readable, Writable } from 'node:stream';

import type { HijackedStream } from '../client/client.js';
import { FrameDecoder } from '../client/stream.js';
import { StdStream } from '../client/types.js';

export interface StreamOptions {
  tty: boolean;
  /** With a TTY: the key sequence that detaches (docker's EscapeProxy on stdin). */
  detachKeys?: number[];
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

function write(w: Writable | undefined, data: Buffer): Promise<void> | undefined {
  if (!w) return undefined;
  if (w.write(data)) return undefined;
  return new Promise((resolve) => w.once('drain', resolve));
}

/** docker's --detach-keys syntax: "ctrl-p,ctrl-q", single characters or ctrl-<a-z @ [ \\ ] ^ _>. */
export function parseDetachKeys(spec: string | undefined): number[] {
  const s = spec || 'ctrl-p,ctrl-q';
  const out: number[] = [];
  for (const part of s.split(',')) {
    const m = /^ctrl-(.)$/i.exec(part);
    if (m) {
      const c = m[1]!.toLowerCase();
      if (c >= 'a' && c <= 'z') out.push(c.charCodeAt(0) - 96);
      else if ('@[\\]^_'.includes(c)) out.push(c.charCodeAt(0) - 64);
      else throw new Error(`Unknown character: '${part}'`);
    } else if (part.length === 1) {
      out.push(part.charCodeAt(0));
    } else {
      throw new Error(`Unknown character: '${part}'`);
    }
  }
  return out;
}

export type StreamEnd = 'eof' | 'detached';

/** Resolves when the daemon has closed the output side, or the user typed the detach keys. */
export function streamHijacked(h: HijackedStream, opts: StreamOptions): Promise<StreamEnd> {
  const { socket } = h;
  return new Promise<StreamEnd>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error, how: StreamEnd = 'eof'): void => {
      if (done) return;
      done = true;
      if (opts.stdin) {
        opts.stdin.removeListener('data', onStdinData);
        opts.stdin.removeListener('end', onStdinEnd);
        opts.stdin.pause();
      }
      if (!socket.destroyed) socket.destroy();
      if (err) reject(err);
      else resolve(how);
    };
    const onStdinEnd = (): void => {
      if (!socket.destroyed) socket.end();
    };
    // EscapeProxy: hold back bytes that may begin the detach sequence; release them on a mismatch
    const keys = opts.tty ? opts.detachKeys : undefined;
    let matched = 0;
    const onStdinData = (chunk: Buffer | string): void => {
      let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (keys && keys.length) {
        const out: number[] = [];
        for (const b of data) {
          if (b === keys[matched]) {
            matched++;
            if (matched === keys.length) {
              if (out.length && !socket.destroyed) socket.write(Buffer.from(out));
              finish(undefined, 'detached');
              return;
            }
            continue;
          }
          if (matched > 0) {
            out.push(...keys.slice(0, matched));
            matched = 0;
          }
          if (b === keys[0]) matched = 1;
          else out.push(b);
        }
        data = Buffer.from(out);
      }
      if (data.length && !socket.destroyed && !socket.write(data)) {
        opts.stdin!.pause();
        socket.once('drain', () => opts.stdin!.resume());
      }
    };

    if (opts.stdin) {
      opts.stdin.on('end', onStdinEnd);
      opts.stdin.on('data', onStdinData);
      opts.stdin.resume();
    } else {
      socket.end();
    }

    const decoder = opts.tty ? undefined : new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let pending: Promise<void> | undefined;
      if (!decoder) {
        pending = write(opts.stdout, chunk);
      } else {
        for (const f of decoder.push(chunk)) {
          const target = f.stream === StdStream.Stderr ? opts.stderr : f.stream === StdStream.SystemErr ? opts.stderr : opts.stdout;
          pending = write(target, f.data) ?? pending;
        }
      }
      if (pending) {
        socket.pause();
        void pending.then(() => socket.resume());
      }
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (e) => {
      // EPIPE after our half-close is not a failure of the output stream
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') return;
      finish(e);
    });
  });
}
