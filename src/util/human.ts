// Docker's human-readable durations (go-units), shared by the daemon (ps STATUS) and the CLI.

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
