// The daemon answers failures as {"message": ...} with an HTTP status; the client turns them back
// into the typed errors of src/errors.ts, keeping the status because callers branch on it (a 404
// on create is what starts `run`'s pull path, a 304 on stop is not a failure).
import {
  BerthError,
  ConflictError,
  ForbiddenError,
  InvalidParameterError,
  NotFoundError,
  NotImplementedError,
  NotModifiedError,
  SystemError,
  UnauthorizedError,
  UnavailableError,
} from '../errors.js';

export interface DaemonErrorInfo {
  /** HTTP status the daemon answered with. */
  readonly statusCode: number;
  /** true: the text came from the daemon, so the CLI prefixes "Error response from daemon: ". */
  readonly fromDaemon: true;
}
export type DaemonError = BerthError & DaemonErrorInfo;

export function errorFromStatus(statusCode: number, message: string): DaemonError {
  let e: BerthError;
  switch (statusCode) {
    case 304: e = new NotModifiedError(message); break;
    case 400: e = new InvalidParameterError(message); break;
    case 401: e = new UnauthorizedError(message); break;
    case 403: e = new ForbiddenError(message); break;
    case 404: e = new NotFoundError(message); break;
    case 409: e = new ConflictError(message); break;
    case 501: e = new NotImplementedError(message); break;
    case 503: e = new UnavailableError(message); break;
    default: e = new SystemError(message);
  }
  return Object.assign(e, { statusCode, fromDaemon: true as const });
}

/** Reads Docker's error body: JSON {"message"} normally, plain text from older or foreign servers. */
export function errorFromBody(statusCode: number, body: Buffer | string): DaemonError {
  const text = body.toString().trim();
  let message = text;
  if (text.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string') {
        message = parsed.message;
      }
    } catch {
      // not JSON after all: keep the raw text, as the Go client does
    }
  }
  if (message === '') message = statusCode === 404 ? 'page not found' : `HTTP ${statusCode}`;
  return errorFromStatus(statusCode, message);
}

export function isDaemonError(e: unknown): e is DaemonError {
  return e instanceof BerthError && (e as Partial<DaemonErrorInfo>).fromDaemon === true;
}

/** The daemon's socket could not be reached at all. */
export class ConnectionError extends UnavailableError {
  readonly host: string;
  constructor(host: string, cause: unknown) {
    super(`Cannot connect to the berth daemon at ${host}. Is the berth daemon running?`, { cause });
    this.host = host;
  }
}
