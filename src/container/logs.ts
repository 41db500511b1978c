// Reads conmon's k8s-file logs ("<RFC3339Nano> <stdout|stderr> <F|P> <text>") back as Docker's
// log stream: tail and since by seeking from the end instead of reading whole files, follow
// by watching the file, and rotation (ctr.log, ctr.log.1, ...) handled on both sides.
import { createReadStream, promises as fsp, watch, existsSync, statSync } from 'node:fs';
import { once } from 'node:events';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /** Docker-style RFC3339Nano timestamp in UTC. */
  time: string;
  /** Nanoseconds since the epoch, for since/until filters. */
  timeNs: bigint;
  /** The text including its newline when the line was complete. */
  data: Buffer;
}

export interface LogReadOptions {
  stdout: boolean;
  stderr: boolean;
  /** Lines from the end; undefined means all. */
  tail?: number;
  sinceNs?: bigint;
  untilNs?: bigint;
  follow: boolean;
  /** Resolves when following should stop (the container stopped). */
  stopped?: Promise<void>;
  signal?: AbortSignal;
}

/** Parses conmon's timestamp ("2026-11-28T02:00:00.123456789+00:00") to UTC nanoseconds and Docker's format. */
export function parseConmonTime(ts: string): { ns: bigint; iso: string } {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/.exec(ts);
  if (!m) return { ns: 0n, iso: ts };
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const ms = Date.parse(`${m[1]}${m[3] === 'Z' ? 'Z' : m[3]}`);
  const ns = BigInt(ms) * 1_000_000n + BigInt(frac);
  const iso = new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
  return { ns, iso };
}

function parseLine(line: string): LogEntry | undefined {
  const a = line.indexOf(' ');
  const b = line.indexOf(' ', a + 1);
  const c = line.indexOf(' ', b + 1);
  if (a < 0 || b < 0) return undefined;
  const ts = line.slice(0, a);
  const stream = line.slice(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  const flag = c < 0 ? line.slice(b + 1) : line.slice(b + 1, c);
  const text = c < 0 ? '' : line.slice(c + 1);
  const t = parseConmonTime(ts);
  return { stream, time: t.iso, timeNs: t.ns, data: Buffer.from(flag === 'P' ? text : `${text}\n`) };
}

export function logFiles(path: string): string[] {
  const files: string[] = [];
  for (let i = 9; i >= 1; i--) if (existsSync(`${path}.${i}`)) files.push(`${path}.${i}`);
  if (existsSync(path)) files.push(path);
  return files;
}

/** Reads the last `n` newline-terminated lines of a file by seeking backwards. */
async function tailLines(file: string, n: number): Promise<{ lines: string[]; startOffset: number }> {
  const fh = await fsp.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    let pos = size;
    let count = 0;
    const chunks: Buffer[] = [];
    const chunk = 64 * 1024;
    let start = 0;
    outer: while (pos > 0) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      for (let i = len - 1; i >= 0; i--) {
        if (buf[i] === 0x0a && !(pos + i === size - 1)) {
          count++;
          if (count >= n) { chunks.unshift(buf.subarray(i + 1)); start = pos + i + 1; break outer; }
        }
      }
      chunks.unshift(buf);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    return { lines: text.split('\n').filter(Boolean), startOffset: start };
  } finally {
    await fh.close();
  }
}

async function* readLinesFrom(file: string, offset: number): AsyncGenerator<{ line: string; end: number }> {
  const stream = createReadStream(file, { start: offset, highWaterMark: 1 << 16 });
  let rest = '';
  let pos = offset;
  for await (const chunk of stream) {
    const s = rest + (chunk as Buffer).toString('utf8');
    const parts = s.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) { pos += Buffer.byteLength(p) + 1; yield { line: p, end: pos }; }
  }
}

function wanted(e: LogEntry, o: LogReadOptions): boolean {
  if (e.stream === 'stdout' && !o.stdout) return false;
  if (e.stream === 'stderr' && !o.stderr) return false;
  if (o.sinceNs !== undefined && e.timeNs < o.sinceNs) return false;
  if (o.untilNs !== undefined && e.timeNs > o.untilNs) return false;
  return true;
}

/**
 * Yields log entries. `tail` counts stored lines before filtering by stream, as Docker does.
 */
export async function* readLogs(path: string, o: LogReadOptions): AsyncGenerator<LogEntry> {
  let offset = 0;
  let file = path;
  const files = logFiles(path);
  if (o.tail !== undefined && o.tail >= 0) {
    let need = o.tail;
    const collected: string[][] = [];
    for (let i = files.length - 1; i >= 0 && need > 0; i--) {
      const { lines } = await tailLines(files[i], need);
      collected.unshift(lines);
      need -= lines.length;
    }
    for (const lines of collected) for (const l of lines) { const e = parseLine(l); if (e && wanted(e, o)) yield e; }
    offset = existsSync(path) ? statSync(path).size : 0;
  } else {
    for (const f of files) {
      if (f === path) break;
      for await (const { line } of readLinesFrom(f, 0)) { const e = parseLine(line); if (e && wanted(e, o)) yield e; }
    }
    if (existsSync(path)) {
      for await (const { line, end } of readLinesFrom(path, 0)) {
        offset = end;
        const e = parseLine(line); if (e && wanted(e, o)) yield e;
      }
    }
  }
  if (!o.follow) return;
  yield* followFrom(file, offset, o);
}

async function* followFrom(file: string, startOffset: number, o: LogReadOptions): AsyncGenerator<LogEntry> {
  let offset = startOffset;
  let stopped = false;
  let wake: (() => void) | undefined;
  const poke = () => { const w = wake; wake = undefined; w?.(); };
  void o.stopped?.then(() => { stopped = true; poke(); });
  o.signal?.addEventListener('abort', () => { stopped = true; poke(); });
  let watcher: ReturnType<typeof watch> | undefined;
  const timer = setInterval(poke, 250);
  try {
    for (;;) {
      if (!watcher && existsSync(file)) {
        try { watcher = watch(file, poke); } catch { watcher = undefined; }
      }
      const size = existsSync(file) ? statSync(file).size : 0;
      if (size < offset) offset = 0; // rotated: start on the new file
      if (size > offset) {
        for await (const { line, end } of readLinesFrom(file, offset)) {
          offset = end;
          const e = parseLine(line);
          if (e && wanted(e, o)) yield e;
        }
        if (watcher && size < offset) { watcher.close(); watcher = undefined; }
        continue;
      }
      if (stopped || o.signal?.aborted) {
        // One last read after the container stopped: conmon flushed everything before exiting.
        return;
      }
      await new Promise<void>((resolve) => { wake = resolve; });
    }
  } finally {
    clearInterval(timer);
    watcher?.close();
  }
}

/** Rotates ctr.log → ctr.log.1 → ... keeping `maxFiles` files in all. */
export async function rotate(path: string, maxFiles: number): Promise<void> {
  if (maxFiles <= 1) { await fsp.truncate(path, 0).catch(() => undefined); return; }
  await fsp.rm(`${path}.${maxFiles - 1}`, { force: true });
  for (let i = maxFiles - 2; i >= 1; i--) {
    if (existsSync(`${path}.${i}`)) await fsp.rename(`${path}.${i}`, `${path}.${i + 1}`);
  }
  if (existsSync(path)) await fsp.rename(path, `${path}.1`);
}

export { once };
