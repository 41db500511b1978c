// Published ports: Docker's PortBindings/ExposedPorts → netavark port mappings, and host port
// reservations. berthd holds a socket on every published host port while the container runs,
// as docker-proxy and podman's conmon do, so a busy port fails the start with a clear error and
// nothing else can take the port later; the traffic itself goes through netavark's DNAT rules.
import net from 'node:net';
import dgram from 'node:dgram';
import { ConflictError, InvalidParameterError } from '../errors.js';
import type { PortBinding } from '../container/types.js';
import type { PortMapping } from './types.js';

export interface PortRequest {
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIp: string;
  /** 0 = any free port; [lo, hi] = any free port in that range. */
  hostLo: number;
  hostHi: number;
}

export function parsePortKey(key: string): { port: number; protocol: 'tcp' | 'udp' | 'sctp' } {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(key.trim());
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new InvalidParameterError(`invalid port specification: "${key}"`);
  return { port: Number(m[1]), protocol: (m[2]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp' | 'sctp' };
}

function parseHostPort(s: string | undefined): [number, number] {
  if (s === undefined || s === '' || s === '0') return [0, 0];
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s.trim());
  if (!m) throw new InvalidParameterError(`invalid port specification: "${s}"`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  if (lo < 1 || hi > 65535 || hi < lo) throw new InvalidParameterError(`invalid port specification: "${s}"`);
  return [lo, hi];
}

/** Requests from HostConfig.PortBindings, plus random ports for every EXPOSE with -P. */
export function portRequests(
  bindings: Record<string, PortBinding[] | null> | null | undefined,
  exposed: Record<string, unknown> | null | undefined,
  publishAll: boolean,
): PortRequest[] {
  const out: PortRequest[] = [];
  const seen = new Set<string>();
  for (const [key, list] of Object.entries(bindings ?? {})) {
    const { port, protocol } = parsePortKey(key);
    seen.add(`${port}/${protocol}`);
    for (const b of list && list.length ? list : [{}]) {
      const hostIp = b.HostIp ?? '';
      if (hostIp !== '' && !net.isIP(hostIp)) throw new InvalidParameterError(`invalid IP address: ${hostIp}`);
      if (net.isIPv6(hostIp)) continue; // berth publishes IPv4 only
      const [lo, hi] = parseHostPort(b.HostPort);
      out.push({ containerPort: port, protocol, hostIp: hostIp === '0.0.0.0' ? '' : hostIp, hostLo: lo, hostHi: hi });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposed ?? {})) {
      const { port, protocol } = parsePortKey(key);
      if (seen.has(`${port}/${protocol}`)) continue;
      out.push({ containerPort: port, protocol, hostIp: '', hostLo: 0, hostHi: 0 });
    }
  }
  return out;
}

/** A held host port. */
export interface Reservation { close(): void }

function tryBind(protocol: string, host: string, port: number): Promise<{ res: Reservation; port: number } | NodeJS.ErrnoException> {
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const s = dgram.createSocket({ type: 'udp4' });
      s.once('error', (e) => { try { s.close(); } catch { /* closed */ } resolve(e as NodeJS.ErrnoException); });
      s.bind({ address: host || '0.0.0.0', port, exclusive: true }, () => {
        s.removeAllListeners('error');
        s.on('error', () => undefined);
        s.on('message', () => undefined);
        resolve({ res: { close: () => { try { s.close(); } catch { /* closed */ } } }, port: s.address().port });
      });
      s.unref();
      return;
    }
    // tcp (and sctp, which Node cannot bind: reserve its TCP twin so the numbers stay apart)
    const srv = net.createServer((c) => c.destroy());
    srv.once('error', (e) => resolve(e as NodeJS.ErrnoException));
    srv.listen({ host: host || '0.0.0.0', port, exclusive: true }, () => {
      srv.removeAllListeners('error');
      srv.on('error', () => undefined);
      const addr = srv.address();
      resolve({ res: { close: () => srv.close() }, port: typeof addr === 'object' && addr ? addr.port : port });
    });
    srv.unref();
  });
}

function busy(r: PortRequest, port: number, e: NodeJS.ErrnoException): Error {
  const ip = r.hostIp || '0.0.0.0';
  if (e.code === 'EADDRINUSE') return new ConflictError(`driver failed programming external connectivity on endpoint: Bind for ${ip}:${port} failed: port is already allocated`);
  if (e.code === 'EADDRNOTAVAIL') return new InvalidParameterError(`driver failed programming external connectivity: listen ${r.protocol} ${ip}:${port}: bind: cannot assign requested address`);
  return new ConflictError(`driver failed programming external connectivity: listen ${r.protocol} ${ip}:${port}: ${e.message}`);
}

/**
 * Binds every requested host port. On any failure it releases what it took and throws, so a
 * container is never left with half of its ports.
 */
export async function reservePorts(reqs: PortRequest[]): Promise<{ mappings: PortMapping[]; reservations: Reservation[] }> {
  const reservations: Reservation[] = [];
  const mappings: PortMapping[] = [];
  try {
    for (const r of reqs) {
      let got: { res: Reservation; port: number } | undefined;
      let lastErr: NodeJS.ErrnoException | undefined;
      if (r.hostLo === 0) {
        const x = await tryBind(r.protocol, r.hostIp, 0);
        if (x instanceof Error) throw busy(r, 0, x);
        got = x;
      } else {
        for (let p = r.hostLo; p <= r.hostHi && !got; p++) {
          const x = await tryBind(r.protocol, r.hostIp, p);
          if (x instanceof Error) lastErr = x; else got = x;
        }
        if (!got) throw busy(r, r.hostHi === r.hostLo ? r.hostLo : r.hostHi, lastErr ?? Object.assign(new Error('in use'), { code: 'EADDRINUSE' }));
      }
      reservations.push(got.res);
      mappings.push({ host_ip: r.hostIp, container_port: r.containerPort, host_port: got.port, protocol: r.protocol, range: 1 });
    }
  } catch (e) {
    for (const r of reservations) r.close();
    throw e;
  }
  return { mappings, reservations };
}

/** Re-takes the ports of a container that kept running while berthd restarted (best effort). */
export async function rebindPorts(mappings: PortMapping[]): Promise<Reservation[]> {
  const out: Reservation[] = [];
  for (const m of mappings) {
    const x = await tryBind(m.protocol, m.host_ip, m.host_port);
    if (!(x instanceof Error)) out.push(x.res);
  }
  return out;
}

/** NetworkSettings.Ports: every exposed/published port, with its host bindings or null. */
export function portsView(mappings: PortMapping[], exposed: Record<string, unknown> | null | undefined): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  for (const k of Object.keys(exposed ?? {})) {
    try { const { port, protocol } = parsePortKey(k); out[`${port}/${protocol}`] = null; } catch { /* ignore bad keys */ }
  }
  for (const m of mappings) {
    const key = `${m.container_port}/${m.protocol}`;
    const list = out[key] ?? [];
    list.push({ HostIp: m.host_ip || '0.0.0.0', HostPort: String(m.host_port) });
    out[key] = list;
  }
  return out;
}

/** ContainerSummary.Ports, as `docker ps` reads them. */
export function portsSummary(mappings: PortMapping[], exposed: Record<string, unknown> | null | undefined): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  const published = new Set<string>();
  for (const m of mappings) {
    published.add(`${m.container_port}/${m.protocol}`);
    out.push({ IP: m.host_ip || '0.0.0.0', PrivatePort: m.container_port, PublicPort: m.host_port, Type: m.protocol });
  }
  for (const k of Object.keys(exposed ?? {})) {
    try {
      const { port, protocol } = parsePortKey(k);
      if (!published.has(`${port}/${protocol}`)) out.push({ PrivatePort: port, Type: protocol });
    } catch { /* ignore */ }
  }
  return out;
}
