// docker run/create flags → the POST /containers/create body, as docker/cli's opts.go parse() builds it.
import { readFileSync } from 'node:fs';

import { InvalidParameterError } from '../errors.js';
import type { ContainerCreateRequest, HostConfig, Mount, PortBinding } from '../client/types.js';
import { nanoCpus, ramInBytes } from './units.js';
import { parseGoDuration } from '../util/human.js';

export interface OptionSpec {
  flags: string;
  description: string;
  kind: 'bool' | 'string' | 'list' | 'int';
  /** commander attribute name */
  key: string;
}

function spec(flags: string, description: string, kind: OptionSpec['kind']): OptionSpec {
  const long = /--([a-z0-9-]+)/.exec(flags)![1]!;
  const key = long.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
  return { flags, description, kind, key };
}

/** Flags shared by `create` and `run` (docker/cli addFlags). */
export const CONTAINER_OPTIONS: OptionSpec[] = [
  spec('-a, --attach <stream>', 'Attach to STDIN, STDOUT or STDERR', 'list'),
  spec('--add-host <host:ip>', 'Add a custom host-to-IP mapping (host:ip)', 'list'),
  spec('--cap-add <cap>', 'Add Linux capabilities', 'list'),
  spec('--cap-drop <cap>', 'Drop Linux capabilities', 'list'),
  spec('--cgroupns <mode>', 'Cgroup namespace to use (host|private)', 'string'),
  spec('--cgroup-parent <string>', 'Optional parent cgroup for the container', 'string'),
  spec('--cidfile <file>', 'Write the container ID to the file', 'string'),
  spec('-c, --cpu-shares <int>', 'CPU shares (relative weight)', 'int'),
  spec('--cpus <decimal>', 'Number of CPUs', 'string'),
  spec('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)', 'string'),
  spec('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period', 'int'),
  spec('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota', 'int'),
  spec('--device <list>', 'Add a host device to the container', 'list'),
  spec('--dns <list>', 'Set custom DNS servers', 'list'),
  spec('--dns-option <list>', 'Set DNS options', 'list'),
  spec('--dns-search <list>', 'Set custom DNS search domains', 'list'),
  spec('--domainname <string>', 'Container NIS domain name', 'string'),
  spec('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image', 'string'),
  spec('-e, --env <list>', 'Set environment variables', 'list'),
  spec('--env-file <list>', 'Read in a file of environment variables', 'list'),
  spec('--expose <list>', 'Expose a port or a range of ports', 'list'),
  spec('--group-add <list>', 'Add additional groups to join', 'list'),
  spec('--health-cmd <string>', 'Command to run to check health', 'string'),
  spec('--health-interval <duration>', 'Time between running the check (ms|s|m|h) (default 0s)', 'string'),
  spec('--health-retries <int>', 'Consecutive failures needed to report unhealthy', 'int'),
  spec('--health-timeout <duration>', 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)', 'string'),
  spec('--health-start-period <duration>', 'Start period for the container to initialize before starting health-retries countdown', 'string'),
  spec('--no-healthcheck', 'Disable any container-specified HEALTHCHECK', 'bool'),
  spec('-h, --hostname <string>', 'Container host name', 'string'),
  spec('--init', 'Run an init inside the container that forwards signals and reaps processes', 'bool'),
  spec('-i, --interactive', 'Keep STDIN open even if not attached', 'bool'),
  spec('--ipc <string>', 'IPC mode to use', 'string'),
  spec('-l, --label <list>', 'Set meta data on a container', 'list'),
  spec('--label-file <list>', 'Read in a line delimited file of labels', 'list'),
  spec('--log-driver <string>', 'Logging driver for the container', 'string'),
  spec('--log-opt <list>', 'Log driver options', 'list'),
  spec('-m, --memory <bytes>', 'Memory limit', 'string'),
  spec('--memory-reservation <bytes>', 'Memory soft limit', 'string'),
  spec('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", 'string'),
  spec('--mount <mount>', 'Attach a filesystem mount to the container', 'list'),
  spec('--name <string>', 'Assign a name to the container', 'string'),
  spec('--network <network>', 'Connect a container to a network', 'string'),
  spec('--network-alias <list>', 'Add network-scoped alias for the container', 'list'),
  spec('--oom-kill-disable', 'Disable OOM Killer', 'bool'),
  spec('--oom-score-adj <int>', "Tune host's OOM preferences (-1000 to 1000)", 'int'),
  spec('--pid <string>', 'PID namespace to use', 'string'),
  spec('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)', 'int'),
  spec('--platform <string>', 'Set platform if server is multi-platform capable', 'string'),
  spec('--privileged', 'Give extended privileges to this container', 'bool'),
  spec('-p, --publish <list>', "Publish a container's port(s) to the host", 'list'),
  spec('-P, --publish-all', 'Publish all exposed ports to random ports', 'bool'),
  spec('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'string'),
  spec('-q, --quiet', 'Suppress the pull output', 'bool'),
  spec('--read-only', "Mount the container's root filesystem as read only", 'bool'),
  spec('--restart <string>', 'Restart policy to apply when a container exits', 'string'),
  spec('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits', 'bool'),
  spec('--runtime <string>', 'Runtime to use for this container', 'string'),
  spec('--security-opt <list>', 'Security Options', 'list'),
  spec('--shm-size <bytes>', 'Size of /dev/shm', 'string'),
  spec('--stop-signal <string>', 'Signal to stop the container', 'string'),
  spec('--stop-timeout <int>', 'Timeout (in seconds) to stop a container', 'int'),
  spec('--sysctl <map>', 'Sysctl options', 'list'),
  spec('--tmpfs <list>', 'Mount a tmpfs directory', 'list'),
  spec('-t, --tty', 'Allocate a pseudo-TTY', 'bool'),
  spec('--ulimit <ulimit>', 'Ulimit options', 'list'),
  spec('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])', 'string'),
  spec('--userns <string>', 'User namespace to use', 'string'),
  spec('--uts <string>', 'UTS namespace to use', 'string'),
  spec('-v, --volume <list>', 'Bind mount a volume', 'list'),
  spec('--volumes-from <list>', 'Mount volumes from the specified container(s)', 'list'),
  spec('-w, --workdir <string>', 'Working directory inside the container', 'string'),
];

/** Flags only `run` has. */
export const RUN_ONLY_OPTIONS: OptionSpec[] = [
  spec('-d, --detach', 'Run container in background and print container ID', 'bool'),
  spec('--detach-keys <string>', 'Override the key sequence for detaching a container', 'string'),
  spec('--sig-proxy', 'Proxy received signals to the process (default true)', 'bool'),
];

export type ParsedOptions = Record<string, string | string[] | boolean | number | undefined>;

function str(o: ParsedOptions, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' ? v : undefined;
}
function list(o: ParsedOptions, k: string): string[] {
  const v = o[k];
  return Array.isArray(v) ? v : [];
}
function bool(o: ParsedOptions, k: string): boolean {
  return o[k] === true;
}
function int(o: ParsedOptions, k: string): number | undefined {
  const v = o[k];
  return typeof v === 'number' ? v : undefined;
}

/** KEY=VALUE lines; "KEY" alone takes the value from our environment, as docker does. */
export function parseEnvFile(path: string, env: NodeJS.ProcessEnv): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidParameterError(`open ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  const out: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq >= 0 ? line.slice(0, eq) : line.trimEnd();
    if (key === '' || /\s/.test(key)) throw new InvalidParameterError(`variable '${key}' contains whitespaces`);
    if (eq >= 0) out.push(line);
    else if (env[key] !== undefined) out.push(`${key}=${env[key]}`);
    else if (i >= 0) out.push(key);
  });
  return out;
}

function parseLabelFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidParameterError(`open ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function envValue(e: string, env: NodeJS.ProcessEnv): string {
  if (e.includes('=')) return e;
  return env[e] !== undefined ? `${e}=${env[e]}` : e;
}

export function parseLabels(items: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of items) {
    const eq = l.indexOf('=');
    if (eq === 0) throw new InvalidParameterError(`invalid label '${l}': empty name`);
    if (eq < 0) out[l] = '';
    else out[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return out;
}

function splitPortRange(s: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (!m) throw new InvalidParameterError(`invalid ${what}: ${s}`);
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  if (a > 65535 || b > 65535 || b < a) throw new InvalidParameterError(`invalid ${what}: ${s}`);
  return [a, b];
}

/** -p [ip:][hostPort:]containerPort[/proto], with ranges: docker's nat.ParsePortSpec. */
export function parsePublish(specs: string[]): { exposed: Record<string, Record<string, never>>; bindings: Record<string, PortBinding[]> } {
  const exposed: Record<string, Record<string, never>> = {};
  const bindings: Record<string, PortBinding[]> = {};
  for (const raw of specs) {
    let rest = raw;
    let proto = 'tcp';
    const slash = rest.lastIndexOf('/');
    if (slash >= 0) {
      proto = rest.slice(slash + 1).toLowerCase();
      rest = rest.slice(0, slash);
      if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidParameterError(`invalid proto: ${proto}`);
    }
    let ip = '';
    let hostPart = '';
    let containerPart: string;
    const v6 = /^\[([^\]]+)\]:(.*)$/.exec(rest);
    if (v6) {
      ip = v6[1]!;
      const r = v6[2]!.split(':');
      if (r.length !== 2) throw new InvalidParameterError(`invalid port format: ${raw}`);
      hostPart = r[0]!;
      containerPart = r[1]!;
    } else {
      const parts = rest.split(':');
      if (parts.length === 1) containerPart = parts[0]!;
      else if (parts.length === 2) [hostPart, containerPart] = parts as [string, string];
      else if (parts.length === 3) [ip, hostPart, containerPart] = parts as [string, string, string];
      else throw new InvalidParameterError(`invalid port format: ${raw}`);
    }
    if (containerPart === '') throw new InvalidParameterError(`no port specified: ${raw}<empty>`);
    const [cs, ce] = splitPortRange(containerPart, 'containerPort');
    let hs = 0;
    let he = 0;
    if (hostPart !== '') {
      [hs, he] = splitPortRange(hostPart, 'hostPort');
      if (he - hs !== ce - cs && he !== hs) {
        throw new InvalidParameterError(`invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
      }
    }
    for (let i = 0; i <= ce - cs; i++) {
      const key = `${cs + i}/${proto}`;
      exposed[key] = {};
      let hostPort = '';
      if (hostPart !== '') hostPort = he !== hs ? String(hs + i) : he - hs === ce - cs ? String(hs + i) : String(hs) + (he !== hs ? `-${he}` : '');
      (bindings[key] ??= []).push({ HostIp: ip, HostPort: hostPort });
    }
  }
  return { exposed, bindings };
}

/** --mount type=bind,source=/a,target=/b,readonly — docker's opts.MountOpt. */
export function parseMount(value: string): Mount {
  const m: Mount = { Type: 'volume' };
  let hasType = false;
  for (const field of value.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq >= 0 ? field.slice(0, eq) : field).toLowerCase().trim();
    const val = eq >= 0 ? field.slice(eq + 1) : undefined;
    const boolVal = (): boolean => {
      if (val === undefined) return true;
      if (['1', 'true', 'True', 'TRUE', 't'].includes(val)) return true;
      if (['0', 'false', 'False', 'FALSE', 'f'].includes(val)) return false;
      throw new InvalidParameterError(`invalid value for ${key}: ${val}`);
    };
    if (val === undefined && !['readonly', 'ro', 'volume-nocopy', 'bind-nonrecursive'].includes(key)) {
      throw new InvalidParameterError(`invalid field '${field}' must be a key=value pair`);
    }
    switch (key) {
      case 'type':
        m.Type = val as Mount['Type'];
        hasType = true;
        break;
      case 'source':
      case 'src':
        m.Source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.Target = val;
        break;
      case 'readonly':
      case 'ro':
        m.ReadOnly = boolVal();
        break;
      case 'consistency':
        m.Consistency = val;
        break;
      case 'bind-propagation':
        m.BindOptions = { ...m.BindOptions, Propagation: val as NonNullable<Mount['BindOptions']>['Propagation'] };
        break;
      case 'bind-nonrecursive':
        m.BindOptions = { ...m.BindOptions, NonRecursive: boolVal() };
        break;
      case 'volume-nocopy':
        m.VolumeOptions = { ...m.VolumeOptions, NoCopy: boolVal() };
        break;
      case 'volume-driver':
        m.VolumeOptions = { ...m.VolumeOptions, DriverConfig: { ...m.VolumeOptions?.DriverConfig, Name: val } };
        break;
      case 'volume-subpath':
        m.VolumeOptions = { ...m.VolumeOptions, Subpath: val };
        break;
      case 'volume-label': {
        const [k, v = ''] = val!.split(/=(.*)/s);
        m.VolumeOptions = { ...m.VolumeOptions, Labels: { ...m.VolumeOptions?.Labels, [k!]: v } };
        break;
      }
      case 'volume-opt': {
        const [k, v = ''] = val!.split(/=(.*)/s);
        const dc = m.VolumeOptions?.DriverConfig ?? {};
        m.VolumeOptions = { ...m.VolumeOptions, DriverConfig: { ...dc, Options: { ...dc.Options, [k!]: v } } };
        break;
      }
      case 'tmpfs-size':
        m.TmpfsOptions = { ...m.TmpfsOptions, SizeBytes: ramInBytes(val!) };
        break;
      case 'tmpfs-mode':
        m.TmpfsOptions = { ...m.TmpfsOptions, Mode: parseInt(val!, 8) };
        break;
      default:
        throw new InvalidParameterError(`unexpected key '${key}' in '${field}'`);
    }
  }
  void hasType;
  if (!m.Target) throw new InvalidParameterError('target is required');
  if (m.Type === 'bind' && !m.Source) throw new InvalidParameterError('source is required when specifying bind mount');
  return m;
}

export interface ContainerConfigResult {
  body: ContainerCreateRequest;
  name?: string;
  platform?: string;
  autoRemove: boolean;
  detach: boolean;
  tty: boolean;
  interactive: boolean;
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
  pull: string;
  quiet: boolean;
  cidfile?: string;
  detachKeys?: string;
  sigProxy: boolean;
}

/** Builds the create body from run/create flags, image and command (docker/cli container/opts.go parse). */
export function buildCreateRequest(
  o: ParsedOptions,
  image: string,
  command: string[],
  env: NodeJS.ProcessEnv,
  consoleSize: [number, number] = [0, 0],
): ContainerConfigResult {
  const detach = bool(o, 'detach');
  const tty = bool(o, 'tty');
  const interactive = bool(o, 'interactive');
  const attachList = list(o, 'attach').map((s) => s.toLowerCase());
  for (const a of attachList) {
    if (!['stdin', 'stdout', 'stderr'].includes(a)) throw new InvalidParameterError(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  }
  let attach = { stdin: false, stdout: false, stderr: false };
  if (attachList.length > 0) {
    attach = { stdin: attachList.includes('stdin'), stdout: attachList.includes('stdout'), stderr: attachList.includes('stderr') };
  } else if (!detach) {
    attach = { stdin: interactive, stdout: true, stderr: true };
  }
  if (detach && attachList.length > 0) throw new InvalidParameterError('conflicting options: cannot specify both --attach and --detach');

  const envList = [...list(o, 'envFile').flatMap((f) => parseEnvFile(f, env)), ...list(o, 'env').map((e) => envValue(e, env))];
  const labels = parseLabels([...list(o, 'labelFile').flatMap(parseLabelFile), ...list(o, 'label')]);
  const { exposed, bindings } = parsePublish(list(o, 'publish'));
  for (const e of list(o, 'expose')) {
    const [p, proto = 'tcp'] = e.split('/');
    const [a, b] = splitPortRange(p!, 'range for ports');
    for (let i = a; i <= b; i++) exposed[`${i}/${proto}`] = {};
  }

  const binds: string[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const v of list(o, 'volume')) {
    if (v === '') throw new InvalidParameterError('invalid empty volume spec');
    // a lone container path is an anonymous volume; anything with a source is a bind/named volume
    const parts = v.split(':');
    if (parts.length === 1) volumes[v] = {};
    else binds.push(v);
  }
  const mounts = list(o, 'mount').map(parseMount);

  const tmpfs: Record<string, string> = {};
  for (const t of list(o, 'tmpfs')) {
    const i = t.indexOf(':');
    if (i < 0) tmpfs[t] = '';
    else tmpfs[t.slice(0, i)] = t.slice(i + 1);
  }

  const logConfig: Record<string, string> = {};
  for (const l of list(o, 'logOpt')) {
    const i = l.indexOf('=');
    if (i <= 0) throw new InvalidParameterError(`invalid key/value pair format in logging opts: ${l}`);
    logConfig[l.slice(0, i)] = l.slice(i + 1);
  }

  const r = str(o, 'restart');
  const restart = r ? parseRestartPolicy(r) : { Name: 'no' as const, MaximumRetryCount: 0 };
  const autoRemove = bool(o, 'rm');
  if (autoRemove && r && r !== 'no') throw new InvalidParameterError('conflicting options: cannot specify both --restart and --rm');

  let entrypoint: string[] | null = null;
  const ep = str(o, 'entrypoint');
  if (ep !== undefined) entrypoint = [ep];

  const memory = str(o, 'memory') ? ramInBytes(str(o, 'memory')!) : 0;
  let memorySwap = 0;
  const ms = str(o, 'memorySwap');
  if (ms) memorySwap = ms === '-1' ? -1 : ramInBytes(ms);
  const ulimits = list(o, 'ulimit').map((u) => {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(u);
    if (!m) throw new InvalidParameterError(`invalid ulimit argument: ${u}`);
    return { Name: m[1], Soft: Number(m[2]), Hard: Number(m[3] ?? m[2]) };
  });
  const sysctls: Record<string, string> = {};
  for (const s of list(o, 'sysctl')) {
    const i = s.indexOf('=');
    if (i <= 0) throw new InvalidParameterError(`invalid value "${s}" for flag --sysctl: sysctl '${s}' is not allowed`);
    sysctls[s.slice(0, i)] = s.slice(i + 1);
  }

  let healthcheck: ContainerCreateRequest['Healthcheck'] | undefined;
  const durNs = (k: string): number => {
    const v = str(o, k);
    return v ? Math.round(parseGoDuration(v) * 1e6) : 0;
  };
  if (bool(o, 'noHealthcheck')) healthcheck = { Test: ['NONE'] };
  else if (str(o, 'healthCmd') !== undefined || str(o, 'healthInterval') || str(o, 'healthTimeout') || int(o, 'healthRetries') !== undefined || str(o, 'healthStartPeriod')) {
    const cmd = str(o, 'healthCmd');
    healthcheck = {
      Test: cmd !== undefined ? ['CMD-SHELL', cmd] : undefined,
      Interval: durNs('healthInterval'),
      Timeout: durNs('healthTimeout'),
      StartPeriod: durNs('healthStartPeriod'),
      Retries: int(o, 'healthRetries') ?? 0,
    };
  }

  const network = str(o, 'network') ?? 'default';
  const aliases = list(o, 'networkAlias');
  const endpoints: NonNullable<ContainerCreateRequest['NetworkingConfig']>['EndpointsConfig'] = {};
  if (aliases.length > 0 && network !== 'default') endpoints[network] = { Aliases: aliases };

  const stdinOnce = attach.stdin && interactive && !detach;
  const body: ContainerCreateRequest = {
    Hostname: str(o, 'hostname') ?? '',
    Domainname: str(o, 'domainname') ?? '',
    User: str(o, 'user') ?? '',
    AttachStdin: attach.stdin,
    AttachStdout: attach.stdout,
    AttachStderr: attach.stderr,
    ExposedPorts: Object.keys(exposed).length ? exposed : undefined,
    Tty: tty,
    OpenStdin: interactive,
    StdinOnce: stdinOnce,
    Env: envList.length ? envList : null,
    Cmd: command.length ? command : null,
    Healthcheck: healthcheck,
    Image: image,
    Volumes: volumes,
    WorkingDir: str(o, 'workdir') ?? '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: labels,
    StopSignal: str(o, 'stopSignal'),
    StopTimeout: int(o, 'stopTimeout'),
    HostConfig: {
      Binds: binds.length ? binds : null,
      ContainerIDFile: str(o, 'cidfile') ?? '',
      LogConfig: { Type: (str(o, 'logDriver') ?? '') as NonNullable<HostConfig['LogConfig']>['Type'], Config: logConfig },
      NetworkMode: network,
      PortBindings: bindings,
      RestartPolicy: restart,
      AutoRemove: autoRemove,
      VolumeDriver: '',
      VolumesFrom: list(o, 'volumesFrom').length ? list(o, 'volumesFrom') : null,
      ConsoleSize: consoleSize,
      CapAdd: list(o, 'capAdd').length ? list(o, 'capAdd') : null,
      CapDrop: list(o, 'capDrop').length ? list(o, 'capDrop') : null,
      CgroupnsMode: (str(o, 'cgroupns') ?? '') as HostConfig['CgroupnsMode'],
      Dns: list(o, 'dns'),
      DnsOptions: list(o, 'dnsOption'),
      DnsSearch: list(o, 'dnsSearch'),
      ExtraHosts: list(o, 'addHost').length ? list(o, 'addHost') : null,
      GroupAdd: list(o, 'groupAdd').length ? list(o, 'groupAdd') : null,
      IpcMode: str(o, 'ipc') ?? '',
      OomScoreAdj: int(o, 'oomScoreAdj') ?? 0,
      PidMode: str(o, 'pid') ?? '',
      Privileged: bool(o, 'privileged'),
      PublishAllPorts: bool(o, 'publishAll'),
      ReadonlyRootfs: bool(o, 'readOnly'),
      SecurityOpt: list(o, 'securityOpt').length ? list(o, 'securityOpt') : null,
      Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
      UTSMode: str(o, 'uts') ?? '',
      UsernsMode: str(o, 'userns') ?? '',
      ShmSize: str(o, 'shmSize') ? ramInBytes(str(o, 'shmSize')!) : 0,
      Sysctls: Object.keys(sysctls).length ? sysctls : undefined,
      Runtime: str(o, 'runtime'),
      CpuShares: int(o, 'cpuShares') ?? 0,
      Memory: memory,
      NanoCpus: str(o, 'cpus') ? nanoCpus(str(o, 'cpus')!) : 0,
      CgroupParent: str(o, 'cgroupParent') ?? '',
      CpuPeriod: int(o, 'cpuPeriod') ?? 0,
      CpuQuota: int(o, 'cpuQuota') ?? 0,
      CpusetCpus: str(o, 'cpusetCpus') ?? '',
      Devices: list(o, 'device').map((d) => {
        const [host, cont = host, perms = 'rwm'] = d.split(':');
        return { PathOnHost: host, PathInContainer: cont, CgroupPermissions: perms };
      }),
      MemoryReservation: str(o, 'memoryReservation') ? ramInBytes(str(o, 'memoryReservation')!) : 0,
      MemorySwap: memorySwap,
      MemorySwappiness: -1,
      OomKillDisable: bool(o, 'oomKillDisable'),
      PidsLimit: int(o, 'pidsLimit') ?? 0,
      Ulimits: ulimits,
      Mounts: mounts.length ? mounts : undefined,
      Init: bool(o, 'init') ? true : null,
    },
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
  return {
    body,
    name: str(o, 'name'),
    platform: str(o, 'platform'),
    autoRemove,
    detach,
    tty,
    interactive,
    attach,
    pull: str(o, 'pull') ?? 'missing',
    quiet: bool(o, 'quiet'),
    cidfile: str(o, 'cidfile'),
    detachKeys: str(o, 'detachKeys'),
    sigProxy: o.sigProxy !== false,
  };
}

/** --restart no|always|unless-stopped|on-failure[:max], with docker's wording for bad values. */
export function parseRestartPolicy(r: string): NonNullable<HostConfig['RestartPolicy']> {
  const [name, max] = r.split(':');
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(name!)) throw new InvalidParameterError(`invalid restart policy '${name}'`);
  if (max !== undefined && name !== 'on-failure') throw new InvalidParameterError(`invalid restart policy format: maximum retry count can only be used with 'on-failure'`);
  return { Name: name as NonNullable<HostConfig['RestartPolicy']>['Name'], MaximumRetryCount: max ? Number(max) : 0 };
}
