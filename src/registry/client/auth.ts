// Registry credentials and the WWW-Authenticate dance: Docker's AuthConfig (X-Registry-Auth),
// ~/.docker/config.json auths and credential helpers, Basic and Bearer challenges.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError } from '../../errors.js';

/** Docker's AuthConfig, as the CLI sends it base64url-encoded in X-Registry-Auth. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface Credentials {
  username?: string;
  password?: string;
  /** OAuth refresh token (docker login with identity tokens). */
  identityToken?: string;
  /** A bearer token to send as is. */
  registryToken?: string;
}

export function hasCredentials(c: Credentials | undefined): c is Credentials {
  return !!c && !!(c.username || c.identityToken || c.registryToken);
}

/** Decodes X-Registry-Auth (base64url JSON; `e30=` is `{}`). Garbage is a 400, as in Docker. */
export function decodeRegistryAuth(header: string | undefined): AuthConfig | undefined {
  if (!header || header.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header.trim(), 'base64').toString('utf8'));
  } catch {
    throw new InvalidParameterError('invalid X-Registry-Auth header: not base64-encoded JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new InvalidParameterError('invalid X-Registry-Auth header: not a JSON object');
  return parsed as AuthConfig;
}

export function credentialsFromAuthConfig(a: AuthConfig | undefined): Credentials | undefined {
  if (!a) return undefined;
  let { username, password } = a;
  if (!username && a.auth) {
    const plain = Buffer.from(a.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) { username = plain.slice(0, i); password = plain.slice(i + 1); }
  }
  const c: Credentials = {};
  if (username) { c.username = username; c.password = password ?? ''; }
  if (a.identitytoken) c.identityToken = a.identitytoken;
  if (a.registrytoken) c.registryToken = a.registrytoken;
  return hasCredentials(c) ? c : undefined;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

export function dockerConfigPath(): string {
  return join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** The keys docker uses in config.json for a registry host. */
function configKeys(host: string): string[] {
  if (host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];
}

async function fromHelper(helper: string, serverUrl: string): Promise<Credentials | undefined> {
  return new Promise((resolve) => {
    const p = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('error', () => { clearTimeout(timer); resolve(undefined); });
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return resolve(undefined);
      try {
        const r = JSON.parse(out) as { Username?: string; Secret?: string };
        if (!r.Secret) return resolve(undefined);
        // Docker's convention: user "<token>" means the secret is an identity token.
        resolve(r.Username === '<token>' ? { identityToken: r.Secret } : { username: r.Username ?? '', password: r.Secret });
      } catch { resolve(undefined); }
    });
    p.stdin.end(serverUrl);
  });
}

/** Credentials stored by `docker login`/`berth login` for a registry host, if any. */
export async function credentialsFromDockerConfig(host: string, file = dockerConfigPath()): Promise<Credentials | undefined> {
  let cfg: DockerConfigFile;
  try { cfg = JSON.parse(readFileSync(file, 'utf8')) as DockerConfigFile; } catch { return undefined; }
  const keys = configKeys(host);
  const helper = keys.map((k) => cfg.credHelpers?.[k]).find(Boolean) ?? cfg.credsStore;
  if (helper) {
    const c = await fromHelper(helper, keys[0]);
    if (c) return c;
  }
  for (const k of keys) {
    const e = cfg.auths?.[k];
    if (!e) continue;
    const c = credentialsFromAuthConfig({ auth: e.auth, username: e.username, password: e.password, identitytoken: e.identitytoken });
    if (c) return c;
  }
  return undefined;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses WWW-Authenticate: `Bearer realm="...",service="...",scope="..."` (several challenges allowed). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (!header) return [];
  const text = Array.isArray(header) ? header.join(', ') : header;
  const out: Challenge[] = [];
  const re = /([A-Za-z][A-Za-z0-9_-]*)(?:\s+((?:[A-Za-z0-9_-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*))?/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].trim() === '') { re.lastIndex++; continue; }
    const params: Record<string, string> = {};
    const pre = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
    let p: RegExpExecArray | null;
    while ((p = pre.exec(m[2] ?? '')) !== null) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    out.push({ scheme: m[1].toLowerCase(), params });
  }
  return out;
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username ?? ''}:${c.password ?? ''}`).toString('base64')}`;
}
