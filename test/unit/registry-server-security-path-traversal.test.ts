// Regression: nothing in a registry URL may reach a path outside --root. Repository names,
// tags, digests and upload ids are all validated before they touch the filesystem, and the
// request path is matched raw (never URL-normalised, which would turn "a/../b" into "b").
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultConfig } from '../../src/registry/server/config.js';
import { RegistryServer } from '../../src/registry/server/server.js';

function raw(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let b = '';
      res.on('data', (c: Buffer) => { b += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('security: registry path traversal', () => {
  let outside: string;
  let root: string;
  let server: RegistryServer;
  let port: number;
  before(async () => {
    outside = mkdtempSync(join(tmpdir(), 'berth-regsec-'));
    root = join(outside, 'root');
    writeFileSync(join(outside, 'secret'), 'top secret');
    server = new RegistryServer({ root, config: { ...defaultConfig(), deleteEnabled: true }, log: () => undefined });
    port = (await server.listen('127.0.0.1', 0)).port;
  });
  after(async () => { await server.close(); rmSync(outside, { recursive: true, force: true }); });

  it('rejects dot-dot, encoded and absolute names, tags, digests and upload ids', async () => {
    const cases: [string, string][] = [
      ['GET', '/v2/../../secret/manifests/latest'],
      ['GET', '/v2/a/../../../secret/tags/list'],
      ['GET', '/v2/%2e%2e/%2e%2e/secret/tags/list'],
      ['GET', '/v2/a%2f..%2f..%2fsecret/tags/list'],
      ['PUT', '/v2/a/manifests/..%2f..%2f..%2fsecret'],
      ['GET', '/v2/a/manifests/..%2f..%2fsecret'],
      ['GET', '/v2/a/blobs/sha256:..%2f..%2f..%2fsecret'],
      ['DELETE', '/v2/a/blobs/sha256:..%2f..%2fsecret'],
      ['PATCH', '/v2/a/blobs/uploads/..%2f..%2f..%2fsecret'],
      ['DELETE', '/v2/a/blobs/uploads/..'],
      ['GET', '/v2/a/referrers/sha256:..%2f..'],
      ['GET', '//v2/etc/tags/list'],
    ];
    for (const [method, path] of cases) {
      const r = await raw(port, method, path, method === 'PUT' || method === 'PATCH' ? 'x' : undefined);
      assert.ok(r.status >= 400 && r.status < 500, `${method} ${path} -> ${r.status}`);
      assert.doesNotMatch(r.body, /top secret/);
    }
    assert.ok(existsSync(join(outside, 'secret')), 'file outside root untouched');
    assert.deepEqual(readdirSync(outside).sort(), ['root', 'secret']);
    // Nothing was created under repositories/ either.
    assert.deepEqual(readdirSync(join(root, 'repositories')), []);
  });
});
