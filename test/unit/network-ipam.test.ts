import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  parseCidr, formatCidr, parseIp, formatIp, overlaps, contains, pickSubnet, allocateIp, parseProcRoutes,
} from '../../src/network/ipam.js';
import { parsePoolSpec, defaultBridge } from '../../src/network/service.js';
import { hostsFile, resolvConf, parseExtraHost, hostResolvers } from '../../src/network/files.js';
import { portRequests, reservePorts, portsView, portsSummary, parsePortKey } from '../../src/network/ports.js';

test('CIDR parsing normalises host bits and rejects garbage', () => {
  assert.equal(formatCidr(parseCidr('10.1.2.3/16')), '10.1.0.0/16');
  assert.equal(formatIp(parseIp('255.255.255.255')), '255.255.255.255');
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '300.1.1.1/8', 'x/8', '10.0.0/8', '']) {
    assert.throws(() => parseCidr(bad), { kind: 'InvalidParameter' } as object, bad);
  }
  assert.throws(() => parseCidr('fd00::/64'), /IPv6/);
});

test('overlap and containment', () => {
  assert.ok(overlaps(parseCidr('10.0.0.0/16'), parseCidr('10.0.5.0/24')));
  assert.ok(overlaps(parseCidr('10.0.5.0/24'), parseCidr('10.0.0.0/16')));
  assert.ok(!overlaps(parseCidr('10.0.0.0/25'), parseCidr('10.0.0.128/25')));
  assert.ok(contains(parseCidr('10.0.0.0/24'), parseIp('10.0.0.255')));
  assert.ok(!contains(parseCidr('10.0.0.0/24'), parseIp('10.0.1.0')));
});

test('pickSubnet skips taken ranges; allocateIp skips network, gateway, broadcast and used', () => {
  const pool = parseCidr('10.9.0.0/16');
  assert.equal(formatCidr(pickSubnet(pool, 24, [parseCidr('10.9.0.0/23')]) ?? { base: 0, prefix: 0 }), '10.9.2.0/24');
  assert.equal(pickSubnet(parseCidr('10.9.0.0/24'), 24, [parseCidr('10.0.0.0/8')]), undefined);
  const sub = parseCidr('10.1.0.0/29');
  const gw = parseIp('10.1.0.1');
  const used = new Set([parseIp('10.1.0.2')]);
  assert.equal(formatIp(allocateIp(sub, undefined, gw, used) ?? 0), '10.1.0.3');
  for (let i = 3; i <= 6; i++) used.add(parseIp(`10.1.0.${i}`));
  assert.equal(allocateIp(sub, undefined, gw, used), undefined); // .7 is broadcast
  assert.equal(formatIp(allocateIp(parseCidr('10.1.0.0/24'), parseCidr('10.1.0.64/26'), gw, new Set()) ?? 0), '10.1.0.64');
});

test('/proc/net/route parsing ignores the default route', () => {
  const text = 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n'
    + 'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n'
    + 'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
  assert.deepEqual(parseProcRoutes(text).map(formatCidr), ['192.0.2.0/24']);
});

test('address pools: CIDR or dockerd base=,size=; default bridge per data root', () => {
  assert.deepEqual(parsePoolSpec('base=10.10.0.0/16,size=24'), { pool: parseCidr('10.10.0.0/16'), size: 24 });
  assert.deepEqual(parsePoolSpec('10.11.0.0/16'), { pool: parseCidr('10.11.0.0/16') });
  assert.throws(() => parsePoolSpec('base=10.10.0.0/16,size=40'));
  assert.equal(defaultBridge('/var/lib/berth').name, 'berth0');
  const a = defaultBridge('/tmp/a');
  assert.notEqual(a.name, defaultBridge('/tmp/b').name);
  assert.ok(a.name.length <= 15);
});

test('hosts file: hostname on the container IP, extra hosts, host-gateway', () => {
  const h = hostsFile({ hostname: 'box', ips: ['10.0.0.2'], extraHosts: ['db:10.0.0.9', 'hg:host-gateway', 'v6=[::1]'], hostGateway: '10.0.0.1' });
  assert.match(h, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(h, /^10\.0\.0\.9\tdb$/m);
  assert.match(h, /^10\.0\.0\.1\thg$/m);
  assert.match(h, /^::1\tv6$/m);
  assert.match(h, /^10\.0\.0\.2\tbox$/m);
  assert.throws(() => parseExtraHost('nocolon'), /bad format/);
  assert.throws(() => parseExtraHost('a:notanip'), /invalid IP/);
  assert.throws(() => hostsFile({ hostname: 'x', ips: [], extraHosts: ['a:host-gateway'] }), /host-gateway/);
});

test('resolv.conf never carries a loopback resolver', () => {
  const host = 'nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch corp.example\noptions edns0 trust-ad\n';
  assert.deepEqual(hostResolvers(host).nameservers, ['192.0.2.1']);
  assert.equal(resolvConf({ hostResolvConf: host, dns: [], dnsSearch: [], dnsOptions: [] }), 'search corp.example\nnameserver 192.0.2.1\n');
  assert.equal(resolvConf({ hostResolvConf: 'nameserver 127.0.0.53\n', dns: [], dnsSearch: [], dnsOptions: [] }), 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConf({ hostResolvConf: host, embedded: ['10.0.0.1'], dns: ['1.1.1.1'], dnsSearch: ['a.b'], dnsOptions: ['ndots:3'] }),
    'search a.b\nnameserver 10.0.0.1\noptions ndots:3\n');
  assert.throws(() => resolvConf({ hostResolvConf: host, dns: ['not-an-ip'], dnsSearch: [], dnsOptions: [] }), /not an ip/);
});

test('port requests from PortBindings and -P, with bad specs rejected', () => {
  const r = portRequests({ '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostPort: '' }], '90': [{ HostPort: '9000-9005' }] },
    { '80/tcp': {}, '443/tcp': {} }, true);
  assert.deepEqual(r, [
    // '90' is an integer-like key: JavaScript objects list it first
    { containerPort: 90, protocol: 'tcp', hostIp: '', hostLo: 9000, hostHi: 9005 },
    { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostLo: 8080, hostHi: 8080 },
    { containerPort: 53, protocol: 'udp', hostIp: '', hostLo: 0, hostHi: 0 },
    { containerPort: 443, protocol: 'tcp', hostIp: '', hostLo: 0, hostHi: 0 },
  ]);
  for (const k of ['0/tcp', '70000', '80/xyz', 'abc']) assert.throws(() => parsePortKey(k), /invalid port/);
  assert.throws(() => portRequests({ '80/tcp': [{ HostPort: '9-1' }] }, {}, false), /invalid port/);
  assert.throws(() => portRequests({ '80/tcp': [{ HostIp: 'nope', HostPort: '1' }] }, {}, false), /invalid IP/);
});

test('reservePorts: random ports, busy port error, all-or-nothing', async () => {
  const { mappings, reservations } = await reservePorts([{ containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostLo: 0, hostHi: 0 }]);
  const taken = mappings[0].host_port;
  assert.ok(taken > 0);
  // the held port refuses a second reservation, and nothing of the first request stays held
  const other = await reservePorts([{ containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostLo: 0, hostHi: 0 }]);
  const udpPort = other.mappings[0].host_port;
  other.reservations.forEach((x) => x.close());
  await assert.rejects(reservePorts([
    { containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostLo: udpPort, hostHi: udpPort },
    { containerPort: 81, protocol: 'tcp', hostIp: '127.0.0.1', hostLo: taken, hostHi: taken },
  ]), new RegExp(`Bind for 127\\.0\\.0\\.1:${taken} failed: port is already allocated`));
  const again = await reservePorts([{ containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostLo: udpPort, hostHi: udpPort }]);
  again.reservations.forEach((x) => x.close());
  reservations.forEach((x) => x.close());
  await new Promise<void>((resolve, reject) => { const s = net.createServer(); s.once('error', reject); s.listen(taken, '127.0.0.1', () => s.close(() => resolve())); });
});

test('Ports views as docker inspect and ps show them', () => {
  const m = [{ host_ip: '', container_port: 80, host_port: 8080, protocol: 'tcp' as const, range: 1 }];
  assert.deepEqual(portsView(m, { '80/tcp': {}, '443/tcp': {} }), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '443/tcp': null });
  assert.deepEqual(portsSummary(m, { '443/tcp': {} }), [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }]);
});
