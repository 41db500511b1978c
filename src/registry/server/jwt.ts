// Minimal HS256 JSON Web Tokens for the token endpoint. The registry is the only party that
// verifies its tokens (Docker clients treat them as opaque), so a shared-secret MAC suffices.

import { createHmac, timingSafeEqual } from 'node:crypto';

export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  access: TokenAccess[];
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

export function signJwt(claims: TokenClaims, secret: Buffer): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Returns the claims of a valid, unexpired token for `aud`/`iss`, or undefined. */
export function verifyJwt(token: string, secret: Buffer, expect: { aud: string; iss: string }, nowSec = Date.now() / 1000): TokenClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [head, body, sig] = parts as [string, string, string];
  const want = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const got = Buffer.from(sig, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
  try {
    const h = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: unknown };
    if (h.alg !== 'HS256') return undefined;
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims;
    const leeway = 60;
    if (typeof c.exp !== 'number' || c.exp + leeway < nowSec) return undefined;
    if (typeof c.nbf === 'number' && c.nbf - leeway > nowSec) return undefined;
    if (c.aud !== expect.aud || c.iss !== expect.iss) return undefined;
    if (!Array.isArray(c.access)) return undefined;
    return c;
  } catch {
    return undefined;
  }
}
