// docker's formatter.Context: "table ..." formats get a header row and tabwriter alignment,
// "json" means {{json .}}, anything else is a Go template run once per item.
import { Template, TemplateExecError, TemplateSyntaxError } from './template/index.js';
import { StatusError } from './context.js';
import type { TemplateFunc } from './template/index.js';
import { tabwrite } from './tabwriter.js';

export const TABLE = 'table';

/** docker's HeaderFunctions: in the header row, functions pass the column name through. */
const HEADER_FUNCS: Record<string, TemplateFunc> = {
  json: (v) => v,
  split: (v) => v,
  join: (v) => v,
  title: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  truncate: (v) => v,
};

/** The header row's data: known fields give their column title, others the empty string. */
function headerContext(headers: Record<string, string>): object {
  class HeaderContext {}
  return new Proxy(new HeaderContext(), {
    has: () => true,
    get: (_t, p) => (typeof p === 'string' ? (headers[p] ?? '') : undefined),
  });
}

export function isTable(format: string): boolean {
  return format.startsWith(TABLE);
}

/** preFormat: strip "table", turn json into {{json .}}, trim spaces, expand \t and \n escapes. */
export function finalFormat(format: string): string {
  let f = format;
  if (isTable(f)) f = f.slice(TABLE.length);
  else if (f === 'json') f = '{{json .}}';
  f = f.replace(/^ +| +$/g, '');
  return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/**
 * Renders items as docker's formatter.Context.Write does and returns the text to print; a bad
 * template fails as it fails there ("template parsing error: ...", exit 1).
 */
export function formatItems(format: string, items: object[], headers: Record<string, string>): string {
  try {
    const tmpl = new Template(finalFormat(format));
    let body = '';
    for (const it of items) body += tmpl.execute(it) + '\n';
    if (!isTable(format)) return body;
    const header = new Template(finalFormat(format), HEADER_FUNCS).execute(headerContext(headers));
    return tabwrite(header + '\n' + body);
  } catch (e) {
    if (!(e instanceof TemplateSyntaxError || e instanceof TemplateExecError)) throw e;
    throw new StatusError(1, `template parsing error: ${e.message.startsWith('template') ? '' : 'template: '}${e.message}`);
  }
}

/** Sorted-key JSON of every getter, like formatter.MarshalJSON over a context's methods. */
export function contextJSON(ctx: object, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of [...names].sort()) out[n] = (ctx as Record<string, unknown>)[n];
  return out;
}

/** The LABELS column of ps, network ls and volume ls: k=v pairs, sorted, comma-separated. */
export function labelsColumn(labels: Record<string, string> | null | undefined): string {
  return Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(',');
}
