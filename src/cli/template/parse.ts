// Parser for Go's text/template: builds the tree that exec.ts walks.
import { lex, lineOf, TemplateSyntaxError } from './lex.js';
import type { Token } from './lex.js';

export type Operand =
  | { type: 'field'; chain: string[]; pos: number } // .A.B (relative to dot)
  | { type: 'variable'; name: string; chain: string[]; pos: number } // $x.A
  | { type: 'dot'; pos: number }
  | { type: 'ident'; name: string; pos: number } // function
  | { type: 'pipe'; pipe: Pipeline; chain: string[]; pos: number } // (pipeline).A
  | { type: 'string'; value: string; pos: number }
  | { type: 'number'; value: number; text: string; pos: number }
  | { type: 'bool'; value: boolean; pos: number }
  | { type: 'nil'; pos: number };

export interface Command {
  args: Operand[];
  pos: number;
}

export interface Pipeline {
  decl: string[];
  /** true for "$x = ...", false for "$x := ..." */
  assign: boolean;
  cmds: Command[];
  pos: number;
  text: string;
}

export type Node =
  | { type: 'text'; text: string }
  | { type: 'action'; pipe: Pipeline }
  | ControlNode
  | { type: 'template'; name: string; pipe?: Pipeline; pos: number }
  | { type: 'break' | 'continue' };

export interface ControlNode {
  type: 'if' | 'with' | 'range';
  pipe: Pipeline;
  list: Node[];
  elseList?: Node[];
}

export interface Tree {
  root: Node[];
  defines: Map<string, Node[]>;
}

export type FuncChecker = (name: string) => boolean;

const BUILTIN_KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

/** Go's item.String(), as its parse errors print a token: EOF, <keyword>, or quoted (cut at 10). */
function itemString(t: Token): string {
  if (t.kind === 'eof') return 'EOF';
  if (t.kind === 'dot' || t.kind === 'nil' || (t.kind === 'ident' && BUILTIN_KEYWORDS.has(t.value))) return `<${t.value}>`;
  const rs = [...t.value];
  return rs.length > 10 ? `${JSON.stringify(rs.slice(0, 10).join(''))}...` : JSON.stringify(t.value);
}

function unquote(tok: Token): string {
  if (tok.kind === 'rawstring') return tok.value;
  // Go and JSON string escapes overlap enough for docker's usage; handle \x and \u too.
  const body = tok.value.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    switch (e[0]) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case 'a': return '\x07';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'v': return '\v';
      case 'x': case 'u': case 'U': return String.fromCodePoint(parseInt(e.slice(1), 16));
      default:
        if (/^[0-7]{3}$/.test(e)) return String.fromCharCode(parseInt(e, 8));
        return e;
    }
  });
}

function parseNumber(text: string): number {
  const t = text.replace(/_/g, '');
  if (/^[+-]?0[xX]/.test(t)) return parseInt(t.replace(/0[xX]/, ''), 16) * (t.startsWith('-') ? -1 : 1);
  if (/^[+-]?0[bB]/.test(t)) return parseInt(t.replace(/0[bB]/, ''), 2) * (t.startsWith('-') ? -1 : 1);
  if (/^[+-]?0[oO]/.test(t)) return parseInt(t.replace(/0[oO]/, ''), 8) * (t.startsWith('-') ? -1 : 1);
  return Number(t);
}

class Parser {
  private i = 0;
  private readonly defines = new Map<string, Node[]>();
  private readonly vars: string[][] = [['$']];

  constructor(
    private readonly src: string,
    private readonly toks: Token[],
    private readonly name: string,
    private readonly hasFunc: FuncChecker,
  ) {}

  private fail(pos: number, msg: string): never {
    throw new TemplateSyntaxError(`template: ${this.name}:${lineOf(this.src, pos)}: ${msg}`);
  }

  private peek(): Token {
    return this.toks[this.i]!;
  }
  private next(): Token {
    return this.toks[this.i++]!;
  }
  private peekNonSpace(): Token {
    let j = this.i;
    while (this.toks[j]!.kind === 'space') j++;
    return this.toks[j]!;
  }
  private nextNonSpace(): Token {
    let t = this.next();
    while (t.kind === 'space') t = this.next();
    return t;
  }

  parse(): Tree {
    const { list, end } = this.parseList();
    if (end) this.fail(end.pos, `unexpected {{${end.word}}}`);
    return { root: list, defines: this.defines };
  }

  /** Parses until {{end}}, {{else}} or EOF; returns which one ended it. */
  private parseList(): { list: Node[]; end?: { word: 'end' | 'else'; pos: number } } {
    const list: Node[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return { list };
      if (t.kind === 'text') {
        this.next();
        list.push({ type: 'text', text: t.value });
        continue;
      }
      // left delimiter
      this.next();
      const kw = this.peekNonSpace();
      if (kw.kind === 'ident' && BUILTIN_KEYWORDS.has(kw.value)) {
        this.nextNonSpace();
        switch (kw.value) {
          case 'end':
            this.expectRight('end');
            return { list, end: { word: 'end', pos: kw.pos } };
          case 'else':
            // "else" alone, or "else if ..." / "else with ..." chains: leave the keyword for the caller.
            return { list, end: { word: 'else', pos: kw.pos } };
          case 'if':
          case 'with':
          case 'range':
            list.push(this.parseControl(kw.value, kw.pos));
            continue;
          case 'break':
          case 'continue':
            this.expectRight(kw.value);
            list.push({ type: kw.value });
            continue;
          case 'template': {
            const nameTok = this.nextNonSpace();
            if (nameTok.kind !== 'string' && nameTok.kind !== 'rawstring') this.fail(nameTok.pos, 'unexpected name in template clause');
            const pipe = this.peekNonSpace().kind === 'right' ? undefined : this.parsePipeline('template', false);
            if (!pipe) this.expectRight('template');
            list.push({ type: 'template', name: unquote(nameTok), pipe, pos: kw.pos });
            continue;
          }
          case 'define':
          case 'block': {
            const nameTok = this.nextNonSpace();
            if (nameTok.kind !== 'string' && nameTok.kind !== 'rawstring') this.fail(nameTok.pos, `unexpected name in ${kw.value} clause`);
            const tname = unquote(nameTok);
            let pipe: Pipeline | undefined;
            if (kw.value === 'block') pipe = this.parsePipeline('block', false);
            else this.expectRight('define');
            this.vars.push(['$']);
            const body = this.parseList();
            this.vars.pop();
            if (body.end?.word !== 'end') this.fail(kw.pos, `unexpected EOF`);
            this.defines.set(tname, body.list);
            if (kw.value === 'block') list.push({ type: 'template', name: tname, pipe, pos: kw.pos });
            continue;
          }
        }
      }
      const pipe = this.parsePipeline('command', true);
      list.push({ type: 'action', pipe });
    }
  }

  private expectRight(context: string): void {
    const t = this.nextNonSpace();
    if (t.kind !== 'right') this.fail(t.pos, `unexpected ${itemString(t)} in ${context}`);
  }

  private parseControl(kind: 'if' | 'with' | 'range', pos: number): Node {
    this.vars.push([...this.vars[this.vars.length - 1]!]);
    const pipe = this.parsePipeline(kind, false, kind === 'range');
    const body = this.parseList();
    let elseList: Node[] | undefined;
    if (!body.end) this.fail(pos, 'unexpected EOF');
    if (body.end.word === 'else') {
      const after = this.peekNonSpace();
      if ((kind === 'if' && after.kind === 'ident' && after.value === 'if') || (kind === 'with' && after.kind === 'ident' && after.value === 'with')) {
        // "{{else if x}}": a nested control that shares our {{end}}
        this.nextNonSpace();
        elseList = [this.parseControl(kind, after.pos)];
      } else {
        this.expectRight('else');
        const e = this.parseList();
        if (e.end?.word !== 'end') this.fail(pos, e.end ? 'expected end; found {{else}}' : 'unexpected EOF');
        elseList = e.list;
      }
    }
    this.vars.pop();
    return { type: kind, pipe, list: body.list, elseList };
  }

  private parsePipeline(context: string, allowAssign: boolean, rangeDecl = false): Pipeline {
    const start = this.peekNonSpace().pos;
    const decl: string[] = [];
    let assign = false;
    // lookahead for "$x :=" / "$x, $y :=" / "$x ="
    const save = this.i;
    const v1 = this.nextNonSpace();
    if (v1.kind === 'variable') {
      const n = this.nextNonSpace();
      if (n.kind === 'declare' || (n.kind === 'assign' && allowAssign !== undefined)) {
        decl.push(v1.value);
        assign = n.kind === 'assign';
      } else if (n.kind === 'comma' && rangeDecl) {
        const v2 = this.nextNonSpace();
        const d = this.nextNonSpace();
        if (v2.kind !== 'variable' || (d.kind !== 'declare' && d.kind !== 'assign')) this.fail(v2.pos, 'range can only initialize variables');
        decl.push(v1.value, v2.value);
        assign = d.kind === 'assign';
      } else {
        this.i = save;
      }
    } else {
      this.i = save;
    }
    if (!assign) for (const d of decl) this.vars[this.vars.length - 1]!.push(d);
    else for (const d of decl) if (!this.knownVar(d)) this.fail(start, `undefined variable "${d}"`);
    const cmds: Command[] = [];
    for (;;) {
      const t = this.peekNonSpace();
      if (t.kind === 'right' || (context === 'paren' && t.kind === 'rparen')) {
        this.nextNonSpace();
        break;
      }
      if (t.kind === 'eof') this.fail(t.pos, `unclosed action`);
      cmds.push(this.parseCommand(context));
      const after = this.peekNonSpace();
      if (after.kind === 'pipe') {
        this.nextNonSpace();
        if (this.peekNonSpace().kind === 'right' || this.peekNonSpace().kind === 'rparen') this.fail(after.pos, 'missing command');
        continue;
      }
    }
    if (cmds.length === 0) this.fail(start, `missing value for ${context}`);
    const endTok = this.toks[this.i - 1]!;
    return { decl, assign, cmds, pos: start, text: this.src.slice(start, endTok.pos).trim() };
  }

  private knownVar(name: string): boolean {
    return this.vars[this.vars.length - 1]!.includes(name);
  }

  private parseCommand(context: string): Command {
    const args: Operand[] = [];
    const pos = this.peekNonSpace().pos;
    for (;;) {
      const t = this.peekNonSpace();
      if (t.kind === 'right' || t.kind === 'pipe' || t.kind === 'rparen' || t.kind === 'eof') {
        if (t.kind === 'rparen' && context !== 'paren') this.fail(t.pos, `unexpected right paren`);
        break;
      }
      this.nextNonSpace();
      args.push(this.parseOperand(t));
      // operands must be separated by spaces
      const n = this.peek();
      if (n.kind !== 'space' && n.kind !== 'right' && n.kind !== 'pipe' && n.kind !== 'rparen' && n.kind !== 'eof') {
        this.fail(n.pos, `unexpected ${itemString(n)} in operand`);
      }
    }
    if (args.length === 0) this.fail(pos, 'empty command');
    return { args, pos };
  }

  private chain(): string[] {
    const chain: string[] = [];
    while (this.peek().kind === 'field') chain.push(this.next().value.slice(1));
    return chain;
  }

  private parseOperand(t: Token): Operand {
    switch (t.kind) {
      case 'field':
        return { type: 'field', chain: [t.value.slice(1), ...this.chain()], pos: t.pos };
      case 'variable':
        if (!this.knownVar(t.value)) this.fail(t.pos, `undefined variable "${t.value}"`);
        return { type: 'variable', name: t.value, chain: this.chain(), pos: t.pos };
      case 'dot':
        return { type: 'dot', pos: t.pos };
      case 'ident':
        if (BUILTIN_KEYWORDS.has(t.value)) this.fail(t.pos, `unexpected <${t.value}> in command`);
        if (!this.hasFunc(t.value)) this.fail(t.pos, `function "${t.value}" not defined`);
        return { type: 'ident', name: t.value, pos: t.pos };
      case 'lparen': {
        const pipe = this.parsePipeline('paren', false);
        return { type: 'pipe', pipe, chain: this.chain(), pos: t.pos };
      }
      case 'string':
      case 'rawstring':
        return { type: 'string', value: unquote(t), pos: t.pos };
      case 'char': {
        const s = unquote({ ...t, value: `"${t.value.slice(1, -1)}"` });
        return { type: 'number', value: s.codePointAt(0) ?? 0, text: t.value, pos: t.pos };
      }
      case 'number':
        return { type: 'number', value: parseNumber(t.value), text: t.value, pos: t.pos };
      case 'bool':
        return { type: 'bool', value: t.value === 'true', pos: t.pos };
      case 'nil':
        return { type: 'nil', pos: t.pos };
      default:
        return this.fail(t.pos, `unexpected ${itemString(t)} in operand`);
    }
  }
}

export function parse(src: string, hasFunc: FuncChecker, name = ''): Tree {
  return new Parser(src, lex(src, name), name, hasFunc).parse();
}
