// `berth images` rows: docker's formatter.imageContext, one row per repository:tag.
import type { ImageSummary } from '../client/types.js';
import { familiarRepository, parseReference } from '../image/reference.js';
import { contextJSON } from './formatter.js';
import { goTimeString } from './ps-format.js';
import { humanSize, sinceUnix, truncateId } from './units.js';

export const DEFAULT_IMAGES_FORMAT = 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';
export const DEFAULT_IMAGES_FORMAT_DIGEST =
  'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

export const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

const FIELDS = ['ID', 'Repository', 'Tag', 'Digest', 'CreatedSince', 'CreatedAt', 'Size', 'Containers', 'VirtualSize', 'SharedSize', 'UniqueSize'] as const;

export class imageContext {
  constructor(
    private readonly i: ImageSummary,
    private readonly trunc: boolean,
    private readonly repo: string,
    private readonly tag: string,
    private readonly digest: string,
  ) {}
  get ID(): string {
    return this.trunc ? truncateId(this.i.Id) : this.i.Id;
  }
  get Repository(): string {
    return this.repo;
  }
  get Tag(): string {
    return this.tag;
  }
  get Digest(): string {
    return this.digest;
  }
  get CreatedSince(): string {
    return this.i.Created ? sinceUnix(this.i.Created) : '';
  }
  get CreatedAt(): string {
    return goTimeString(this.i.Created);
  }
  get Size(): string {
    return humanSize(this.i.Size, 3);
  }
  get Containers(): string {
    return this.i.Containers === -1 ? 'N/A' : String(this.i.Containers);
  }
  get VirtualSize(): string {
    return humanSize(this.i.Size);
  }
  get SharedSize(): string {
    return this.i.SharedSize === -1 ? 'N/A' : humanSize(this.i.SharedSize);
  }
  get UniqueSize(): string {
    return this.i.Size === -1 || this.i.SharedSize === -1 ? 'N/A' : humanSize(this.i.Size - this.i.SharedSize);
  }
  toJSON(): Record<string, unknown> {
    return contextJSON(this, FIELDS);
  }
}

/** An image with no name: docker lists it as <none>:<none>. */
export function isDangling(img: ImageSummary): boolean {
  const tags = img.RepoTags ?? [];
  const digests = img.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

/** Expands image summaries into rows as docker's imageFormat does. */
export function imageRows(images: ImageSummary[], opts: { trunc: boolean; digests: boolean; format: string }): imageContext[] {
  const needDigest = opts.digests || opts.format.includes('{{.Digest}}');
  const rows: imageContext[] = [];
  for (const img of images) {
    if (isDangling(img)) {
      rows.push(new imageContext(img, opts.trunc, '<none>', '<none>', '<none>'));
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const s of img.RepoTags ?? []) {
      try {
        const ref = parseReference(s);
        if (ref.tag) {
          const repo = familiarRepository(ref);
          repoTags.set(repo, [...(repoTags.get(repo) ?? []), ref.tag]);
        }
      } catch {
        // skip unparsable references, as docker does
      }
    }
    for (const s of img.RepoDigests ?? []) {
      try {
        const ref = parseReference(s);
        if (ref.digest) {
          const repo = familiarRepository(ref);
          repoDigests.set(repo, [...(repoDigests.get(repo) ?? []), ref.digest]);
        }
      } catch {
        // skip
      }
    }
    for (const [repo, tags] of repoTags) {
      let digests = repoDigests.get(repo) ?? [];
      repoDigests.delete(repo);
      if (!needDigest) digests = [];
      for (const tag of tags) {
        if (digests.length === 0) rows.push(new imageContext(img, opts.trunc, repo, tag, '<none>'));
        else for (const d of digests) rows.push(new imageContext(img, opts.trunc, repo, tag, d));
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (opts.digests) for (const d of digests) rows.push(new imageContext(img, opts.trunc, repo, '<none>', d));
      else rows.push(new imageContext(img, opts.trunc, repo, '<none>', ''));
    }
  }
  return rows;
}
