import { randomBytes, createHash } from 'node:crypto';

/** A new 64-hex ID, as Docker uses for containers, execs and networks. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export const HEX64 = /^[a-f0-9]{64}$/;
