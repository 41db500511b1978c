// ARG and ENV scoping as Docker has it: ARGs before the first FROM are "meta" args usable only in
// FROM lines (a stage sees one only after redeclaring it with `ARG NAME`); a stage's ARGs are
// visible from their declaration to the end of that stage; ENV beats ARG of the same name.
import { ArgDef } from './instructions.js';
import { EnvLookup, ShellLex } from './shell-lex.js';

/** Args Docker defines without a declaration; they reach RUN but never the image history. */
export const PROXY_ARGS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'];

/** BuildKit's automatic platform args, usable in FROM and (once declared) in stages. */
export function platformArgs(platform = 'linux/amd64'): Map<string, string> {
  const [os, arch, variant = ''] = platform.split('/');
  const m = new Map<string, string>();
  for (const pre of ['BUILD', 'TARGET']) {
    m.set(`${pre}PLATFORM`, platform);
    m.set(`${pre}OS`, os);
    m.set(`${pre}ARCH`, arch);
    m.set(`${pre}VARIANT`, variant);
  }
  return m;
}

export function envListToMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return m;
}

/** Sets KEY in a config Env list, keeping its position if already there. */
export function setEnv(env: string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => e === key || e.startsWith(`${key}=`));
  if (i >= 0) out[i] = `${key}=${value}`; else out.push(`${key}=${value}`);
  return out;
}

export class BuildArgs {
  private readonly consumed = new Set<string>();
  constructor(readonly values: Map<string, string | null>) {}

  /** The user's value for an arg, marking it as consumed; undefined when not given. */
  take(key: string): string | undefined {
    if (!this.values.has(key)) return undefined;
    this.consumed.add(key);
    const v = this.values.get(key);
    return v === null ? undefined : v;
  }

  /** Build args that no ARG declared (Docker warns about them). */
  unconsumed(): string[] {
    return [...this.values.keys()].filter((k) => !this.consumed.has(k) && !PROXY_ARGS.includes(k)).sort();
  }
}

/** Values of the meta args, declared in order, each default expanded with those before it. */
export function resolveMetaArgs(defs: ArgDef[][], buildArgs: BuildArgs, lex: ShellLex, platform?: string): Map<string, string> {
  const scope = new Map<string, string>(platformArgs(platform));
  for (const group of defs) {
    for (const a of group) {
      const given = buildArgs.take(a.key);
      if (given !== undefined) { scope.set(a.key, given); continue; }
      if (a.value !== undefined) scope.set(a.key, lex.processWord(a.value, { get: (k) => scope.get(k) }).result);
    }
  }
  return scope;
}

/** The variables of one stage while it builds. */
export class StageVars {
  /** Declared args with a value, in declaration order. */
  readonly args = new Map<string, string>();

  constructor(private readonly meta: Map<string, string>, private readonly buildArgs: BuildArgs) {}

  /** `ARG K[=default]` inside the stage. */
  declare(a: ArgDef, env: string[], lex: ShellLex): void {
    const given = this.buildArgs.take(a.key);
    if (given !== undefined) { this.args.set(a.key, given); return; }
    if (a.value !== undefined) { this.args.set(a.key, lex.processWord(a.value, this.lookup(env)).result); return; }
    const m = this.meta.get(a.key);
    if (m !== undefined) this.args.set(a.key, m);
  }

  /** Expansion scope: ENV first, then declared ARGs. */
  lookup(env: string[]): EnvLookup {
    const e = envListToMap(env);
    return { get: (k) => e.get(k) ?? this.args.get(k) };
  }

  /** The env a RUN step gets: declared args and proxy args, overridden by ENV. */
  runEnv(env: string[]): string[] {
    const e = envListToMap(env);
    const out: string[] = [];
    for (const [k, v] of this.args) if (!e.has(k)) out.push(`${k}=${v}`);
    for (const k of PROXY_ARGS) {
      if (this.args.has(k) || e.has(k)) continue;
      const v = this.buildArgs.values.get(k);
      if (typeof v === 'string') out.push(`${k}=${v}`);
    }
    return [...env, ...out];
  }

  /** Declared args that RUN sees and the history records (`|2 A=1 B=2 /bin/sh -c ...`). */
  historyArgs(env: string[]): string[] {
    const e = envListToMap(env);
    return [...this.args].filter(([k]) => !e.has(k) && !PROXY_ARGS.includes(k)).map(([k, v]) => `${k}=${v}`).sort();
  }
}
