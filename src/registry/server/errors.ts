// OCI distribution error codes (spec "Error Codes" table) and the HTTP status each one is
// answered with. Handlers throw RegistryError; server.ts turns it into the JSON error body in
// one place, the way the daemon maps BerthError kinds.

export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  // Not in the OCI table; distribution uses it for server faults and unroutable requests.
  | 'UNKNOWN';

const MESSAGES: Record<OciErrorCode, string> = {
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  MANIFEST_BLOB_UNKNOWN: 'manifest references a manifest or blob unknown to registry',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNKNOWN: 'manifest unknown to registry',
  NAME_INVALID: 'invalid repository name',
  NAME_UNKNOWN: 'repository name not known to registry',
  SIZE_INVALID: 'provided length did not match content length',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNSUPPORTED: 'the operation is unsupported',
  TOOMANYREQUESTS: 'too many requests',
  UNKNOWN: 'unknown error',
};

const STATUS: Record<OciErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  UNKNOWN: 500,
};

export interface OciErrorEntry {
  code: OciErrorCode;
  message: string;
  detail?: unknown;
}

export class RegistryError extends Error {
  readonly status: number;
  readonly entries: OciErrorEntry[];
  /** Extra response headers (WWW-Authenticate, Range, Retry-After...). */
  readonly headers: Record<string, string>;

  constructor(
    code: OciErrorCode,
    detail?: unknown,
    opts: { status?: number; headers?: Record<string, string>; more?: OciErrorEntry[]; message?: string } = {},
  ) {
    const message = opts.message ?? MESSAGES[code];
    super(`${code}: ${message}${detail === undefined ? '' : ` (${typeof detail === 'string' ? detail : JSON.stringify(detail)})`}`);
    this.status = opts.status ?? STATUS[code];
    const first: OciErrorEntry = { code, message };
    if (detail !== undefined) first.detail = detail;
    this.entries = [first, ...(opts.more ?? [])];
    this.headers = opts.headers ?? {};
  }

  get code(): OciErrorCode {
    return this.entries[0]!.code;
  }

  body(): string {
    return JSON.stringify({ errors: this.entries });
  }
}

export function ociEntry(code: OciErrorCode, detail?: unknown): OciErrorEntry {
  const e: OciErrorEntry = { code, message: MESSAGES[code] };
  if (detail !== undefined) e.detail = detail;
  return e;
}
