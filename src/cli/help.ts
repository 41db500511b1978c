// Help text laid out as docker (cobra) lays it out: Usage, description, Aliases, Commands, Options.
import type { Command, Option } from 'commander';

import { PROG } from './context.js';
import { usageLine } from './command.js';

function path(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function flagText(o: Option): string {
  const short = o.short ? `${o.short}, ` : '    ';
  const arg = /<([^>]+)>/.exec(o.flags)?.[1];
  return `  ${short}${o.long ?? ''}${arg ? ` ${arg}` : ''}`;
}

export function dockerHelp(cmd: Command): string {
  const isRoot = !cmd.parent;
  const usage = isRoot ? `${PROG} [OPTIONS] COMMAND` : usageLine(cmd, path(cmd));
  let out = `\nUsage:  ${usage}\n\n${cmd.description()}\n`;
  if (cmd.aliases().length && cmd.parent) {
    const parentPath = path(cmd.parent);
    out += `\nAliases:\n  ${[cmd.name(), ...cmd.aliases()].map((a) => `${parentPath} ${a}`).join(', ')}\n`;
  }
  const subs = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  if (subs.length) {
    const mgmt = subs.filter((c) => c.commands.length > 0);
    const plain = subs.filter((c) => c.commands.length === 0);
    const width = Math.max(...subs.map((c) => c.name().length)) + 2;
    const list = (cs: Command[]): string => cs.map((c) => `  ${c.name().padEnd(width)}${c.description()}\n`).join('');
    if (mgmt.length) out += `\nManagement Commands:\n${list(mgmt)}`;
    if (plain.length) out += `\nCommands:\n${list(plain)}`;
  }
  const opts = cmd.options.filter((o) => !o.hidden && !(o.negate && cmd.options.some((p) => p !== o && p.long === o.long?.replace(/^--no-/, '--'))));
  if (opts.length) {
    const texts = opts.map(flagText);
    const width = Math.max(...texts.map((t) => t.length)) + 3;
    out += `\n${isRoot ? 'Global Options' : 'Options'}:\n`;
    out += opts.map((o, i) => `${texts[i]!.padEnd(width)}${o.description}\n`).join('');
  }
  if (subs.length) out += `\nRun '${path(cmd)} COMMAND --help' for more information on a command.\n`;
  return out;
}
