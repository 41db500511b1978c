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

/**
 * Puts a context file at `abs`: linked from the cache, or written and then added to it.
 *
 * A new file is written in place and only then linked into the cache, never renamed over an
 * entry: two identical files placed at once would each rename over the other's entry, and
 * link() of an inode whose last name was just replaced fails with ENOENT.
 */
export async function writeViaBlobCache(cacheDir: string, chunks: Buffer[], sha: string, mode: number, mtime: Date | undefined, abs: string): Promise<void> {
  const secs = mtime ? Math.floor(mtime.getTime() / 1000) : 0;
  const blob = join(cacheDir, `${sha}-${mode.toString(8)}-${secs}`);
  try {
    await fsp.link(blob, abs);
    return;
  } catch {
    // Not cached yet, or not linkable (EMLINK, EXDEV): written below.
  }
  await writeChunks(abs, chunks, mode, mtime);
  // EEXIST: an identical file placed at the same time got there first, which is as good.
  await fsp.link(abs, blob).catch(() => undefined);
}
