// A worker thread that hashes build context files and puts them in place through the blob cache,
// on the other core, while the main thread goes on receiving the context. The file data is moved
// here (transferred, not copied), so neither the hashing nor the garbage of 200 MB of chunks
// lands on the thread that serves the API.
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { writeViaBlobCache } from './context-blobs.js';

export type ContextWorkerRequest =
  | { kind: 'data'; id: number; chunks: ArrayBuffer[] }
  | { kind: 'end'; id: number; cacheDir: string; mode: number; mtime?: number; abs: string }
  /** The file's entry failed to arrive whole: forget what came of it. */
  | { kind: 'drop'; id: number };

export type ContextWorkerReply = { id: number; sha: string } | { id: number; error: string };

const files = new Map<number, { hash: Hash; chunks: Buffer[] }>();

function fileOf(id: number): { hash: Hash; chunks: Buffer[] } {
  let f = files.get(id);
  if (!f) { f = { hash: createHash('sha256'), chunks: [] }; files.set(id, f); }
  return f;
}

parentPort?.on('message', (m: ContextWorkerRequest) => {
  if (m.kind === 'drop') { files.delete(m.id); return; }
  const f = fileOf(m.id);
  if (m.kind === 'data') {
    for (const ab of m.chunks) {
      const b = Buffer.from(ab);
      f.hash.update(b);
      f.chunks.push(b);
    }
    return;
  }
  files.delete(m.id);
  const sha = f.hash.digest('hex');
  writeViaBlobCache(m.cacheDir, f.chunks, sha, m.mode, m.mtime === undefined ? undefined : new Date(m.mtime), m.abs).then(
    () => parentPort?.postMessage({ id: m.id, sha } satisfies ContextWorkerReply),
    (e: unknown) => parentPort?.postMessage({ id: m.id, error: (e as Error).message } satisfies ContextWorkerReply),
  );
});
