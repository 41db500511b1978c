// The image service: what the image routes of the Engine API do, on top of the image, layer and
// content stores. Routes only translate HTTP; every rule Docker applies (what `rmi` may delete,
// which images `images` lists, what prune removes) lives here.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js';
import type { ContentStore } from '../store/content.js';
import type { Db } from '../store/db.js';
import { BlobRecords } from './blobrecords.js';
import { pull, PullOptions, clientFor } from './pull.js';
import { push, PushOptions, tagsToPush } from './push.js';
import { Credentials } from '../registry/client/auth.js';
import { searchRegistry, type SearchResult } from '../registry/client/search.js';
import { loadArchive, resolveSaveNames, saveArchive } from './archive.js';
import type { EventBus } from '../daemon/events.js';
import { LayerStore, chainIds } from './layers.js';
import { ImageStore, ImageRecord } from './store.js';
import { ContainerConfigSpec, ImageConfig } from './types.js';
import {
  Reference, parseReference, familiarString, familiarRepository, repositoryName, withDefaultTag, isValidTag,
} from './reference.js';
import {
  checkFilterKeys, danglingFilter, labelsMatch, labelsExclude, referenceMatches,
} from './filters.js';
import { timestampMs } from '../util/human.js';
import { applyChanges } from './changes.js';
import { ProgressSink } from './progress.js';
import { hostArchitecture } from './platform.js';

export { hostArchitecture };

/** What the image service needs of a container manager. */
export interface ImageUsers {
  usersOfImage(imageId: string): { id: string; name: string; running: boolean }[];
  /** Chain IDs that containers stand on, so a force-removed image's layers stay while in use. */
  referencedChains?(): Iterable<string>;
}

/** The parts of the daemon the image service uses (the Daemon class fits structurally). */
export interface ImageDaemon {
  config: { dataRoot: string; insecureRegistries?: string[] };
  db: Db;
  content: ContentStore;
  layers: LayerStore;
  images: ImageStore;
  events: EventBus;
  log(line: string): void;
  containers: ImageUsers;
}

// --- Engine API wire types (swagger definitions ImageSummary, ImageInspect, HistoryResponseItem) ---

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  /** API < 1.44 only. */
  VirtualSize?: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize?: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export type DeleteRecord = { Untagged: string } | { Deleted: string };

export interface PruneReport {
  ImagesDeleted: DeleteRecord[] | null;
  SpaceReclaimed: number;
}

export interface ImageDiskUsage {
  LayersSize: number;
  Images: ImageSummary[];
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function secondsOf(iso: string | undefined): number {
  if (!iso) return 0;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

function isIdPrefix(id: string, s: string): boolean {
  const p = s.replace(/^sha256:/, '');
  return /^[a-f0-9]+$/.test(p) && id.replace(/^sha256:/, '').startsWith(p);
}

/** Docker's old (API < 1.50) container-config shape of ImageInspect.Config, with its defaults. */
function legacyConfig(c: ContainerConfigSpec): Record<string, unknown> {
  return {
    Hostname: '', Domainname: '', User: c.User ?? '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    ExposedPorts: c.ExposedPorts, Tty: false, OpenStdin: false, StdinOnce: false, Env: c.Env ?? null, Cmd: c.Cmd ?? null,
    Healthcheck: c.Healthcheck, ArgsEscaped: c.ArgsEscaped, Image: '', Volumes: c.Volumes ?? null, WorkingDir: c.WorkingDir ?? '',
    Entrypoint: c.Entrypoint ?? null, OnBuild: c.OnBuild ?? null, Labels: c.Labels ?? null, StopSignal: c.StopSignal, Shell: c.Shell,
  };
}

/**
 * Docker's isSingleReference: one tag (with any digests of its own repository), or digests of
 * one repository only. Deleting by ID then removes those names without asking for force.
 */
export function isSingleReference(tags: Reference[], digests: Reference[]): boolean {
  const n = tags.length + digests.length;
  if (n <= 1) return n === 1;
  if (tags.length > 1) return false;
  const repos = new Set(digests.map(repositoryName));
  const single = tags[0] ?? digests[0];
  return repos.size === 1 && repos.has(repositoryName(single));
}

class DeleteConflict extends ConflictError {
  constructor(id: string, hard: boolean, why: string, readonly used: boolean) {
    super(`conflict: unable to delete ${shortId(id)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${why}`);
  }
}

export interface ImportOptions {
  repo?: string;
  tag?: string;
  changes?: string[];
  message?: string;
  platform?: string;
}

export class ImageService {
  /** Chain IDs of pulls, loads and imports in flight: layer pruning must leave them alone. */
  private readonly held = new Map<string, number>();

  readonly records: BlobRecords;

  constructor(readonly d: ImageDaemon) {
    this.records = new BlobRecords(d.db);
  }

  /** POST /images/create?fromImage=. */
  async pull(opts: PullOptions & { allTags?: boolean }, progress: ProgressSink): Promise<void> {
    await pull({ d: this.d, records: this.records, hold: (c) => this.hold(c) }, opts, progress);
  }

  /** POST /images/{name}/push: resolves the local tags first so a missing one is a plain 404. */
  async push(opts: PushOptions, progress: ProgressSink): Promise<void> {
    const deps = { d: this.d, records: this.records, hold: (c: string) => this.hold(c) };
    tagsToPush(deps, opts.ref);
    await push(deps, opts, progress);
  }

  /** GET /images/get: names are resolved now (404 before any byte), the tar streams after. */
  save(names: string[]): Readable {
    return saveArchive(this.d, resolveSaveNames(this.d, names));
  }

  /** POST /images/load. */
  async load(body: Readable, progress: ProgressSink): Promise<string[]> {
    return loadArchive(this.d, body, (c) => this.hold(c), progress);
  }

  /** POST /auth: checks credentials against the registry, as `docker login` asks the daemon to. */
  /** `docker search`: the term's registry (Docker Hub's index unless the term names a host). */
  search(term: string, opts: { limit?: number; filters?: Map<string, string[]>; credentials?: Credentials }): Promise<SearchResult[]> {
    return searchRegistry(term, { limit: opts.limit, filters: opts.filters, client: (domain) => clientFor(this.d, { domain, path: 'x' }, opts.credentials) });
  }

  async login(serverAddress: string, credentials: Credentials): Promise<void> {
    const host = registryDomain(serverAddress);
    const client = clientFor(this.d, { domain: host, path: 'x' }, credentials);
    await client.login();
  }

  /** Downloaded blobs that never became a layer (an abandoned pull): removed by prune. */
  private async dropPendingBlobs(): Promise<number> {
    let n = 0;
    for (const digest of this.records.pending()) {
      if (!this.layers.blobInUse(digest)) {
        n += this.d.content.size(digest) ?? 0;
        await this.d.content.delete(digest);
      }
      this.records.removePending(digest);
    }
    return n;
  }

  get images(): ImageStore { return this.d.images; }
  get layers(): LayerStore { return this.d.layers; }

  hold(chainId: string): () => void {
    this.held.set(chainId, (this.held.get(chainId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.held.get(chainId) ?? 1) - 1;
      if (n <= 0) this.held.delete(chainId); else this.held.set(chainId, n);
    };
  }

  private emit(action: string, id: string, name?: string): void {
    this.d.events.emit('image', action, id, name ? { name } : {});
  }

  // ---------------------------------------------------------------- list / inspect / history

  async list(opts: { all?: boolean; filters?: Map<string, string[]>; apiVersionAtLeast?: (v: string) => boolean } = {}): Promise<ImageSummary[]> {
    const filters = opts.filters ?? new Map<string, string[]>();
    checkFilterKeys(filters, ['before', 'since', 'reference', 'dangling', 'label', 'until']);
    const dangling = danglingFilter(filters);
    const refPatterns = filters.get('reference') ?? [];
    const beforeT = this.filterImageTimes(filters.get('before'));
    const sinceT = this.filterImageTimes(filters.get('since'));
    const until = filters.get('until')?.map((v) => timestampMs(v) / 1000);
    const atLeast = opts.apiVersionAtLeast ?? (() => true);

    const records = this.images.list();
    const children = new Map<string, number>();
    for (const r of records) if (r.parent) children.set(r.parent, (children.get(r.parent) ?? 0) + 1);

    const out: ImageSummary[] = [];
    for (const rec of records) {
      const refs = this.images.references(rec.id);
      let tags = refs.tags;
      let digests = refs.digests;
      const untagged = tags.length === 0 && digests.length === 0;
      // Intermediate images (a build's parents) are hidden unless -a.
      if (!opts.all && untagged && (children.get(rec.id) ?? 0) > 0) continue;
      if (dangling === true && !untagged) continue;
      if (dangling === false && untagged) continue;
      if (beforeT !== undefined && !(rec.created < beforeT)) continue;
      if (sinceT !== undefined && !(rec.created > sinceT)) continue;
      if (until && !until.every((u) => rec.created < u)) continue;
      const config = await this.images.config(rec.id);
      if (!labelsMatch(filters.get('label'), config.config?.Labels)) continue;
      if (refPatterns.length) {
        tags = tags.filter((t) => refPatterns.some((p) => referenceMatches(p, t)));
        digests = digests.filter((t) => refPatterns.some((p) => referenceMatches(p, t)));
        if (tags.length === 0 && digests.length === 0) continue;
      }
      out.push(this.summary(rec, config, tags, digests, atLeast));
    }
    out.sort((a, b) => b.Created - a.Created);
    return out;
  }

  private filterImageTimes(values: string[] | undefined): number | undefined {
    if (!values || values.length === 0) return undefined;
    return this.images.resolve(values[values.length - 1]).created;
  }

  private summary(rec: ImageRecord, config: ImageConfig, tags: Reference[], digests: Reference[], atLeast: (v: string) => boolean): ImageSummary {
    let repoTags = tags.map(familiarString);
    let repoDigests = digests.map((r) => `${familiarRepository(r)}@${r.digest}`);
    // API < 1.43: untagged images carried placeholder names.
    if (!atLeast('1.43')) {
      if (repoTags.length === 0) repoTags = ['<none>:<none>'];
      if (repoDigests.length === 0) repoDigests = ['<none>@<none>'];
    }
    const s: ImageSummary = {
      Id: rec.id, ParentId: rec.parent, RepoTags: repoTags, RepoDigests: repoDigests, Created: rec.created,
      Size: rec.size, SharedSize: -1, Labels: config.config?.Labels ?? {}, Containers: -1,
    };
    if (!atLeast('1.44')) s.VirtualSize = rec.size; // API < 1.44: VirtualSize was still sent.
    return s;
  }

  async inspect(name: string, atLeast: (v: string) => boolean = () => true): Promise<ImageInspect> {
    const rec = this.images.resolve(name);
    const config = await this.images.config(rec.id);
    const diffIds = config.rootfs?.diff_ids ?? [];
    const chains = chainIds(diffIds);
    const last = this.images.lastTagTime(rec.id);
    const out: ImageInspect = {
      Id: rec.id,
      RepoTags: this.images.repoTags(rec.id),
      RepoDigests: this.images.repoDigests(rec.id),
      Parent: rec.parent,
      Comment: config.comment ?? config.history?.[config.history.length - 1]?.comment ?? '',
      Created: config.created ?? '',
      DockerVersion: config.docker_version ?? '',
      Author: config.author ?? '',
      // API >= 1.50 sends the image's own config; older versions the container-config shape.
      Config: atLeast('1.50') ? { ...(config.config ?? {}) } : legacyConfig(config.config ?? {}),
      Architecture: config.architecture ?? '',
      Os: config.os ?? '',
      Size: rec.size,
      GraphDriver: { Name: 'overlay2', Data: this.graphDriverData(chains) },
      RootFS: { Type: 'layers', Layers: diffIds },
      Metadata: { LastTagTime: last ? new Date(last).toISOString() : ZERO_TIME },
    };
    if (config.variant) out.Variant = config.variant;
    if (!atLeast('1.44')) out.VirtualSize = rec.size;
    return out;
  }

  private graphDriverData(chains: string[]): Record<string, string> | null {
    if (chains.length === 0) return null;
    const top = chains[chains.length - 1];
    const topDir = join(this.layers.dir, top.replace(/^sha256:/, ''));
    const data: Record<string, string> = {
      MergedDir: join(topDir, 'merged'), UpperDir: this.layers.diffDir(top), WorkDir: join(topDir, 'work'),
    };
    if (chains.length > 1) data.LowerDir = chains.slice(0, -1).reverse().map((c) => this.layers.diffDir(c)).join(':');
    return data;
  }

  async history(name: string): Promise<HistoryItem[]> {
    const rec = this.images.resolve(name);
    const config = await this.images.config(rec.id);
    const chains = chainIds(config.rootfs?.diff_ids ?? []);
    const entries = config.history && config.history.length ? config.history : chains.map(() => ({}));
    let layer = 0;
    const out: HistoryItem[] = [];
    for (const h of entries as ImageConfig['history'] & object) {
      let size = 0;
      if (!h.empty_layer) {
        if (layer < chains.length && this.layers.has(chains[layer])) size = this.layers.get(chains[layer]).size;
        layer++;
      }
      out.push({ Id: '<missing>', Created: secondsOf(h.created), CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
    }
    out.reverse();
    if (out.length) { out[0].Id = rec.id; out[0].Tags = this.images.repoTags(rec.id); }
    return out;
  }

  // ---------------------------------------------------------------- tag / remove

  /** POST /images/{name}/tag: repo may carry the tag itself. */
  tag(source: string, repo: string, tag: string | undefined): string {
    const rec = this.images.resolve(source);
    if (!repo) throw new InvalidParameterError('repository name must have at least one component');
    let target = parseReference(repo);
    if (target.digest) throw new InvalidParameterError('refusing to create a tag with a digest reference');
    if (tag) {
      if (!isValidTag(tag)) throw new InvalidParameterError(`invalid tag format`);
      target = { ...target, tag };
    }
    target = withDefaultTag(target);
    this.images.tag(rec.id, `${repositoryName(target)}:${target.tag}`);
    this.emit('tag', rec.id, familiarString(target));
    return familiarString(target);
  }

  /** DELETE /images/{name}: Docker's untag-or-delete rules and conflict texts. */
  async remove(name: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<DeleteRecord[]> {
    const force = opts.force ?? false;
    const prune = !(opts.noprune ?? false);
    const rec = this.images.resolve(name);
    const id = rec.id;
    const records: DeleteRecord[] = [];
    const refs = this.images.references(id);
    const all = [...refs.tags, ...refs.digests];
    const singleRepo = isSingleReference(refs.tags, refs.digests);
    let quiet = false;

    if (!isIdPrefix(id, name)) {
      // A name was given: remove that name first, unless a container would be left on a nameless image.
      if (!force && singleRepo) {
        const user = this.d.containers.usersOfImage(id)[0];
        if (user) {
          throw new ConflictError(`conflict: unable to remove repository reference "${name}" (must force) - container ${shortId(user.id)} is using its referenced image ${shortId(id)}`);
        }
      }
      const parsed = parseReference(name);
      const ref = parsed.digest ? parsed : withDefaultTag(parsed);
      this.images.untag(familiarString(ref));
      records.push({ Untagged: familiarString(ref) });
      this.emit('untag', id, familiarString(ref));
      if (!ref.digest) {
        // The last tag of a repository takes that repository's digest references with it.
        const left = this.images.references(id);
        if (!left.tags.some((t) => repositoryName(t) === repositoryName(ref))) {
          for (const dr of left.digests.filter((x) => repositoryName(x) === repositoryName(ref))) {
            const s = `${familiarRepository(dr)}@${dr.digest}`;
            this.images.untag(s);
            records.push({ Untagged: s });
          }
        }
      }
      const rest = this.images.references(id);
      if (rest.tags.length + rest.digests.length > 0) return records;
      quiet = true;
    } else if (all.length > 0 && !force && !singleRepo) {
      throw new DeleteConflict(id, false, 'image is referenced in multiple repositories', false);
    } else if (singleRepo && all.length > 0) {
      const c = this.deleteConflict(id, force ? 'hard' : 'all-but-references');
      if (c) throw c;
      this.untagAll(id, records);
    }
    await this.deleteHelper(id, records, force, prune, quiet);
    return records;
  }

  private untagAll(id: string, records: DeleteRecord[]): void {
    const refs = this.images.references(id);
    for (const t of refs.tags) {
      const s = familiarString(t);
      this.images.untag(s);
      records.push({ Untagged: s });
      this.emit('untag', id, s);
    }
    for (const dr of refs.digests) {
      const s = `${familiarRepository(dr)}@${dr.digest}`;
      this.images.untag(s);
      records.push({ Untagged: s });
    }
  }

  private deleteConflict(id: string, mask: 'hard' | 'all' | 'all-but-references'): DeleteConflict | undefined {
    if (this.images.children(id).length > 0) return new DeleteConflict(id, true, 'image has dependent child images', false);
    const users = this.d.containers.usersOfImage(id);
    const running = users.find((u) => u.running);
    if (running) return new DeleteConflict(id, true, `image is being used by running container ${shortId(running.id)}`, true);
    if (mask === 'hard') return undefined;
    if (mask === 'all') {
      const refs = this.images.references(id);
      if (refs.tags.length + refs.digests.length > 0) return new DeleteConflict(id, false, 'image is referenced in multiple repositories', false);
    }
    const stopped = users.find((u) => !u.running);
    if (stopped) return new DeleteConflict(id, false, `image is being used by stopped container ${shortId(stopped.id)}`, true);
    return undefined;
  }

  private async deleteHelper(id: string, records: DeleteRecord[], force: boolean, prune: boolean, quiet: boolean): Promise<void> {
    const conflict = this.deleteConflict(id, force ? 'hard' : 'all');
    if (conflict) {
      const refs = this.images.references(id);
      const dangling = refs.tags.length + refs.digests.length === 0;
      if (quiet && (!dangling || conflict.used)) return;
      throw conflict;
    }
    this.untagAll(id, records);
    const rec = this.images.get(id);
    const inUse = this.d.containers.usersOfImage(id).length > 0;
    await this.images.remove(id);
    records.push({ Deleted: id });
    this.emit('delete', id);
    // A force-removed image that a stopped container still stands on keeps its layers.
    if (!inUse) {
      for (const l of await this.pruneLayers()) records.push({ Deleted: l.chainId });
    }
    if (prune && rec.parent && this.images.tryGet(rec.parent)) {
      const p = this.images.references(rec.parent);
      if (p.tags.length + p.digests.length === 0 && this.images.children(rec.parent).length === 0) {
        await this.deleteHelper(rec.parent, records, false, true, true);
      }
    }
  }

  /** Removes layers no image, container or operation in flight stands on. */
  async pruneLayers(): Promise<{ chainId: string; size: number }[]> {
    const keep = this.images.referencedChains();
    for (const c of this.held.keys()) keep.add(c);
    for (const c of this.d.containers.referencedChains?.() ?? []) keep.add(c);
    return this.layers.prune(keep);
  }

  // ---------------------------------------------------------------- prune / disk usage

  /** POST /images/prune. Default: dangling images only; dangling=false (`-a`) every unused image. */
  async prune(filters: Map<string, string[]> = new Map()): Promise<PruneReport> {
    checkFilterKeys(filters, ['dangling', 'until', 'label', 'label!']);
    const danglingOnly = danglingFilter(filters) ?? true;
    const until = filters.get('until')?.map((v) => timestampMs(v) / 1000);
    const records: DeleteRecord[] = [];
    const before = new Map(this.layers.list().map((l) => [l.chainId, l.size]));
    // Removing a child can make its parent a candidate, so go round until nothing changes.
    for (let changed = true; changed;) {
      changed = false;
      for (const rec of this.images.list()) {
        if (!this.images.tryGet(rec.id)) continue;
        if (this.d.containers.usersOfImage(rec.id).length > 0) continue;
        if (this.images.children(rec.id).length > 0) continue;
        const refs = this.images.references(rec.id);
        const dangling = refs.tags.length + refs.digests.length === 0;
        if (danglingOnly && !dangling) continue;
        if (until && !until.every((u) => rec.created < u)) continue;
        const cfg = await this.images.config(rec.id);
        if (!labelsMatch(filters.get('label'), cfg.config?.Labels)) continue;
        if (!labelsExclude(filters.get('label!'), cfg.config?.Labels)) continue;
        this.untagAll(rec.id, records);
        await this.images.remove(rec.id);
        records.push({ Deleted: rec.id });
        this.emit('delete', rec.id);
        changed = true;
      }
    }
    let reclaimed = this.held.size === 0 ? await this.dropPendingBlobs() : 0;
    for (const l of await this.pruneLayers()) {
      records.push({ Deleted: l.chainId });
      reclaimed += before.get(l.chainId) ?? l.size;
    }
    // `image prune -a` (also what `system prune -a` sends) with no other filter clears crash leftovers.
    if (!danglingOnly && filters.size === 1 && this.held.size === 0) reclaimed += await this.sweepCrashLeftovers();
    if (records.length) this.d.events.emit('image', 'prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: records.length ? records : null, SpaceReclaimed: reclaimed };
  }

  /**
   * For `system prune -a` (nothing running): every unused image, every orphan layer, and what
   * a crash can leave (layer dirs without a record, partial downloads) when nothing is in flight.
   */
  async pruneAll(): Promise<PruneReport> {
    return this.prune(new Map([['dangling', ['false']]]));
  }

  private async sweepCrashLeftovers(): Promise<number> {
    let n = 0;
    const known = new Set(this.layers.list().map((l) => l.chainId.replace(/^sha256:/, '')));
    for (const name of await fsp.readdir(this.layers.dir).catch(() => [] as string[])) {
      if (name === 'tmp' || known.has(name) || !/^[a-f0-9]{64}$/.test(name)) continue;
      await fsp.rm(join(this.layers.dir, name), { recursive: true, force: true });
    }
    const partialDir = join(this.d.content.root, 'blobs', 'partial');
    for (const name of await fsp.readdir(partialDir).catch(() => [] as string[])) {
      n += (await fsp.stat(join(partialDir, name)).catch(() => undefined))?.size ?? 0;
      await fsp.rm(join(partialDir, name), { force: true });
    }
    return n;
  }

  /** The image part of GET /system/df, from sizes recorded at write time. */
  async diskUsage(): Promise<ImageDiskUsage> {
    const layers = this.layers.list();
    const LayersSize = layers.reduce((n, l) => n + l.size, 0);
    // A layer shared by several images counts towards each one's SharedSize.
    const useCount = new Map<string, number>();
    const chainsOf = new Map<string, string[]>();
    for (const rec of this.images.list()) {
      const cfg = await this.images.config(rec.id);
      const chains = chainIds(cfg.rootfs?.diff_ids ?? []);
      chainsOf.set(rec.id, chains);
      for (const c of new Set(chains)) useCount.set(c, (useCount.get(c) ?? 0) + 1);
    }
    const sizeOf = new Map(layers.map((l) => [l.chainId, l.size]));
    const Images: ImageSummary[] = [];
    for (const rec of this.images.list()) {
      const cfg = await this.images.config(rec.id);
      const refs = this.images.references(rec.id);
      const s = this.summary(rec, cfg, refs.tags, refs.digests, () => true);
      s.SharedSize = (chainsOf.get(rec.id) ?? []).filter((c) => (useCount.get(c) ?? 0) > 1).reduce((n, c) => n + (sizeOf.get(c) ?? 0), 0);
      s.Containers = this.d.containers.usersOfImage(rec.id).length;
      Images.push(s);
    }
    return { LayersSize, Images };
  }

  // ---------------------------------------------------------------- import

  /** POST /images/create?fromSrc=-: a rootfs tarball (plain or gzip) becomes a one-layer image. */
  async importTarball(body: Readable, opts: ImportOptions, progress: ProgressSink): Promise<string> {
    let target: Reference | undefined;
    if (opts.repo) {
      target = parseReference(opts.repo);
      if (opts.tag) {
        if (!isValidTag(opts.tag)) throw new InvalidParameterError('invalid tag format');
        target = { ...target, tag: opts.tag };
      }
      target = withDefaultTag(target);
    }
    const spec = applyChanges({}, opts.changes ?? []);
    let os = 'linux';
    let arch = hostArchitecture();
    let variant: string | undefined;
    if (opts.platform) {
      const p = opts.platform.split('/');
      if (p.length < 2 || p[0] !== 'linux') throw new InvalidParameterError(`invalid platform: ${opts.platform}`);
      [os, arch, variant] = p;
    }
    const layer = await this.layers.createFromTar(null, body);
    const release = this.hold(layer.chainId);
    try {
      const created = new Date().toISOString();
      const comment = opts.message || 'Imported from -';
      const config: ImageConfig = {
        architecture: arch, os, ...(variant ? { variant } : {}),
        created, comment, config: spec,
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created, comment }],
      };
      const rec = await this.images.create(JSON.stringify(config));
      if (target) this.images.tag(rec.id, `${repositoryName(target)}:${target.tag}`);
      this.emit('import', rec.id, target ? familiarString(target) : undefined);
      progress({ status: rec.id });
      return rec.id;
    } finally {
      release();
    }
  }
}

/** A server address as docker login sends it ("https://index.docker.io/v1/", "localhost:5000") to a registry domain. */
export function registryDomain(serverAddress: string): string {
  const s = serverAddress.trim().replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (s === '' || s === 'index.docker.io' || s === 'registry-1.docker.io') return 'docker.io';
  return s;
}

const services = new WeakMap<ImageDaemon, ImageService>();

/** One service per daemon, so that in-flight holds are shared by every route. */
export function imageService(d: ImageDaemon): ImageService {
  let s = services.get(d);
  if (!s) { s = new ImageService(d); services.set(d, s); }
  return s;
}

export { NotFoundError };
