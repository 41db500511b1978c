// main() in-process against a fake daemon: what berth sends for a command line, in which order,
// and what it prints and returns — the docker CLI's behaviour, from the wire trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { PassThrough, Writable } from 'node:stream';

import { main } from '../../src/cli/main.js';
import { encodeFrame } from '../../src/client/stream.js';
import { StdStream } from '../../src/client/types.js';
import { unixServers } from '../helpers/unix-http.js';

const fakes = unixServers('berth-cli-main');

interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

const ID = 'c'.repeat(64);

/** A daemon that knows one image ("busybox") and runs every container as `echo hi; exit 3`. */
async function fakeDaemon(): Promise<{ host: string; calls: Call[] }> {
  const calls: Call[] = [];
  const images = new Set(['busybox']);
  let startWaiter: (() => void) | undefined;
  const started = new Promise<void>((r) => (startWaiter = r));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname.replace(/^\/v[0-9.]+/, '');
      const raw = Buffer.concat(chunks).toString();
      calls.push({ method: req.method ?? '', path, query: url.searchParams, body: raw ? JSON.parse(raw) : undefined });
      res.setHeader('Api-Version', '1.51');
      const json = (status: number, v: unknown): void => {
        res.statusCode = status;
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(v));
      };
      if (path === '/_ping') return res.end();
      if (path === '/containers/create') {
        const body = JSON.parse(raw) as { Image: string };
        if (!images.has(body.Image)) return json(404, { message: `No such image: ${body.Image}` });
        return json(201, { Id: ID, Warnings: [] });
      }
      if (path === '/images/create') {
        if (url.searchParams.get('fromImage') === 'docker.io/library/pullable') {
          images.add('pullable');
          res.setHeader('Content-Type', 'application/json');
          res.write(JSON.stringify({ status: 'Pulling from library/pullable', id: 'latest' }) + '\r\n');
          return res.end(JSON.stringify({ status: 'Status: Downloaded newer image for pullable:latest' }) + '\r\n');
        }
        return json(404, { message: `pull access denied for ${url.searchParams.get('fromImage')}, repository does not exist` });
      }
      if (path === `/containers/${ID}/wait`) {
        res.setHeader('Content-Type', 'application/json');
        res.flushHeaders();
        void started.then(() => setTimeout(() => res.end(JSON.stringify({ Error: null, StatusCode: 3 })), 20));
        return;
      }
      if (path === `/containers/${ID}/start`) {
        res.statusCode = 204;
        res.end();
        startWaiter!();
        return;
      }
      if (path === '/containers/missing/json' || path === '/containers/missing') return json(404, { message: 'No such container: missing' });
      json(404, { message: 'page not found' });
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, sock: net.Socket) => {
    const url = new URL(req.url ?? '/', 'http://x');
    calls.push({ method: req.method ?? '', path: url.pathname.replace(/^\/v[0-9.]+/, ''), query: url.searchParams, body: undefined });
    sock.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    let input = '';
    sock.on('data', (c: Buffer) => (input += c.toString()));
    const inputEnded = new Promise<void>((r) => sock.on('end', r));
    void started.then(async () => {
      sock.write(encodeFrame(StdStream.Stdout, 'hi\n'));
      sock.write(encodeFrame(StdStream.Stderr, 'warn\n'));
      // echo stdin back once it has been half-closed, like `cat`
      await inputEnded;
      if (input) sock.write(encodeFrame(StdStream.Stdout, `in:${input}`));
      sock.end();
    });
  });
  const socket = await fakes.listen(server);
  return { host: `unix://${socket}`, calls };
}

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

async function run(host: string, argv: string[], stdinText?: string): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Collect();
  const stderr = new Collect();
  const stdin = new PassThrough();
  if (stdinText !== undefined) stdin.end(stdinText);
  const code = await main(['-H', host, ...argv], { stdin, stdout, stderr, env: {} });
  return { code, out: stdout.text, err: stderr.text };
}

test('run follows the docker order: create, attach, wait(removed), start; exits with the status', async () => {
  const d = await fakeDaemon();
  const r = await run(d.host, ['run', '--rm', 'busybox', 'sh', '-c', 'echo hi; exit 3']);
  assert.equal(r.out, 'hi\n');
  assert.equal(r.err, 'warn\n');
  assert.equal(r.code, 3);
  const seq = d.calls.filter((c) => c.path !== '/_ping').map((c) => `${c.method} ${c.path}${c.path.endsWith('/wait') ? '?' + c.query.toString() : ''}`);
  assert.deepEqual(seq, ['POST /containers/create', `POST /containers/${ID}/attach`, `POST /containers/${ID}/wait?condition=removed`, `POST /containers/${ID}/start`]);
  const attach = d.calls.find((c) => c.path.endsWith('/attach'))!;
  assert.equal(attach.query.toString(), 'stderr=1&stdout=1&stream=1');
  const body = d.calls[1]!.body as { Cmd: string[]; HostConfig: { AutoRemove: boolean } };
  assert.deepEqual(body.Cmd, ['sh', '-c', 'echo hi; exit 3']);
  assert.equal(body.HostConfig.AutoRemove, true);
});

test('run -i sends stdin and half-closes it; the output after EOF still arrives', async () => {
  const d = await fakeDaemon();
  const r = await run(d.host, ['run', '-i', 'busybox', 'cat'], 'data\n');
  assert.equal(r.out, 'hi\nin:data\n');
  const attach = d.calls.find((c) => c.path.endsWith('/attach'))!;
  assert.equal(attach.query.get('stdin'), '1');
  assert.equal(d.calls.find((c) => c.path.endsWith('/wait'))!.query.get('condition'), 'next-exit');
});

test('run -d prints the ID; combined flags, pflag forms and flags after the image', async () => {
  const d = await fakeDaemon();
  const r = await run(d.host, ['run', '-dit', '--rm=false', '-e=A=1', '--name=x', '-p8080:80', 'busybox', 'ls', '-l', '--rm']);
  assert.equal(r.err, '');
  assert.equal(r.out, `${ID}\n`);
  assert.equal(r.code, 0);
  const create = d.calls.find((c) => c.path === '/containers/create')!;
  assert.equal(create.query.get('name'), 'x');
  const body = create.body as { Cmd: string[]; Env: string[]; Tty: boolean; OpenStdin: boolean; AttachStdout: boolean; HostConfig: { AutoRemove: boolean; PortBindings: unknown } };
  assert.deepEqual(body.Cmd, ['ls', '-l', '--rm']);
  assert.deepEqual(body.Env, ['A=1']);
  assert.equal(body.Tty, true);
  assert.equal(body.OpenStdin, true);
  assert.equal(body.AttachStdout, false);
  assert.equal(body.HostConfig.AutoRemove, false);
  assert.deepEqual(body.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.ok(!d.calls.some((c) => c.path.endsWith('/attach')));
});

test('missing image: "Unable to find image", pull, retry create', async () => {
  const d = await fakeDaemon();
  const r = await run(d.host, ['run', '-d', 'pullable']);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, "Unable to find image 'pullable:latest' locally\nlatest: Pulling from library/pullable\nStatus: Downloaded newer image for pullable:latest\n");
  const pull = d.calls.find((c) => c.path === '/images/create')!;
  assert.equal(pull.query.toString(), 'fromImage=docker.io%2Flibrary%2Fpullable&tag=latest');
  assert.equal(d.calls.filter((c) => c.path === '/containers/create').length, 2);
});

test('missing image that cannot be pulled: exit 125 with docker wording', async () => {
  const d = await fakeDaemon();
  const r = await run(d.host, ['run', 'nosuch']);
  assert.equal(r.code, 125);
  assert.equal(
    r.err,
    "Unable to find image 'nosuch:latest' locally\nberth: Error response from daemon: pull access denied for docker.io/library/nosuch, repository does not exist\n\nRun 'berth run --help' for more information\n",
  );
});

test('flag and argument errors: docker wording and exit codes', async () => {
  const d = await fakeDaemon();
  const unknown = await run(d.host, ['ps', '--bogus']);
  assert.equal(unknown.code, 125);
  assert.equal(unknown.err, "unknown flag: --bogus\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n");
  const missing = await run(d.host, ['logs']);
  assert.equal(missing.code, 1);
  assert.equal(missing.err, "berth: 'berth logs' requires 1 argument\n\nUsage:  berth logs [OPTIONS] CONTAINER\n\nRun 'berth logs --help' for more information\n");
  // Each of docker's argument checks (cli/required.go), in its words.
  for (const [args, err] of [
    [['ps', 'x'], "berth: 'berth ps' accepts no arguments\n\nUsage:  berth ps [OPTIONS]\n\nRun 'berth ps --help' for more information\n"],
    [['pause'], "berth: 'berth pause' requires at least 1 argument\n\nUsage:  berth pause CONTAINER [CONTAINER...]\n\nSee 'berth pause --help' for more information\n"],
    [['login', 'a', 'b'], "berth: 'berth login' requires at most 1 argument\n\nUsage:  berth login [OPTIONS] [SERVER]\n\nRun 'berth login --help' for more information\n"],
    [['port'], "berth: 'berth port' requires at least 1 and at most 2 arguments\n\nUsage:  berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n\nRun 'berth port --help' for more information\n"],
  ] as const) {
    const r = await run(d.host, [...args]);
    assert.equal(r.code, 1);
    assert.equal(r.err, err, args.join(' '));
  }
  const badInt = await run(d.host, ['stop', '-t', 'soon', 'x']);
  assert.equal(badInt.code, 125);
  assert.match(badInt.err, /invalid argument "soon" for "-t, --timeout" flag/);
  const cmd = await run(d.host, ['frobnicate']);
  assert.equal(cmd.code, 1);
  assert.match(cmd.err, /unknown command: berth frobnicate/);
  const notFound = await run(d.host, ['logs', 'missing']);
  assert.equal(notFound.code, 1);
  assert.equal(notFound.err, 'Error response from daemon: No such container: missing\n');
});
