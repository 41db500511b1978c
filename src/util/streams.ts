// Small stream helpers shared by the parts that sniff what they are sent.
import { open } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';

/**
 * The first `n` bytes of a stream (fewer if it is shorter), and a stream that still starts with
 * them: the source itself with the bytes put back, so nothing is piped through an extra layer.
 * A source that ended while being peeked is replaced by one made of what it held.
 */
export function peekBytes(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const cleanup = () => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', onError);
    };
    const finish = (ended: boolean) => {
      cleanup();
      const head = Buffer.concat(chunks);
      if (ended) { resolve({ head, stream: Readable.from(head.length ? [head] : [], { objectMode: false }) }); return; }
      if (head.length) source.unshift(head);
      resolve({ head, stream: source });
    };
    const onReadable = () => {
      let c: Buffer | string | null;
      while (have < n && (c = source.read() as Buffer | string | null) !== null) {
        const b = typeof c === 'string' ? Buffer.from(c) : c;
        chunks.push(b);
        have += b.length;
      }
      if (have >= n) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = (e: Error) => { cleanup(); reject(e); };
    source.on('readable', onReadable);
    source.once('end', onEnd);
    source.once('error', onError);
  });
}

/**
 * Writes bytes [start, end] of the file at `path` to `out` through a few buffers that are reused:
 * while some are being written the next chunk is read into another, so that the socket always
 * has data queued and its reader never waits. (A file stream allocates a new buffer for every
 * read, and waits for each write to drain before reading on.) `out` must be done with a chunk
 * when its write calls back, as a socket is (the bytes are in the kernel by then).
 */
export async function sendFileRange(path: string, start: number, end: number, out: Writable, chunkSize = 1 << 20, buffers = 4): Promise<void> {
  const fh = await open(path, 'r');
  const closed = new Promise<never>((_, reject) => {
    out.once('close', () => reject(new Error('the receiver went away')));
  });
  closed.catch(() => undefined);
  try {
    const bufs = Array.from({ length: buffers }, () => Buffer.allocUnsafeSlow(chunkSize));
    const written: (Promise<void> | undefined)[] = [];
    let pos = start;
    for (let i = 0; pos <= end; i = (i + 1) % buffers) {
      if (written[i]) await Promise.race([written[i], closed]);
      const buf = bufs[i]!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(chunkSize, end - pos + 1), pos);
      if (bytesRead === 0) throw new Error(`${path} ended at byte ${pos}, before byte ${end}`);
      pos += bytesRead;
      const w = new Promise<void>((resolve, reject) => {
        out.write(buf.subarray(0, bytesRead), (err) => { if (err) reject(err); else resolve(); });
      });
      w.catch(() => undefined);
      written[i] = w;
    }
    await Promise.race([Promise.all(written), closed]);
  } finally {
    await fh.close();
  }
}
