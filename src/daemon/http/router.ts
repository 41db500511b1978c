// A small router for the Engine API: every route is served bare and under /v{version}, handlers
// get parsed params and typed helpers, and HTTP upgrade (attach/exec hijack) uses the same routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { InvalidParameterError, NotFoundError } from '../../errors.js';

export const API_VERSION = '1.51';
export const MIN_API_VERSION = '1.24';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface Context {
  req: IncomingMessage;
  /** Undefined when the request came as an HTTP upgrade (no ServerResponse exists then). */
  res?: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The version the client asked for in the path, or the server's own. */
  apiVersion: string;
  /** Reads and parses a JSON body; an empty body gives `fallback`; malformed JSON is a 400. */
  json<T>(fallback?: T): Promise<T>;
  /** Raw request body as a stream. */
  bodyStream(): NodeJS.ReadableStream;
  send(status: number, body?: unknown, headers?: Record<string, string>): void;
  /**
   * Takes over the connection for a raw stream (attach/exec): 101 on upgrade, 200 otherwise. A
   * request body the route did not read is dropped.
   */
  hijack(contentType: string): Promise<Duplex>;
  isUpgrade: boolean;
  /** Compares apiVersion with v: negative when older. */
  versionAtLeast(v: string): boolean;
}

export type Handler = (ctx: Context) => Promise<void> | void;

interface Route {
  method: Method;
  parts: string[];
  handler: Handler;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Reads a boolean query flag the way Docker (and docker-py's True/False) spell it. */
export function boolParam(q: URLSearchParams, name: string, dflt = false): boolean {
  const v = q.get(name);
  if (v === null) return dflt;
  const l = v.toLowerCase();
  if (l === '' || l === '0' || l === 'false' || l === 'no') return false;
  return true;
}

export function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidParameterError(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return n;
}

/** Docker's `filters` query: JSON of {key: {value: true}} or (old clients) {key: [values]}. */
export function filtersParam(q: URLSearchParams): Map<string, string[]> {
  const raw = q.get('filters');
  const out = new Map<string, string[]>();
  if (!raw) return out;
  let parsed: unknown;
  try { parsed = JSON.parse(raw); } catch { throw new InvalidParameterError(`invalid filter: ${raw}`); }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidParameterError(`invalid filter: ${raw}`);
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (Array.isArray(v)) out.set(k, v.map(String));
    else if (typeof v === 'object' && v !== null) out.set(k, Object.keys(v).filter((x) => (v as Record<string, unknown>)[x]));
    else throw new InvalidParameterError(`invalid filter: ${raw}`);
  }
  return out;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: Method, path: string, handler: Handler): this {
    this.routes.push({ method, parts: path.split('/').filter(Boolean), handler });
    return this;
  }
  get(path: string, h: Handler): this { return this.add('GET', path, h); }
  head(path: string, h: Handler): this { return this.add('HEAD', path, h); }
  post(path: string, h: Handler): this { return this.add('POST', path, h); }
  put(path: string, h: Handler): this { return this.add('PUT', path, h); }
  delete(path: string, h: Handler): this { return this.add('DELETE', path, h); }

  /**
   * Finds the handler for a path; `/v1.44/containers/json` and `/containers/json` are the same.
   * Image names contain slashes, so a trailing `*name` parameter takes the rest of the path
   * up to the route's fixed suffix.
   */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string>; version?: string } | undefined {
    let segs = pathname.split('/').filter(Boolean).map((s) => { try { return decodeURIComponent(s); } catch { return s; } });
    let version: string | undefined;
    if (segs.length && /^v[0-9]+(\.[0-9]+)*$/.test(segs[0])) { version = segs[0].slice(1); segs = segs.slice(1); }
    const m = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
    let pathMatched = false;
    for (const wanted of m) {
      for (const r of this.routes) {
        const params = matchParts(r.parts, segs);
        if (!params) continue;
        pathMatched = true;
        if (r.method !== wanted) continue;
        return { handler: r.handler, params, version };
      }
    }
    if (pathMatched) return undefined;
    return undefined;
  }
}

function matchParts(parts: string[], segs: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const star = parts.findIndex((p) => p.startsWith('*'));
  if (star === -1) {
    if (parts.length !== segs.length) return undefined;
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].startsWith(':')) params[parts[i].slice(1)] = segs[i];
      else if (parts[i] !== segs[i]) return undefined;
    }
    return params;
  }
  const suffix = parts.slice(star + 1);
  if (segs.length < parts.length) return undefined;
  for (let i = 0; i < star; i++) {
    if (parts[i].startsWith(':')) params[parts[i].slice(1)] = segs[i];
    else if (parts[i] !== segs[i]) return undefined;
  }
  const restEnd = segs.length - suffix.length;
  for (let i = 0; i < suffix.length; i++) {
    const p = suffix[i];
    const s = segs[restEnd + i];
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  params[parts[star].slice(1)] = segs.slice(star, restEnd).join('/');
  if (params[parts[star].slice(1)] === '') return undefined;
  return params;
}

export { NotFoundError };
export type { Socket };
