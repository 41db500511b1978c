// Serves a Router on a unix socket (or TCP), with Docker's version handling, error bodies and
// connection hijacking for attach/exec.
import http, { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex, PassThrough, Readable } from 'node:stream';
import { InvalidParameterError, NotFoundError } from '../../errors.js';
import { API_VERSION, MIN_API_VERSION, Context, Router, compareVersions } from './router.js';
import { statusOf, messageOf } from './errors.js';

export interface ServerOptions {
  router: Router;
  serverVersion: string;
  log: (line: string) => void;
}

function commonHeaders(serverVersion: string): Record<string, string> {
  return { 'Api-Version': API_VERSION, 'Ostype': 'linux', 'Server': `Docker/${serverVersion} (linux)`, 'Docker-Experimental': 'false' };
}

export function createApiServer(opts: ServerOptions): http.Server {
  // dockerode repeats whole JSON bodies in the query string, so the request head can be large.
  const server = http.createServer({ maxHeaderSize: 1 << 20, keepAliveTimeout: 30_000, requestTimeout: 0 });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void dispatch(opts, req, res, undefined, undefined);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void dispatch(opts, req, undefined, socket, head);
  });
  server.on('clientError', (err, socket) => {
    if ((socket as Socket).writable) (socket as Socket).end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
}

async function dispatch(opts: ServerOptions, req: IncomingMessage, res: ServerResponse | undefined, socket: Socket | undefined, head: Buffer | undefined): Promise<void> {
  const started = Date.now();
  const url = new URL(req.url ?? '/', 'http://berth');
  const method = req.method ?? 'GET';
  let hijacked = false;
  const headers = commonHeaders(opts.serverVersion);

  const sendRaw = (status: number, body: unknown, extra: Record<string, string> = {}) => {
    const payload = body === undefined ? '' : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const ct = body === undefined ? {} : { 'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' };
    const all = { ...headers, ...ct, ...extra };
    if (res) {
      if (res.headersSent) { res.end(); return; }
      res.writeHead(status, all);
      res.end(method === 'HEAD' ? undefined : payload);
    } else if (socket && socket.writable) {
      const reason = http.STATUS_CODES[status] ?? '';
      const buf = Buffer.from(payload);
      let s = `HTTP/1.1 ${status} ${reason}\r\n`;
      for (const [k, v] of Object.entries(all)) s += `${k}: ${v}\r\n`;
      s += `Content-Length: ${buf.length}\r\nConnection: close\r\n\r\n`;
      socket.end(Buffer.concat([Buffer.from(s), buf]));
    }
  };

  try {
    const found = opts.router.match(method, url.pathname);
    if (!found) throw new NotFoundError(`page not found`);
    const apiVersion = found.version ?? API_VERSION;
    if (found.version !== undefined) {
      if (compareVersions(found.version, API_VERSION) > 0) {
        throw new InvalidParameterError(`client version ${found.version} is too new. Maximum supported API version is ${API_VERSION}`);
      }
      if (compareVersions(found.version, MIN_API_VERSION) < 0) {
        throw new InvalidParameterError(`client version ${found.version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
      }
    }
    let upgradeBody: Readable | undefined;
    const bodyStream = (): Readable => {
      if (!socket) return req;
      if (!upgradeBody) upgradeBody = upgradeRequestBody(req, socket, head ?? Buffer.alloc(0));
      return upgradeBody;
    };
    const ctx: Context = {
      req, res, params: found.params, query: url.searchParams, apiVersion, isUpgrade: socket !== undefined,
      versionAtLeast: (v) => compareVersions(apiVersion, v) >= 0,
      bodyStream,
      async json<T>(fallback?: T): Promise<T> {
        const chunks: Buffer[] = [];
        for await (const c of bodyStream()) chunks.push(c as Buffer);
        const text = Buffer.concat(chunks).toString('utf8');
        if (text.trim() === '') {
          if (fallback !== undefined) return fallback;
          throw new InvalidParameterError('invalid JSON: request body is empty');
        }
        try {
          return JSON.parse(text) as T;
        } catch (e) {
          throw new InvalidParameterError(`invalid JSON: ${(e as Error).message}`);
        }
      },
      send(status, body, extra) { sendRaw(status, body, extra); },
      async hijack(contentType: string): Promise<Duplex> {
        // A request body is not stream data: dockerd drops what the route did not read (dockerode
        // sends its attach options as one).
        if (Number(req.headers['content-length'] ?? 0) > 0) for await (const _ of bodyStream()) { /* dropped */ }
        hijacked = true;
        if (socket) {
          // Without a body, bytes read ahead with the headers are the stream's (stdin).
          if (upgradeBody === undefined && head && head.length) socket.unshift(head);
          socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
          socket.setNoDelay(true);
          flowWhenRead(socket);
          return socket;
        }
        // Old-style hijack without upgrade: answer 200 and take the socket over.
        const s = req.socket;
        res?.detachSocket(s);
        s.write(`HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\n\r\n`);
        s.setNoDelay(true);
        return s;
      },
    };
    await found.handler(ctx);
  } catch (e) {
    const status = statusOf(e);
    if (status >= 500) opts.log(`error: ${method} ${url.pathname}: ${(e as Error)?.stack ?? messageOf(e)}`);
    if (hijacked) { socket?.destroy(); return; }
    if (status === 304) sendRaw(304, undefined);
    else sendRaw(status, { message: messageOf(e) });
  } finally {
    if (process.env.BERTH_DEBUG_HTTP) opts.log(`${method} ${url.pathname}${url.search} ${Date.now() - started}ms`);
  }
}

/**
 * Reading the body paused the socket, and a paused stream stays paused when a 'data' listener
 * comes: the stream flows once the route listens, and not before (nothing is lost meanwhile).
 */
function flowWhenRead(socket: Socket): void {
  if (socket.readableFlowing !== false) return;
  const onListener = (event: string | symbol): void => {
    if (event !== 'data') return;
    socket.off('newListener', onListener);
    process.nextTick(() => socket.resume());
  };
  socket.on('newListener', onListener);
}

/** The body of an upgrade request: what `head` holds, then Content-Length more bytes from the socket. */
function upgradeRequestBody(req: IncomingMessage, socket: Socket, head: Buffer): Readable {
  const out = new PassThrough();
  let remaining = Number(req.headers['content-length'] ?? 0);
  if (!Number.isFinite(remaining) || remaining <= 0) {
    if (head.length) socket.unshift(head);
    out.end();
    return out;
  }
  const take = (buf: Buffer): Buffer => {
    const n = Math.min(remaining, buf.length);
    out.write(buf.subarray(0, n));
    remaining -= n;
    return buf.subarray(n);
  };
  const rest = take(head);
  if (remaining === 0) {
    if (rest.length) socket.unshift(rest);
    out.end();
    return out;
  }
  const onData = (chunk: Buffer) => {
    const left = take(chunk);
    if (remaining === 0) {
      socket.off('data', onData);
      // Paused until the route takes the stream (see flowWhenRead).
      socket.pause();
      if (left.length) socket.unshift(left);
      out.end();
    }
  };
  socket.on('data', onData);
  return out;
}
