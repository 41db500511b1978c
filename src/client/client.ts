// Typed Docker Engine API client over a unix socket: the only way the berth CLI reaches berthd.
// Mirrors what the docker 28 CLI does on the wire (see shared/reference/engine-api-notes.md):
// HEAD /_ping first to negotiate the version, versioned paths after, Docker's {"message"}
// errors as typed errors, and HTTP upgrade with half-close for attach and exec.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';

import { ConnectionError, errorFromBody, errorFromStatus } from './errors.js';
import { resolveHost } from './host.js';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspectResponse,
  ContainerPruneResponse,
  ContainerSummary,
  ContainerTopResponse,
  ContainerUpdateRequest,
  ContainerUpdateResponse,
  ContainerWaitResponse,
  ExecConfig,
  ExecInspectResponse,
  ExecStartConfig,
  Filters,
  HistoryResponseItem,
  IDResponse,
  ImageDeleteResponseItem,
  ImageInspect,
  ImagePruneResponse,
  ImageSummary,
  SystemInfo,
  SystemVersion,
  WaitCondition,
} from './types.js';

/** Newest API this client speaks (Docker 28.3+). */
export const CLIENT_API_VERSION = '1.51';
/** What the Go client assumes when /_ping has no Api-Version header. */
export const FALLBACK_API_VERSION = '1.24';

export type QueryValue = string | number | boolean | undefined | null;
export type Query = Record<string, QueryValue | QueryValue[]>;

export interface RequestOptions {
  query?: Query;
  /** JSON-serialised unless a Buffer or a readable stream. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Skip the version prefix (for /_ping). */
  unversioned?: boolean;
  signal?: AbortSignal;
}

export interface Response {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface PingInfo {
  apiVersion?: string;
  osType?: string;
  experimental: boolean;
  builderVersion?: string;
  swarm?: string;
}

export interface HijackedStream {
  /** Raw socket carrying the stream after the upgrade; allowHalfOpen so end() only closes our side. */
  socket: net.Socket;
  /** application/vnd.docker.raw-stream or application/vnd.docker.multiplexed-stream, when the daemon says. */
  contentType?: string;
}

export interface ClientOptions {
  host?: string;
  /** Fixed API version; disables negotiation like DOCKER_API_VERSION does. */
  version?: string;
  userAgent?: string;
  env?: NodeJS.ProcessEnv;
}

function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const k of Object.keys(q).sort()) {
    const v = q[k];
    const values = Array.isArray(v) ? v : [v];
    for (const one of values) {
      if (one === undefined || one === null) continue;
      const s = typeof one === 'boolean' ? (one ? '1' : '0') : String(one);
      parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(s)}`);
    }
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** filters travel as JSON of name → {value: true}, as the Go client's filters.ToJSON writes them. */
export function encodeFilters(f: Filters | undefined): string | undefined {
  if (!f) return undefined;
  const out: Record<string, Record<string, boolean>> = {};
  for (const [k, values] of Object.entries(f)) {
    if (values.length === 0) continue;
    out[k] = Object.fromEntries(values.map((v) => [v, true]));
  }
  return Object.keys(out).length ? JSON.stringify(out) : undefined;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function isReadable(v: unknown): v is NodeJS.ReadableStream {
  return typeof v === 'object' && v !== null && typeof (v as NodeJS.ReadableStream).pipe === 'function';
}

export class EngineClient {
  readonly host: string;
  readonly socketPath: string;
  private readonly agent: http.Agent;
  private readonly userAgent: string;
  private version?: string;
  private negotiating?: Promise<string>;
  private pingInfo?: PingInfo;

  constructor(opts: ClientOptions = {}) {
    const env = opts.env ?? process.env;
    const addr = resolveHost(opts.host, env);
    this.host = addr.host;
    this.socketPath = addr.socketPath;
    this.userAgent = opts.userAgent ?? 'Berth-Client/0.1.0 (linux)';
    this.version = opts.version ?? (env.BERTH_API_VERSION || env.DOCKER_API_VERSION || undefined);
    // keepAlive reuses one connection across the requests of a command; idle sockets are unref'd.
    // servername '' skips the TLS server name the agent would derive from the Host header: that
    // runs net.isIP, whose IPv6 regex costs ~9 ms to compile in every CLI process.
    this.agent = new http.Agent({ keepAlive: true, socketPath: this.socketPath, servername: '' } as http.AgentOptions);
  }

  close(): void {
    this.agent.destroy();
  }

  /** The API version in use (after negotiation). */
  async apiVersion(): Promise<string> {
    if (this.version) return this.version;
    this.negotiating ??= this.ping().then((p) => {
      let v = p.apiVersion || FALLBACK_API_VERSION;
      if (compareVersions(v, CLIENT_API_VERSION) > 0) v = CLIENT_API_VERSION;
      this.version = v;
      return v;
    });
    return this.negotiating;
  }

  /** HEAD /_ping, then GET when HEAD answers neither 200 nor 500 (as the Go client does). */
  async ping(): Promise<PingInfo> {
    if (this.pingInfo) return this.pingInfo;
    let res = await this.raw('HEAD', '/_ping', {});
    if (res.statusCode !== 200 && res.statusCode !== 500) res = await this.raw('GET', '/_ping', {});
    const h = res.headers;
    const one = (name: string): string | undefined => {
      const v = h[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const info: PingInfo = {
      apiVersion: one('api-version'),
      osType: one('ostype'),
      experimental: one('docker-experimental') === 'true',
      builderVersion: one('builder-version'),
      swarm: one('swarm'),
    };
    if (res.statusCode >= 400 && !info.apiVersion) throw errorFromBody(res.statusCode, res.body);
    this.pingInfo = info;
    return info;
  }

  private async path(p: string, unversioned?: boolean): Promise<string> {
    if (unversioned) return p;
    return `/v${await this.apiVersion()}${p}`;
  }

  private connectError(e: unknown): never {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ENOTSOCK') {
      throw new ConnectionError(this.host, e);
    }
    throw e;
  }

  /** One request, without negotiation; the response body is collected. */
  private raw(method: string, path: string, opts: RequestOptions): Promise<Response> {
    return this.send(method, path, opts).then(
      (res) =>
        new Promise<Response>((resolve, reject) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        }),
    );
  }

  private send(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...opts.headers };
      let payload: Buffer | NodeJS.ReadableStream | undefined;
      if (opts.body !== undefined) {
        if (Buffer.isBuffer(opts.body) || isReadable(opts.body)) {
          payload = opts.body;
        } else {
          payload = Buffer.from(JSON.stringify(opts.body));
          headers['Content-Type'] ??= 'application/json';
        }
      }
      if (Buffer.isBuffer(payload)) headers['Content-Length'] = String(payload.length);
      else if (payload === undefined && (method === 'POST' || method === 'PUT')) headers['Content-Length'] = '0';
      const req = http.request({
        agent: this.agent,
        socketPath: this.socketPath,
        method,
        path: path + encodeQuery(opts.query),
        headers: { Host: 'api.moby.localhost', ...headers },
        signal: opts.signal,
      });
      req.on('response', resolve);
      req.on('error', (e) => {
        try {
          this.connectError(e);
        } catch (err) {
          reject(err);
        }
      });
      if (isReadable(payload)) payload.pipe(req);
      else req.end(payload);
    });
  }

  /** A request whose response body is read whole; non-2xx become typed errors. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.raw(method, await this.path(path, opts.unversioned), opts);
    if (res.statusCode >= 300) throw errorFromBody(res.statusCode, res.body);
    return res;
  }

  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    return (res.body.length ? JSON.parse(res.body.toString()) : undefined) as T;
  }

  /** A request whose body streams (logs, pull, events, wait); errors before the stream are typed errors. */
  async stream(method: string, path: string, opts: RequestOptions = {}): Promise<http.IncomingMessage> {
    const res = await this.send(method, await this.path(path, opts.unversioned), opts);
    const status = res.statusCode ?? 0;
    if (status >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw errorFromBody(status, Buffer.concat(chunks));
    }
    return res;
  }

  /**
   * POST with `Connection: Upgrade, Upgrade: tcp` and take over the socket after 101. The socket
   * is opened with allowHalfOpen so that end() at stdin EOF half-closes while output still flows.
   */
  async hijack(path: string, opts: RequestOptions = {}): Promise<HijackedStream> {
    const fullPath = (await this.path(path, opts.unversioned)) + encodeQuery(opts.query);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        Host: 'api.moby.localhost',
        'User-Agent': this.userAgent,
        Connection: 'Upgrade',
        Upgrade: 'tcp',
      };
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers['Content-Type'] = 'application/json';
      } else {
        headers['Content-Type'] = 'text/plain';
      }
      headers['Content-Length'] = String(payload?.length ?? 0);
      const req = http.request({
        method: 'POST',
        path: fullPath,
        headers,
        createConnection: () => net.connect({ path: this.socketPath, allowHalfOpen: true }),
      });
      req.on('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        const sock = socket as net.Socket;
        if (head.length > 0) sock.unshift(head);
        const ct = res.headers['content-type'];
        resolve({ socket: sock, contentType: ct });
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const body = Buffer.concat(chunks);
          if (status >= 400) reject(errorFromBody(status, body));
          else reject(errorFromStatus(status, `unable to upgrade to tcp, received ${status}`));
        });
      });
      req.on('error', (e) => {
        try {
          this.connectError(e);
        } catch (err) {
          reject(err);
        }
      });
      req.end(payload);
    });
  }

  // ---- system

  systemVersion(): Promise<SystemVersion> {
    return this.json('GET', '/version');
  }
  info(): Promise<SystemInfo> {
    return this.json('GET', '/info');
  }

  // ---- containers

  containerList(opts: { all?: boolean; limit?: number; size?: boolean; filters?: Filters } = {}): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', {
      query: {
        all: opts.all || undefined,
        limit: opts.limit && opts.limit > 0 ? opts.limit : undefined,
        size: opts.size || undefined,
        filters: encodeFilters(opts.filters),
      },
    });
  }

  containerCreate(body: ContainerCreateRequest, opts: { name?: string; platform?: string } = {}): Promise<ContainerCreateResponse> {
    return this.json('POST', '/containers/create', { query: { name: opts.name || undefined, platform: opts.platform || undefined }, body });
  }

  containerInspect(id: string, opts: { size?: boolean } = {}): Promise<ContainerInspectResponse> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/json`, { query: { size: opts.size || undefined } });
  }

  async containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/start`, { query: { detachKeys: opts.detachKeys } });
  }

  /** 304 (already stopped) is success, as for the Go client. */
  async containerStop(id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    await this.allow304(() =>
      this.request('POST', `/containers/${encodeURIComponent(id)}/stop`, { query: { t: opts.timeout, signal: opts.signal } }),
    );
  }

  async containerRestart(id: string, opts: { timeout?: number; signal?: string } = {}): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/restart`, { query: { t: opts.timeout, signal: opts.signal } });
  }

  async containerKill(id: string, signal?: string): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/kill`, { query: { signal: signal || undefined } });
  }

  async containerPause(id: string): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/pause`);
  }

  async containerUnpause(id: string): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/unpause`);
  }

  async containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
    await this.request('DELETE', `/containers/${encodeURIComponent(id)}`, {
      query: { force: opts.force || undefined, v: opts.volumes || undefined, link: opts.link || undefined },
    });
  }

  /** POST /containers/{id}/update: new limits and restart policy. */
  containerUpdate(id: string, body: ContainerUpdateRequest): Promise<ContainerUpdateResponse> {
    return this.json<ContainerUpdateResponse>('POST', `/containers/${encodeURIComponent(id)}/update`, { body });
  }

  async containerRename(id: string, name: string): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/rename`, { query: { name } });
  }

  containerTop(id: string, psArgs?: string): Promise<ContainerTopResponse> {
    return this.json('GET', `/containers/${encodeURIComponent(id)}/top`, { query: { ps_args: psArgs || undefined } });
  }

  containerPrune(filters?: Filters): Promise<ContainerPruneResponse> {
    return this.json('POST', '/containers/prune', { query: { filters: encodeFilters(filters) } });
  }

  async containerResize(id: string, h: number, w: number): Promise<void> {
    await this.request('POST', `/containers/${encodeURIComponent(id)}/resize`, { query: { h, w } });
  }

  /**
   * POST /wait returns its headers at once (the daemon flushes them) and the body when the
   * condition is met; the first promise resolves when the headers are in, so callers can go on
   * to start the container, and `result` resolves with the exit.
   */
  async containerWait(
    id: string,
    condition: WaitCondition = 'not-running',
  ): Promise<{ result: Promise<ContainerWaitResponse>; cancel: () => void }> {
    const res = await this.stream('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition } });
    const result = (async () => {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString().trim();
      if (!text) throw errorFromStatus(500, 'wait: the daemon closed the connection without a result');
      return JSON.parse(text) as ContainerWaitResponse;
    })();
    // Avoid an unhandled rejection when a caller never reads the result (run -d drops it).
    result.catch(() => undefined);
    return { result, cancel: () => res.destroy() };
  }

  containerLogs(
    id: string,
    opts: { follow?: boolean; stdout?: boolean; stderr?: boolean; since?: string; until?: string; timestamps?: boolean; tail?: string; details?: boolean },
  ): Promise<http.IncomingMessage> {
    return this.stream('GET', `/containers/${encodeURIComponent(id)}/logs`, {
      query: {
        follow: opts.follow || undefined,
        stdout: opts.stdout || undefined,
        stderr: opts.stderr || undefined,
        since: opts.since || undefined,
        until: opts.until || undefined,
        timestamps: opts.timestamps || undefined,
        tail: opts.tail || undefined,
        details: opts.details || undefined,
      },
    });
  }

  containerAttach(
    id: string,
    opts: { stream?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string },
  ): Promise<HijackedStream> {
    return this.hijack(`/containers/${encodeURIComponent(id)}/attach`, {
      query: {
        detachKeys: opts.detachKeys || undefined,
        logs: opts.logs || undefined,
        stderr: opts.stderr || undefined,
        stdin: opts.stdin || undefined,
        stdout: opts.stdout || undefined,
        stream: opts.stream || undefined,
      },
    });
  }

  // ---- exec

  execCreate(id: string, body: ExecConfig): Promise<IDResponse> {
    return this.json('POST', `/containers/${encodeURIComponent(id)}/exec`, { body });
  }
  execStart(execId: string, body: ExecStartConfig): Promise<HijackedStream> {
    return this.hijack(`/exec/${encodeURIComponent(execId)}/start`, { body });
  }
  async execStartDetached(execId: string, body: ExecStartConfig): Promise<void> {
    await this.request('POST', `/exec/${encodeURIComponent(execId)}/start`, { body: { ...body, Detach: true } });
  }
  execInspect(execId: string): Promise<ExecInspectResponse> {
    return this.json('GET', `/exec/${encodeURIComponent(execId)}/json`);
  }
  async execResize(execId: string, h: number, w: number): Promise<void> {
    await this.request('POST', `/exec/${encodeURIComponent(execId)}/resize`, { query: { h, w } });
  }

  // ---- images

  imageList(opts: { all?: boolean; digests?: boolean; filters?: Filters } = {}): Promise<ImageSummary[]> {
    return this.json('GET', '/images/json', {
      query: { all: opts.all || undefined, digests: opts.digests || undefined, filters: encodeFilters(opts.filters) },
    });
  }

  imageInspect(ref: string): Promise<ImageInspect> {
    return this.json('GET', `/images/${ref}/json`);
  }

  imageHistory(ref: string): Promise<HistoryResponseItem[]> {
    return this.json('GET', `/images/${ref}/history`);
  }

  imageRemove(ref: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteResponseItem[]> {
    return this.json('DELETE', `/images/${ref}`, { query: { force: opts.force || undefined, noprune: opts.noprune || undefined } });
  }

  async imageTag(source: string, repo: string, tag?: string): Promise<void> {
    await this.request('POST', `/images/${source}/tag`, { query: { repo, tag: tag || undefined } });
  }

  imagePrune(filters?: Filters): Promise<ImagePruneResponse> {
    return this.json('POST', '/images/prune', { query: { filters: encodeFilters(filters) } });
  }

  /** POST /images/create?fromImage=…&tag=…: a JSON message stream. */
  imagePull(fromImage: string, tag: string | undefined, opts: { platform?: string; registryAuth?: string } = {}): Promise<http.IncomingMessage> {
    return this.stream('POST', '/images/create', {
      query: { fromImage, tag: tag || undefined, platform: opts.platform || undefined },
      headers: { 'X-Registry-Auth': opts.registryAuth ?? 'e30=' },
    });
  }

  /** POST /images/create?fromSrc=-: import a rootfs tarball sent as the body. */
  imageImport(
    source: NodeJS.ReadableStream | Buffer | string,
    opts: { repo?: string; tag?: string; message?: string; changes?: string[]; platform?: string },
  ): Promise<http.IncomingMessage> {
    const fromStdin = typeof source !== 'string';
    return this.stream('POST', '/images/create', {
      query: {
        fromSrc: fromStdin ? '-' : source,
        repo: opts.repo || undefined,
        tag: opts.tag || undefined,
        message: opts.message || undefined,
        changes: opts.changes,
        platform: opts.platform || undefined,
      },
      body: fromStdin ? source : undefined,
      headers: fromStdin ? { 'Content-Type': 'application/x-tar' } : {},
    });
  }

  private async allow304<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 304) return undefined;
      throw e;
    }
  }
}
