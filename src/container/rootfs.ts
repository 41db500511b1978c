// Container root filesystems: overlayfs over the image's unpacked layers with a writable upper
// dir per container.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemError } from '../errors.js';

export function isMounted(path: string): boolean {
  const want = path.replace(/\/+$/, '');
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === want);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _out, stderr) => (err ? reject(new SystemError(`${cmd}: ${(stderr || err.message).trim()}`)) : resolve()));
  });
}

export interface RootfsDirs { upper: string; work: string; merged: string }

export function rootfsDirs(containerDir: string): RootfsDirs {
  return { upper: join(containerDir, 'upper'), work: join(containerDir, 'work'), merged: join(containerDir, 'merged') };
}

/** Mounts the container's overlay (idempotent). `lowerDirs` top first; an empty list uses an empty dir. */
export async function mountRootfs(containerDir: string, lowerDirs: string[]): Promise<string> {
  const d = rootfsDirs(containerDir);
  for (const p of [d.upper, d.work, d.merged]) mkdirSync(p, { recursive: true });
  if (isMounted(d.merged)) return d.merged;
  let lowers = lowerDirs;
  if (lowers.length === 0) {
    const empty = join(containerDir, 'empty');
    mkdirSync(empty, { recursive: true });
    lowers = [empty];
  }
  const opts = `lowerdir=${lowers.join(':')},upperdir=${d.upper},workdir=${d.work}`;
  if (opts.length > 4000) throw new SystemError(`too many layers to mount (${lowers.length})`);
  await run('mount', ['-t', 'overlay', 'overlay', '-o', opts, d.merged]);
  return d.merged;
}

export async function unmountRootfs(containerDir: string): Promise<void> {
  const { merged } = rootfsDirs(containerDir);
  if (!isMounted(merged)) return;
  try {
    await run('umount', [merged]);
  } catch {
    await run('umount', ['-l', merged]);
  }
}
