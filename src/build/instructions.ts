// Parser nodes → typed instructions grouped into stages, with the checks and messages of
// buildkit's frontend/dockerfile/instructions. Values are kept unexpanded: variables are
// substituted while building, when ENV and ARG values are known.
import { parseGoDuration } from '../util/human.js';
import { DockerfileSyntaxError, Heredoc, Node, ParseResult, chompHeredoc, parseHeredocWord } from './parser.js';

export interface Loc {
  startLine: number;
  endLine: number;
  /** The instruction as written (continuations joined). */
  original: string;
}

export interface KeyValue { key: string; value: string; noDelim: boolean }
export interface ArgDef { key: string; value?: string }
export interface CopySourceContent { path: string; data: string; expand: boolean }

export type Instruction = Loc & (
  | { kind: 'run'; cmdLine: string[]; prependShell: boolean; files: Heredoc[]; mounts: string[]; network: string; security: string }
  | { kind: 'cmd' | 'entrypoint'; cmdLine: string[] | null; prependShell: boolean; files: Heredoc[] }
  | { kind: 'env' | 'label'; pairs: KeyValue[] }
  | { kind: 'arg'; args: ArgDef[] }
  | { kind: 'expose'; ports: string[] }
  | { kind: 'volume'; paths: string[] }
  | { kind: 'user' | 'workdir' | 'stopsignal' | 'maintainer'; value: string }
  | { kind: 'shell'; shell: string[] }
  | { kind: 'onbuild'; expression: string }
  | { kind: 'healthcheck'; test: string[]; interval: number; timeout: number; startPeriod: number; startInterval: number; retries: number }
  | {
    kind: 'copy' | 'add'; sources: string[]; contents: CopySourceContent[]; dest: string;
    from: string; chown: string; chmod: string; link: boolean; checksum: string; exclude: string[]; parents: boolean;
    keepGitDir: boolean; unpack?: boolean;
  }
);

export type InstructionOf<K extends Instruction['kind']> = Instruction & { kind: K };

export interface Stage extends Loc {
  /** Position among the Dockerfile's stages. */
  index: number;
  /** Lower-cased `AS` name, or "". */
  name: string;
  base: string;
  platform: string;
  commands: Instruction[];
}

export interface Dockerfile {
  stages: Stage[];
  /** ARGs before the first FROM: usable in FROM lines only (unless redeclared in a stage). */
  metaArgs: (Loc & { kind: 'arg'; args: ArgDef[] })[];
  escapeToken: string;
  warnings: string[];
}

class InstructionError extends Error {}

type FlagKind = 'string' | 'bool' | 'strings';

/** The `--flag=value` words of one instruction (buildkit's BFlags). */
class Flags {
  private readonly defs = new Map<string, FlagKind>();
  private readonly values = new Map<string, string[]>();
  constructor(private readonly raw: string[]) {}
  define(name: string, kind: FlagKind): this { this.defs.set(name, kind); return this; }
  parse(): void {
    for (const a of this.raw) {
      if (!a.startsWith('--')) throw new InstructionError(`arg should start with -- : ${a}`);
      const body = a.slice(2);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const kind = this.defs.get(name);
      if (!kind) throw new InstructionError(`unknown flag: ${name}`);
      if (this.values.has(name) && kind !== 'strings') throw new InstructionError(`duplicate flag specified: ${name}`);
      let value: string;
      if (kind === 'bool') {
        value = eq >= 0 ? body.slice(eq + 1).toLowerCase() : 'true';
        if (value === '') value = 'true';
        if (value !== 'true' && value !== 'false') throw new InstructionError(`expecting boolean value for flag ${name}, not: ${body.slice(eq + 1)}`);
      } else {
        if (eq < 0) throw new InstructionError(`missing a value on flag: ${name}`);
        value = body.slice(eq + 1);
        if (value === '' && kind === 'strings') throw new InstructionError(`missing a value on flag: ${name}`);
      }
      this.values.set(name, [...(this.values.get(name) ?? []), value]);
    }
  }
  str(name: string): string { return this.values.get(name)?.[0] ?? ''; }
  bool(name: string): boolean { return this.values.get(name)?.[0] === 'true'; }
  has(name: string): boolean { return this.values.has(name); }
  strs(name: string): string[] { return this.values.get(name) ?? []; }
}

const INSTRUCTIONS = ['add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer',
  'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir'];

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

function shellDependent(n: Node): { cmdLine: string[]; prependShell: boolean } {
  if (n.args.length === 0) return { cmdLine: [], prependShell: !n.json };
  return { cmdLine: n.json ? n.args : [n.args.join(' ')], prependShell: !n.json };
}

/** Go's time.ParseDuration, in nanoseconds, for HEALTHCHECK's flags. */
export function parseDuration(s: string): number {
  try {
    return Math.round(parseGoDuration(s) * 1e6);
  } catch (e) {
    throw new InstructionError((e as Error).message);
  }
}

function optInterval(flags: Flags, name: string): number {
  const s = flags.str(name);
  if (s === '') return 0;
  const d = parseDuration(s);
  if (d === 0) return 0;
  if (d < 1e6) throw new InstructionError(`Interval "${name}" cannot be less than 1ms`);
  return d;
}

function sourcesAndDest(n: Node, cmd: string): { sources: string[]; contents: CopySourceContent[]; dest: string } {
  const srcs = n.args.slice(0, -1);
  const dest = n.args[n.args.length - 1];
  if (parseHeredocWord(dest)) throw new InstructionError(`${cmd} cannot accept a heredoc as a destination`);
  const docs = new Map(n.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const contents: CopySourceContent[] = [];
  for (const s of srcs) {
    const h = parseHeredocWord(s);
    if (h) {
      let data = docs.get(h.name)?.content ?? '';
      if (h.chomp) data = chompHeredoc(data);
      contents.push({ path: h.name, data, expand: h.expand });
    } else sources.push(s);
  }
  return { sources, contents, dest };
}

function parseInstruction(n: Node): Instruction | (Loc & { kind: 'from'; base: string; name: string; platform: string }) {
  const loc: Loc = { startLine: n.startLine, endLine: n.endLine, original: n.original };
  const flags = new Flags(n.flags);
  const exactlyOne = (c: string) => { if (n.args.length !== 1) throw new InstructionError(`${c} requires exactly one argument`); };
  const atLeastOne = (c: string) => { if (n.args.length === 0) throw new InstructionError(`${c} requires at least one argument`); };
  switch (n.cmd) {
    case 'from': {
      let name = '';
      if (n.args.length === 3 && n.args[1].toLowerCase() === 'as') {
        name = n.args[2].toLowerCase();
        if (!STAGE_NAME_RE.test(name)) {
          throw new InstructionError(`invalid name for build stage: ${JSON.stringify(n.args[2])}, name can't start with a number or contain symbols`);
        }
      } else if (n.args.length !== 1) throw new InstructionError('FROM requires either one or three arguments');
      flags.define('platform', 'string').parse();
      return { ...loc, kind: 'from', base: n.args[0], name, platform: flags.str('platform') };
    }
    case 'env': case 'label': {
      flags.parse();
      const what = n.cmd.toUpperCase();
      if (n.args.length === 0) throw new InstructionError(`${what} requires at least one argument`);
      if (n.args.length % 3 !== 0) throw new InstructionError(`Bad input to ${what}, too many arguments`);
      const pairs: KeyValue[] = [];
      for (let i = 0; i < n.args.length; i += 3) {
        if (n.args[i] === '') throw new InstructionError(`${what} names can not be blank`);
        pairs.push({ key: n.args[i], value: n.args[i + 1], noDelim: n.args[i + 2] === '' });
      }
      return { ...loc, kind: n.cmd, pairs };
    }
    case 'maintainer': exactlyOne('MAINTAINER'); flags.parse(); return { ...loc, kind: 'maintainer', value: n.args[0] };
    case 'add': case 'copy': {
      const what = n.cmd.toUpperCase();
      if (n.args.length < 2) {
        throw new InstructionError(`${what} requires at least two arguments, but only one was provided. Destination could not be determined`);
      }
      flags.define('chown', 'string').define('chmod', 'string').define('link', 'bool').define('exclude', 'strings');
      if (n.cmd === 'add') flags.define('checksum', 'string').define('keep-git-dir', 'bool').define('unpack', 'bool');
      else flags.define('from', 'string').define('parents', 'bool');
      flags.parse();
      const sd = sourcesAndDest(n, what);
      if (flags.str('chmod') !== '' && !/^[0-7]{1,4}$/.test(flags.str('chmod')) && !/^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$/.test(flags.str('chmod'))) {
        throw new InstructionError(`invalid chmod parameter: ${flags.str('chmod')}`);
      }
      return {
        ...loc, kind: n.cmd, ...sd, from: flags.str('from'), chown: flags.str('chown'), chmod: flags.str('chmod'), link: flags.bool('link'),
        checksum: flags.str('checksum'), exclude: flags.strs('exclude'), parents: flags.bool('parents'),
        keepGitDir: flags.bool('keep-git-dir'), unpack: flags.has('unpack') ? flags.bool('unpack') : undefined,
      };
    }
    case 'onbuild': {
      atLeastOne('ONBUILD');
      flags.parse();
      const trigger = n.args[0].trim().toUpperCase();
      if (trigger === 'ONBUILD') throw new InstructionError('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (trigger === 'MAINTAINER' || trigger === 'FROM') throw new InstructionError(`${trigger} isn't allowed as an ONBUILD trigger`);
      let expression = n.original.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of n.heredocs) expression += `\n${h.content}${h.name}`;
      // Validate the trigger now so a broken one fails at its own line, not in a child build.
      if (n.sub) parseInstruction(n.sub);
      return { ...loc, kind: 'onbuild', expression };
    }
    case 'workdir': exactlyOne('WORKDIR'); flags.parse(); return { ...loc, kind: 'workdir', value: n.args[0] };
    case 'user': exactlyOne('USER'); flags.parse(); return { ...loc, kind: 'user', value: n.args[0] };
    case 'stopsignal': exactlyOne('STOPSIGNAL'); return { ...loc, kind: 'stopsignal', value: n.args[0] };
    case 'run': {
      flags.define('mount', 'strings').define('network', 'string').define('security', 'string').parse();
      const network = flags.str('network');
      if (network !== '' && !['default', 'none', 'host'].includes(network)) throw new InstructionError(`unsupported network mode ${JSON.stringify(network)}`);
      const security = flags.str('security');
      if (security !== '' && !['sandbox', 'insecure'].includes(security)) throw new InstructionError(`unsupported security mode ${JSON.stringify(security)}`);
      const mounts = flags.strs('mount');
      // Values with variables are checked once expanded, at build time.
      for (const m of mounts) if (!m.includes('$')) parseRunMount(m);
      return { ...loc, kind: 'run', ...shellDependent(n), files: n.heredocs, mounts, network, security };
    }
    case 'cmd': case 'entrypoint': {
      flags.parse();
      const sd = shellDependent(n);
      const cmdLine = n.cmd === 'entrypoint' && sd.cmdLine.length === 0 ? null : sd.cmdLine;
      return { ...loc, kind: n.cmd, cmdLine, prependShell: sd.prependShell, files: n.heredocs };
    }
    case 'healthcheck': {
      atLeastOne('HEALTHCHECK');
      const typ = n.args[0].toUpperCase();
      const rest = n.args.slice(1);
      const base = { ...loc, kind: 'healthcheck' as const, interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
      if (typ === 'NONE') {
        if (rest.length !== 0) throw new InstructionError('HEALTHCHECK NONE takes no arguments');
        return { ...base, test: ['NONE'] };
      }
      flags.define('interval', 'string').define('timeout', 'string').define('start-period', 'string')
        .define('start-interval', 'string').define('retries', 'string').parse();
      if (typ !== 'CMD') throw new InstructionError(`Unknown type "${typ}" in HEALTHCHECK (try CMD)`);
      const cmd = rest.length === 0 ? [] : n.json ? rest : [rest.join(' ')];
      if (cmd.length === 0) throw new InstructionError('Missing command after HEALTHCHECK CMD');
      let retries = 0;
      if (flags.str('retries') !== '') {
        if (!/^-?\d+$/.test(flags.str('retries'))) {
          throw new InstructionError(`strconv.ParseInt: parsing ${JSON.stringify(flags.str('retries'))}: invalid syntax`);
        }
        retries = Number(flags.str('retries'));
        if (retries < 0) throw new InstructionError(`--retries cannot be negative (${retries})`);
      }
      return {
        ...base, test: [n.json ? 'CMD' : 'CMD-SHELL', ...cmd], interval: optInterval(flags, 'interval'), timeout: optInterval(flags, 'timeout'),
        startPeriod: optInterval(flags, 'start-period'), startInterval: optInterval(flags, 'start-interval'), retries,
      };
    }
    case 'expose': atLeastOne('EXPOSE'); flags.parse(); return { ...loc, kind: 'expose', ports: [...n.args].sort() };
    case 'volume': {
      atLeastOne('VOLUME');
      flags.parse();
      const paths = n.args.map((v) => v.trim());
      if (paths.some((p) => p === '')) throw new InstructionError('VOLUME specified can not be an empty string');
      return { ...loc, kind: 'volume', paths };
    }
    case 'arg': {
      atLeastOne('ARG');
      const args: ArgDef[] = n.args.map((a) => {
        const i = a.indexOf('=');
        if (i < 0) return { key: a };
        if (i === 0) throw new InstructionError('ARG names can not be blank');
        return { key: a.slice(0, i), value: a.slice(i + 1) };
      });
      return { ...loc, kind: 'arg', args };
    }
    case 'shell': {
      flags.parse();
      const sd = shellDependent(n);
      if (sd.cmdLine.length === 0) throw new InstructionError('SHELL requires at least one argument');
      if (!n.json) throw new InstructionError('SHELL requires the arguments to be in JSON form');
      return { ...loc, kind: 'shell', shell: sd.cmdLine };
    }
    default: {
      const suggestion = suggest(n.cmd);
      throw new InstructionError(`unknown instruction: ${n.value}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`);
    }
  }
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

function suggest(cmd: string): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of INSTRUCTIONS) {
    const d = levenshtein(cmd.toLowerCase(), c);
    if (d < bestD) { bestD = d; best = c; }
  }
  return bestD === 1 ? best : undefined;
}

/** Parses one instruction node; errors say the Dockerfile line, as Docker's do. */
export function instructionFromNode(n: Node): Instruction | (Loc & { kind: 'from'; base: string; name: string; platform: string }) {
  try {
    return parseInstruction(n);
  } catch (e) {
    if (e instanceof InstructionError) throw new DockerfileSyntaxError(n.startLine, e.message);
    throw e;
  }
}

export function buildStages(parsed: ParseResult): Dockerfile {
  const stages: Stage[] = [];
  const metaArgs: Dockerfile['metaArgs'] = [];
  for (const n of parsed.nodes) {
    const inst = instructionFromNode(n);
    if (inst.kind === 'from') {
      stages.push({ index: stages.length, name: inst.name, base: inst.base, platform: inst.platform, startLine: inst.startLine,
        endLine: inst.endLine, original: inst.original, commands: [] });
      continue;
    }
    if (stages.length === 0) {
      if (inst.kind === 'arg') { metaArgs.push(inst); continue; }
      throw new DockerfileSyntaxError(n.startLine, 'no build stage in current context');
    }
    stages[stages.length - 1].commands.push(inst);
  }
  return { stages, metaArgs, escapeToken: parsed.escapeToken, warnings: parsed.warnings };
}

// ---- RUN --mount ----

export interface RunMount {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  target: string;
  source: string;
  from: string;
  readOnly: boolean;
  id: string;
  sharing: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  required: boolean;
  /** secret: also expose the value as this environment variable. */
  env: string;
  size?: number;
}

/** Splits a CSV line the way Go's encoding/csv does for one record (quotes allowed). */
export function splitCsv(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  let quoted = false;
  let fieldStart = true;
  while (i < s.length) {
    const c = s[i];
    if (fieldStart && c === '"') { quoted = true; fieldStart = false; i++; continue; }
    fieldStart = false;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') { cur += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      cur += c; i++; continue;
    }
    if (c === ',') { out.push(cur); cur = ''; fieldStart = true; i++; continue; }
    cur += c; i++;
  }
  if (quoted) throw new InstructionError(`parse error on mount value ${JSON.stringify(s)}: extraneous or missing " in quoted-field`);
  out.push(cur);
  return out;
}

function parseIntField(key: string, v: string, base: number): number {
  const n = parseInt(v, base);
  if (!/^[0-9a-fA-F]+$/.test(v) || Number.isNaN(n)) throw new InstructionError(`invalid value for ${key}: ${v}`);
  return n;
}

/** `--mount=type=cache,target=/root/.cache,id=x,...` as buildkit accepts it. */
export function parseRunMount(value: string): RunMount {
  const m: RunMount = { type: 'bind', target: '', source: '', from: '', readOnly: true, id: '', sharing: 'shared', required: false, env: '' };
  const fields = splitCsv(value);
  // type first, since defaults depend on it
  for (const f of fields) {
    const [k, v] = splitKV(f);
    if (k.toLowerCase() === 'type') {
      if (!['bind', 'cache', 'tmpfs', 'secret', 'ssh'].includes(v.toLowerCase())) throw new InstructionError(`unsupported mount type ${JSON.stringify(v)}`);
      m.type = v.toLowerCase() as RunMount['type'];
    }
  }
  if (m.type === 'cache' || m.type === 'tmpfs') m.readOnly = false;
  for (const f of fields) {
    const [k0, v] = splitKV(f);
    const k = k0.toLowerCase();
    const hasValue = f.includes('=');
    switch (k) {
      case 'type': break;
      case 'readonly': case 'ro': m.readOnly = hasValue ? boolValue(k, v) : true; break;
      case 'readwrite': case 'rw': m.readOnly = hasValue ? !boolValue(k, v) : false; break;
      case 'required': m.required = hasValue ? boolValue(k, v) : true; break;
      case 'target': case 'dst': case 'destination': m.target = v; break;
      case 'source': case 'src': m.source = v; break;
      case 'from': m.from = v; break;
      case 'id': m.id = v; break;
      case 'sharing':
        if (!['shared', 'private', 'locked'].includes(v)) throw new InstructionError(`unsupported sharing value ${JSON.stringify(v)}`);
        m.sharing = v as RunMount['sharing'];
        break;
      case 'mode': m.mode = parseIntField(k, v, 8); break;
      case 'uid': m.uid = parseIntField(k, v, 10); break;
      case 'gid': m.gid = parseIntField(k, v, 10); break;
      case 'env': m.env = v; break;
      case 'size': m.size = parseIntField(k, v.replace(/[kmgKMG]$/, ''), 10); break;
      default: throw new InstructionError(`unexpected key '${k0}' in '${f}'`);
    }
  }
  if (m.type === 'secret') {
    if (m.id === '' && m.target === '' && m.env === '') throw new InstructionError('one of target or env is required for secret mounts');
    if (m.id === '') m.id = m.target !== '' ? m.target.split('/').filter(Boolean).pop() ?? '' : m.env;
    if (m.target === '' && m.env === '') m.target = `/run/secrets/${m.id}`;
    if (m.target === '' && m.env !== '') m.target = '';
  } else if (m.type === 'ssh') {
    if (m.id === '') m.id = 'default';
    if (m.target === '') m.target = '/run/buildkit/ssh_agent.0';
  } else if (m.target === '') {
    throw new InstructionError(`mount type ${m.type} requires target`);
  }
  if (m.type === 'cache' && m.id === '') m.id = m.target;
  return m;
}

function splitKV(f: string): [string, string] {
  const i = f.indexOf('=');
  return i < 0 ? [f, ''] : [f.slice(0, i), f.slice(i + 1)];
}

function boolValue(k: string, v: string): boolean {
  const t = v.toLowerCase();
  if (['1', 't', 'true'].includes(t)) return true;
  if (['0', 'f', 'false'].includes(t)) return false;
  throw new InstructionError(`invalid value for ${k}: ${v}`);
}

export { InstructionError };
