// berthd: the daemon. Serves the Docker Engine API on a unix socket.
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync, chmodSync, openSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command } from 'commander';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Router } from './http/router.js';
import { createApiServer } from './http/server.js';
import { Daemon, DaemonConfig, defaultExecRoot, VERSION } from './daemon.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerContainerRoutes } from './routes/containers.js';
import { registerImageRoutes } from './routes/images.js';
import { registerDistributionRoutes } from './routes/distribution.js';
import { registerExecRoutes } from './routes/exec.js';
import { registerArchiveRoutes } from './routes/archive.js';
import { registerInteractiveRoutes } from './routes/interactive.js';
import { registerNetworkRoutes } from './routes/networks.js';
import { registerVolumeRoutes, mountsView } from './routes/volumes.js';
import { registerBuildRoutes } from './routes/build.js';
import { registerSwarmAndPluginRoutes } from './routes/swarm-and-plugins.js';
import { processAlive } from '../container/service.js';

export const DEFAULT_SOCKET = '/run/berth/berth.sock';
export const DEFAULT_DATA_ROOT = '/var/lib/berth';

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} berthd: ${line}\n`);
}

function socketFromEnv(): string | undefined {
  const h = process.env.BERTH_HOST ?? process.env.DOCKER_HOST;
  if (h && h.startsWith('unix://')) return h.slice('unix://'.length);
  return undefined;
}

/** One daemon per data root: a pid file that names a live process refuses a second one. */
function takePidFile(file: string): void {
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new Error(`another berthd (pid ${pid}) is already running on this data root (pid file ${file})`);
    }
  }
  writeFileSync(file, `${process.pid}\n`);
}

export function buildRouter(d: Daemon): Router {
  const r = new Router();
  registerSystemRoutes(r, d);
  registerContainerRoutes(r, d, { mounts: mountsView(d), network: (c) => d.networks.view(c) });
  registerVolumeRoutes(r, d);
  registerExecRoutes(r, d);
  registerArchiveRoutes(r, d);
  registerInteractiveRoutes(r, d);
  registerNetworkRoutes(r, d, d.networks);
  registerImageRoutes(r, d);
  registerDistributionRoutes(r, d);
  registerSwarmAndPluginRoutes(r);
  return r;
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('berthd')
    .description('berth daemon: serves the Docker Engine API')
    .option('-H, --host <socket>', 'unix socket to listen on (unix:///path or /path)')
    .option('--data-root <dir>', 'root of persistent state', DEFAULT_DATA_ROOT)
    .option('--exec-root <dir>', 'root of runtime state (default: under /run/berth)')
    .option('--pidfile <file>', 'pid file (default: <data-root>/berthd.pid)')
    .option('--default-runtime <name>', 'OCI runtime for new containers', 'crun')
    .option('--cgroup-parent <path>', 'parent cgroup of containers', '/berth')
    .option('--insecure-registry <host>', 'registry to reach over plain HTTP (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--no-default-image', 'do not create the embedded busybox:latest')
    .option('--bridge-name <if>', 'host interface of the default bridge network (default berth0)')
    .option('--bridge-subnet <cidr>', 'subnet of the default bridge network (default: a free private /16)')
    .option('--default-address-pool <pool>', 'subnets for new networks: CIDR or base=CIDR,size=N')
    .version(VERSION, '-v, --version');
  program.parse(argv, { from: 'user' });
  const o = program.opts<{ host?: string; dataRoot: string; execRoot?: string; pidfile?: string; defaultRuntime: string; cgroupParent: string; insecureRegistry: string[]; defaultImage: boolean; bridgeName?: string; bridgeSubnet?: string; defaultAddressPool?: string }>();
  const socketPath = (o.host ? o.host.replace(/^unix:\/\//, '') : undefined) ?? socketFromEnv() ?? DEFAULT_SOCKET;
  const dataRoot = resolve(o.dataRoot);
  const config: DaemonConfig = {
    dataRoot, execRoot: o.execRoot ?? defaultExecRoot(dataRoot), socketPath, defaultRuntime: o.defaultRuntime,
    runtimePaths: {}, cgroupParent: o.cgroupParent, insecureRegistries: o.insecureRegistry, defaultImage: o.defaultImage,
    network: { bridgeName: o.bridgeName, bridgeSubnet: o.bridgeSubnet, addressPool: o.defaultAddressPool },
  };
  mkdirSync(dataRoot, { recursive: true });
  const pidFile = o.pidfile ?? join(dataRoot, 'berthd.pid');
  takePidFile(pidFile);
  log(`starting berthd ${VERSION} (data root ${dataRoot}, socket ${socketPath})`);
  const d = await Daemon.open(config, log);
  const router = buildRouter(d);
  await registerBuildRoutes(router, d);
  const server = createApiServer({ router, serverVersion: VERSION, log });
  mkdirSync(dirname(socketPath), { recursive: true });
  if (existsSync(socketPath)) unlinkSync(socketPath);
  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(socketPath, () => res()); });
  chmodSync(socketPath, 0o660);
  log(`API listening on ${socketPath}`);
  // A marker for scripts that wait for readiness.
  closeSync(openSync(join(config.execRoot, 'ready'), 'w'));
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      log(`${sig}: shutting down (containers keep running under conmon)`);
      server.close();
      server.closeAllConnections();
      d.close();
      try { unlinkSync(socketPath); } catch { /* gone */ }
      try { unlinkSync(pidFile); } catch { /* gone */ }
      resolveExit(0);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e: unknown) => {
    log(`fatal: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  });
}
