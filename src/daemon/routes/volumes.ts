// Volume routes: create, list, inspect, remove, prune — Docker's JSON shapes and error texts.
import { Router, boolParam, filtersParam } from '../http/router.js';
import type { Daemon } from '../daemon.js';
import { InvalidParameterError } from '../../errors.js';
import type { VolumeService, VolumeView, MountPointView } from '../../volume/service.js';
import type { ContainerRecord } from '../../container/types.js';

function volumes(d: Daemon): VolumeService {
  return d.volumes;
}

interface CreateBody { Name?: unknown; Driver?: unknown; DriverOpts?: unknown; Labels?: unknown; ClusterVolumeSpec?: unknown }

function stringMap(field: string, v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new InvalidParameterError(`${field} must be an object of strings`);
  for (const [k, s] of Object.entries(v)) if (typeof s !== 'string') throw new InvalidParameterError(`${field}.${k} must be a string`);
  return v as Record<string, string>;
}

export function registerVolumeRoutes(r: Router, d: Daemon): void {
  const svc = () => volumes(d);

  r.post('/volumes/create', async (ctx) => {
    const body = await ctx.json<CreateBody>({});
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidParameterError('invalid volume create request: expected a JSON object');
    if (body.Name !== undefined && body.Name !== null && typeof body.Name !== 'string') throw new InvalidParameterError('Name must be a string');
    if (body.Driver !== undefined && body.Driver !== null && typeof body.Driver !== 'string') throw new InvalidParameterError('Driver must be a string');
    if (body.ClusterVolumeSpec) throw new InvalidParameterError('cluster volumes require swarm mode, which berth does not support');
    const v = svc().create({
      name: (body.Name as string | undefined) || undefined, driver: (body.Driver as string | undefined) || undefined,
      options: stringMap('DriverOpts', body.DriverOpts), labels: stringMap('Labels', body.Labels),
    });
    ctx.send(201, svc().view(v));
  });

  r.get('/volumes', (ctx) => {
    const list = svc().list(filtersParam(ctx.query)).map((v) => svc().view(v));
    ctx.send(200, { Volumes: list, Warnings: [] });
  });

  r.post('/volumes/prune', async (ctx) => {
    ctx.send(200, await svc().prune(filtersParam(ctx.query), ctx.versionAtLeast('1.42')));
  });

  r.get('/volumes/:name', (ctx) => {
    ctx.send(200, svc().view(svc().get(ctx.params.name)));
  });

  r.delete('/volumes/:name', async (ctx) => {
    await svc().remove(ctx.params.name, boolParam(ctx.query, 'force'));
    ctx.send(204);
  });

  // Swarm's cluster-volume update; a local engine answers as Docker does without swarm.
  r.put('/volumes/:name', () => {
    throw new InvalidParameterError('volume update is only supported for cluster volumes, which require swarm mode');
  });
}

/** `Mounts` of inspect and ps, for registerContainerRoutes(r, d, { mounts }). */
export function mountsView(d: Daemon): (c: ContainerRecord) => MountPointView[] {
  return (c) => volumes(d).mountPoints(c);
}

/** Volumes with their sizes and reference counts, for `GET /system/df` (`system df -v`). */
export function volumeDiskUsage(d: Daemon): Promise<VolumeView[]> {
  return volumes(d).diskUsage();
}
