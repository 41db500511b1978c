// Go's fmt printing rules for values that come from JSON, so `{{.Config.Env}}` prints
// "[A=1 B=2]" and `{{.Config.Labels}}` prints "map[a:b]" as docker does.
//
// JSON loses Go's static types, so two guesses are made: numbers that are integers print as
// integers (the API's counters and sizes are int64), and objects whose keys all look like
// exported Go field names print as structs ("{v1 v2}"); any other object prints as a map
// with sorted keys.

/** A missing map key: Go prints "<no value>" for it. */
export const NO_VALUE: unique symbol = Symbol('no value');

const STRUCT_KEY = /^[A-Z][A-Za-z0-9]*$/;

/** Marks an object known to be a Go map (Labels, ...), so it prints as map[...] whatever its keys. */
export const GO_MAP: unique symbol = Symbol('go map');

export function markGoMap<T extends object>(o: T): T {
  Object.defineProperty(o, GO_MAP, { value: true, enumerable: false });
  return o;
}

export function looksLikeStruct(o: object): boolean {
  if ((o as { [GO_MAP]?: boolean })[GO_MAP]) return false;
  // an empty JSON object is most often Go's struct{} (ExposedPorts, Volumes values); known maps are marked
  return Object.keys(o).every((k) => STRUCT_KEY.test(k));
}

export function formatFloat(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  // %v of a float64 is strconv 'g' with the shortest repr; exponent form below 1e-4 and from 1e21.
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    const [mant, exp] = n.toExponential().split('e') as [string, string];
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  return String(n);
}

export function formatValue(v: unknown): string {
  if (v === NO_VALUE) return '<no value>';
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return formatFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'function':
      return '<func>';
  }
  if (Array.isArray(v)) return `[${v.map(formatValue).join(' ')}]`;
  if (v instanceof Date) return v.toISOString();
  const o = v as Record<string, unknown> & { toString?: () => string };
  if (typeof o.toString === 'function' && o.toString !== Object.prototype.toString) return o.toString();
  if (looksLikeStruct(o)) return `{${Object.values(o).map(formatValue).join(' ')}}`;
  const keys = Object.keys(o).sort();
  return `map[${keys.map((k) => `${k}:${formatValue(o[k])}`).join(' ')}]`;
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    if (i > 0 && typeof args[i] !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(args[i]);
  }
  return out;
}

/** fmt.Sprintln: always spaces, and a newline. */
export function sprintln(args: unknown[]): string {
  return args.map(formatValue).join(' ') + '\n';
}

function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** fmt.Sprintf for the verbs templates use: %v %s %d %q %t %x %X %f %e %g %c %%, widths and - 0 + flags. */
export function sprintf(format: string, args: unknown[]): string {
  let ai = 0;
  return format.replace(/%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (width === '*') width = String(args[ai++]);
    if (prec === '*') prec = String(args[ai++]);
    if (ai >= args.length) return `%!${verb}(MISSING)`;
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'v':
        s = formatValue(a);
        break;
      case 's':
        s = typeof a === 'string' ? a : formatValue(a);
        if (prec !== undefined) s = s.slice(0, Number(prec));
        break;
      case 'q':
        s = typeof a === 'string' ? goQuote(a) : Array.isArray(a) ? `[${a.map((x) => goQuote(String(x))).join(' ')}]` : goQuote(formatValue(a));
        break;
      case 'd':
        s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${formatValue(a)})`;
        if (flags.includes('+') && typeof a === 'number' && a >= 0) s = '+' + s;
        break;
      case 't':
        s = typeof a === 'boolean' ? String(a) : `%!t(${typeof a}=${formatValue(a)})`;
        break;
      case 'x':
      case 'X':
        s = typeof a === 'number' ? Math.trunc(a).toString(16) : Buffer.from(String(a)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 'f':
      case 'F':
        s = typeof a === 'number' ? a.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${formatValue(a)})`;
        break;
      case 'e':
        s = typeof a === 'number' ? a.toExponential(prec === undefined ? 6 : Number(prec)).replace(/e([+-])(\d)$/, 'e$10$2') : `%!e(${formatValue(a)})`;
        break;
      case 'g':
        s = typeof a === 'number' ? formatFloat(a) : `%!g(${formatValue(a)})`;
        break;
      case 'c':
        s = typeof a === 'number' ? String.fromCodePoint(a) : `%!c(${formatValue(a)})`;
        break;
      default:
        s = `%!${verb}(${formatValue(a)})`;
    }
    if (width !== undefined) {
      const w = Number(width);
      if (s.length < w) {
        if (flags.includes('-')) s = s.padEnd(w);
        else if (flags.includes('0') && /[dfeExX]/.test(verb ?? '')) s = s.startsWith('-') ? '-' + s.slice(1).padStart(w - 1, '0') : s.padStart(w, '0');
        else s = s.padStart(w);
      }
    }
    return s;
  }) + (ai < args.length ? `%!(EXTRA ${args.slice(ai).map((a) => `${typeof a}=${formatValue(a)}`).join(', ')})` : '');
}
