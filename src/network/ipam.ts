// IPv4 address arithmetic and allocation. netavark 1.4 does no IPAM of its own (it takes
// static_ips), so berth picks subnets and addresses here, as podman's libnetwork does.
import { InvalidParameterError } from '../errors.js';

export interface Cidr { base: number; prefix: number }

export function parseIp(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) throw new InvalidParameterError(`invalid IP address: ${s}`);
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw new InvalidParameterError(`invalid IP address: ${s}`);
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function isIpv4(s: string): boolean {
  try { parseIp(s); return true; } catch { return false; }
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "a.b.c.d/n"; the base is masked (Docker rejects host bits only for --ip-range, we normalise). */
export function parseCidr(s: string): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s.trim());
  if (!m) {
    if (s.includes(':')) throw new InvalidParameterError(`IPv6 subnets are not supported by berth: ${s}`);
    throw new InvalidParameterError(`invalid CIDR address: ${s}`);
  }
  if (m[1].includes(':')) throw new InvalidParameterError(`IPv6 subnets are not supported by berth: ${s}`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new InvalidParameterError(`invalid CIDR address: ${s}`);
  let base: number;
  try { base = parseIp(m[1]); } catch { throw new InvalidParameterError(`invalid CIDR address: ${s}`); }
  return { base: (base & mask(prefix)) >>> 0, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function contains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.prefix)) >>> 0) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** The first usable address, Docker's default gateway. */
export function firstHost(c: Cidr): number {
  return c.base + 1;
}

/** Host routes from /proc/net/route (little-endian hex), so berth does not take a subnet in use. */
export function parseProcRoutes(text: string): Cidr[] {
  const out: Cidr[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = parseInt(f[1], 16);
    const m = parseInt(f[7], 16);
    if (!Number.isFinite(dest) || !Number.isFinite(m)) continue;
    const le = (x: number) => (((x & 255) << 24) >>> 0) + (((x >>> 8) & 255) << 16) + (((x >>> 16) & 255) << 8) + ((x >>> 24) & 255);
    const maskBe = le(m);
    if (maskBe === 0) continue; // default route: overlaps everything, never a reason to skip
    let prefix = 0;
    for (let b = 31; b >= 0 && (maskBe >>> b) & 1; b--) prefix++;
    out.push({ base: le(dest), prefix });
  }
  return out;
}

/** Picks the first /size subnet of `pool` that overlaps none of `taken`. */
export function pickSubnet(pool: Cidr, size: number, taken: Cidr[]): Cidr | undefined {
  if (size < pool.prefix) size = pool.prefix;
  const step = 2 ** (32 - size);
  for (let b = pool.base; b < pool.base + cidrSize(pool); b += step) {
    const c = { base: b >>> 0, prefix: size };
    if (!taken.some((t) => overlaps(t, c))) return c;
  }
  return undefined;
}

/**
 * Next free address in `range` (or the subnet) that is not the network, broadcast or gateway
 * address and not in `used`. Starts after the gateway, as Docker's allocator does.
 */
export function allocateIp(subnet: Cidr, range: Cidr | undefined, gateway: number, used: Set<number>): number | undefined {
  const r = range ?? subnet;
  const last = subnet.base + cidrSize(subnet) - 1;
  for (let ip = r.base; ip < r.base + cidrSize(r); ip++) {
    if (ip === subnet.base || ip === last || ip === gateway || used.has(ip)) continue;
    if (!contains(subnet, ip)) continue;
    return ip;
  }
  return undefined;
}
