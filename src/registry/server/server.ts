// The OCI distribution v1.1 HTTP server on node:http. Routes parse and validate the request,
// check access, call RegistryStorage and serialise; every failure is a RegistryError turned into
// the spec's JSON error body in sendError(). Bodies are streamed in both directions.

import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { sendFileRange } from '../../util/streams.js';
import { AccessController, type Action, type Identity } from './auth.js';
import type { RegistryConfig } from './config.js';
import { RegistryError } from './errors.js';
import { MediaTypes, missingReferences, parseManifest, type Descriptor } from './manifest.js';
import { Metrics } from './metrics.js';
import { checkDigest, checkName, isValidName, isValidTag, UPLOAD_ID_RE } from './names.js';
import { RegistryStorage, type ManifestLink, type ReferrerDescriptor } from './storage.js';

export interface RegistryServerOptions {
  root: string;
  config: RegistryConfig;
  tls?: { certFile: string; keyFile: string };
  /** Where structured log lines go; default: JSON lines on stderr. */
  log?: (entry: Record<string, unknown>) => void;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  query: URLSearchParams;
  route: string;
  identity: Identity;
  bytesIn: number;
  errorCode?: string;
}

const TOKEN_PATH = '/token';

function stderrLog(entry: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify(entry)}\n`);
}

function rangeHeader(size: number): string {
  return size === 0 ? '0-0' : `0-${size - 1}`;
}

/** Parses an Accept header into media types (parameters and q-values dropped). */
function acceptList(req: IncomingMessage): string[] {
  const raw = req.headers.accept;
  if (!raw) return [];
  return raw.split(',').map((s) => s.split(';')[0]!.trim().toLowerCase()).filter((s) => s !== '');
}

function decodeParam(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RegistryError('UNSUPPORTED', { param: s, reason: 'malformed percent-encoding' }, { status: 400 });
  }
}

async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    total += c.length;
    if (total > limit) throw new RegistryError('SIZE_INVALID', { limit, reason: 'body too large' }, { status: 413 });
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

export class RegistryServer {
  readonly storage: RegistryStorage;
  readonly access: AccessController;
  readonly metrics = new Metrics();
  private server?: Server;
  private readonly log: (entry: Record<string, unknown>) => void;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: RegistryServerOptions) {
    this.storage = new RegistryStorage(opts.root);
    this.access = new AccessController(opts.config, opts.root);
    this.log = opts.log ?? stderrLog;
  }

  get config(): RegistryConfig {
    return this.opts.config;
  }

  async listen(host: string, port: number): Promise<AddressInfo> {
    await this.storage.init();
    await this.access.init();
    const handler = (req: IncomingMessage, res: ServerResponse): void => { void this.handle(req, res); };
    const server = this.opts.tls
      ? createHttpsServer({ cert: readFileSync(this.opts.tls.certFile), key: readFileSync(this.opts.tls.keyFile) }, handler)
      : createHttpServer(handler);
    // Large layers on slow links take long; the defaults would cut a push off after 5 minutes.
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    server.keepAliveTimeout = 65_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeIdleConnections();
      setTimeout(() => s.closeAllConnections(), 2000).unref();
    });
  }

  // ---- request plumbing

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    // The path is matched raw, never normalised: "/v2/a/../b" must be NAME_INVALID, not "/v2/b".
    const ctx: Ctx = {
      req,
      res,
      path: q < 0 ? raw : raw.slice(0, q),
      query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
      route: 'unknown',
      identity: { kind: 'anonymous' },
      bytesIn: 0,
    };
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.on('close', () => {
      const dur = Number(process.hrtime.bigint() - started) / 1e9;
      const bytesOut = req.method === 'HEAD' ? 0 : Number(res.getHeader('content-length') ?? 0);
      const bytesIn = ctx.bytesIn || Number(req.headers['content-length'] ?? 0) || 0;
      this.metrics.observe(req.method ?? '', ctx.route, res.statusCode, dur, bytesIn, bytesOut);
      if (this.config.log.access) {
        const entry: Record<string, unknown> = {
          time: new Date().toISOString(),
          level: 'info',
          msg: 'request',
          method: req.method,
          path: raw,
          route: ctx.route,
          status: res.statusCode,
          duration_ms: Math.round(dur * 1e4) / 10,
          bytes_in: bytesIn,
          bytes_out: bytesOut,
          remote: req.socket.remoteAddress,
          user: ctx.identity.user ?? null,
          user_agent: req.headers['user-agent'] ?? null,
        };
        if (ctx.errorCode) entry.error = ctx.errorCode;
        if (!res.writableFinished) entry.aborted = true;
        this.log(entry);
      }
    });
    try {
      this.rateLimit(req);
      await this.route(ctx);
    } catch (e) {
      this.sendError(ctx, e);
    }
  }

  private rateLimit(req: IncomingMessage): void {
    const { requestsPerSecond: rps, burst } = this.config.limits;
    if (rps <= 0) return;
    const key = req.socket.remoteAddress ?? '';
    const cap = Math.max(burst, rps);
    const now = Date.now();
    if (this.buckets.size > 10_000) this.buckets.clear();
    const b = this.buckets.get(key) ?? { tokens: cap, at: now };
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 1000) * rps);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens < 1) {
      throw new RegistryError('TOOMANYREQUESTS', { limit: rps }, { headers: { 'Retry-After': String(Math.ceil((1 - b.tokens) / rps)) } });
    }
    b.tokens -= 1;
  }

  private sendError(ctx: Ctx, e: unknown): void {
    const { req, res } = ctx;
    let err: RegistryError;
    if (e instanceof RegistryError) err = e;
    else if (['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'ECONNABORTED', 'EPIPE'].includes((e as NodeJS.ErrnoException)?.code ?? '') || (req.destroyed && !req.complete)) {
      // The client went away mid-body; nobody is listening for an answer.
      ctx.errorCode = 'ABORTED';
      if (!res.headersSent) res.statusCode = 499;
      res.destroy();
      return;
    } else {
      this.log({ time: new Date().toISOString(), level: 'error', msg: 'internal error', path: req.url, error: (e as Error)?.stack ?? String(e) });
      err = new RegistryError('UNKNOWN', (e as Error)?.message ?? String(e));
    }
    ctx.errorCode = err.code;
    this.metrics.error(err.code);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = err.body();
    res.statusCode = err.status;
    for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(body));
    // An unread request body cannot be skipped on a kept-alive connection: close it instead.
    if (!req.complete) {
      res.setHeader('Connection', 'close');
      req.resume();
    }
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private challenge(ctx: Ctx, scope?: { repo: string; actions: Action[] }, insufficient = false): Record<string, string> {
    const auth = this.config.auth!;
    if (auth.challenge === 'basic') return { 'WWW-Authenticate': `Basic realm="${auth.service}",charset="UTF-8"` };
    const proto = this.opts.tls ? 'https' : 'http';
    const realm = auth.realm ?? `${proto}://${ctx.req.headers.host ?? '127.0.0.1'}${TOKEN_PATH}`;
    let v = `Bearer realm="${realm}",service="${auth.service}"`;
    if (scope) v += `,scope="repository:${scope.repo}:${scope.actions.join(',')}"`;
    if (insufficient) v += ',error="insufficient_scope"';
    return { 'WWW-Authenticate': v };
  }

  /** Authenticates the caller once per request; wrong credentials are a 401 whatever the route. */
  private async identify(ctx: Ctx): Promise<void> {
    const id = await this.access.authenticate(ctx.req.headers.authorization);
    if (!id) {
      throw new RegistryError('UNAUTHORIZED', 'invalid credentials', { headers: this.access.enabled ? this.challenge(ctx) : {} });
    }
    ctx.identity = id;
  }

  private authorize(ctx: Ctx, repo: string, action: Action): void {
    const d = this.access.decide(ctx.identity, repo, action);
    if (d === 'allow') return;
    const detail = [{ Type: 'repository', Name: repo, Action: action }];
    if (d === 'denied') throw new RegistryError('DENIED', detail);
    const actions: Action[] = action === 'pull' ? ['pull'] : ['pull', action];
    throw new RegistryError('UNAUTHORIZED', detail, { headers: this.challenge(ctx, { repo, actions }, ctx.identity.kind === 'bearer') });
  }

  private async route(ctx: Ctx): Promise<void> {
    const { path, req } = ctx;
    const method = req.method ?? 'GET';
    if (path === TOKEN_PATH) {
      ctx.route = 'token';
      return this.token(ctx);
    }
    if (path === '/metrics') {
      ctx.route = 'metrics';
      if (method !== 'GET') throw new RegistryError('UNSUPPORTED', { method });
      const body = this.metrics.render();
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4', 'Content-Length': Buffer.byteLength(body) });
      ctx.res.end(body);
      return;
    }
    if (path === '/v1/_ping') {
      // dockerd asks this before /v1/search: a standalone registry, no v1 index behind it.
      ctx.route = 'search';
      ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'X-Docker-Registry-Standalone': 'true', 'Content-Length': 19 });
      ctx.res.end('{"standalone":true}');
      return;
    }
    if (path === '/v1/search') {
      ctx.route = 'search';
      if (method !== 'GET') throw new RegistryError('UNSUPPORTED', { method });
      await this.identify(ctx);
      return this.search(ctx);
    }
    if (!path.startsWith('/v2')) {
      throw new RegistryError('UNSUPPORTED', { path }, { status: 404, message: 'not found' });
    }
    await this.identify(ctx);
    if (path === '/v2/' || path === '/v2') {
      ctx.route = 'base';
      if (method !== 'GET' && method !== 'HEAD') throw new RegistryError('UNSUPPORTED', { method });
      if (this.access.enabled && ctx.identity.kind === 'anonymous') {
        throw new RegistryError('UNAUTHORIZED', undefined, { headers: this.challenge(ctx) });
      }
      ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 });
      ctx.res.end(method === 'HEAD' ? undefined : '{}');
      return;
    }
    if (path === '/v2/_catalog') {
      ctx.route = 'catalog';
      if (method !== 'GET') throw new RegistryError('UNSUPPORTED', { method });
      return this.catalog(ctx);
    }
    let m: RegExpMatchArray | null;
    if ((m = path.match(/^\/v2\/(.+)\/tags\/list$/))) {
      ctx.route = 'tags';
      const name = checkName(m[1]!);
      if (method !== 'GET') throw new RegistryError('UNSUPPORTED', { method });
      this.authorize(ctx, name, 'pull');
      return this.tags(ctx, name);
    }
    if ((m = path.match(/^\/v2\/(.+)\/manifests\/([^/]+)$/))) {
      ctx.route = 'manifest';
      const name = checkName(m[1]!);
      const ref = decodeParam(m[2]!);
      switch (method) {
        case 'GET':
        case 'HEAD':
          this.authorize(ctx, name, 'pull');
          return this.getManifest(ctx, name, ref);
        case 'PUT':
          this.authorize(ctx, name, 'push');
          return this.putManifest(ctx, name, ref);
        case 'DELETE':
          this.authorize(ctx, name, 'delete');
          return this.deleteManifest(ctx, name, ref);
        default:
          throw new RegistryError('UNSUPPORTED', { method });
      }
    }
    if ((m = path.match(/^\/v2\/(.+)\/blobs\/uploads\/?$/))) {
      ctx.route = 'upload';
      const name = checkName(m[1]!);
      if (method !== 'POST') throw new RegistryError('UNSUPPORTED', { method });
      this.authorize(ctx, name, 'push');
      return this.startUpload(ctx, name);
    }
    if ((m = path.match(/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/))) {
      ctx.route = 'upload';
      const name = checkName(m[1]!);
      const uuid = m[2]!;
      this.authorize(ctx, name, 'push');
      if (!UPLOAD_ID_RE.test(uuid)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { uuid });
      switch (method) {
        case 'GET': return this.uploadStatus(ctx, name, uuid);
        case 'PATCH': return this.patchUpload(ctx, name, uuid);
        case 'PUT': return this.finishUpload(ctx, name, uuid);
        case 'DELETE': return this.cancelUpload(ctx, name, uuid);
        default: throw new RegistryError('UNSUPPORTED', { method });
      }
    }
    if ((m = path.match(/^\/v2\/(.+)\/blobs\/([^/]+)$/))) {
      ctx.route = 'blob';
      const name = checkName(m[1]!);
      const digest = decodeParam(m[2]!);
      switch (method) {
        case 'GET':
        case 'HEAD':
          this.authorize(ctx, name, 'pull');
          return this.getBlob(ctx, name, digest);
        case 'DELETE':
          this.authorize(ctx, name, 'delete');
          return this.deleteBlob(ctx, name, digest);
        default:
          throw new RegistryError('UNSUPPORTED', { method });
      }
    }
    if ((m = path.match(/^\/v2\/(.+)\/referrers\/([^/]+)$/))) {
      ctx.route = 'referrers';
      const name = checkName(m[1]!);
      if (method !== 'GET') throw new RegistryError('UNSUPPORTED', { method });
      this.authorize(ctx, name, 'pull');
      return this.referrers(ctx, name, decodeParam(m[2]!));
    }
    // Anything else under /v2/ that names a repository has an invalid name or an unknown route.
    const n = path.match(/^\/v2\/(.+)\/(?:manifests|blobs|tags|referrers)(?:\/|$)/);
    if (n && !isValidName(n[1]!)) throw new RegistryError('NAME_INVALID', { name: n[1] });
    throw new RegistryError('UNSUPPORTED', { path }, { status: 404, message: 'route not found' });
  }

  private json(ctx: Ctx, status: number, value: unknown, headers: Record<string, string> = {}): void {
    const body = JSON.stringify(value);
    ctx.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  }

  private empty(ctx: Ctx, status: number, headers: Record<string, string>): void {
    ctx.res.writeHead(status, { 'Content-Length': 0, ...headers });
    ctx.res.end();
  }

  // ---- discovery

  /** `n`/`last` pagination shared by tags and catalog; the Link header carries the next page. */
  private paginate(ctx: Ctx, all: string[], base: string): { items: string[]; headers: Record<string, string> } {
    const nRaw = ctx.query.get('n');
    const last = ctx.query.get('last');
    let items = last !== null ? all.filter((t) => t > last) : all;
    if (nRaw === null) return { items, headers: {} };
    if (!/^\d+$/.test(nRaw)) throw new RegistryError('UNSUPPORTED', { n: nRaw, reason: 'n must be a non-negative integer' }, { status: 400 });
    const n = Number(nRaw);
    if (n === 0) return { items: [], headers: {} };
    const more = items.length > n;
    items = items.slice(0, n);
    const headers: Record<string, string> = {};
    if (more) headers.Link = `<${base}?n=${n}&last=${encodeURIComponent(items[items.length - 1]!)}>; rel="next"`;
    return { items, headers };
  }

  private async catalog(ctx: Ctx): Promise<void> {
    const user = ctx.identity.user;
    const all = (await this.storage.listRepositories()).filter((r) => this.access.allowed(user, r, 'pull'));
    const { items, headers } = this.paginate(ctx, all, '/v2/_catalog');
    this.json(ctx, 200, { repositories: items }, headers);
  }

  /**
   * The v1 search endpoint that `docker search host/term` asks (not part of OCI distribution):
   * repositories whose name contains the term, among those the caller may pull.
   */
  private async search(ctx: Ctx): Promise<void> {
    const q = ctx.query.get('q') ?? '';
    const num = (name: string, dflt: number, max: number): number => {
      const raw = ctx.query.get(name);
      if (raw === null || raw === '') return dflt;
      if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
        throw new RegistryError('UNSUPPORTED', { [name]: raw, reason: `${name} must be an integer from 1 to ${max}` }, { status: 400 });
      }
      return Number(raw);
    };
    const pageSize = num('n', 25, 100);
    const page = num('page', 1, Number.MAX_SAFE_INTEGER);
    const user = ctx.identity.user;
    const found = (await this.storage.listRepositories())
      .filter((r) => r.includes(q.toLowerCase()) && this.access.allowed(user, r, 'pull'));
    this.json(ctx, 200, {
      query: q, num_results: found.length, num_pages: Math.ceil(found.length / pageSize), page, page_size: pageSize,
      results: found.slice((page - 1) * pageSize, page * pageSize)
        .map((name) => ({ name, description: '', star_count: 0, is_official: false, is_automated: false })),
    });
  }

  private async tags(ctx: Ctx, name: string): Promise<void> {
    if (!(await this.storage.repoExists(name))) throw new RegistryError('NAME_UNKNOWN', { name });
    const { items, headers } = this.paginate(ctx, await this.storage.listTags(name), `/v2/${name}/tags/list`);
    this.json(ctx, 200, { name, tags: items }, headers);
  }

  private async referrers(ctx: Ctx, name: string, digest: string): Promise<void> {
    checkDigest(digest);
    let list: ReferrerDescriptor[] = await this.storage.referrers(name, digest);
    const headers: Record<string, string> = { 'Content-Type': MediaTypes.ociIndex };
    const filter = ctx.query.get('artifactType');
    if (filter !== null) {
      list = list.filter((d) => d.artifactType === filter);
      headers['OCI-Filters-Applied'] = 'artifactType';
    }
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: list });
    ctx.res.writeHead(200, { ...headers, 'Content-Length': Buffer.byteLength(body) });
    ctx.res.end(body);
  }

  // ---- manifests

  private async resolveRef(name: string, ref: string): Promise<{ digest: string; link: ManifestLink }> {
    let digest: string;
    if (ref.includes(':')) {
      checkDigest(ref);
      digest = ref;
    } else {
      if (!isValidTag(ref)) throw new RegistryError('MANIFEST_UNKNOWN', { tag: ref, reason: 'invalid tag' });
      const d = await this.storage.resolveTag(name, ref);
      if (d === undefined) {
        if (!(await this.storage.repoExists(name))) throw new RegistryError('NAME_UNKNOWN', { name });
        throw new RegistryError('MANIFEST_UNKNOWN', { tag: ref });
      }
      digest = d;
    }
    const link = await this.storage.getManifestLink(name, digest);
    if (!link) {
      if (!(await this.storage.repoExists(name))) throw new RegistryError('NAME_UNKNOWN', { name });
      throw new RegistryError('MANIFEST_UNKNOWN', { digest });
    }
    return { digest, link };
  }

  private async getManifest(ctx: Ctx, name: string, ref: string): Promise<void> {
    const { digest, link } = await this.resolveRef(name, ref);
    const accept = acceptList(ctx.req);
    if (accept.length > 0 && !accept.includes(link.mediaType) && !accept.includes('*/*') && !accept.includes('application/*')) {
      throw new RegistryError('MANIFEST_UNKNOWN', { digest, mediaType: link.mediaType, reason: 'manifest media type not in Accept header' });
    }
    const headers = {
      'Content-Type': link.mediaType,
      'Content-Length': String(link.size),
      'Docker-Content-Digest': digest,
      ETag: `"${digest}"`,
    };
    if (ctx.req.method === 'HEAD') {
      ctx.res.writeHead(200, headers);
      ctx.res.end();
      return;
    }
    let body: Buffer;
    try {
      body = await this.storage.readBlob(digest);
    } catch {
      throw new RegistryError('MANIFEST_UNKNOWN', { digest, reason: 'manifest content missing' });
    }
    ctx.res.writeHead(200, { ...headers, 'Content-Length': String(body.length) });
    ctx.res.end(body);
  }

  private async putManifest(ctx: Ctx, name: string, ref: string): Promise<void> {
    const limit = this.config.limits.maxManifestBytes;
    const declared = Number(ctx.req.headers['content-length'] ?? NaN);
    if (declared > limit) throw new RegistryError('SIZE_INVALID', { limit, size: declared, reason: 'manifest too large' }, { status: 413 });
    const byDigest = ref.includes(':');
    const tags: string[] = [];
    if (byDigest) {
      checkDigest(ref);
      for (const t of ctx.query.getAll('tag')) {
        if (!isValidTag(t)) throw new RegistryError('MANIFEST_INVALID', { tag: t, reason: 'invalid tag' });
        tags.push(t);
      }
    } else {
      if (!isValidTag(ref)) throw new RegistryError('MANIFEST_INVALID', { tag: ref, reason: 'invalid tag' });
      tags.push(ref);
    }
    const body = await readLimited(ctx.req, limit);
    ctx.bytesIn = body.length;
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (byDigest && digest !== ref) throw new RegistryError('DIGEST_INVALID', { expected: ref, actual: digest });
    const parsed = parseManifest(body, ctx.req.headers['content-type']);

    const missing: Descriptor[] = [];
    for (const d of parsed.blobs) {
      // Touch first: a concurrent gc re-checks mtimes right before deleting, so a blob this
      // manifest is about to reference is either kept or reported missing, never lost after.
      await this.storage.touchBlob(d.digest);
      const st = await this.storage.repoBlobStat(name, d.digest);
      if (!st) missing.push(d);
      else if (st.size !== d.size) throw new RegistryError('MANIFEST_INVALID', { digest: d.digest, reason: `descriptor size ${d.size} but blob has ${st.size} bytes` });
    }
    for (const d of parsed.manifests) {
      if (!(await this.storage.getManifestLink(name, d.digest))) missing.push(d);
    }
    if (missing.length > 0) throw missingReferences(missing);

    const link: ManifestLink = { mediaType: parsed.mediaType, size: body.length };
    if (parsed.artifactType) link.artifactType = parsed.artifactType;
    let referrer: ReferrerDescriptor | undefined;
    if (parsed.subject) {
      link.subject = parsed.subject.digest;
      referrer = { mediaType: parsed.mediaType, digest, size: body.length };
      if (parsed.artifactType) referrer.artifactType = parsed.artifactType;
      if (parsed.annotations) referrer.annotations = parsed.annotations;
    }
    await this.storage.putManifest(name, digest, body, link, tags, referrer);
    const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
    if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
    this.empty(ctx, 201, headers);
  }

  private async deleteManifest(ctx: Ctx, name: string, ref: string): Promise<void> {
    if (!this.config.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled in this registry');
    if (ref.includes(':')) {
      checkDigest(ref);
      if (!(await this.storage.deleteManifest(name, ref))) throw new RegistryError('MANIFEST_UNKNOWN', { digest: ref });
    } else {
      if (!isValidTag(ref) || !(await this.storage.deleteTag(name, ref))) throw new RegistryError('MANIFEST_UNKNOWN', { tag: ref });
    }
    this.empty(ctx, 202, {});
  }

  // ---- blobs

  private async getBlob(ctx: Ctx, name: string, digest: string): Promise<void> {
    checkDigest(digest);
    const st = await this.storage.repoBlobStat(name, digest);
    if (!st) throw new RegistryError('BLOB_UNKNOWN', { digest });
    const size = st.size;
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Docker-Content-Digest': digest,
      'Accept-Ranges': 'bytes',
      ETag: `"${digest}"`,
      'Cache-Control': 'max-age=31536000',
    };
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = ctx.req.headers.range;
    if (range !== undefined) {
      // One byte range; other forms (several ranges, other units) are ignored as RFC 9110 allows.
      const m = range.match(/^bytes=(\d*)-(\d*)$/);
      if (m && (m[1] !== '' || m[2] !== '')) {
        if (m[1] === '') {
          start = Math.max(0, size - Number(m[2]));
        } else {
          start = Number(m[1]);
          if (m[2] !== '') end = Math.min(end, Number(m[2]));
        }
        if (start >= size || start > end || (m[1] === '' && Number(m[2]) === 0)) {
          throw new RegistryError('BLOB_UNKNOWN', { range, size, reason: 'range not satisfiable' }, {
            status: 416, headers: { 'Content-Range': `bytes */${size}` }, message: 'requested range not satisfiable',
          });
        }
        status = 206;
        headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      }
    }
    headers['Content-Length'] = String(size === 0 ? 0 : end - start + 1);
    if (ctx.req.method === 'HEAD' || size === 0) {
      ctx.res.writeHead(status, headers);
      ctx.res.end();
      return;
    }
    ctx.res.writeHead(status, headers);
    try {
      await sendFileRange(this.storage.blobPath(digest), start, end, ctx.res);
      ctx.res.end();
    } catch {
      // The client closed the connection mid-download (or the blob went): nothing to answer.
      ctx.res.destroy();
    }
  }

  private async deleteBlob(ctx: Ctx, name: string, digest: string): Promise<void> {
    if (!this.config.deleteEnabled) throw new RegistryError('UNSUPPORTED', 'deletes are disabled in this registry');
    checkDigest(digest);
    if (!(await this.storage.unlinkBlob(name, digest))) throw new RegistryError('BLOB_UNKNOWN', { digest });
    this.empty(ctx, 202, { 'Docker-Content-Digest': digest });
  }

  // ---- uploads

  private uploadHeaders(name: string, uuid: string, size: number): Record<string, string> {
    return { Location: `/v2/${name}/blobs/uploads/${uuid}`, Range: rangeHeader(size), 'Docker-Upload-UUID': uuid };
  }

  private contentLength(ctx: Ctx): number | undefined {
    const v = ctx.req.headers['content-length'];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new RegistryError('SIZE_INVALID', { contentLength: v });
    return n;
  }

  private hasBody(ctx: Ctx): boolean {
    const len = this.contentLength(ctx);
    return (len !== undefined && len > 0) || ctx.req.headers['transfer-encoding'] !== undefined;
  }

  private async startUpload(ctx: Ctx, name: string): Promise<void> {
    const mount = ctx.query.get('mount');
    const from = ctx.query.get('from');
    if (mount !== null && from !== null && isValidName(from)) {
      checkDigest(mount);
      // The spec lets a registry fall back to a normal upload when it cannot mount, which is
      // also the answer when the caller may not read the source repository.
      if (this.access.decide(ctx.identity, from, 'pull') === 'allow' && (await this.storage.repoBlobStat(from, mount))) {
        await this.storage.linkBlob(name, mount);
        await this.storage.touchBlob(mount);
        this.empty(ctx, 201, { Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount });
        return;
      }
    }
    const digest = ctx.query.get('digest');
    if (digest !== null) checkDigest(digest);
    const upload = await this.storage.createUpload(name);
    if (digest !== null) {
      // Monolithic upload: the whole blob is this request's body.
      try {
        const size = await this.receive(ctx, upload.uuid, 0, this.contentLength(ctx));
        await this.storage.commitUpload(name, upload.uuid, digest, size);
      } catch (e) {
        await this.storage.cancelUpload(upload.uuid);
        throw e;
      }
      this.empty(ctx, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
      return;
    }
    this.empty(ctx, 202, this.uploadHeaders(name, upload.uuid, 0));
  }

  private async receive(ctx: Ctx, uuid: string, start: number, expected: number | undefined): Promise<number> {
    this.metrics.uploadsInProgress++;
    try {
      const size = await this.storage.appendUpload(uuid, start, ctx.req, expected);
      ctx.bytesIn += size - start;
      return size;
    } finally {
      this.metrics.uploadsInProgress--;
    }
  }

  private async session(name: string, uuid: string): Promise<number> {
    const u = await this.storage.getUpload(name, uuid);
    if (!u) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', { uuid });
    return u.size;
  }

  private async uploadStatus(ctx: Ctx, name: string, uuid: string): Promise<void> {
    const size = await this.session(name, uuid);
    this.empty(ctx, 204, this.uploadHeaders(name, uuid, size));
  }

  /** Checks Content-Range against the session's size; returns the chunk length it declares. */
  private checkContentRange(ctx: Ctx, name: string, uuid: string, size: number): number | undefined {
    const cr = ctx.req.headers['content-range'];
    const len = this.contentLength(ctx);
    if (cr === undefined) return len;
    const m = cr.match(/^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/);
    const bad = (reason: string): RegistryError => new RegistryError('BLOB_UPLOAD_INVALID', { contentRange: cr, size, reason }, {
      status: 416, headers: this.uploadHeaders(name, uuid, size), message: 'requested range not satisfiable',
    });
    if (!m) throw bad('malformed Content-Range');
    const start = Number(m[1]);
    const end = Number(m[2]);
    if (start !== size) throw bad(`chunk starts at ${start}, upload has ${size} bytes`);
    if (end < start) throw bad('range end before start');
    const chunk = end - start + 1;
    if (len !== undefined && len !== chunk) {
      throw new RegistryError('SIZE_INVALID', { contentRange: cr, contentLength: len, reason: 'Content-Length does not match Content-Range' });
    }
    return chunk;
  }

  private async patchUpload(ctx: Ctx, name: string, uuid: string): Promise<void> {
    const size = await this.storage.withUploadLock(uuid, async () => {
      const cur = await this.session(name, uuid);
      const expected = this.checkContentRange(ctx, name, uuid, cur);
      return this.receive(ctx, uuid, cur, expected);
    });
    this.empty(ctx, 202, this.uploadHeaders(name, uuid, size));
  }

  private async finishUpload(ctx: Ctx, name: string, uuid: string): Promise<void> {
    const digest = ctx.query.get('digest');
    if (digest === null) throw new RegistryError('DIGEST_INVALID', 'digest query parameter is required to complete an upload');
    checkDigest(digest);
    await this.storage.withUploadLock(uuid, async () => {
      let size = await this.session(name, uuid);
      if (this.hasBody(ctx) || ctx.req.headers['content-range'] !== undefined) {
        const expected = this.checkContentRange(ctx, name, uuid, size);
        size = await this.receive(ctx, uuid, size, expected);
      }
      await this.storage.commitUpload(name, uuid, digest, size);
    });
    this.empty(ctx, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
  }

  private async cancelUpload(ctx: Ctx, name: string, uuid: string): Promise<void> {
    await this.storage.withUploadLock(uuid, async () => {
      await this.session(name, uuid);
      await this.storage.cancelUpload(uuid);
    });
    this.empty(ctx, 204, {});
  }

  // ---- token endpoint

  private async token(ctx: Ctx): Promise<void> {
    const { req } = ctx;
    if (!this.access.enabled) throw new RegistryError('UNSUPPORTED', 'authentication is not configured', { status: 404 });
    let user: string | undefined;
    let scopes: string[];
    const deny = (): RegistryError => new RegistryError('UNAUTHORIZED', 'invalid username or password', {
      headers: { 'WWW-Authenticate': `Basic realm="${this.config.auth!.service}",charset="UTF-8"` },
    });
    if (req.method === 'GET') {
      const id = await this.access.authenticate(req.headers.authorization);
      if (!id || id.kind === 'bearer') throw deny();
      user = id.user;
      scopes = ctx.query.getAll('scope');
    } else if (req.method === 'POST') {
      // OAuth2 password grant, as `docker login` uses with identity tokens disabled.
      const form = new URLSearchParams((await readLimited(req, 64 * 1024)).toString('utf8'));
      const grant = form.get('grant_type');
      if (grant !== 'password') {
        this.json(ctx, 400, { error: 'unsupported_grant_type', error_description: 'only grant_type=password is supported' });
        return;
      }
      const u = form.get('username') ?? '';
      if (!(await this.access.checkPassword(u, form.get('password') ?? ''))) throw deny();
      user = u;
      scopes = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
    } else {
      throw new RegistryError('UNSUPPORTED', { method: req.method });
    }
    const t = this.access.issueToken(user, scopes);
    ctx.identity = user === undefined ? { kind: 'anonymous' } : { kind: 'basic', user };
    this.json(ctx, 200, { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt }, { 'Cache-Control': 'no-store' });
  }
}
