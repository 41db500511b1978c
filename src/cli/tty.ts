// Terminal handling for -t: raw mode on our stdin, window size to the daemon at start and on
// every SIGWINCH, restored on the way out.
import { spawnSync } from 'node:child_process';

import type { CliIO } from './context.js';

export function consoleSize(io: CliIO): [number, number] {
  const out = io.stdout;
  if (out.isTTY && out.rows && out.columns) return [out.rows, out.columns];
  return [0, 0];
}

/** Puts stdin in raw mode when it is a terminal; returns the function that restores it. */
export function makeRaw(io: CliIO): () => void {
  const stdin = io.stdin;
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => undefined;
  stdin.setRawMode(true);
  // libuv's raw mode keeps output post-processing (ONLCR), so the container's "\r\n" would reach the
  // terminal as "\r\r\n"; docker's raw mode is cfmakeraw, which turns it off. Restoring normal mode
  // puts back the saved termios, OPOST included.
  if (stdin === process.stdin) spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
  return () => {
    stdin.setRawMode?.(false);
  };
}

/** Sends the size now and on every resize; returns the function that stops watching. */
export function monitorSize(io: CliIO, resize: (h: number, w: number) => Promise<void>): () => void {
  if (!io.stdout.isTTY) return () => undefined;
  const send = (): void => {
    const [h, w] = consoleSize(io);
    if (h > 0 && w > 0) resize(h, w).catch(() => undefined);
  };
  send();
  process.on('SIGWINCH', send);
  return () => {
    process.removeListener('SIGWINCH', send);
  };
}
