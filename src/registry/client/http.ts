// A small HTTP(S) client for registries on node:http: streamed bodies both ways, keep-alive,
// redirects (dropping credentials when the host changes, as blob storage redirects need), and
// a connect timeout so that an unreachable registry fails in seconds.
import http, { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { UnavailableError } from '../../errors.js';

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16 });
const insecureHttpsAgent = new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: false });

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** Skip TLS verification (insecure registries). */
  insecureTls?: boolean;
  connectTimeoutMs?: number;
  /** No byte for this long aborts the request. */
  idleTimeoutMs?: number;
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  body: IncomingMessage;
}

export class ConnectError extends UnavailableError {}

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

let resolver: string | undefined | null = null;
/** The first nameserver, as Go names it in "lookup x on 10.0.0.1:53". */
function firstNameserver(): string | undefined {
  if (resolver === null) {
    try {
      const m = /^\s*nameserver\s+(\S+)/m.exec(readFileSync('/etc/resolv.conf', 'utf8'));
      resolver = m ? (m[1]!.includes(':') ? `[${m[1]}]:53` : `${m[1]}:53`) : undefined;
    } catch {
      resolver = undefined;
    }
  }
  return resolver;
}

/** A failed connection in the words of Go's net package, which is what dockerd prints. */
function dialError(url: URL, e: NodeJS.ErrnoException & { address?: string; port?: number }): string {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const addr = e.address ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port ?? port}` : `${url.hostname}:${port}`;
  const on = firstNameserver() ? ` on ${firstNameserver()}` : '';
  switch (e.code) {
    case 'ECONNREFUSED': return `dial tcp ${addr}: connect: connection refused`;
    case 'ENOTFOUND': return `dial tcp: lookup ${host}${on}: no such host`;
    case 'EAI_AGAIN': return `dial tcp: lookup ${host}${on}: Temporary failure in name resolution`;
    case 'EHOSTUNREACH': return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH': return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ETIMEDOUT': return `dial tcp ${addr}: i/o timeout`;
    case 'ECONNRESET': return `read tcp ${addr}: read: connection reset by peer`;
    default:
      // An HTTPS request answered by a plain HTTP server.
      if (/wrong version number|packet length too long/i.test(e.message)) return 'http: server gave HTTP response to HTTPS client';
      return e.message;
  }
}

function once(url: URL, opts: RequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const isHttps = url.protocol === 'https:';
    const mod = isHttps ? https : http;
    const agent = isHttps ? (opts.insecureTls ? insecureHttpsAgent : httpsAgent) : httpAgent;
    const headers: Record<string, string> = { 'User-Agent': 'berth/0.1', ...(opts.headers ?? {}) };
    if (Buffer.isBuffer(opts.body) || typeof opts.body === 'string') headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = mod.request(url, { method: opts.method ?? 'GET', headers, agent });
    let connected = false;
    const connectTimer = setTimeout(() => {
      if (!connected) req.destroy(new ConnectError(`dial tcp ${url.hostname}:${url.port || (isHttps ? 443 : 80)}: i/o timeout`));
    }, opts.connectTimeoutMs ?? 10_000);
    req.on('socket', (s) => {
      const done = () => { connected = true; clearTimeout(connectTimer); };
      if ((s as { connecting?: boolean }).connecting === false) done();
      else s.once(isHttps ? 'secureConnect' : 'connect', done);
    });
    req.setTimeout(opts.idleTimeoutMs ?? 120_000, () => req.destroy(new ConnectError(`${url.host}: no response for ${(opts.idleTimeoutMs ?? 120_000) / 1000}s`)));
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      if (e instanceof ConnectError) return reject(e);
      const code = e.code ?? '';
      if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EPROTO'].includes(code) || /SSL|TLS|wrong version/i.test(e.message)) {
        return reject(new ConnectError(dialError(url, e), { cause: e }));
      }
      reject(e);
    });
    req.on('response', (res) => {
      clearTimeout(connectTimer);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
    });
    if (opts.body instanceof Readable) {
      opts.body.on('error', (e) => req.destroy(e));
      opts.body.pipe(req);
    } else {
      req.end(opts.body);
    }
  });
}

export async function request(url: URL, opts: RequestOptions = {}): Promise<HttpResponse> {
  let cur = url;
  let o = opts;
  for (let hops = 0; ; hops++) {
    const res = await once(cur, o);
    const loc = header(res.headers, 'location');
    const redirect = [301, 302, 303, 307, 308].includes(res.status) && loc && (opts.followRedirects ?? true) && !(o.body instanceof Readable);
    if (!redirect || hops >= 10) return res;
    res.body.resume();
    const next = new URL(loc, cur);
    const h = { ...(o.headers ?? {}) };
    if (next.host !== cur.host) delete h.Authorization;
    o = { ...o, headers: h, method: res.status === 303 ? 'GET' : o.method };
    cur = next;
  }
}

export async function readBody(res: HttpResponse, limit = 16 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body) {
    n += (c as Buffer).length;
    if (n > limit) { res.body.destroy(); throw new UnavailableError(`response from ${res.url.host} is larger than ${limit} bytes`); }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function drain(res: HttpResponse): void {
  res.body.resume();
}
