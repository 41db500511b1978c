// POST /build (the classic builder's API, which docker without buildx, compose and dockerode use)
// and build-cache pruning, backed by the Dockerfile builder in src/build.
import { join } from 'node:path';
import { Router, boolParam, filtersParam, intParam } from '../http/router.js';
import type { Daemon } from '../daemon.js';
import { Builder } from '../../build/builder.js';
import { DaemonBuildBackend } from '../../build/daemon-backend.js';
import { buildRoute, cleanBuildState } from '../../build/http.js';
import { buildCacheUsage, pruneBuildCache } from '../../build/cache-usage.js';
import { imageService } from '../../image/service.js';
import { parseReference, withDefaultTag } from '../../image/reference.js';

/** Call after the network and volume hooks are in place: build steps wrap them. */
export async function registerBuildRoutes(r: Router, d: Daemon): Promise<void> {
  const stateDir = join(d.config.dataRoot, 'build');
  await cleanBuildState(stateDir);
  const backend = new DaemonBuildBackend({
    db: d.db, images: d.images, containers: d.containers, events: d.events, stateDir,
    pull: async (ref, platform, progress) => {
      await imageService(d).pull({ ref: withDefaultTag(parseReference(ref)), platform: platform ?? null }, (m) => {
        if (m.status) progress(m.id ? `${m.id}: ${m.status}` : m.status);
      });
    },
  });
  const builder = new Builder(backend, { stateDir });
  r.post('/build', buildRoute({ builder, stateDir }));
  r.post('/build/prune', async (ctx) => {
    const q = ctx.query;
    ctx.send(200, await pruneBuildCache(backend, stateDir, {
      all: boolParam(q, 'all'),
      filters: filtersParam(q),
      // keep-storage is the name before API 1.48
      reservedSpace: intParam(q, 'reserved-space') ?? intParam(q, 'keep-storage'),
      maxUsedSpace: intParam(q, 'max-used-space'),
      minFreeSpace: intParam(q, 'min-free-space'),
    }));
  });
  d.usage.buildCache = () => buildCacheUsage(backend, stateDir);
}
