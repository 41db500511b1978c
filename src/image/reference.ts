// Docker's image reference grammar (distribution/reference): [domain/]path[:tag][@digest].
import { InvalidParameterError } from '../errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

const alnum = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alnum}(?:${separator}${alnum})*`;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const host = `(?:${domainName}|${ipv6})`;
const domain = `${host}(?::[0-9]+)?`;
const tag = '[\\w][\\w.-]{0,127}';
const digest = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const name = `(?:${domain}/)?${pathComponent}(?:/${pathComponent})*`;

const REFERENCE_RE = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`);
const PATH_RE = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const DOMAIN_RE = new RegExp(`^${domain}$`);
export const TAG_RE = new RegExp(`^${tag}$`);
const ANCHORED_ID = /^[a-f0-9]{64}$/;
const NAME_TOTAL_LENGTH_MAX = 255;

export interface Reference {
  /** Registry host (and port), e.g. docker.io, localhost:5000. */
  domain: string;
  /** Repository path within the registry, e.g. library/busybox. */
  path: string;
  tag?: string;
  digest?: string;
}

export class InvalidReferenceError extends InvalidParameterError {}

function splitDomain(n: string): { domain: string; path: string } {
  const i = n.indexOf('/');
  let d: string;
  let p: string;
  if (i === -1 || (!/[.:]/.test(n.slice(0, i)) && n.slice(0, i) !== 'localhost' && n.slice(0, i).toLowerCase() === n.slice(0, i))) {
    d = DEFAULT_DOMAIN;
    p = n;
  } else {
    d = n.slice(0, i);
    p = n.slice(i + 1);
  }
  if (d === LEGACY_DEFAULT_DOMAIN) d = DEFAULT_DOMAIN;
  if (d === DEFAULT_DOMAIN && !p.includes('/')) p = OFFICIAL_REPO_PREFIX + p;
  return { domain: d, path: p };
}

/**
 * Parses a reference the way `docker` does (ParseNormalizedNamed): short names get
 * docker.io/library/. Throws with Docker's wording, including its order of checks: the
 * lowercase check on the (normalised) repository comes before the grammar.
 */
export function parseReference(input: string): Reference {
  if (ANCHORED_ID.test(input)) {
    throw new InvalidReferenceError(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  const { domain: d0, path: remainder } = splitDomain(input);
  const tagSep = remainder.indexOf(':');
  const remoteName = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remoteName.toLowerCase() !== remoteName) {
    throw new InvalidReferenceError(`invalid reference format: repository name (${remoteName}) must be lowercase`);
  }
  const full = `${d0}/${remainder}`;
  const m = REFERENCE_RE.exec(full);
  if (!m) {
    if (REFERENCE_RE.test(full.toLowerCase())) throw new InvalidReferenceError('invalid reference format: repository name must be lowercase');
    throw new InvalidReferenceError('invalid reference format');
  }
  const [, n, t, dg] = m;
  if (n.length > NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidReferenceError(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const i = n.indexOf('/');
  const d = n.slice(0, i);
  const p = n.slice(i + 1);
  if (!DOMAIN_RE.test(d) || !PATH_RE.test(p)) throw new InvalidReferenceError('invalid reference format');
  const ref: Reference = { domain: d, path: p };
  if (t !== undefined) ref.tag = t;
  if (dg !== undefined) ref.digest = dg.toLowerCase();
  return ref;
}

/** Adds :latest when the reference has neither tag nor digest (TagNameOnly). */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** docker.io/library/busybox */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** busybox, foo/bar, localhost:5000/x: the name users see. */
export function familiarRepository(ref: Reference): string {
  if (ref.domain === DEFAULT_DOMAIN) {
    return ref.path.startsWith(OFFICIAL_REPO_PREFIX) ? ref.path.slice(OFFICIAL_REPO_PREFIX.length) : ref.path;
  }
  return `${ref.domain}/${ref.path}`;
}

/** busybox:latest, busybox@sha256:..., localhost:5000/x:1 */
export function familiarString(ref: Reference): string {
  let s = familiarRepository(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** docker.io/library/busybox:latest: the key tags are stored under. */
export function fullString(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

export function isValidTag(t: string): boolean {
  return TAG_RE.test(t);
}
