// Moves bytes between our stdio and a hijacked attach/exec stream, as docker's hijackedIOStreamer:
// output is demultiplexed unless there is a TTY; stdin is copied, and at its end (or at once when
// there is no stdin) the socket is half-closed so the daemon sees EOF but keeps sending output.
import type { Readable, Writable } from 'node:stream';

import type { HijackedStream } from '../client/client.js';
import { FrameDecoder } from '../client/stream.js';
import { StdStream } from '../client/types.js';

export interface StreamOptions {
  tty: boolean;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

function write(w: Writable | undefined, data: Buffer): Promise<void> | undefined {
  if (!w) return undefined;
  if (w.write(data)) return undefined;
  return new Promise((resolve) => w.once('drain', resolve));
}

/** Resolves when the daemon has closed the output side; rejects on a socket error. */
export function streamHijacked(h: HijackedStream, opts: StreamOptions): Promise<void> {
  const { socket } = h;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      if (opts.stdin) {
        opts.stdin.unpipe(socket);
        opts.stdin.removeListener('end', onStdinEnd);
        opts.stdin.pause();
      }
      if (!socket.destroyed) socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onStdinEnd = (): void => {
      if (!socket.destroyed) socket.end();
    };

    if (opts.stdin) {
      opts.stdin.on('end', onStdinEnd);
      opts.stdin.pipe(socket, { end: false });
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
