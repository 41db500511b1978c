// The embedded default image: busybox:latest built offline from Debian's busybox-static, as a
// real one-layer image, so `berth run busybox ...` works on a machine with no registry.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { ImageStore, ImageRecord } from './store.js';
import type { ImageConfig } from './types.js';
import { NotFoundError } from '../errors.js';

export const BUSYBOX_PATHS = ['/bin/busybox', '/usr/bin/busybox'];

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;
const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
users:x:100:
nogroup:x:65533:
nobody:x:65534:
`;

function findBusybox(): string {
  for (const p of BUSYBOX_PATHS) if (existsSync(p)) return p;
  throw new NotFoundError('busybox-static is not installed (apt-get install busybox-static): cannot create the default image');
}

/** A deterministic tar of the busybox rootfs: same binary, same bytes, same diff ID. */
export function busyboxRootfsTar(binary = findBusybox()): { stream: Readable; mtime: Date } {
  const bin = readFileSync(binary);
  const mtime = statSync(binary).mtime;
  const applets = execFileSync(binary, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const pack = tar.pack();
  const dirs = ['bin', 'dev', 'etc', 'home', 'proc', 'root', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/sbin', 'sbin', 'var', 'var/spool', 'var/spool/mail', 'var/www'];
  for (const d of dirs) pack.entry({ name: `${d}/`, type: 'directory', mode: d === 'tmp' ? 0o1777 : d === 'root' ? 0o700 : 0o755, mtime, uid: 0, gid: 0 });
  pack.entry({ name: 'bin/busybox', type: 'file', mode: 0o755, mtime, uid: 0, gid: 0, size: bin.length }, bin);
  pack.entry({ name: 'etc/passwd', mode: 0o644, mtime }, PASSWD);
  pack.entry({ name: 'etc/group', mode: 0o644, mtime }, GROUP);
  pack.entry({ name: 'etc/shadow', mode: 0o600, mtime }, 'root:*:10933:0:99999:7:::\nnobody:*:10933:0:99999:7:::\n');
  const seen = new Set(['bin/busybox']);
  for (const a of applets.sort()) {
    const name = a.replace(/^\/+/, '');
    if (seen.has(name) || name.split('/').length < 2) continue;
    const dir = name.slice(0, name.lastIndexOf('/'));
    if (!dirs.includes(dir)) continue;
    seen.add(name);
    pack.entry({ name, type: 'symlink', linkname: '/bin/busybox', mode: 0o777, mtime, uid: 0, gid: 0 });
  }
  pack.finalize();
  return { stream: Readable.from(pack, { objectMode: false }), mtime };
}

function version(binary: string): string {
  try {
    const first = execFileSync(binary, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0];
    return /v[\d.]+/.exec(first)?.[0] ?? 'unknown';
  } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? '');
    return /v[\d.]+/.exec(out)?.[0] ?? 'unknown';
  }
}

/** Creates busybox:latest if no image has that name yet. Returns the image, or undefined if it already existed. */
export async function ensureDefaultImage(images: ImageStore): Promise<ImageRecord | undefined> {
  if (images.tryResolve('busybox:latest')) return undefined;
  const binary = findBusybox();
  const { stream, mtime } = busyboxRootfsTar(binary);
  const layer = await images.layers.createFromTar(null, stream);
  const created = mtime.toISOString();
  const config: ImageConfig = {
    created,
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [
      { created, created_by: `/bin/sh -c #(nop) ADD file:busybox-static ${version(binary)} in / ` },
      { created, created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
    ],
  };
  const image = await images.create(JSON.stringify(config));
  images.tag(image.id, 'busybox:latest');
  return image;
}
