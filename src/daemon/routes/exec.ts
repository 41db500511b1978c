// Exec routes: create, start (hijacked stream), inspect, resize.
import type { Duplex } from 'node:stream';
import { Router, intParam } from '../http/router.js';
import type { Daemon } from '../daemon.js';
import type { ExecConfig } from '../../container/exec.js';
import { frame, STDOUT, STDERR, RAW_STREAM, MULTIPLEXED_STREAM } from '../http/stdcopy.js';
import { parseDetachKeys } from './containers.js';

export function registerExecRoutes(r: Router, d: Daemon): void {
  r.post('/containers/:id/exec', async (ctx) => {
    const body = await ctx.json<ExecConfig>();
    const id = d.execs.create(ctx.params.id, body);
    ctx.send(201, { Id: id });
  });

  r.get('/exec/:id/json', (ctx) => { ctx.send(200, d.execs.inspect(ctx.params.id)); });

  r.post('/exec/:id/resize', async (ctx) => {
    d.execs.get(ctx.params.id);
    await d.execs.resize(ctx.params.id, intParam(ctx.query, 'h') ?? 0, intParam(ctx.query, 'w') ?? 0);
    ctx.send(200, '');
  });

  r.post('/exec/:id/start', async (ctx) => {
    const body = await ctx.json<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] }>({});
    const e = d.execs.get(ctx.params.id);
    if (body.ConsoleSize && body.ConsoleSize[0] > 0) e.config.ConsoleSize = body.ConsoleSize;
    if (body.Detach) {
      await d.execs.start(e.id, { detach: true });
      ctx.send(200, '');
      return;
    }
    const tty = e.config.Tty === true;
    // Take the connection first: a failure to start is reported inside the stream, as moby does.
    const sock: Duplex = await ctx.hijack(tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    const write = (s: 'stdout' | 'stderr', data: Buffer) => {
      if (sock.writable) sock.write(tty ? data : frame(s === 'stdout' ? STDOUT : STDERR, data));
    };
    let session;
    try {
      session = await d.execs.start(e.id, {
        detach: false,
        detachKeys: parseDetachKeys(e.config.DetachKeys ?? null),
        sink: { output: write, end: () => { if (!sock.destroyed) sock.end(); } },
      });
    } catch (err) {
      write('stdout', Buffer.from(`${(err as Error).message}\r\n`));
      sock.end();
      return;
    }
    sock.on('data', (b: Buffer) => session?.write(b));
    sock.on('end', () => session?.closeStdin());
    sock.on('close', () => session?.close());
    sock.on('error', () => session?.close());
  });
}
