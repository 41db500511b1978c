// What berth does not run, swarm mode and managed plugins, answered as a dockerd that has
// neither answers: clients (the docker CLI, compose, Portainer) probe these and read the
// errors, so a 404 "page not found" would be the wrong answer.
import type { Router } from '../http/router.js';
import { filtersParam } from '../http/router.js';
import { InvalidParameterError, NotFoundError, NotImplementedError, UnavailableError } from '../../errors.js';

const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

/** Swarm's objects, by the paths the Engine API gives them. */
const SWARM_READS = ['/swarm', '/swarm/unlockkey', '/nodes', '/nodes/:id', '/services', '/services/:id', '/services/:id/logs',
  '/tasks', '/tasks/:id', '/tasks/:id/logs', '/secrets', '/secrets/:id', '/configs', '/configs/:id'];
const SWARM_WRITES = ['/swarm/update', '/swarm/unlock', '/nodes/:id/update', '/services/create', '/services/:id/update',
  '/secrets/create', '/secrets/:id/update', '/configs/create', '/configs/:id/update'];
const SWARM_DELETES = ['/nodes/:id', '/services/:id', '/secrets/:id', '/configs/:id'];

export function registerSwarmAndPluginRoutes(r: Router): void {
  const notManager = () => { throw new UnavailableError(NOT_A_MANAGER); };
  for (const p of SWARM_READS) r.get(p, notManager);
  for (const p of SWARM_WRITES) r.post(p, notManager);
  for (const p of SWARM_DELETES) r.delete(p, notManager);
  r.post('/swarm/leave', () => { throw new UnavailableError('This node is not part of a swarm'); });
  for (const p of ['/swarm/init', '/swarm/join']) r.post(p, () => { throw new NotImplementedError('berth does not run swarm mode'); });

  r.get('/plugins', (ctx) => {
    for (const k of filtersParam(ctx.query).keys()) {
      if (k !== 'capability' && k !== 'enable') throw new InvalidParameterError(`invalid filter '${k}'`);
    }
    ctx.send(200, []);
  });
  const noSuchPlugin = (name: string) => { throw new NotFoundError(`plugin "${name}" not found`); };
  r.get('/plugins/:name/json', (ctx) => noSuchPlugin(ctx.params.name ?? ''));
  for (const action of ['enable', 'disable', 'upgrade', 'push', 'set']) r.post(`/plugins/:name/${action}`, (ctx) => noSuchPlugin(ctx.params.name ?? ''));
  r.delete('/plugins/:name', (ctx) => noSuchPlugin(ctx.params.name ?? ''));
  const noPlugins = () => { throw new NotImplementedError('berth does not support managed plugins'); };
  r.get('/plugins/privileges', noPlugins);
  r.post('/plugins/pull', noPlugins);
  r.post('/plugins/create', noPlugins);
}
