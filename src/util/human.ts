// Docker's human-readable durations and times (Go's time package, go-units, timetypes), shared by
// the daemon (ps STATUS, until filters), the builder (HEALTHCHECK) and the CLI.
import { InvalidParameterError } from '../errors.js';

/** Go's time.Duration String for nanoseconds: "500ms", "30s", "1m30s", "1h0m0s". */
export function goDurationString(ns: number): string {
  const sign = ns < 0 ? '-' : '';
  let u = Math.abs(Math.round(ns));
  if (u === 0) return '0s';
  const frac = (x: number): string => String(Number(x.toFixed(9)));
  if (u < 1e3) return `${sign}${u}ns`;
  if (u < 1e6) return `${sign}${frac(u / 1e3)}µs`;
  if (u < 1e9) return `${sign}${frac(u / 1e6)}ms`;
  const h = Math.floor(u / 3.6e12);
  u -= h * 3.6e12;
  const m = Math.floor(u / 6e10);
  u -= m * 6e10;
  const s = `${frac(u / 1e9)}s`;
  return `${sign}${h ? `${h}h${m}m${s}` : m ? `${m}m${s}` : s}`;
}

/** go-units HumanDuration: "Less than a second", "About a minute", "3 hours", "2 weeks". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3600000 / 24 / 365)} years`;
}

/** Go's time.ParseDuration, in milliseconds (fractions kept). */
export function parseGoDuration(s: string): number {
  const orig = s;
  if (s === '0') return 0;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  const re = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  if (s === '') throw new InvalidParameterError(`time: invalid duration "${orig}"`);
  while (s.length) {
    const m = re.exec(s);
    if (!m) {
      if (/^(\d+\.?\d*|\.\d+)$/.test(s)) throw new InvalidParameterError(`time: missing unit in duration "${orig}"`);
      throw new InvalidParameterError(`time: invalid duration "${orig}"`);
    }
    total += Number(m[1]) * unitMs[m[2]!]!;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/**
 * docker's timetypes.GetTimestamp, in milliseconds since the epoch: a unix timestamp (seconds,
 * with a fraction), a Go duration meaning that long before `nowMs` ("10m", "1h30m"), or a date
 * (RFC 3339; without a zone, local time). What `until` and `since` filters take.
 */
export function timestampMs(value: string, nowMs = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  try {
    return nowMs - parseGoDuration(value);
  } catch {
    // not a duration: a date then
  }
  // Date.parse reads a bare date as UTC, docker as local time.
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value);
  if (Number.isNaN(t)) throw new InvalidParameterError(`failed to parse value as time or duration: "${value}"`);
  return t;
}
