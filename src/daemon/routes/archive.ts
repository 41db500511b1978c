// Archive routes: HEAD/GET/PUT /containers/{id}/archive (docker cp) and GET /containers/{id}/export.
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { Router, boolParam } from '../http/router.js';
import type { Daemon } from '../daemon.js';
import { InvalidParameterError } from '../../errors.js';
import { withRootfs, statPath, archivePath, extractArchive, exportRootfs, encodePathStat } from '../../container/archive.js';

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

export function registerArchiveRoutes(r: Router, d: Daemon): void {
  const svc = d.containers;

  const pathParam = (q: URLSearchParams): string => {
    const p = q.get('path');
    if (p === null || p === '') throw new InvalidParameterError('path is required');
    return p;
  };

  r.head('/containers/:id/archive', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const path = pathParam(ctx.query);
    const { stat } = await withRootfs(svc, d.images, c, (root) => statPath(root, c, path));
    ctx.send(200, undefined, { [STAT_HEADER]: encodePathStat(stat), 'Content-Type': 'application/json' });
  });

  r.get('/containers/:id/archive', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const path = pathParam(ctx.query);
    const res = ctx.res;
    if (!res) throw new InvalidParameterError('archive cannot be upgraded');
    const { stat, stream } = await withRootfs(svc, d.images, c, (root) => archivePath(root, c, path));
    res.writeHead(200, { 'Content-Type': 'application/x-tar', [STAT_HEADER]: encodePathStat(stat), 'Api-Version': '1.51', 'Ostype': 'linux' });
    d.events.emit('container', 'archive-path', c.id, { image: c.imageName, name: c.name });
    await streamOut(stream, res);
  });

  r.put('/containers/:id/archive', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const path = pathParam(ctx.query);
    const opts = { copyUidGid: boolParam(ctx.query, 'copyUIDGID'), noOverwriteDirNonDir: boolParam(ctx.query, 'noOverwriteDirNonDir') };
    const body = ctx.bodyStream() as Readable;
    try {
      await withRootfs(svc, d.images, c, (root) => extractArchive(root, c, path, body, opts));
    } catch (e) {
      body.resume();
      throw e;
    }
    d.events.emit('container', 'extract-to-dir', c.id, { image: c.imageName, name: c.name });
    ctx.send(200, '');
  });

  r.get('/containers/:id/export', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const res = ctx.res;
    if (!res) throw new InvalidParameterError('export cannot be upgraded');
    const stream = await withRootfs(svc, d.images, c, async (root) => exportRootfs(root));
    res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Api-Version': '1.51', 'Ostype': 'linux' });
    await streamOut(stream, res);
    d.events.emit('container', 'export', c.id, { image: c.imageName, name: c.name });
  });
}

/** Once the 200 is out an error can only cut the stream short, as dockerd does. */
async function streamOut(stream: Readable, res: import('node:http').ServerResponse): Promise<void> {
  try {
    await pipeline(stream, res);
  } catch {
    stream.destroy();
    res.destroy();
  }
}
