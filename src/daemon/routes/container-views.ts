// Container records rendered as the Engine API's ContainerInspectResponse and ContainerSummary.
import type { ContainerRecord } from '../../container/types.js';
import type { Daemon } from '../daemon.js';
import { rootfsDirs } from '../../container/rootfs.js';
import { humanDuration } from '../../util/human.js';


export function statusText(c: ContainerRecord, now = Date.now()): string {
  const s = c.state;
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Running) {
    const up = `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
    if (s.Paused) return `${up} (Paused)`;
    const h = s.Health?.Status;
    return h ? `${up} (${h === 'starting' ? 'health: starting' : h})` : up;
  }
  if (s.FinishedAt.startsWith('0001-')) return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

/** moby's list.go quotes arguments that contain spaces, which `docker ps` then shows. */
function commandLine(path: string, args: string[]): string {
  if (args.length === 0) return path;
  return `${path} ${args.map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ')}`;
}

export interface NetworkView {
  NetworkSettings: Record<string, unknown>;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  SummaryNetworks: Record<string, unknown>;
}

/** The network part may replace this to describe endpoints; without it, containers only have `none`. */
export type NetworkViewProvider = (c: ContainerRecord) => NetworkView;

export function defaultNetworkView(c: ContainerRecord): NetworkView {
  const mode = c.hostConfig.NetworkMode ?? 'default';
  const endpoint = {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '',
    EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
  const name = mode === 'default' ? 'none' : mode;
  return {
    NetworkSettings: {
      Bridge: '', SandboxID: '', SandboxKey: '', Ports: {}, HairpinMode: false, LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0, SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, EndpointID: '', Gateway: '',
      GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', MacAddress: '',
      Networks: { [name]: endpoint },
    },
    Ports: [],
    SummaryNetworks: { [name]: endpoint },
  };
}

export interface MountView { Type: string; Name?: string; Source: string; Destination: string; Driver?: string; Mode: string; RW: boolean; Propagation: string }
export type MountViewProvider = (c: ContainerRecord) => MountView[];

export function inspectContainer(d: Daemon, c: ContainerRecord, net: NetworkViewProvider, mounts: MountViewProvider): Record<string, unknown> {
  const dir = d.containers.containerDir(c.id);
  const rd = rootfsDirs(dir);
  const lowers = c.topChainId ? d.layers.lowerDirs(c.topChainId).join(':') : '';
  const nv = net(c);
  const out: Record<string, unknown> = {
    Id: c.id,
    Created: c.created,
    Path: c.path,
    Args: c.args,
    State: c.state,
    Image: c.imageId,
    ResolvConfPath: c.resolvConfPath,
    HostnamePath: c.hostnamePath,
    HostsPath: c.hostsPath,
    LogPath: c.logPath,
    Name: `/${c.name}`,
    RestartCount: c.restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: d.execs.idsFor(c.id),
    HostConfig: fullHostConfig(c),
    GraphDriver: { Name: 'overlay2', Data: { LowerDir: lowers, UpperDir: rd.upper, WorkDir: rd.work, MergedDir: rd.merged } },
    Mounts: mounts(c),
    Config: { ...c.config, Hostname: c.config.Hostname, Env: c.config.Env ?? [], Cmd: c.config.Cmd ?? null, Entrypoint: c.config.Entrypoint ?? null },
    NetworkSettings: nv.NetworkSettings,
  };
  return out;
}

function fullHostConfig(c: ContainerRecord): Record<string, unknown> {
  const hc = c.hostConfig;
  return {
    Binds: hc.Binds ?? null, ContainerIDFile: '', LogConfig: hc.LogConfig ?? { Type: 'json-file', Config: {} },
    NetworkMode: hc.NetworkMode ?? 'default', PortBindings: hc.PortBindings ?? {},
    RestartPolicy: hc.RestartPolicy ?? { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: hc.AutoRemove ?? false,
    VolumeDriver: '', VolumesFrom: hc.VolumesFrom ?? null, ConsoleSize: hc.ConsoleSize ?? [0, 0], CapAdd: hc.CapAdd ?? null,
    CapDrop: hc.CapDrop ?? null, CgroupnsMode: hc.CgroupnsMode ?? 'host', Dns: hc.Dns ?? [], DnsOptions: hc.DnsOptions ?? [],
    DnsSearch: hc.DnsSearch ?? [], ExtraHosts: hc.ExtraHosts ?? null, GroupAdd: hc.GroupAdd ?? null, IpcMode: hc.IpcMode || 'private',
    Cgroup: '', Links: null, OomScoreAdj: hc.OomScoreAdj ?? 0, PidMode: hc.PidMode ?? '', Privileged: hc.Privileged ?? false,
    PublishAllPorts: hc.PublishAllPorts ?? false, ReadonlyRootfs: hc.ReadonlyRootfs ?? false, SecurityOpt: hc.SecurityOpt ?? null,
    UTSMode: hc.UTSMode ?? '', UsernsMode: hc.UsernsMode ?? '', ShmSize: hc.ShmSize || 67108864, Runtime: hc.Runtime,
    Isolation: '', CpuShares: hc.CpuShares ?? 0, Memory: hc.Memory ?? 0, NanoCpus: hc.NanoCpus ?? 0, CgroupParent: hc.CgroupParent ?? '',
    BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: [], BlkioDeviceWriteBps: [], BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [], CpuPeriod: hc.CpuPeriod ?? 0, CpuQuota: hc.CpuQuota ?? 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0,
    CpusetCpus: hc.CpusetCpus ?? '', CpusetMems: hc.CpusetMems ?? '', Devices: hc.Devices ?? [], DeviceCgroupRules: null,
    DeviceRequests: null, MemoryReservation: hc.MemoryReservation ?? 0, MemorySwap: hc.MemorySwap ?? 0,
    MemorySwappiness: hc.MemorySwappiness ?? null, OomKillDisable: hc.OomKillDisable ?? null, PidsLimit: hc.PidsLimit ?? null,
    Ulimits: hc.Ulimits ?? [], CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0,
    Mounts: hc.Mounts ?? undefined, Tmpfs: hc.Tmpfs ?? undefined, Init: hc.Init ?? null,
    MaskedPaths: hc.Privileged ? null : hc.MaskedPaths ?? ['/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'],
    ReadonlyPaths: hc.Privileged ? null : hc.ReadonlyPaths ?? ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  };
}

export function summarizeContainer(d: Daemon, c: ContainerRecord, net: NetworkViewProvider, mounts: MountViewProvider): Record<string, unknown> {
  const nv = net(c);
  const tags = d.images.tryGet(c.imageId) ? d.images.repoTags(c.imageId) : [];
  let image = c.imageName;
  if (!d.images.tryGet(c.imageId)) image = c.imageId;
  else if (!tags.length && !/^sha256:/.test(image)) image = c.imageId;
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: image,
    ImageID: c.imageId,
    Command: commandLine(c.path, c.args),
    Created: Math.floor(Date.parse(c.created) / 1000),
    Ports: nv.Ports,
    Labels: c.config.Labels ?? {},
    State: c.state.Status,
    Status: statusText(c),
    HostConfig: { NetworkMode: c.hostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: nv.SummaryNetworks },
    Mounts: mounts(c),
  };
}
