// Word expansion as Docker's Dockerfile frontend does it (buildkit frontend/dockerfile/shell):
// quotes, the escape token, $VAR, ${VAR}, ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w} ${VAR:?m},
// ${VAR#p} ${VAR##p} ${VAR%p} ${VAR%%p} ${VAR/p/r} ${VAR//p/r}. It is not a shell: no command
// substitution, no globbing; RUN text is never expanded here (the container's shell does it).

export interface EnvLookup {
  get(name: string): string | undefined;
}

export function envFromMap(m: Map<string, string> | Record<string, string>): EnvLookup {
  if (m instanceof Map) return { get: (k) => m.get(k) };
  return { get: (k) => (Object.prototype.hasOwnProperty.call(m, k) ? m[k] : undefined) };
}

/** `KEY=value` list (last one wins), as in an image config's Env. */
export function envFromList(list: string[]): EnvLookup {
  const m = new Map<string, string>();
  for (const e of list) {
    const i = e.indexOf('=');
    if (i > 0) m.set(e.slice(0, i), e.slice(i + 1));
    else m.set(e, '');
  }
  return envFromMap(m);
}

export class ShellLexError extends Error {}

export interface LexOptions {
  /** Keep quote characters in the output (heredoc detection uses this). */
  rawQuotes?: boolean;
  /** Keep escape characters in the output. */
  rawEscapes?: boolean;
  /** Leave `$UNSET` as written instead of expanding it to "". */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters. */
  skipProcessQuotes?: boolean;
}

export interface WordResult {
  result: string;
  words: string[];
  /** Variables that were looked up and found: what "in use" means for the cache key. */
  matched: Set<string>;
  unmatched: Set<string>;
}

const EOF = '';

class Words {
  buf = '';
  words: string[] = [];
  inWord = false;
  addChar(ch: string): void {
    if (isSpace(ch) && this.inWord) {
      if (this.buf.length) { this.words.push(this.buf); this.buf = ''; this.inWord = false; }
    } else if (!isSpace(ch)) this.addRawChar(ch);
  }
  addRawChar(ch: string): void { this.buf += ch; this.inWord = true; }
  addString(s: string): void { for (const ch of s) this.addChar(ch); }
  addRawString(s: string): void { this.buf += s; this.inWord = true; }
  get(): string[] {
    if (this.buf.length) { this.words.push(this.buf); this.buf = ''; this.inWord = false; }
    return this.words;
  }
}

function isSpace(ch: string): boolean {
  return /^\s$/u.test(ch);
}

class Scanner {
  private readonly chars: string[];
  private pos = 0;
  constructor(s: string) { this.chars = Array.from(s); }
  peek(): string { return this.pos < this.chars.length ? this.chars[this.pos] : EOF; }
  next(): string { return this.pos < this.chars.length ? this.chars[this.pos++] : EOF; }
}

class WordProcessor {
  private readonly sc: Scanner;
  private rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(src: string, private readonly env: EnvLookup, private readonly escape: string, private readonly opts: LexOptions) {
    this.sc = new Scanner(src);
    this.rawEscapes = opts.rawEscapes ?? false;
  }

  run(): { result: string; words: string[] } {
    return this.processStopOn(EOF, this.rawEscapes);
  }

  private processStopOn(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      while (this.sc.peek() !== EOF) {
        const ch = this.sc.peek();
        if (stop !== EOF && ch === stop) {
          this.sc.next();
          return { result, words: words.get() };
        }
        let special: (() => string) | undefined;
        if (ch === '$') special = () => this.processDollar();
        else if (ch === '<') special = () => this.processPossibleHeredoc();
        else if (!this.opts.skipProcessQuotes && ch === "'") special = () => this.processSingleQuote();
        else if (!this.opts.skipProcessQuotes && ch === '"') special = () => this.processDoubleQuote();
        if (special) {
          const tmp = special();
          result += tmp;
          if (ch === '$') words.addString(tmp); else words.addRawString(tmp);
          continue;
        }
        let c = this.sc.next();
        if (c === this.escape) {
          if (this.rawEscapes) { words.addRawChar(c); result += c; }
          c = this.sc.next();
          if (c === EOF) break;
          words.addRawChar(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
      if (stop !== EOF) throw new ShellLexError(`unexpected end of statement while looking for matching ${stop}`);
      return { result, words: words.get() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    let out = '';
    const open = this.sc.next();
    if (this.opts.rawQuotes) out += open;
    for (;;) {
      const ch = this.sc.next();
      if (ch === EOF) throw new ShellLexError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.opts.rawQuotes) out += ch;
        return out;
      }
      out += ch;
    }
  }

  private processDoubleQuote(): string {
    let out = '';
    const open = this.sc.next();
    if (this.opts.rawQuotes) out += open;
    for (;;) {
      const p = this.sc.peek();
      if (p === EOF) throw new ShellLexError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const c = this.sc.next();
        if (this.opts.rawQuotes) out += c;
        return out;
      }
      if (p === '$') { out += this.processDollar(); continue; }
      let c = this.sc.next();
      if (c === this.escape) {
        if (this.rawEscapes) out += c;
        const n = this.sc.peek();
        if (n === EOF) continue;
        // Only " $ and the escape token itself can be escaped inside double quotes.
        if (n === '"' || n === '$' || n === this.escape) c = this.sc.next();
      }
      out += c;
    }
  }

  private lookup(name: string): string | undefined {
    const v = this.env.get(name);
    if (v !== undefined) this.matched.add(name); else this.unmatched.add(name);
    return v;
  }

  private processDollar(): string {
    this.sc.next();
    if (this.sc.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const v = this.lookup(name);
      if (v === undefined && this.opts.skipUnsetEnv) return '$' + name;
      return v ?? '';
    }
    this.sc.next();
    const first = this.sc.peek();
    if (first === EOF) throw new ShellLexError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ShellLexError('syntax error: bad substitution');
    const name = this.processName();
    let ch = this.sc.next();
    let chs = ch;
    let nullIsUnset = false;
    switch (ch) {
      case '}': {
        const v = this.lookup(name);
        if (v === undefined && this.opts.skipUnsetEnv) return `\${${name}}`;
        return v ?? '';
      }
      case ':':
      case '+': case '-': case '?': case '#': case '%': {
        if (ch === ':') {
          nullIsUnset = true;
          ch = this.sc.next();
          chs += ch;
        }
        const raw = ch === '#' || ch === '%';
        if (nullIsUnset && raw) throw new ShellLexError(`unsupported modifier (${chs}) in substitution`);
        let word: string;
        try {
          word = this.processStopOn('}', raw).result;
        } catch (e) {
          if (this.sc.peek() === EOF) throw new ShellLexError("syntax error: missing '}'");
          throw e;
        }
        const value = this.lookup(name);
        const set = value !== undefined;
        if (this.opts.skipUnsetEnv && !set) return `\${${name}${chs}${word}}`;
        switch (ch) {
          case '-': return !set || (nullIsUnset && value === '') ? word : (value as string);
          case '+': return !set || (nullIsUnset && value === '') ? '' : word;
          case '?':
            if (!set) throw new ShellLexError(`${name}: ${word || 'is not allowed to be unset'}`);
            if (nullIsUnset && value === '') throw new ShellLexError(`${name}: ${word || 'is not allowed to be empty'}`);
            return value as string;
          case '%': case '#': {
            let greedy = false;
            if (word.length > 0 && word[0] === ch) { greedy = true; word = word.slice(1); }
            return ch === '%' ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy);
          }
          default:
            throw new ShellLexError(`unsupported modifier (${chs}) in substitution`);
        }
      }
      case '/': {
        const all = this.sc.peek() === '/';
        if (all) this.sc.next();
        let pattern: string;
        try {
          pattern = this.processStopOn('/', true).result;
        } catch (e) {
          if (this.sc.peek() === EOF) throw new ShellLexError("syntax error: missing '/' in ${}");
          throw e;
        }
        let repl: string;
        try {
          repl = this.processStopOn('}', true).result;
        } catch (e) {
          if (this.sc.peek() === EOF) throw new ShellLexError("syntax error: missing '}'");
          throw e;
        }
        const value = this.lookup(name);
        if (this.opts.skipUnsetEnv && value === undefined) return `\${${name}/${pattern}/${repl}}`;
        const re = shellPatternToRegex(pattern, true, false, all);
        return (value ?? '').replace(re, () => repl);
      }
      default:
        throw new ShellLexError(`unsupported modifier (${chs}) in substitution`);
    }
  }

  private processName(): string {
    let name = '';
    while (this.sc.peek() !== EOF) {
      const ch = this.sc.peek();
      if (name === '' && /^\p{Nd}$/u.test(ch)) {
        while (this.sc.peek() !== EOF && /^\p{Nd}$/u.test(this.sc.peek())) name += this.sc.next();
        return name;
      }
      if (name === '' && '@*#?-$!0'.includes(ch)) return this.sc.next();
      if (!/^[\p{L}\p{Nd}_]$/u.test(ch)) break;
      name += this.sc.next();
    }
    return name;
  }

  private processPossibleHeredoc(): string {
    this.sc.next();
    if (this.sc.peek() !== '<') return '<';
    this.sc.next();
    let space = '';
    while (this.sc.peek() === ' ' || this.sc.peek() === '\t' || this.sc.peek() === '\r') space += this.sc.next();
    return '<<' + space;
  }
}

/** Shell glob (`*`, `?`, `\x`) to a RegExp, for the #, %, / modifiers. */
function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  let s = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === '*') s += greedy ? '.*' : '.*?';
    else if (c === '?') s += '.';
    else if (c === '\\') {
      i++;
      if (i >= chars.length) { s += '\\\\'; break; }
      const t = chars[i];
      if (/[*?\\[\]{}.+()|^$]/.test(t)) s += '\\' + t;
      else throw new ShellLexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${t}'`);
    } else if (/[[\]{}.+()|^$]/.test(c)) s += '\\' + c;
    else s += c;
  }
  if (anchored) s = '^' + s;
  return new RegExp(s, global ? 'gsu' : 'su');
}

function trimPrefix(word: string, value: string, greedy: boolean): string {
  const re = shellPatternToRegex(word, greedy, true);
  const m = re.exec(value);
  return m ? value.slice(m[0].length) : value;
}

function reverse(s: string): string {
  return Array.from(s).reverse().join('');
}

function trimSuffix(pattern: string, word: string, greedy: boolean): string {
  // Match the reversed pattern against the reversed value, as buildkit does; `\x` pairs stay pairs.
  const chars = Array.from(pattern);
  const units: string[] = [];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\\' && i + 1 < chars.length) { units.push('\\' + chars[i + 1]); i++; } else units.push(chars[i]);
  }
  return reverse(trimPrefix(units.reverse().join(''), reverse(word), greedy));
}

export class ShellLex {
  constructor(readonly escapeToken: string = '\\', readonly options: LexOptions = {}) {}

  private proc(word: string, env: EnvLookup, opts?: LexOptions): WordResult {
    const p = new WordProcessor(word, env, this.escapeToken, { ...this.options, ...opts });
    try {
      const { result, words } = p.run();
      return { result, words, matched: p.matched, unmatched: p.unmatched };
    } catch (e) {
      if (e instanceof ShellLexError) throw new ShellLexError(`failed to process ${goQuote(word)}: ${e.message}`);
      throw e;
    }
  }

  /** One word: quotes removed, variables expanded, spaces kept. */
  processWord(word: string, env: EnvLookup, opts?: LexOptions): WordResult {
    return this.proc(word, env, opts);
  }

  /** Several words: unquoted whitespace (also from expansions) splits. */
  processWords(word: string, env: EnvLookup, opts?: LexOptions): WordResult {
    return this.proc(word, env, opts);
  }
}

/** Go's %q for the strings that appear in Docker's error texts. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}
