// berth cp: tar streams through GET/PUT/HEAD /containers/{id}/archive, with docker's path rules
// (into an existing directory, or renamed to a new name; "src/." copies contents). Local tar work
// is done by GNU tar, whose extraction refuses ".." members and absolute names by default.
import { spawn } from 'node:child_process';
import { lstatSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { Command } from 'commander';

import { isDaemonError } from '../client/errors.js';
import type { Cli } from './context.js';
import { StatusError } from './context.js';
import { defineCommand } from './command.js';
import type { Outcome } from './command.js';
import type { ParsedOptions } from './run-opts.js';
import { humanSize } from './units.js';

interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** splitCpArg: "container:path" unless the argument is an absolute or explicitly relative local path. */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/') || arg.startsWith('./') || arg.startsWith('../') || arg === '.' || arg === '-') return { path: arg };
  const i = arg.indexOf(':');
  if (i <= 0) return { path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

/** Go's os.ModeDir bit in the stat header's mode. */
const MODE_DIR = 2 ** 31;

function decodeStat(h: string | string[] | undefined): PathStat | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v) return undefined;
  return JSON.parse(Buffer.from(v, 'base64').toString()) as PathStat;
}

function isDirMode(mode: number): boolean {
  return mode >= MODE_DIR && Math.floor(mode / MODE_DIR) % 2 === 1;
}

function escapeRe(s: string): string {
  return s.replace(/[\\^$.*[\]|,/&]/g, '\\$&');
}

/** A --transform that renames the archive's top entry, not symlink targets. */
function renameTransform(from: string, to: string): string[] {
  const repl = to.replace(/[\\/&]/g, '\\$&');
  return [`--transform=s/^${escapeRe(from)}\\(\\/\\|$\\)/${repl}\\1/S`];
}

function counter(total: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total.n += chunk.length;
      cb(null, chunk);
    },
  });
}

async function tarProcess(args: string[], mode: 'extract' | 'create'): Promise<ReturnType<typeof spawn>> {
  const p = spawn('tar', args, { stdio: mode === 'extract' ? ['pipe', 'ignore', 'pipe'] : ['ignore', 'pipe', 'pipe'] });
  return p;
}

function waitTar(p: ReturnType<typeof spawn>): Promise<void> {
  let err = '';
  p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolvePromise, reject) => {
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolvePromise() : reject(new StatusError(1, err.trim() || `tar exited with ${code}`))));
  });
}

async function fromContainer(cli: Cli, container: string, src: string, dst: string, opts: ParsedOptions): Promise<number> {
  const res = await cli.client.stream('GET', `/containers/${encodeURIComponent(container)}/archive`, { query: { path: src } });
  if (dst === '-') {
    await pipeline(res, cli.io.stdout, { end: false });
    return 0;
  }
  const stat = decodeStat(res.headers['x-docker-container-path-stat']);
  const srcIsDir = stat ? isDirMode(stat.mode) : false;
  const srcBase = stat?.name ?? basename(src);
  const contentsOnly = srcIsDir && /\/\.$/.test(src);
  let dstStat: ReturnType<typeof statSync> | undefined;
  try {
    dstStat = statSync(dst);
  } catch {
    if (dst.endsWith('/')) throw new StatusError(1, `destination directory ${dst} must exist`);
    try {
      statSync(dirname(resolve(dst)));
    } catch {
      throw new StatusError(1, `lstat ${dirname(resolve(dst))}: no such file or directory`);
    }
  }
  const own = opts.archive === true ? [] : ['--no-same-owner'];
  let args: string[];
  if (dstStat?.isDirectory()) {
    args = contentsOnly ? ['-x', '-C', dst, ...own, ...renameTransform(srcBase, '.')] : ['-x', '-C', dst, ...own];
  } else {
    if (srcIsDir && dstStat) throw new StatusError(1, `cannot copy directory to existing file ${dst}`);
    args = ['-x', '-C', dirname(resolve(dst)), ...own, ...renameTransform(srcBase, basename(dst))];
  }
  const tar = await tarProcess(args, 'extract');
  const total = { n: 0 };
  const done = waitTar(tar);
  await pipeline(res, counter(total), tar.stdin!);
  await done;
  if (opts.quiet !== true) cli.err(`Successfully copied ${humanSize(total.n, 3)} to ${dst}\n`);
  return 0;
}

async function toContainer(cli: Cli, src: string, container: string, dst: string, opts: ParsedOptions): Promise<number> {
  const archivePath = `/containers/${encodeURIComponent(container)}/archive`;
  let dstStat: PathStat | undefined;
  try {
    const head = await cli.client.request('HEAD', archivePath, { query: { path: dst } });
    dstStat = decodeStat(head.headers['x-docker-container-path-stat']);
  } catch (e) {
    if (!(isDaemonError(e) && e.statusCode === 404)) throw e;
  }
  const query = (path: string) => ({ path, noOverwriteDirNonDir: true, copyUIDGID: opts.archive === true || undefined });
  if (src === '-') {
    if (dstStat && !isDirMode(dstStat.mode)) throw new StatusError(1, `destination "${container}:${dst}" must be a directory`);
    await cli.client.request('PUT', archivePath, { query: query(dst), body: cli.io.stdin, headers: { 'Content-Type': 'application/x-tar' } });
    return 0;
  }
  let st;
  try {
    st = lstatSync(src);
  } catch {
    throw new StatusError(1, `lstat ${resolve(src)}: no such file or directory`);
  }
  const srcIsDir = st.isDirectory();
  const contentsOnly = srcIsDir && /\/\.$/.test(src);
  const srcDir = contentsOnly ? src.replace(/\/\.$/, '') : dirname(resolve(src));
  const srcBase = contentsOnly ? '.' : basename(resolve(src));
  let target: string;
  let transform: string[] = [];
  if (dstStat && isDirMode(dstStat.mode)) {
    target = dst;
  } else if (dstStat) {
    if (srcIsDir) throw new StatusError(1, `cannot copy directory to existing file ${container}:${dst}`);
    target = dirname(dst) || '/';
    transform = renameTransform(srcBase, basename(dst));
  } else {
    if (dst.endsWith('/')) throw new StatusError(1, `destination directory ${container}:${dst} must exist`);
    target = dirname(dst) || '/';
    transform = contentsOnly ? renameTransform('.', basename(dst)) : renameTransform(srcBase, basename(dst));
  }
  const tar = await tarProcess(['-c', '-C', srcDir, ...transform, srcBase], 'create');
  const done = waitTar(tar);
  const total = { n: 0 };
  await cli.client.request('PUT', archivePath, {
    query: query(target),
    body: tar.stdout!.pipe(counter(total)),
    headers: { 'Content-Type': 'application/x-tar' },
  });
  await done;
  if (opts.quiet !== true) cli.err(`Successfully copied ${humanSize(total.n, 3)} to ${container}:${dst}\n`);
  return 0;
}

export function registerCp(parent: Command, parentPath: string, cli: Cli, outcome: Outcome): void {
  defineCommand(
    parent,
    parentPath,
    {
      name: 'cp',
      usage: '[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH',
      description: 'Copy files/folders between a container and the local filesystem',
      minArgs: 2,
      maxArgs: 2,
    },
    cli,
    outcome,
    async (c, a, o) => {
      const [from, to] = [splitCpArg(a[0]!), splitCpArg(a[1]!)];
      if (from.path === '') throw new StatusError(1, 'source can not be empty');
      if (to.path === '') throw new StatusError(1, 'destination can not be empty');
      if (from.container && to.container) throw new StatusError(1, 'copying between containers is not supported');
      if (!from.container && !to.container) throw new StatusError(1, 'must specify at least one container source');
      if (from.container) return fromContainer(c, from.container, from.path, to.path, o);
      return toContainer(c, from.path, to.container!, to.path, o);
    },
  )
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .option('-q, --quiet', 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached');
}
