// Engine API image routes: parse the request, call the image service, serialise the answer.
import { Readable } from 'node:stream';
import { Router, Context, boolParam, filtersParam } from '../http/router.js';
import { InvalidParameterError, SystemError } from '../../errors.js';
import { ImageDaemon, imageService } from '../../image/service.js';
import { JsonMessageWriter } from '../../image/progress.js';

/** Runs a JSON-message operation: errors before the first message are plain HTTP errors. */
export async function streamMessages(ctx: Context, run: (w: JsonMessageWriter) => Promise<void>): Promise<void> {
  if (!ctx.res) throw new SystemError('streaming response needs a plain HTTP request');
  const w = new JsonMessageWriter(ctx.res);
  try {
    await run(w);
  } catch (e) {
    if (!w.hasStarted) throw e;
    w.error(e);
  }
  w.end();
}

export function registerImageRoutes(r: Router, d: ImageDaemon): void {
  const svc = () => imageService(d);

  r.get('/images/json', async (ctx) => {
    const list = await svc().list({
      all: boolParam(ctx.query, 'all'), filters: filtersParam(ctx.query), apiVersionAtLeast: ctx.versionAtLeast,
    });
    ctx.send(200, list);
  });

  r.get('/images/*name/json', async (ctx) => {
    ctx.send(200, await svc().inspect(ctx.params.name, ctx.versionAtLeast));
  });

  r.get('/images/*name/history', async (ctx) => {
    ctx.send(200, await svc().history(ctx.params.name));
  });

  r.post('/images/*name/tag', (ctx) => {
    svc().tag(ctx.params.name, ctx.query.get('repo') ?? '', ctx.query.get('tag') ?? undefined);
    ctx.send(201);
  });

  r.delete('/images/*name', async (ctx) => {
    const out = await svc().remove(ctx.params.name, { force: boolParam(ctx.query, 'force'), noprune: boolParam(ctx.query, 'noprune') });
    ctx.send(200, out);
  });

  // docker save: one name (GET /images/{name}/get) or many (GET /images/get?names=a&names=b).
  const save = (ctx: Context, names: string[]) => {
    const stream = svc().save(names);
    if (!ctx.res) throw new SystemError('streaming response needs a plain HTTP request');
    const res = ctx.res;
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    return new Promise<void>((resolve) => {
      stream.on('error', (e) => { d.log(`save: ${(e as Error).message}`); res.destroy(e); resolve(); });
      res.on('close', () => { stream.destroy(); resolve(); });
      stream.pipe(res);
      stream.on('end', () => resolve());
    });
  };
  r.get('/images/get', (ctx) => save(ctx, ctx.query.getAll('names').flatMap((n) => n.split(',')).filter(Boolean)));
  r.get('/images/*name/get', (ctx) => save(ctx, [ctx.params.name]));

  r.post('/images/load', async (ctx) => {
    const quiet = boolParam(ctx.query, 'quiet');
    await streamMessages(ctx, async (w) => {
      await svc().load(ctx.bodyStream() as Readable, (m) => { if (!quiet || m.stream) w.send(m); });
    });
  });

  r.post('/images/prune', async (ctx) => {
    ctx.send(200, await svc().prune(filtersParam(ctx.query)));
  });

  r.post('/images/create', async (ctx) => {
    const q = ctx.query;
    const fromSrc = q.get('fromSrc');
    const fromImage = q.get('fromImage');
    if (fromSrc !== null && fromSrc !== '') {
      if (fromSrc !== '-') throw new InvalidParameterError('importing from a URL is not supported; send the tarball as the request body (fromSrc=-)');
      const opts = {
        repo: q.get('repo') ?? undefined, tag: q.get('tag') ?? undefined, changes: q.getAll('changes'),
        message: q.get('message') ?? undefined, platform: q.get('platform') ?? undefined,
      };
      await streamMessages(ctx, async (w) => { await svc().importTarball(ctx.bodyStream() as Readable, opts, w.send); });
      return;
    }
    if (fromImage !== null && fromImage !== '') {
      const { pullRoute } = await import('./distribution.js');
      await pullRoute(ctx, d);
      return;
    }
    throw new InvalidParameterError('either fromSrc or fromImage must be given');
  });
}
