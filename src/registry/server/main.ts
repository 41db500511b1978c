// Entry point for `berth registry serve|gc`. Also runnable on its own:
//   node dist/src/registry/server/main.js serve --addr 127.0.0.1:5000 --root DIR [--config FILE]

import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.js';
import { collectGarbage, gcOptionsFromConfig } from './gc.js';
import { RegistryServer } from './server.js';

const USAGE = `Usage:
  berth registry serve --root DIR [--addr HOST:PORT] [--config FILE] [--tls-cert FILE --tls-key FILE]
  berth registry gc --root DIR [--config FILE] [--dry-run]

serve  runs an OCI distribution v1.1 registry (default --addr 127.0.0.1:5000).
gc     deletes blobs no manifest references (mark and sweep); safe while serve runs.
The config file is JSON; see src/registry/server/config.ts for its keys.
`;

function log(entry: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', ...entry })}\n`);
}

function parseAddr(addr: string): { host: string; port: number } {
  const m = addr.match(/^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/);
  if (!m) throw new Error(`invalid --addr ${JSON.stringify(addr)}: expected HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in --addr ${addr}`);
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!), port };
}

export async function registryMain(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 1 : 0;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        addr: { type: 'string' },
        root: { type: 'string' },
        config: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`berth registry ${cmd}: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const root = values.root as string | undefined;
  if (!root) {
    process.stderr.write(`berth registry ${cmd}: --root is required\n`);
    return 2;
  }
  try {
    const config = loadConfig(values.config as string | undefined);
    if (cmd === 'gc') {
      const report = await collectGarbage(resolve(root), { ...gcOptionsFromConfig(config, values['dry-run'] === true), log });
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    if (cmd !== 'serve') {
      process.stderr.write(`berth registry: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
      return 2;
    }
    const cert = values['tls-cert'] as string | undefined;
    const key = values['tls-key'] as string | undefined;
    if ((cert === undefined) !== (key === undefined)) {
      process.stderr.write('berth registry serve: --tls-cert and --tls-key go together\n');
      return 2;
    }
    const { host, port } = parseAddr((values.addr as string | undefined) ?? '127.0.0.1:5000');
    const opts: ConstructorParameters<typeof RegistryServer>[0] = { root: resolve(root), config };
    if (cert && key) opts.tls = { certFile: cert, keyFile: key };
    const server = new RegistryServer(opts);
    const a = await server.listen(host, port);
    log({ msg: 'listening', addr: `${a.address}:${a.port}`, port: a.port, root: resolve(root), tls: cert !== undefined, auth: config.auth !== undefined });
    await new Promise<void>((done) => {
      const stop = (sig: string): void => {
        log({ msg: 'shutting down', signal: sig });
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        void server.close().then(done);
      };
      const onInt = (): void => stop('SIGINT');
      const onTerm = (): void => stop('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    return 0;
  } catch (e) {
    process.stderr.write(`berth registry ${cmd}: ${(e as Error).message}\n`);
    return 1;
  }
}

function isMain(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  registryMain(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (e: unknown) => { process.stderr.write(`${(e as Error).stack ?? String(e)}\n`); process.exitCode = 1; },
  );
}
