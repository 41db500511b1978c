// An in-memory BuildBackend for the builder's unit tests: images and layers in Maps, RUN steps
// answered by a test-provided function instead of a container.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { ImageConfig } from '../../src/image/types.js';
import type { BuildBackend, BuildImage, MountedImage, RunResult, RunSpec } from '../../src/build/backend.js';
import { MemoryBuildCache } from '../../src/build/cache.js';

export interface FakeFile { type: 'file' | 'dir' | 'symlink'; mode: number; uid: number; gid: number; data?: string; linkname?: string }
export type FakeLayer = Map<string, FakeFile>;

export interface FakeRunAnswer { exitCode?: number; output?: string; changes?: Record<string, string> }
export type FakeRunner = (spec: RunSpec, rootfs: string) => FakeRunAnswer | Promise<FakeRunAnswer>;

export class FakeBackend implements BuildBackend {
  readonly images = new Map<string, BuildImage>();
  readonly parents = new Map<string, string>();
  readonly tags = new Map<string, string>();
  readonly layers = new Map<string, FakeLayer>();
  readonly runs: RunSpec[] = [];
  readonly cache = new MemoryBuildCache();
  private readonly tmp = mkdtempSync(join(tmpdir(), 'berth-fake-'));
  runner: FakeRunner = (spec) => {
    const script = spec.args[spec.args.length - 1];
    const m = /^exit (\d+)$/.exec(script);
    return { exitCode: m ? Number(m[1]) : 0 };
  };

  addBaseImage(name: string, files: Record<string, string>, config: Partial<ImageConfig['config']> = {}): BuildImage {
    const layer: FakeLayer = new Map();
    for (const [p, d] of Object.entries(files)) {
      if (p.endsWith('/')) layer.set(p.replace(/^\/|\/$/g, ''), { type: 'dir', mode: 0o755, uid: 0, gid: 0 });
      else layer.set(p.replace(/^\//, ''), { type: 'file', mode: 0o644, uid: 0, gid: 0, data: d });
    }
    const diffId = this.storeLayer(layer);
    const cfg: ImageConfig = {
      architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['sh'], ...config },
      rootfs: { type: 'layers', diff_ids: [diffId] }, history: [{ created_by: 'base' }],
    };
    const id = this.put(cfg);
    this.tags.set(name, id);
    return this.images.get(id) as BuildImage;
  }

  private storeLayer(layer: FakeLayer): string {
    const json = JSON.stringify([...layer.entries()].sort());
    const diffId = `sha256:${createHash('sha256').update(json).digest('hex')}`;
    this.layers.set(diffId, layer);
    return diffId;
  }

  private put(config: ImageConfig): string {
    const id = `sha256:${createHash('sha256').update(JSON.stringify(config)).digest('hex')}`;
    this.images.set(id, { id, config: structuredClone(config) });
    return id;
  }

  async resolveImage(ref: string): Promise<BuildImage | undefined> {
    const id = this.tags.get(ref) ?? this.tags.get(ref.includes(':') ? ref : `${ref}:latest`) ?? ref;
    const img = this.images.get(id);
    return img ? { id: img.id, config: structuredClone(img.config) } : undefined;
  }

  async imageParent(id: string): Promise<string | undefined> { return this.parents.get(id); }

  async addLayer(_parent: BuildImage | null, stream: Readable): Promise<string> {
    const layer: FakeLayer = new Map();
    const ex = tar.extract();
    const done = (async () => {
      for await (const e of ex) {
        const chunks: Buffer[] = [];
        for await (const c of e) chunks.push(c as Buffer);
        const h = e.header;
        const type = h.type === 'directory' ? 'dir' : h.type === 'symlink' ? 'symlink' : 'file';
        layer.set(h.name.replace(/\/$/, ''), {
          type, mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0,
          data: type === 'file' ? Buffer.concat(chunks).toString('utf8') : undefined, linkname: h.linkname ?? undefined,
        });
      }
    })();
    stream.pipe(ex);
    await done;
    return this.storeLayer(layer);
  }

  async createImage(config: ImageConfig, parentId: string | null): Promise<string> {
    for (const d of config.rootfs.diff_ids) if (!this.layers.has(d)) throw new Error(`layer ${d} missing`);
    const id = this.put(config);
    if (parentId) this.parents.set(id, parentId);
    return id;
  }

  async tagImage(id: string, ref: string): Promise<void> { this.tags.set(ref.includes(':') ? ref : `${ref}:latest`, id); }

  /** The merged files of an image, path → file. */
  files(img: BuildImage | string): Map<string, FakeFile> {
    const image = typeof img === 'string' ? (this.images.get(img) as BuildImage) : img;
    const out = new Map<string, FakeFile>();
    for (const d of image.config.rootfs.diff_ids) for (const [p, f] of this.layers.get(d) as FakeLayer) out.set(p, f);
    return out;
  }

  async mountImage(image: BuildImage | null): Promise<MountedImage> {
    const dir = join(this.tmp, randomBytes(6).toString('hex'));
    await fsp.mkdir(dir);
    if (image) {
      for (const [p, f] of [...this.files(image)].sort(([a], [b]) => a.localeCompare(b))) {
        const abs = join(dir, p);
        await fsp.mkdir(posix.dirname(abs), { recursive: true });
        if (f.type === 'dir') await fsp.mkdir(abs, { recursive: true });
        else if (f.type === 'symlink') await fsp.symlink(f.linkname ?? '', abs);
        else await fsp.writeFile(abs, f.data ?? '');
      }
    }
    return { path: dir, release: () => fsp.rm(dir, { recursive: true, force: true }) };
  }

  async run(spec: RunSpec): Promise<RunResult> {
    this.runs.push(spec);
    const m = await this.mountImage(spec.image);
    const containerId = randomBytes(32).toString('hex');
    spec.onStart?.(containerId);
    let answer: FakeRunAnswer;
    try { answer = await this.runner(spec, m.path); } finally { await m.release(); }
    if (answer.output) spec.onOutput(Buffer.from(answer.output));
    return {
      containerId,
      exitCode: answer.exitCode ?? 0,
      commit: async () => {
        if (!answer.changes || Object.keys(answer.changes).length === 0) return null;
        const layer: FakeLayer = new Map();
        for (const [p, d] of Object.entries(answer.changes)) layer.set(p.replace(/^\//, ''), { type: 'file', mode: 0o644, uid: 0, gid: 0, data: d });
        return this.storeLayer(layer);
      },
      remove: async () => undefined,
    };
  }

  async close(): Promise<void> {
    await fsp.rm(this.tmp, { recursive: true, force: true });
  }
}
