// The Dockerfile parser: text → a list of instruction nodes with their source lines, following
// buildkit's frontend/dockerfile/parser (directives, continuation lines, comments inside
// continuations, JSON vs shell forms, per-instruction argument splitting, heredocs).
// Meaning is given to the nodes in instructions.ts.
import { InvalidParameterError } from '../errors.js';
import { ShellLex, envFromMap } from './shell-lex.js';

export interface Heredoc {
  /** The terminator word, quotes removed. */
  name: string;
  fileDescriptor: number;
  /** False when the terminator was quoted (`<<"EOF"`): the content is not expanded. */
  expand: boolean;
  /** `<<-EOF`: leading tabs are stripped. */
  chomp: boolean;
  content: string;
}

export interface Node {
  /** The instruction as written (case kept); `cmd` is its lower-case form. */
  value: string;
  cmd: string;
  /** The full logical line, continuations joined. */
  original: string;
  /** `--name=value` words that came before the arguments. */
  flags: string[];
  /** Arguments as buildkit's line parsers split them (ENV/LABEL: key, value, separator triples). */
  args: string[];
  /** Exec (JSON array) form. */
  json: boolean;
  heredocs: Heredoc[];
  /** ONBUILD's trigger instruction. */
  sub?: Node;
  startLine: number;
  endLine: number;
  comments: string[];
}

export interface ParseResult {
  nodes: Node[];
  escapeToken: string;
  directives: Record<string, string>;
  warnings: string[];
}

/** A syntax error at a line of the Dockerfile. */
export class DockerfileSyntaxError extends InvalidParameterError {
  constructor(readonly line: number, readonly detail: string, message?: string) {
    super(message ?? `dockerfile parse error on line ${line}: ${detail}`);
  }
}

const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const VALID_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_RE = /^(\d*)<<(-?)\s*([^<]*)$/;
const WHITESPACE_RE = /[\t\v\f\r ]+/;
const HEREDOC_CMDS = new Set(['add', 'copy', 'run']);

class Directives {
  escape = '\\';
  continuation: RegExp = Directives.contRe('\\');
  private done = false;
  readonly seen = new Map<string, string>();

  static contRe(tok: string): RegExp {
    const e = tok === '\\' ? '\\\\' : '`';
    return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
  }

  /** Returns true when the line was a parser directive. */
  parseLine(line: string): boolean {
    if (this.done) return false;
    if (!line.startsWith('#')) { this.done = true; return false; }
    const m = DIRECTIVE_RE.exec(line.slice(1).replace(/^\s+/, ''));
    if (!m) { this.done = true; return false; }
    const k = m[1].toLowerCase();
    if (!VALID_DIRECTIVES.has(k)) { this.done = true; return false; }
    if (this.seen.has(k)) throw new Error(`only one ${k} parser directive can be used`);
    this.seen.set(k, m[2]);
    if (k === 'escape') {
      if (m[2] !== '`' && m[2] !== '\\') throw new Error(`invalid escape token '${m[2]}' does not match \` or \\`);
      this.escape = m[2];
      this.continuation = Directives.contRe(m[2]);
    }
    return true;
  }
}

function isComment(line: string): boolean {
  return /^\s*#/.test(line);
}

function trimContinuation(line: string, d: Directives): [string, boolean] {
  if (d.continuation.test(line)) return [line.replace(d.continuation, '$1'), false];
  return [line, true];
}

/** buildkit's parseWords: splits on whitespace, keeping quotes and escapes in the words. */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOK = false;
  let buf = '';
  for (let pos = 0; pos <= chars.length; pos++) {
    let ch = pos < chars.length ? chars[pos] : '';
    if (phase === 'spaces') {
      if (pos === chars.length) break;
      if (/\s/.test(ch)) continue;
      phase = 'word';
    }
    if (pos === chars.length) {
      if (blankOK || buf.length > 0) words.push(buf);
      break;
    }
    if (phase === 'word') {
      if (/\s/.test(ch)) {
        phase = 'spaces';
        if (blankOK || buf.length > 0) words.push(buf);
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') { quote = ch; blankOK = true; phase = 'quote'; }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        buf += ch;
        pos++;
        ch = chars[pos];
      }
      buf += ch;
      continue;
    }
    // in quote
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) { phase = 'word'; continue; }
      pos++;
      buf += ch;
      ch = chars[pos];
    }
    buf += ch;
  }
  return words;
}

/** Leading `--flag[=value]` words; the rest of the line is returned as the arguments. */
function extractFlags(line: string, escape: string): [string, string[]] {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let buf = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = pos < line.length ? line[pos] : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (/\s/.test(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return [line.slice(pos), words];
      phase = 'word';
    }
    if (pos === line.length) {
      if (buf !== '--' && (blankOK || buf.length > 0)) words.push(buf);
      break;
    }
    if (phase === 'word') {
      if (/\s/.test(ch)) {
        phase = 'spaces';
        if (buf === '--') return [line.slice(pos), words];
        if (blankOK || buf.length > 0) words.push(buf);
        buf = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') { quote = ch; blankOK = true; phase = 'quote'; continue; }
      if (ch === escape) {
        if (pos + 1 === line.length) continue;
        pos++;
        ch = line[pos];
      }
      buf += ch;
      continue;
    }
    if (ch === quote) { phase = 'word'; continue; }
    if (ch === escape) {
      if (pos + 1 === line.length) { phase = 'word'; continue; }
      pos++;
      ch = line[pos];
    }
    buf += ch;
  }
  return ['', words];
}

class ArgError extends Error {}

function parseJSONArray(rest: string): string[] | undefined {
  const t = rest.replace(/^\s+/, '');
  if (!t.startsWith('[')) return undefined;
  let v: unknown;
  try { v = JSON.parse(t); } catch { return undefined; }
  if (!Array.isArray(v)) return undefined;
  if (!v.every((x) => typeof x === 'string')) throw new ArgError('when using JSON array syntax, arrays must be comprised of strings only');
  return v as string[];
}

function parseNameVal(rest: string, key: string, escape: string): string[] {
  const words = parseWords(rest, escape);
  if (words.length === 0) return [];
  if (!words[0].includes('=')) {
    const parts = rest.split(WHITESPACE_RE);
    if (parts.length < 2) throw new ArgError(`${key} must have two arguments`);
    const i = rest.search(WHITESPACE_RE);
    return [rest.slice(0, i), rest.slice(i).replace(/^[\t\v\f\r ]+/, ''), ''];
  }
  const out: string[] = [];
  for (const w of words) {
    const i = w.indexOf('=');
    if (i < 0) throw new ArgError(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    out.push(w.slice(0, i), w.slice(i + 1), '=');
  }
  return out;
}

function splitWhitespace(rest: string): string[] {
  if (rest === '') return [];
  return rest.split(WHITESPACE_RE);
}

function dispatchArgs(cmd: string, rest: string, escape: string): { args: string[]; json: boolean; sub?: Node } {
  switch (cmd) {
    case 'add': case 'copy': case 'volume': {
      const j = parseJSONArray(rest);
      return j ? { args: j, json: true } : { args: splitWhitespace(rest), json: false };
    }
    case 'cmd': case 'entrypoint': case 'run': case 'shell': {
      if (rest === '') return { args: [], json: false };
      const j = parseJSONArray(rest);
      return j ? { args: j, json: true } : { args: [rest], json: false };
    }
    case 'arg': return { args: parseWords(rest, escape), json: false };
    case 'env': return { args: parseNameVal(rest, 'ENV', escape), json: false };
    case 'label': return { args: parseNameVal(rest, 'LABEL', escape), json: false };
    case 'expose': case 'from': return { args: splitWhitespace(rest), json: false };
    case 'maintainer': case 'stopsignal': case 'user': case 'workdir':
      return { args: rest === '' ? [] : [rest], json: false };
    case 'healthcheck': {
      const m = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      if (!m) return { args: [], json: false };
      const r = m[2];
      if (r === '') return { args: [m[1]], json: false };
      const j = parseJSONArray(r);
      return j ? { args: [m[1], ...j], json: true } : { args: [m[1], r], json: false };
    }
    case 'onbuild': {
      if (rest === '') return { args: [], json: false };
      const sub = nodeFromLine(rest, escape, []);
      return { args: [sub.value, ...sub.args], json: sub.json, sub };
    }
    default:
      return { args: [], json: false };
  }
}

function nodeFromLine(line: string, escape: string, comments: string[]): Node {
  const trimmed = line.trim();
  const m = /^(\S+)(?:[\t\v\f\r ]+([\s\S]*))?$/.exec(trimmed);
  const value = m ? m[1] : trimmed;
  let args = '';
  let flags: string[] = [];
  if (m && m[2] !== undefined) [args, flags] = extractFlags(m[2], escape);
  args = args.trim();
  const cmd = value.toLowerCase();
  const d = dispatchArgs(cmd, args, escape);
  return {
    value, cmd, original: line, flags, args: d.args, json: d.json, heredocs: [], sub: d.sub,
    startLine: 0, endLine: 0, comments,
  };
}

function canContainHeredoc(n: Node): boolean {
  const target = n.cmd === 'onbuild' && n.sub ? n.sub : n;
  return HEREDOC_CMDS.has(target.cmd) && !target.json;
}

/** Parses a heredoc word (`<<EOF`, `<<-"EOF"`, `3<<EOF`); undefined when it is not one. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m || m[3].length === 0) return undefined;
  const lex = new ShellLex('\\', { skipUnsetEnv: true });
  const empty = envFromMap({});
  const words = lex.processWords(m[3], empty).words;
  if (words.length !== 1) return undefined;
  const raw = lex.processWords(m[3], empty, { rawQuotes: true }).words;
  if (raw.length !== words.length) throw new ArgError(`internal lexing of heredoc produced inconsistent results: ${m[3]}`);
  const q = (s: string) => (s.match(/['"]/g) ?? []).length;
  return {
    name: words[0],
    expand: q(words[0]) === q(raw[0]),
    chomp: m[2] === '-',
    fileDescriptor: m[1] ? Number(m[1]) : 0,
  };
}

function heredocsFromLine(line: string): Omit<Heredoc, 'content'>[] {
  const lex = new ShellLex('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
  let words: string[] = [];
  try { words = lex.processWords(line, envFromMap({})).words; } catch { words = []; }
  const out: Omit<Heredoc, 'content'>[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) out.push(h);
  }
  return out;
}

/** Strips the leading tabs of every line (`<<-`). */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}

/** Splits into lines keeping their line endings, as buildkit's scanner does. */
function splitLines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    const i = text.indexOf('\n', start);
    if (i < 0) { if (start < text.length) out.push(text.slice(start)); break; }
    out.push(text.slice(start, i + 1));
    start = i + 1;
  }
  return out;
}

const trimNewline = (s: string) => s.replace(/[\r\n]+$/, '');

export function parseDockerfile(text: string): ParseResult {
  const d = new Directives();
  const lines = splitLines(text);
  if (lines.length && lines[0].charCodeAt(0) === 0xfeff) lines[0] = lines[0].slice(1);
  const nodes: Node[] = [];
  const warnings: string[] = [];
  let comments: string[] = [];
  let li = 0;
  let currentLine = 0;

  const processLine = (raw: string, stripLeft: boolean): string => {
    let t = trimNewline(raw);
    if (stripLeft) t = t.replace(/^\s+/, '');
    let isDirective = false;
    try {
      isDirective = d.parseLine(t);
    } catch (e) {
      throw new DockerfileSyntaxError(currentLine + 1, (e as Error).message);
    }
    if (isDirective) comments = comments.slice(0, -1);
    return isComment(t) ? '' : t;
  };

  while (li < lines.length) {
    const raw = lines[li++];
    if (isComment(raw)) {
      const c = raw.replace(/^\s*#/, '').trim();
      comments = c === '' ? [] : [...comments, c];
    }
    let cur = processLine(raw, true);
    currentLine++;
    const startLine = currentLine;
    let [part, eol] = trimContinuation(cur, d);
    if (eol && part.length === 0) continue;
    let buf = part;
    let emptyContinuation = false;
    while (!eol && li < lines.length) {
      const next = lines[li++];
      cur = processLine(next, false);
      currentLine++;
      if (isComment(next)) continue;
      if (cur.replace(/^\s+/, '').length === 0) { emptyContinuation = true; continue; }
      [part, eol] = trimContinuation(cur, d);
      buf += part;
    }
    if (emptyContinuation) warnings.push(`Empty continuation line found in: ${buf}`);

    let node: Node;
    try {
      node = nodeFromLine(buf, d.escape, comments);
    } catch (e) {
      if (e instanceof ArgError) throw new DockerfileSyntaxError(startLine, e.message);
      throw e;
    }
    if (canContainHeredoc(node) && buf.includes('<<')) {
      let docs: Omit<Heredoc, 'content'>[];
      try {
        docs = heredocsFromLine(buf);
      } catch (e) {
        throw new DockerfileSyntaxError(startLine, (e as Error).message);
      }
      for (const h of docs) {
        let content = '';
        let terminated = false;
        while (li < lines.length) {
          const l = lines[li++];
          currentLine++;
          let possible = trimNewline(l);
          if (h.chomp) possible = possible.replace(/^\t+/, '');
          if (possible === h.name) { terminated = true; break; }
          content += l;
        }
        if (!terminated) throw new DockerfileSyntaxError(startLine, 'unterminated heredoc');
        node.heredocs.push({ ...h, content });
      }
      if (node.sub) node.sub.heredocs = node.heredocs;
    }
    node.startLine = startLine;
    node.endLine = currentLine;
    if (node.sub) { node.sub.startLine = startLine; node.sub.endLine = currentLine; }
    nodes.push(node);
    comments = [];
  }
  if (nodes.length === 0) throw new DockerfileSyntaxError(currentLine, 'file with no instructions');
  return { nodes, escapeToken: d.escape, directives: Object.fromEntries(d.seen), warnings };
}
