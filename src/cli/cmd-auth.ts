// `berth login` / `berth logout` and the credentials they keep, in docker's config.json (the same
// file and format as the docker CLI, so either CLI can use what the other stored); pull and push
// send them to the daemon as X-Registry-Auth, as docker does.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { Command } from 'commander';

import type { Cli } from './context.js';
import { PROG, StatusError } from './context.js';
import { defineCommand } from './command.js';
import type { Outcome } from './command.js';

/** Where Docker Hub's credentials are kept, as the docker CLI names it. */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  [key: string]: unknown;
}

function configPath(cli: Cli): string {
  return join(cli.io.env.DOCKER_CONFIG || join(cli.io.env.HOME || homedir(), '.docker'), 'config.json');
}

function readConfig(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed as ConfigFile : {};
  } catch (e) {
    throw new StatusError(1, `loading config file: ${path}: ${(e as Error).message}`);
  }
}

/** Written as the docker CLI writes it: tab-indented, 0600, replaced in one rename. */
function writeConfig(path: string, cfg: ConfigFile): void {
  const dir = join(path, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(cfg, null, '\t'), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** A config key's registry host: "https://index.docker.io/v1/" and "http://host:5000/" → the host. */
function hostnameOf(server: string): string {
  return server.replace(/^https?:\/\//, '').split('/')[0]!;
}

/** The key login stores a server under: Docker Hub's index address, or the server as given. */
function serverKey(server: string | undefined): string {
  if (!server || server === 'docker.io' || server === 'index.docker.io' || server === 'registry-1.docker.io') return INDEX_SERVER;
  return server;
}

function findAuth(cfg: ConfigFile, key: string): { key: string; username: string; password: string } | undefined {
  const auths = cfg.auths ?? {};
  const host = hostnameOf(key);
  const found = key in auths ? key : Object.keys(auths).find((k) => hostnameOf(k) === host);
  const entry = found ? auths[found] : undefined;
  if (!found || !entry?.auth) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { key: found, username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/**
 * The X-Registry-Auth header for an image's registry (its reference's domain): the stored
 * credentials as URL-safe base64 JSON, or "{}" when there are none.
 */
export function registryAuthHeader(cli: Cli, domain: string): string {
  const key = domain === 'docker.io' ? INDEX_SERVER : domain;
  let found: ReturnType<typeof findAuth>;
  try {
    found = findAuth(readConfig(configPath(cli)), key);
  } catch {
    found = undefined;
  }
  const body = found ? { username: found.username, password: found.password, serveraddress: key } : {};
  // Go's base64.URLEncoding: the URL alphabet, with padding.
  return Buffer.from(JSON.stringify(body)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

async function readStdin(cli: Cli): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of cli.io.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** A line from the terminal; with `secret` the typing is not echoed. */
function prompt(cli: Cli, question: string, secret: boolean): Promise<string> {
  const stdin = cli.io.stdin;
  cli.out(question);
  return new Promise((resolvePromise) => {
    let line = '';
    const raw = secret && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
    if (raw) stdin.setRawMode!(true);
    const onData = (b: Buffer): void => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.off('data', onData);
          if (raw) { stdin.setRawMode!(false); cli.out('\n'); }
          stdin.pause();
          resolvePromise(line);
          return;
        }
        if (ch === '\u0003') { if (raw) stdin.setRawMode!(false); throw new StatusError(130, ''); }
        line = ch === '\u007f' ? line.slice(0, -1) : line + ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

const STORE_WARNING = (path: string): string => `WARNING! Your credentials are stored unencrypted in '${path}'.
Configure a credential helper to remove this warning. See
https://docs.docker.com/go/credential-store/
`;

async function login(cli: Cli, server: string | undefined, o: { username?: string; password?: string; passwordStdin?: boolean }): Promise<number> {
  const key = serverKey(server);
  const path = configPath(cli);
  const cfg = readConfig(path);
  if (o.password !== undefined && o.passwordStdin) throw new StatusError(1, 'conflicting options: cannot specify both --password and --password-stdin');
  if (o.passwordStdin && !o.username) throw new StatusError(1, 'Must provide --username with --password-stdin');
  let username = o.username?.trim();
  let password = o.password;
  if (o.password !== undefined) cli.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (o.passwordStdin) password = (await readStdin(cli)).replace(/[\r\n]+$/, '');
  const interactive = cli.io.stdin.isTTY === true;
  if (!username && !password) {
    const stored = findAuth(cfg, key);
    if (stored && !interactive) {
      // As docker: without new credentials, the stored ones are checked again (and kept as they are).
      cli.err(`Authenticating with existing credentials... [Username: ${stored.username}]\n\n Info -> To login with a different account, run '${PROG} logout' followed by '${PROG} login'\n\n`);
      await cli.client.json('POST', '/auth', { body: { username: stored.username, password: stored.password, serveraddress: key } });
      cli.out('Login Succeeded\n');
      return 0;
    }
  }
  if (!username) {
    if (!interactive) throw new StatusError(1, 'Error: Cannot perform an interactive login from a non TTY device');
    username = (await prompt(cli, 'Username: ', false)).trim();
    if (!username) throw new StatusError(1, 'Error: Non-null Username Required');
  }
  if (!password) {
    if (!interactive) throw new StatusError(1, 'Error: Cannot perform an interactive login from a non TTY device');
    password = await prompt(cli, 'Password: ', true);
    if (!password) throw new StatusError(1, 'Error: Password Required');
  }
  await cli.client.json('POST', '/auth', { body: { username, password, serveraddress: key } });
  const auths = { ...(cfg.auths ?? {}) };
  auths[key] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  writeConfig(path, { ...cfg, auths });
  cli.err(`\n${STORE_WARNING(path)}\n`);
  cli.out('Login Succeeded\n');
  return 0;
}

function logout(cli: Cli, server: string | undefined): number {
  const key = serverKey(server);
  const path = configPath(cli);
  const cfg = readConfig(path);
  const host = hostnameOf(key);
  cli.out(`Removing login credentials for ${key === INDEX_SERVER ? key : host}\n`);
  const auths = Object.fromEntries(Object.entries(cfg.auths ?? {}).filter(([k]) => k !== key && hostnameOf(k) !== host));
  if (cfg.auths && Object.keys(auths).length !== Object.keys(cfg.auths).length) writeConfig(path, { ...cfg, auths });
  return 0;
}

export function registerAuthCommands(parent: Command, cli: Cli, outcome: Outcome): void {
  defineCommand(parent, '', { name: 'login', usage: '[OPTIONS] [SERVER]', description: 'Authenticate to a registry', maxArgs: 1 }, cli, outcome, (c, a, o) =>
    login(c, a[0], o as { username?: string; password?: string; passwordStdin?: boolean }),
  )
    .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
    .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin')
    .option('-u, --username <string>', 'Username');
  defineCommand(parent, '', { name: 'logout', usage: '[SERVER]', description: 'Log out from a registry', maxArgs: 1 }, cli, outcome, async (c, a) => logout(c, a[0]));
}
