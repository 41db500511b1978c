// Decoders for the two stream formats of the Engine API: the 8-byte multiplexed stdout/stderr
// framing (attach, exec, logs without a TTY) and JSON message streams (pull, push, build, import).

import { StdStream } from './types.js';
import type { JSONMessage } from './types.js';

export interface Frame {
  stream: StdStream;
  data: Buffer;
}

const HEADER = 8;

/**
 * Incremental demultiplexer: feed it chunks as they arrive, in any split, and it returns each
 * complete frame once. A frame whose header is cut across chunks waits for the rest.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingLength = 0;

  push(chunk: Buffer): Frame[] {
    if (chunk.length === 0) return [];
    this.pending.push(chunk);
    this.pendingLength += chunk.length;
    const frames: Frame[] = [];
    let buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLength);
    let off = 0;
    while (buf.length - off >= HEADER) {
      const size = buf.readUInt32BE(off + 4);
      if (buf.length - off - HEADER < size) break;
      const type = buf[off]!;
      frames.push({ stream: type as StdStream, data: buf.subarray(off + HEADER, off + HEADER + size) });
      off += HEADER + size;
    }
    buf = buf.subarray(off);
    this.pending = buf.length > 0 ? [buf] : [];
    this.pendingLength = buf.length;
    return frames;
  }

  /** Bytes of an incomplete frame left over at the end of the stream. */
  get remaining(): number {
    return this.pendingLength;
  }
}

/** Encodes one frame; used by tests and by the daemon side. */
export function encodeFrame(stream: StdStream, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  const header = Buffer.alloc(HEADER);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export async function* demux(source: AsyncIterable<Buffer | string>): AsyncGenerator<Frame> {
  const decoder = new FrameDecoder();
  for await (const chunk of source) {
    for (const f of decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)) yield f;
  }
}

/**
 * Splits a stream of concatenated JSON values (Go's json.Decoder accepts them with or without
 * newlines between) into parsed objects. Tracks string/escape state so braces inside strings
 * do not count.
 */
export class JSONStreamDecoder<T = JSONMessage> {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  push(text: string): T[] {
    this.buf += text;
    const out: T[] = [];
    let i = this.scanned;
    for (; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') {
        this.inString = true;
      } else if (c === '{' || c === '[') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0 && this.start >= 0) {
          out.push(JSON.parse(this.buf.slice(this.start, i + 1)) as T);
          this.start = -1;
        }
      }
    }
    if (this.depth === 0) {
      this.buf = '';
      this.scanned = 0;
    } else {
      this.buf = this.buf.slice(this.start);
      this.scanned = this.buf.length;
      this.start = 0;
    }
    return out;
  }
}

export async function* jsonStream<T = JSONMessage>(source: AsyncIterable<Buffer | string>): AsyncGenerator<T> {
  const decoder = new JSONStreamDecoder<T>();
  const td = new TextDecoder();
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : td.decode(chunk, { stream: true });
    for (const v of decoder.push(text)) yield v;
  }
}
