// Grammar of the things that appear in registry URLs. Every path component that reaches the
// filesystem passes one of these checks first, which is what keeps `..`, `/` and `%2e` out of
// the storage paths.

import { RegistryError } from './errors.js';

// distribution/reference: path components of lowercase alphanumerics joined by separators.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
export const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const MAX_NAME_LENGTH = 255;
export const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
// Only sha256 is stored; the general OCI digest grammar is checked first so a well-formed
// digest of another algorithm gets a clear "unsupported algorithm" detail.
export const DIGEST_GRAMMAR_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
export const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
export const UPLOAD_ID_RE = /^[a-f0-9]{32}$/;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_RE.test(name);
}

export function checkName(name: string): string {
  if (!isValidName(name)) throw new RegistryError('NAME_INVALID', { name });
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function isDigest(s: string): boolean {
  return SHA256_RE.test(s);
}

/** Validates a digest given by a client; returns its hex part. */
export function checkDigest(digest: string): string {
  if (SHA256_RE.test(digest)) return digest.slice(7);
  if (DIGEST_GRAMMAR_RE.test(digest) && !digest.startsWith('sha256:')) {
    throw new RegistryError('DIGEST_INVALID', { digest, reason: 'unsupported digest algorithm (only sha256)' });
  }
  throw new RegistryError('DIGEST_INVALID', { digest, reason: 'invalid digest format' });
}
