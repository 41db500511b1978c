// The executor: runs a parsed Dockerfile against a BuildBackend. Each step looks up the cache
// (parent + instruction + args in use + content of copied files), and on a miss runs (RUN in a
// container, COPY/ADD as a layer tar, the rest as config changes) and commits an image, as the
// classic builder does — so `DOCKER_BUILDKIT=0 docker build` sees the output it expects.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { BerthError, InvalidParameterError, NotFoundError, errorMessage } from '../errors.js';
import type { ContainerConfigSpec, HealthConfig, ImageConfig } from '../image/types.js';
import { BuildBackend, BuildImage, MountedImage, RunMountSpec } from './backend.js';
import { cacheKey, CacheParts, explainMiss } from './cache.js';
import { CopyError, CopyPlan, hashPlan, parseChmod, planCopy, planToTar, resolveChown, resolveInRoot } from './copy.js';
import { Dockerfile, Instruction, InstructionOf, RunMount, Stage, buildStages, instructionFromNode, parseRunMount } from './instructions.js';
import { DockerfileSyntaxError, chompHeredoc, parseDockerfile, parseHeredocWord } from './parser.js';
import { EnvLookup, ShellLex } from './shell-lex.js';
import { StageRef, planStages, resolveRef } from './stages.js';
import { BuildArgs, StageVars, resolveMetaArgs, setEnv } from './vars.js';

/** One message of Docker's JSON build stream. */
export type BuildMessage =
  | { stream: string }
  | { status: string; id?: string; progress?: string }
  | { aux: { ID: string } }
  | { error: string; errorDetail: { code?: number; message: string } };

export type ExtraContext = { kind: 'dir'; path: string } | { kind: 'image'; ref: string };

export interface BuildOptions {
  /** The build context, already unpacked and with .dockerignore applied. */
  contextDir: string;
  /** sha256 of context files computed while unpacking (relative path → hex); others are read. */
  contextHashes?: Map<string, string>;
  dockerfile: string;
  /** Its path in the context, for messages. */
  dockerfileName?: string;
  tags?: string[];
  /** `--build-arg`: null means "declared without a value on the client". */
  buildArgs?: Map<string, string | null>;
  labels?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  pull?: boolean;
  cacheFrom?: string[];
  platform?: string;
  /** Default network of RUN steps (`--network`). */
  networkMode?: string;
  extraHosts?: string[];
  /** `--secret id=...`: never written to a layer, the history or the cache key. */
  secrets?: Map<string, Buffer>;
  /** `--build-context name=...`: usable as `COPY --from=name` and `FROM name`. */
  contexts?: Map<string, ExtraContext>;
  /** Add "cache miss because ..." lines. */
  explainCache?: boolean;
  signal?: AbortSignal;
}

export interface BuildResult {
  imageId: string;
  /** Per step: whether it came from the cache. */
  steps: { line: number; instruction: string; cached: boolean; reason?: string }[];
  warnings: string[];
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** A RUN step that exited non-zero: Docker's text, and the code for the CLI's exit status. */
export class StepFailedError extends BerthError {
  constructor(readonly command: string, readonly code: number) {
    super('System', `The command '${command}' returned a non-zero code: ${code}`);
  }
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** Go's %q-ish rendering of a string list, as the classic builder prints CMD and friends. */
function goList(a: string[]): string {
  return `[${a.map((s) => JSON.stringify(s)).join(' ')}]`;
}

interface StageState {
  stage: Stage;
  image: BuildImage | null; // null: scratch with no step committed yet
  config: ImageConfig;
  vars: StageVars;
}

interface StepCtx {
  num: number;
  total: number;
}

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock<T>(fn: () => Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => { release = r; });
    await prev;
    try { return await fn(); } finally { release(); }
  }
}

export interface BuilderOptions {
  /** Where cache mounts and temporary files live (e.g. <data-root>/build). */
  stateDir: string;
}

export class Builder {
  private readonly cacheLocks = new Map<string, Mutex>();

  constructor(private readonly backend: BuildBackend, private readonly opts: BuilderOptions) {}

  async build(o: BuildOptions, emit: (m: BuildMessage) => void): Promise<BuildResult> {
    const run = new BuildRun(this, this.backend, this.opts, o, emit);
    return run.execute();
  }

  cacheMountLock(id: string): Mutex {
    let m = this.cacheLocks.get(id);
    if (!m) { m = new Mutex(); this.cacheLocks.set(id, m); }
    return m;
  }
}

/** Parses the Dockerfile into stages (kept separate so `POST /build` can fail fast). */
export function parseForBuild(text: string): Dockerfile {
  return buildStages(parseDockerfile(text));
}

class BuildRun {
  private readonly lex: ShellLex;
  private readonly df: Dockerfile;
  private readonly buildArgs: BuildArgs;
  private meta = new Map<string, string>();
  private readonly stageResults = new Map<number, Promise<BuildImage>>();
  private readonly steps: BuildResult['steps'] = [];
  private readonly warnings: string[] = [];
  private readonly abort = new AbortController();
  private readonly tmpDir: string;
  private readonly stepNumbers = new Map<Instruction | Stage, number>();
  private totalSteps = 0;
  private cacheFromImages: BuildImage[] | undefined;

  constructor(private readonly builder: Builder, private readonly be: BuildBackend, private readonly bopts: BuilderOptions,
    private readonly o: BuildOptions, private readonly emit: (m: BuildMessage) => void) {
    this.df = parseForBuild(o.dockerfile);
    this.lex = new ShellLex(this.df.escapeToken);
    this.buildArgs = new BuildArgs(o.buildArgs ?? new Map());
    this.tmpDir = join(bopts.stateDir, 'tmp', randomBytes(8).toString('hex'));
    o.signal?.addEventListener('abort', () => this.abort.abort(o.signal?.reason), { once: true });
    let n = 0;
    for (const a of this.df.metaArgs) this.stepNumbers.set(a as unknown as Instruction, ++n);
    for (const s of this.df.stages) {
      this.stepNumbers.set(s, ++n);
      for (const c of s.commands) this.stepNumbers.set(c, ++n);
    }
    this.totalSteps = n;
  }

  private out(s: string): void {
    this.emit({ stream: s });
  }

  async execute(): Promise<BuildResult> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    try {
      for (const w of this.df.warnings) this.warnings.push(w);
      this.meta = resolveMetaArgs(this.df.metaArgs.map((a) => a.args), this.buildArgs, this.lex, this.o.platform ?? 'linux/amd64');
      for (const a of this.df.metaArgs) {
        this.out(`Step ${this.stepNumbers.get(a as unknown as Instruction)}/${this.totalSteps} : ${a.original.trim()}\n`);
      }
      const contexts = new Set(this.o.contexts?.keys() ?? []);
      const plan = planStages(this.df, this.o.target, (s, r) => this.expandRef(s, r), contexts);
      // Every needed stage starts now; each one waits only for the stages it uses.
      for (const i of plan.order) this.stagePromise(i);
      let final: BuildImage;
      try {
        final = await this.stagePromise(plan.target.index);
        await Promise.all(plan.order.map((i) => this.stagePromise(i)));
      } catch (e) {
        this.abort.abort(e);
        await Promise.allSettled(plan.order.map((i) => this.stagePromise(i)));
        throw e;
      }
      if (this.o.labels && Object.keys(this.o.labels).length) {
        const config = this.derive(final.config);
        config.config = { ...config.config, Labels: { ...(config.config?.Labels ?? {}), ...this.o.labels } };
        final = { id: await this.be.createImage(config, final.id), config };
      }
      const unused = this.buildArgs.unconsumed();
      if (unused.length) {
        const w = `[Warning] One or more build-args [${unused.join(' ')}] were not consumed`;
        this.warnings.push(w);
        this.out(`${w}\n`);
      }
      this.emit({ aux: { ID: final.id } });
      this.out(`Successfully built ${short(final.id)}\n`);
      for (const t of this.o.tags ?? []) {
        await this.be.tagImage(final.id, t);
        this.out(`Successfully tagged ${normalizeTag(t)}\n`);
      }
      return { imageId: final.id, steps: this.steps, warnings: this.warnings };
    } finally {
      await fsp.rm(this.tmpDir, { recursive: true, force: true });
    }
  }

  private expandRef(stage: Stage, ref: string): string {
    // Stage references see the meta args and the stage's own ARG defaults (build args win).
    return this.lex.processWord(ref, { get: (k) => this.meta.get(k) }).result;
  }

  private stagePromise(i: number): Promise<BuildImage> {
    let p = this.stageResults.get(i);
    if (!p) {
      p = this.buildStage(this.df.stages[i]);
      p.catch(() => undefined);
      this.stageResults.set(i, p);
    }
    return p;
  }

  private checkAbort(): void {
    if (this.abort.signal.aborted) throw this.abort.signal.reason instanceof Error ? this.abort.signal.reason : new Error('build canceled');
  }

  private async resolveBase(ref: string, line: number, platform: string): Promise<BuildImage> {
    let img = this.o.pull ? undefined : await this.be.resolveImage(ref);
    if (!img && this.be.pullImage) {
      img = await this.be.pullImage(ref, platform || this.o.platform, (l) => this.out(`${l}\n`));
    }
    if (!img) {
      throw new NotFoundError(`pull access denied for ${ref.replace(/:[^:/]*$/, '')}, repository does not exist or may require 'docker login' (Dockerfile line ${line})`);
    }
    return img;
  }

  private async buildStage(stage: Stage): Promise<BuildImage> {
    const num = this.stepNumbers.get(stage) as number;
    const baseName = this.expandRef(stage, stage.base);
    if (baseName === '') throw new DockerfileSyntaxError(stage.startLine, 'base name (' + stage.base + ') should not be blank');
    const ref = resolveRef(this.df, stage.index, baseName, new Set(this.o.contexts?.keys() ?? []), true);
    let base: BuildImage | null;
    if (ref.kind === 'stage') {
      base = await this.stagePromise(ref.index);
    } else if (ref.kind === 'scratch') {
      base = null;
    } else if (ref.kind === 'context') {
      const c = this.o.contexts?.get(ref.name) as ExtraContext;
      if (c.kind !== 'image') throw new InvalidParameterError(`build context ${ref.name} is a directory and can not be used in FROM (line ${stage.startLine})`);
      base = await this.resolveBase(c.ref, stage.startLine, stage.platform);
    } else {
      base = await this.resolveBase(ref.ref, stage.startLine, stage.platform);
    }
    this.checkAbort();
    this.out(`Step ${num}/${this.totalSteps} : ${stage.original.trim()}\n`);
    const platform = stage.platform ? this.lex.processWord(stage.platform, { get: (k) => this.meta.get(k) }).result : '';
    if (platform && platform !== 'linux/amd64' && platform !== 'linux') {
      this.warnings.push(`platform ${platform} requested on line ${stage.startLine}; berth builds linux/amd64`);
    }
    if (base) this.out(` ---> ${short(base.id)}\n`);
    const config: ImageConfig = base ? structuredClone(base.config) : {
      architecture: 'amd64', os: 'linux', config: { Env: [DEFAULT_PATH] }, rootfs: { type: 'layers', diff_ids: [] }, history: [],
    };
    if (!config.config) config.config = {};
    const st: StageState = { stage, image: base, config, vars: new StageVars(this.meta, this.buildArgs) };

    const triggers = base?.config.config?.OnBuild ?? [];
    if (triggers.length) {
      this.out(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      st.config.config = { ...st.config.config, OnBuild: null };
      for (const t of triggers) {
        const nodes = parseDockerfile(t).nodes;
        for (const n of nodes) {
          const inst = instructionFromNode(n);
          if (inst.kind === 'from') throw new InvalidParameterError('FROM isn\'t allowed as an ONBUILD trigger');
          await this.step(st, { ...inst, startLine: stage.startLine, endLine: stage.startLine } as Instruction, undefined);
        }
      }
    }
    for (const c of stage.commands) {
      this.checkAbort();
      await this.step(st, c, { num: this.stepNumbers.get(c) as number, total: this.totalSteps });
    }
    if (!st.image) {
      // A stage with no steps on scratch still yields an image.
      st.image = { id: await this.be.createImage(st.config, null), config: st.config };
    } else if (st.image.config !== st.config && JSON.stringify(st.image.config) !== JSON.stringify(st.config)) {
      st.image = { id: await this.be.createImage(st.config, st.image.id), config: st.config };
    }
    return st.image;
  }

  private derive(parent: ImageConfig): ImageConfig {
    const c = structuredClone(parent);
    c.created = new Date().toISOString();
    delete c.container;
    delete c.container_config;
    return c;
  }

  private scope(st: StageState): EnvLookup {
    return st.vars.lookup(st.config.config?.Env ?? []);
  }

  private word(st: StageState, s: string, used: Set<string>): string {
    const r = this.lex.processWord(s, this.scope(st));
    for (const m of r.matched) used.add(m);
    return r.result;
  }

  private words(st: StageState, s: string, used: Set<string>): string[] {
    const r = this.lex.processWords(s, this.scope(st));
    for (const m of r.matched) used.add(m);
    return r.words;
  }

  /** Args (not ENV) among the variables a step used: what the cache key must include. */
  private argsInUse(st: StageState, used: Set<string>): Record<string, string> {
    const env = new Set((st.config.config?.Env ?? []).map((e) => e.split('=')[0]));
    const out: Record<string, string> = {};
    for (const k of used) if (!env.has(k) && st.vars.args.has(k)) out[k] = st.vars.args.get(k) as string;
    return out;
  }

  private async step(st: StageState, inst: Instruction, ctx: StepCtx | undefined): Promise<void> {
    if (ctx) this.out(`Step ${ctx.num}/${ctx.total} : ${inst.original.trim()}\n`);
    this.currentLine = inst.startLine;
    try {
      await this.dispatch(st, inst);
    } catch (e) {
      if (e instanceof StepFailedError || e instanceof DockerfileSyntaxError) throw e;
      if (e instanceof Error && e.message.startsWith('failed to process ')) throw new DockerfileSyntaxError(inst.startLine, e.message);
      if (e instanceof BerthError && !/line \d+\)?$/.test(e.message)) {
        throw new BerthError(e.kind, `${e.message} (Dockerfile line ${inst.startLine})`, { cause: e });
      }
      throw e;
    }
  }

  private async dispatch(st: StageState, inst: Instruction): Promise<void> {
    const used = new Set<string>();
    const cfg = (): ContainerConfigSpec => (st.config.config ??= {});
    switch (inst.kind) {
      case 'arg': {
        for (const a of inst.args) st.vars.declare(a, cfg().Env ?? [], this.lex);
        if (st.image) this.out(` ---> ${short(st.image.id)}\n`);
        return;
      }
      case 'env': {
        let env = cfg().Env ?? [];
        const shown: string[] = [];
        for (const p of inst.pairs) {
          const k = this.word(st, p.key, used);
          const v = this.word(st, p.value, used);
          env = setEnv(env, k, v);
          shown.push(`${k}=${v}`);
        }
        return this.metaStep(st, inst, `ENV ${shown.join(' ')}`, used, (c) => { c.Env = env; });
      }
      case 'label': {
        const labels: Record<string, string> = {};
        for (const p of inst.pairs) labels[this.word(st, p.key, used)] = this.word(st, p.value, used);
        const shown = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(' ');
        return this.metaStep(st, inst, `LABEL ${shown}`, used, (c) => { c.Labels = { ...(c.Labels ?? {}), ...labels }; });
      }
      case 'maintainer': {
        const v = this.word(st, inst.value, used);
        return this.metaStep(st, inst, `MAINTAINER ${v}`, used, () => { st.config.author = v; });
      }
      case 'expose': {
        const ports: string[] = [];
        for (const p of inst.ports) ports.push(...this.words(st, p, used));
        const keys: string[] = [];
        for (const p of ports) keys.push(...exposedPorts(p, inst.startLine));
        return this.metaStep(st, inst, `EXPOSE ${keys.join(' ')}`, used, (c) => {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
          for (const k of keys) c.ExposedPorts[k] = {};
        });
      }
      case 'volume': {
        const vols: string[] = [];
        for (const v of inst.paths) {
          const x = this.word(st, v, used);
          if (x.trim() === '') throw new DockerfileSyntaxError(inst.startLine, 'VOLUME specified can not be an empty string');
          vols.push(x);
        }
        return this.metaStep(st, inst, `VOLUME ${goList(vols)}`, used, (c) => {
          c.Volumes = { ...(c.Volumes ?? {}) };
          for (const v of vols) c.Volumes[v] = {};
        });
      }
      case 'user': {
        const v = this.word(st, inst.value, used);
        return this.metaStep(st, inst, `USER ${v}`, used, (c) => { c.User = v; });
      }
      case 'stopsignal': {
        const v = this.word(st, inst.value, used);
        if (!/^(SIG)?[A-Z0-9+-]+$/i.test(v)) throw new DockerfileSyntaxError(inst.startLine, `Invalid signal: ${v}`);
        return this.metaStep(st, inst, `STOPSIGNAL ${v}`, used, (c) => { c.StopSignal = v; });
      }
      case 'shell':
        return this.metaStep(st, inst, `SHELL ${goList(inst.shell)}`, used, (c) => { c.Shell = inst.shell; });
      case 'onbuild':
        return this.metaStep(st, inst, `ONBUILD ${inst.expression}`, used, (c) => { c.OnBuild = [...(c.OnBuild ?? []), inst.expression]; });
      case 'healthcheck': {
        const hc: HealthConfig = { Test: inst.test };
        if (inst.test[0] !== 'NONE') {
          if (inst.interval) hc.Interval = inst.interval;
          if (inst.timeout) hc.Timeout = inst.timeout;
          if (inst.startPeriod) hc.StartPeriod = inst.startPeriod;
          if (inst.startInterval) hc.StartInterval = inst.startInterval;
          if (inst.retries) hc.Retries = inst.retries;
        }
        return this.metaStep(st, inst, `HEALTHCHECK &{${goList(inst.test)}}`, used, (c) => { c.Healthcheck = hc; });
      }
      case 'cmd': case 'entrypoint': {
        const shell = cfg().Shell ?? DEFAULT_SHELL;
        const line = inst.cmdLine === null ? null : inst.prependShell && inst.cmdLine.length ? [...shell, ...inst.cmdLine] : inst.cmdLine;
        const what = inst.kind === 'cmd' ? 'CMD' : 'ENTRYPOINT';
        return this.metaStep(st, inst, `${what} ${goList(line ?? [])}`, used, (c) => {
          if (inst.kind === 'cmd') c.Cmd = line;
          else {
            c.Entrypoint = line;
            // As Docker: a new ENTRYPOINT drops the CMD inherited from the base image.
            if (!this.cmdSetInStage.has(st)) c.Cmd = null;
          }
          if (inst.kind === 'cmd') this.cmdSetInStage.add(st);
        });
      }
      case 'workdir': {
        let p = this.word(st, inst.value, used);
        const cur = cfg().WorkingDir || '/';
        p = posix.normalize(posix.isAbsolute(p) ? p : posix.join(cur, p));
        return this.workdirStep(st, inst, p, used);
      }
      case 'copy': case 'add':
        return this.copyStep(st, inst, used);
      case 'run':
        return this.runStep(st, inst);
    }
  }

  private readonly cmdSetInStage = new Set<StageState>();
  private currentLine = 0;

  /** Looks up the cache; true (and the state moved on) on a hit. */
  private async tryCache(st: StageState, parts: CacheParts, createdBy: string): Promise<boolean> {
    const line = this.currentLine;
    const key = cacheKey(parts);
    const record = (cached: boolean, reason?: string) => this.steps.push({ line, instruction: parts.instruction, cached, reason });
    if (!this.o.noCache) {
      const e = this.be.cache.get(key);
      const img = e ? await this.be.resolveImage(e.imageId) : undefined;
      if (e && img) {
        this.be.cache.touch(key);
        st.image = img;
        st.config = structuredClone(img.config);
        this.out(' ---> Using cache\n');
        this.out(` ---> ${short(img.id)}\n`);
        record(true);
        return true;
      }
      const fromImg = await this.cacheFromMatch(st, createdBy);
      if (fromImg) {
        st.image = fromImg;
        st.config = structuredClone(fromImg.config);
        this.be.cache.put({ key, imageId: fromImg.id, ...parts });
        this.out(' ---> Using cache\n');
        this.out(` ---> ${short(fromImg.id)}\n`);
        record(true);
        return true;
      }
      const reason = explainMiss(parts, this.be.cache.byParent(parts.parent));
      if (this.o.explainCache) this.out(` ---> Cache miss: ${reason}\n`);
      record(false, reason);
    } else record(false, '--no-cache');
    return false;
  }

  private async cacheFromMatch(st: StageState, createdBy: string): Promise<BuildImage | undefined> {
    if (!this.o.cacheFrom?.length || !st.image) return undefined;
    if (!this.cacheFromImages) {
      const imgs: BuildImage[] = [];
      for (const r of this.o.cacheFrom) {
        let cur = await this.be.resolveImage(r);
        while (cur) {
          imgs.push(cur);
          const p = this.be.imageParent ? await this.be.imageParent(cur.id) : undefined;
          cur = p ? await this.be.resolveImage(p) : undefined;
        }
      }
      this.cacheFromImages = imgs;
    }
    const h = st.image.config.history ?? [];
    const diffs = st.image.config.rootfs.diff_ids;
    for (const c of this.cacheFromImages) {
      const ch = c.config.history ?? [];
      if (ch.length !== h.length + 1) continue;
      if (!h.every((e, i) => e.created_by === ch[i].created_by && !!e.empty_layer === !!ch[i].empty_layer)) continue;
      if (ch[h.length].created_by !== createdBy) continue;
      if (!diffs.every((d, i) => c.config.rootfs.diff_ids[i] === d)) continue;
      return c;
    }
    return undefined;
  }

  private knownHash(hostPath: string): string | undefined {
    const root = this.o.contextDir.replace(/\/+$/, '') + '/';
    return hostPath.startsWith(root) ? this.o.contextHashes?.get(hostPath.slice(root.length)) : undefined;
  }

  private parentId(st: StageState): string {
    return st.image?.id ?? 'scratch';
  }

  private async commit(st: StageState, config: ImageConfig, parts: CacheParts): Promise<void> {
    const id = await this.be.createImage(config, st.image?.id ?? null);
    this.be.cache.put({ key: cacheKey(parts), imageId: id, ...parts });
    st.image = { id, config };
    st.config = structuredClone(config);
    this.out(` ---> ${short(id)}\n`);
  }

  private async metaStep(st: StageState, inst: Instruction, text: string, used: Set<string>, apply: (c: ContainerConfigSpec) => void): Promise<void> {
    const createdBy = `/bin/sh -c #(nop)  ${text}`;
    const parts: CacheParts = { parent: this.parentId(st), instruction: createdBy, args: this.argsInUse(st, used), content: '' };
    // Entrypoint's effect on Cmd depends on an earlier CMD in the stage: part of the key.
    if (inst.kind === 'entrypoint') parts.instruction += this.cmdSetInStage.has(st) ? ' (cmd kept)' : '';
    if (await this.tryCache(st, parts, createdBy)) {
      if (inst.kind === 'cmd') this.cmdSetInStage.add(st);
      return;
    }
    const config = this.derive(st.config);
    config.config ??= {};
    apply(config.config);
    config.history = [...(config.history ?? []), { created: config.created, created_by: createdBy, empty_layer: true }];
    await this.commit(st, config, parts);
  }

  private async withMount<T>(image: BuildImage | null, fn: (m: MountedImage) => Promise<T>): Promise<T> {
    const m = await this.be.mountImage(image);
    try { return await fn(m); } finally { await m.release(); }
  }

  private async workdirStep(st: StageState, inst: Instruction, dir: string, used: Set<string>): Promise<void> {
    const createdBy = `/bin/sh -c #(nop) WORKDIR ${dir}`;
    const parts: CacheParts = { parent: this.parentId(st), instruction: createdBy, args: this.argsInUse(st, used), content: '' };
    if (await this.tryCache(st, parts, createdBy)) return;
    const config = this.derive(st.config);
    config.config = { ...(config.config ?? {}), WorkingDir: dir };
    const exists = dir === '/' || await this.withMount(st.image, async (m) => {
      const r = await resolveInRoot(m.path, dir, false, dir);
      return r !== undefined && (await fsp.stat(join(m.path, r)).catch(() => undefined))?.isDirectory() === true;
    });
    if (!exists) {
      const plan: CopyPlan = { entries: [{ dest: dir, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 }], archives: [] };
      const diffId = await this.be.addLayer(st.image, planToTar(plan));
      config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] };
      config.history = [...(config.history ?? []), { created: config.created, created_by: createdBy }];
    } else {
      config.history = [...(config.history ?? []), { created: config.created, created_by: createdBy, empty_layer: true }];
    }
    await this.commit(st, config, parts);
  }

  /** The files a COPY/ADD --from reads: a stage's or image's rootfs, or a named context dir. */
  private async sourceRoot(st: StageState, from: string, line: number): Promise<{ root: string; strict: boolean; release: () => Promise<void> }> {
    if (from === '') return { root: this.o.contextDir, strict: true, release: async () => undefined };
    const ref: StageRef = resolveRef(this.df, st.stage.index, from, new Set(this.o.contexts?.keys() ?? []));
    let img: BuildImage | null;
    if (ref.kind === 'context') {
      const c = this.o.contexts?.get(ref.name) as ExtraContext;
      if (c.kind === 'dir') return { root: c.path, strict: true, release: async () => undefined };
      img = await this.resolveFromImage(c.ref, line);
    } else if (ref.kind === 'stage') {
      img = await this.stagePromise(ref.index);
    } else if (ref.kind === 'scratch') {
      img = null;
    } else {
      img = await this.resolveFromImage(ref.ref, line);
    }
    const m = await this.be.mountImage(img);
    return { root: m.path, strict: false, release: () => m.release() };
  }

  private async resolveFromImage(ref: string, line: number): Promise<BuildImage> {
    try {
      return await this.resolveBase(ref, line, '');
    } catch (e) {
      throw new NotFoundError(`invalid from flag value ${ref}: ${errorMessage(e)}`);
    }
  }

  private async copyStep(st: StageState, inst: InstructionOf<'copy'> | InstructionOf<'add'>, used: Set<string>): Promise<void> {
    const what = inst.kind === 'copy' ? 'COPY' : 'ADD';
    const from = inst.kind === 'copy' && inst.from ? this.word(st, inst.from, used) : '';
    const sources = inst.sources.map((s) => this.word(st, s, used));
    const contents = inst.contents.map((c) => ({ path: c.path, data: c.expand ? this.word(st, c.data, used) : c.data }));
    let dest = this.word(st, inst.dest, used);
    const workdir = st.config.config?.WorkingDir || '/';
    if (!posix.isAbsolute(dest)) dest = posix.join(workdir, dest) + (dest.endsWith('/') || dest === '.' ? '/' : '');
    const chownSpec = inst.chown ? this.word(st, inst.chown, used) : '';
    const chmod = parseChmod(inst.chmod ? this.word(st, inst.chmod, used) : '');
    const checksum = inst.kind === 'add' && inst.checksum ? this.word(st, inst.checksum, used) : '';

    const urls = inst.kind === 'add' ? sources.filter((s) => /^https?:\/\//.test(s)) : [];
    const locals = sources.filter((s) => !urls.includes(s));
    if (checksum && (urls.length !== 1 || locals.length)) {
      throw new InvalidParameterError('checksum can\'t be specified for non-HTTP(S) sources');
    }

    const src = await this.sourceRoot(st, from, inst.startLine);
    const downloads: string[] = [];
    let parentMount: MountedImage | undefined;
    try {
      const parentRoot = async () => (parentMount ??= await this.be.mountImage(st.image)).path;
      const destIsDir = async (abs: string) => {
        if (this.be.pathIsDir) return this.be.pathIsDir(st.image, abs);
        const root = await parentRoot();
        const r = await resolveInRoot(root, abs, false, abs);
        return r !== undefined && (await fsp.stat(join(root, r)).catch(() => undefined))?.isDirectory() === true;
      };
      let owner;
      if (chownSpec) {
        const root = await parentRoot();
        const read = async (p: string) => {
          const r = await resolveInRoot(root, p, false, p);
          return r === undefined ? undefined : fsp.readFile(join(root, r), 'utf8').catch(() => undefined);
        };
        owner = resolveChown(chownSpec, await read('/etc/passwd'), await read('/etc/group'));
      }
      // URLs are fetched into temp files first; their content is what the cache key hashes.
      const urlContents: { path: string; file: string }[] = [];
      for (const u of urls) {
        const file = join(this.tmpDir, `dl-${randomBytes(6).toString('hex')}`);
        const digest = await download(u, file);
        if (checksum && checksum !== digest) throw new CopyError(`digest mismatch ${checksum}: ${digest}`);
        downloads.push(file);
        const name = posix.basename(new URL(u).pathname) || 'index.html';
        urlContents.push({ path: name, file });
      }
      const plan = await planCopy({
        root: src.root, strictRoot: src.strict, sources: locals, contents, dest, destIsDir, owner, chmod,
        unpackArchives: inst.kind === 'add' && inst.unpack !== false && from === '', command: what, exclude: inst.exclude,
      }).catch(async (e: unknown) => {
        if (urls.length && locals.length === 0 && contents.length === 0) return { entries: [], archives: [] } as CopyPlan;
        throw e;
      });
      for (const u of urlContents) {
        const slash = dest.endsWith('/') || (await destIsDir(posix.normalize(dest)));
        if (!slash && urls.length + plan.entries.length > 1) {
          throw new CopyError(`When using ${what} with more than one source file, the destination must be a directory and end with a /`);
        }
        const target = slash ? posix.join(dest, u.path) : posix.normalize(dest);
        const st2 = await fsp.stat(u.file);
        plan.entries.push({ dest: target, type: 'file', mode: chmod ?? 0o600, uid: owner?.uid ?? 0, gid: owner?.gid ?? 0, src: u.file, size: st2.size });
      }
      const { digest, files } = await hashPlan(plan, (p) => this.knownHash(p));
      const kindOf = plan.entries.length === 1 && plan.entries[0].type === 'file' ? 'file' : plan.archives.length ? 'archive' : 'dir';
      const createdBy = `/bin/sh -c #(nop) ${what} ${kindOf}:${digest.slice(7)} in ${dest} `;
      const flags = [chownSpec && `--chown=${chownSpec}`, chmod !== undefined && `--chmod=${chmod.toString(8)}`, from && `--from=${from}`,
        inst.link && '--link'].filter(Boolean).join(' ');
      const parts: CacheParts = {
        parent: this.parentId(st), instruction: `${what} ${flags} ${[...sources, ...urls.filter((u) => !sources.includes(u)), ...contents.map((x) => `<<${x.path}`)].join(' ')} ${dest}`, args: this.argsInUse(st, used), content: digest, files,
      };
      if (await this.tryCache(st, parts, createdBy)) return;
      const diffId = await this.be.addLayer(st.image, planToTar(plan));
      const config = this.derive(st.config);
      config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] };
      config.history = [...(config.history ?? []), { created: config.created, created_by: createdBy }];
      await this.commit(st, config, parts);
    } finally {
      if (parentMount) await parentMount.release();
      await src.release();
      for (const f of downloads) await fsp.rm(f, { force: true });
    }
  }

  private async runStep(st: StageState, inst: InstructionOf<'run'>): Promise<void> {
    const c = st.config.config ?? {};
    const shell = c.Shell ?? DEFAULT_SHELL;
    let args: string[];
    const runMounts: RunMountSpec[] = [];
    let scriptFile: string | undefined;
    if (inst.prependShell) {
      const line = inst.cmdLine.join(' ');
      const only = inst.files.length === 1 ? parseHeredocWord(line.trim()) : undefined;
      if (only && only.name === inst.files[0].name) {
        const f = inst.files[0];
        const data = f.chomp ? chompHeredoc(f.content) : f.content;
        if (data.startsWith('#!')) {
          scriptFile = join(this.tmpDir, `heredoc-${randomBytes(6).toString('hex')}`);
          await fsp.writeFile(scriptFile, data, { mode: 0o755 });
          // /dev is a tmpfs in the container, so the mount point never reaches the layer.
          runMounts.push({ type: 'bind', source: scriptFile, target: `/dev/pipes/${f.name}`, readOnly: true });
          args = [`/dev/pipes/${f.name}`];
        } else args = [...shell, data];
      } else if (inst.files.length) {
        args = [...shell, `${line}\n${inst.files.map((f) => `${f.content}${f.name}\n`).join('')}`];
      } else args = [...shell, ...inst.cmdLine];
    } else {
      args = inst.cmdLine;
    }
    const env = st.vars.runEnv(c.Env ?? []);
    const hArgs = st.vars.historyArgs(c.Env ?? []);
    const createdBy = `${hArgs.length ? `|${hArgs.length} ${hArgs.join(' ')} ` : ''}${args.join(' ')}`;

    // Mounts: parsed now that variables are known.
    const used = new Set<string>();
    const mounts: RunMount[] = inst.mounts.map((m) => {
      try {
        return parseRunMount(this.word(st, m, used));
      } catch (e) {
        throw new DockerfileSyntaxError(inst.startLine, errorMessage(e));
      }
    });
    const secretEnv: string[] = [];
    const releases: (() => Promise<void>)[] = [];
    const mountKey: string[] = [];
    try {
      for (const m of mounts) {
        if (m.type === 'secret') {
          const value = this.o.secrets?.get(m.id);
          if (!value) {
            if (m.required) throw new NotFoundError(`secret ${m.id} not found`);
            continue;
          }
          if (m.target) {
            const f = join(this.tmpDir, `secret-${randomBytes(8).toString('hex')}`);
            await fsp.writeFile(f, value, { mode: m.mode ?? 0o400 });
            if (m.uid !== undefined || m.gid !== undefined) await fsp.chown(f, m.uid ?? 0, m.gid ?? 0);
            runMounts.push({ type: 'bind', source: f, target: m.target, readOnly: true });
            releases.push(() => fsp.rm(f, { force: true }));
          }
          if (m.env) secretEnv.push(`${m.env}=${value.toString('utf8')}`);
          mountKey.push(`secret:${m.id}:${m.target}:${m.env}`);
        } else if (m.type === 'cache') {
          const dir = join(this.bopts.stateDir, 'cache-mounts', createHash('sha256').update(m.id).digest('hex').slice(0, 32));
          const created = await fsp.mkdir(dir, { recursive: true, mode: m.mode ?? 0o755 });
          if (created !== undefined && (m.uid !== undefined || m.gid !== undefined)) await fsp.chown(dir, m.uid ?? 0, m.gid ?? 0);
          runMounts.push({ type: 'bind', source: dir, target: m.target, readOnly: m.readOnly });
          if (m.sharing === 'locked') {
            // Held until the step ends; released in the finally below.
            let release!: () => void;
            const held = new Promise<void>((r) => { release = r; });
            let acquired!: () => void;
            const got = new Promise<void>((r) => { acquired = r; });
            void this.builder.cacheMountLock(m.id).lock(async () => { acquired(); await held; });
            await got;
            releases.push(async () => release());
          }
          mountKey.push(`cache:${m.id}:${m.target}`);
        } else if (m.type === 'tmpfs') {
          runMounts.push({ type: 'tmpfs', target: m.target, sizeBytes: m.size });
          mountKey.push(`tmpfs:${m.target}`);
        } else if (m.type === 'bind') {
          const src = await this.sourceRoot(st, m.from, inst.startLine);
          releases.push(src.release);
          const rel = await resolveInRoot(src.root, m.source || '/', src.strict, m.source || '.');
          if (rel === undefined) throw new NotFoundError(`failed to compute cache key: "${m.source}" not found`);
          let source = join(src.root, rel);
          // What the step reads is part of its key, like a COPY.
          const plan = await planCopy({ root: src.root, strictRoot: src.strict, sources: [rel || '.'], contents: [], dest: '/x/', destIsDir: async () => true, unpackArchives: false, command: 'COPY' });
          const { digest } = await hashPlan(plan, (p) => this.knownHash(p));
          if (!m.readOnly) {
            // A writable bind is a throwaway copy: the step's writes go nowhere.
            const copy = join(this.tmpDir, `bind-${randomBytes(6).toString('hex')}`);
            await fsp.cp(source, copy, { recursive: true, verbatimSymlinks: true });
            releases.push(() => fsp.rm(copy, { recursive: true, force: true }));
            source = copy;
          }
          runMounts.push({ type: 'bind', source, target: m.target, readOnly: m.readOnly });
          mountKey.push(`bind:${m.from}:${m.source}:${m.target}:${m.readOnly ? 'ro' : 'rw'}:${digest}`);
        } else {
          throw new InvalidParameterError(`RUN --mount=type=ssh is not supported (Dockerfile line ${inst.startLine})`);
        }
      }
      const network = inst.network || this.o.networkMode || 'default';
      const parts: CacheParts = {
        parent: this.parentId(st),
        instruction: [createdBy, ...mountKey.map((k) => `--mount ${k}`), inst.network ? `--network=${inst.network}` : '',
          scriptFile ? `heredoc:${args.join(' ')}` : ''].filter(Boolean).join(' '),
        args: Object.fromEntries(hArgs.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)])),
        content: '',
      };
      if (inst.files.length) parts.content = `sha256:${createHash('sha256').update(inst.files.map((f) => f.content).join('\0')).digest('hex')}`;
      if (await this.tryCache(st, parts, createdBy)) return;
      if (!st.image) throw new InvalidParameterError(`RUN on an empty image (FROM scratch) has no shell to run (Dockerfile line ${inst.startLine})`);
      const res = await this.be.run({
        image: st.image, args, env: [...env, ...secretEnv], user: c.User ?? '', workdir: c.WorkingDir || '/', network, mounts: runMounts,
        extraHosts: this.o.extraHosts, onOutput: (chunk) => this.out(chunk.toString('utf8')), signal: this.abort.signal,
        onStart: (id) => this.out(` ---> Running in ${short(id)}\n`),
      });
      try {
        if (res.exitCode !== 0) throw new StepFailedError(args.join(' '), res.exitCode);
        const diffId = await res.commit();
        const config = this.derive(st.config);
        if (diffId) config.rootfs = { type: 'layers', diff_ids: [...config.rootfs.diff_ids, diffId] };
        config.history = [...(config.history ?? []),
          diffId ? { created: config.created, created_by: createdBy } : { created: config.created, created_by: createdBy, empty_layer: true }];
        this.out(` ---> Removed intermediate container ${short(res.containerId)}\n`);
        await this.commit(st, config, parts);
      } finally {
        await res.remove();
      }
    } finally {
      for (const r of releases.reverse()) await r().catch(() => undefined);
      if (scriptFile) await fsp.rm(scriptFile, { force: true });
    }
  }
}

function exposedPorts(p: string, line: number): string[] {
  const m = /^(?:([0-9.]+|\[[0-9a-f:]+\]):)?(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
  if (!m) throw new DockerfileSyntaxError(line, `Invalid containerPort: ${p}`);
  const proto = (m[4] ?? 'tcp').toLowerCase();
  const a = Number(m[2]);
  const b = m[3] ? Number(m[3]) : a;
  if (b < a || b > 65535) throw new DockerfileSyntaxError(line, `Invalid containerPort: ${p}`);
  const out: string[] = [];
  for (let i = a; i <= b; i++) out.push(`${i}/${proto}`);
  return out;
}

function normalizeTag(t: string): string {
  const lastSlash = t.lastIndexOf('/');
  return t.slice(lastSlash + 1).includes(':') || t.includes('@') ? t : `${t}:latest`;
}

/** Fetches a URL into `file`; returns the sha256 digest of what was written. */
async function download(url: string, file: string): Promise<string> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body) throw new CopyError(`failed to GET ${url} with status ${res.status} ${res.statusText}`);
  const h = createHash('sha256');
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (d: Buffer) => h.update(d));
  await pipeline(body, createWriteStream(file, { mode: 0o600 }));
  return `sha256:${h.digest('hex')}`;
}

