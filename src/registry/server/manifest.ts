// Manifest validation for PUT /v2/<name>/manifests/<ref>: the JSON must be one of the four
// manifest kinds the registry stores, every descriptor well formed; the references it makes are
// returned so the server can check they exist in the repository.

import { RegistryError, ociEntry, type OciErrorEntry } from './errors.js';
import { SHA256_RE } from './names.js';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

const IMAGE_TYPES = new Set<string>([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerList]);
export const MANIFEST_TYPES = new Set<string>([...IMAGE_TYPES, ...INDEX_TYPES]);

// Layers that are fetched from elsewhere (`urls`) need not be in the registry.
const FOREIGN_LAYER_TYPES = new Set<string>([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ParsedManifest {
  mediaType: string;
  /** Blobs that must be in the repository (config, layers). */
  blobs: Descriptor[];
  /** Manifests that must be in the repository (index entries). */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** artifactType for the referrers API (manifest's, else config media type for images). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

function invalid(detail: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', detail);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function annotations(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw invalid(`${where}.annotations must map strings to strings`);
  return v as Record<string, string>;
}

function descriptor(v: unknown, where: string, mediaTypeRequired: boolean): Descriptor {
  if (!isObject(v)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = v;
  if (mediaType !== undefined && typeof mediaType !== 'string') throw invalid(`${where}.mediaType must be a string`);
  if (mediaTypeRequired && (typeof mediaType !== 'string' || mediaType === '')) throw invalid(`${where}.mediaType is required`);
  if (typeof digest !== 'string') throw invalid(`${where}.digest is required`);
  if (!SHA256_RE.test(digest)) {
    throw new RegistryError('DIGEST_INVALID', { where, digest, reason: 'descriptor digest is not a sha256 digest' });
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  const d: Descriptor = { mediaType: typeof mediaType === 'string' ? mediaType : '', digest, size };
  if (v.artifactType !== undefined) {
    if (typeof v.artifactType !== 'string') throw invalid(`${where}.artifactType must be a string`);
    d.artifactType = v.artifactType;
  }
  const a = annotations(v.annotations, where);
  if (a) d.annotations = a;
  if (v.urls !== undefined) {
    if (!Array.isArray(v.urls) || v.urls.some((u) => typeof u !== 'string')) throw invalid(`${where}.urls must be an array of strings`);
    d.urls = v.urls as string[];
  }
  return d;
}

/** The media type from a Content-Type header, without parameters; undefined if generic. */
export function contentTypeMediaType(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const t = header.split(';')[0]!.trim().toLowerCase();
  if (t === '' || t === 'application/json' || t === 'application/octet-stream') return undefined;
  return t;
}

/** Parses and checks a manifest body. Throws MANIFEST_INVALID (or DIGEST_INVALID) with a detail. */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw invalid(`not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  const declared = contentTypeMediaType(contentType);
  const inBody = doc.mediaType;
  if (inBody !== undefined && typeof inBody !== 'string') throw invalid('mediaType must be a string');
  if (declared === MediaTypes.dockerSchema1 || declared === MediaTypes.dockerSchema1Signed || doc.schemaVersion === 1) {
    throw invalid('Docker schema1 manifests are not supported');
  }
  let mediaType = declared ?? inBody;
  if (mediaType === undefined) {
    // OCI allows mediaType to be omitted; infer it from the shape as clients do.
    mediaType = Array.isArray(doc.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  }
  if (inBody !== undefined && declared !== undefined && inBody !== declared) {
    throw invalid(`Content-Type ${declared} does not match the manifest's mediaType ${inBody}`);
  }
  if (!MANIFEST_TYPES.has(mediaType)) throw invalid(`unsupported manifest media type ${JSON.stringify(mediaType)}`);
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');

  const out: ParsedManifest = { mediaType, blobs: [], manifests: [] };
  const a = annotations(doc.annotations, 'manifest');
  if (a) out.annotations = a;
  if (doc.artifactType !== undefined) {
    if (typeof doc.artifactType !== 'string') throw invalid('artifactType must be a string');
    if (doc.artifactType !== '') out.artifactType = doc.artifactType;
  }
  if (doc.subject !== undefined) out.subject = descriptor(doc.subject, 'subject', true);

  if (IMAGE_TYPES.has(mediaType)) {
    if (doc.manifests !== undefined) throw invalid('an image manifest has no "manifests" field');
    const config = descriptor(doc.config, 'config', true);
    out.blobs.push(config);
    if (!Array.isArray(doc.layers)) throw invalid('layers must be an array');
    doc.layers.forEach((l, i) => {
      const d = descriptor(l, `layers[${i}]`, true);
      if (!(FOREIGN_LAYER_TYPES.has(d.mediaType) && d.urls && d.urls.length > 0)) out.blobs.push(d);
    });
    if (out.artifactType === undefined && config.mediaType !== '') out.artifactType = config.mediaType;
  } else {
    if (doc.layers !== undefined || doc.config !== undefined) throw invalid('an index has no "config" or "layers" field');
    if (!Array.isArray(doc.manifests)) throw invalid('manifests must be an array');
    doc.manifests.forEach((m, i) => out.manifests.push(descriptor(m, `manifests[${i}]`, true)));
  }
  return out;
}

/** Builds the MANIFEST_BLOB_UNKNOWN error listing every missing reference. */
export function missingReferences(missing: Descriptor[]): RegistryError {
  const entries: OciErrorEntry[] = missing.map((d) => ociEntry('MANIFEST_BLOB_UNKNOWN', { digest: d.digest }));
  return new RegistryError('MANIFEST_BLOB_UNKNOWN', entries[0]!.detail, { more: entries.slice(1) });
}
