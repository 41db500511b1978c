// Lexer for Go's text/template syntax, the language of docker's --format and -f.
// Keeps byte offsets so errors can name line and column like Go's do ("template: :1:8: ...").

export type TokenKind =
  | 'text'
  | 'left' // {{
  | 'right' // }}
  | 'ident' // function name or keyword
  | 'field' // .Name
  | 'variable' // $ or $name
  | 'dot' // .
  | 'string'
  | 'rawstring'
  | 'char'
  | 'number'
  | 'bool'
  | 'nil'
  | 'pipe'
  | 'lparen'
  | 'rparen'
  | 'comma'
  | 'declare' // :=
  | 'assign' // =
  | 'space'
  | 'eof';

export interface Token {
  kind: TokenKind;
  value: string;
  pos: number;
}

export class TemplateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

export function lineOf(src: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src[i] === '\n') line++;
  return line;
}

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

export function lex(src: string, name = ''): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (pos: number, msg: string): never => {
    throw new TemplateSyntaxError(`template: ${name}:${lineOf(src, pos)}: ${msg}`);
  };
  // Go's lexer: a word (field, variable, identifier) must end where an operand can end.
  const endWord = (q: number): void => {
    const c = src[q];
    if (c === undefined || isSpace(c) || '.,|:()'.includes(c) || src.startsWith('}}', q)) return;
    const rune = String.fromCodePoint(src.codePointAt(q)!);
    fail(q, `bad character U+${rune.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} '${rune}'`);
  };
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ kind: 'text', value: src.slice(i), pos: i });
      break;
    }
    let text = src.slice(i, open);
    let p = open + 2;
    // "{{- " trims the whitespace before the action.
    if (src[p] === '-' && isSpace(src[p + 1])) {
      text = text.replace(/[ \t\r\n]+$/, '');
      p += 1;
    }
    if (text) out.push({ kind: 'text', value: text, pos: i });
    // comments: {{/* ... */}}
    let q = p;
    while (isSpace(src[q])) q++;
    if (src.startsWith('/*', q)) {
      const endC = src.indexOf('*/', q + 2);
      if (endC < 0) fail(q, 'unclosed comment');
      let r = endC + 2;
      while (isSpace(src[r])) r++;
      let trimAfter = false;
      if (src[r] === '-' && src[r + 1] === '}' && src[r + 2] === '}') {
        trimAfter = true;
        r += 1;
      }
      if (!src.startsWith('}}', r)) fail(r, 'comment ends before closing delimiter');
      i = r + 2;
      if (trimAfter) while (isSpace(src[i])) i++;
      continue;
    }
    out.push({ kind: 'left', value: '{{', pos: open });
    let closed = false;
    while (p < src.length) {
      const c = src[p]!;
      if (isSpace(c)) {
        // " -}}" trims the whitespace after the action
        let s = p;
        while (isSpace(src[s])) s++;
        if (src[s] === '-' && src[s + 1] === '}' && src[s + 2] === '}') {
          out.push({ kind: 'right', value: '}}', pos: s });
          p = s + 3;
          while (isSpace(src[p])) p++;
          closed = true;
          break;
        }
        out.push({ kind: 'space', value: ' ', pos: p });
        p = s;
        continue;
      }
      if (c === '}' && src[p + 1] === '}') {
        out.push({ kind: 'right', value: '}}', pos: p });
        p += 2;
        closed = true;
        break;
      }
      const start = p;
      if (c === '|') { out.push({ kind: 'pipe', value: c, pos: p++ }); continue; }
      if (c === '(') { out.push({ kind: 'lparen', value: c, pos: p++ }); continue; }
      if (c === ')') { out.push({ kind: 'rparen', value: c, pos: p++ }); continue; }
      if (c === ',') { out.push({ kind: 'comma', value: c, pos: p++ }); continue; }
      if (c === ':' && src[p + 1] === '=') { out.push({ kind: 'declare', value: ':=', pos: p }); p += 2; continue; }
      if (c === '=') { out.push({ kind: 'assign', value: '=', pos: p++ }); continue; }
      if (c === '"') {
        p++;
        while (p < src.length && src[p] !== '"') {
          if (src[p] === '\\') p++;
          if (src[p] === '\n') fail(p, 'unterminated quoted string');
          p++;
        }
        if (p >= src.length) fail(start, 'unterminated quoted string');
        p++;
        out.push({ kind: 'string', value: src.slice(start, p), pos: start });
        continue;
      }
      if (c === '`') {
        const end = src.indexOf('`', p + 1);
        if (end < 0) fail(start, 'unterminated raw quoted string');
        p = end + 1;
        out.push({ kind: 'rawstring', value: src.slice(start + 1, end), pos: start });
        continue;
      }
      if (c === "'") {
        p++;
        if (src[p] === '\\') p++;
        p++;
        if (src[p] !== "'") fail(start, 'unterminated character constant');
        p++;
        out.push({ kind: 'char', value: src.slice(start, p), pos: start });
        continue;
      }
      if (c === '$') {
        p++;
        while (isAlnum(src[p])) p++;
        endWord(p);
        out.push({ kind: 'variable', value: src.slice(start, p), pos: start });
        continue;
      }
      if (c === '.') {
        if (/[0-9]/.test(src[p + 1] ?? '')) {
          // a number like .5
        } else {
          p++;
          if (!isAlnum(src[p])) {
            out.push({ kind: 'dot', value: '.', pos: start });
            continue;
          }
          while (isAlnum(src[p])) p++;
          endWord(p);
          out.push({ kind: 'field', value: src.slice(start, p), pos: start });
          continue;
        }
      }
      if (/[0-9+\-.]/.test(c)) {
        const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(src.slice(p));
        if (!m || m[0] === '' || m[0] === '+' || m[0] === '-' || m[0] === '.') fail(p, `unexpected "${c}" in command`);
        p += m![0].length;
        if (isAlnum(src[p])) fail(start, `bad number syntax: "${src.slice(start, p + 1)}"`);
        out.push({ kind: 'number', value: src.slice(start, p), pos: start });
        continue;
      }
      if (isAlnum(c)) {
        while (isAlnum(src[p])) p++;
        endWord(p);
        const word = src.slice(start, p);
        if (word === 'true' || word === 'false') out.push({ kind: 'bool', value: word, pos: start });
        else if (word === 'nil') out.push({ kind: 'nil', value: word, pos: start });
        else out.push({ kind: 'ident', value: word, pos: start });
        continue;
      }
      fail(p, `unexpected "${c}" in command`);
    }
    if (!closed) fail(open, 'unclosed action');
    i = p;
  }
  out.push({ kind: 'eof', value: '', pos: src.length });
  return out;
}
