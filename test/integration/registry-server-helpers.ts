// Shared by the registry-server tests and bench: start `berth registry serve` as a child
// process on an ephemeral loopback port, and write OCI image layouts for skopeo to copy.

import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, promises as fsp, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { createGzip } from 'node:zlib';

export const MAIN = fileURLToPath(new URL('../../src/registry/server/main.js', import.meta.url));

export interface RunningRegistry {
  port: number;
  base: string;
  proc: ChildProcess;
  log: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startRegistry(root: string, opts: { config?: string; extra?: string[]; port?: number } = {}): Promise<RunningRegistry> {
  const args = [MAIN, 'serve', '--addr', `127.0.0.1:${opts.port ?? 0}`, '--root', root];
  if (opts.config) args.push('--config', opts.config);
  if (opts.extra) args.push(...opts.extra);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let buf = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`registry did not start: ${log.join('\n')}`)), 10_000);
    proc.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        log.push(line);
        try {
          const j = JSON.parse(line) as { msg?: string; port?: number };
          if (j.msg === 'listening' && j.port) { clearTimeout(timer); resolve(j.port); }
        } catch { /* not JSON */ }
      }
    });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`registry exited ${code}: ${log.join('\n')}${buf}`)); });
  });
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    proc,
    log,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill(signal);
      await exited;
    },
  };
}

/** A POSIX ustar header for one regular file. */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

export interface OciImage {
  dir: string;
  tag: string;
  manifestDigest: string;
  layerDigest: string;
  layerSize: number;
  configDigest: string;
}

function sha(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/**
 * Writes an OCI image layout with one uncompressed tar layer holding one file of `fileSize`
 * pseudo-random bytes (streamed, so a 200 MB layer does not sit in memory).
 */
export async function makeOciLayout(dir: string, opts: { tag?: string; fileSize?: number; seed?: string; gzip?: boolean } = {}): Promise<OciImage> {
  const tag = opts.tag ?? 'latest';
  const fileSize = opts.fileSize ?? 1024;
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');

  const tmp = join(blobs, 'layer.tmp');
  const file = createWriteStream(tmp);
  const hash = createHash('sha256');
  let size = 0;
  // A gzip layer is pushed as is; skopeo would otherwise compress an uncompressed one itself.
  // Level 0 (stored blocks): the data is incompressible anyway and setup stays fast.
  const gz = opts.gzip ? createGzip({ level: 0 }) : undefined;
  const out = gz ?? file;
  if (gz) {
    gz.on('data', (b: Buffer) => { hash.update(b); size += b.length; if (!file.write(b)) { gz.pause(); file.once('drain', () => gz.resume()); } });
    gz.on('end', () => file.end());
  }
  const diffHash = createHash('sha256');
  const write = async (b: Buffer): Promise<void> => {
    diffHash.update(b);
    if (!gz) { hash.update(b); size += b.length; }
    if (!out.write(b)) await once(out, 'drain');
  };
  await write(tarHeader('data.bin', fileSize));
  // AES-CTR keystream: fast, deterministic per seed, incompressible.
  const seed = opts.seed ?? randomBytes(8).toString('hex');
  const cipher = createCipheriv('aes-128-ctr', createHash('md5').update(seed).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  let left = fileSize;
  while (left > 0) {
    const len = Math.min(left, zeros.length);
    await write(cipher.update(zeros.subarray(0, len)));
    left -= len;
  }
  const pad = (512 - (fileSize % 512)) % 512;
  await write(Buffer.alloc(pad + 1024));
  out.end();
  await once(file, 'finish');
  const layerDigest = `sha256:${hash.digest('hex')}`;
  const diffId = gz ? `sha256:${diffHash.digest('hex')}` : layerDigest;
  await fsp.rename(tmp, join(blobs, layerDigest.slice(7)));

  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created_by: `registry-server test ${seed}` }],
  });
  const configDigest = sha(config);
  writeFileSync(join(blobs, configDigest.slice(7)), config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: Buffer.byteLength(config) },
    layers: [{ mediaType: `application/vnd.oci.image.layer.v1.tar${gz ? '+gzip' : ''}`, digest: layerDigest, size }],
  });
  const manifestDigest = sha(manifest);
  writeFileSync(join(blobs, manifestDigest.slice(7)), manifest);
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: Buffer.byteLength(manifest),
      annotations: { 'org.opencontainers.image.ref.name': tag },
    }],
  }));
  return { dir, tag, manifestDigest, layerDigest, layerSize: size, configDigest };
}

/** Runs a command, resolving with its exit code and output (never rejects on exit code). */
export async function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const [code] = (await once(p, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code: code ?? -1, stdout, stderr };
}

export function sha256(b: Buffer | string): string {
  return sha(b);
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = unknown>(): T;
}

/** A plain HTTP request with full control over headers (fetch hides Content-Length). */
export function http(method: string, url: string, opts: { headers?: Record<string, string | number>; body?: Buffer | string } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    // Split by hand: URL parsing would resolve "/v2/a/../b", which the tests must send raw.
    const m = url.match(/^http:\/\/([^/:]+):(\d+)(\/.*)$/);
    if (!m) throw new Error(`bad url ${url}`);
    const req = httpRequest({ host: m[1], port: Number(m[2]), path: m[3], method, headers: opts.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body.toString()) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
