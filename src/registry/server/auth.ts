// Authentication (htpasswd users, HTTP basic, bearer JWTs) and authorization (per-repository
// public/private rules from the config). The server asks two questions: who is calling
// (authenticate) and may they do <action> on <repo> (decide).

import bcrypt from 'bcryptjs';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidParameterError } from '../../errors.js';
import type { AccessRule, RegistryConfig } from './config.js';
import { signJwt, verifyJwt, type TokenAccess, type TokenClaims } from './jwt.js';

export type Action = 'pull' | 'push' | 'delete';

export interface Identity {
  kind: 'anonymous' | 'basic' | 'bearer';
  /** User name; undefined for anonymous callers (and anonymous tokens). */
  user?: string;
  /** Bearer only: what the token grants, repo name → actions. */
  granted?: Map<string, Set<string>>;
}

export type Decision = 'allow' | 'unauthorized' | 'denied';

/** Parses an htpasswd file; only bcrypt entries are accepted (as distribution does). */
export function parseHtpasswd(text: string, file = 'htpasswd'): Map<string, string> {
  const users = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) return;
    const colon = l.indexOf(':');
    if (colon <= 0) throw new InvalidParameterError(`${file}:${i + 1}: expected user:hash`);
    const user = l.slice(0, colon);
    const hash = l.slice(colon + 1);
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      throw new InvalidParameterError(`${file}:${i + 1}: user ${user}: only bcrypt hashes are supported (htpasswd -B)`);
    }
    users.set(user, hash);
  });
  return users;
}

/**
 * Parses Docker's scope strings: `repository:name:pull,push`, `repository(plugin):name:pull`,
 * `registry:catalog:*`. The name may itself contain ":" (a host:port prefix), so the type is up
 * to the first colon and the actions after the last one.
 */
export function parseScope(scope: string): TokenAccess[] {
  const out: TokenAccess[] = [];
  for (const s of scope.split(' ')) {
    if (s === '') continue;
    const first = s.indexOf(':');
    const last = s.lastIndexOf(':');
    if (first <= 0 || last === first) continue;
    const type = s.slice(0, first).replace(/\(.*\)$/, '');
    out.push({ type, name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter((a) => a !== '') });
  }
  return out;
}

export class AccessController {
  private users = new Map<string, string>();
  private usersMtime = 0;
  private readonly verified = new Map<string, number>();
  private secret: Buffer = Buffer.alloc(0);

  constructor(readonly config: RegistryConfig, private readonly root: string) {}

  get enabled(): boolean {
    return this.config.auth !== undefined;
  }

  async init(): Promise<void> {
    const auth = this.config.auth;
    if (!auth) return;
    await this.reloadUsers();
    const keyFile = auth.secretFile ?? join(this.root, '_auth', 'token.key');
    try {
      this.secret = readFileSync(keyFile);
    } catch {
      await fsp.mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
      const key = randomBytes(32);
      // wx: two servers starting at once must not end up with different keys.
      await fsp.writeFile(keyFile, key, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
      this.secret = readFileSync(keyFile);
    }
    if (this.secret.length < 16) throw new InvalidParameterError(`token key ${keyFile} is shorter than 16 bytes`);
  }

  /** Re-reads the htpasswd file when it changed, so adding a user needs no restart. */
  private async reloadUsers(): Promise<void> {
    const file = this.config.auth!.htpasswd;
    const st = await fsp.stat(file).catch((e: Error) => { throw new InvalidParameterError(`htpasswd ${file}: ${e.message}`); });
    if (st.mtimeMs === this.usersMtime) return;
    this.users = parseHtpasswd(await fsp.readFile(file, 'utf8'), file);
    this.usersMtime = st.mtimeMs;
    this.verified.clear();
  }

  /** Checks a user's password. Successful checks are cached for a minute: bcrypt is slow by design. */
  async checkPassword(user: string, password: string): Promise<boolean> {
    await this.reloadUsers().catch(() => undefined);
    const hash = this.users.get(user);
    if (hash === undefined) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    const until = this.verified.get(key);
    if (until !== undefined && until > Date.now()) return true;
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      if (this.verified.size > 10000) this.verified.clear();
      this.verified.set(key, Date.now() + 60_000);
    }
    return ok;
  }

  /** Who is calling. Returns undefined when credentials were given but are wrong. */
  async authenticate(header: string | undefined): Promise<Identity | undefined> {
    if (!this.enabled || header === undefined || header === '') return { kind: 'anonymous' };
    const sp = header.indexOf(' ');
    const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
    const value = sp < 0 ? '' : header.slice(sp + 1).trim();
    if (scheme === 'basic') {
      const creds = parseBasic(value);
      if (!creds || !(await this.checkPassword(creds.user, creds.password))) return undefined;
      return { kind: 'basic', user: creds.user };
    }
    if (scheme === 'bearer') {
      const auth = this.config.auth!;
      const claims = verifyJwt(value, this.secret, { aud: auth.service, iss: auth.issuer });
      if (!claims) return undefined;
      const granted = new Map<string, Set<string>>();
      for (const a of claims.access) {
        if (a.type !== 'repository') continue;
        const set = granted.get(a.name) ?? new Set<string>();
        for (const act of a.actions) set.add(act);
        granted.set(a.name, set);
      }
      const id: Identity = { kind: 'bearer', granted };
      if (claims.sub !== '') id.user = claims.sub;
      return id;
    }
    return undefined;
  }

  rule(repo: string): AccessRule {
    return this.config.repositories.find((r) => r.pattern.test(repo)) ?? this.config.defaultAccess;
  }

  private principalMatches(p: string, user: string | undefined): boolean {
    if (user === undefined) return false;
    if (p === '*') return true;
    if (p.startsWith('group:')) return this.config.groups[p.slice(6)]?.includes(user) ?? false;
    return p === user;
  }

  /** What the rules allow `user` (undefined = anonymous) to do on `repo`, ignoring tokens. */
  allowed(user: string | undefined, repo: string, action: Action): boolean {
    if (!this.enabled) return true;
    const r = this.rule(repo);
    const any = (list: string[]): boolean => list.some((p) => this.principalMatches(p, user));
    switch (action) {
      case 'pull': return r.access === 'public' || any(r.pull) || any(r.push);
      case 'push': return any(r.push);
      case 'delete': return any(r.delete ?? r.push);
    }
  }

  /**
   * May `id` do `action` on `repo`? "unauthorized" means better credentials could help (401 with
   * a challenge); "denied" means this known user may not (403 DENIED).
   */
  decide(id: Identity, repo: string, action: Action): Decision {
    if (!this.enabled) return 'allow';
    if (id.kind === 'bearer') {
      const g = id.granted?.get(repo);
      if (g && (g.has(action) || g.has('*'))) return 'allow';
      if (id.user !== undefined && !this.allowed(id.user, repo, action)) return 'denied';
      return 'unauthorized';
    }
    if (this.allowed(id.user, repo, action)) return 'allow';
    return id.kind === 'basic' ? 'denied' : 'unauthorized';
  }

  /** Issues a bearer token granting the requested scopes that the rules allow `user`. */
  issueToken(user: string | undefined, scopes: string[]): { token: string; expiresIn: number; issuedAt: string; access: TokenAccess[] } {
    const auth = this.config.auth!;
    const access: TokenAccess[] = [];
    for (const s of scopes) {
      for (const req of parseScope(s)) {
        if (req.type === 'repository') {
          const actions = new Set<string>();
          const wanted = req.actions.includes('*') ? ['pull', 'push', 'delete'] : req.actions;
          for (const a of wanted) {
            if ((a === 'pull' || a === 'push' || a === 'delete') && this.allowed(user, req.name, a)) actions.add(a);
          }
          access.push({ type: 'repository', name: req.name, actions: [...actions] });
        } else if (req.type === 'registry' && req.name === 'catalog') {
          // The catalog is filtered per caller, so anyone may ask for it.
          access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
        }
      }
    }
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = {
      iss: auth.issuer,
      sub: user ?? '',
      aud: auth.service,
      exp: now + auth.tokenTtlSeconds,
      nbf: now - 1,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    return { token: signJwt(claims, this.secret), expiresIn: auth.tokenTtlSeconds, issuedAt: new Date(now * 1000).toISOString(), access };
  }
}

export function parseBasic(value: string): { user: string; password: string } | undefined {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
