// /etc/hosts and /etc/resolv.conf for a container, as Docker writes them.
import net from 'node:net';
import { InvalidParameterError } from '../errors.js';

export interface HostsInput {
  hostname: string;
  domainname?: string;
  /** The container's own addresses (first is what the hostname maps to). */
  ips: string[];
  extraHosts: string[];
  /** What `host-gateway` stands for. */
  hostGateway?: string;
}

/** Checks --add-host entries ("name:ip" or "name=ip", ip may be host-gateway). */
export function parseExtraHost(e: string): { name: string; ip: string } {
  const i = e.search(/[:=]/);
  if (i <= 0) throw new InvalidParameterError(`bad format for add-host: "${e}"`);
  const name = e.slice(0, i);
  let ip = e.slice(i + 1);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== 'host-gateway' && !net.isIP(ip)) throw new InvalidParameterError(`invalid IP address in add-host: "${ip}"`);
  return { name, ip };
}

export function hostsFile(h: HostsInput): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::\tip6-localnet',
    'ff00::\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const e of h.extraHosts) {
    const { name, ip } = parseExtraHost(e);
    const addr = ip === 'host-gateway' ? h.hostGateway : ip;
    if (!addr) throw new InvalidParameterError('unable to derive the IP value for host-gateway');
    lines.push(`${addr}\t${name}`);
  }
  const names = h.domainname ? `${h.hostname}.${h.domainname} ${h.hostname}` : h.hostname;
  if (h.ips.length) lines.push(`${h.ips[0]}\t${names}`);
  else lines.push(`127.0.1.1\t${names}`);
  return lines.join('\n') + '\n';
}

/** Host resolvers minus loopback ones (127.0.0.53 and friends cannot work inside a netns). */
export function hostResolvers(hostResolvConf: string): { nameservers: string[]; search: string[]; options: string[] } {
  const nameservers: string[] = [];
  let search: string[] = [];
  let options: string[] = [];
  for (const raw of hostResolvConf.split('\n')) {
    const l = raw.replace(/[#;].*$/, '').trim();
    const f = l.split(/\s+/);
    if (f[0] === 'nameserver' && f[1] && !/^(127\.|::1$|0\.0\.0\.0$)/.test(f[1])) nameservers.push(f[1]);
    else if ((f[0] === 'search' || f[0] === 'domain') && f.length > 1) search = f.slice(1);
    else if (f[0] === 'options') options = [...options, ...f.slice(1)];
  }
  return { nameservers, search, options };
}

export interface ResolvInput {
  hostResolvConf: string;
  /** aardvark-dns on user networks; when set it is the only nameserver (it forwards the rest). */
  embedded?: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
}

export function resolvConf(r: ResolvInput): string {
  const host = hostResolvers(r.hostResolvConf);
  for (const d of r.dns) if (!net.isIP(d)) throw new InvalidParameterError(`${d} is not an ip address`);
  let ns: string[];
  if (r.embedded && r.embedded.length) ns = r.embedded;
  else if (r.dns.length) ns = r.dns;
  else ns = host.nameservers.length ? host.nameservers : ['8.8.8.8', '8.8.4.4'];
  const search = r.dnsSearch.length ? r.dnsSearch.filter((s) => s !== '.') : host.search;
  const options = r.dnsOptions.length ? r.dnsOptions : host.options.filter((o) => !/^(edns0|trust-ad)$/.test(o) || r.embedded);
  const lines: string[] = [];
  if (search.length) lines.push(`search ${search.join(' ')}`);
  for (const n of ns) lines.push(`nameserver ${n}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.join('\n') + '\n';
}
