// `docker commit`: the container's upper dir becomes a new layer on top of its image, and the
// container's config (with `--change` instructions applied) becomes the new image's config.
import { InvalidParameterError } from '../errors.js';
import type { ContainerRecord } from './types.js';
import type { ContainerService } from './service.js';
import type { ImageStore } from '../image/store.js';
import type { EventBus } from '../daemon/events.js';
import type { ContainerConfigSpec, ImageConfig } from '../image/types.js';
import { applyChanges } from '../image/changes.js';
import { parseReference, withDefaultTag, repositoryName, familiarString, isValidTag } from '../image/reference.js';
import { changesLayerTar } from './changes.js';

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  pause: boolean;
  changes: string[];
}

/** The image config's `config` from a container's: only the fields an image carries. */
function imageConfigOf(c: ContainerRecord, base: ContainerConfigSpec | undefined): ContainerConfigSpec {
  const cc = c.config;
  const out: ContainerConfigSpec = {
    User: cc.User ?? '', Env: cc.Env ?? [], Cmd: cc.Cmd ?? null, Entrypoint: cc.Entrypoint ?? null, WorkingDir: cc.WorkingDir ?? '',
    Labels: cc.Labels ?? {}, OnBuild: null,
  };
  if (cc.ExposedPorts && Object.keys(cc.ExposedPorts).length) out.ExposedPorts = cc.ExposedPorts as ContainerConfigSpec['ExposedPorts'];
  if (cc.Volumes && Object.keys(cc.Volumes).length) out.Volumes = cc.Volumes as ContainerConfigSpec['Volumes'];
  if (cc.StopSignal) out.StopSignal = cc.StopSignal;
  if (cc.Healthcheck) out.Healthcheck = cc.Healthcheck as ContainerConfigSpec['Healthcheck'];
  if (base?.Shell) out.Shell = base.Shell;
  return out;
}

export async function commitContainer(svc: ContainerService, images: ImageStore, events: EventBus, c: ContainerRecord, o: CommitOptions): Promise<string> {
  let target;
  if (o.repo) {
    try { target = parseReference(o.repo); } catch (e) { throw new InvalidParameterError(`invalid reference format: ${(e as Error).message}`); }
    if (o.tag) {
      if (!isValidTag(o.tag)) throw new InvalidParameterError('invalid tag format');
      target = { ...target, tag: o.tag };
    }
    target = withDefaultTag(target);
  } else if (o.tag) {
    throw new InvalidParameterError('invalid reference format: tag given without repository');
  }
  const baseConfig = await images.config(c.imageId);
  // Validate the changes before any work, so bad input leaves nothing behind.
  const config = applyChanges(imageConfigOf(c, baseConfig.config), o.changes);
  const pause = o.pause && c.state.Running && !c.state.Paused;
  // The runtime is frozen directly: a commit's pause is not a user-visible pause (no events).
  if (pause) await svc.runtimeFor(c).pause(c.id);
  let layer;
  try {
    const tarStream = await changesLayerTar(svc, images, c);
    layer = await images.layers.createFromTar(c.topChainId, tarStream);
  } finally {
    if (pause) await svc.runtimeFor(c).resume(c.id).catch(() => undefined);
  }
  const created = new Date().toISOString();
  const history = [...(baseConfig.history ?? []), {
    created, created_by: [c.path, ...c.args].join(' '), ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}),
  }];
  const img: ImageConfig = {
    architecture: baseConfig.architecture, os: baseConfig.os, ...(baseConfig.variant ? { variant: baseConfig.variant } : {}),
    created, ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}),
    container: c.id, docker_version: '28.5.2', config,
    rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, layer.diffId] },
    history,
  };
  const rec = await images.create(JSON.stringify(img), { parent: c.imageId });
  let imageRef = '';
  if (target) {
    images.tag(rec.id, `${repositoryName(target)}:${target.tag}`);
    imageRef = familiarString(target);
  }
  events.emit('container', 'commit', c.id, {
    comment: o.comment ?? '', image: c.imageName, imageID: rec.id, imageRef, name: c.name, ...(c.config.Labels ?? {}),
  });
  if (target) events.emit('image', 'tag', rec.id, { name: imageRef });
  return rec.id;
}
