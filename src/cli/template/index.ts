// Go text/template, as docker's --format/-f uses it: parse once, execute per object.
import { BUILTINS, Executor } from './exec.js';
import type { TemplateFunc } from './exec.js';
import { parse } from './parse.js';

export { TemplateSyntaxError } from './lex.js';
export { TemplateExecError, BUILTINS, jsonEncode, truth } from './exec.js';
export type { TemplateFunc } from './exec.js';
export { formatValue, NO_VALUE, markGoMap } from './format.js';

export class Template {
  private readonly exec: Executor;

  constructor(
    readonly source: string,
    extraFuncs: Record<string, TemplateFunc> = {},
    opts: { missingKey?: 'default' | 'error' } = {},
  ) {
    const funcs = { ...BUILTINS, ...extraFuncs };
    const tree = parse(source, (n) => n in funcs);
    this.exec = new Executor(tree, funcs, source, '', opts.missingKey);
  }

  execute(data: unknown): string {
    return this.exec.run(data);
  }
}

export function render(source: string, data: unknown, funcs?: Record<string, TemplateFunc>): string {
  return new Template(source, funcs).execute(data);
}
