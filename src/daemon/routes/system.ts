// System routes: _ping (version negotiation), version, info, events.
import { release, totalmem, cpus, hostname } from 'node:os';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router, Context, filtersParam, API_VERSION, MIN_API_VERSION } from '../http/router.js';
import type { Daemon } from '../daemon.js';
import { VERSION, BERTH_VERSION } from '../daemon.js';
import type { EngineEvent } from '../events.js';
import { InvalidParameterError } from '../../errors.js';

const runtimeVersions = new Map<string, string>();
/** `crun --version` says "crun version 1.8.1"; asked once per binary. */
function runtimeVersion(path: string): string {
  let v = runtimeVersions.get(path);
  if (v === undefined) {
    try {
      const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 });
      v = /version\s+(\S+)/.exec(out)?.[1] ?? out.split('\n')[0];
    } catch { v = 'unknown'; }
    runtimeVersions.set(path, v);
  }
  return v;
}

function pingHeaders(): Record<string, string> {
  return {
    'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache',
    'Builder-Version': '1', Swarm: 'inactive', 'Content-Type': 'text/plain; charset=utf-8',
  };
}

/** Docker's `since`/`until`: unix seconds (with optional fraction) or RFC3339. Returns ns. */
export function parseTimeParam(v: string | null): bigint | undefined {
  if (v === null || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) {
    const [s, f = ''] = v.split('.');
    return BigInt(s) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
  }
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new InvalidParameterError(`invalid timestamp: ${v}`);
  return BigInt(ms) * 1_000_000n;
}

function eventMatches(e: EngineEvent, f: Map<string, string[]>): boolean {
  const any = (key: string, pred: (v: string) => boolean) => { const vs = f.get(key); return !vs || vs.length === 0 || vs.some(pred); };
  return any('type', (v) => v === e.Type)
    && any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`))
    && any('container', (v) => e.Type === 'container' && (e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v))
    && any('image', (v) => (e.Type === 'image' && (e.Actor.ID === v || e.Actor.Attributes.name === v)) || e.Actor.Attributes.image === v)
    && any('network', (v) => e.Type === 'network' && (e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v))
    && any('volume', (v) => e.Type === 'volume' && e.Actor.ID === v)
    && any('label', (v) => {
      const [k, val] = v.split('=', 2);
      return val === undefined ? k in e.Actor.Attributes : e.Actor.Attributes[k] === val;
    });
}

/** The host's OS as /etc/os-release names it (dockerd's OperatingSystem and OSVersion). */
function hostOs(): { name: string; version: string } {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const field = (k: string) => new RegExp(`^${k}="?([^"\n]*)"?$`, 'm').exec(text)?.[1] ?? '';
    return { name: field('PRETTY_NAME') || 'Linux', version: field('VERSION_ID') };
  } catch {
    return { name: 'Linux', version: '' };
  }
}

/** A stable engine ID (dockerd's is a UUID kept in its root): made once per data root. */
function engineId(dataRoot: string): string {
  const file = join(dataRoot, 'engine-id');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    // first start on this root
  }
  const id = randomUUID();
  try { writeFileSync(file, `${id}\n`, { mode: 0o600 }); } catch { /* read-only root: a new one each start */ }
  return id;
}

export function registerSystemRoutes(r: Router, d: Daemon): void {
  const os = hostOs();
  const id = engineId(d.config.dataRoot);
  const ping = (ctx: Context) => { ctx.send(200, ctx.req.method === 'HEAD' ? undefined : 'OK', pingHeaders()); };
  r.get('/_ping', ping);
  r.head('/_ping', ping);

  r.get('/version', (ctx) => {
    ctx.send(200, {
      Platform: { Name: 'berth' },
      Components: [
        { Name: 'Engine', Version: VERSION, Details: {
          ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: `berth-${BERTH_VERSION}`, GoVersion: `node${process.versions.node}`,
          Os: 'linux', Arch: 'amd64', KernelVersion: release(), Experimental: 'false', BuildTime: d.startedAt.toISOString(), BerthVersion: BERTH_VERSION,
        } },
        ...Object.values(d.runtimes).map((rt) => ({ Name: rt.name, Version: runtimeVersion(rt.path), Details: { GitCommit: '', Path: rt.path } })),
        // tini says "tini version 0.19.0"
        ...(d.initPath ? [{ Name: 'docker-init', Version: runtimeVersion(d.initPath), Details: { GitCommit: '' } }] : []),
      ],
      Version: VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: `berth-${BERTH_VERSION}`,
      GoVersion: `node${process.versions.node}`, Os: 'linux', Arch: 'amd64', KernelVersion: release(),
      Experimental: false, BuildTime: d.startedAt.toISOString(),
    });
  });

  r.get('/info', (ctx) => {
    const cs = d.containers.list();
    const running = cs.filter((c) => c.state.Running && !c.state.Paused).length;
    const paused = cs.filter((c) => c.state.Paused).length;
    ctx.send(200, {
      ID: id, Containers: cs.length, ContainersRunning: running, ContainersPaused: paused,
      ContainersStopped: cs.length - running - paused, Images: d.images.list().length, Driver: 'overlay2',
      DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file', 'k8s-file', 'local'] },
      MemoryLimit: true, SwapLimit: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
      IPv4Forwarding: true, Debug: false, NFd: 0, OomKillDisable: false, NGoroutines: 0, SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file', CgroupDriver: 'cgroupfs', CgroupVersion: d.cgroupMode === 'v2' ? '2' : '1',
      NEventsListener: 0, KernelVersion: release(), OperatingSystem: os.name, OSVersion: os.version, OSType: 'linux',
      Architecture: 'x86_64', IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: { InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'], IndexConfigs: {}, Mirrors: [] },
      NCPU: cpus().length, MemTotal: totalmem(), DockerRootDir: d.config.dataRoot, Name: hostname(), Labels: [],
      ExperimentalBuild: false, ServerVersion: VERSION,
      Runtimes: Object.fromEntries(Object.values(d.runtimes).map((rt) => [rt.name, { path: rt.path }])),
      DefaultRuntime: d.config.defaultRuntime, Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true, Isolation: '', InitBinary: 'docker-init', SecurityOptions: ['name=seccomp,profile=builtin'],
      Warnings: [],
    });
  });

  r.get('/system/df', async (ctx) => {
    const types = ctx.query.getAll('type');
    const want = (t: string) => types.length === 0 || types.includes(t);
    const { imageService } = await import('../../image/service.js');
    const images = want('image') ? await imageService(d).diskUsage() : undefined;
    const containers = want('container') ? await Promise.all(d.containers.list().map(async (c) => ({
      Id: c.id, Names: [`/${c.name}`], Image: c.imageName, ImageID: c.imageId, Command: [c.path, ...c.args].join(' '),
      Created: Math.floor(Date.parse(c.created) / 1000), State: c.state.Status, Status: c.state.Status,
      ...await d.containers.sizes(c.id),
      Labels: c.config.Labels ?? {}, Mounts: [],
    }))) : undefined;
    ctx.send(200, {
      LayersSize: images?.LayersSize ?? 0,
      Images: images?.Images ?? null,
      Containers: containers ?? null,
      Volumes: want('volume') && d.usage.volumes ? await d.usage.volumes() : want('volume') ? [] : null,
      BuildCache: want('build-cache') && d.usage.buildCache ? await d.usage.buildCache() : want('build-cache') ? [] : null,
    });
  });

  r.get('/events', async (ctx) => {
    const filters = filtersParam(ctx.query);
    const since = parseTimeParam(ctx.query.get('since'));
    const until = parseTimeParam(ctx.query.get('until'));
    if (since !== undefined && until !== undefined && until > 0n && since > until) {
      throw new InvalidParameterError(`\`since\` time (${ctx.query.get('since')}) cannot be after \`until\` time (${ctx.query.get('until')})`);
    }
    const res = ctx.res;
    if (!res) return;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': API_VERSION, 'Ostype': 'linux' });
    res.flushHeaders();
    const write = (e: EngineEvent) => {
      if (until !== undefined && BigInt(e.timeNano) > until) return;
      if (eventMatches(e, filters)) res.write(`${JSON.stringify(e)}\n`);
    };
    if (since !== undefined) for (const e of d.events.since(Number(since))) write(e);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    if (until !== undefined && until <= nowNs) { res.end(); return; }
    await new Promise<void>((resolve) => {
      const unsubscribe = d.events.subscribe(write);
      let timer: NodeJS.Timeout | undefined;
      const done = () => { unsubscribe(); if (timer) clearTimeout(timer); resolve(); };
      if (until !== undefined) timer = setTimeout(() => { res.end(); done(); }, Number((until - nowNs) / 1_000_000n));
      res.on('close', done);
    });
  });
}
