// Docker's JSON message stream (pull, push, import, load): one JSON object a line. The HTTP
// response starts lazily, at the first message, so that an error found before any progress
// (a missing tag, bad credentials) is still answered as a plain HTTP error with its status.

export interface ProgressDetail {
  current?: number;
  total?: number;
}

export interface JsonMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: ProgressDetail;
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { message: string; code?: number };
}

export type ProgressSink = (m: JsonMessage) => void;

/** Docker's units.HumanSize: decimal units, 3 significant digits ("1.23MB"). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** The bar the docker CLI draws, kept in `progress` for clients that print it as is. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize(current);
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (filled >= width ? '=' : '>') : '') + ' '.repeat(width - filled);
  return `[${bar}] ${humanSize(current)}/${humanSize(total)}`;
}

/** Emits progress for one id at most every `intervalMs`, and always the last value. */
export class Throttle {
  private last = 0;
  constructor(private readonly intervalMs = 100) {}
  ready(force = false): boolean {
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return false;
    this.last = now;
    return true;
  }
}

/** Minimal writer interface (an http.ServerResponse fits). */
export interface MessageTarget {
  headersSent: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): boolean;
  end(): unknown;
  writableEnded: boolean;
}

/** Writes JSON messages to an HTTP response, starting it on first use. */
export class JsonMessageWriter {
  private started = false;
  constructor(private readonly res: MessageTarget, private readonly headers: Record<string, string> = {}) {}

  get hasStarted(): boolean { return this.started; }

  readonly send: ProgressSink = (m) => {
    if (this.res.writableEnded) return;
    if (!this.started) {
      this.started = true;
      if (!this.res.headersSent) this.res.writeHead(200, { ...this.headers, 'Content-Type': 'application/json' });
    }
    this.res.write(`${JSON.stringify(m)}\r\n`);
  };

  /** After the stream has begun, errors travel inside it (as Docker does). */
  error(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.send({ errorDetail: { message }, error: message });
  }

  end(): void {
    if (!this.started) {
      this.started = true;
      if (!this.res.headersSent) this.res.writeHead(200, { ...this.headers, 'Content-Type': 'application/json' });
    }
    if (!this.res.writableEnded) this.res.end();
  }
}
