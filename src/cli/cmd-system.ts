// version and info, printed with docker's own templates and wording.
import type { Command } from 'commander';

import { CLIENT_API_VERSION, encodeFilters } from '../client/client.js';
import { isDaemonError } from '../client/errors.js';
import type { BuildCache, ContainerSummary, Filters, ImageSummary, SystemDataUsageResponse, SystemInfo, SystemVersion, Volume } from '../client/types.js';
import { familiarRepository, parseReference } from '../image/reference.js';
import type { Cli } from './context.js';
import { confirm, describeError, StatusError } from './context.js';
import { collect, defineCommand } from './command.js';
import type { Outcome } from './command.js';
import { parseFilters } from './cmd-container.js';
import { VOLUME_HEADERS, volumeContext } from './cmd-network.js';
import { contextJSON, finalFormat, formatItems, isTable, labelsColumn } from './formatter.js';
import { IMAGE_HEADERS, imageContext, isDangling } from './images-format.js';
import { ContainerContext, PS_HEADERS } from './ps-format.js';
import type { ParsedOptions } from './run-opts.js';
import { tabwrite } from './tabwriter.js';
import { Template } from './template/index.js';
import { bytesSize, humanDuration, humanSize, truncateId } from './units.js';

export const CLIENT_VERSION = '0.1.0';

const VERSION_TEMPLATE = `{{with .Client -}}
Client:{{if ne .Platform nil}}{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.ApiVersion}}{{if ne .ApiVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Go version:\t{{.GoVersion}}
 Git commit:\t{{.GitCommit}}
 Built:\t{{.BuildTime}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if ne .Server nil}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- $detailsOrder := getDetailsOrder $component}}
  {{- range $key := $detailsOrder}}
  {{$key}}:\t{{index $component.Details $key}}
   {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}`;

async function version(cli: Cli, format: string | undefined): Promise<number> {
  let server: SystemVersion | null = null;
  let serverErr: unknown;
  let apiVersion = CLIENT_API_VERSION;
  try {
    apiVersion = await cli.client.apiVersion();
    server = await cli.client.systemVersion();
  } catch (e) {
    serverErr = e;
  }
  const data = {
    Client: {
      Platform: { Name: 'berth' },
      Version: CLIENT_VERSION,
      ApiVersion: apiVersion,
      DefaultAPIVersion: CLIENT_API_VERSION,
      GitCommit: 'unknown',
      GoVersion: `node${process.versions.node}`,
      Os: process.platform,
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      BuildTime: 'unknown',
      Context: 'default',
    },
    Server: server,
  };
  const getDetailsOrder = (c: unknown): string[] => Object.keys((c as { Details?: Record<string, string> }).Details ?? {}).sort();
  try {
    if (format) {
      const t = new Template(format, { getDetailsOrder });
      cli.out(t.execute(data) + '\n');
    } else {
      const t = new Template(VERSION_TEMPLATE, { getDetailsOrder });
      cli.out(tabwrite(t.execute(data) + '\n', { minWidth: 20, padding: 1 }));
    }
  } catch (e) {
    throw new StatusError(1, `template parsing error: ${(e as Error).message}`);
  }
  if (serverErr) throw new StatusError(1, describeError(serverErr));
  return 0;
}

function line(out: string[], label: string, value: unknown, nonEmpty = false): void {
  if (nonEmpty && (value === undefined || value === null || value === '')) return;
  out.push(`${label} ${value === undefined || value === null ? '' : String(value)}`);
}

/** docker info's prettyPrintServerInfo, for the fields berthd reports. */
export function renderInfo(info: SystemInfo): string {
  const o: string[] = [];
  line(o, ' Containers:', info.Containers ?? 0);
  line(o, '  Running:', info.ContainersRunning ?? 0);
  line(o, '  Paused:', info.ContainersPaused ?? 0);
  line(o, '  Stopped:', info.ContainersStopped ?? 0);
  line(o, ' Images:', info.Images ?? 0);
  line(o, ' Server Version:', info.ServerVersion, true);
  line(o, ' Storage Driver:', info.Driver, true);
  for (const pair of info.DriverStatus ?? []) if (pair) o.push(`  ${pair[0]}: ${pair[1]}`);
  line(o, ' Logging Driver:', info.LoggingDriver, true);
  line(o, ' Cgroup Driver:', info.CgroupDriver, true);
  line(o, ' Cgroup Version:', info.CgroupVersion, true);
  o.push(' Plugins:');
  line(o, '  Volume:', (info.Plugins?.Volume ?? []).join(' '));
  line(o, '  Network:', (info.Plugins?.Network ?? []).join(' '));
  if (info.Plugins?.Authorization?.length) line(o, '  Authorization:', info.Plugins.Authorization.join(' '));
  line(o, '  Log:', (info.Plugins?.Log ?? []).join(' '));
  line(o, ' Swarm:', info.Swarm?.LocalNodeState ?? 'inactive');
  const runtimes = Object.keys(info.Runtimes ?? {});
  if (runtimes.length) {
    line(o, ' Runtimes:', runtimes.join(' '));
    line(o, ' Default Runtime:', info.DefaultRuntime);
  }
  if (info.OSType === 'linux') {
    line(o, ' Init Binary:', info.InitBinary);
    line(o, ' containerd version:', info.ContainerdCommit?.ID);
    line(o, ' runc version:', info.RuncCommit?.ID);
    line(o, ' init version:', info.InitCommit?.ID);
    if (info.SecurityOptions?.length) {
      o.push(' Security Options:');
      for (const so of info.SecurityOptions) {
        const kv = Object.fromEntries(so.split(',').map((p) => p.split('=') as [string, string]));
        o.push(`  ${kv.name ?? so}`);
        if (kv.profile) o.push(`   Profile: ${kv.profile}`);
      }
    }
  }
  line(o, ' Kernel Version:', info.KernelVersion, true);
  line(o, ' Operating System:', info.OperatingSystem, true);
  line(o, ' OSType:', info.OSType, true);
  line(o, ' Architecture:', info.Architecture, true);
  line(o, ' CPUs:', info.NCPU ?? 0);
  line(o, ' Total Memory:', bytesSize(info.MemTotal ?? 0));
  line(o, ' Name:', info.Name, true);
  line(o, ' ID:', info.ID, true);
  line(o, ' Docker Root Dir:', info.DockerRootDir ?? '');
  line(o, ' Debug Mode:', info.Debug ?? false);
  line(o, ' HTTP Proxy:', info.HttpProxy, true);
  line(o, ' HTTPS Proxy:', info.HttpsProxy, true);
  line(o, ' No Proxy:', info.NoProxy, true);
  if (info.Labels?.length) {
    o.push(' Labels:');
    for (const l of info.Labels) o.push(`  ${l}`);
  }
  line(o, ' Experimental:', info.ExperimentalBuild ?? false);
  line(o, ' Live Restore Enabled:', info.LiveRestoreEnabled ?? false);
  return o.join('\n') + '\n\n';
}

async function info(cli: Cli, format: string | undefined): Promise<number> {
  if (format) {
    const i = await cli.client.info();
    try {
      cli.out(new Template(format === 'json' ? '{{json .}}' : format).execute(i) + '\n');
    } catch (e) {
      throw new StatusError(1, `template parsing error: ${(e as Error).message}`);
    }
    return 0;
  }
  let out = `Client: berth\n Version:    ${CLIENT_VERSION}\n Context:    default\n Debug Mode: false\n\nServer:\n`;
  let i: SystemInfo;
  try {
    i = await cli.client.info();
  } catch (e) {
    cli.out(out);
    throw new StatusError(1, describeError(e));
  }
  out += renderInfo(i);
  cli.out(out);
  for (const w of i.Warnings ?? []) cli.err(`${w}\n`);
  return 0;
}

// ---- system df: docker's formatter.DiskUsageContext ----
// The context classes carry docker's Go type names: template errors name them
// ("can't evaluate field X in type *formatter.diskUsageImagesContext").

const DEFAULT_DF_FORMAT = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';
const RAW_DF_FORMAT = 'type: {{.Type}}\ntotal: {{.TotalCount}}\nactive: {{.Active}}\nsize: {{.Size}}\nreclaimable: {{.Reclaimable}}\n';
const DF_HEADERS: Record<string, string> = { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };
const DF_FIELDS = ['Active', 'Reclaimable', 'Size', 'TotalCount', 'Type'] as const;

const DF_IMAGE_TABLE = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}';
const DF_CONTAINER_TABLE = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}';
const DF_VOLUME_TABLE = 'table {{.Name}}\t{{.Links}}\t{{.Size}}';
const DF_BUILD_CACHE_TABLE = 'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}';

/** "x (NN%)" as docker writes reclaimable space, the percentage cut toward zero like Go's int64 division. */
function withPercent(reclaimable: number, total: number): string {
  return total > 0 ? `${humanSize(reclaimable)} (${Math.trunc((reclaimable * 100) / total)}%)` : humanSize(reclaimable);
}

class diskUsageImagesContext {
  constructor(
    private readonly totalSize: number,
    private readonly images: ImageSummary[],
  ) {}
  get Type(): string {
    return 'Images';
  }
  get TotalCount(): string {
    return String(this.images.length);
  }
  get Active(): string {
    return String(this.images.filter((i) => (i.Containers ?? 0) > 0).length);
  }
  get Size(): string {
    return humanSize(this.totalSize);
  }
  get Reclaimable(): string {
    let used = 0;
    for (const i of this.images) {
      if ((i.Containers ?? 0) !== 0 && i.Size !== -1 && i.SharedSize !== -1) used += i.Size - i.SharedSize;
    }
    return withPercent(this.totalSize - used, this.totalSize);
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, DF_FIELDS);
  }
}

/** docker counts running, paused and restarting containers as active. */
function containerActive(c: ContainerSummary): boolean {
  return c.State === 'running' || c.State === 'paused' || c.State === 'restarting';
}

class diskUsageContainersContext {
  constructor(private readonly containers: ContainerSummary[]) {}
  get Type(): string {
    return 'Containers';
  }
  get TotalCount(): string {
    return String(this.containers.length);
  }
  get Active(): string {
    return String(this.containers.filter(containerActive).length);
  }
  get Size(): string {
    return humanSize(this.containers.reduce((n, c) => n + (c.SizeRw ?? 0), 0));
  }
  get Reclaimable(): string {
    let reclaimable = 0;
    let total = 0;
    for (const c of this.containers) {
      if (!containerActive(c)) reclaimable += c.SizeRw ?? 0;
      total += c.SizeRw ?? 0;
    }
    return withPercent(reclaimable, total);
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, DF_FIELDS);
  }
}

class diskUsageVolumesContext {
  constructor(private readonly volumes: Volume[]) {}
  get Type(): string {
    return 'Local Volumes';
  }
  get TotalCount(): string {
    return String(this.volumes.length);
  }
  get Active(): string {
    return String(this.volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length);
  }
  get Size(): string {
    let size = 0;
    for (const v of this.volumes) {
      const s = v.UsageData?.Size ?? 0;
      if (s !== -1) size += s;
    }
    return humanSize(size);
  }
  get Reclaimable(): string {
    let reclaimable = 0;
    let total = 0;
    for (const v of this.volumes) {
      const s = v.UsageData?.Size ?? 0;
      if (s === -1) continue;
      if ((v.UsageData?.RefCount ?? 0) === 0) reclaimable += s;
      total += s;
    }
    return withPercent(reclaimable, total);
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, DF_FIELDS);
  }
}

class diskUsageBuilderContext {
  constructor(
    private readonly builderSize: number,
    private readonly cache: BuildCache[],
  ) {}
  get Type(): string {
    return 'Build Cache';
  }
  get TotalCount(): string {
    return String(this.cache.length);
  }
  get Active(): string {
    return String(this.cache.filter((b) => b.InUse === true).length);
  }
  get Size(): string {
    return humanSize(this.builderSize);
  }
  get Reclaimable(): string {
    const inUse = this.cache.filter((b) => b.InUse === true && b.Shared !== true).reduce((n, b) => n + (b.Size ?? 0), 0);
    return humanSize(this.builderSize - inUse);
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, DF_FIELDS);
  }
}

/** Go's time.Time.String() of an RFC 3339 time read from JSON: "2026-11-28 11:02:15.299 +0000 UTC". */
function goTimeOfRFC3339(s: string | null | undefined): string {
  if (!s) return '0001-01-01 00:00:00 +0000 UTC';
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return s;
  const frac = (m[3] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[4]!.toUpperCase() === 'Z' ? '+0000 UTC' : `${m[4]!.replace(':', '')} ${m[4]!.replace(':', '')}`;
  return `${m[1]} ${m[2]}${frac ? `.${frac}` : ''} ${zone}`;
}

/** An RFC 3339 time as [milliseconds, nanoseconds within the millisecond], for exact ordering. */
function timeKey(s: string): [number, number] {
  const ms = Date.parse(s);
  const frac = /\.(\d+)/.exec(s)?.[1] ?? '';
  return [Number.isNaN(ms) ? 0 : ms, Number(frac.slice(3, 9).padEnd(6, '0'))];
}

/** docker's buildCacheSort: never-used first, then by last use, ties by ID. */
function sortBuildCache(cache: BuildCache[]): BuildCache[] {
  const byId = (a: BuildCache, b: BuildCache): number => ((a.ID ?? '') < (b.ID ?? '') ? -1 : (a.ID ?? '') > (b.ID ?? '') ? 1 : 0);
  return [...cache].sort((a, b) => {
    const la = a.LastUsedAt;
    const lb = b.LastUsedAt;
    if (!la && !lb) return byId(a, b);
    if (!la) return -1;
    if (!lb) return 1;
    const [ma, na] = timeKey(la);
    const [mb, nb] = timeKey(lb);
    if (ma !== mb) return ma - mb;
    if (na !== nb) return na - nb;
    return byId(a, b);
  });
}

const BUILD_CACHE_FIELDS = ['CacheType', 'CreatedAt', 'CreatedSince', 'Description', 'ID', 'InUse', 'LastUsedAt', 'LastUsedSince', 'Parent', 'Shared', 'Size', 'UsageCount'] as const;
const BUILD_CACHE_HEADERS: Record<string, string> = {
  ID: 'CACHE ID',
  Parent: 'PARENT',
  CacheType: 'CACHE TYPE',
  Size: 'SIZE',
  CreatedSince: 'CREATED',
  LastUsedSince: 'LAST USED',
  UsageCount: 'USAGE',
  InUse: 'IN USE',
  Shared: 'SHARED',
  Description: 'DESCRIPTION',
};

/** docker's formatter.buildCacheContext. */
class buildCacheContext {
  constructor(
    private readonly b: BuildCache,
    private readonly trunc: boolean,
  ) {}
  get ID(): string {
    const id = this.trunc ? truncateId(this.b.ID ?? '') : (this.b.ID ?? '');
    return this.b.InUse ? `${id}*` : id;
  }
  get Parent(): string {
    const parent = (this.b.Parents ?? []).join(', ');
    return this.trunc ? truncateId(parent) : parent;
  }
  get CacheType(): string {
    return this.b.Type ?? '';
  }
  get Description(): string {
    return this.b.Description ?? '';
  }
  get Size(): string {
    return humanSize(this.b.Size ?? 0, 3);
  }
  get CreatedAt(): string {
    return goTimeOfRFC3339(this.b.CreatedAt);
  }
  get CreatedSince(): string {
    return `${humanDuration(Date.now() - (Date.parse(this.b.CreatedAt ?? '') || 0))} ago`;
  }
  get LastUsedAt(): string {
    return this.b.LastUsedAt ? goTimeOfRFC3339(this.b.LastUsedAt) : '';
  }
  get LastUsedSince(): string {
    return this.b.LastUsedAt ? `${humanDuration(Date.now() - Date.parse(this.b.LastUsedAt))} ago` : '';
  }
  get UsageCount(): string {
    return String(this.b.UsageCount ?? 0);
  }
  get InUse(): string {
    return String(this.b.InUse === true);
  }
  get Shared(): string {
    return String(this.b.Shared === true);
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, BUILD_CACHE_FIELDS);
  }
}

/** The lists of system df -v: one row per image (its first tag only), container, volume and cache record. */
function verboseRows(du: SystemDataUsageResponse, trunc: boolean): { Images: imageContext[]; Containers: ContainerContext[]; Volumes: volumeContext[]; BuildCache: buildCacheContext[] } {
  const images: imageContext[] = [];
  for (const i of du.Images ?? []) {
    let repo = '<none>';
    let tag = '<none>';
    const first = i.RepoTags?.[0];
    if (first !== undefined && !isDangling(i)) {
      let ref;
      try {
        ref = parseReference(first);
      } catch {
        continue; // docker leaves out images whose first tag does not parse
      }
      if (ref.tag !== undefined) {
        repo = familiarRepository(ref);
        tag = ref.tag;
      }
    }
    images.push(new imageContext(i, trunc, repo, tag, ''));
  }
  return {
    Images: images,
    // the virtual size is not shown
    Containers: (du.Containers ?? []).map((c) => new ContainerContext({ ...c, SizeRootFs: 0 }, trunc)),
    Volumes: (du.Volumes ?? []).map((v) => new volumeContext(v)),
    BuildCache: sortBuildCache(du.BuildCache ?? []).map((b) => new buildCacheContext(b, trunc)),
  };
}

const VERBOSE_RAW_DF_FORMAT = `{{range .Images}}type: Image
repository: {{ .Repository }}
tag: {{.Tag}}
digest: {{.Digest}}
image_id: {{.ID}}
created_at: {{.CreatedAt}}
virtual_size: {{.Size}}

{{end -}}
{{range .Containers}}type: Container
container_id: {{.ID}}
image: {{.Image}}
command: {{.Command}}
created_at: {{.CreatedAt}}
state: {{- pad .State 1 0}}
status: {{- pad .Status 1 0}}
names: {{.Names}}
labels: {{- pad .Labels 1 0}}
ports: {{- pad .Ports 1 0}}
size: {{.Size}}\\n
{{end -}}
{{range .Volumes}}type: Volume
name: {{.Name}}\\ndriver: {{.Driver}}\\n
{{end -}}
{{range .BuildCache}}type: Build Cache
build_cache_id: {{.ID}}
parent_id: {{.Parent}}
build_cache_type: {{.CacheType}}
description: {{.Description}}
created_at: {{.CreatedAt}}
created_since: {{.CreatedSince}}
last_used_at: {{.LastUsedAt}}
last_used_since: {{.LastUsedSince}}
usage_count: {{.UsageCount}}
in_use: {{.InUse}}
shared: {{.Shared}}

{{end -}}`;

function templateError(e: unknown): StatusError {
  const msg = (e as Error).message;
  return new StatusError(1, msg.startsWith('template') ? `template parsing error: ${msg}` : `template parsing error: template: ${msg}`);
}

async function diskUsage(cli: Cli, opts: ParsedOptions): Promise<number> {
  const du = await cli.client.json<SystemDataUsageResponse>('GET', '/system/df');
  const verbose = opts.verbose === true;
  const source = typeof opts.format === 'string' && opts.format !== '' ? opts.format : 'table';
  const cache = du.BuildCache ?? [];
  const builderSize = cache.filter((b) => b.Shared !== true).reduce((n, b) => n + (b.Size ?? 0), 0);

  if (!verbose) {
    const format = source === 'table' ? DEFAULT_DF_FORMAT : source === 'raw' ? RAW_DF_FORMAT : source;
    const items = [
      new diskUsageImagesContext(du.LayersSize ?? 0, du.Images ?? []),
      new diskUsageContainersContext(du.Containers ?? []),
      new diskUsageVolumesContext(du.Volumes ?? []),
      new diskUsageBuilderContext(builderSize, cache),
    ];
    cli.out(formatItems(format, items, DF_HEADERS));
    return 0;
  }

  const format = source === 'raw' ? VERBOSE_RAW_DF_FORMAT : source;
  const rows = verboseRows(du, isTable(format));
  if (format !== 'table') {
    // any other format runs once over the four lists, with nothing added after it
    let tmpl: Template;
    try {
      tmpl = new Template(finalFormat(format));
    } catch (e) {
      throw templateError(e);
    }
    try {
      cli.out(tmpl.execute(rows));
    } catch (e) {
      throw new StatusError(1, (e as Error).message);
    }
    return 0;
  }
  let out = 'Images space usage:\n\n';
  out += formatItems(DF_IMAGE_TABLE, rows.Images, IMAGE_HEADERS);
  out += '\nContainers space usage:\n\n';
  out += formatItems(DF_CONTAINER_TABLE, rows.Containers, PS_HEADERS);
  out += '\nLocal Volumes space usage:\n\n';
  out += formatItems(DF_VOLUME_TABLE, rows.Volumes, VOLUME_HEADERS);
  out += `\nBuild cache usage: ${humanSize(builderSize)}\n\n`;
  out += formatItems(DF_BUILD_CACHE_TABLE, rows.BuildCache, BUILD_CACHE_HEADERS);
  cli.out(out);
  return 0;
}

// ---- system prune ----

/** sortorder.NaturalLess: digit runs compare as numbers. */
function naturalCompare(a: string, b: string): number {
  const ca = a.match(/\d+|\D+/g) ?? [];
  const cb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = ca[i]!;
    const y = cb[i]!;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = x.replace(/^0+/, '');
      const ny = y.replace(/^0+/, '');
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

/** docker's confirmationMessage for system prune. */
function pruneConfirmation(all: boolean, volumes: boolean, filters: Filters): string {
  const warnings = ['all stopped containers', 'all networks not used by at least one container'];
  if (volumes) warnings.push('all anonymous volumes not used by at least one container');
  warnings.push(all ? 'all images without at least one container associated to them' : 'all dangling images');
  warnings.push(all ? 'all build cache' : 'unused build cache');
  const shown: string[] = [];
  for (const name of ['label', 'label!', 'until']) for (const v of filters[name] ?? []) shown.push(`${name}=${v}`);
  shown.sort(naturalCompare);
  let msg = 'WARNING! This will remove:' + warnings.map((w) => `\n  - ${w}`).join('') + '\n';
  if (shown.length) msg += '\n  Items to be pruned will be filtered with:' + shown.map((f) => `\n  - ${f}`).join('') + '\n';
  return msg + '\nAre you sure you want to continue?';
}

async function systemPrune(cli: Cli, opts: ParsedOptions): Promise<number> {
  const all = opts.all === true;
  const volumes = opts.volumes === true;
  // system prune's flag has no -f shorthand (that is --force), and pflag names it as declared.
  const filters: Filters = parseFilters(opts.filter as string[] | undefined, '--filter');
  if (volumes && filters.until) throw new StatusError(1, 'ERROR: The "until" filter is not supported with "--volumes"');
  if (opts.force !== true && !(await confirm(cli, pruneConfirmation(all, volumes, filters)))) return 0;

  const q = (f: Filters): { filters: string | undefined } => ({ filters: encodeFilters(f) });
  let reclaimed = 0;
  const section = (title: string, lines: string[]): void => {
    if (lines.length) cli.out(`${title}\n${lines.map((l) => `${l}\n`).join('')}\n`);
  };

  const ctrs = await cli.client.json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/containers/prune', { query: q(filters) });
  if (ctrs?.ContainersDeleted?.length) {
    section('Deleted Containers:', ctrs.ContainersDeleted);
    reclaimed += ctrs.SpaceReclaimed ?? 0;
  }

  const nets = await cli.client.json<{ NetworksDeleted?: string[] | null }>('POST', '/networks/prune', { query: q(filters) });
  section('Deleted Networks:', nets?.NetworksDeleted ?? []);

  if (volumes) {
    // like docker, --all does not reach volumes: only anonymous ones go
    const vols = await cli.client.json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/volumes/prune', { query: q(filters) });
    if (vols?.VolumesDeleted?.length) {
      section('Deleted Volumes:', vols.VolumesDeleted);
      reclaimed += vols.SpaceReclaimed ?? 0;
    }
  }

  const imageFilters: Filters = { ...filters, dangling: [...(filters.dangling ?? []), String(!all)] };
  const imgs = await cli.client.json<{ ImagesDeleted?: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed?: number }>('POST', '/images/prune', { query: q(imageFilters) });
  if (imgs?.ImagesDeleted?.length) {
    section(
      'Deleted Images:',
      imgs.ImagesDeleted.map((d) => (d.Untagged ? `untagged: ${d.Untagged}` : `deleted: ${d.Deleted ?? ''}`)),
    );
    reclaimed += imgs.SpaceReclaimed ?? 0;
  }

  try {
    const bc = await cli.client.json<{ CachesDeleted?: string[] | null; SpaceReclaimed?: number }>('POST', '/build/prune', { query: { all: all || undefined, ...q(filters) } });
    section('Deleted build cache objects:', bc?.CachesDeleted ?? []);
    reclaimed += bc?.SpaceReclaimed ?? 0;
  } catch (e) {
    // a daemon without a builder has no build cache to prune
    if (!(isDaemonError(e) && e.statusCode === 404)) throw e;
  }

  cli.out(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
  return 0;
}

export function registerSystemCommands(parent: Command, parentPath: string, cli: Cli, outcome: Outcome): void {
  defineCommand(parent, parentPath, { name: 'version', usage: '[OPTIONS]', description: 'Show the berth version information', maxArgs: 0 }, cli, outcome, (c, _a, o) =>
    version(c, typeof o.format === 'string' ? o.format : undefined),
  ).option('-f, --format <string>', 'Format output using a custom template');
  defineCommand(parent, parentPath, { name: 'info', usage: '[OPTIONS]', description: 'Display system-wide information', maxArgs: 0 }, cli, outcome, (c, _a, o) =>
    info(c, typeof o.format === 'string' ? o.format : undefined),
  ).option('-f, --format <string>', 'Format output using a custom template');
  if (parentPath === 'system') {
    defineCommand(parent, parentPath, { name: 'df', usage: '[OPTIONS]', description: 'Show berth disk usage', maxArgs: 0 }, cli, outcome, (c, _a, o) => diskUsage(c, o))
      .option('--format <string>', 'Format output using a custom template')
      .option('-v, --verbose', 'Show detailed information on space usage');
    defineCommand(parent, parentPath, { name: 'prune', usage: '[OPTIONS]', description: 'Remove unused data', maxArgs: 0 }, cli, outcome, (c, _a, o) => systemPrune(c, o))
      .option('-a, --all', 'Remove all unused images not just dangling ones')
      .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', collect)
      .option('-f, --force', 'Do not prompt for confirmation')
      .option('--volumes', 'Prune anonymous volumes');
  }
}
