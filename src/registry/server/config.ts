// The registry's config file. Format: JSON (chosen over YAML so the server needs no parser
// dependency; every key is checked and unknown keys are errors, so a typo never silently
// opens a repository). Paths in the file are relative to the file's directory.
//
// {
//   "auth": {                               // omit to run without authentication
//     "htpasswd": "htpasswd",               // bcrypt entries only (htpasswd -B)
//     "challenge": "bearer",                // "bearer" (token endpoint) or "basic"
//     "service": "berth-registry",          // token audience / WWW-Authenticate service
//     "issuer": "berth-registry",
//     "realm": "https://reg.example/token", // default: <scheme>://<Host header>/token
//     "tokenTtlSeconds": 300,
//     "secretFile": "token.key"             // HS256 key; default <root>/_auth/token.key
//   },
//   "groups": { "devs": ["alice", "bob"] },
//   "repositories": [                       // first match wins; "*" = one path component, "**" = any
//     { "match": "library/**", "access": "public", "push": ["group:devs"] },
//     { "match": "secret/*", "access": "private", "pull": ["carol"], "push": ["alice"], "delete": ["alice"] }
//   ],
//   "defaultAccess": { "access": "private", "pull": ["*"], "push": ["*"] },  // "*" = any authenticated user
//   "delete": true,                         // allow DELETE of manifests, tags and blobs (default false)
//   "gc": { "gracePeriodSeconds": 3600, "uploadPurgeAgeSeconds": 86400 },
//   "limits": { "maxManifestBytes": 4194304, "requestsPerSecond": 0, "burst": 0 },
//   "log": { "access": true }
// }

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidParameterError } from '../../errors.js';

export type AccessKind = 'public' | 'private';

export interface AccessRule {
  access: AccessKind;
  /** Principals: user names, "group:<name>", or "*" for any authenticated user. */
  pull: string[];
  push: string[];
  /** Defaults to the push list. */
  delete?: string[];
}

export interface RepositoryRule extends AccessRule {
  match: string;
  pattern: RegExp;
}

export interface AuthConfig {
  htpasswd: string;
  challenge: 'bearer' | 'basic';
  service: string;
  issuer: string;
  realm?: string;
  tokenTtlSeconds: number;
  secretFile?: string;
}

export interface RegistryConfig {
  auth?: AuthConfig;
  groups: Record<string, string[]>;
  repositories: RepositoryRule[];
  defaultAccess: AccessRule;
  deleteEnabled: boolean;
  gc: { gracePeriodSeconds: number; uploadPurgeAgeSeconds: number };
  limits: { maxManifestBytes: number; requestsPerSecond: number; burst: number };
  log: { access: boolean };
}

export function defaultConfig(): RegistryConfig {
  return {
    groups: {},
    repositories: [],
    defaultAccess: { access: 'private', pull: ['*'], push: ['*'] },
    deleteEnabled: false,
    gc: { gracePeriodSeconds: 3600, uploadPurgeAgeSeconds: 86400 },
    limits: { maxManifestBytes: 4 * 1024 * 1024, requestsPerSecond: 0, burst: 0 },
    log: { access: true },
  };
}

/** Turns a repository glob into an anchored RegExp: `*` stays inside one path component. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') { re += '.*'; i++; } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

type Json = unknown;

function fail(path: string, msg: string): never {
  throw new InvalidParameterError(`registry config: ${path}: ${msg}`);
}

function obj(v: Json, path: string, keys: string[]): Record<string, Json> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  const o = v as Record<string, Json>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${path}.${k}`, `unknown key (allowed: ${keys.join(', ')})`);
  return o;
}

function str(v: Json, path: string): string {
  if (typeof v !== 'string' || v === '') fail(path, 'must be a non-empty string');
  return v;
}

function num(v: Json, path: string, min = 0): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(path, `must be a number >= ${min}`);
  return v;
}

function bool(v: Json, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be true or false');
  return v;
}

function strList(v: Json, path: string): string[] {
  if (!Array.isArray(v)) fail(path, 'must be an array of strings');
  return v.map((x, i) => str(x, `${path}[${i}]`));
}

function accessRule(v: Json, path: string, withMatch: boolean): AccessRule & { match?: string } {
  const o = obj(v, path, withMatch ? ['match', 'access', 'pull', 'push', 'delete'] : ['access', 'pull', 'push', 'delete']);
  const access = o.access ?? 'private';
  if (access !== 'public' && access !== 'private') fail(`${path}.access`, 'must be "public" or "private"');
  const rule: AccessRule & { match?: string } = {
    access,
    pull: o.pull === undefined ? [] : strList(o.pull, `${path}.pull`),
    push: o.push === undefined ? [] : strList(o.push, `${path}.push`),
  };
  if (o.delete !== undefined) rule.delete = strList(o.delete, `${path}.delete`);
  if (withMatch) rule.match = str(o.match, `${path}.match`);
  return rule;
}

/** Validates a parsed config object; `baseDir` resolves relative paths. */
export function parseConfig(raw: Json, baseDir: string): RegistryConfig {
  const cfg = defaultConfig();
  const o = obj(raw, '$', ['auth', 'groups', 'repositories', 'defaultAccess', 'delete', 'gc', 'limits', 'log']);
  if (o.auth !== undefined) {
    const a = obj(o.auth, '$.auth', ['htpasswd', 'challenge', 'service', 'issuer', 'realm', 'tokenTtlSeconds', 'secretFile']);
    const challenge = a.challenge ?? 'bearer';
    if (challenge !== 'bearer' && challenge !== 'basic') fail('$.auth.challenge', 'must be "bearer" or "basic"');
    cfg.auth = {
      htpasswd: resolve(baseDir, str(a.htpasswd, '$.auth.htpasswd')),
      challenge,
      service: a.service === undefined ? 'berth-registry' : str(a.service, '$.auth.service'),
      issuer: a.issuer === undefined ? 'berth-registry' : str(a.issuer, '$.auth.issuer'),
      tokenTtlSeconds: a.tokenTtlSeconds === undefined ? 300 : num(a.tokenTtlSeconds, '$.auth.tokenTtlSeconds', 1),
    };
    if (a.realm !== undefined) cfg.auth.realm = str(a.realm, '$.auth.realm');
    if (a.secretFile !== undefined) cfg.auth.secretFile = resolve(baseDir, str(a.secretFile, '$.auth.secretFile'));
  }
  if (o.groups !== undefined) {
    const g = obj(o.groups, '$.groups', Object.keys(o.groups as object));
    for (const [k, v] of Object.entries(g)) cfg.groups[k] = strList(v, `$.groups.${k}`);
  }
  if (o.repositories !== undefined) {
    if (!Array.isArray(o.repositories)) fail('$.repositories', 'must be an array');
    cfg.repositories = o.repositories.map((r, i) => {
      const rule = accessRule(r, `$.repositories[${i}]`, true);
      const match = rule.match!;
      return { ...rule, match, pattern: globToRegExp(match) };
    });
  }
  if (o.defaultAccess !== undefined) cfg.defaultAccess = accessRule(o.defaultAccess, '$.defaultAccess', false);
  if (o.delete !== undefined) cfg.deleteEnabled = bool(o.delete, '$.delete');
  if (o.gc !== undefined) {
    const g = obj(o.gc, '$.gc', ['gracePeriodSeconds', 'uploadPurgeAgeSeconds']);
    if (g.gracePeriodSeconds !== undefined) cfg.gc.gracePeriodSeconds = num(g.gracePeriodSeconds, '$.gc.gracePeriodSeconds');
    if (g.uploadPurgeAgeSeconds !== undefined) cfg.gc.uploadPurgeAgeSeconds = num(g.uploadPurgeAgeSeconds, '$.gc.uploadPurgeAgeSeconds');
  }
  if (o.limits !== undefined) {
    const l = obj(o.limits, '$.limits', ['maxManifestBytes', 'requestsPerSecond', 'burst']);
    if (l.maxManifestBytes !== undefined) cfg.limits.maxManifestBytes = num(l.maxManifestBytes, '$.limits.maxManifestBytes', 1);
    if (l.requestsPerSecond !== undefined) cfg.limits.requestsPerSecond = num(l.requestsPerSecond, '$.limits.requestsPerSecond');
    if (l.burst !== undefined) cfg.limits.burst = num(l.burst, '$.limits.burst');
  }
  if (o.log !== undefined) {
    const l = obj(o.log, '$.log', ['access']);
    if (l.access !== undefined) cfg.log.access = bool(l.access, '$.log.access');
  }
  for (const [i, r] of cfg.repositories.entries()) checkPrincipals(cfg, r, `$.repositories[${i}]`);
  checkPrincipals(cfg, cfg.defaultAccess, '$.defaultAccess');
  return cfg;
}

function checkPrincipals(cfg: RegistryConfig, r: AccessRule, path: string): void {
  for (const p of [...r.pull, ...r.push, ...(r.delete ?? [])]) {
    if (p.startsWith('group:') && !(p.slice(6) in cfg.groups)) fail(path, `unknown group ${JSON.stringify(p.slice(6))}`);
  }
}

export function loadConfig(file: string | undefined): RegistryConfig {
  if (file === undefined) return defaultConfig();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidParameterError(`registry config: cannot read ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InvalidParameterError(`registry config: ${file} is not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, dirname(resolve(file)));
}
