// `docker search`: a registry's v1 search endpoint (Docker Hub's index, or any registry that
// serves /v1/search, as `berth registry serve` does), with the Engine API's limit and filters.
import { InvalidParameterError, UnavailableError } from '../../errors.js';
import type { RegistryClient } from './client.js';
import { ConnectError, readBody, request, type HttpResponse } from './http.js';

/** One result of `GET /images/search` (swagger: ImageSearchResponseItem). */
export interface SearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  is_automated: boolean;
}

/** What a v1 search endpoint answers. */
interface SearchResponse {
  num_results?: number;
  query?: string;
  results?: Partial<SearchResult>[] | null;
}

export interface SearchOptions {
  /** 1 to 100; 25 when not given. */
  limit?: number;
  filters?: Map<string, string[]>;
  /** A client for the term's registry, with its credentials and whether it may be plain HTTP. */
  client: (domain: string) => RegistryClient;
}

const HUB_INDEX = 'https://index.docker.io/v1/search';

/** "localhost:5000/foo" searches that registry for "foo"; anything else searches Docker Hub. */
export function splitSearchTerm(term: string): { domain: string; query: string } {
  const i = term.indexOf('/');
  const first = i < 0 ? '' : term.slice(0, i);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return { domain: first, query: term.slice(i + 1) };
  return { domain: 'docker.io', query: term };
}

function parseFilters(filters: Map<string, string[]>): (r: SearchResult) => boolean {
  for (const k of filters.keys()) if (!['is-automated', 'is-official', 'stars'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  const bool = (k: string): boolean | undefined => {
    const v = filters.get(k)?.at(-1);
    if (v === undefined) return undefined;
    if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
    throw new InvalidParameterError(`invalid filter '${k}=${v}'`);
  };
  const official = bool('is-official');
  const automated = bool('is-automated');
  let stars = 0;
  for (const v of filters.get('stars') ?? []) {
    if (!/^-?\d+$/.test(v)) throw new InvalidParameterError(`invalid filter 'stars=${v}'`);
    stars = Math.max(stars, Number(v));
  }
  return (r) => (official === undefined || r.is_official === official)
    && (automated === undefined || r.is_automated === automated)
    && r.star_count >= stars;
}

/** dockerd's words for an answer that is not a search result. */
async function answer(res: HttpResponse, url: URL): Promise<SearchResponse> {
  const body = await readBody(res, 4 << 20);
  if (res.status !== 200) {
    throw new UnavailableError(`Unexpected status code ${res.status}`);
  }
  try {
    return JSON.parse(body.toString('utf8')) as SearchResponse;
  } catch {
    throw new UnavailableError(`malformed search answer from ${url.host}`);
  }
}

/** Asks the term's registry, then applies the filters and the limit as dockerd does. */
export async function searchRegistry(term: string, opts: SearchOptions): Promise<SearchResult[]> {
  const limit = opts.limit ?? 25;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new InvalidParameterError(`limit ${limit} is outside the range of [1, 100]`);
  const keep = parseFilters(opts.filters ?? new Map());
  const { domain, query } = splitSearchTerm(term);
  let body: SearchResponse;
  if (domain === 'docker.io') {
    const url = new URL(`${HUB_INDEX}?q=${encodeURIComponent(query)}&n=${limit}`);
    try {
      body = await answer(await request(url, { connectTimeoutMs: 8000, idleTimeoutMs: 15_000 }), url);
    } catch (e) {
      if (e instanceof ConnectError) throw new UnavailableError(`Get "${url.href}": ${e.message}`, { cause: e });
      throw e;
    }
  } else {
    const client = opts.client(domain);
    await client.ping();
    const url = client.url('/v2/');
    url.pathname = '/v1/search';
    url.search = `?q=${encodeURIComponent(query)}&n=${limit}`;
    body = await answer(await client.fetch(url.href, { scopes: ['registry:catalog:*'], ok: () => true, what: 'search' }), url);
  }
  const results = (Array.isArray(body.results) ? body.results : []).map((r): SearchResult => ({
    name: String(r.name ?? ''),
    description: String(r.description ?? ''),
    star_count: Number(r.star_count ?? 0),
    is_official: r.is_official === true,
    is_automated: r.is_automated === true,
  }));
  return results.filter(keep).slice(0, limit);
}
