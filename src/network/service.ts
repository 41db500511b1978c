// The network service: the network store (bridge/host/none plus user bridges), endpoint state,
// and the container hooks that give each container its netns through netavark.
import { readFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { hostname as hostHostname } from 'node:os';
import type { Db } from '../store/db.js';
import { ensureSchema } from '../store/db.js';
import { ConflictError, ForbiddenError, InvalidParameterError, NotFoundError, errorMessage } from '../errors.js';
import { newId } from '../util/ids.js';
import type { ContainerRecord } from '../container/types.js';
import type { ContainerHooks, ContainerService, PrepareResult } from '../container/service.js';
import type { EventBus } from '../daemon/events.js';
import {
  Cidr, allocateIp, contains, formatCidr, formatIp, firstHost, overlaps, parseCidr, parseIp, parseProcRoutes, pickSubnet,
} from './ipam.js';
import { NetavarkDriver, createNetns, deleteNetns, listNetns, netnsPath } from './netavark.js';
import { portRequests, reservePorts, rebindPorts, Reservation, portsView, portsSummary } from './ports.js';
import { hostsFile, parseExtraHost, resolvConf } from './files.js';
import type { Attachment, EndpointConfig, NetworkRecord, NvNetwork, NvOptions, PortMapping } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS net_attachments (
  container_id TEXT NOT NULL, network_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (container_id, network_id)
);
CREATE TABLE IF NOT EXISTS net_sandboxes (container_id TEXT PRIMARY KEY, data TEXT NOT NULL);
`;

/** What berth needs to undo a container's network setup, written before netavark runs. */
interface Sandbox {
  containerId: string;
  netns: string;
  options: NvOptions;
  /** Networks whose setup included the port mappings. */
  portNets: string[];
}

/**
 * The name netavark knows a network by. netavark derives its iptables chain names from it, and
 * several berthds (and podman) share the host's tables, so it must be unique on the host: the
 * Docker name ("bridge") is not.
 */
export function nvName(n: NetworkRecord): string {
  return `berth-${n.id.slice(0, 12)}`;
}

export interface NetworkServiceOptions {
  db: Db;
  containers: ContainerService;
  events: EventBus;
  dataRoot: string;
  execRoot: string;
  log: (line: string) => void;
  netavark?: string;
  aardvark?: string;
  /** Default bridge interface; derived from the data root when not given (see defaultBridge). */
  bridgeName?: string;
  bridgeSubnet?: string;
  /** Where subnets of user networks without --subnet come from, and their size. */
  addressPool?: string;
  poolSize?: number;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PREDEFINED = new Set(['bridge', 'host', 'none']);

function nowIso(): string { return new Date().toISOString(); }

/**
 * berthd on /var/lib/berth uses berth0; any other data root (tests, a second daemon) gets its
 * own bridge name and a /24 derived from the data root, so daemons never share a bridge.
 */
export function defaultBridge(dataRoot: string): { name: string; subnet: string; pool: string } {
  if (dataRoot === '/var/lib/berth') return { name: 'berth0', subnet: '', pool: '10.89.0.0/16' };
  const h = createHash('sha256').update(dataRoot).digest();
  return { name: `bb${h.toString('hex').slice(0, 10)}`, subnet: `10.${200 + (h[0] % 50)}.${h[1]}.0/24`, pool: `base=10.${150 + (h[2] % 50)}.${h[3] & 0xf0}.0/20,size=26` };
}

export class NetworkService {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly attachments = new Map<string, Attachment[]>(); // by container id
  private readonly reservations = new Map<string, Reservation[]>();
  private readonly driver: NetavarkDriver;
  private readonly prefix: string;
  private readonly db: Db;
  private readonly pool: Cidr;
  private readonly poolSize: number;

  constructor(private readonly o: NetworkServiceOptions) {
    this.db = o.db;
    ensureSchema(o.db, 'networks', 1, SCHEMA);
    const configDir = join(o.execRoot, 'netavark');
    mkdirSync(configDir, { recursive: true });
    this.driver = new NetavarkDriver({
      netavark: o.netavark ?? '/usr/lib/podman/netavark', aardvark: o.aardvark ?? '/usr/lib/podman/aardvark-dns', configDir, log: o.log,
    });
    this.prefix = `berth-${createHash('sha256').update(o.dataRoot).digest('hex').slice(0, 8)}-`;
    const dflt = defaultBridge(o.dataRoot);
    const poolSpec = parsePoolSpec(o.addressPool ?? dflt.pool);
    this.pool = poolSpec.pool;
    this.poolSize = o.poolSize ?? poolSpec.size ?? 24;
    for (const r of o.db.prepare('SELECT data FROM networks').all() as { data: string }[]) {
      const n = JSON.parse(r.data) as NetworkRecord;
      this.networks.set(n.id, n);
    }
    for (const r of o.db.prepare('SELECT data FROM net_attachments').all() as { data: string }[]) {
      const a = JSON.parse(r.data) as Attachment;
      this.attachments.set(a.containerId, [...(this.attachments.get(a.containerId) ?? []), a]);
    }
    this.ensurePredefined(o.bridgeName ?? dflt.name, o.bridgeSubnet ?? dflt.subnet);
  }

  // ---- store --------------------------------------------------------------------------------

  private saveNetwork(n: NetworkRecord): void {
    this.db.prepare('INSERT INTO networks(id, name, data) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, data = excluded.data')
      .run(n.id, n.name, JSON.stringify(n));
    this.networks.set(n.id, n);
  }

  private saveAttachment(a: Attachment): void {
    this.db.prepare('INSERT INTO net_attachments(container_id, network_id, data) VALUES (?, ?, ?) ON CONFLICT(container_id, network_id) DO UPDATE SET data = excluded.data')
      .run(a.containerId, a.networkId, JSON.stringify(a));
    const list = (this.attachments.get(a.containerId) ?? []).filter((x) => x.networkId !== a.networkId);
    list.push(a);
    this.attachments.set(a.containerId, list);
  }

  private deleteAttachment(containerId: string, networkId: string): void {
    this.db.prepare('DELETE FROM net_attachments WHERE container_id = ? AND network_id = ?').run(containerId, networkId);
    const list = (this.attachments.get(containerId) ?? []).filter((x) => x.networkId !== networkId);
    if (list.length) this.attachments.set(containerId, list); else this.attachments.delete(containerId);
  }

  private getSandbox(containerId: string): Sandbox | undefined {
    const r = this.db.prepare('SELECT data FROM net_sandboxes WHERE container_id = ?').get(containerId) as { data: string } | undefined;
    return r ? JSON.parse(r.data) as Sandbox : undefined;
  }

  private saveSandbox(s: Sandbox): void {
    this.db.prepare('INSERT INTO net_sandboxes(container_id, data) VALUES (?, ?) ON CONFLICT(container_id) DO UPDATE SET data = excluded.data')
      .run(s.containerId, JSON.stringify(s));
  }

  private deleteSandbox(containerId: string): void {
    this.db.prepare('DELETE FROM net_sandboxes WHERE container_id = ?').run(containerId);
  }

  private ensurePredefined(bridgeName: string, bridgeSubnet: string): void {
    const byName = (n: string) => [...this.networks.values()].find((x) => x.name === n);
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (!byName(name)) {
        this.saveNetwork({ id: newId(), name, driver, created: nowIso(), internal: false, attachable: false, labels: {}, options: {}, ipam: [], bridge: '', dns: false });
      }
    }
    const existing = byName('bridge');
    let subnet: Cidr;
    if (bridgeSubnet) subnet = parseCidr(bridgeSubnet);
    else if (existing && existing.ipam[0]) subnet = parseCidr(existing.ipam[0].Subnet);
    else {
      // A private /16 that no host route and no other network of ours uses.
      const taken = [...this.hostRoutes(), ...this.userSubnets()];
      const candidates = [...Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`), '10.88.0.0/16'];
      const free = candidates.map(parseCidr).find((c) => !taken.some((t) => overlaps(t, c)));
      if (!free) throw new Error('no free private /16 for the default bridge: pass --bridge-subnet');
      subnet = free;
    }
    const ipam = [{ Subnet: formatCidr(subnet), Gateway: formatIp(firstHost(subnet)) }];
    const options = {
      'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true',
      'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
      'com.docker.network.bridge.name': bridgeName, 'com.docker.network.driver.mtu': '1500',
    };
    const rec: NetworkRecord = existing
      ? { ...existing, ipam, bridge: bridgeName, options }
      : { id: newId(), name: 'bridge', driver: 'bridge', created: nowIso(), internal: false, attachable: false, labels: {}, options, ipam, bridge: bridgeName, dns: false };
    if (existing && (existing.bridge !== bridgeName || existing.ipam[0]?.Subnet !== ipam[0].Subnet) && this.activeEndpoints(existing.id).length) {
      this.o.log(`network: default bridge settings changed while containers use it; keeping ${existing.bridge} ${existing.ipam[0]?.Subnet} until they stop`);
      return;
    }
    this.saveNetwork(rec);
  }

  private hostRoutes(): Cidr[] {
    try { return parseProcRoutes(readFileSync('/proc/net/route', 'utf8')); } catch { return []; }
  }

  private userSubnets(except?: string): Cidr[] {
    return [...this.networks.values()].filter((n) => n.id !== except).flatMap((n) => n.ipam.map((p) => parseCidr(p.Subnet)));
  }

  // ---- networks -----------------------------------------------------------------------------

  list(): NetworkRecord[] {
    return [...this.networks.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** By full ID, exact name, or unique ID prefix, as Docker does. */
  get(ref: string): NetworkRecord {
    const n = this.tryGet(ref);
    if (!n) throw new NotFoundError(`network ${ref} not found`);
    return n;
  }

  tryGet(ref: string): NetworkRecord | undefined {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    for (const n of this.networks.values()) if (n.name === ref) return n;
    if (/^[a-f0-9]+$/.test(ref)) {
      const hits = [...this.networks.values()].filter((n) => n.id.startsWith(ref));
      if (hits.length === 1) return hits[0];
      if (hits.length > 1) throw new InvalidParameterError(`network ${ref} is ambiguous (${hits.length} matches found based on ID prefix)`);
    }
    return undefined;
  }

  isPredefined(n: NetworkRecord): boolean {
    return PREDEFINED.has(n.name);
  }

  create(body: NetworkCreateBody): { id: string; warning: string } {
    if (typeof body !== 'object' || body === null) throw new InvalidParameterError('invalid JSON: network config must be an object');
    const name = body.Name;
    if (!name || typeof name !== 'string') throw new InvalidParameterError('network name is required');
    if (!NAME_RE.test(name)) throw new InvalidParameterError(`invalid network name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if ([...this.networks.values()].some((n) => n.name === name)) throw new ConflictError(`network with name ${name} already exists`);
    const driver = body.Driver || 'bridge';
    if (driver !== 'bridge') throw new NotFoundError(`plugin "${driver}" not found`);
    if (body.EnableIPv6) throw new InvalidParameterError('IPv6 networks are not supported by berth');
    if (body.IPAM?.Driver && body.IPAM.Driver !== 'default') throw new NotFoundError(`plugin "${body.IPAM.Driver}" not found`);
    const configs = body.IPAM?.Config ?? [];
    if (configs.length > 1) throw new InvalidParameterError('berth supports one IPv4 pool per network');
    const labels = body.Labels ?? {};
    const options = body.Options ?? {};
    for (const [k, v] of [...Object.entries(labels), ...Object.entries(options)]) {
      if (typeof v !== 'string') throw new InvalidParameterError(`invalid value for ${k}: must be a string`);
    }
    const id = newId();
    let subnet: Cidr;
    let gateway: number;
    let range: Cidr | undefined;
    const cfg = configs[0];
    if (cfg && cfg.Subnet) {
      subnet = parseCidr(cfg.Subnet);
      if (subnet.prefix > 30) throw new InvalidParameterError(`invalid subnet ${cfg.Subnet}: too small for a network`);
      if (this.userSubnets().some((t) => overlaps(t, subnet))) {
        throw new ForbiddenError('invalid pool request: Pool overlaps with other one on this address space');
      }
      gateway = cfg.Gateway ? parseIp(cfg.Gateway) : firstHost(subnet);
      if (!contains(subnet, gateway)) throw new InvalidParameterError(`no matching subnet for gateway ${cfg.Gateway}`);
      if (cfg.IPRange) {
        range = parseCidr(cfg.IPRange);
        if (!contains(subnet, range.base) || range.prefix < subnet.prefix) throw new InvalidParameterError(`no matching subnet for range ${cfg.IPRange}`);
      }
    } else {
      if (cfg?.Gateway || cfg?.IPRange) throw new InvalidParameterError('gateway and ip-range need a --subnet');
      const picked = pickSubnet(this.pool, this.poolSize, [...this.userSubnets(), ...this.hostRoutes()]);
      if (!picked) throw new ForbiddenError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
      subnet = picked;
      gateway = firstHost(subnet);
    }
    const rec: NetworkRecord = {
      id, name, driver: 'bridge', created: nowIso(), internal: body.Internal === true, attachable: body.Attachable === true,
      labels, options, ipam: [{ Subnet: formatCidr(subnet), Gateway: formatIp(gateway), ...(range ? { IPRange: formatCidr(range) } : {}) }],
      bridge: options['com.docker.network.bridge.name'] || `br-${id.slice(0, 12)}`, dns: true,
    };
    checkBridgeName(rec.bridge);
    if ([...this.networks.values()].some((n) => n.bridge === rec.bridge)) throw new ConflictError(`bridge ${rec.bridge} is used by another network`);
    this.saveNetwork(rec);
    this.o.events.emit('network', 'create', id, { name, type: 'bridge' });
    return { id, warning: '' };
  }

  /** Containers with a live endpoint on the network. */
  activeEndpoints(networkId: string): Attachment[] {
    return [...this.attachments.values()].flat().filter((a) => a.networkId === networkId && a.ip !== '');
  }

  remove(ref: string): void {
    const n = this.get(ref);
    if (this.isPredefined(n)) throw new ForbiddenError(`${n.name} is a pre-defined network and cannot be removed`);
    const active = this.activeEndpoints(n.id);
    if (active.length) {
      const names = active.map((a) => `name:"${this.containerName(a.containerId)}" id:"${a.containerId.slice(0, 12)}"`).join(', ');
      throw new ForbiddenError(`error while removing network: network ${n.name} has active endpoints (${names})`);
    }
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM networks WHERE id = ?').run(n.id);
      // Stopped containers keep their attachment (Docker fails their next start); drop rows of
      // the network so they do not outlive it.
      this.db.prepare('DELETE FROM net_attachments WHERE network_id = ?').run(n.id);
    })();
    this.networks.delete(n.id);
    for (const [cid, list] of this.attachments) {
      const rest = list.filter((a) => a.networkId !== n.id);
      if (rest.length) this.attachments.set(cid, rest); else this.attachments.delete(cid);
    }
    this.o.events.emit('network', 'destroy', n.id, { name: n.name, type: n.driver });
  }

  prune(filter: (n: NetworkRecord) => boolean): string[] {
    const out: string[] = [];
    for (const n of this.list()) {
      if (this.isPredefined(n) || !filter(n)) continue;
      if ([...this.attachments.values()].flat().some((a) => a.networkId === n.id)) continue;
      this.remove(n.id);
      out.push(n.name);
    }
    return out;
  }

  private containerName(id: string): string {
    return this.o.containers.tryGet(id)?.name ?? id.slice(0, 12);
  }

  /** Docker's Network JSON. */
  inspect(n: NetworkRecord, withContainers = true): Record<string, unknown> {
    const containers: Record<string, unknown> = {};
    if (withContainers) {
      for (const a of this.activeEndpoints(n.id)) {
        const prefix = n.ipam[0] ? parseCidr(n.ipam[0].Subnet).prefix : 0;
        containers[a.containerId] = { Name: this.containerName(a.containerId), EndpointID: a.endpointId, MacAddress: a.mac, IPv4Address: `${a.ip}/${prefix}`, IPv6Address: '' };
      }
    }
    return {
      Name: n.name, Id: n.id, Created: n.created, Scope: 'local', Driver: n.driver, EnableIPv4: n.driver === 'bridge', EnableIPv6: false,
      IPAM: { Driver: 'default', Options: n.name === 'bridge' || n.driver !== 'bridge' ? null : {}, Config: n.ipam.map((p) => ({ ...p })) },
      Internal: n.internal, Attachable: n.attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: containers, Options: n.options, Labels: n.labels,
    };
  }

  // ---- endpoints ----------------------------------------------------------------------------

  private endpointConfig(raw: unknown): EndpointConfig {
    const e = (raw ?? {}) as { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null; MacAddress?: string };
    const aliases = Array.isArray(e.Aliases) ? e.Aliases.filter((x) => typeof x === 'string' && x !== '') : [];
    const ipv4 = e.IPAMConfig?.IPv4Address || undefined;
    if (ipv4) parseIp(ipv4);
    const mac = e.MacAddress || undefined;
    if (mac && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new InvalidParameterError(`invalid MAC address: ${mac}`);
    return { aliases, ipv4, mac };
  }

  private checkEndpoint(n: NetworkRecord, cfg: EndpointConfig): void {
    if (cfg.aliases.length && !n.dns) throw new InvalidParameterError('network-scoped alias is supported only for containers in user defined networks');
    if (cfg.ipv4) {
      if (n.name === 'bridge') throw new InvalidParameterError('user specified IP address is supported on user defined networks only');
      const pool = n.ipam[0];
      if (!pool || !contains(parseCidr(pool.Subnet), parseIp(cfg.ipv4))) {
        throw new InvalidParameterError(`no configured subnet or ip-range contain the IP address ${cfg.ipv4}`);
      }
    }
  }

  /** Which mode a container's NetworkMode names. */
  private mode(c: ContainerRecord): { kind: 'host' | 'none' | 'container' | 'networks'; target?: string } {
    const m = c.hostConfig.NetworkMode || 'default';
    if (c.config.NetworkDisabled) return { kind: 'none' };
    if (m === 'host') return { kind: 'host' };
    if (m === 'none') return { kind: 'none' };
    if (m.startsWith('container:')) return { kind: 'container', target: m.slice('container:'.length) };
    return { kind: 'networks' };
  }

  /** The create-time hook: resolve networks and store the container's attachments. */
  validate(c: ContainerRecord): Promise<void> {
    const asked = c.hostConfig.NetworkMode || 'default';
    if (asked === 'default') c.hostConfig.NetworkMode = 'bridge';
    const mode = this.mode(c);
    for (const e of c.hostConfig.ExtraHosts ?? []) parseExtraHost(e);
    if (mode.kind === 'container') {
      if (!mode.target) throw new InvalidParameterError('container: network mode needs a container name or ID');
      // The container is looked up at start, as dockerd does: a 404 here would read to the
      // docker CLI as a missing image, and it would try to pull one.
      if (c.hostConfig.PortBindings && Object.keys(c.hostConfig.PortBindings).length) throw new InvalidParameterError('conflicting options: port publishing and the container type network mode');
      return Promise.resolve();
    }
    if (mode.kind !== 'networks') {
      // Host mode ignores published ports, as Docker does (it only warns).
      return Promise.resolve();
    }
    portRequests(c.hostConfig.PortBindings, c.config.ExposedPorts as Record<string, unknown>, false); // syntax check
    // An unknown network is reported at start, as Docker does: a 404 from create makes the
    // docker CLI try to pull the image instead of saying what is missing.
    this.attachFromConfig(c, asked, false);
    return Promise.resolve();
  }

  /** Resolves NetworkMode + EndpointsConfig into stored attachments; strict throws on unknown networks. */
  private attachFromConfig(c: ContainerRecord, asked: string, strict: boolean): void {
    const eps = ((c.networkingConfig as { EndpointsConfig?: Record<string, unknown> | null }).EndpointsConfig) ?? {};
    const lookup = (ref: string) => (strict ? this.get(ref) : this.tryGet(ref));
    const primary = lookup(c.hostConfig.NetworkMode ?? 'bridge');
    if (!primary) return;
    if (primary.driver === 'host' || primary.driver === 'null') {
      c.hostConfig.NetworkMode = primary.name;
      return;
    }
    const wanted: [NetworkRecord, EndpointConfig][] = [];
    // The docker CLI keys the endpoint by what --network said, "default" included.
    const primaryKey = Object.keys(eps).find((k) => k === asked || this.tryGet(k)?.id === primary.id);
    wanted.push([primary, this.endpointConfig(primaryKey ? eps[primaryKey] : undefined)]);
    for (const [k, v] of Object.entries(eps)) {
      if (k === primaryKey) continue;
      const n = lookup(k);
      if (!n) return;
      if (n.id === primary.id) continue;
      if (n.driver !== 'bridge') throw new InvalidParameterError(`container cannot be connected to network ${n.name} and ${primary.name}`);
      wanted.push([n, this.endpointConfig(v)]);
    }
    for (const [n, cfg] of wanted) this.checkEndpoint(n, cfg);
    for (const [n, cfg] of wanted) {
      this.saveAttachment({ containerId: c.id, networkId: n.id, config: cfg, endpointId: '', ip: '', mac: '', iface: '' });
    }
  }

  private hostResolvConf(): string {
    try { return readFileSync('/etc/resolv.conf', 'utf8'); } catch { return ''; }
  }

  private dnsOpts(c: ContainerRecord): { dns: string[]; dnsSearch: string[]; dnsOptions: string[] } {
    return { dns: c.hostConfig.Dns ?? [], dnsSearch: c.hostConfig.DnsSearch ?? [], dnsOptions: c.hostConfig.DnsOptions ?? [] };
  }

  private bridgeGateway(): string | undefined {
    const b = [...this.networks.values()].find((n) => n.name === 'bridge');
    return b?.ipam[0]?.Gateway;
  }

  async prepare(c: ContainerRecord): Promise<PrepareResult> {
    const mode = this.mode(c);
    const hostname = c.config.Hostname || c.id.slice(0, 12);
    const extraHosts = c.hostConfig.ExtraHosts ?? [];
    if (mode.kind === 'host') {
      let hosts = '';
      try { hosts = readFileSync('/etc/hosts', 'utf8'); } catch { hosts = hostsFile({ hostname: hostHostname(), ips: [], extraHosts: [] }); }
      const extra = extraHosts.map((e) => { const { name, ip } = parseExtraHost(e); return `${ip === 'host-gateway' ? '127.0.0.1' : ip}\t${name}`; });
      return {
        hostNetwork: true,
        hosts: hosts.replace(/\n*$/, '\n') + (extra.length ? extra.join('\n') + '\n' : ''),
        resolvConf: resolvConf({ hostResolvConf: this.hostResolvConf(), ...this.dnsOpts(c) }),
      };
    }
    if (mode.kind === 'none') {
      return {
        hosts: hostsFile({ hostname, domainname: c.config.Domainname, ips: [], extraHosts, hostGateway: this.bridgeGateway() }),
        resolvConf: resolvConf({ hostResolvConf: this.hostResolvConf(), ...this.dnsOpts(c) }),
      };
    }
    if (mode.kind === 'container') {
      const t = this.o.containers.get(mode.target ?? '');
      if (!t.state.Running) throw new ConflictError(`cannot join network namespace of a non running container: container ${t.id} is ${t.state.Status}`);
      if (t.id === c.id) throw new InvalidParameterError('cannot join own network namespace');
      const read = (p: string) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } };
      const tm = this.mode(t);
      if (tm.kind === 'host') return { hostNetwork: true, hosts: read(t.hostsPath), resolvConf: read(t.resolvConfPath) };
      const sb = this.getSandbox(t.id);
      return { netnsPath: sb ? netnsPath(sb.netns) : `/proc/${t.state.Pid}/ns/net`, hosts: read(t.hostsPath), resolvConf: read(t.resolvConfPath) };
    }
    return this.setupNetworks(c, hostname, extraHosts);
  }

  private nvNetwork(n: NetworkRecord): NvNetwork {
    const p = n.ipam[0];
    return {
      name: nvName(n), id: n.id, driver: 'bridge', network_interface: n.bridge, internal: n.internal, ipv6_enabled: false,
      dns_enabled: n.dns, subnets: p ? [{ subnet: p.Subnet, gateway: p.Gateway }] : [],
      // Docker isolates bridge networks from each other; netavark does it with this option.
      options: { isolate: 'true' }, ipam_options: { driver: 'host-local' }, network_dns_servers: null,
    };
  }

  /** Picks an address for every attachment, synchronously, so concurrent starts never collide. */
  private allocate(c: ContainerRecord, atts: Attachment[]): void {
    for (const a of atts) {
      const n = this.get(a.networkId);
      const pool = n.ipam[0];
      const subnet = parseCidr(pool.Subnet);
      const used = new Set(this.activeEndpoints(n.id).filter((x) => x.containerId !== c.id).map((x) => parseIp(x.ip)));
      let ip: number | undefined;
      if (a.config.ipv4) {
        ip = parseIp(a.config.ipv4);
        if (used.has(ip) || ip === parseIp(pool.Gateway)) throw new ConflictError(`Address already in use: ${a.config.ipv4} on network ${n.name}`);
      } else {
        ip = allocateIp(subnet, pool.IPRange ? parseCidr(pool.IPRange) : undefined, parseIp(pool.Gateway), used);
        if (ip === undefined) throw new ForbiddenError(`no available IPv4 addresses on this network's address pools: ${n.name}`);
      }
      a.ip = formatIp(ip);
      a.endpointId = randomBytes(32).toString('hex');
      this.saveAttachment(a);
    }
  }

  private clearEndpoint(a: Attachment): void {
    if (!this.networks.has(a.networkId)) return;
    this.saveAttachment({ ...a, ip: '', mac: '', iface: '', endpointId: '' });
  }

  private aliasesFor(c: ContainerRecord, a: Attachment): string[] {
    // aardvark resolves the container name itself; aliases and the short ID (as Docker's DNS
    // does) go in the aliases list.
    return [...new Set([...a.config.aliases, c.id.slice(0, 12)])].filter((x) => x !== c.name);
  }

  private async setupNetworks(c: ContainerRecord, hostname: string, extraHosts: string[]): Promise<PrepareResult> {
    if (!(this.attachments.get(c.id) ?? []).length) this.attachFromConfig(c, c.hostConfig.NetworkMode ?? 'bridge', true);
    const atts = (this.attachments.get(c.id) ?? []).slice();
    if (!atts.length) throw new NotFoundError(`network ${c.hostConfig.NetworkMode} not found`);
    for (const a of atts) {
      if (!this.networks.has(a.networkId)) throw new NotFoundError(`network ${a.networkId} not found`);
    }
    // Leftovers of an earlier run that was not released (crash between start and release).
    if (this.getSandbox(c.id)) await this.release(c);
    const ordered = atts.sort((a, b) => (a.iface || '').localeCompare(b.iface || ''));
    const reqs = portRequests(c.hostConfig.PortBindings, c.config.ExposedPorts as Record<string, unknown>, c.hostConfig.PublishAllPorts === true);
    const netnsName = `${this.prefix}${c.id.slice(0, 12)}`;
    let reserved: Reservation[] = [];
    let mappings: PortMapping[] = [];
    let sandbox: Sandbox | undefined;
    try {
      this.allocate(c, ordered);
      ({ mappings, reservations: reserved } = await reservePorts(reqs));
      const opts: NvOptions = {
        container_id: c.id, container_name: c.name, networks: {}, network_info: {},
        port_mappings: mappings.length ? mappings : null,
        dns_servers: c.hostConfig.Dns && c.hostConfig.Dns.length ? c.hostConfig.Dns : null,
      };
      ordered.forEach((a, i) => {
        const n = this.get(a.networkId);
        a.iface = `eth${i}`;
        opts.networks[nvName(n)] = { interface_name: a.iface, static_ips: [a.ip], aliases: n.dns ? this.aliasesFor(c, a) : null, static_mac: a.config.mac ?? null };
        opts.network_info[nvName(n)] = this.nvNetwork(n);
      });
      sandbox = { containerId: c.id, netns: netnsName, options: opts, portNets: Object.keys(opts.networks) };
      this.saveSandbox(sandbox);
      const path = await createNetns(netnsName);
      const result = await this.driver.setup(path, opts);
      for (const a of ordered) {
        const n = this.get(a.networkId);
        const iface = result[nvName(n)]?.interfaces?.[a.iface];
        a.mac = iface?.mac_address ?? '';
        this.saveAttachment(a);
      }
      this.reservations.set(c.id, reserved);
      this.o.log(`network: ${c.name} on ${ordered.map((a) => `${this.get(a.networkId).name}=${a.ip}`).join(', ')}${mappings.length ? ` ports ${mappings.map((m) => `${m.host_ip || '0.0.0.0'}:${m.host_port}->${m.container_port}/${m.protocol}`).join(' ')}` : ''}`);
      for (const a of ordered) this.o.events.emit('network', 'connect', a.networkId, { container: c.id, name: this.get(a.networkId).name, type: 'bridge' });
      const dnsNets = ordered.filter((a) => this.get(a.networkId).dns);
      const embedded = dnsNets.map((a) => this.get(a.networkId).ipam[0].Gateway);
      const first = this.get(ordered[0].networkId);
      return {
        netnsPath: path,
        hosts: hostsFile({ hostname, domainname: c.config.Domainname, ips: [ordered[0].ip], extraHosts, hostGateway: first.ipam[0].Gateway }),
        resolvConf: resolvConf({ hostResolvConf: this.hostResolvConf(), embedded: embedded.slice(0, 3), ...this.dnsOpts(c) }),
      };
    } catch (e) {
      for (const r of reserved) r.close();
      if (sandbox) await this.undo(sandbox).catch((x) => this.o.log(`network: cleanup after failed setup of ${c.name}: ${errorMessage(x)}`));
      for (const a of ordered) this.clearEndpoint(a);
      throw e;
    }
  }

  /** Tears down what a sandbox describes; idempotent. */
  private async undo(sb: Sandbox): Promise<void> {
    const path = netnsPath(sb.netns);
    let err: unknown;
    if (Object.keys(sb.options.networks).length) {
      await this.driver.teardown(path, sb.options).catch((e) => { err = e; });
    }
    await deleteNetns(sb.netns);
    this.deleteSandbox(sb.containerId);
    if (err) this.o.log(`network: teardown of ${sb.containerId.slice(0, 12)}: ${errorMessage(err)}`);
  }

  async release(c: ContainerRecord): Promise<void> {
    for (const r of this.reservations.get(c.id) ?? []) r.close();
    this.reservations.delete(c.id);
    const sb = this.getSandbox(c.id);
    if (sb) await this.undo(sb);
    for (const a of this.attachments.get(c.id) ?? []) {
      if (a.ip) this.o.events.emit('network', 'disconnect', a.networkId, { container: c.id, name: this.networks.get(a.networkId)?.name ?? '', type: 'bridge' });
      this.clearEndpoint(a);
    }
  }

  async removed(c: ContainerRecord): Promise<void> {
    await this.release(c);
    this.db.prepare('DELETE FROM net_attachments WHERE container_id = ?').run(c.id);
    this.attachments.delete(c.id);
  }

  hooks(): ContainerHooks {
    return {
      validate: (c) => this.validate(c),
      prepare: (c) => this.prepare(c),
      release: (c) => this.release(c),
      removed: (c) => this.removed(c),
    };
  }

  // ---- connect / disconnect -----------------------------------------------------------------

  async connect(netRef: string, containerRef: string, endpoint: unknown): Promise<void> {
    const n = this.get(netRef);
    const c = this.o.containers.get(containerRef);
    const mode = this.mode(c);
    if (mode.kind !== 'networks' || n.driver !== 'bridge') {
      throw new ForbiddenError(`container cannot be disconnected from host network or connected to host network`);
    }
    if ((this.attachments.get(c.id) ?? []).some((a) => a.networkId === n.id)) {
      throw new ForbiddenError(`endpoint with name ${c.name} already exists in network ${n.name}`);
    }
    const cfg = this.endpointConfig(endpoint);
    this.checkEndpoint(n, cfg);
    const a: Attachment = { containerId: c.id, networkId: n.id, config: cfg, endpointId: '', ip: '', mac: '', iface: '' };
    const sb = c.state.Running ? this.getSandbox(c.id) : undefined;
    if (!sb) { this.saveAttachment(a); return; }
    this.allocate(c, [a]);
    const used = new Set(Object.values(sb.options.networks).map((x) => x.interface_name));
    let i = 0;
    while (used.has(`eth${i}`)) i++;
    a.iface = `eth${i}`;
    const one: NvOptions = {
      ...sb.options, port_mappings: null,
      networks: { [nvName(n)]: { interface_name: a.iface, static_ips: [a.ip], aliases: n.dns ? this.aliasesFor(c, a) : null, static_mac: cfg.mac ?? null } },
      network_info: { [nvName(n)]: this.nvNetwork(n) },
    };
    const next: Sandbox = { ...sb, options: { ...sb.options, networks: { ...sb.options.networks, ...one.networks }, network_info: { ...sb.options.network_info, ...one.network_info } } };
    this.saveSandbox(next);
    try {
      const result = await this.driver.setup(netnsPath(sb.netns), one);
      a.mac = result[nvName(n)]?.interfaces?.[a.iface]?.mac_address ?? '';
      this.saveAttachment(a);
    } catch (e) {
      this.saveSandbox(sb);
      this.deleteAttachment(c.id, n.id);
      throw e;
    }
    this.o.events.emit('network', 'connect', n.id, { container: c.id, name: n.name, type: 'bridge' });
  }

  async disconnect(netRef: string, containerRef: string, force: boolean): Promise<void> {
    const n = this.get(netRef);
    const c = this.o.containers.tryGet(containerRef);
    if (!c) {
      if (!force) throw new NotFoundError(`No such container: ${containerRef}`);
      return;
    }
    const a = (this.attachments.get(c.id) ?? []).find((x) => x.networkId === n.id);
    if (!a) throw new ForbiddenError(`container ${c.id} is not connected to network ${n.name}`);
    const sb = this.getSandbox(c.id);
    if (sb && sb.options.networks[nvName(n)]) {
      const one: NvOptions = {
        ...sb.options, port_mappings: sb.portNets.includes(nvName(n)) ? sb.options.port_mappings : null,
        networks: { [nvName(n)]: sb.options.networks[nvName(n)] }, network_info: { [nvName(n)]: sb.options.network_info[nvName(n)] },
      };
      await this.driver.teardown(netnsPath(sb.netns), one);
      const networks = { ...sb.options.networks };
      const info = { ...sb.options.network_info };
      delete networks[nvName(n)];
      delete info[nvName(n)];
      this.saveSandbox({ ...sb, options: { ...sb.options, networks, network_info: info }, portNets: sb.portNets.filter((x) => x !== nvName(n)) });
      this.o.events.emit('network', 'disconnect', n.id, { container: c.id, name: n.name, type: 'bridge' });
    }
    this.deleteAttachment(c.id, n.id);
  }

  // ---- restart / reconcile ------------------------------------------------------------------

  /**
   * After berthd (re)starts: running containers keep their endpoints and get their host ports
   * back; everything else a crash left (sandboxes of stopped or removed containers, netns with
   * our prefix nobody owns) is torn down.
   */
  async reconcile(): Promise<void> {
    const rows = this.db.prepare('SELECT data FROM net_sandboxes').all() as { data: string }[];
    const owned = new Set<string>();
    for (const r of rows) {
      const sb = JSON.parse(r.data) as Sandbox;
      const c = this.o.containers.tryGet(sb.containerId);
      if (c && c.state.Running) {
        owned.add(sb.netns);
        if (!this.reservations.has(c.id) && sb.options.port_mappings) this.reservations.set(c.id, await rebindPorts(sb.options.port_mappings));
        continue;
      }
      this.o.log(`network: releasing leftover endpoints of ${c?.name ?? sb.containerId.slice(0, 12)}`);
      await this.undo(sb).catch((e) => this.o.log(`network: reconcile ${sb.containerId.slice(0, 12)}: ${errorMessage(e)}`));
    }
    for (const list of [...this.attachments.values()]) {
      for (const a of list) {
        const c = this.o.containers.tryGet(a.containerId);
        if (!c) { this.deleteAttachment(a.containerId, a.networkId); continue; }
        if (a.ip && !c.state.Running) this.clearEndpoint(a);
      }
    }
    for (const ns of listNetns(this.prefix)) {
      if (owned.has(ns)) continue;
      this.o.log(`network: deleting orphan netns ${ns}`);
      await deleteNetns(ns).catch((e) => this.o.log(`network: ${errorMessage(e)}`));
    }
  }

  // ---- views --------------------------------------------------------------------------------

  /** NetworkSettings/Ports for container inspect and ps. */
  view(c: ContainerRecord): { NetworkSettings: Record<string, unknown>; Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[]; SummaryNetworks: Record<string, unknown> } {
    const mode = this.mode(c);
    const sb = c.state.Running ? this.getSandbox(c.id) : undefined;
    const mappings = sb?.options.port_mappings ?? [];
    const exposed = c.config.ExposedPorts as Record<string, unknown> | undefined;
    const networks: Record<string, unknown> = {};
    const empty = {
      IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '',
      Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
    };
    let legacy = { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '' };
    if (mode.kind === 'networks') {
      for (const a of this.attachments.get(c.id) ?? []) {
        const n = this.networks.get(a.networkId);
        if (!n) continue;
        const pool = n.ipam[0];
        const live = a.ip !== '';
        const prefix = pool ? parseCidr(pool.Subnet).prefix : 0;
        const ep = {
          ...empty,
          IPAMConfig: a.config.ipv4 ? { IPv4Address: a.config.ipv4 } : null,
          Aliases: a.config.aliases.length ? a.config.aliases : null,
          MacAddress: a.mac, NetworkID: n.id, EndpointID: a.endpointId,
          Gateway: live && !n.internal ? pool?.Gateway ?? '' : '', IPAddress: a.ip, IPPrefixLen: live ? prefix : 0,
          DNSNames: n.dns ? [c.name, ...a.config.aliases, c.id.slice(0, 12)] : null,
        };
        networks[n.name] = ep;
        if (n.name === 'bridge' && live) legacy = { EndpointID: a.endpointId, Gateway: ep.Gateway, IPAddress: a.ip, IPPrefixLen: prefix, MacAddress: a.mac };
      }
    } else {
      const name = mode.kind === 'container' ? `container:${mode.target}` : mode.kind;
      const n = [...this.networks.values()].find((x) => x.name === name);
      networks[mode.kind === 'container' ? name : name] = { ...empty, NetworkID: n?.id ?? '' };
      if (mode.kind === 'container') delete networks[name];
    }
    const sandboxKey = sb ? netnsPath(sb.netns) : mode.kind === 'host' ? '' : c.state.Running && mode.kind === 'none' ? `/proc/${c.state.Pid}/ns/net` : '';
    return {
      NetworkSettings: {
        Bridge: '', SandboxID: sb ? createHash('sha256').update(sb.netns).digest('hex') : '', SandboxKey: sandboxKey,
        Ports: portsView(mappings, exposed), HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
        SecondaryIPAddresses: null, SecondaryIPv6Addresses: null, GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, IPv6Gateway: '',
        ...legacy, Networks: networks,
      },
      Ports: portsSummary(mappings, c.state.Running ? exposed : {}),
      SummaryNetworks: networks,
    };
  }

  /** Containers (by id) attached to a network, for `ps --filter network=`. */
  containersOn(ref: string): Set<string> {
    const n = this.get(ref);
    return new Set([...this.attachments.values()].flat().filter((a) => a.networkId === n.id).map((a) => a.containerId));
  }
}

export interface NetworkCreateBody {
  Name?: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  CheckDuplicate?: boolean;
  IPAM?: { Driver?: string; Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/**
 * A user-chosen bridge name (com.docker.network.bridge.name) must not take over a host interface
 * that is not a bridge (eth0, lo): netavark would enslave veths to it or fail half-way.
 */
export function checkBridgeName(name: string, sysClassNet = '/sys/class/net'): void {
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new InvalidParameterError(`invalid bridge name "${name}": 1-15 characters of [a-zA-Z0-9_.-]`);
  }
  if (existsSync(join(sysClassNet, name)) && !existsSync(join(sysClassNet, name, 'bridge'))) {
    throw new InvalidParameterError(`bridge name "${name}" is a host interface that is not a bridge`);
  }
}

/** "10.10.0.0/16" or dockerd's "base=10.10.0.0/16,size=24". */
export function parsePoolSpec(s: string): { pool: Cidr; size?: number } {
  if (s.includes('=')) {
    const kv = Object.fromEntries(s.split(',').map((p) => p.split('=').map((x) => x.trim())));
    if (!kv.base) throw new InvalidParameterError(`invalid address pool: ${s}`);
    const size = kv.size ? Number(kv.size) : undefined;
    if (size !== undefined && (!Number.isInteger(size) || size < 8 || size > 30)) throw new InvalidParameterError(`invalid address pool size: ${s}`);
    return { pool: parseCidr(kv.base), size };
  }
  return { pool: parseCidr(s) };
}
