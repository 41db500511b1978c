// Small stream helpers shared by the parts that sniff what they are sent.
import { Readable } from 'node:stream';

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
