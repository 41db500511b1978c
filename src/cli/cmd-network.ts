// network, volume and port commands, with docker's tables and messages.
import type { Command } from 'commander';

import type { Network, Volume, ContainerInspectResponse } from '../client/types.js';
import type { Cli } from './context.js';
import { StatusError, confirm, forEachArg } from './context.js';
import { collect, defineCommand } from './command.js';
import type { Outcome } from './command.js';
import { encodeFilters } from '../client/client.js';
import { inspectObjects, parseFilters } from './cmd-container.js';
import { contextJSON, formatItems, labelsColumn } from './formatter.js';
import { parseLabels } from './run-opts.js';
import type { ParsedOptions } from './run-opts.js';
import { goTimeString } from './ps-format.js';
import { humanSize, truncateId } from './units.js';

const NETWORK_FIELDS = ['ID', 'Name', 'Driver', 'Scope', 'IPv6', 'Internal', 'Labels', 'CreatedAt'] as const;
/** docker's network.networkContext (its Go name shows in template errors). */
class networkContext {
  static readonly goPackage = 'network';
  constructor(
    private readonly n: Network,
    private readonly trunc: boolean,
  ) {}
  get ID(): string {
    return this.trunc ? truncateId(this.n.Id ?? '') : (this.n.Id ?? '');
  }
  get Name(): string {
    return this.n.Name ?? '';
  }
  get Driver(): string {
    return this.n.Driver ?? '';
  }
  get Scope(): string {
    return this.n.Scope ?? '';
  }
  get IPv6(): string {
    return String(this.n.EnableIPv6 === true);
  }
  get Internal(): string {
    return String(this.n.Internal === true);
  }
  get Labels(): string {
    return labelsColumn(this.n.Labels);
  }
  Label(name: unknown): string {
    return this.n.Labels?.[String(name)] ?? '';
  }
  get CreatedAt(): string {
    return this.n.Created ? goTimeString(Date.parse(this.n.Created) / 1000) : '';
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, NETWORK_FIELDS);
  }
}
const NETWORK_HEADERS = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED' };

const VOLUME_FIELDS = ['Name', 'Driver', 'Scope', 'Mountpoint', 'Labels', 'Links', 'Size', 'Group', 'Availability', 'Status'] as const;
/** docker's formatter.volumeContext (its Go name shows in template errors): volume ls, and the volumes of system df -v. */
export class volumeContext {
  constructor(private readonly v: Volume) {}
  get Name(): string {
    return this.v.Name;
  }
  get Driver(): string {
    return this.v.Driver;
  }
  get Scope(): string {
    return this.v.Scope;
  }
  get Mountpoint(): string {
    return this.v.Mountpoint;
  }
  get Labels(): string {
    return labelsColumn(this.v.Labels);
  }
  Label(name: unknown): string {
    return this.v.Labels?.[String(name)] ?? '';
  }
  get Links(): string {
    return this.v.UsageData ? String(this.v.UsageData.RefCount) : 'N/A';
  }
  get Size(): string {
    return this.v.UsageData && this.v.UsageData.Size >= 0 ? humanSize(this.v.UsageData.Size) : 'N/A';
  }
  get Group(): string {
    return 'N/A';
  }
  get Availability(): string {
    return 'N/A';
  }
  get Status(): string {
    return 'N/A';
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, VOLUME_FIELDS);
  }
}
export const VOLUME_HEADERS: Record<string, string> = { Name: 'VOLUME NAME', Driver: 'DRIVER', Scope: 'SCOPE', Mountpoint: 'MOUNTPOINT', Labels: 'LABELS', Links: 'LINKS', Size: 'SIZE', Group: 'GROUP', Availability: 'AVAILABILITY', Status: 'STATUS' };

function options(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of list ?? []) {
    const i = o.indexOf('=');
    if (i <= 0) throw new StatusError(125, `invalid key/value pair format in driver options: ${o}`);
    out[o.slice(0, i)] = o.slice(i + 1);
  }
  return out;
}

function listFormat(o: ParsedOptions, def: string): string {
  if (o.quiet === true) return '';
  const f = typeof o.format === 'string' ? o.format : '';
  return f === '' || f === 'table' ? def : f;
}

export function registerNetworkCommands(parent: Command, cli: Cli, outcome: Outcome): void {
  const net = parent.commands.find((c) => c.name() === 'network')!;
  defineCommand(net, 'network', { name: 'ls', aliases: ['list'], usage: '[OPTIONS]', description: 'List networks', maxArgs: 0 }, cli, outcome, async (c, _a, o) => {
    const list = await c.client.json<Network[]>('GET', '/networks', { query: { filters: encodeFilters(parseFilters(o.filter as string[] | undefined)) } });
    list.sort((x, y) => (x.Name ?? '').localeCompare(y.Name ?? ''));
    const rows = list.map((n) => new networkContext(n, o.trunc !== false));
    if (o.quiet === true) c.out(rows.map((r) => `${r.ID}\n`).join(''));
    else c.out(formatItems(listFormat(o, 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}'), rows, NETWORK_HEADERS));
    return 0;
  })
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', 'Do not truncate the output')
    .option('-q, --quiet', 'Only display network IDs');
  defineCommand(net, 'network', { name: 'create', usage: '[OPTIONS] NETWORK', description: 'Create a network', minArgs: 1, maxArgs: 1 }, cli, outcome, async (c, a, o) => {
    const subnets = (o.subnet as string[] | undefined) ?? [];
    const gateways = (o.gateway as string[] | undefined) ?? [];
    const ranges = (o.ipRange as string[] | undefined) ?? [];
    const body = {
      Name: a[0],
      Driver: typeof o.driver === 'string' ? o.driver : 'bridge',
      Scope: '',
      EnableIPv6: o.ipv6 === true ? true : undefined,
      IPAM: {
        Driver: 'default',
        Options: {},
        Config: subnets.map((s, i) => ({ Subnet: s, Gateway: gateways[i], IPRange: ranges[i] })),
      },
      Internal: o.internal === true,
      Attachable: o.attachable === true,
      Ingress: false,
      ConfigOnly: false,
      ConfigFrom: null,
      Options: options(o.opt as string[] | undefined),
      Labels: parseLabels((o.label as string[] | undefined) ?? []),
    };
    const r = await c.client.json<{ Id: string; Warning?: string }>('POST', '/networks/create', { body });
    if (r.Warning) c.err(`WARNING: ${r.Warning}\n`);
    c.out(`${r.Id}\n`);
    return 0;
  })
    .option('--attachable', 'Enable manual container attachment')
    .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
    .option('--gateway <ip>', 'IPv4 or IPv6 Gateway for the master subnet', collect)
    .option('--internal', 'Restrict external access to the network')
    .option('--ip-range <ip>', 'Allocate container ip from a sub-range', collect)
    .option('--ipv6', 'Enable or disable IPv6 networking')
    .option('--label <list>', 'Set metadata on a network', collect)
    .option('-o, --opt <map>', 'Set driver specific options', collect)
    .option('--subnet <subnet>', 'Subnet in CIDR format that represents a network segment', collect);
  defineCommand(net, 'network', { name: 'rm', aliases: ['remove'], usage: 'NETWORK [NETWORK...]', description: 'Remove one or more networks', minArgs: 1 }, cli, outcome, (c, a) =>
    forEachArg(c, a, async (n) => {
      await c.client.request('DELETE', `/networks/${encodeURIComponent(n)}`);
    }),
  ).option('-f, --force', 'Do not error if the network does not exist');
  defineCommand(net, 'network', { name: 'inspect', usage: '[OPTIONS] NETWORK [NETWORK...]', description: 'Display detailed information on one or more networks', minArgs: 1 }, cli, outcome, (c, a, o) =>
    inspectObjects(c, a, typeof o.format === 'string' ? o.format : undefined, (n) => c.client.json('GET', `/networks/${encodeURIComponent(n)}`)),
  )
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics');
  defineCommand(net, 'network', { name: 'connect', usage: '[OPTIONS] NETWORK CONTAINER', description: 'Connect a container to a network', minArgs: 2, maxArgs: 2 }, cli, outcome, async (c, a, o) => {
    const aliases = (o.alias as string[] | undefined) ?? [];
    const ip = typeof o.ip === 'string' ? o.ip : undefined;
    await c.client.request('POST', `/networks/${encodeURIComponent(a[0]!)}/connect`, {
      body: { Container: a[1], EndpointConfig: { Aliases: aliases.length ? aliases : null, IPAMConfig: ip ? { IPv4Address: ip } : null } },
    });
    return 0;
  })
    .option('--alias <list>', 'Add network-scoped alias for the container', collect)
    .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")');
  defineCommand(net, 'network', { name: 'disconnect', usage: '[OPTIONS] NETWORK CONTAINER', description: 'Disconnect a container from a network', minArgs: 2, maxArgs: 2 }, cli, outcome, async (c, a, o) => {
    await c.client.request('POST', `/networks/${encodeURIComponent(a[0]!)}/disconnect`, { body: { Container: a[1], Force: o.force === true } });
    return 0;
  }).option('-f, --force', 'Force the container to disconnect from a network');
  defineCommand(net, 'network', { name: 'prune', usage: '[OPTIONS]', description: 'Remove all unused networks', maxArgs: 0 }, cli, outcome, async (c, _a, o) => {
    if (o.force !== true && !(await confirm(c, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?'))) return 0;
    const r = await c.client.json<{ NetworksDeleted?: string[] | null }>('POST', '/networks/prune', { query: { filters: encodeFilters(parseFilters(o.filter as string[] | undefined)) } });
    if (r.NetworksDeleted?.length) c.out('Deleted Networks:\n' + r.NetworksDeleted.map((n) => n + '\n').join('') + '\n');
    return 0;
  })
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation');

  const vol = parent.commands.find((c) => c.name() === 'volume')!;
  defineCommand(vol, 'volume', { name: 'ls', aliases: ['list'], usage: '[OPTIONS]', description: 'List volumes', maxArgs: 0 }, cli, outcome, async (c, _a, o) => {
    const r = await c.client.json<{ Volumes?: Volume[] | null; Warnings?: string[] | null }>('GET', '/volumes', {
      query: { filters: encodeFilters(parseFilters(o.filter as string[] | undefined)) },
    });
    const vols = (r.Volumes ?? []).sort((x, y) => x.Name.localeCompare(y.Name));
    if (o.quiet === true) c.out(vols.map((v) => `${v.Name}\n`).join(''));
    else c.out(formatItems(listFormat(o, 'table {{.Driver}}\t{{.Name}}'), vols.map((v) => new volumeContext(v)), VOLUME_HEADERS));
    for (const w of r.Warnings ?? []) c.err(`${w}\n`);
    return 0;
  })
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "dangling=true")', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('-q, --quiet', 'Only display volume names');
  defineCommand(vol, 'volume', { name: 'create', usage: '[OPTIONS] [VOLUME]', description: 'Create a volume', maxArgs: 1 }, cli, outcome, async (c, a, o) => {
    if (a[0] && typeof o.name === 'string' && o.name !== a[0]) {
      throw new StatusError(1, `conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
    }
    const body = {
      Driver: typeof o.driver === 'string' ? o.driver : 'local',
      DriverOpts: options(o.opt as string[] | undefined),
      Labels: parseLabels((o.label as string[] | undefined) ?? []),
      Name: a[0] ?? (typeof o.name === 'string' ? o.name : ''),
    };
    const v = await c.client.json<Volume>('POST', '/volumes/create', { body });
    c.out(`${v.Name}\n`);
    return 0;
  })
    .option('-d, --driver <string>', 'Specify volume driver name', 'local')
    .option('--label <list>', 'Set metadata for a volume', collect)
    .option('--name <string>', 'Specify volume name')
    .option('-o, --opt <map>', 'Set driver specific options', collect);
  defineCommand(vol, 'volume', { name: 'rm', aliases: ['remove'], usage: '[OPTIONS] VOLUME [VOLUME...]', description: 'Remove one or more volumes', minArgs: 1 }, cli, outcome, (c, a, o) =>
    forEachArg(c, a, async (n) => {
      await c.client.request('DELETE', `/volumes/${encodeURIComponent(n)}`, { query: { force: o.force === true || undefined } });
    }),
  ).option('-f, --force', 'Force the removal of one or more volumes');
  defineCommand(vol, 'volume', { name: 'inspect', usage: '[OPTIONS] VOLUME [VOLUME...]', description: 'Display detailed information on one or more volumes', minArgs: 1 }, cli, outcome, (c, a, o) =>
    inspectObjects(c, a, typeof o.format === 'string' ? o.format : undefined, (n) => c.client.json('GET', `/volumes/${encodeURIComponent(n)}`)),
  ).option('-f, --format <string>', 'Format output using a custom template');
  defineCommand(vol, 'volume', { name: 'prune', usage: '[OPTIONS]', description: 'Remove unused local volumes', maxArgs: 0 }, cli, outcome, async (c, _a, o) => {
    const all = o.all === true;
    const warning = all ? 'WARNING! This will remove all local volumes not used by at least one container.' : 'WARNING! This will remove anonymous local volumes not used by at least one container.';
    if (o.force !== true && !(await confirm(c, `${warning}\nAre you sure you want to continue?`))) return 0;
    const filters = parseFilters(o.filter as string[] | undefined);
    if (all) filters.all = ['true'];
    const r = await c.client.json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/volumes/prune', { query: { filters: encodeFilters(filters) } });
    let out = '';
    if (r.VolumesDeleted?.length) out = 'Deleted Volumes:\n' + r.VolumesDeleted.map((n) => n + '\n').join('') + '\n';
    c.out(out + `Total reclaimed space: ${humanSize(r.SpaceReclaimed ?? 0)}\n`);
    return 0;
  })
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation');
}

/** docker port: "80/tcp -> 0.0.0.0:8080", one line per binding. */
export function registerPort(parent: Command, parentPath: string, cli: Cli, outcome: Outcome): void {
  defineCommand(parent, parentPath, { name: 'port', usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]', description: 'List port mappings or a specific mapping for the container', minArgs: 1, maxArgs: 2 }, cli, outcome, async (c, a) => {
    const ctr: ContainerInspectResponse = await c.client.containerInspect(a[0]!);
    const ports = ctr.NetworkSettings?.Ports ?? {};
    const fmt = (hostIp: string, hostPort: string): string => `${hostIp.includes(':') ? `[${hostIp}]` : hostIp}:${hostPort}`;
    if (a[1]) {
      const [port, proto = 'tcp'] = a[1].split('/');
      const key = `${port}/${proto}`;
      const bindings = ports[key];
      if (!bindings || !bindings.length) throw new StatusError(1, `Error: No public port '${key}' published for ${a[0]}`);
      c.out(bindings.map((b) => `${fmt(b.HostIp ?? '', b.HostPort ?? '')}\n`).join(''));
      return 0;
    }
    const lines: string[] = [];
    for (const key of Object.keys(ports).sort((x, y) => parseInt(x) - parseInt(y))) {
      for (const b of ports[key] ?? []) lines.push(`${key} -> ${fmt(b.HostIp ?? '', b.HostPort ?? '')}\n`);
    }
    c.out(lines.join(''));
    return 0;
  });
}
