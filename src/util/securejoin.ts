// Resolves a path inside a root directory the way the kernel would inside a chroot: every
// symlink is followed relative to the root and `..` never climbs above it. Used wherever berth
// touches a container's filesystem from the host (user lookup, cp, mount targets).
import { lstatSync, readlinkSync } from 'node:fs';
import { posix, join } from 'node:path';
import { InvalidParameterError } from '../errors.js';

const MAX_SYMLINKS = 255;

/**
 * Returns the host path for `unsafePath` inside `root`, with all symlinks resolved within
 * root. Components that do not exist are kept as they are (so the result may not exist).
 */
export function secureJoin(root: string, unsafePath: string): string {
  let remaining = posix.normalize('/' + unsafePath).split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (remaining.length) {
    const part = remaining.shift() as string;
    if (part === '.') continue;
    if (part === '..') { resolved.pop(); continue; }
    const candidate = join(root, ...resolved, part);
    let isLink = false;
    try { isLink = lstatSync(candidate).isSymbolicLink(); } catch { isLink = false; }
    if (!isLink) { resolved.push(part); continue; }
    if (++links > MAX_SYMLINKS) throw new InvalidParameterError(`too many levels of symbolic links: ${unsafePath}`);
    const target = readlinkSync(candidate);
    const targetParts = target.split('/').filter(Boolean);
    if (target.startsWith('/')) resolved.length = 0;
    remaining = [...targetParts, ...remaining];
  }
  return join(root, ...resolved);
}
