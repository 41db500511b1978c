// `berth search`: GET /images/search, laid out as docker's search formatter lays it out.
import type { Command } from 'commander';

import { encodeFilters } from '../client/client.js';
import { splitSearchTerm, type SearchResult } from '../registry/client/search.js';
import type { Cli } from './context.js';
import { collect, defineCommand, parseIntFlag } from './command.js';
import type { Outcome } from './command.js';
import { registryAuthHeader } from './cmd-auth.js';
import { parseFilters } from './cmd-container.js';
import { contextJSON, formatItems } from './formatter.js';
import type { ParsedOptions } from './run-opts.js';
import { ellipsis } from './units.js';

const SEARCH_HEADERS: Record<string, string> = { Name: 'NAME', Description: 'DESCRIPTION', StarCount: 'STARS', IsOfficial: 'OFFICIAL' };
const FIELDS = Object.keys(SEARCH_HEADERS);

/** docker's registry.searchContext (its Go name shows in template errors). */
export class searchContext {
  static readonly goPackage = 'registry';
  /** `--format json` spells the booleans out, where tables show [OK] or nothing. */
  constructor(private readonly r: SearchResult, private readonly trunc: boolean, private readonly json: boolean) {}
  get Name(): string {
    return this.r.name;
  }
  get Description(): string {
    const d = this.r.description.replace(/[\r\n]/g, ' ');
    return this.trunc ? ellipsis(d, 45) : d;
  }
  get StarCount(): string {
    return String(this.r.star_count);
  }
  get IsOfficial(): string {
    if (this.json) return String(this.r.is_official);
    return this.r.is_official ? '[OK]' : '';
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, FIELDS);
  }
}

async function search(cli: Cli, term: string, o: ParsedOptions): Promise<number> {
  const limit = typeof o.limit === 'number' ? o.limit : 0;
  const filters = parseFilters(o.filter as string[] | undefined);
  const results = await cli.client.json<SearchResult[]>('GET', '/images/search', {
    query: { term, limit: limit > 0 ? limit : undefined, filters: encodeFilters(filters) },
    headers: { 'X-Registry-Auth': registryAuthHeader(cli, splitSearchTerm(term).domain) },
  });
  const format = typeof o.format === 'string' && o.format !== '' ? o.format : 'table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}';
  cli.out(formatItems(format, (results ?? []).map((r) => new searchContext(r, o.trunc !== false, format === 'json')), SEARCH_HEADERS));
  return 0;
}

export function registerSearch(parent: Command, cli: Cli, outcome: Outcome): void {
  defineCommand(parent, '', { name: 'search', usage: '[OPTIONS] TERM', description: 'Search Docker Hub for images', minArgs: 1, maxArgs: 1 }, cli, outcome, (c, a, o) => search(c, a[0]!, o))
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Pretty-print search using a Go template')
    .option('--limit <int>', 'Max number of search results', parseIntFlag('--limit'))
    .option('--no-trunc', "Don't truncate output");
}
