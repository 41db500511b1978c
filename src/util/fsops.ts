// File operations Node.js has no API for (mknod, xattrs), done in one python3 process per batch
// so that a layer with many whiteouts costs one spawn, not one per file.
import { spawn } from 'node:child_process';
import { SystemError } from '../errors.js';

export interface SpecialFile {
  path: string;
  kind: 'char' | 'block' | 'fifo' | 'whiteout';
  major?: number;
  minor?: number;
  mode?: number;
}

const SCRIPT = `
import json, os, stat, sys
req = json.load(sys.stdin)
out = {}
for f in req.get('mknod', []):
    k = f['kind']
    mode = f.get('mode', 0o600) & 0o7777
    if k == 'whiteout':
        os.mknod(f['path'], stat.S_IFCHR | 0, os.makedev(0, 0))
    elif k == 'char':
        os.mknod(f['path'], stat.S_IFCHR | mode, os.makedev(f.get('major', 0), f.get('minor', 0)))
    elif k == 'block':
        os.mknod(f['path'], stat.S_IFBLK | mode, os.makedev(f.get('major', 0), f.get('minor', 0)))
    elif k == 'fifo':
        os.mkfifo(f['path'], mode)
for d in req.get('setOpaque', []):
    os.setxattr(d, 'trusted.overlay.opaque', b'y', follow_symlinks=False)
res = []
for d in req.get('getOpaque', []):
    try:
        res.append(os.getxattr(d, 'trusted.overlay.opaque', follow_symlinks=False) == b'y')
    except OSError:
        res.append(False)
out['opaque'] = res
json.dump(out, sys.stdout)
`;

interface FsOpsRequest {
  mknod?: SpecialFile[];
  setOpaque?: string[];
  getOpaque?: string[];
}

async function runFsOps(req: FsOpsRequest): Promise<{ opaque: boolean[] }> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', (e) => reject(new SystemError(`python3 is needed for special files: ${e.message}`)));
    p.on('close', (code) => {
      if (code !== 0) return reject(new SystemError(`creating special files failed: ${err.trim().split('\n').pop() ?? code}`));
      try { resolve(JSON.parse(out) as { opaque: boolean[] }); } catch (e) { reject(e); }
    });
    p.stdin.end(JSON.stringify(req));
  });
}

export async function makeSpecialFiles(files: SpecialFile[], opaqueDirs: string[] = []): Promise<void> {
  if (files.length === 0 && opaqueDirs.length === 0) return;
  await runFsOps({ mknod: files, setOpaque: opaqueDirs });
}

/** Which of `dirs` carry overlayfs's opaque marker. */
export async function opaqueDirs(dirs: string[]): Promise<boolean[]> {
  if (dirs.length === 0) return [];
  return (await runFsOps({ getOpaque: dirs })).opaque;
}
