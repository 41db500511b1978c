// `berth build`: docker's classic `build` — the context tarred here (.dockerignore applied, the
// Dockerfile always sent), POST /build, and the daemon's JSON message stream printed as it comes.
import { createReadStream, promises as fsp, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PassThrough, Readable } from 'node:stream';

import type { Command } from 'commander';
import tar from 'tar-stream';

import { peekBytes } from '../util/streams.js';
import type { Cli } from './context.js';
import { confirm, FlagValueError, StatusError } from './context.js';
import { collect, defineCommand } from './command.js';
import type { Outcome } from './command.js';
import { displayJSONMessages } from './cmd-run.js';
import { humanSize, ramInBytes } from './units.js';
import { encodeFilters } from '../client/client.js';
import { parseFilters } from './cmd-container.js';
import type { ParsedOptions } from './run-opts.js';

interface BuildFlags {
  tag?: string[];
  file?: string;
  buildArg?: string[];
  label?: string[];
  target?: string;
  cache?: boolean;
  pull?: boolean;
  quiet?: boolean;
  network?: string;
  addHost?: string[];
  platform?: string;
  cacheFrom?: string[];
  rm?: boolean;
  forceRm?: boolean;
  iidfile?: string;
}

/** KEY=VALUE pairs; a bare KEY takes its value from the environment, or is dropped (as docker does). */
function buildArgs(list: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i >= 0) out[kv.slice(0, i)] = kv.slice(i + 1);
    else if (env[kv] !== undefined) out[kv] = env[kv]!;
  }
  return out;
}

function labels(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    out[i >= 0 ? kv.slice(0, i) : kv] = i >= 0 ? kv.slice(i + 1) : '';
  }
  return out;
}

/**
 * The context directory as a tar: paths relative to it, owned by root, symlinks as links.
 * Entries .dockerignore excludes are left out, except the Dockerfile and .dockerignore themselves,
 * which the daemon reads. `extra` adds files that are not in the directory (a Dockerfile from
 * elsewhere or stdin).
 */
async function contextTar(dir: string, dockerfile: string, extra: Map<string, Buffer>): Promise<Readable> {
  const { loadIgnore } = await import('../build/context.js');
  const matcher = await loadIgnore(dir, dockerfile);
  const keep = new Set([dockerfile, '.dockerignore', `${dockerfile}.dockerignore`]);
  const pack = tar.pack();
  const walk = async (rel: string): Promise<void> => {
    const entries = await fsp.readdir(join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const ignored = matcher.ignores(path) && !keep.has(path);
      const full = join(dir, path);
      const st = await fsp.lstat(full);
      const header = { name: path, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 };
      if (st.isDirectory()) {
        if (!ignored) await entry(pack, { ...header, type: 'directory' });
        // Descend anyway: a `!pattern` may bring back something below an excluded directory.
        if (!ignored || matcher.patterns.some((p) => p.startsWith('!'))) await walk(path);
      } else if (ignored) {
        continue;
      } else if (st.isSymbolicLink()) {
        await entry(pack, { ...header, type: 'symlink', linkname: await fsp.readlink(full) });
      } else if (st.isFile()) {
        await entry(pack, { ...header, type: 'file', size: st.size }, createReadStream(full));
      }
      // Sockets, fifos and devices have no place in a build context.
    }
  };
  void (async () => {
    try {
      await walk('');
      for (const [name, data] of extra) await entry(pack, { name, mode: 0o600, uid: 0, gid: 0, type: 'file', size: data.length }, Readable.from([data]));
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return pack as unknown as Readable;
}

function entry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, body?: Readable): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolvePromise()));
    if (body) {
      body.on('error', reject);
      body.pipe(sink as unknown as NodeJS.WritableStream);
    } else {
      sink.end(undefined);
    }
  });
}

/** Counts what goes through, for "Sending build context to Docker daemon  2.048kB". */
function counted(src: Readable): { stream: PassThrough; bytes: () => number } {
  let n = 0;
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  src.on('data', (b: Buffer) => { n += b.length; });
  src.on('error', (e) => out.destroy(e));
  src.pipe(out);
  return { stream: out, bytes: () => n };
}

async function build(cli: Cli, arg: string, f: BuildFlags): Promise<number> {
  const query: Record<string, string | string[] | boolean | undefined> = {
    t: f.tag?.length ? f.tag : undefined,
    buildargs: JSON.stringify(buildArgs(f.buildArg ?? [], cli.io.env)),
    labels: JSON.stringify(labels(f.label ?? [])),
    target: f.target,
    nocache: f.cache === false,
    pull: f.pull === true,
    q: f.quiet === true,
    networkmode: f.network,
    extrahosts: f.addHost?.length ? f.addHost.join(',') : undefined,
    platform: f.platform,
    cachefrom: f.cacheFrom?.length ? JSON.stringify(f.cacheFrom) : undefined,
    rm: f.rm !== false,
    forcerm: f.forceRm === true,
  };
  let body: Readable;
  if (arg === '-') {
    if (f.file && f.file !== '-') throw new StatusError(1, 'ambiguous Dockerfile source: both stdin and flag correspond to Dockerfiles');
    // stdin is either a tar of the context or a lone Dockerfile (then there is no context).
    const { head, stream } = await peekBytes(cli.io.stdin as unknown as Readable, 512);
    if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') {
      body = stream;
      query.dockerfile = f.file;
    } else {
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const pack = tar.pack();
      const data = Buffer.concat(chunks);
      pack.entry({ name: 'Dockerfile', mode: 0o600, uid: 0, gid: 0, size: data.length }, data);
      pack.finalize();
      body = pack as unknown as Readable;
    }
  } else {
    const dir = resolve(arg);
    const st = await fsp.stat(dir).catch(() => undefined);
    if (!st) throw new StatusError(1, `unable to prepare context: path "${arg}" not found`);
    if (!st.isDirectory()) throw new StatusError(1, `unable to prepare context: context must be a directory: ${dir}`);
    const extra = new Map<string, Buffer>();
    let dockerfile = 'Dockerfile';
    if (f.file === '-') {
      // The Dockerfile from stdin, the context from the directory.
      const chunks: Buffer[] = [];
      for await (const c of cli.io.stdin) chunks.push(c as Buffer);
      dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
      extra.set(dockerfile, Buffer.concat(chunks));
    } else if (f.file) {
      const file = isAbsolute(f.file) ? f.file : resolve(f.file);
      const rel = relative(dir, file);
      if (rel.startsWith('..') || isAbsolute(rel)) {
        // A Dockerfile outside the context goes in under a name of its own, as docker does it.
        const data = await fsp.readFile(file).catch(() => { throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${file}: no such file or directory`); });
        dockerfile = `.dockerfile.${randomBytes(10).toString('hex')}`;
        extra.set(dockerfile, data);
      } else {
        dockerfile = rel.split(sep).join('/');
      }
    }
    if (!extra.has(dockerfile)) {
      const found = await fsp.stat(join(dir, dockerfile)).catch(() => undefined);
      if (!found) throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${join(dir, dockerfile)}: no such file or directory`);
    }
    query.dockerfile = dockerfile;
    body = await contextTar(dir, dockerfile, extra);
  }
  const sent = counted(body);
  const res = await cli.client.stream('POST', '/build', { query, body: sent.stream, headers: { 'Content-Type': 'application/x-tar' } });
  const progress = (s: string): void => { if (!f.quiet) cli.out(s); };
  progress(`Sending build context to Docker daemon  ${humanSize(sent.bytes())}\n`);
  let imageId: string | undefined;
  await displayJSONMessages(res, progress, (aux) => {
    const id = (aux as { ID?: unknown } | null)?.ID;
    if (typeof id === 'string') imageId = id;
  });
  if (f.quiet && imageId) cli.out(`${imageId}\n`);
  if (f.iidfile && imageId) writeFileSync(f.iidfile, imageId);
  return 0;
}

export function registerBuild(parent: Command, parentPath: string, cli: Cli, outcome: Outcome): void {
  defineCommand(parent, parentPath, { name: 'build', usage: '[OPTIONS] PATH | URL | -', description: 'Build an image from a Dockerfile', minArgs: 1, maxArgs: 1 }, cli, outcome, (c, a, o) =>
    build(c, a[0]!, o as BuildFlags),
  )
    .option('--add-host <list>', 'Add a custom host-to-IP mapping ("host:ip")', collect)
    .option('--build-arg <list>', 'Set build-time variables', collect)
    .option('--cache-from <strings>', 'Images to consider as cache sources', collect)
    .option('-f, --file <string>', 'Name of the Dockerfile (Default is "PATH/Dockerfile")')
    .option('--force-rm', 'Always remove intermediate containers')
    .option('--iidfile <string>', 'Write the image ID to the file')
    .option('--label <list>', 'Set metadata for an image', collect)
    .option('--network <string>', 'Set the networking mode for the RUN instructions during build (default "default")')
    .option('--no-cache', 'Do not use cache when building the image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--pull', 'Always attempt to pull a newer version of the image')
    .option('-q, --quiet', 'Suppress the build output and print image ID on success')
    .option('--rm', 'Remove intermediate containers after a successful build (default true)')
    .option('--no-rm', 'Keep intermediate containers after a build')
    .option('-t, --tag <list>', 'Name and optionally a tag in the "name:tag" format', collect)
    .option('--target <string>', 'Set the target build stage to build.');
}

/** `builder prune`, docker's own (without buildx): POST /build/prune. */
async function pruneBuildCache(cli: Cli, opts: ParsedOptions): Promise<number> {
  const all = opts.all === true;
  const filters = parseFilters(opts.filter as string[] | undefined, '--filter');
  let keep: number | undefined;
  if (typeof opts.keepStorage === 'string') {
    try {
      keep = ramInBytes(opts.keepStorage);
    } catch (e) {
      throw new FlagValueError(opts.keepStorage, '--keep-storage', (e as Error).message);
    }
  }
  const warning = all ? 'WARNING! This will remove all build cache.' : 'WARNING! This will remove all dangling build cache.';
  if (opts.force !== true && !(await confirm(cli, `${warning} Are you sure you want to continue?`))) return 0;
  const report = await cli.client.json<{ CachesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/build/prune', {
    // keep-storage for daemons before API 1.48, reserved-space after
    query: { all: all || undefined, filters: encodeFilters(filters), 'keep-storage': keep, 'reserved-space': keep },
  });
  const deleted = report?.CachesDeleted ?? [];
  if (deleted.length) cli.out(`Deleted build cache objects:\n${deleted.map((id) => `${id}\n`).join('')}\n`);
  cli.out(`Total reclaimed space: ${humanSize(report?.SpaceReclaimed ?? 0)}\n`);
  return 0;
}

export function registerBuilderCommands(builder: Command, cli: Cli, outcome: Outcome): void {
  registerBuild(builder, 'builder', cli, outcome);
  defineCommand(builder, 'builder', { name: 'prune', usage: '', description: 'Remove build cache', maxArgs: 0 }, cli, outcome, (c, _a, o) => pruneBuildCache(c, o))
    .option('-a, --all', 'Remove all unused build cache, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=24h")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--keep-storage <bytes>', 'Amount of disk space to keep for cache');
}
