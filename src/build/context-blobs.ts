// The context blob cache's files: a context file whose content, mode and mtime were seen before
// is hard-linked from the cache instead of written again (see ContextBlobCache in context.ts).
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** Writes the held chunks of a file, in one writev, to a new file at `path`. */
async function writeChunks(path: string, chunks: Buffer[], mode: number, mtime: Date | undefined): Promise<void> {
  const fh = await fsp.open(path, 'wx', 0o600);
  try {
    await fh.writev(chunks);
    await fh.chmod(mode);
    if (mtime) await fh.utimes(mtime, mtime);
  } finally {
    await fh.close();
  }
}

/** Puts a context file at `abs`: linked from the cache, after adding it there if it is new. */
export async function writeViaBlobCache(cacheDir: string, chunks: Buffer[], sha: string, mode: number, mtime: Date | undefined, abs: string): Promise<void> {
  const secs = mtime ? Math.floor(mtime.getTime() / 1000) : 0;
  const blob = join(cacheDir, `${sha}-${mode.toString(8)}-${secs}`);
  try {
    await fsp.link(blob, abs);
    return;
  } catch (e) {
    // e.g. EMLINK: fall back to a plain copy of the bytes.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return writeChunks(abs, chunks, mode, mtime);
  }
  const tmp = `${blob}.tmp-${Math.random().toString(36).slice(2)}`;
  await writeChunks(tmp, chunks, mode, mtime);
  await fsp.rename(tmp, blob);
  await fsp.link(blob, abs);
}
