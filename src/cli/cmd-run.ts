// run and create: the docker CLI's exact order — create (pulling on 404), attach before start,
// wait registered before start, start, stream, exit with the container's status.
import { writeFileSync, existsSync } from 'node:fs';

import type { Command } from 'commander';

import type { EngineClient, HijackedStream } from '../client/client.js';
import { isDaemonError } from '../client/errors.js';
import { jsonStream } from '../client/stream.js';
import type { ContainerWaitResponse, JSONMessage } from '../client/types.js';
import { familiarString, parseReference, withDefaultTag } from '../image/reference.js';
import type { Cli } from './context.js';
import { describeError, PROG, StatusError } from './context.js';
import { addOptions, defineCommand } from './command.js';
import { registryAuthHeader } from './cmd-auth.js';
import type { Outcome } from './command.js';
import { parseDetachKeys, streamHijacked } from './hijack.js';
import type { StreamEnd } from './hijack.js';
import { buildCreateRequest, CONTAINER_OPTIONS, RUN_ONLY_OPTIONS } from './run-opts.js';
import type { ContainerConfigResult, ParsedOptions } from './run-opts.js';
import { consoleSize, makeRaw, monitorSize } from './tty.js';

/** docker's withHelp: "berth: <err>\n\nRun 'berth run --help' for more information". */
function withHelp(message: string, command: string): string {
  return `${PROG}: ${message}\n\nRun '${PROG} ${command} --help' for more information`;
}

/** toStatusError: 127 for "not found" start failures, 126 for permission problems, else 125. */
export function toStatusError(e: unknown, command: string): StatusError {
  if (e instanceof StatusError) return e;
  const msg = describeError(e);
  let status = 125;
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(msg)) status = 127;
  else if (/permission denied|is a directory/.test(msg)) status = 126;
  return new StatusError(status, withHelp(msg, command));
}

/** Renders a pull/import JSON message stream like jsonmessage.DisplayJSONMessagesStream without a TTY. */
export async function displayJSONMessages(
  source: AsyncIterable<Buffer | string>,
  write: (s: string) => void,
  onAux?: (aux: unknown) => void,
): Promise<void> {
  for await (const m of jsonStream<JSONMessage>(source)) {
    if (m.errorDetail || m.error) {
      // As docker's jsonmessage: the error's code is the exit status (a failed RUN's), else 1.
      const code = m.errorDetail?.code;
      throw new StatusError(typeof code === 'number' && code > 0 ? code : 1, m.errorDetail?.message ?? m.error ?? 'unknown error');
    }
    if (m.aux !== undefined && onAux) {
      onAux(m.aux);
      continue;
    }
    if (m.stream !== undefined) {
      write(m.stream);
      continue;
    }
    // without a terminal docker skips progress-bar updates and prints each status once per line
    if (m.progressDetail && (m.progressDetail.current ?? 0) > 0) continue;
    if (m.status === undefined) continue;
    write(m.id ? `${m.id}: ${m.status}\n` : `${m.status}\n`);
  }
}

/** POST /images/create for a reference; progress goes to stderr (run's path) or stdout (`pull`). */
export async function pullImage(
  cli: Cli,
  image: string,
  opts: { platform?: string; quiet?: boolean; stdout?: boolean; progressTo?: (s: string) => void },
): Promise<void> {
  const ref = withDefaultTag(parseReference(image));
  const name = ref.domain + '/' + ref.path;
  const res = await cli.client.imagePull(name, ref.digest ?? ref.tag, { platform: opts.platform, registryAuth: registryAuthHeader(cli, ref.domain) });
  await displayJSONMessages(res, (s) => {
    if (opts.progressTo) opts.progressTo(s);
    else if (!opts.quiet) (opts.stdout ? cli.out(s) : cli.err(s));
  });
}

async function createContainer(cli: Cli, cfg: ContainerConfigResult): Promise<string> {
  const image = cfg.body.Image ?? '';
  let familiar = image;
  try {
    familiar = familiarString(withDefaultTag(parseReference(image)));
  } catch (e) {
    throw new StatusError(125, withHelp(describeError(e), 'run'));
  }
  if (cfg.cidfile && existsSync(cfg.cidfile)) {
    throw new StatusError(125, withHelp(`container ID file found, make sure the other container isn't running or delete ${cfg.cidfile}`, 'run'));
  }
  if (cfg.pull === 'always') await pullImage(cli, image, cfg);
  let res;
  try {
    res = await cli.client.containerCreate(cfg.body, { name: cfg.name, platform: cfg.platform });
  } catch (e) {
    if (!(isDaemonError(e) && e.statusCode === 404 && cfg.pull !== 'never' && cfg.pull !== 'always')) throw e;
    // the 404 on create is what starts docker's pull path; the message text does not matter
    if (!cfg.quiet) cli.err(`Unable to find image '${familiar}' locally\n`);
    await pullImage(cli, image, cfg);
    res = await cli.client.containerCreate(cfg.body, { name: cfg.name, platform: cfg.platform });
  }
  for (const w of res.Warnings ?? []) cli.err(`WARNING: ${w}\n`);
  if (cfg.cidfile) writeFileSync(cfg.cidfile, res.Id);
  return res.Id;
}

/** waitExitOrRemoved: registers the wait before start; the promise gives the exit status. */
async function waitExitOrRemoved(cli: Cli, id: string, autoRemove: boolean): Promise<{ status: Promise<number>; cancel: () => void }> {
  const { result, cancel } = await cli.client.containerWait(id, autoRemove ? 'removed' : 'next-exit');
  let cancelled = false;
  const status = result.then(
    (r: ContainerWaitResponse) => {
      if (r.Error?.Message) {
        cli.err(`Error waiting for container: ${r.Error.Message}\n`);
        return 125;
      }
      return r.StatusCode;
    },
    (e: unknown) => {
      if (!cancelled) cli.err(`Error waiting for container: ${describeError(e)}\n`);
      return 125;
    },
  );
  return {
    status,
    cancel: () => {
      cancelled = true;
      cancel();
    },
  };
}

/** Forwards SIGINT/SIGTERM/SIGHUP/... to the container while attached (docker's --sig-proxy). */
function proxySignals(client: EngineClient, id: string): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handlers = signals.map((sig) => {
    const h = (): void => {
      client.containerKill(id, sig).catch(() => undefined);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.removeListener(sig, h);
  };
}

async function runContainer(cli: Cli, cfg: ContainerConfigResult): Promise<number> {
  const { io } = cli;
  const attach = cfg.attach.stdin || cfg.attach.stdout || cfg.attach.stderr;
  if (!cfg.detach && cfg.attach.stdin && cfg.tty && !io.stdin.isTTY) {
    throw new StatusError(1, 'the input device is not a TTY');
  }
  let id: string;
  try {
    id = await createContainer(cli, cfg);
  } catch (e) {
    throw toStatusError(e, 'run');
  }
  let detachKeys: number[];
  try {
    detachKeys = parseDetachKeys(cfg.detachKeys);
  } catch (e) {
    throw new StatusError(125, withHelp((e as Error).message, 'run'));
  }
  const stopProxy = cfg.sigProxy && !cfg.tty && attach ? proxySignals(cli.client, id) : () => undefined;
  let hijacked: HijackedStream | undefined;
  let restore = (): void => undefined;
  let stopResize = (): void => undefined;
  try {
    if (attach) {
      hijacked = await cli.client.containerAttach(id, {
        stream: true,
        stdin: cfg.attach.stdin,
        stdout: cfg.attach.stdout,
        stderr: cfg.attach.stderr,
        detachKeys: cfg.detachKeys,
      });
    }
    const { status, cancel: cancelWait } = await waitExitOrRemoved(cli, id, cfg.autoRemove);
    let streaming: Promise<StreamEnd> | undefined;
    if (hijacked) {
      if (cfg.tty && cfg.attach.stdin) restore = makeRaw(io);
      streaming = streamHijacked(hijacked, {
        tty: cfg.tty,
        detachKeys: detachKeys,
        stdin: cfg.attach.stdin ? io.stdin : undefined,
        stdout: cfg.attach.stdout ? io.stdout : undefined,
        stderr: cfg.attach.stderr ? (cfg.tty ? io.stdout : io.stderr) : undefined,
      });
      streaming.catch(() => undefined);
    }
    if (!attach) cli.out(`${id}\n`);
    try {
      await cli.client.containerStart(id);
    } catch (e) {
      hijacked?.socket.destroy();
      if (cfg.autoRemove) await status;
      else cancelWait();
      throw toStatusError(e, 'run');
    }
    if (!attach) {
      cancelWait();
      return 0;
    }
    if (cfg.tty) stopResize = monitorSize(io, (h, w) => cli.client.containerResize(id, h, w));
    // Whichever ends first: the output stream (then read the status) or the exit (then drain output).
    const first = await Promise.race([streaming!.then(() => 'stream' as const, () => 'stream' as const), status.then(() => 'status' as const)]);
    if (first === 'status' && !cfg.attach.stdout && !cfg.attach.stderr) hijacked?.socket.destroy();
    const how = await streaming!.catch(() => 'eof' as const);
    if (how === 'detached') {
      // the user detached: the container goes on, and so do we, with success
      cancelWait();
      return 0;
    }
    return await status;
  } finally {
    stopResize();
    restore();
    stopProxy();
  }
}

function registerRunLike(parent: Command, parentPath: string, cli: Cli, outcome: Outcome, which: 'run' | 'create'): void {
  const cmd = defineCommand(
    parent,
    parentPath,
    {
      name: which,
      usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
      description: which === 'run' ? 'Create and run a new container from an image' : 'Create a new container',
      minArgs: 1,
      passThrough: true,
    },
    cli,
    outcome,
    async (c, args, opts: ParsedOptions) => {
      let cfg: ContainerConfigResult;
      try {
        const o = which === 'create' ? { ...opts, detach: true } : opts;
        cfg = buildCreateRequest(o, args[0]!, args.slice(1), c.io.env, opts.tty ? consoleSize(c.io) : [0, 0]);
      } catch (e) {
        throw new StatusError(125, withHelp(describeError(e), which));
      }
      if (which === 'create') {
        try {
          const id = await createContainer(c, cfg);
          c.out(`${id}\n`);
          return 0;
        } catch (e) {
          throw toStatusError(e, 'create');
        }
      }
      return runContainer(c, cfg);
    },
  );
  addOptions(cmd, which === 'run' ? [...CONTAINER_OPTIONS, ...RUN_ONLY_OPTIONS] : CONTAINER_OPTIONS);
  if (which === 'run') cmd.option('--no-sig-proxy', 'Do not proxy received signals to the process');
}

export function registerRun(parent: Command, parentPath: string, cli: Cli, outcome: Outcome): void {
  registerRunLike(parent, parentPath, cli, outcome, 'run');
  registerRunLike(parent, parentPath, cli, outcome, 'create');
}

export { waitExitOrRemoved, withHelp };
