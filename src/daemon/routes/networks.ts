// Network routes: /networks list, inspect, create, remove, connect, disconnect, prune.
import { Router, filtersParam, boolParam } from '../http/router.js';
import type { Daemon } from '../daemon.js';
import { InvalidParameterError, NotFoundError } from '../../errors.js';
import type { NetworkService, NetworkCreateBody } from '../../network/service.js';
import type { NetworkRecord } from '../../network/types.js';
import { timestampMs } from '../../util/human.js';

const LIST_FILTERS = new Set(['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);

function labelMatch(n: NetworkRecord, want: string): boolean {
  const i = want.indexOf('=');
  if (i < 0) return want in n.labels;
  return n.labels[want.slice(0, i)] === want.slice(i + 1);
}

/** Docker's network filters: values of one key OR together, keys AND together. */
export function networkFilter(svc: NetworkService, filters: Map<string, string[]>, allowed = LIST_FILTERS): (n: NetworkRecord) => boolean {
  for (const k of filters.keys()) if (!allowed.has(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  for (const v of filters.get('type') ?? []) if (v !== 'custom' && v !== 'builtin') throw new InvalidParameterError(`invalid filter: 'type'='${v}'`);
  for (const v of filters.get('dangling') ?? []) if (!['true', 'false', '1', '0'].includes(v)) throw new InvalidParameterError(`invalid filter 'dangling=${v}'`);
  const until = filters.get('until')?.[0];
  const untilMs = until === undefined ? undefined : timestampMs(until);
  const any = (k: string, f: (v: string) => boolean) => { const vs = filters.get(k); return !vs || vs.length === 0 || vs.some(f); };
  return (n) => any('driver', (v) => v === n.driver)
    && any('id', (v) => n.id.startsWith(v))
    && any('name', (v) => n.name.includes(v))
    && any('scope', (v) => v === 'local')
    && any('type', (v) => (v === 'builtin') === svc.isPredefined(n))
    && (filters.get('label') ?? []).every((v) => labelMatch(n, v))
    && (filters.get('label!') ?? []).every((v) => !labelMatch(n, v))
    && any('dangling', (v) => ((v === 'true' || v === '1') === (!svc.isPredefined(n) && svc.activeEndpoints(n.id).length === 0)))
    && (untilMs === undefined || Date.parse(n.created) < untilMs);
}

export function registerNetworkRoutes(r: Router, d: Daemon, svc: NetworkService): void {
  void d;
  r.get('/networks', (ctx) => {
    const f = networkFilter(svc, filtersParam(ctx.query));
    ctx.send(200, svc.list().filter(f).map((n) => svc.inspect(n, false)));
  });

  r.get('/networks/:id', (ctx) => {
    // verbose/scope are swarm features; a local network answers the same either way.
    void boolParam(ctx.query, 'verbose');
    const scope = ctx.query.get('scope');
    const n = svc.get(ctx.params.id);
    if (scope && scope !== 'local') throw new NotFoundError(`network ${ctx.params.id} not found`);
    ctx.send(200, svc.inspect(n));
  });

  r.post('/networks/create', async (ctx) => {
    const body = await ctx.json<NetworkCreateBody>();
    const { id, warning } = svc.create(body);
    ctx.send(201, { Id: id, Warning: warning });
  });

  r.delete('/networks/:id', (ctx) => {
    svc.remove(ctx.params.id);
    ctx.send(204);
  });

  r.post('/networks/:id/connect', async (ctx) => {
    const body = await ctx.json<{ Container?: string; EndpointConfig?: unknown }>({});
    if (!body.Container) throw new InvalidParameterError('Container is required');
    await svc.connect(ctx.params.id, body.Container, body.EndpointConfig);
    ctx.send(200, '');
  });

  r.post('/networks/:id/disconnect', async (ctx) => {
    const body = await ctx.json<{ Container?: string; Force?: boolean }>({});
    if (!body.Container) throw new InvalidParameterError('Container is required');
    await svc.disconnect(ctx.params.id, body.Container, body.Force === true);
    ctx.send(200, '');
  });

  r.post('/networks/prune', (ctx) => {
    const f = networkFilter(svc, filtersParam(ctx.query), new Set(['until', 'label', 'label!']));
    const deleted = svc.prune(f);
    // dockerd answers null, not [], when nothing was removed.
    ctx.send(200, { NetworksDeleted: deleted.length ? deleted : null });
  });
}
