// The OCI runtime binary as berthd runs it: through a read-only view that no mount table shows.
//
// crun and runc protect themselves against CVE-2019-5736 (a container overwriting the host's
// runtime through /proc/<pid>/exe) by copying or re-mounting their own binary and re-executing
// it on every call: ~3 ms of each `crun exec`, and of each create and start. They skip that when
// the binary they run from is on a read-only mount and _LIBCONTAINER_CLONED_BINARY is set.
// berthd makes that mount once: it bind-mounts the binary read-only, keeps a descriptor of it,
// and detaches the mount at once. The detached mount lives as long as the descriptor (and any
// runtime still running from it), so it goes away with berthd however berthd ends, and nothing
// is ever left in the mount table. Writing through it fails with EROFS, which is the protection
// the copy gave.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RuntimeBinary {
  /** What to execute. */
  execPath: string;
  /** The environment to run it with. */
  env: NodeJS.ProcessEnv;
}

const CLONED_BINARY_ENV = '_LIBCONTAINER_CLONED_BINARY';

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
}

/**
 * A read-only, already-"cloned" view of the runtime at `path`, or the binary itself (with the
 * reason) when one cannot be made here (no mount privilege, odd /proc).
 */
export function sealedRuntimeBinary(path: string, scratchDir: string): { binary: RuntimeBinary; fallback?: string } {
  const plain = { execPath: path, env: process.env };
  // A berthd killed between its mount and its detach left one behind: take it away.
  for (const name of readdirSync(scratchDir)) {
    if (!name.startsWith('.runtime-ro-') || name.startsWith(`.runtime-ro-${process.pid}-`)) continue;
    spawnSync('umount', ['-l', join(scratchDir, name)], { stdio: 'ignore' });
    rmSync(join(scratchDir, name), { force: true });
  }
  const target = join(scratchDir, `.runtime-ro-${process.pid}-${path.replace(/\W+/g, '_')}`);
  let fd: number | undefined;
  let mounted = false;
  try {
    writeFileSync(target, '');
    run('mount', ['--bind', path, target]);
    mounted = true;
    run('mount', ['-o', 'remount,bind,ro', target]);
    fd = openSync(target, 'r');
    run('umount', ['-l', target]);
    mounted = false;
    const viaFd = `/proc/${process.pid}/fd/${fd}`;
    // The whole point is that this cannot be written: check it rather than trust the mount.
    let writable = true;
    try { closeSync(openSync(viaFd, 'r+')); } catch (e) { writable = (e as NodeJS.ErrnoException).code !== 'EROFS'; }
    if (writable) throw new Error('the read-only view of the runtime is writable');
    return { binary: { execPath: viaFd, env: { ...process.env, [CLONED_BINARY_ENV]: '1' } } };
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    return { binary: plain, fallback: (e as Error).message };
  } finally {
    if (mounted) spawnSync('umount', ['-l', target]);
    rmSync(target, { force: true });
  }
}
