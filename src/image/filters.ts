// The `filters` of GET /images/json and POST /images/prune, with Docker's rules and wording.
import { InvalidParameterError } from '../errors.js';
import { Reference, familiarRepository, familiarString } from './reference.js';

/** Go's path.Match: `*` and `?` never match `/`; `[...]` classes with `^` negation. */
export function pathMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) { i++; re += escapeRe(pattern[i]); }
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) throw new InvalidParameterError(`syntax error in pattern: ${pattern}`);
      let body = pattern.slice(i + 1, end);
      let neg = false;
      if (body.startsWith('^')) { neg = true; body = body.slice(1); }
      re += `[${neg ? '^' : ''}${body.replace(/[\]\\]/g, '\\$&')}${neg ? '/' : ''}]`;
      i = end;
    } else re += escapeRe(c);
  }
  re += '$';
  return new RegExp(re).test(name);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** reference.FamiliarMatch: the familiar string, then the familiar name alone. */
export function referenceMatches(pattern: string, ref: Reference): boolean {
  return pathMatch(pattern, familiarString(ref)) || pathMatch(pattern, familiarRepository(ref));
}

export function checkFilterKeys(filters: Map<string, string[]>, allowed: string[]): void {
  for (const k of filters.keys()) {
    if (!allowed.includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  }
}

/** dangling=true|false (also 1/0), Docker's text for anything else. */
export function danglingFilter(filters: Map<string, string[]>): boolean | undefined {
  const v = filters.get('dangling');
  if (!v || v.length === 0) return undefined;
  let out: boolean | undefined;
  for (const s of v) {
    const l = s.toLowerCase();
    let b: boolean;
    if (l === 'true' || l === '1') b = true;
    else if (l === 'false' || l === '0') b = false;
    else throw new InvalidParameterError(`Invalid filter 'dangling=${s}'`);
    out = out === undefined ? b : out || b;
  }
  return out;
}

/** label=key or label=key=value against an image's labels; every given label must match. */
export function labelsMatch(values: string[] | undefined, labels: Record<string, string> | undefined): boolean {
  if (!values || values.length === 0) return true;
  const l = labels ?? {};
  return values.every((v) => {
    const i = v.indexOf('=');
    if (i === -1) return Object.prototype.hasOwnProperty.call(l, v);
    return l[v.slice(0, i)] === v.slice(i + 1);
  });
}

/** label!=... (prune): no given label may match. */
export function labelsExclude(values: string[] | undefined, labels: Record<string, string> | undefined): boolean {
  if (!values || values.length === 0) return true;
  return values.every((v) => !labelsMatch([v], labels));
}

