// version and info, printed with docker's own templates and wording.
import type { Command } from 'commander';

import { CLIENT_API_VERSION } from '../client/client.js';
import type { SystemInfo, SystemVersion } from '../client/types.js';
import type { Cli } from './context.js';
import { describeError, StatusError } from './context.js';
import { defineCommand } from './command.js';
import type { Outcome } from './command.js';
import { tabwrite } from './tabwriter.js';
import { Template } from './template/index.js';
import { bytesSize } from './units.js';

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

export function registerSystemCommands(parent: Command, parentPath: string, cli: Cli, outcome: Outcome): void {
  defineCommand(parent, parentPath, { name: 'version', usage: '[OPTIONS]', description: 'Show the berth version information', maxArgs: 0 }, cli, outcome, (c, _a, o) =>
    version(c, typeof o.format === 'string' ? o.format : undefined),
  ).option('-f, --format <string>', 'Format output using a custom template');
  defineCommand(parent, parentPath, { name: 'info', usage: '[OPTIONS]', description: 'Display system-wide information', maxArgs: 0 }, cli, outcome, (c, _a, o) =>
    info(c, typeof o.format === 'string' ? o.format : undefined),
  ).option('-f, --format <string>', 'Format output using a custom template');
}
