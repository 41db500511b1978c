// Helpers to declare docker-shaped commands on commander: flags from OptionSpec tables,
// docker's argument-count errors, and one place where a command's outcome becomes an exit code.
import { Command, Option } from 'commander';

import type { Cli } from './context.js';
import { FlagValueError, PROG, StatusError } from './context.js';
import type { OptionSpec, ParsedOptions } from './run-opts.js';

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function parseIntFlag(flag: string) {
  return (value: string): number => {
    if (!/^[-+]?\d+$/.test(value)) {
      throw new FlagValueError(value, flag, `strconv.ParseInt: parsing "${value}": invalid syntax`);
    }
    return Number(value);
  };
}

export function addOptions(cmd: Command, specs: OptionSpec[]): Command {
  for (const s of specs) {
    const o = new Option(s.flags, s.description);
    if (s.kind === 'list') o.argParser(collect);
    else if (s.kind === 'int') o.argParser(parseIntFlag(s.flags.replace(/ <.*$/, '')));
    cmd.addOption(o);
  }
  return cmd;
}

export interface CommandDef {
  /** e.g. "rm", with parent path for messages, e.g. "container rm" */
  name: string;
  usage: string;
  description: string;
  minArgs?: number;
  maxArgs?: number;
  aliases?: string[];
  /** stop parsing flags at the first positional (run, create, exec, top). */
  passThrough?: boolean;
}

/** Where the action stores its exit status for main() to return. */
export interface Outcome {
  status: number;
}

function plural(n: number): string {
  return n === 1 ? 'argument' : 'arguments';
}

/** Commands whose usage line is their bare path (docker's `builder prune`): commander would fill in its own. */
const bareUsage = new WeakSet<Command>();

/** "berth builder prune", "berth ps [OPTIONS]": what help and usage hints print after "Usage:". */
export function usageLine(cmd: Command, path: string): string {
  return bareUsage.has(cmd) ? path : `${path} ${cmd.usage()}`;
}

export function checkArgs(path: string, def: CommandDef, args: string[]): void {
  const usage = `Usage:  ${PROG} ${path}${def.usage ? ` ${def.usage}` : ''}`;
  const { minArgs = 0, maxArgs = Infinity } = def;
  if (args.length >= minArgs && args.length <= maxArgs) return;
  // docker's wording (cli/required.go): only RequiresMinArgs says "See", the others "Run".
  let what: string;
  let hint = 'Run';
  if (maxArgs === 0) what = 'accepts no arguments';
  else if (minArgs === maxArgs) what = `requires ${minArgs} ${plural(minArgs)}`;
  else if (maxArgs === Infinity) { what = `requires at least ${minArgs} ${plural(minArgs)}`; hint = 'See'; }
  else if (minArgs === 0) what = `requires at most ${maxArgs} ${plural(maxArgs)}`;
  else what = `requires at least ${minArgs} and at most ${maxArgs} ${plural(maxArgs)}`;
  throw new StatusError(1, `${PROG}: '${PROG} ${path}' ${what}\n\n${usage}\n\n${hint} '${PROG} ${path} --help' for more information`);
}

export type Action = (cli: Cli, args: string[], opts: ParsedOptions) => Promise<number | void>;

/** Declares a command under parent; returns it so callers can add options. */
export function defineCommand(parent: Command, parentPath: string, def: CommandDef, cli: Cli, outcome: Outcome, action: Action): Command {
  const path = parentPath ? `${parentPath} ${def.name}` : def.name;
  const cmd = new Command(def.name)
    .description(def.description)
    .usage(def.usage)
    .helpOption('--help', 'Print usage')
    .argument('[args...]')
    .allowExcessArguments(true);
  if (def.usage === '') bareUsage.add(cmd);
  for (const a of def.aliases ?? []) cmd.alias(a);
  if (def.passThrough) cmd.passThroughOptions();
  cmd.action(async (args: string[], opts: ParsedOptions) => {
    checkArgs(path, def, args);
    const r = await action(cli, args, opts);
    outcome.status = typeof r === 'number' ? r : 0;
  });
  parent.addCommand(cmd);
  return cmd;
}
