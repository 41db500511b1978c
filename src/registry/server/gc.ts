// `berth registry gc`: mark-and-sweep over the blob store.
//
// Mark: every manifest revision of every repository, and what it references (config, layers,
// child manifests). Also kept, because a push may still be on its way to the manifest that
// will reference them:
//   - blobs linked into a repository that has an upload session in progress (any age), and
//   - blobs whose file or repository link was written/touched within the grace period (the
//     server touches a blob whenever an upload, mount or dedup commits it).
// Sweep: every other blob is deleted, and repository links to deleted blobs are removed.
// Upload sessions idle for longer than uploadPurgeAge are abandoned and removed first.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { RegistryConfig } from './config.js';
import { SHA256_RE } from './names.js';
import { RegistryStorage, type UploadInfo } from './storage.js';

export interface GcOptions {
  dryRun?: boolean;
  gracePeriodSeconds: number;
  uploadPurgeAgeSeconds: number;
  log?: (entry: Record<string, unknown>) => void;
  now?: number;
}

export interface GcReport {
  repositories: number;
  manifests: number;
  blobsMarked: number;
  blobsDeleted: string[];
  bytesFreed: number;
  uploadsPurged: string[];
  uploadsActive: number;
  linksRemoved: number;
  dryRun: boolean;
}

function refsOf(doc: unknown): string[] {
  const out: string[] = [];
  if (typeof doc !== 'object' || doc === null) return out;
  const d = doc as { config?: { digest?: unknown }; layers?: unknown; manifests?: unknown };
  const add = (x: unknown): void => {
    const dg = (x as { digest?: unknown } | null)?.digest;
    if (typeof dg === 'string' && SHA256_RE.test(dg)) out.push(dg);
  };
  add(d.config);
  if (Array.isArray(d.layers)) d.layers.forEach(add);
  if (Array.isArray(d.manifests)) d.manifests.forEach(add);
  return out;
}

export function gcOptionsFromConfig(cfg: RegistryConfig, dryRun: boolean): GcOptions {
  return { dryRun, gracePeriodSeconds: cfg.gc.gracePeriodSeconds, uploadPurgeAgeSeconds: cfg.gc.uploadPurgeAgeSeconds };
}

export async function collectGarbage(root: string, opts: GcOptions): Promise<GcReport> {
  const storage = new RegistryStorage(root);
  await storage.init();
  const now = opts.now ?? Date.now();
  const graceStart = now - opts.gracePeriodSeconds * 1000;
  const log = opts.log ?? ((): void => undefined);
  const dry = opts.dryRun ?? false;
  const report: GcReport = {
    repositories: 0, manifests: 0, blobsMarked: 0, blobsDeleted: [], bytesFreed: 0,
    uploadsPurged: [], uploadsActive: 0, linksRemoved: 0, dryRun: dry,
  };

  // 1. Upload sessions: purge the abandoned ones, remember which repositories have live ones.
  const activeRepos = new Set<string>();
  for (const uuid of await storage.listUploads()) {
    const dir = join(storage.uploadsDir, uuid);
    let newest = 0;
    let info: UploadInfo | undefined;
    for (const f of ['info.json', 'data']) {
      const st = await fsp.stat(join(dir, f)).catch(() => undefined);
      if (st) newest = Math.max(newest, st.mtimeMs);
    }
    try { info = JSON.parse(await fsp.readFile(join(dir, 'info.json'), 'utf8')) as UploadInfo; } catch { info = undefined; }
    if (newest === 0) newest = (await fsp.stat(dir).catch(() => undefined))?.mtimeMs ?? 0;
    if (now - newest > opts.uploadPurgeAgeSeconds * 1000) {
      report.uploadsPurged.push(uuid);
      log({ msg: 'purge upload', uuid, repository: info?.name });
      if (!dry) await storage.cancelUpload(uuid);
    } else {
      report.uploadsActive++;
      if (info) activeRepos.add(info.name);
      else activeRepos.add('*'); // an unreadable live session: keep everything to be safe
    }
  }

  // 2. Mark.
  const marked = new Set<string>();
  const repos = await storage.listRepositories();
  report.repositories = repos.length;
  const links = new Map<string, { digest: string; mtimeMs: number }[]>();
  for (const repo of repos) {
    for (const m of await storage.listRevisions(repo)) {
      report.manifests++;
      marked.add(m);
      let doc: unknown;
      try { doc = JSON.parse((await storage.readBlob(m)).toString('utf8')); } catch { continue; }
      for (const r of refsOf(doc)) marked.add(r);
    }
    const repoLinks = await storage.listLayerLinks(repo);
    links.set(repo, repoLinks);
    for (const l of repoLinks) {
      if (activeRepos.has(repo) || activeRepos.has('*') || l.mtimeMs >= graceStart) marked.add(l.digest);
    }
  }
  report.blobsMarked = marked.size;

  // 3. Sweep.
  const deleted = new Set<string>();
  let names: string[] = [];
  try { names = await fsp.readdir(storage.blobsDir); } catch { names = []; }
  for (const hex of names) {
    if (!/^[a-f0-9]{64}$/.test(hex)) continue;
    const digest = `sha256:${hex}`;
    if (marked.has(digest)) continue;
    const st = await fsp.stat(join(storage.blobsDir, hex)).catch(() => undefined);
    if (!st || st.mtimeMs >= graceStart) continue;
    report.blobsDeleted.push(digest);
    report.bytesFreed += st.size;
    deleted.add(digest);
    log({ msg: 'delete blob', digest, size: st.size });
    if (!dry) await fsp.rm(join(storage.blobsDir, hex), { force: true });
  }
  for (const [repo, repoLinks] of links) {
    for (const l of repoLinks) {
      if (!deleted.has(l.digest)) continue;
      report.linksRemoved++;
      if (!dry) await storage.unlinkBlob(repo, l.digest);
    }
  }

  // 4. Stale temp files from interrupted atomic writes.
  for (const f of await fsp.readdir(storage.tmpDir).catch(() => [] as string[])) {
    const st = await fsp.stat(join(storage.tmpDir, f)).catch(() => undefined);
    if (st && now - st.mtimeMs > opts.uploadPurgeAgeSeconds * 1000 && !dry) await fsp.rm(join(storage.tmpDir, f), { force: true });
  }
  return report;
}
