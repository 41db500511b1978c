// Wire-format types of the Docker Engine API, shared by the client (berth CLI) and berthd.
// The bulk is generated from the swagger (swagger-types.ts); this file names the request and
// response shapes that the swagger leaves inline or that the Go client fixes in code.
export type * from './swagger-types.js';
import type {
  ContainerConfig,
  HostConfig,
  NetworkingConfig,
  ContainerInspectResponse,
  ImageInspect,
} from './swagger-types.js';

/** POST /containers/create body: ContainerConfig plus HostConfig and NetworkingConfig (swagger allOf). */
export interface ContainerCreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: NetworkingConfig;
}

/** POST /containers/{id}/update body: swagger's Resources plus RestartPolicy (allOf). */
export type ContainerUpdateRequest = Partial<Pick<HostConfig,
  'BlkioWeight' | 'CpuPeriod' | 'CpuQuota' | 'CpuShares' | 'NanoCpus' | 'CpusetCpus' | 'CpusetMems' | 'Memory' | 'MemoryReservation' | 'MemorySwap' | 'PidsLimit' | 'RestartPolicy'>>;

/** One line of a JSON message stream (pull, push, build, import, load): moby's jsonmessage.JSONMessage. */
export interface JSONMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number; start?: number; hidecounts?: boolean; units?: string };
  stream?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  time?: number;
  timeNano?: number;
  from?: string;
}

/** Query of GET /containers/json: `filters` travels as JSON of name → {value: true}. */
export type Filters = Record<string, string[]>;

/** wait conditions accepted by POST /containers/{id}/wait. */
export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** Stream number in the 8-byte multiplexed frame header. */
export const enum StdStream {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  /** moby uses 3 for a "systemerr" frame carrying an error message on attach/logs streams. */
  SystemErr = 3,
}

/** The objects `docker inspect` can show, in the order it tries them for `--type` unset. */
export type InspectTarget = ContainerInspectResponse | ImageInspect;
