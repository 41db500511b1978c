// `POST /build` as a plain function: query, headers and body in, Docker's JSON message stream
// out. Errors before the first message reject (the route answers them with an HTTP status, as
// dockerd does before it has flushed anything); later ones become an errorDetail message.
import { promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { BerthError, InvalidParameterError, NotFoundError, NotImplementedError, errorMessage } from '../errors.js';
import { Builder, BuildMessage, BuildOptions, ExtraContext, StepFailedError } from './builder.js';
import { extractContext, loadIgnore, pruneIgnored, trimContextBlobCache } from './context.js';
import { resolveInRoot } from './copy.js';
import { contextBlobDir } from './cache-usage.js';

export type { BuildMessage };

export interface BuildHttpDeps {
  builder: Builder;
  /** <data-root>/build; contexts are unpacked under it. */
  stateDir: string;
  /** Bytes of unchanged context files kept for the next build (default 2 GiB; 0 turns it off). */
  contextCacheBytes?: number;
}

const DEFAULT_CONTEXT_CACHE = 2 * 1024 * 1024 * 1024;

type Headers = Record<string, string | string[] | undefined>;

function jsonParam<T>(q: URLSearchParams, name: string, check: (v: unknown) => v is T, fallback: T): T {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  let v: unknown;
  try { v = JSON.parse(raw); } catch { throw new InvalidParameterError(`invalid ${name} value: ${raw}`); }
  if (v === null) return fallback;
  if (!check(v)) throw new InvalidParameterError(`invalid ${name} value: ${raw}`);
  return v;
}

const isStringMap = (v: unknown): v is Record<string, string | null> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string' || x === null);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function bool(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && !['', '0', 'false', 'False'].includes(v);
}

function header(h: Headers, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Turns an error into the stream's last message; a failing RUN keeps its exit code for the CLI. */
export function errorMessageOf(e: unknown): BuildMessage {
  const message = errorMessage(e);
  if (e instanceof StepFailedError) return { errorDetail: { code: e.code, message }, error: message };
  return { errorDetail: { message }, error: message };
}

/**
 * Parses the request the way dockerd's build route does. Berth extensions: `buildcontexts`
 * (JSON {name: "docker-image://ref" | "context:<dir in the context tar>"}), `explaincache`, and
 * secrets in the `X-Berth-Build-Secrets` header (base64 of JSON {id: base64 value}) so that
 * they never appear in a URL or a log line.
 */
export function parseBuildQuery(q: URLSearchParams, h: Headers): Omit<BuildOptions, 'contextDir' | 'dockerfile'> & { dockerfilePath: string; quiet: boolean; contextRefs: Record<string, string> } {
  if (q.get('remote')) throw new NotImplementedError('building from a remote URL context is not supported; send the context as the request body');
  if (q.get('version') === '2') throw new InvalidParameterError('BuildKit (version=2) is not supported by berthd; use the classic builder (DOCKER_BUILDKIT=0)');
  const platform = q.get('platform') || undefined;
  if (platform && !/^linux(\/amd64)?$/.test(platform)) {
    throw new InvalidParameterError(`"${platform}": unsupported platform; berth builds linux/amd64`);
  }
  const buildArgs = jsonParam(q, 'buildargs', isStringMap, {});
  const labels = jsonParam(q, 'labels', isStringMap, {});
  let secrets: Map<string, Buffer> | undefined;
  const sh = header(h, 'x-berth-build-secrets');
  if (sh) {
    let parsed: unknown;
    try { parsed = JSON.parse(Buffer.from(sh, 'base64').toString('utf8')); } catch { throw new InvalidParameterError('invalid X-Berth-Build-Secrets header'); }
    if (!isStringMap(parsed)) throw new InvalidParameterError('invalid X-Berth-Build-Secrets header');
    secrets = new Map(Object.entries(parsed).map(([k, v]) => [k, Buffer.from(v ?? '', 'base64')]));
  }
  return {
    dockerfilePath: q.get('dockerfile') || 'Dockerfile',
    tags: q.getAll('t').filter(Boolean),
    buildArgs: new Map(Object.entries(buildArgs)),
    labels: Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, v ?? ''])),
    target: q.get('target') || undefined,
    noCache: bool(q, 'nocache'),
    pull: bool(q, 'pull'),
    cacheFrom: jsonParam(q, 'cachefrom', isStringList, []),
    platform,
    networkMode: q.get('networkmode') || undefined,
    extraHosts: (q.get('extrahosts') ?? '').split(/[\s,]+/).filter(Boolean),
    explainCache: bool(q, 'explaincache'),
    quiet: bool(q, 'q'),
    secrets,
    contextRefs: Object.fromEntries(Object.entries(jsonParam(q, 'buildcontexts', isStringMap, {})).map(([k, v]) => [k, v ?? ''])),
  };
}

/** A small push-pull queue between the builder's callback and the HTTP writer. */
class Queue<T> {
  private items: T[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;
  push(x: T): void { this.items.push(x); this.wake(); }
  end(): void { this.ended = true; this.wake(); }
  private wake(): void { const w = this.waiting; this.waiting = undefined; w?.(); }
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (this.items.length) { yield this.items.shift() as T; continue; }
      if (this.ended) return;
      await new Promise<void>((r) => { this.waiting = r; });
    }
  }
  get size(): number { return this.items.length; }
}

/**
 * Runs a build for `POST /build`. Resolves once the build has produced its first message (so
 * the route can send 200 and stream) or rejects with a typed error before that.
 */
export async function handleBuild(query: URLSearchParams, headers: Headers, body: Readable, deps: BuildHttpDeps,
  signal?: AbortSignal): Promise<AsyncIterable<BuildMessage>> {
  const p = parseBuildQuery(query, headers);
  const dir = join(deps.stateDir, 'contexts', randomBytes(8).toString('hex'));
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const cleanup = () => fsp.rm(dir, { recursive: true, force: true });
  let dockerfile: string;
  let contexts: Map<string, ExtraContext>;
  let contextHashes: Map<string, string>;
  try {
    const budget = deps.contextCacheBytes ?? DEFAULT_CONTEXT_CACHE;
    if (budget > 0) await fsp.mkdir(contextBlobDir(deps.stateDir), { recursive: true });
    // Same filesystem as the contexts (both under stateDir), so hard links work.
    const ex = await extractContext(body, dir, budget > 0 ? { dir: contextBlobDir(deps.stateDir), maxFileBytes: 16 << 20 } : undefined);
    contextHashes = ex.hashes;
    let dfPath = p.dockerfilePath;
    if (ex.dockerfileOnly) {
      dfPath = 'Dockerfile';
      await fsp.writeFile(join(dir, dfPath), ex.dockerfileOnly);
    }
    const rel = await resolveInRoot(dir, posix.normalize(dfPath.replace(/^\/+/, '')), true, dfPath).catch(() => undefined);
    const text = rel === undefined ? undefined : await fsp.readFile(join(dir, rel), 'utf8').catch(() => undefined);
    if (text === undefined) throw new NotFoundError(`Cannot locate specified Dockerfile: ${dfPath}`);
    if (text.length === 0) throw new InvalidParameterError(`the Dockerfile (${dfPath}) cannot be empty`);
    dockerfile = text;
    // The Dockerfile and .dockerignore are read before the ignore rules may remove them.
    await pruneIgnored(dir, await loadIgnore(dir, dfPath));
    contexts = new Map();
    for (const [name, ref] of Object.entries(p.contextRefs)) {
      if (ref.startsWith('docker-image://')) contexts.set(name, { kind: 'image', ref: ref.slice('docker-image://'.length) });
      else if (ref.startsWith('context:')) {
        const sub = await resolveInRoot(dir, posix.normalize(ref.slice('context:'.length)), true, ref);
        if (sub === undefined) throw new NotFoundError(`build context ${name}: ${ref} not found in the uploaded context`);
        contexts.set(name, { kind: 'dir', path: join(dir, sub) });
      } else throw new InvalidParameterError(`build context ${name}: unsupported source ${JSON.stringify(ref)} (docker-image://ref or context:dir)`);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }

  const q = new Queue<BuildMessage>();
  let first: (() => void) | undefined;
  const started = new Promise<void>((r) => { first = r; });
  let emitted = false;
  const emit = (m: BuildMessage) => {
    if (p.quiet && 'stream' in m) return;
    emitted = true;
    q.push(m);
    first?.();
  };
  const { dockerfilePath: _d, quiet: _q, contextRefs: _c, ...opts } = p;
  void _d; void _q; void _c;
  const run = deps.builder.build({ ...opts, contextDir: dir, contextHashes, dockerfile, contexts, signal }, emit)
    .then((r) => { if (p.quiet) q.push({ stream: `${r.imageId}\n` }); })
    .finally(async () => {
      await cleanup();
      const budget = deps.contextCacheBytes ?? DEFAULT_CONTEXT_CACHE;
      if (budget > 0) await trimContextBlobCache(contextBlobDir(deps.stateDir), budget).catch(() => undefined);
    });
  const outcome = run.then(() => undefined, (e: unknown) => e);
  const early = await Promise.race([started.then(() => 'started' as const), outcome.then((e) => ({ e }))]);
  if (early !== 'started' && early.e !== undefined && !emitted) {
    const e = early.e;
    throw e instanceof BerthError ? e : new InvalidParameterError(errorMessage(e));
  }
  void outcome.then((e) => {
    if (e !== undefined) q.push(errorMessageOf(e));
    q.end();
  });
  return q;
}

/** What the route needs from the daemon's HTTP layer (a subset of its Context). */
export interface BuildRouteContext {
  req: import('node:http').IncomingMessage;
  res?: import('node:http').ServerResponse;
  query: URLSearchParams;
}

/**
 * The whole `POST /build` route: `r.post('/build', buildRoute(deps))`. Errors before any output
 * are thrown for the daemon's error mapper (HTTP status + {"message"}); later ones are streamed.
 * A client that disconnects cancels the build (its running step is killed).
 */
export function buildRoute(deps: BuildHttpDeps): (ctx: BuildRouteContext) => Promise<void> {
  return async (ctx) => {
    const res = ctx.res;
    if (!res) throw new InvalidParameterError('POST /build needs a plain HTTP request');
    const abort = new AbortController();
    res.on('close', () => { if (!res.writableFinished) abort.abort(new Error('build canceled: client disconnected')); });
    const stream = await handleBuild(ctx.query, ctx.req.headers, ctx.req, deps, abort.signal);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    for await (const m of stream) {
      if (res.writableEnded || res.destroyed) continue;
      res.write(`${JSON.stringify(m)}\r\n`);
    }
    if (!res.writableEnded) res.end();
  };
}

/**
 * At daemon start: removes what a crash mid-build left in <data-root>/build (unpacked contexts,
 * temp files, read-only image views still mounted). Cache mounts and context blobs are kept.
 */
export async function cleanBuildState(stateDir: string): Promise<void> {
  const mnt = join(stateDir, 'mnt');
  const mounted = (await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => ''))
    .split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => !!m && m.startsWith(`${mnt}/`));
  const { execFile } = await import('node:child_process');
  for (const m of mounted) await new Promise<void>((r) => execFile('umount', ['-l', m], () => r()));
  for (const d of ['contexts', 'tmp', 'mnt']) await fsp.rm(join(stateDir, d), { recursive: true, force: true });
}
