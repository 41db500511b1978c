// berth: the docker-compatible CLI. main(argv) parses docker's command line, runs one command
// through the Engine API client, prints what docker prints, and returns docker's exit status.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { Command, CommanderError } from 'commander';

import { errorMessage } from '../errors.js';
import { registerContainerCommands, registerInspect } from './cmd-container.js';
import { registerImageCommands } from './cmd-image.js';
import { registerRun } from './cmd-run.js';
import { registerExtraCommands } from './cmd-extra.js';
import { registerCp } from './cmd-cp.js';
import { registerBuild, registerBuilderCommands } from './cmd-build.js';
import { registerSearch } from './cmd-search.js';
import { registerAuthCommands } from './cmd-auth.js';
import { registerNetworkCommands, registerPort } from './cmd-network.js';
import { registerSystemCommands, CLIENT_VERSION } from './cmd-system.js';
import type { Outcome } from './command.js';
import { usageLine } from './command.js';
import { Cli, describeError, FlagValueError, PROG, StatusError } from './context.js';
import { dockerHelp } from './help.js';
import type { CliIO } from './context.js';

function buildProgram(cli: Cli, outcome: Outcome): Command {
  const program = new Command(PROG)
    .usage('[OPTIONS] COMMAND')
    .description('A self-sufficient runtime for containers')
    .helpOption('--help', 'Print usage')
    .option('-H, --host <string>', 'Daemon socket to connect to')
    .option('-D, --debug', 'Enable debug mode')
    .option('-l, --log-level <string>', 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal")')
    .option('--config <string>', 'Location of client config files')
    .option('-c, --context <string>', 'Name of the context to use to connect to the daemon')
    .option('-v, --version', 'Print version information and quit')
    .enablePositionalOptions()
    .helpCommand(false)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => cli.out(s),
      writeErr: (s) => cli.err(s),
      outputError: () => undefined,
    });
  program.hook('preSubcommand', (thisCommand) => {
    const host = thisCommand.opts().host as string | undefined;
    if (host) cli.host = host;
  });

  registerRun(program, '', cli, outcome);
  registerContainerCommands(program, '', cli, outcome, false);
  registerInspect(program, cli, outcome);
  registerImageCommands(program, '', cli, outcome, false);
  registerSystemCommands(program, '', cli, outcome);
  registerExtraCommands(program, '', cli, outcome, 'top');
  registerCp(program, '', cli, outcome);
  registerBuild(program, '', cli, outcome);
  registerAuthCommands(program, cli, outcome);
  registerSearch(program, cli, outcome);

  const builder = new Command('builder').description('Manage builds').usage('COMMAND').helpOption('--help', 'Print usage').helpCommand(false).enablePositionalOptions();
  registerBuilderCommands(builder, cli, outcome);
  program.addCommand(builder);

  const container = new Command('container').description('Manage containers').usage('COMMAND').helpOption('--help', 'Print usage').helpCommand(false).enablePositionalOptions();
  registerRun(container, 'container', cli, outcome);
  registerContainerCommands(container, 'container', cli, outcome, true);
  registerExtraCommands(container, 'container', cli, outcome, 'container');
  registerCp(container, 'container', cli, outcome);
  program.addCommand(container);

  const image = new Command('image').description('Manage images').usage('COMMAND').helpOption('--help', 'Print usage').helpCommand(false).enablePositionalOptions();
  registerImageCommands(image, 'image', cli, outcome, true);
  registerExtraCommands(image, 'image', cli, outcome, 'image');
  registerBuild(image, 'image', cli, outcome);
  program.addCommand(image);

  const system = new Command('system').description('Manage berth').usage('COMMAND').helpOption('--help', 'Print usage').helpCommand(false);
  registerSystemCommands(system, 'system', cli, outcome);
  registerExtraCommands(system, 'system', cli, outcome, 'system');
  program.addCommand(system);

  for (const [name, desc] of [['network', 'Manage networks'], ['volume', 'Manage volumes']] as const) {
    program.addCommand(new Command(name).description(desc).usage('COMMAND').helpOption('--help', 'Print usage').helpCommand(false).enablePositionalOptions());
  }
  registerNetworkCommands(program, cli, outcome);
  registerPort(program, '', cli, outcome);
  registerPort(container, 'container', cli, outcome);

  // commander applies exitOverride/configureOutput per command: copy them down the tree
  const walk = (cmd: Command): void => {
    cmd.helpInformation = () => dockerHelp(cmd);
    for (const sub of cmd.commands) {
      sub.exitOverride().configureOutput({ writeOut: (s) => cli.out(s), writeErr: (s) => cli.err(s), outputError: () => undefined });
      walk(sub);
    }
  };
  walk(program);
  return program;
}

/** The command path for messages ("berth container rm"), from the parsed argv. */
function commandPath(program: Command, argv: string[]): { path: string; usage: string } {
  const names: string[] = [];
  let cmd: Command = program;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-')) {
      if (cmd === program && GLOBAL_VALUE_FLAGS.has(a)) i++;
      continue;
    }
    const next: Command | undefined = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!next) break;
    names.push(next.name());
    cmd = next;
  }
  const path = [PROG, ...names].join(' ');
  return { path, usage: usageLine(cmd, path) };
}

/** commander's parse errors in pflag's words, with docker's usage hint (exit 125). */
function flagError(e: CommanderError, where: { path: string; usage: string }): StatusError {
  const { path, usage } = where;
  let msg = e.message.replace(/^error: /, '');
  let m: RegExpExecArray | null;
  if ((m = /unknown option '(--?)([^']*)'/.exec(msg))) {
    msg = m[1] === '--' ? `unknown flag: --${m[2]!.replace(/=.*$/, '')}` : `unknown shorthand flag: '${m[2]![0]}' in -${m[2]}`;
  } else if ((m = /option '([^']*)' argument missing/.exec(msg))) {
    const flags = m[1]!.replace(/ <.*$/, '');
    const long = /--[\w-]+/.exec(flags)?.[0];
    msg = `flag needs an argument: ${long ?? flags}`;
  } else if ((m = /unknown command '([^']*)'/.exec(msg))) {
    return new StatusError(1, `${PROG}: unknown command: ${path} ${m[1]}\n\nRun '${path} --help' for more information`);
  }
  return new StatusError(125, `${msg}\n\nUsage:  ${usage}\n\nRun '${path} --help' for more information`);
}

const GLOBAL_VALUE_FLAGS = new Set(['-H', '--host', '-l', '--log-level', '--config', '-c', '--context']);

/**
 * pflag accepts forms commander does not: "--rm=false" for a boolean and "-e=A=1" for a short
 * flag with a value. Rewrites them for the command the argv names, up to where its flags end.
 */
export function normalizeArgv(program: Command, argv: string[]): string[] {
  const out: string[] = [];
  let cmd: Command = program;
  let i = 0;
  // global flags and the command path
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-')) {
      out.push(a);
      if (cmd === program && GLOBAL_VALUE_FLAGS.has(a) && i + 1 < argv.length) out.push(argv[++i]!);
      continue;
    }
    const next = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!next) break;
    out.push(a);
    cmd = next;
    if (next.commands.length === 0) {
      i++;
      break;
    }
  }
  const passThrough = (cmd as unknown as { _passThroughOptions?: boolean })._passThroughOptions === true;
  const options = cmd.options;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--' || (!a.startsWith('-') && passThrough)) {
      out.push(...argv.slice(i));
      return out;
    }
    let m: RegExpExecArray | null;
    if ((m = /^--([^=]+)=(true|false|1|0|TRUE|FALSE|True|False|t|f|T|F)$/.exec(a))) {
      const opt = options.find((o) => o.long === `--${m![1]}` && !o.required && !o.optional && !o.negate);
      if (opt) {
        const on = /^(true|1|t)$/i.test(m[2]!);
        if (on) out.push(`--${m[1]}`);
        else if (options.some((o) => o.negate && o.long === `--no-${m![1]}`)) out.push(`--no-${m[1]}`);
        continue;
      }
    }
    if ((m = /^-([A-Za-z])=(.*)$/s.exec(a))) {
      const opt = options.find((o) => o.short === `-${m![1]}` && (o.required || o.optional));
      if (opt) {
        out.push(`-${m[1]}`, m[2]!);
        continue;
      }
    }
    out.push(a);
    // a value flag written apart takes the next token with it
    const opt = options.find((o) => (o.long === a || o.short === a) && (o.required || o.optional));
    if (opt && i + 1 < argv.length) out.push(argv[++i]!);
  }
  return out;
}

export async function main(argv: string[], io?: Partial<CliIO>): Promise<number> {
  // `berth registry serve|gc` is the registry server, a process of its own, not an Engine API client.
  if (argv[0] === 'registry') {
    const { registryMain } = await import('../registry/server/main.js');
    return registryMain(argv.slice(1));
  }
  const cli = new Cli({
    stdin: io?.stdin ?? process.stdin,
    stdout: io?.stdout ?? process.stdout,
    stderr: io?.stderr ?? process.stderr,
    env: io?.env ?? process.env,
  });
  const outcome: Outcome = { status: 0 };
  let program: Command | undefined;
  try {
    program = buildProgram(cli, outcome);
    if (argv.length === 0) {
      cli.out(program.helpInformation());
      return 0;
    }
    if (argv.length === 1 && (argv[0] === '-v' || argv[0] === '--version')) {
      cli.out(`berth version ${CLIENT_VERSION}\n`);
      return 0;
    }
    await program.parseAsync(normalizeArgv(program, argv), { from: 'user' });
    return outcome.status;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return 0;
      if (e.code === 'commander.executeSubCommandAsync' || e.code === 'commander.invalidArgument') {
        const cause = (e as CommanderError & { cause?: unknown }).cause;
        if (cause instanceof StatusError) return report(cli, cause);
      }
      return report(cli, flagError(e, program ? commandPath(program, argv) : { path: PROG, usage: PROG }));
    }
    if (e instanceof FlagValueError && program) {
      // A flag's value pflag could not parse: docker adds the usage hint, as for unknown flags.
      const { path, usage } = commandPath(program, argv);
      return report(cli, new StatusError(e.status, `${e.message}\n\nUsage:  ${usage}\n\nRun '${path} --help' for more information`));
    }
    if (e instanceof StatusError) return report(cli, e);
    // a closed pipe on stdout (`berth export c | head`) ends us quietly, as SIGPIPE ends docker
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') return 141;
    cli.err(`${describeError(e)}\n`);
    return 1;
  } finally {
    cli.close();
  }
}

function report(cli: Cli, e: StatusError): number {
  if (e.message) cli.err(`${e.message}\n`);
  return e.status;
}

export { errorMessage };

// Run as a script (node dist/src/cli/main.js ...), as the test helpers and bin shim may do.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
