// Typed errors that every part of berth throws. The daemon maps each kind to an HTTP status
// in exactly one place (daemon/http/errors.ts), as moby's errdefs/httpstatus do.

export type ErrorKind =
  | 'InvalidParameter' // 400
  | 'Unauthorized' // 401
  | 'Forbidden' // 403
  | 'NotFound' // 404
  | 'Conflict' // 409
  | 'NotModified' // 304
  | 'NotImplemented' // 501
  | 'Unavailable' // 503
  | 'System'; // 500

export class BerthError extends Error {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.name = `${kind}Error`;
  }
}

export class InvalidParameterError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('InvalidParameter', message, options); }
}
export class UnauthorizedError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('Unauthorized', message, options); }
}
export class ForbiddenError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('Forbidden', message, options); }
}
export class NotFoundError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('NotFound', message, options); }
}
export class ConflictError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('Conflict', message, options); }
}
export class NotModifiedError extends BerthError {
  constructor(message = 'not modified') { super('NotModified', message); }
}
export class NotImplementedError extends BerthError {
  constructor(message: string) { super('NotImplemented', message); }
}
export class UnavailableError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('Unavailable', message, options); }
}
export class SystemError extends BerthError {
  constructor(message: string, options?: { cause?: unknown }) { super('System', message, options); }
}

export function isBerthError(e: unknown): e is BerthError {
  return e instanceof BerthError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
