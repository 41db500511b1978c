// Where the daemon is: -H/--host, then BERTH_HOST, then DOCKER_HOST, then berth's default socket.
import { InvalidParameterError } from '../errors.js';

export const DEFAULT_SOCKET = '/run/berth/berth.sock';

export interface DaemonAddress {
  /** As the user wrote it, normalised to unix://, for messages. */
  host: string;
  socketPath: string;
}

export function resolveHost(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): DaemonAddress {
  const raw = flag || env.BERTH_HOST || env.DOCKER_HOST || `unix://${DEFAULT_SOCKET}`;
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    if (socketPath === '') throw new InvalidParameterError(`invalid host: ${raw}: empty socket path`);
    return { host: raw, socketPath };
  }
  if (raw.startsWith('/')) return { host: `unix://${raw}`, socketPath: raw };
  throw new InvalidParameterError(`unsupported host ${raw}: berth speaks to the daemon over unix:// sockets only`);
}
