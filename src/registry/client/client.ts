// A client for one registry host speaking the OCI distribution API (registry v2): ping, Basic
// and Bearer auth with per-scope token caching, manifests, blobs (with Range), uploads with
// cross-repository mount, tags.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  BerthError, ErrorKind, InvalidParameterError, NotFoundError, UnauthorizedError, UnavailableError,
} from '../../errors.js';
import { HttpResponse, request, readBody, drain, header, ConnectError, RequestOptions } from './http.js';
import { Challenge, Credentials, basicHeader, hasCredentials, parseChallenges } from './auth.js';
import { MediaType } from '../../image/types.js';

export const MANIFEST_ACCEPT = [
  MediaType.OciIndex, MediaType.DockerManifestList, MediaType.OciManifest, MediaType.DockerManifest,
].join(', ');

/** An error answer of a registry, worded like Docker's errcode ("manifest unknown: ..."). */
export class RegistryError extends BerthError {
  constructor(kind: ErrorKind, message: string, readonly status: number, readonly code?: string) {
    super(kind, message);
  }
}

function kindOf(status: number): ErrorKind {
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status === 400 || status === 405 || status === 413 || status === 416) return 'InvalidParameter';
  if (status === 409) return 'Conflict';
  return 'Unavailable';
}

interface RegistryErrorBody { errors?: { code?: string; message?: string; detail?: unknown }[] }

export async function registryError(res: HttpResponse, what: string): Promise<RegistryError> {
  let text = '';
  try { text = (await readBody(res, 1 << 20)).toString('utf8'); } catch { /* the status is enough */ }
  let msgs: string[] = [];
  let code: string | undefined;
  try {
    const b = JSON.parse(text) as RegistryErrorBody;
    if (Array.isArray(b.errors)) {
      msgs = b.errors.map((e) => {
        const c = (e.code ?? 'unknown').toLowerCase().replace(/_/g, ' ');
        return e.message ? `${c}: ${e.message}` : c;
      });
      code = b.errors[0]?.code;
    }
  } catch { /* not JSON */ }
  if (msgs.length === 0) {
    const plain = text.trim().slice(0, 200);
    msgs = [res.status === 401 ? 'unauthorized: authentication required' : `unexpected status ${res.status}${plain ? `: ${plain}` : ''}`];
  }
  return new RegistryError(kindOf(res.status), `${what}: ${msgs.join(', ')}`, res.status, code);
}

export interface ClientOptions {
  /** Plain HTTP allowed (tried after HTTPS) and TLS not verified: loopback or --insecure-registry. */
  insecure?: boolean;
  credentials?: Credentials;
  connectTimeoutMs?: number;
}

/** Docker Hub's API lives on another host than its name. */
export function registryHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h.endsWith('.localhost');
}

/** Docker's rule: loopback, plus hosts (or CIDRs of IPv4 hosts) listed as insecure. */
export function isInsecureRegistry(host: string, insecure: string[] = []): boolean {
  if (isLoopbackHost(host)) return true;
  const bare = host.replace(/:\d+$/, '');
  for (const entry of insecure) {
    const e = entry.replace(/^https?:\/\//, '').replace(/\/$/, '');
    if (e === host || e === bare) return true;
    const cidr = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(e);
    if (cidr && /^\d+\.\d+\.\d+\.\d+$/.test(bare)) {
      const toInt = (ip: string) => ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
      const bits = Number(cidr[2]);
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if ((toInt(bare) & mask) === (toInt(cidr[1]) & mask)) return true;
    }
  }
  return false;
}

const schemeCache = new Map<string, string>();

export interface FetchOptions extends RequestOptions {
  scopes: string[];
  /** Statuses that are answers, not errors. Default: 2xx. */
  ok?: (status: number) => boolean;
  what?: string;
}

export interface ManifestResult {
  body: Buffer;
  mediaType: string;
  digest: string;
}

export class RegistryClient {
  readonly host: string;
  private base: URL | undefined;
  private challenge: Challenge | undefined;
  private pinged = false;
  private readonly tokens = new Map<string, { token: string; expires: number }>();

  constructor(domain: string, private readonly opts: ClientOptions = {}) {
    this.host = registryHost(domain);
  }

  get credentials(): Credentials | undefined { return this.opts.credentials; }

  /** GET /v2/: learns the scheme (HTTPS, or HTTP for insecure hosts) and the auth challenge. */
  async ping(): Promise<void> {
    if (this.pinged) return;
    const schemes = this.opts.insecure ? ['https', 'http'] : ['https'];
    const cached = schemeCache.get(this.host);
    if (cached) schemes.sort((a, b) => (a === cached ? -1 : b === cached ? 1 : 0));
    let lastErr: unknown;
    let lastUrl = '';
    for (const scheme of schemes) {
      const base = new URL(`${scheme}://${this.host}/v2/`);
      lastUrl = base.href;
      try {
        const res = await request(base, { insecureTls: this.opts.insecure, connectTimeoutMs: this.opts.connectTimeoutMs ?? 8000, idleTimeoutMs: 15_000 });
        drain(res);
        if (res.status !== 200 && res.status !== 401) {
          lastErr = new UnavailableError(`registry ${this.host} answered ${res.status} to GET /v2/; is it a registry?`);
          continue;
        }
        this.base = base;
        schemeCache.set(this.host, scheme);
        if (res.status === 401) {
          const chs = parseChallenges(res.headers['www-authenticate']);
          this.challenge = chs.find((c) => c.scheme === 'bearer') ?? chs.find((c) => c.scheme === 'basic');
        }
        this.pinged = true;
        return;
      } catch (e) {
        lastErr = e;
        if (!(e instanceof ConnectError)) throw e;
      }
    }
    if (lastErr instanceof ConnectError) {
      // As dockerd says it: the last attempt (plain HTTP, for an insecure registry).
      throw new UnavailableError(`Get "${lastUrl}": ${lastErr.message}`, { cause: lastErr });
    }
    throw lastErr;
  }

  url(path: string): URL {
    if (!this.base) throw new Error('ping first');
    return new URL(path.replace(/^\/v2\//, ''), this.base);
  }

  private async token(scopes: string[], force = false): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    const creds = this.opts.credentials;
    if (ch.scheme === 'basic') {
      return hasCredentials(creds) && creds.username !== undefined ? basicHeader(creds) : undefined;
    }
    if (ch.scheme !== 'bearer') return undefined;
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    if (!force && cached && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const realm = ch.params.realm;
    if (!realm) throw new UnauthorizedError(`registry ${this.host} asked for a bearer token without a realm`);
    const u = new URL(realm);
    let res: HttpResponse;
    const timeouts = { connectTimeoutMs: 8000, idleTimeoutMs: 30_000, insecureTls: this.opts.insecure };
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'berth' });
      if (ch.params.service) form.set('service', ch.params.service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      res = await request(u, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(), ...timeouts });
    } else {
      if (ch.params.service) u.searchParams.set('service', ch.params.service);
      for (const s of scopes) u.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (hasCredentials(creds) && creds.username) {
        headers.Authorization = basicHeader(creds);
        u.searchParams.set('account', creds.username);
      }
      res = await request(u, { headers, ...timeouts });
    }
    if (res.status !== 200) {
      const err = await registryError(res, `getting a token from ${u.origin}${u.pathname}`);
      if (res.status === 401 || res.status === 403) throw new UnauthorizedError(err.message.replace(/^getting a token from [^:]*: /, ''));
      throw err;
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try { body = JSON.parse((await readBody(res, 1 << 20)).toString('utf8')) as typeof body; } catch {
      throw new UnavailableError(`token server ${u.host} returned malformed JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new UnauthorizedError(`token server ${u.host} returned no token`);
    const ttl = Math.max(60, body.expires_in ?? 60) * 1000;
    this.tokens.set(key, { token, expires: Date.now() + ttl - 10_000 });
    return `Bearer ${token}`;
  }

  /** A request with auth; a 401 refreshes the challenge and token once. */
  async fetch(path: string, opts: FetchOptions): Promise<HttpResponse> {
    await this.ping();
    const ok = opts.ok ?? ((s: number) => s >= 200 && s < 300);
    const url = /^https?:/.test(path) ? new URL(path) : this.url(path);
    for (let attempt = 0; ; attempt++) {
      const headers = { ...(opts.headers ?? {}) };
      const auth = await this.token(opts.scopes, attempt > 0);
      if (auth && (url.host === this.base?.host)) headers.Authorization = auth;
      const res = await request(url, {
        ...opts, headers, insecureTls: this.opts.insecure,
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 8000,
      });
      if (res.status === 401 && attempt === 0 && !(opts.body instanceof Readable)) {
        const chs = parseChallenges(res.headers['www-authenticate']);
        const ch = chs.find((c) => c.scheme === 'bearer') ?? chs.find((c) => c.scheme === 'basic');
        if (ch) {
          drain(res);
          this.challenge = ch;
          continue;
        }
      }
      if (ok(res.status)) return res;
      if (res.status === 401) {
        const e = await registryError(res, opts.what ?? `${opts.method ?? 'GET'} ${url.pathname}`);
        if (!hasCredentials(this.opts.credentials) && this.challenge?.scheme === 'basic') {
          throw new UnauthorizedError(`${opts.what ?? url.pathname}: no basic auth credentials`);
        }
        throw e;
      }
      throw await registryError(res, opts.what ?? `${opts.method ?? 'GET'} ${url.pathname}`);
    }
  }

  /** GET a manifest (by tag or digest) and verify its digest when asked by digest. */
  async getManifest(repo: string, reference: string): Promise<ManifestResult> {
    const res = await this.fetch(`/v2/${repo}/manifests/${reference}`, {
      scopes: [`repository:${repo}:pull`], headers: { Accept: MANIFEST_ACCEPT }, what: `manifest for ${repo}:${reference}`,
    });
    const body = await readBody(res, 4 << 20);
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest) {
      throw new InvalidParameterError(`manifest verification failed for digest ${reference}: got ${digest}`);
    }
    const ct = (header(res.headers, 'content-type') ?? '').split(';')[0].trim();
    return { body, mediaType: ct, digest };
  }

  /** HEAD a blob: its size when present. */
  async blobSize(repo: string, digest: string, scopes = [`repository:${repo}:pull`]): Promise<number | undefined> {
    const res = await this.fetch(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', scopes, ok: (s) => s === 200 || s === 404 });
    drain(res);
    if (res.status === 404) return undefined;
    return Number(header(res.headers, 'content-length') ?? 0);
  }

  /** GET a blob from `start`; status 206 when the registry honoured the Range. */
  async getBlob(repo: string, digest: string, start = 0): Promise<HttpResponse> {
    const headers: Record<string, string> = {};
    if (start > 0) headers.Range = `bytes=${start}-`;
    return this.fetch(`/v2/${repo}/blobs/${digest}`, {
      scopes: [`repository:${repo}:pull`], headers, what: `blob ${digest}`, idleTimeoutMs: 60_000,
      ok: (s) => s === 200 || s === 206,
    });
  }

  /**
   * Starts an upload; with `mountFrom` asks for a cross-repository mount first.
   * Returns the upload URL, or `mounted` when the registry linked the blob.
   */
  async startUpload(repo: string, mount?: { digest: string; from: string }): Promise<{ mounted: true } | { location: URL }> {
    const scopes = [`repository:${repo}:pull,push`];
    let path = `/v2/${repo}/blobs/uploads/`;
    if (mount) {
      scopes.push(`repository:${mount.from}:pull`);
      path += `?mount=${encodeURIComponent(mount.digest)}&from=${encodeURIComponent(mount.from)}`;
    }
    const res = await this.fetch(path, { method: 'POST', scopes, body: '', what: `starting an upload to ${repo}`, ok: (s) => s === 201 || s === 202 });
    drain(res);
    if (res.status === 201) return { mounted: true };
    const loc = header(res.headers, 'location');
    if (!loc) throw new UnavailableError(`registry ${this.host} gave no upload location`);
    return { location: new URL(loc, this.url('/v2/')) };
  }

  /** Monolithic upload: one PUT with the whole blob streamed as its body. */
  async putBlob(repo: string, location: URL, digest: string, body: Readable, size: number): Promise<void> {
    const u = new URL(location);
    u.searchParams.set('digest', digest);
    const res = await this.fetch(u.toString(), {
      method: 'PUT', scopes: [`repository:${repo}:pull,push`], body,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      what: `uploading blob ${digest}`, ok: (s) => s === 201 || s === 204,
    });
    drain(res);
  }

  async putManifest(repo: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.fetch(`/v2/${repo}/manifests/${reference}`, {
      method: 'PUT', scopes: [`repository:${repo}:pull,push`], body, headers: { 'Content-Type': mediaType },
      what: `uploading manifest ${repo}:${reference}`, ok: (s) => s === 201 || s === 200 || s === 202,
    });
    drain(res);
    return header(res.headers, 'docker-content-digest') ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
  }

  async tags(repo: string): Promise<string[]> {
    const out: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list`;
    while (path) {
      const res: HttpResponse = await this.fetch(path, { scopes: [`repository:${repo}:pull`], what: `tags of ${repo}` });
      const body = JSON.parse((await readBody(res, 16 << 20)).toString('utf8')) as { tags?: string[] | null };
      out.push(...(body.tags ?? []));
      const link = header(res.headers, 'link');
      const m = link ? /<([^>]+)>/.exec(link) : null;
      path = m ? new URL(m[1], this.url('/v2/')).toString() : undefined;
    }
    return out;
  }

  /**
   * Checks credentials the way `docker login` does: ping, then (for token auth) get a token
   * with no scope, or (for basic auth) call /v2/ with them.
   */
  async login(): Promise<void> {
    await this.ping();
    if (!this.challenge) return;
    if (this.challenge.scheme === 'bearer') {
      await this.token([], true);
      return;
    }
    const res = await this.fetch('/v2/', { scopes: [], ok: (s) => s === 200 || s === 401 });
    drain(res);
    if (res.status === 401) throw new UnauthorizedError('unauthorized: incorrect username or password');
  }
}

export { NotFoundError };
