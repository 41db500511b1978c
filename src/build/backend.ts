// What the builder needs from the daemon, and nothing more (as moby's builder.Backend). The
// daemon implements it over the image, layer and container parts (daemon-backend.ts); tests
// implement it in memory.
import type { Readable } from 'node:stream';
import type { ImageConfig } from '../image/types.js';
import type { BuildCacheStore } from './cache.js';

export interface BuildImage {
  /** sha256:<hex> of the config. */
  id: string;
  config: ImageConfig;
}

export type RunMountSpec =
  | { type: 'bind'; source: string; target: string; readOnly: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number };

export interface RunSpec {
  /** The image the step runs in (its layers are the container's read-only lower dirs). */
  image: BuildImage;
  args: string[];
  env: string[];
  user: string;
  workdir: string;
  /** "default" (the default bridge when there is one), "none", "host", or a network name. */
  network: string;
  mounts: RunMountSpec[];
  extraHosts?: string[];
  /** Called with the step's output as it comes (stdout and stderr, in order). */
  onOutput: (chunk: Buffer) => void;
  /** Called once the container exists, before it produces output. */
  onStart?: (containerId: string) => void;
  signal?: AbortSignal;
}

export interface RunResult {
  /** 64-hex ID of the step's container, for the classic "Running in" line. */
  containerId: string;
  exitCode: number;
  /**
   * Stores the container's changes (its overlay upper dir, as a layer on top of the image) and
   * returns the new layer's diff ID, or null when the step changed nothing. Mount points that
   * the runtime created only to hold `mounts` are not part of the layer.
   */
  commit(): Promise<string | null>;
  /** Removes the container and its upper dir. Always called, also after a failure. */
  remove(): Promise<void>;
}

export interface MountedImage {
  /** A read-only view of the image's root filesystem (empty dir for an image without layers). */
  path: string;
  release(): Promise<void>;
}

export interface BuildBackend {
  /** An image by name or ID, or undefined when it is not in the store. */
  resolveImage(ref: string): Promise<BuildImage | undefined>;
  /** Fetches a missing base image (not needed offline; without it a missing image fails the build). */
  pullImage?(ref: string, platform: string | undefined, progress: (line: string) => void): Promise<BuildImage>;
  /** The image a build made this one from, for `--cache-from` ancestry. */
  imageParent?(id: string): Promise<string | undefined>;
  /** Stores a layer tar (uncompressed) on top of `parent`'s layers; returns its diff ID. */
  addLayer(parent: BuildImage | null, tar: Readable): Promise<string>;
  /** Stores an image config whose layers are all stored; returns its ID. */
  createImage(config: ImageConfig, parentId: string | null): Promise<string>;
  tagImage(id: string, ref: string): Promise<void>;
  mountImage(image: BuildImage | null): Promise<MountedImage>;
  /** Optional fast path for "is this a directory in the image" without mounting it. */
  pathIsDir?(image: BuildImage | null, abs: string): Promise<boolean>;
  run(spec: RunSpec): Promise<RunResult>;
  readonly cache: BuildCacheStore;
}
