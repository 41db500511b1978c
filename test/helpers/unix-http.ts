// Fake daemons for unit tests: HTTP servers on temp unix sockets, half-open allowed as the Engine
// API's hijacked streams need, all closed (with their connections) after the test file.
import { after } from 'node:test';
import type http from 'node:http';
import type net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface UnixServers {
  /** The temp dir the sockets live in. */
  readonly dir: string;
  /** Listens on a fresh socket in `dir`; resolves with its path. */
  listen(server: http.Server): Promise<string>;
}

export function unixServers(prefix: string): UnixServers {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  let n = 0;
  after(() => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir,
    async listen(server) {
      const path = join(dir, `s${n++}.sock`);
      (server as unknown as { allowHalfOpen: boolean }).allowHalfOpen = true;
      server.on('connection', (s: net.Socket) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((r) => server.listen(path, r));
      servers.push(server);
      return path;
    },
  };
}
