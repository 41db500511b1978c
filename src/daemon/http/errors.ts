// The one place where error kinds become HTTP status codes (as moby's httpstatus does).
import { ErrorKind, isBerthError } from '../../errors.js';

const STATUS: Record<ErrorKind, number> = {
  InvalidParameter: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  NotModified: 304,
  NotImplemented: 501,
  Unavailable: 503,
  System: 500,
};

export function statusOf(e: unknown): number {
  if (isBerthError(e)) return STATUS[e.kind];
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 404;
  return 500;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
