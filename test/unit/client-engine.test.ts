// The Engine API client against a small fake daemon on a temp unix socket: version negotiation,
// typed errors, wait headers before the body, hijack with half-close, and frame/JSON decoders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';

import { EngineClient, encodeFilters } from '../../src/client/client.js';
import { isDaemonError, ConnectionError } from '../../src/client/errors.js';
import { resolveHost } from '../../src/client/host.js';
import { FrameDecoder, JSONStreamDecoder, encodeFrame, demux } from '../../src/client/stream.js';
import { StdStream } from '../../src/client/types.js';
import { unixServers } from '../helpers/unix-http.js';
import { NotFoundError, ConflictError } from '../../src/errors.js';

const fakes = unixServers('berth-client');

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

async function fakeDaemon(apiVersion: string | undefined, routes: Record<string, Handler>, onUpgrade?: (req: http.IncomingMessage, socket: net.Socket) => void): Promise<{ socket: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (apiVersion) res.setHeader('Api-Version', apiVersion);
      res.setHeader('Ostype', 'linux');
      const path = (req.url ?? '').split('?')[0]!.replace(/^\/v[0-9.]+/, '');
      const h = routes[`${req.method} ${path}`];
      if (h) return h(req, res, body);
      if (path === '/_ping') return res.end(req.method === 'GET' ? 'OK' : undefined);
      res.statusCode = 404;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ message: `page not found` }));
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, sock: net.Socket) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '' });
    onUpgrade?.(req, sock);
  });
  const socket = await fakes.listen(server);
  return { socket, seen };
}

test('host resolution: flag, BERTH_HOST, DOCKER_HOST, default; only unix sockets', () => {
  assert.equal(resolveHost(undefined, {}).socketPath, '/run/berth/berth.sock');
  assert.equal(resolveHost(undefined, { DOCKER_HOST: 'unix:///d.sock' }).socketPath, '/d.sock');
  assert.equal(resolveHost(undefined, { DOCKER_HOST: 'unix:///d.sock', BERTH_HOST: 'unix:///b.sock' }).socketPath, '/b.sock');
  assert.equal(resolveHost('unix:///f.sock', { BERTH_HOST: 'unix:///b.sock' }).socketPath, '/f.sock');
  assert.throws(() => resolveHost('tcp://1.2.3.4:2375', {}), /unix:\/\/ sockets only/);
});

test('negotiates down to the daemon version with HEAD /_ping, then uses versioned paths', async () => {
  const d = await fakeDaemon('1.44', { 'GET /containers/json': (_q, res) => res.end('[]') });
  const c = new EngineClient({ host: `unix://${d.socket}`, env: {} });
  assert.deepEqual(await c.containerList({ all: true, filters: { name: ['x'] } }), []);
  c.close();
  assert.equal(d.seen[0]!.method, 'HEAD');
  assert.equal(d.seen[0]!.url, '/_ping');
  assert.equal(d.seen[1]!.url, `/v1.44/containers/json?all=1&filters=${encodeURIComponent('{"name":{"x":true}}')}`);
});

test('keeps its own maximum when the daemon is newer, falls back to 1.24 without a header', async () => {
  const newer = await fakeDaemon('1.60', {});
  const c1 = new EngineClient({ host: `unix://${newer.socket}`, env: {} });
  assert.equal(await c1.apiVersion(), '1.51');
  c1.close();
  const none = await fakeDaemon(undefined, {});
  const c2 = new EngineClient({ host: `unix://${none.socket}`, env: {} });
  assert.equal(await c2.apiVersion(), '1.24');
  c2.close();
  const fixed = new EngineClient({ host: `unix://${none.socket}`, env: { DOCKER_API_VERSION: '1.41' } });
  assert.equal(await fixed.apiVersion(), '1.41');
  fixed.close();
});

test('{"message"} errors become typed errors with their status', async () => {
  const d = await fakeDaemon('1.51', {
    'POST /containers/create': (_q, res) => {
      res.statusCode = 404;
      res.end(JSON.stringify({ message: 'No such image: nope:latest' }));
    },
    'DELETE /containers/busy': (_q, res) => {
      res.statusCode = 409;
      res.end(JSON.stringify({ message: 'cannot remove a running container' }));
    },
    'POST /containers/x/stop': (_q, res) => {
      res.statusCode = 304;
      res.end();
    },
  });
  const c = new EngineClient({ host: `unix://${d.socket}`, env: {} });
  await assert.rejects(c.containerCreate({ Image: 'nope' }), (e: unknown) => e instanceof NotFoundError && isDaemonError(e) && e.statusCode === 404 && e.message === 'No such image: nope:latest');
  await assert.rejects(c.containerRemove('busy'), (e: unknown) => e instanceof ConflictError && isDaemonError(e) && e.statusCode === 409);
  await c.containerStop('x', { timeout: 1 });
  assert.match(d.seen.find((s) => s.url.includes('/stop'))!.url, /\/v1\.51\/containers\/x\/stop\?t=1$/);
  const create = d.seen.find((s) => s.url.includes('/containers/create'))!;
  assert.equal(create.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(create.body), { Image: 'nope' });
  c.close();
});

test('an absent socket is a ConnectionError naming the host', async () => {
  const c = new EngineClient({ host: `unix://${join(fakes.dir, 'absent.sock')}`, env: {} });
  await assert.rejects(c.containerList(), (e: unknown) => e instanceof ConnectionError && /Cannot connect to the berth daemon at unix:\/\/.*absent\.sock/.test((e as Error).message));
  c.close();
});

test('wait resolves at the headers; the result arrives later', async () => {
  let finish: (() => void) | undefined;
  const d = await fakeDaemon('1.51', {
    'POST /containers/c1/wait': (_q, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.flushHeaders();
      finish = () => res.end(JSON.stringify({ Error: null, StatusCode: 3 }));
    },
  });
  const c = new EngineClient({ host: `unix://${d.socket}`, env: {} });
  const { result } = await c.containerWait('c1', 'next-exit');
  assert.ok(finish, 'headers arrived before the body');
  assert.match(d.seen.at(-1)!.url, /wait\?condition=next-exit$/);
  finish!();
  assert.deepEqual(await result, { Error: null, StatusCode: 3 });
  c.close();
});

test('hijack: 101 upgrade, output keeps flowing after our half-close', async () => {
  const d = await fakeDaemon('1.51', {}, (req, sock) => {
    sock.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    let input = '';
    sock.on('data', (c: Buffer) => (input += c.toString()));
    // like `cat`: answer only once stdin has ended, which needs a half-open socket on both sides
    sock.on('end', () => {
      sock.write(encodeFrame(StdStream.Stdout, input.toUpperCase()));
      sock.write(encodeFrame(StdStream.Stderr, 'done'));
      sock.end();
    });
    void req;
  });
  const c = new EngineClient({ host: `unix://${d.socket}`, env: {} });
  const h = await c.containerAttach('c1', { stream: true, stdin: true, stdout: true, stderr: true });
  assert.equal(h.contentType, 'application/vnd.docker.multiplexed-stream');
  const att = d.seen.at(-1)!;
  assert.equal(att.headers.upgrade, 'tcp');
  assert.equal(att.headers.connection, 'Upgrade');
  assert.match(att.url, /^\/v1\.51\/containers\/c1\/attach\?stderr=1&stdin=1&stdout=1&stream=1$/);
  h.socket.write('hello\n');
  h.socket.end();
  const out: string[] = [];
  for await (const f of demux(h.socket)) out.push(`${f.stream}:${f.data.toString()}`);
  assert.deepEqual(out, ['1:HELLO\n', '2:done']);
  c.close();
});

test('hijack refused: the daemon error comes back typed', async () => {
  const d = await fakeDaemon('1.51', {}, (_req, sock) => {
    const body = JSON.stringify({ message: 'No such exec instance: nope' });
    sock.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
  const c = new EngineClient({ host: `unix://${d.socket}`, env: {} });
  await assert.rejects(c.execStart('nope', { Detach: false, Tty: false }), (e: unknown) => e instanceof NotFoundError && (e as Error).message === 'No such exec instance: nope');
  c.close();
});

test('FrameDecoder handles frames split anywhere, including inside the header', () => {
  const bytes = Buffer.concat([encodeFrame(StdStream.Stdout, 'tick\n'), encodeFrame(StdStream.Stderr, 'err\n'), encodeFrame(StdStream.Stdout, '')]);
  for (let cut = 0; cut <= bytes.length; cut++) {
    for (let cut2 = cut; cut2 <= bytes.length; cut2 += 3) {
      const d = new FrameDecoder();
      const frames = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut, cut2)), ...d.push(bytes.subarray(cut2))];
      assert.deepEqual(
        frames.map((f) => [f.stream, f.data.toString()]),
        [
          [1, 'tick\n'],
          [2, 'err\n'],
          [1, ''],
        ],
      );
      assert.equal(d.remaining, 0);
    }
  }
  // the exact bytes from the wire trace
  const trace = Buffer.from('\x01\x00\x00\x00\x00\x00\x00\x05tick\n', 'latin1');
  assert.deepEqual(new FrameDecoder().push(trace).map((f) => f.data.toString()), ['tick\n']);
});

test('JSONStreamDecoder: objects with or without newlines, braces inside strings, split chunks', () => {
  const text = '{"status":"Pulling from rsch/bb","id":"1"}\r\n{"status":"a } { \\" b"}{"aux":{"ID":"sha256:x"}}\n';
  for (let cut = 0; cut < text.length; cut++) {
    const d = new JSONStreamDecoder();
    const got = [...d.push(text.slice(0, cut)), ...d.push(text.slice(cut))];
    assert.deepEqual(got, [{ status: 'Pulling from rsch/bb', id: '1' }, { status: 'a } { " b' }, { aux: { ID: 'sha256:x' } }]);
  }
});

test('filters encode as name → {value: true}', () => {
  assert.equal(encodeFilters({ status: ['exited', 'created'], label: [] }), '{"status":{"exited":true,"created":true}}');
  assert.equal(encodeFilters({}), undefined);
});
