// The commands of issue 8 that are not interactive streams: diff, export, commit, events, stats,
// history, save, load, push — each as docker prints it.
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';

import type { Command } from 'commander';

import { jsonStream } from '../client/stream.js';
import type { ContainerStatsResponse, EventMessage, FilesystemChange } from '../client/types.js';
import { parseReference } from '../image/reference.js';
import type { Cli } from './context.js';
import { StatusError } from './context.js';
import { collect, defineCommand } from './command.js';
import type { Outcome } from './command.js';
import { displayJSONMessages } from './cmd-run.js';
import { registryAuthHeader } from './cmd-auth.js';
import { parseFilters } from './cmd-container.js';
import { formatItems } from './formatter.js';
import type { ParsedOptions } from './run-opts.js';
import { tabwrite } from './tabwriter.js';
import { Template } from './template/index.js';
import { bytesSize, getTimestamp, humanSize, sinceUnix, truncateId } from './units.js';

function refuseTerminal(cli: Cli, what: string): void {
  if (cli.io.stdout.isTTY) throw new StatusError(1, `cowardly refusing to save to a terminal. Use the -o flag or redirect`.replace('save', what));
}

async function toFileOrStdout(cli: Cli, body: NodeJS.ReadableStream, output: string | undefined, what: string): Promise<void> {
  if (output) {
    await pipeline(body, createWriteStream(output));
    return;
  }
  refuseTerminal(cli, what);
  await pipeline(body, cli.io.stdout, { end: false });
}

async function diff(cli: Cli, name: string): Promise<number> {
  const changes = await cli.client.json<FilesystemChange[] | null>('GET', `/containers/${encodeURIComponent(name)}/changes`);
  const kinds = ['C', 'A', 'D'];
  cli.out((changes ?? []).map((c) => `${kinds[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  return 0;
}

async function commit(cli: Cli, args: string[], opts: ParsedOptions): Promise<number> {
  const [container, ref] = args as [string, string | undefined];
  let repo: string | undefined;
  let tag: string | undefined;
  if (ref) {
    const r = parseReference(ref);
    if (r.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
    repo = `${r.domain}/${r.path}`;
    tag = r.tag;
  }
  const res = await cli.client.json<{ Id: string }>('POST', '/commit', {
    query: {
      container,
      repo,
      tag,
      comment: typeof opts.message === 'string' ? opts.message : undefined,
      author: typeof opts.author === 'string' ? opts.author : undefined,
      pause: opts.pause !== false,
      changes: (opts.change as string[] | undefined) ?? undefined,
    },
    body: {},
  });
  cli.out(`${res.Id}\n`);
  return 0;
}

/** jsonmessage.RFC3339NanoFixed in local time, as docker events prints it. */
function rfc3339NanoFixed(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const frac = String(nanos % 1_000_000_000n).padStart(9, '0');
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const local = new Date(ms + off * 60_000);
  const base = local.toISOString().slice(0, 19);
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${String(Math.trunc(Math.abs(off) / 60)).padStart(2, '0')}:${String(Math.abs(off) % 60).padStart(2, '0')}`;
  return `${base}.${frac}${zone}`;
}

export function prettyEvent(e: EventMessage & { time?: number; timeNano?: number }): string {
  let out = '';
  if (e.timeNano) out += rfc3339NanoFixed(BigInt(e.timeNano)) + ' ';
  else if (e.time) out += rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n) + ' ';
  out += `${e.Type ?? ''} ${e.Action ?? ''} ${e.Actor?.ID ?? ''}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) out += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return out + '\n';
}

async function events(cli: Cli, opts: ParsedOptions): Promise<number> {
  const since = typeof opts.since === 'string' ? getTimestamp(opts.since) : undefined;
  const until = typeof opts.until === 'string' ? getTimestamp(opts.until) : undefined;
  const format = typeof opts.format === 'string' ? opts.format : '';
  const tmpl = format ? new Template(format === 'json' ? '{{json .}}' : format) : undefined;
  const filters = parseFilters(opts.filter as string[] | undefined);
  const { encodeFilters } = await import('../client/client.js');
  const res = await cli.client.stream('GET', '/events', { query: { since, until, filters: encodeFilters(filters) } });
  const stop = (): void => {
    res.destroy();
  };
  process.once('SIGINT', stop);
  try {
    for await (const e of jsonStream<EventMessage>(res)) {
      cli.out(tmpl ? tmpl.execute(e) + '\n' : prettyEvent(e));
    }
  } catch (e) {
    if (!res.destroyed) throw e;
  } finally {
    process.removeListener('SIGINT', stop);
  }
  return 0;
}

const STATS_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
const STATS_HEADERS: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

/** One row of docker stats, computed as docker/cli's stats_helpers do; its Go name is container.statsContext. */
export class statsContext {
  static readonly goPackage = 'container';
  constructor(
    private readonly s: ContainerStatsResponse,
    private readonly container: string,
    private readonly trunc: boolean,
  ) {}
  get Container(): string {
    return this.container;
  }
  get ID(): string {
    return this.trunc ? truncateId(this.s.id ?? '') : (this.s.id ?? '');
  }
  get Name(): string {
    return (this.s.name ?? '').replace(/^\//, '');
  }
  private cpu(): number {
    const cpu = this.s.cpu_stats;
    const pre = this.s.precpu_stats;
    const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
    const sysDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
    const online = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 1;
    return sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * online * 100 : 0;
  }
  private memUsage(): number {
    const m = this.s.memory_stats;
    const st = (m?.stats ?? {}) as Record<string, number>;
    // cgroup v1 keeps total_inactive_file, v2 inactive_file: docker subtracts it (calculateMemUsageUnixNoCache)
    const inactive = st.total_inactive_file !== undefined && st.total_inactive_file < (m?.usage ?? 0) ? st.total_inactive_file : st.inactive_file !== undefined && st.inactive_file < (m?.usage ?? 0) ? st.inactive_file : 0;
    return (m?.usage ?? 0) - inactive;
  }
  get CPUPerc(): string {
    return `${this.cpu().toFixed(2)}%`;
  }
  get MemUsage(): string {
    return `${bytesSize(this.memUsage())} / ${bytesSize(this.s.memory_stats?.limit ?? 0)}`;
  }
  get MemPerc(): string {
    const limit = this.s.memory_stats?.limit ?? 0;
    return `${(limit > 0 ? (this.memUsage() / limit) * 100 : 0).toFixed(2)}%`;
  }
  get NetIO(): string {
    let rx = 0;
    let tx = 0;
    for (const n of Object.values(this.s.networks ?? {})) {
      if (!n) continue;
      rx += n.rx_bytes ?? 0;
      tx += n.tx_bytes ?? 0;
    }
    return `${humanSize(rx, 3)} / ${humanSize(tx, 3)}`;
  }
  get BlockIO(): string {
    let r = 0;
    let w = 0;
    for (const e of this.s.blkio_stats?.io_service_bytes_recursive ?? []) {
      if (!e) continue;
      const op = (e.op ?? '').toLowerCase();
      if (op === 'read') r += e.value ?? 0;
      else if (op === 'write') w += e.value ?? 0;
    }
    return `${humanSize(r, 3)} / ${humanSize(w, 3)}`;
  }
  get PIDs(): string {
    return String(this.s.pids_stats?.current ?? 0);
  }
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs']) out[k] = (this as unknown as Record<string, unknown>)[k];
    return out;
  }
}

async function stats(cli: Cli, names: string[], opts: ParsedOptions): Promise<number> {
  const noStream = opts.stream === false;
  let format = typeof opts.format === 'string' && opts.format ? opts.format : STATS_FORMAT;
  if (format === 'table') format = STATS_FORMAT;
  const trunc = opts.trunc !== false;
  const targets = names.length
    ? names
    : (await cli.client.containerList({ all: opts.all === true })).map((c) => c.Id ?? '');
  const sample = async (): Promise<statsContext[]> =>
    Promise.all(
      targets.map(async (n) => {
        const s = await cli.client.json<ContainerStatsResponse>('GET', `/containers/${encodeURIComponent(n)}/stats`, { query: { stream: false } });
        return new statsContext(s, n, trunc);
      }),
    );
  if (noStream) {
    cli.out(formatItems(format, await sample(), STATS_HEADERS));
    return 0;
  }
  let running = true;
  const stop = (): void => {
    running = false;
  };
  process.once('SIGINT', stop);
  try {
    while (running) {
      const rows = await sample();
      const text = formatItems(format, rows, STATS_HEADERS);
      cli.out(cli.io.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    process.removeListener('SIGINT', stop);
  }
  return 0;
}

async function history(cli: Cli, ref: string, opts: ParsedOptions): Promise<number> {
  const items = await cli.client.imageHistory(ref);
  const trunc = opts.trunc !== false;
  const human = opts.human !== false;
  if (opts.quiet === true) {
    cli.out(items.map((h) => `${trunc ? truncateId(h.Id) : h.Id}\n`).join(''));
    return 0;
  }
  let text = 'IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT\n';
  for (const h of items) {
    const id = h.Id.startsWith('sha256:') ? (trunc ? truncateId(h.Id) : h.Id) : h.Id;
    let by = h.CreatedBy.replace(/\t/g, ' ');
    if (trunc && [...by].length > 45) by = [...by].slice(0, 44).join('') + '…';
    const created = human ? sinceUnix(h.Created) : new Date(h.Created * 1000).toISOString();
    text += `${id}\t${created}\t${by}\t${human ? humanSize(h.Size, 3) : String(h.Size)}\t${h.Comment}\n`;
  }
  cli.out(tabwrite(text));
  return 0;
}

export function registerExtraCommands(parent: Command, parentPath: string, cli: Cli, outcome: Outcome, scope: 'top' | 'container' | 'image' | 'system'): void {
  if (scope === 'top' || scope === 'container') {
    defineCommand(parent, parentPath, { name: 'diff', usage: 'CONTAINER', description: "Inspect changes to files or directories on a container's filesystem", minArgs: 1, maxArgs: 1 }, cli, outcome, (c, a) => diff(c, a[0]!));
    defineCommand(parent, parentPath, { name: 'export', usage: '[OPTIONS] CONTAINER', description: "Export a container's filesystem as a tar archive", minArgs: 1, maxArgs: 1 }, cli, outcome, async (c, a, o) => {
      const res = await c.client.stream('GET', `/containers/${encodeURIComponent(a[0]!)}/export`);
      await toFileOrStdout(c, res, typeof o.output === 'string' ? o.output : undefined, 'export');
      return 0;
    }).option('-o, --output <string>', 'Write to a file, instead of STDOUT');
    defineCommand(parent, parentPath, { name: 'commit', usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]', description: "Create a new image from a container's changes", minArgs: 1, maxArgs: 2 }, cli, outcome, (c, a, o) => commit(c, a, o))
      .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
      .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <string>', 'Commit message')
      .option('--no-pause', 'Disable pausing container during commit')
      .option('-p, --pause', 'Pause container during commit (default true)');
    defineCommand(parent, parentPath, { name: 'stats', usage: '[OPTIONS] [CONTAINER...]', description: 'Display a live stream of container(s) resource usage statistics' }, cli, outcome, (c, a, o) => stats(c, a, o))
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('--format <string>', 'Format output using a custom template')
      .option('--no-stream', 'Disable streaming stats and only pull the first result')
      .option('--no-trunc', "Don't truncate output");
  }
  if (scope === 'top' || scope === 'system') {
    defineCommand(parent, parentPath, { name: 'events', usage: '[OPTIONS]', description: 'Get real time events from the server', maxArgs: 0 }, cli, outcome, (c, _a, o) => events(c, o))
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
      .option('--format <string>', 'Format output using a custom template')
      .option('--since <string>', 'Show all events created since timestamp')
      .option('--until <string>', 'Stream events until this timestamp');
  }
  if (scope === 'top' || scope === 'image') {
    defineCommand(parent, parentPath, { name: 'history', usage: '[OPTIONS] IMAGE', description: 'Show the history of an image', minArgs: 1, maxArgs: 1 }, cli, outcome, (c, a, o) => history(c, a[0]!, o))
      .option('-H, --human', 'Print sizes and dates in human readable format (default true)')
      .option('--no-human', 'Print sizes and dates as numbers')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs');
    defineCommand(parent, parentPath, { name: 'save', usage: '[OPTIONS] IMAGE [IMAGE...]', description: 'Save one or more images to a tar archive (streamed to STDOUT by default)', minArgs: 1 }, cli, outcome, async (c, a, o) => {
      const res = await c.client.stream('GET', '/images/get', { query: { names: a } });
      await toFileOrStdout(c, res, typeof o.output === 'string' ? o.output : undefined, 'save');
      return 0;
    }).option('-o, --output <string>', 'Write to a file, instead of STDOUT');
    defineCommand(parent, parentPath, { name: 'load', usage: '[OPTIONS]', description: 'Load an image from a tar archive or STDIN', maxArgs: 0 }, cli, outcome, async (c, _a, o) => {
      const input = typeof o.input === 'string' ? o.input : undefined;
      if (input && !existsSync(input)) throw new StatusError(1, `open ${input}: no such file or directory`);
      if (!input && c.io.stdin.isTTY) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
      const res = await c.client.stream('POST', '/images/load', {
        query: { quiet: o.quiet === true },
        body: input ? createReadStream(input) : c.io.stdin,
        headers: { 'Content-Type': 'application/x-tar' },
      });
      await displayJSONMessages(res, (s) => c.out(s));
      return 0;
    })
      .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
      .option('-q, --quiet', 'Suppress the load output');
    defineCommand(parent, parentPath, { name: 'push', usage: '[OPTIONS] NAME[:TAG]', description: 'Upload an image to a registry', minArgs: 1, maxArgs: 1 }, cli, outcome, async (c, a, o) => {
      const ref = parseReference(a[0]!);
      const tag = o.allTags === true ? undefined : (ref.tag ?? 'latest');
      if (!ref.tag && o.allTags !== true) c.out('Using default tag: latest\n');
      const name = ref.tag && a[0]!.endsWith(`:${ref.tag}`) ? a[0]!.slice(0, -ref.tag.length - 1) : a[0]!;
      const res = await c.client.stream('POST', `/images/${name}/push`, { query: { tag }, headers: { 'X-Registry-Auth': registryAuthHeader(c, ref.domain) } });
      await displayJSONMessages(res, (s) => {
        if (o.quiet !== true) c.out(s);
      });
      if (o.quiet === true) c.out(`${a[0]}\n`);
      return 0;
    })
      .option('-a, --all-tags', 'Push all tags of an image to the repository')
      .option('-q, --quiet', 'Suppress verbose output');
  }
}
