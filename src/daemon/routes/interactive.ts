// Routes for what is done with a container's contents and resources: changes (docker diff),
// commit, stats.
import { Router, boolParam } from '../http/router.js';
import type { Daemon } from '../daemon.js';
import { InvalidParameterError } from '../../errors.js';
import { containerChanges } from '../../container/changes.js';
import { commitContainer } from '../../container/commit.js';
import { sampleStats, emptyStats, StatsJSON } from '../../container/stats.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function registerInteractiveRoutes(r: Router, d: Daemon): void {
  const svc = d.containers;

  r.get('/containers/:id/changes', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const items = await containerChanges(svc, d.images, c);
    // API: an unchanged container answers null, not [].
    ctx.send(200, items.length ? items : null);
  });

  r.post('/commit', async (ctx) => {
    const ref = ctx.query.get('container');
    if (!ref) throw new InvalidParameterError('container is required');
    const c = svc.get(ref);
    const body = await ctx.json<Record<string, unknown> | null>(null);
    void body; // dockerd merges a Config body into the image config; berth takes the container's.
    const changes = ctx.query.getAll('changes').filter((x) => x !== '');
    const id = await commitContainer(svc, d.images, d.events, c, {
      repo: ctx.query.get('repo') || undefined, tag: ctx.query.get('tag') || undefined,
      comment: ctx.query.get('comment') || undefined, author: ctx.query.get('author') || undefined,
      pause: boolParam(ctx.query, 'pause', true), changes,
    });
    ctx.send(201, { Id: id });
  });

  r.get('/containers/:id/stats', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const stream = boolParam(ctx.query, 'stream', true);
    const oneShot = boolParam(ctx.query, 'one-shot');
    if (oneShot && stream) throw new InvalidParameterError('cannot have stream=true and one-shot=true');
    const res = ctx.res;
    if (!res) throw new InvalidParameterError('stats cannot be upgraded');
    const cg = svc.cgroupsPath(c.id);
    const mode = d.cgroupMode;
    const current = () => svc.tryGet(c.id);
    const sample = (prev?: StatsJSON): StatsJSON => {
      const cur = current();
      return cur && cur.state.Running ? sampleStats(cur, cg, mode, prev) : emptyStats(cur ?? c);
    };
    if (!stream) {
      // Without one-shot dockerd waits for a second sample so that CPU % can be computed.
      let s = sample();
      if (!oneShot && c.state.Running) { await sleep(1000); s = sample(s); }
      ctx.send(200, s);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': '1.51', 'Ostype': 'linux' });
    let closed = false;
    res.on('close', () => { closed = true; });
    let prev: StatsJSON | undefined;
    while (!closed) {
      const s = sample(prev);
      res.write(`${JSON.stringify(s)}\n`);
      prev = s;
      const cur = current();
      if (!cur) break;
      await sleep(1000);
    }
    res.end();
  });
}
