// Evaluator for parsed Go templates over JSON-shaped data (and the CLI's formatting contexts,
// whose getters and methods stand in for the Go methods docker's formatters expose).
import { formatValue, NO_VALUE, sprint, sprintf, sprintln } from './format.js';
import { lineOf } from './lex.js';
import type { Command, ControlNode, Node, Operand, Pipeline, Tree } from './parse.js';

export class TemplateExecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateExecError';
  }
}

export type TemplateFunc = (...args: unknown[]) => unknown;

/** Control-flow signals for {{break}} and {{continue}}. */
class LoopSignal {
  constructor(readonly kind: 'break' | 'continue') {}
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === NO_VALUE || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') {
    // contexts (class instances) are Go structs: always true
    return Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === 0;
  }
  return false;
}

export function truth(v: unknown): boolean {
  return !isEmpty(v);
}

function typeName(v: unknown): string {
  if (v === null || v === undefined || v === NO_VALUE) return 'interface {}';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'object') {
    // A context class is named as docker's Go type; its package is formatter unless it says (goPackage).
    const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string; goPackage?: string } } | null;
    if (proto && proto !== Object.prototype && proto.constructor?.name) return `*${proto.constructor.goPackage ?? 'formatter'}.${proto.constructor.name}`;
    return 'map[string]interface {}';
  }
  return typeof v;
}

function basicKind(v: unknown): 'number' | 'string' | 'boolean' | 'nil' | 'other' {
  if (v === null || v === undefined || v === NO_VALUE) return 'nil';
  const t = typeof v;
  return t === 'number' || t === 'string' || t === 'boolean' ? t : 'other';
}

function eqOne(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === 'nil' || kb === 'nil') return ka === kb;
  if (ka === 'other' || kb === 'other') throw new Error('incompatible types for comparison');
  if (ka !== kb) throw new Error('incompatible types for comparison');
  return a === b;
}

function compare(a: unknown, b: unknown): number {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== kb || (ka !== 'number' && ka !== 'string')) {
    throw new Error(ka === kb ? 'invalid type for comparison' : 'incompatible types for comparison');
  }
  return (a as number | string) < (b as number | string) ? -1 : a === b ? 0 : 1;
}

function lengthOf(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (v && typeof v === 'object') return Object.keys(v).length;
  throw new Error(`len of type ${typeName(v)}`);
}

function indexOne(v: unknown, k: unknown): unknown {
  if (Array.isArray(v) || typeof v === 'string') {
    if (typeof k !== 'number' || !Number.isInteger(k)) throw new Error(`cannot index slice/array with type ${typeName(k)}`);
    if (k < 0 || k >= v.length) throw new Error(`index out of range: ${k}`);
    return typeof v === 'string' ? Buffer.from(v)[k] : v[k];
  }
  if (v && typeof v === 'object') {
    const key = String(k);
    // docker's maps are map[string]string (Labels, Details): a missing key is the zero value ""
    return Object.prototype.hasOwnProperty.call(v, key) ? (v as Record<string, unknown>)[key] : '';
  }
  if (v === null || v === undefined || v === NO_VALUE) throw new Error('index of untyped nil');
  throw new Error(`can't index item of type ${typeName(v)}`);
}

/** The functions every docker template has: Go's builtins plus docker's templates.basicFunctions. */
export const BUILTINS: Record<string, TemplateFunc> = {
  // and/or are lazy in Go ≥ 1.18; exec() special-cases them, these run only with values.
  and: (...a) => a.find((x) => !truth(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truth(x)) ?? a[a.length - 1],
  not: (a) => !truth(a),
  len: (a) => lengthOf(a),
  index: (v, ...keys) => keys.reduce((acc, k) => indexOne(acc, k), v),
  slice: (v, ...idx) => {
    if (typeof v !== 'string' && !Array.isArray(v)) throw new Error(`can't slice item of type ${typeName(v)}`);
    const [i = 0, j = v.length] = idx as number[];
    return v.slice(i, j);
  },
  print: (...a) => sprint(a),
  printf: (f, ...a) => sprintf(String(f), a),
  println: (...a) => sprintln(a),
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new Error('missing argument for comparison');
    return bs.some((b) => eqOne(a, b));
  },
  ne: (a, b) => !eqOne(a, b),
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  html: (...a) => sprint(a).replace(/[&<>"'\0]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;', '\0': '\uFFFD' })[c]!),
  js: (...a) => sprint(a).replace(/[\\'"<>&=\n\r\t]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`),
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+'),
  call: (fn, ...a) => {
    if (typeof fn !== 'function') throw new Error(`non-function of type ${typeName(fn)}`);
    return (fn as TemplateFunc)(...a);
  },
  // docker/cli templates.basicFunctions
  json: (v) => jsonEncode(v),
  split: (s, sep) => splitGo(String(s), String(sep)),
  join: (a, sep) => {
    if (!Array.isArray(a)) throw new Error(`wrong type for value; expected []string; got ${typeName(a)}`);
    return a.map((x) => (typeof x === 'string' ? x : formatValue(x))).join(String(sep));
  },
  title: (s) => String(s).replace(/(^|[^A-Za-z0-9_'])([a-z])/g, (_m, p: string, c: string) => p + c.toUpperCase()),
  lower: (s) => String(s).toLowerCase(),
  upper: (s) => String(s).toUpperCase(),
  pad: (s, prefix, suffix) => (s === '' ? '' : ' '.repeat(Number(prefix)) + String(s) + ' '.repeat(Number(suffix))),
  truncate: (s, n) => {
    const b = Buffer.from(String(s));
    return b.length < Number(n) ? String(s) : b.subarray(0, Number(n)).toString();
  },
};

function splitGo(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

/** json.Encoder with SetEscapeHTML(false), trailing newline trimmed: docker's `json` function. */
export function jsonEncode(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return 'null';
  return JSON.stringify(v, (_k, x: unknown) => (x === undefined ? null : x))
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

interface Scope {
  vars: Map<string, unknown>;
  parent?: Scope;
}

export class Executor {
  private out = '';
  constructor(
    private readonly tree: Tree,
    private readonly funcs: Record<string, TemplateFunc>,
    private readonly src: string,
    private readonly name = '',
    /** 'error': a missing map key fails, as docker's inspect fallback (missingkey=error) does. */
    private readonly missingKey: 'default' | 'error' = 'default',
  ) {}

  run(data: unknown): string {
    this.out = '';
    const scope: Scope = { vars: new Map([['$', data]]) };
    this.list(this.tree.root, data, scope);
    return this.out;
  }

  private fail(pos: number, at: string, msg: string): never {
    const line = lineOf(this.src, pos);
    // Go counts the column from 0 (text/template's ErrorContext).
    const col = pos - this.src.lastIndexOf('\n', pos - 1) - 1;
    throw new TemplateExecError(`template: ${this.name}:${line}:${col}: executing "${this.name}" at <${at}>: ${msg}`);
  }

  private list(nodes: Node[], dot: unknown, scope: Scope): void {
    for (const n of nodes) this.node(n, dot, scope);
  }

  private node(n: Node, dot: unknown, scope: Scope): void {
    switch (n.type) {
      case 'text':
        this.out += n.text;
        return;
      case 'action': {
        const v = this.pipeline(n.pipe, dot, scope);
        if (n.pipe.decl.length === 0) this.out += formatValue(v);
        return;
      }
      case 'if':
      case 'with': {
        const inner: Scope = { vars: new Map(), parent: scope };
        const v = this.pipeline(n.pipe, dot, inner);
        if (truth(v)) this.list(n.list, n.type === 'with' ? v : dot, inner);
        else if (n.elseList) this.list(n.elseList, dot, inner);
        return;
      }
      case 'range':
        this.range(n, dot, scope);
        return;
      case 'template': {
        const body = this.tree.defines.get(n.name);
        if (!body) this.fail(n.pos, `template "${n.name}"`, `no such template "${n.name}"`);
        const v = n.pipe ? this.pipeline(n.pipe, dot, scope) : undefined;
        this.list(body, v, { vars: new Map([['$', v]]) });
        return;
      }
      case 'break':
      case 'continue':
        throw new LoopSignal(n.type);
    }
  }

  private range(n: ControlNode, dot: unknown, scope: Scope): void {
    const inner: Scope = { vars: new Map(), parent: scope };
    const v = this.pipeline({ ...n.pipe, decl: [] }, dot, inner);
    let entries: Array<[unknown, unknown]>;
    if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
    else if (typeof v === 'number' && Number.isInteger(v)) entries = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
    else if (v && typeof v === 'object') entries = Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]);
    else if (v === null || v === undefined || v === NO_VALUE) entries = [];
    else this.fail(n.pipe.pos, n.pipe.text, `range can't iterate over ${formatValue(v)}`);
    if (entries.length === 0) {
      if (n.elseList) this.list(n.elseList, dot, inner);
      return;
    }
    for (const [k, x] of entries) {
      if (n.pipe.decl.length === 1) this.setVar(inner, n.pipe.decl[0]!, x, n.pipe.assign);
      else if (n.pipe.decl.length === 2) {
        this.setVar(inner, n.pipe.decl[0]!, k, n.pipe.assign);
        this.setVar(inner, n.pipe.decl[1]!, x, n.pipe.assign);
      }
      try {
        this.list(n.list, x, { vars: new Map(), parent: inner });
      } catch (e) {
        if (e instanceof LoopSignal) {
          if (e.kind === 'break') break;
          continue;
        }
        throw e;
      }
    }
  }

  private setVar(scope: Scope, name: string, v: unknown, assign: boolean): void {
    if (!assign) {
      scope.vars.set(name, v);
      return;
    }
    for (let s: Scope | undefined = scope; s; s = s.parent) {
      if (s.vars.has(name)) {
        s.vars.set(name, v);
        return;
      }
    }
    scope.vars.set(name, v);
  }

  private lookupVar(scope: Scope, name: string): unknown {
    for (let s: Scope | undefined = scope; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
    return undefined;
  }

  private pipeline(p: Pipeline, dot: unknown, scope: Scope): unknown {
    let v: unknown = undefined;
    let has = false;
    for (const c of p.cmds) {
      v = this.command(c, dot, scope, has ? [v] : []);
      has = true;
    }
    for (const d of p.decl) this.setVar(scope, d, v, p.assign);
    return v;
  }

  private command(c: Command, dot: unknown, scope: Scope, final: unknown[]): unknown {
    const [first, ...rest] = c.args;
    const arg = (a: Operand): unknown => (a.type === 'nil' ? null : this.operand(a, dot, scope, []));
    const args = (): unknown[] => [...rest.map(arg), ...final];
    switch (first!.type) {
      case 'ident': {
        const name = first!.name;
        const fn = this.funcs[name];
        if (!fn) this.fail(first!.pos, name, `function "${name}" not defined`);
        try {
          if (name === 'and' || name === 'or') {
            // lazy: stop at the first falsy (and) / truthy (or) argument
            const all = [...rest.map((a) => () => arg(a)), ...final.map((f) => () => f)];
            let last: unknown;
            for (const get of all) {
              last = get();
              if (name === 'and' ? !truth(last) : truth(last)) return last;
            }
            return last;
          }
          return fn(...args());
        } catch (e) {
          if (e instanceof TemplateExecError || e instanceof LoopSignal) throw e;
          this.fail(first!.pos, name, `error calling ${name}: ${(e as Error).message}`);
        }
      }
      // falls through (unreachable)
      case 'field':
      case 'variable':
      case 'pipe':
        return this.operand(first!, dot, scope, [...rest.map(arg), ...final]);
      default:
        if (rest.length || final.length) this.fail(first!.pos, this.describe(first!), `can't give argument to non-function ${this.describe(first!)}`);
        return this.operand(first!, dot, scope, []);
    }
  }

  private describe(o: Operand): string {
    switch (o.type) {
      case 'field': return '.' + o.chain.join('.');
      case 'variable': return o.name + o.chain.map((c) => '.' + c).join('');
      case 'string': return JSON.stringify(o.value);
      case 'number': return o.text;
      case 'bool': return String(o.value);
      case 'nil': return 'nil';
      case 'dot': return '.';
      case 'ident': return o.name;
      case 'pipe': return `(${o.pipe.text})`;
    }
  }

  /** Evaluates an operand; method-call arguments apply to the last element of a field chain. */
  private operand(o: Operand, dot: unknown, scope: Scope, args: unknown[]): unknown {
    switch (o.type) {
      case 'dot': return dot;
      case 'string': return o.value;
      case 'number': return o.value;
      case 'bool': return o.value;
      case 'nil': this.fail(o.pos, 'nil', 'nil is not a command');
      // falls through (unreachable)
      case 'ident': {
        const fn = this.funcs[o.name];
        if (!fn) this.fail(o.pos, o.name, `function "${o.name}" not defined`);
        try {
          return fn(...args);
        } catch (e) {
          this.fail(o.pos, o.name, `error calling ${o.name}: ${(e as Error).message}`);
        }
      }
      // falls through (unreachable)
      case 'field':
        return this.chain(dot, o.chain, args, o);
      case 'variable':
        return this.chain(this.lookupVar(scope, o.name), o.chain, args, o);
      case 'pipe': {
        const v = this.pipeline(o.pipe, dot, scope);
        return this.chain(v, o.chain, args, o);
      }
    }
  }

  private chain(start: unknown, chain: string[], args: unknown[], o: Operand): unknown {
    let v = start;
    for (let i = 0; i < chain.length; i++) {
      const name = chain[i]!;
      const last = i === chain.length - 1;
      v = this.field(v, name, last ? args : [], o);
    }
    if (chain.length === 0 && args.length > 0) this.fail(o.pos, this.describe(o), `can't give argument to non-function ${this.describe(o)}`);
    return v;
  }

  private field(v: unknown, name: string, args: unknown[], o: Operand): unknown {
    const at = this.describe(o);
    if (v === null || v === undefined || v === NO_VALUE) this.fail(o.pos, at, `nil pointer evaluating interface {}.${name}`);
    if (typeof v !== 'object') this.fail(o.pos, at, `can't evaluate field ${name} in type ${typeName(v)}`);
    const obj = v as Record<string, unknown>;
    const isPlain = Object.getPrototypeOf(obj) === Object.prototype || Object.getPrototypeOf(obj) === null;
    if (Array.isArray(obj)) this.fail(o.pos, at, `can't evaluate field ${name} in type ${typeName(v)}`);
    if (!isPlain) {
      // a formatting context: Go methods are getters or functions here
      if (!(name in obj)) this.fail(o.pos, at, `can't evaluate field ${name} in type ${typeName(v)}`);
      const m = obj[name];
      if (typeof m === 'function') {
        try {
          return (m as TemplateFunc).apply(obj, args);
        } catch (e) {
          this.fail(o.pos, at, `error calling ${name}: ${(e as Error).message}`);
        }
      }
      if (args.length) this.fail(o.pos, at, `${name} has arguments but cannot be invoked as function`);
      return m;
    }
    if (args.length) this.fail(o.pos, at, `${name} is not a method but has arguments`);
    if (Object.prototype.hasOwnProperty.call(obj, name)) return obj[name];
    if (this.missingKey === 'error') this.fail(o.pos, at, `map has no entry for key "${name}"`);
    return NO_VALUE;
  }
}
