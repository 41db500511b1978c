// Disk usage of a directory tree, as moby's pkg/directory counts it: the size of everything that
// is not a directory, each inode once (hard links, such as the build context blob cache's, are
// not counted twice). Entries that vanish during the walk are skipped.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

export async function dirSize(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try { entries = await fsp.readdir(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) { await walk(p); continue; }
      const st = await fsp.lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  };
  await walk(root);
  return total;
}
