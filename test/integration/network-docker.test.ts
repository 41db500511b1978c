// Container networking through berthd with the real docker CLI: user networks, published ports,
// DNS by name/alias/short ID, isolation, modes, restart and leak checks. All traffic is local.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomInt } from 'node:crypto';
import { spawnSync, execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import http from 'node:http';
import { startDaemon, docker, TestDaemon, DOCKER } from '../helpers/daemon.js';

// Per-run bridge name and address space, so this file runs beside other daemons.
const X = randomInt(100, 150); // below the 10.150-249 range that derived per-daemon defaults use
const Y = randomInt(0, 63) * 4;
const BRIDGE = `bt${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}0`;
const BRIDGE_SUBNET = `10.${X}.${Y}.0/24`;
const POOL = `10.${X}.${Y + 1}.0/24`;
const SUB_A = `10.${X}.${Y + 2}.0/25`;
const SUB_B = `10.${X}.${Y + 2}.128/25`;
const SUB_C = `10.${X}.${Y + 3}.0/24`;

let d: TestDaemon;
before(async () => {
  d = await startDaemon({ extraArgs: ['--bridge-name', BRIDGE, '--bridge-subnet', BRIDGE_SUBNET, '--default-address-pool', `base=${POOL},size=28`] });
});
after(async () => {
  if (!d) return;
  const prefix = netnsPrefix(d.dataRoot);
  await d.stop();
  // stop() knows nothing of networks: drop what a failed test may have left.
  for (const ns of netnsList(prefix)) spawnSync('ip', ['netns', 'delete', ns]);
});

function netnsPrefix(dataRoot: string): string {
  return `berth-${createHash('sha256').update(dataRoot).digest('hex').slice(0, 8)}-`;
}

function netnsList(prefix: string): string[] {
  try { return readdirSync('/run/netns').filter((n) => n.startsWith(prefix)); } catch { return []; }
}

function ok(args: string[], input?: string): string {
  const r = docker(d, args, input);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

function httpGet(port: number, host = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function eventually<T>(fn: () => Promise<T>, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try { return await fn(); } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw last;
}

function dockerAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(DOCKER, args, { env: d.env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const HTTPD = (text: string) => ['sh', '-c', `mkdir -p /www && echo ${text} > /www/index.html && exec httpd -f -p 80 -h /www`];

test('docker network create/ls/inspect/rm, with labels and filters', () => {
  const id = ok(['network', 'create', '--subnet', SUB_A, '--gateway', `10.${X}.${Y + 2}.126`, '--ip-range', `10.${X}.${Y + 2}.64/26`, '--label', 'team=red', 'nda']).trim();
  assert.match(id, /^[a-f0-9]{64}$/);
  const ls = ok(['network', 'ls']);
  assert.match(ls, /^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$/m);
  for (const n of ['bridge', 'host', 'none', 'nda']) assert.match(ls, new RegExp(`\\s${n}\\s`));
  assert.deepEqual(ok(['network', 'ls', '-q', '--filter', 'label=team=red']).trim().split('\n'), [id.slice(0, 12)]);
  assert.equal(ok(['network', 'ls', '--filter', 'type=custom', '--format', '{{.Name}}']).trim(), 'nda');
  const [info] = JSON.parse(ok(['network', 'inspect', 'nda'])) as { Id: string; Driver: string; IPAM: { Config: { Subnet: string; Gateway: string; IPRange: string }[] }; Labels: Record<string, string>; Internal: boolean }[];
  assert.equal(info.Id, id);
  assert.equal(info.Driver, 'bridge');
  assert.deepEqual(info.IPAM.Config, [{ Subnet: SUB_A, Gateway: `10.${X}.${Y + 2}.126`, IPRange: `10.${X}.${Y + 2}.64/26` }]);
  assert.deepEqual(info.Labels, { team: 'red' });
  // The address comes from --ip-range.
  const cid = ok(['run', '-d', '--network', 'nda', 'busybox', 'sleep', '60']).trim();
  const ip = ok(['inspect', '-f', '{{.NetworkSettings.Networks.nda.IPAddress}}', cid]).trim();
  assert.equal(ip, `10.${X}.${Y + 2}.64`);
  ok(['rm', '-f', cid]);
  ok(['network', 'rm', 'nda']);
  assert.doesNotMatch(ok(['network', 'ls']), /nda/);
});

test('bad input: overlapping subnet 403, unknown network 404, in-use rm 403 naming the container, duplicate 409', async () => {
  ok(['network', 'create', '--subnet', SUB_B, 'ndb']);
  const overlap = docker(d, ['network', 'create', '--subnet', SUB_B, 'ndb2']);
  assert.notEqual(overlap.code, 0);
  assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
  const r = await d.request('POST', '/networks/create', { Name: 'ndb3', IPAM: { Config: [{ Subnet: SUB_B }] } });
  assert.equal(r.status, 403);
  assert.equal((await d.request('GET', '/networks/nope-nope')).status, 404);
  assert.match(docker(d, ['network', 'inspect', 'nope-nope']).stderr, /network nope-nope not found/);
  assert.match(docker(d, ['network', 'rm', 'nope-nope']).stderr, /not found/);
  assert.equal((await d.request('POST', '/networks/create', { Name: 'ndb' })).status, 409);
  assert.equal((await d.request('POST', '/networks/create', { Name: 'bad name!' })).status, 400);
  assert.equal((await d.request('POST', '/networks/create', { Name: 'x1', IPAM: { Config: [{ Subnet: '10.0.0.0/33' }] } })).status, 400);
  assert.equal((await d.request('POST', '/networks/create', { Name: 'x1', Driver: 'overlay' })).status, 404);
  assert.equal((await d.request('DELETE', '/networks/bridge')).status, 403);
  assert.equal((await d.request('POST', '/networks/create', { Name: 'x2', Options: { 'com.docker.network.bridge.name': 'lo' } })).status, 400);
  const run = docker(d, ['run', '--rm', '--network', 'nope-nope', 'busybox', 'true']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /network nope-nope not found/);
  ok(['run', '-d', '--name', 'nduser', '--network', 'ndb', 'busybox', 'sleep', '60']);
  const rm = await d.request('DELETE', '/networks/ndb');
  assert.equal(rm.status, 403);
  assert.match((JSON.parse(rm.body) as { message: string }).message, /has active endpoints \(name:"nduser" id:"[0-9a-f]{12}"\)/);
  ok(['rm', '-f', 'nduser']);
  ok(['network', 'rm', 'ndb']);
  // prune removes unused user networks only, honouring label filters
  ok(['network', 'create', '--label', 'keep=1', 'ndkeep']);
  ok(['network', 'create', 'ndprune']);
  const pruned = ok(['network', 'prune', '-f', '--filter', 'label!=keep']);
  assert.match(pruned, /ndprune/);
  assert.doesNotMatch(pruned, /ndkeep|bridge|host|none/);
  assert.match(ok(['network', 'ls']), /ndkeep/);
  ok(['network', 'rm', 'ndkeep']);
  // Nothing was half-written by the failures.
  assert.doesNotMatch(ok(['network', 'ls']), /ndb2|ndb3|x1/);
});

test('HTTP GET through -p 127.0.0.1:PORT:80 to busybox httpd; docker port, ps PORTS, inspect', async () => {
  const port = await freePort();
  ok(['run', '-d', '--name', 'web-p', '-p', `127.0.0.1:${port}:80`, 'busybox', ...HTTPD('hello-from-berth')]);
  const res = await eventually(() => httpGet(port));
  assert.equal(res.status, 200);
  assert.equal(res.body, 'hello-from-berth\n');
  assert.equal(ok(['port', 'web-p']), `80/tcp -> 127.0.0.1:${port}\n`);
  assert.equal(ok(['port', 'web-p', '80']), `127.0.0.1:${port}\n`);
  assert.match(ok(['ps', '--filter', 'name=web-p', '--format', '{{.Ports}}']), new RegExp(`^127\\.0\\.0\\.1:${port}->80/tcp$`, 'm'));
  const pb = JSON.parse(ok(['inspect', '-f', '{{json .HostConfig.PortBindings}}', 'web-p'])) as Record<string, unknown>;
  assert.deepEqual(pb, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
  const ns = JSON.parse(ok(['inspect', '-f', '{{json .NetworkSettings}}', 'web-p'])) as { IPAddress: string; Gateway: string; Networks: Record<string, { IPAddress: string; MacAddress: string }> };
  assert.match(ns.IPAddress, new RegExp(`^10\\.${X}\\.${Y}\\.\\d+$`));
  assert.equal(ns.Gateway, `10.${X}.${Y}.1`);
  assert.equal(ns.Networks.bridge.IPAddress, ns.IPAddress);
  assert.match(ns.Networks.bridge.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  // the bridge's gateway answers too (from the host, not only through loopback)
  assert.equal((await httpGet(80, ns.IPAddress)).body, 'hello-from-berth\n');
  ok(['rm', '-f', 'web-p']);
  await assert.rejects(httpGet(port));
});

test('random host ports: -p 80, -P from EXPOSE, host port ranges', async () => {
  ok(['run', '-d', '--name', 'rnd', '-p', '80', '--expose', '8080', '-P', 'busybox', ...HTTPD('rnd')]);
  const out = ok(['port', 'rnd']);
  const m80 = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(out);
  const m8080 = /^8080\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(out);
  assert.ok(m80 && m8080, out);
  assert.equal((await eventually(() => httpGet(Number(m80[1])))).body, 'rnd\n');
  ok(['rm', '-f', 'rnd']);
  const base = await freePort();
  ok(['run', '-d', '--name', 'rng', '-p', `127.0.0.1:${base}-${base + 2}:80`, 'busybox', ...HTTPD('rng')]);
  const p = Number(/:(\d+)$/.exec(ok(['port', 'rng', '80']).trim())?.[1]);
  assert.ok(p >= base && p <= base + 2);
  assert.equal((await eventually(() => httpGet(p))).body, 'rng\n');
  ok(['rm', '-f', 'rng']);
});

test('a busy host port is a clear error at start and leaves nothing half-started', async () => {
  const holder = net.createServer();
  const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as net.AddressInfo).port)));
  try {
    const before = netnsList(netnsPrefix(d.dataRoot)).length;
    const r = docker(d, ['run', '-d', '--name', 'busyport', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '60']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`Bind for 127\\.0\\.0\\.1:${port} failed: port is already allocated`));
    assert.equal(ok(['inspect', '-f', '{{.State.Running}}', 'busyport']).trim(), 'false');
    assert.equal(netnsList(netnsPrefix(d.dataRoot)).length, before);
    assert.doesNotMatch(spawnSync('iptables-save', ['-t', 'nat']).stdout.toString(), new RegExp(`--dport ${port}\\b`));
  } finally {
    holder.close();
  }
  ok(['start', 'busyport']);
  assert.equal(ok(['port', 'busyport']), `80/tcp -> 127.0.0.1:${port}\n`);
  ok(['rm', '-f', 'busyport']);
});

test('user network: name, alias and short ID resolve; another network cannot reach it', () => {
  ok(['network', 'create', '--subnet', SUB_C, 'ndc']);
  ok(['network', 'create', 'ndother']); // from the address pool
  const web = ok(['run', '-d', '--name', 'web', '--network', 'ndc', '--network-alias', 'www', 'busybox', ...HTTPD('web-on-c')]).trim();
  const client = (net: string, url: string) => docker(d, ['run', '--rm', '--network', net, 'busybox', 'sh', '-c', `for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- ${url} && exit 0; sleep 0.3; done; exit 1`]);
  for (const host of ['web', 'www', web.slice(0, 12)]) {
    const r = client('ndc', `http://${host}/`);
    assert.equal(r.stdout, 'web-on-c\n', `${host}: ${r.stderr}`);
  }
  const resolv = ok(['run', '--rm', '--network', 'ndc', 'busybox', 'cat', '/etc/resolv.conf']);
  assert.match(resolv, new RegExp(`^nameserver 10\\.${X}\\.${Y + 3}\\.1$`, 'm'));
  const ip = ok(['inspect', '-f', '{{.NetworkSettings.Networks.ndc.IPAddress}}', 'web']).trim();
  const iso = docker(d, ['run', '--rm', '--network', 'ndother', 'busybox', 'sh', '-c', `nc -w 2 ${ip} 80 </dev/null; echo rc=$?`]);
  assert.match(iso.stdout, /rc=[1-9]/, iso.stderr);
  const [inspect] = JSON.parse(ok(['network', 'inspect', 'ndc'])) as { Containers: Record<string, { Name: string; IPv4Address: string }> }[];
  assert.equal(inspect.Containers[web].Name, 'web');
  assert.equal(inspect.Containers[web].IPv4Address, `${ip}/24`);
  // connect --alias: the other network's container joins and resolves the alias
  ok(['run', '-d', '--name', 'joiner', '--network', 'ndother', 'busybox', 'sleep', '60']);
  ok(['network', 'connect', '--alias', 'jj', '--ip', `10.${X}.${Y + 3}.77`, 'ndc', 'joiner']);
  assert.equal(ok(['inspect', '-f', '{{.NetworkSettings.Networks.ndc.IPAddress}}', 'joiner']).trim(), `10.${X}.${Y + 3}.77`);
  assert.equal(ok(['exec', 'joiner', 'wget', '-qO-', 'http://www/']), 'web-on-c\n');
  assert.match(ok(['run', '--rm', '--network', 'ndc', 'busybox', 'nslookup', 'jj']), new RegExp(`10\\.${X}\\.${Y + 3}\\.77`));
  ok(['network', 'disconnect', 'ndc', 'joiner']);
  assert.equal(ok(['inspect', '-f', '{{len .NetworkSettings.Networks}}', 'joiner']).trim(), '1');
  ok(['rm', '-f', 'web', 'joiner']);
  ok(['network', 'rm', 'ndc', 'ndother']);
});

test('--network none has only lo; --internal has no default route; host and container: modes', () => {
  const none = ok(['run', '--rm', '--network', 'none', 'busybox', 'ip', '-o', 'link']);
  assert.deepEqual(none.trim().split('\n').map((l) => l.split(':')[1].trim()), ['lo']);
  ok(['network', 'create', '--internal', 'ndint']);
  const routes = ok(['run', '--rm', '--network', 'ndint', 'busybox', 'ip', 'route']);
  assert.doesNotMatch(routes, /default/);
  assert.match(routes, /dev eth0/);
  ok(['network', 'rm', 'ndint']);
  const host = ok(['run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link']);
  assert.match(host, /eth0/);
  assert.doesNotMatch(ok(['run', '--rm', '--network', 'host', 'busybox', 'cat', '/etc/resolv.conf']), /nameserver 127\./);
  ok(['run', '-d', '--name', 'ns-owner', 'busybox', ...HTTPD('shared-ns')]);
  const r = docker(d, ['run', '--rm', '--network', 'container:ns-owner', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do wget -qO- http://127.0.0.1/ && exit 0; sleep 0.3; done; exit 1']);
  assert.equal(r.stdout, 'shared-ns\n', r.stderr);
  ok(['rm', '-f', 'ns-owner']);
});

test('--dns --dns-search --dns-option --add-host host-gateway --hostname', async () => {
  const out = ok(['run', '--rm', '--dns', '192.0.2.53', '--dns-search', 'example.test', '--dns-option', 'ndots:2',
    '--add-host', 'host.docker.internal:host-gateway', '--add-host', 'db:192.0.2.9', '--hostname', 'box1', 'busybox',
    'sh', '-c', 'cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo ---; hostname']);
  const [resolv, hosts, hn] = out.split('---\n');
  assert.equal(resolv, 'search example.test\nnameserver 192.0.2.53\noptions ndots:2\n');
  assert.match(hosts, new RegExp(`^10\\.${X}\\.${Y}\\.1\\thost\\.docker\\.internal$`, 'm'));
  assert.match(hosts, /^192\.0\.2\.9\tdb$/m);
  assert.match(hosts, new RegExp(`^10\\.${X}\\.${Y}\\.\\d+\\tbox1$`, 'm'));
  assert.equal(hn, 'box1\n');
  // host.docker.internal reaches a server on the host
  const srv = http.createServer((_q, s) => s.end('from-host\n'));
  const port = await new Promise<number>((resolve) => srv.listen(0, '0.0.0.0', () => resolve((srv.address() as net.AddressInfo).port)));
  try {
    // async: the server answering lives in this process's event loop
    const r = await dockerAsync(['run', '--rm', '--add-host', 'host.docker.internal:host-gateway', 'busybox', 'wget', '-qO-', `http://host.docker.internal:${port}/`]);
    assert.equal(r.stdout, 'from-host\n', r.stderr);
  } finally { srv.close(); }
  const bad = docker(d, ['run', '--rm', '--add-host', 'nocolon', 'busybox', 'true']);
  assert.notEqual(bad.code, 0);
});

test('UDP publish: a datagram to 127.0.0.1:PORT reaches the container', async () => {
  // Debian's busybox nc has no -u: the container runs the host's node (read-only) as a UDP server.
  const port = await freePort();
  const script = "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.concat([Buffer.from('echo:'),m]),r.port,r.address));s.bind(9999)";
  ok(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${port}:9999/udp`, '-v', '/:/host:ro', 'busybox', 'chroot', '/host', process.execPath, '-e', script]);
  assert.equal(ok(['port', 'udp']), `9999/udp -> 127.0.0.1:${port}\n`);
  const reply = await eventually(() => new Promise<string>((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); reject(new Error('no UDP reply')); }, 700);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m.toString()); });
    s.send('ping', port, '127.0.0.1');
  }), 10_000);
  assert.equal(reply, 'echo:ping');
  ok(['rm', '-f', 'udp']);
});

test('after a berthd crash and restart, networks and running endpoints are still there', async () => {
  ok(['network', 'create', 'ndr']);
  const port = await freePort();
  ok(['run', '-d', '--name', 'keep', '--network', 'ndr', '-p', `127.0.0.1:${port}:80`, 'busybox', ...HTTPD('kept')]);
  ok(['run', '-d', '--name', 'gone', '--network', 'ndr', 'busybox', 'sleep', '600']);
  await eventually(() => httpGet(port));
  const ipBefore = ok(['inspect', '-f', '{{.NetworkSettings.Networks.ndr.IPAddress}}', 'keep']).trim();
  // 'gone' dies while berthd is down: reconcile must release its endpoint.
  const gonePid = Number(ok(['inspect', '-f', '{{.State.Pid}}', 'gone']).trim());
  // Freeze berthd so it cannot see 'gone' exit, then crash it and start it again.
  d.process.kill('SIGSTOP');
  process.kill(gonePid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  await d.restart({ kill: true });
  assert.match(ok(['network', 'ls']), /ndr/);
  assert.equal(ok(['inspect', '-f', '{{.NetworkSettings.Networks.ndr.IPAddress}}', 'keep']).trim(), ipBefore);
  assert.equal((await httpGet(port)).body, 'kept\n');
  assert.equal(ok(['port', 'keep']), `80/tcp -> 127.0.0.1:${port}\n`);
  // the port is still held: another container cannot take it
  assert.match(docker(d, ['run', '-d', '--name', 'thief', '-p', `127.0.0.1:${port}:80`, 'busybox', 'true']).stderr, /port is already allocated/);
  await eventually(async () => { assert.equal(ok(['inspect', '-f', '{{.State.Running}}', 'gone']).trim(), 'false'); });
  const [info] = JSON.parse(ok(['network', 'inspect', 'ndr'])) as { Containers: Record<string, { Name: string }> }[];
  assert.deepEqual(Object.values(info.Containers).map((c) => c.Name), ['keep']);
  ok(['rm', '-f', 'keep', 'gone', 'thief']);
  ok(['network', 'rm', 'ndr']);
});

test('no leaks after rm -f of 20 containers and network rm: links, firewall rules, aardvark, netns', async () => {
  ok(['network', 'create', '--subnet', `10.${X}.${Y + 3}.0/24`, 'ndleak']);
  const [info] = JSON.parse(ok(['network', 'inspect', 'ndleak'])) as { Id: string }[];
  const bridge = `br-${info.Id.slice(0, 12)}`;
  const nsBefore = netnsList(netnsPrefix(d.dataRoot)).length;
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    ids.push(ok(['run', '-d', '--network', i % 2 ? 'ndleak' : 'bridge', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '600']).trim());
  }
  const veths = () => spawnSync('ip', ['-o', 'link', 'show', 'master', bridge]).stdout.toString().trim().split('\n').filter(Boolean).length;
  assert.equal(veths(), 10);
  assert.equal(netnsList(netnsPrefix(d.dataRoot)).length, nsBefore + 20);
  ok(['rm', '-f', ...ids]);
  ok(['network', 'rm', 'ndleak']);
  const links = spawnSync('ip', ['-o', 'link']).stdout.toString();
  assert.doesNotMatch(links, new RegExp(bridge));
  assert.doesNotMatch(links, new RegExp(`master ${BRIDGE}\\b`));
  const rules = spawnSync('iptables-save').stdout.toString();
  for (const id of ids) assert.doesNotMatch(rules, new RegExp(id));
  assert.doesNotMatch(rules, new RegExp(`10\\.${X}\\.${Y}\\.|10\\.${X}\\.${Y + 3}\\.`));
  assert.doesNotMatch(rules, new RegExp(`berth-${info.Id.slice(0, 12)}|${bridge}`));
  const aardvark = `/run/berth/t-${d.dataRoot.split('/').at(-2)?.slice(-6)}/netavark/aardvark-dns`;
  if (existsSync(aardvark)) assert.deepEqual(readdirSync(aardvark).filter((f) => f !== 'aardvark.pid'), []);
  assert.equal(netnsList(netnsPrefix(d.dataRoot)).length, nsBefore);
});
