// docker's human-readable numbers (go-units) and the value syntaxes of its flags.
import { InvalidParameterError } from '../errors.js';

export { humanDuration } from '../util/human.js';
import { humanDuration, timestampMs } from '../util/human.js';

/** "5 minutes ago" from a unix-seconds timestamp. */
export function sinceUnix(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

/** Go's %.{p}g formatting (shortest of fixed/exponent, trailing zeros removed). */
export function goG(n: number, precision: number): string {
  let s = n.toPrecision(precision);
  if (s.includes('e')) {
    let [mant, exp] = s.split('e') as [string, string];
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** go-units HumanSizeWithPrecision: decimal units, e.g. "5.2MB" at precision 3 (docker images/ps). */
export function humanSize(bytes: number, precision = 4): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${goG(size, precision)}${DECIMAL_UNITS[i]}`;
}

/** go-units BytesSize: binary units with 4 significant digits, e.g. "64MiB" (docker info). */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) {
    size /= 1024;
    i++;
  }
  return `${goG(size, 4)}${BINARY_UNITS[i]}`;
}

/** go-units RAMInBytes: "64m", "1.5g", "512k", "100" (bytes); units are powers of 1024. */
export function ramInBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw new InvalidParameterError(`invalid size: '${s}'`);
  const n = Number(m[1]);
  if (Number.isNaN(n)) throw new InvalidParameterError(`invalid size: '${s}'`);
  const mult: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.trunc(n * (m[2] ? mult[m[2].toLowerCase()]! : 1));
}

/** --cpus 1.5 → NanoCpus 1500000000, with docker's wording on bad input. */
export function nanoCpus(s: string): number {
  if (!/^[0-9]*\.?[0-9]+$/.test(s) && !/^[0-9]+\.$/.test(s)) {
    throw new InvalidParameterError(`invalid argument "${s}" for "--cpus" flag: failed to parse ${s} as a rational number`);
  }
  return Math.round(Number(s) * 1e9);
}

/**
 * docker's timetypes.GetTimestamp: a Go duration is "that long ago", RFC 3339 dates and
 * unix timestamps pass as "seconds.nanoseconds" — the form the daemon's since/until take.
 */
export function getTimestamp(value: string, nowMs = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const ms = timestampMs(value, nowMs);
  const sec = Math.floor(ms / 1000);
  const nanos = Math.round((ms - sec * 1000) * 1e6);
  return `${sec}.${String(nanos).padStart(9, '0')}`;
}

/** TruncateID: drop the algorithm prefix, keep 12 characters. */
export function truncateId(id: string): string {
  const i = id.indexOf(':');
  const s = i >= 0 ? id.slice(i + 1) : id;
  return s.length > 12 ? s.slice(0, 12) : s;
}

/** formatter.Ellipsis: cut to a display width, ending in "…". */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const rs = [...s];
  if (max === 1) return rs[0] ?? '';
  if (rs.length <= max) return s;
  return rs.slice(0, max - 1).join('') + '…';
}

/** Go's strconv.Quote for the strings docker shows (COMMAND column). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}
