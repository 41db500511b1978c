// Container commands other than run/create, with docker's flags, output and exit codes.
import type { Command } from 'commander';

import type { Filters } from '../client/types.js';
import type { ContainerInspectResponse, ContainerUpdateRequest } from '../client/types.js';
import { isDaemonError } from '../client/errors.js';
import type { Cli } from './context.js';
import { describeError, FlagValueError, StatusError, confirm, forEachArg } from './context.js';
import { collect, defineCommand, parseIntFlag } from './command.js';
import type { Outcome } from './command.js';
import { formatItems } from './formatter.js';
import { parseDetachKeys, streamHijacked } from './hijack.js';
import { ContainerContext, DEFAULT_PS_FORMAT, PS_HEADERS } from './ps-format.js';
import type { ParsedOptions } from './run-opts.js';
import { parseRestartPolicy } from './run-opts.js';
import { tabwrite } from './tabwriter.js';
import { goTypedNulls } from './typed-nulls.js';
import { Template, TemplateExecError, TemplateSyntaxError } from './template/index.js';
import { makeRaw, monitorSize, consoleSize } from './tty.js';
import { humanSize, getTimestamp, nanoCpus, ramInBytes } from './units.js';
import { waitExitOrRemoved, withHelp } from './cmd-run.js';
import { FrameDecoder } from '../client/stream.js';
import { StdStream } from '../client/types.js';

export function parseFilters(values: string[] | undefined, flag = '-f, --filter'): Filters {
  const f: Filters = {};
  for (const v of values ?? []) {
    const i = v.indexOf('=');
    if (i <= 0) throw new FlagValueError(v, flag, 'bad format of filter (expected name=value)');
    const k = v.slice(0, i).trim().toLowerCase();
    (f[k] ??= []).push(v.slice(i + 1).trim());
  }
  return f;
}

async function inspectContainers(cli: Cli, names: string[], format: string | undefined, size: boolean): Promise<number> {
  return inspectObjects(cli, names, format, async (n) => {
    return (await cli.client.containerInspect(n, { size })) as unknown;
  });
}

/** Inspect's output: an indented JSON array, or the template once per object. */
export async function inspectObjects(cli: Cli, names: string[], format: string | undefined, get: (name: string) => Promise<unknown>): Promise<number> {
  let tmpl: Template | undefined;
  if (format && format !== 'json') {
    try {
      tmpl = new Template(format, {}, { missingKey: 'error' });
    } catch (e) {
      throw new StatusError(64, `template parsing error: ${(e as Error).message}`);
    }
  }
  const found: unknown[] = [];
  const errs: string[] = [];
  let text = '';
  for (const n of names) {
    let obj: unknown;
    try {
      obj = await get(n);
    } catch (e) {
      errs.push(describeError(e).replace(/^Error response from daemon: /, ''));
      continue;
    }
    if (tmpl) {
      try {
        text += tmpl.execute(goTypedNulls(obj)) + '\n';
      } catch (e) {
        errs.push(`template parsing error: ${(e as Error).message}`);
      }
    } else {
      found.push(obj);
    }
  }
  if (tmpl) cli.out(text === '' ? '\n' : text);
  else if (format === 'json') cli.out(JSON.stringify(found) + '\n');
  else cli.out(found.length ? JSON.stringify(found, null, 4) + '\n' : '[]\n');
  if (errs.length) throw new StatusError(1, errs.map((e) => (e.startsWith('template parsing error') ? e : `Error: ${e}`)).join('\n'));
  return 0;
}

/**
 * docker ps parses and runs the format as given (before "table" or \t are taken out) on an empty
 * container first, and fails in its own words.
 */
function checkPsFormat(format: string): void {
  let tmpl: Template;
  try {
    tmpl = new Template(format);
  } catch (e) {
    if (e instanceof TemplateSyntaxError) throw new StatusError(1, `failed to parse template: ${e.message}`);
    throw e;
  }
  try {
    tmpl.execute(new ContainerContext({}, true));
  } catch (e) {
    if (e instanceof TemplateExecError) throw new StatusError(1, `failed to execute template: ${e.message}`);
    // anything else is the empty container's, not the format's
  }
}

async function ps(cli: Cli, opts: ParsedOptions): Promise<number> {
  const last = typeof opts.last === 'number' ? opts.last : -1;
  const latest = opts.latest === true;
  const limit = latest ? 1 : last;
  let format = typeof opts.format === 'string' ? opts.format : '';
  const filters = parseFilters(opts.filter as string[] | undefined);
  const quiet = opts.quiet === true;
  if (format !== '') checkPsFormat(format);
  const containers = await cli.client.containerList({
    all: opts.all === true || limit > 0,
    limit: limit > 0 ? limit : undefined,
    size: opts.size === true || format.includes('.Size'),
    filters,
  });
  const trunc = opts.trunc !== false;
  if (format === '' || format === 'table') {
    if (quiet) format = '{{.ID}}';
    else format = DEFAULT_PS_FORMAT + (opts.size === true ? '\t{{.Size}}' : '');
  } else if (quiet) {
    format = '{{.ID}}';
  }
  const rows = containers.map((c) => new ContainerContext(c, trunc));
  cli.out(formatItems(format, rows, PS_HEADERS));
  return 0;
}

async function logs(cli: Cli, name: string, opts: ParsedOptions): Promise<number> {
  const c = await cli.client.containerInspect(name);
  const since = typeof opts.since === 'string' && opts.since ? getTimestamp(opts.since) : undefined;
  const until = typeof opts.until === 'string' && opts.until ? getTimestamp(opts.until) : undefined;
  const res = await cli.client.containerLogs(c.Id ?? name, {
    follow: opts.follow === true,
    stdout: true,
    stderr: true,
    since,
    until,
    timestamps: opts.timestamps === true,
    tail: typeof opts.tail === 'string' ? opts.tail : 'all',
    details: opts.details === true,
  });
  const tty = c.Config?.Tty === true;
  const decoder = new FrameDecoder();
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    if (tty) {
      await writeOut(cli.io.stdout, buf);
      continue;
    }
    for (const f of decoder.push(buf)) {
      await writeOut(f.stream === StdStream.Stderr ? cli.io.stderr : cli.io.stdout, f.data);
    }
  }
  return 0;
}

function writeOut(w: NodeJS.WritableStream, data: Buffer): Promise<void> | void {
  if (!w.write(data)) return new Promise((resolve) => w.once('drain', () => resolve()));
}

async function start(cli: Cli, names: string[], opts: ParsedOptions): Promise<number> {
  const attach = opts.attach === true || opts.interactive === true;
  if (!attach) return forEachArg(cli, names, (n) => cli.client.containerStart(n));
  if (names.length > 1) throw new StatuserrorMulti();
  const name = names[0]!;
  const c = await cli.client.containerInspect(name);
  const tty = c.Config?.Tty === true;
  const stdin = opts.interactive === true && c.Config?.OpenStdin === true;
  const detachKeys = typeof opts.detachKeys === 'string' ? opts.detachKeys : undefined;
  const hijacked = await cli.client.containerAttach(c.Id ?? name, { stream: true, stdin, stdout: true, stderr: true, detachKeys });
  const { status, cancel } = await waitExitOrRemoved(cli, c.Id ?? name, c.HostConfig?.AutoRemove === true);
  const restore = tty && stdin ? makeRaw(cli.io) : () => undefined;
  let stopResize = (): void => undefined;
  try {
    const streaming = streamHijacked(hijacked, {
      tty,
      detachKeys: parseDetachKeys(detachKeys),
      stdin: stdin ? cli.io.stdin : undefined,
      stdout: cli.io.stdout,
      stderr: tty ? cli.io.stdout : cli.io.stderr,
    });
    streaming.catch(() => undefined);
    try {
      await cli.client.containerStart(c.Id ?? name, { detachKeys });
    } catch (e) {
      hijacked.socket.destroy();
      throw e;
    }
    if (tty) stopResize = monitorSize(cli.io, (h, w) => cli.client.containerResize(c.Id ?? name, h, w));
    if ((await streaming.catch(() => 'eof' as const)) === 'detached') {
      cancel();
      return 0;
    }
    return await status;
  } finally {
    stopResize();
    restore();
  }
}

class StatuserrorMulti extends StatusError {
  constructor() {
    super(1, 'you cannot start and attach multiple containers at once');
  }
}

async function attachCmd(cli: Cli, name: string, opts: ParsedOptions): Promise<number> {
  const c: ContainerInspectResponse = await cli.client.containerInspect(name);
  if (!c.State?.Running) throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
  if (c.State?.Paused) throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
  if (c.State?.Restarting) throw new StatusError(1, 'You cannot attach to a restarting container, wait until it is running');
  const tty = c.Config?.Tty === true;
  const stdin = opts.stdin !== false && c.Config?.OpenStdin === true;
  const id = c.Id ?? name;
  const hijacked = await cli.client.containerAttach(id, {
    stream: true,
    stdin,
    stdout: true,
    stderr: true,
    detachKeys: typeof opts.detachKeys === 'string' ? opts.detachKeys : undefined,
  });
  // the exit status comes from a wait registered before streaming, as docker's attach does
  const { result, cancel } = await cli.client.containerWait(id, 'not-running');
  const restore = tty && stdin ? makeRaw(cli.io) : () => undefined;
  const stopResize = tty ? monitorSize(cli.io, (h, w) => cli.client.containerResize(id, h, w)) : () => undefined;
  try {
    const how = await streamHijacked(hijacked, {
      tty,
      detachKeys: parseDetachKeys(typeof opts.detachKeys === 'string' ? opts.detachKeys : undefined),
      stdin: stdin ? cli.io.stdin : undefined,
      stdout: cli.io.stdout,
      stderr: tty ? cli.io.stdout : cli.io.stderr,
    });
    if (how === 'detached') {
      cancel();
      return 0;
    }
  } finally {
    stopResize();
    restore();
  }
  const r = await result.catch(() => undefined);
  return r?.StatusCode ?? 0;
}

async function execCmd(cli: Cli, args: string[], opts: ParsedOptions): Promise<number> {
  const [name, ...cmd] = args;
  const tty = opts.tty === true;
  const interactive = opts.interactive === true;
  const detach = opts.detach === true;
  if (!detach && interactive && tty && !cli.io.stdin.isTTY) throw new StatusError(1, 'the input device is not a TTY');
  const env = ((opts.env as string[] | undefined) ?? []).map((e) => (e.includes('=') || cli.io.env[e] === undefined ? e : `${e}=${cli.io.env[e]}`));
  const size = tty ? consoleSize(cli.io) : undefined;
  const c = await cli.client.containerInspect(name!);
  const id = c.Id ?? name!;
  const created = await cli.client.execCreate(id, {
    User: typeof opts.user === 'string' ? opts.user : '',
    Privileged: opts.privileged === true,
    Tty: tty,
    ConsoleSize: size && size[0] > 0 ? size : null,
    AttachStdin: interactive && !detach,
    AttachStderr: !detach,
    AttachStdout: !detach,
    DetachKeys: typeof opts.detachKeys === 'string' ? opts.detachKeys : '',
    Env: env.length ? env : null,
    WorkingDir: typeof opts.workdir === 'string' ? opts.workdir : '',
    Cmd: cmd,
  });
  const execId = created.Id;
  if (detach) {
    await cli.client.execStartDetached(execId, { Detach: true, Tty: tty, ConsoleSize: size && size[0] > 0 ? size : null });
    return 0;
  }
  const hijacked = await cli.client.execStart(execId, { Detach: false, Tty: tty, ConsoleSize: size && size[0] > 0 ? size : null });
  const restore = tty && interactive ? makeRaw(cli.io) : () => undefined;
  const stopResize = tty ? monitorSize(cli.io, (h, w) => cli.client.execResize(execId, h, w)) : () => undefined;
  try {
    await streamHijacked(hijacked, {
      tty,
      detachKeys: parseDetachKeys(typeof opts.detachKeys === 'string' ? opts.detachKeys : undefined),
      stdin: interactive ? cli.io.stdin : undefined,
      stdout: cli.io.stdout,
      stderr: tty ? cli.io.stdout : cli.io.stderr,
    });
  } finally {
    stopResize();
    restore();
  }
  const r = await cli.client.execInspect(execId);
  return r.ExitCode ?? 0;
}

async function top(cli: Cli, name: string, psArgs: string[]): Promise<number> {
  const r = await cli.client.containerTop(name, psArgs.join(' '));
  let text = (r.Titles ?? []).join('\t') + '\n';
  for (const p of r.Processes ?? []) text += (p ?? []).join('\t') + '\n';
  cli.out(tabwrite(text, { minWidth: 20, padding: 3 }));
  return 0;
}

export function registerContainerCommands(parent: Command, parentPath: string, cli: Cli, outcome: Outcome, management: boolean): void {
  const psCmd = defineCommand(
    parent,
    parentPath,
    { name: management ? 'ls' : 'ps', aliases: management ? ['ps', 'list'] : [], usage: '[OPTIONS]', description: 'List containers', maxArgs: 0 },
    cli,
    outcome,
    (c, _a, o) => ps(c, o),
  );
  psCmd
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('-n, --last <int>', 'Show n last created containers (includes all states)', parseIntFlag('-n, --last'))
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only display container IDs')
    .option('-s, --size', 'Display total file sizes');

  defineCommand(parent, parentPath, { name: 'start', usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Start one or more stopped containers', minArgs: 1 }, cli, outcome, (c, a, o) =>
    start(c, a, o),
  )
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('-i, --interactive', "Attach container's STDIN")
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container');

  const timeoutOpt = (cmd: Command): Command =>
    cmd
      .option('-s, --signal <string>', 'Signal to send to the container')
      .option('-t, --timeout <int>', 'Seconds to wait before killing the container', parseIntFlag('-t, --timeout'))
      .option('--time <int>', 'Seconds to wait before killing the container (deprecated: use --timeout)', parseIntFlag('--time'));
  const t = (o: ParsedOptions): number | undefined => (typeof o.timeout === 'number' ? o.timeout : typeof o.time === 'number' ? o.time : undefined);
  const s = (o: ParsedOptions): string | undefined => (typeof o.signal === 'string' ? o.signal : undefined);

  timeoutOpt(
    defineCommand(parent, parentPath, { name: 'stop', usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Stop one or more running containers', minArgs: 1 }, cli, outcome, (c, a, o) =>
      forEachArg(c, a, (n) => c.client.containerStop(n, { timeout: t(o), signal: s(o) })),
    ),
  );
  timeoutOpt(
    defineCommand(parent, parentPath, { name: 'restart', usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Restart one or more containers', minArgs: 1 }, cli, outcome, (c, a, o) =>
      forEachArg(c, a, (n) => c.client.containerRestart(n, { timeout: t(o), signal: s(o) })),
    ),
  );
  defineCommand(parent, parentPath, { name: 'kill', usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Kill one or more running containers', minArgs: 1 }, cli, outcome, (c, a, o) =>
    forEachArg(c, a, (n) => c.client.containerKill(n, s(o))),
  ).option('-s, --signal <string>', 'Signal to send to the container');
  defineCommand(parent, parentPath, { name: 'pause', usage: 'CONTAINER [CONTAINER...]', description: 'Pause all processes within one or more containers', minArgs: 1 }, cli, outcome, (c, a) =>
    forEachArg(c, a, (n) => c.client.containerPause(n)),
  );
  defineCommand(parent, parentPath, { name: 'unpause', usage: 'CONTAINER [CONTAINER...]', description: 'Unpause all processes within one or more containers', minArgs: 1 }, cli, outcome, (c, a) =>
    forEachArg(c, a, (n) => c.client.containerUnpause(n)),
  );
  defineCommand(parent, parentPath, { name: 'wait', usage: 'CONTAINER [CONTAINER...]', description: 'Block until one or more containers stop, then print their exit codes', minArgs: 1 }, cli, outcome, async (c, a) => {
    const errs: string[] = [];
    for (const n of a) {
      try {
        const { result } = await c.client.containerWait(n, 'not-running');
        const r = await result;
        if (r.Error?.Message) throw new Error(r.Error.Message);
        c.out(`${r.StatusCode}\n`);
      } catch (e) {
        errs.push(describeError(e));
      }
    }
    if (errs.length) throw new StatusError(1, errs.join('\n'));
    return 0;
  });
  defineCommand(parent, parentPath, { name: 'rm', aliases: management ? ['remove'] : [], usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Remove one or more containers', minArgs: 1 }, cli, outcome, (c, a, o) =>
    forEachArg(c, a, (n) => {
      if (n.replace(/^\/+/, '') === '') throw new Error('Container name cannot be empty');
      return c.client.containerRemove(n, { force: o.force === true, volumes: o.volumes === true, link: o.link === true });
    }),
  )
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-l, --link', 'Remove the specified link')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container');
  defineCommand(parent, parentPath, { name: 'update', usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Update configuration of one or more containers', minArgs: 1 }, cli, outcome, (c, a, o) => {
    const body = updateRequest(o);
    if (Object.keys(body).length === 0) throw new StatusError(1, 'you must provide one or more flags when using this command');
    return forEachArg(c, a, async (n) => { await c.client.containerUpdate(n, body); });
  })
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)', parseIntFlag('--blkio-weight'))
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period', parseIntFlag('--cpu-period'))
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota', parseIntFlag('--cpu-quota'))
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', parseIntFlag('-c, --cpu-shares'))
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--memory-swap <bytes>', 'Swap limit equal to memory plus swap: -1 to enable unlimited swap')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)', parseIntFlag('--pids-limit'))
    .option('--restart <string>', 'Restart policy to apply when a container exits');
  defineCommand(parent, parentPath, { name: 'rename', usage: 'CONTAINER NEW_NAME', description: 'Rename a container', minArgs: 2, maxArgs: 2 }, cli, outcome, async (c, a) => {
    const [oldName, newName] = [a[0]!.trim(), a[1]!.trim()];
    if (!oldName || !newName) throw new StatusError(1, 'Error: Neither old nor new names may be empty');
    await c.client.containerRename(oldName, newName);
    return 0;
  });
  defineCommand(parent, parentPath, { name: 'logs', usage: '[OPTIONS] CONTAINER', description: 'Fetch the logs of a container', minArgs: 1, maxArgs: 1 }, cli, outcome, (c, a, o) =>
    logs(c, a[0]!, o),
  )
    .option('--details', 'Show extra details provided to logs')
    .option('-f, --follow', 'Follow log output')
    .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
    .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--until <string>', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)');
  defineCommand(parent, parentPath, { name: 'top', usage: 'CONTAINER [ps OPTIONS]', description: 'Display the running processes of a container', minArgs: 1, passThrough: true }, cli, outcome, (c, a) =>
    top(c, a[0]!, a.slice(1)),
  );
  defineCommand(parent, parentPath, { name: 'attach', usage: '[OPTIONS] CONTAINER', description: 'Attach local standard input, output, and error streams to a running container', minArgs: 1, maxArgs: 1 }, cli, outcome, (c, a, o) =>
    attachCmd(c, a[0]!, o),
  )
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('--no-stdin', 'Do not attach STDIN')
    .option('--sig-proxy', 'Proxy all received signals to the process (default true)');
  defineCommand(parent, parentPath, { name: 'exec', usage: '[OPTIONS] CONTAINER COMMAND [ARG...]', description: 'Execute a command in a running container', minArgs: 2, passThrough: true }, cli, outcome, (c, a, o) =>
    execCmd(c, a, o),
  )
    .option('-d, --detach', 'Detached mode: run command in the background')
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--privileged', 'Give extended privileges to the command')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('-w, --workdir <string>', 'Working directory inside the container');

  if (management) {
    defineCommand(parent, parentPath, { name: 'inspect', usage: '[OPTIONS] CONTAINER [CONTAINER...]', description: 'Display detailed information on one or more containers', minArgs: 1 }, cli, outcome, (c, a, o) =>
      inspectContainers(c, a, typeof o.format === 'string' ? o.format : undefined, o.size === true),
    )
      .option('-f, --format <string>', 'Format output using a custom template')
      .option('-s, --size', 'Display total file sizes');
    defineCommand(parent, parentPath, { name: 'prune', usage: '[OPTIONS]', description: 'Remove all stopped containers', maxArgs: 0 }, cli, outcome, async (c, _a, o) => {
      if (o.force !== true && !(await confirm(c, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return 0;
      const r = await c.client.containerPrune(parseFilters(o.filter as string[] | undefined));
      let out = '';
      if (r.ContainersDeleted?.length) out = 'Deleted Containers:\n' + r.ContainersDeleted.map((id) => id + '\n').join('') + '\n';
      c.out(out + `Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
      return 0;
    })
      .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
      .option('-f, --force', 'Do not prompt for confirmation');
  }
}

/** Top-level `inspect`: containers first, then images, unless --type says which. */
export function registerInspect(parent: Command, cli: Cli, outcome: Outcome): void {
  defineCommand(parent, '', { name: 'inspect', usage: '[OPTIONS] NAME|ID [NAME|ID...]', description: 'Return low-level information on Docker objects', minArgs: 1 }, cli, outcome, (c, a, o) => {
    const type = typeof o.type === 'string' ? o.type : '';
    if (type && !['container', 'image'].includes(type)) {
      throw new StatusError(1, `"${type}" is not a valid value for --type`);
    }
    return inspectObjects(c, a, typeof o.format === 'string' ? o.format : undefined, async (n) => {
      if (type !== 'image') {
        try {
          return await c.client.containerInspect(n, { size: o.size === true });
        } catch (e) {
          if (!(isDaemonError(e) && e.statusCode === 404) || type === 'container') throw e;
        }
      }
      try {
        return await c.client.imageInspect(n);
      } catch (e) {
        if (isDaemonError(e) && e.statusCode === 404 && type === '') throw new Error(`No such object: ${n}`);
        throw e;
      }
    });
  })
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes if the type is container')
    .option('--type <string>', 'Only inspect objects of the given type');
}

export { withHelp };

/** The body of `update` from its flags; only the flags given are sent. */
function updateRequest(o: Record<string, unknown>): ContainerUpdateRequest {
  const body: ContainerUpdateRequest = {};
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? o[k] as string : undefined);
  const int = (k: string): number | undefined => (typeof o[k] === 'number' ? o[k] as number : undefined);
  const bytes = (k: string): number | undefined => (str(k) === undefined ? undefined : str(k) === '-1' ? -1 : ramInBytes(str(k)!));
  const set = <K extends keyof ContainerUpdateRequest>(k: K, v: ContainerUpdateRequest[K] | undefined): void => { if (v !== undefined) body[k] = v; };
  set('BlkioWeight', int('blkioWeight'));
  set('CpuPeriod', int('cpuPeriod'));
  set('CpuQuota', int('cpuQuota'));
  set('CpuShares', int('cpuShares'));
  set('NanoCpus', str('cpus') === undefined ? undefined : nanoCpus(str('cpus')!));
  set('CpusetCpus', str('cpusetCpus'));
  set('CpusetMems', str('cpusetMems'));
  set('Memory', bytes('memory'));
  set('MemoryReservation', bytes('memoryReservation'));
  set('MemorySwap', bytes('memorySwap'));
  set('PidsLimit', int('pidsLimit'));
  set('RestartPolicy', str('restart') === undefined ? undefined : parseRestartPolicy(str('restart')!));
  return body;
}
