// Flag handling of `berth registry serve|gc`: bad input exits non-zero with a message and
// starts nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { registryMain } from '../../src/registry/server/main.js';

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  let out = '';
  let err = '';
  process.stdout.write = ((s: string) => { out += s; return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => { err += s; return true; }) as typeof process.stderr.write;
  try {
    return { code: await fn(), out, err };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

describe('berth registry flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-regmain-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('help, unknown command, missing --root, unknown flag, bad --addr, half a TLS pair, bad config', async () => {
    assert.equal((await capture(() => registryMain(['--help']))).code, 0);
    const none = await capture(() => registryMain([]));
    assert.equal(none.code, 1);
    assert.match(none.out, /Usage/);
    const unk = await capture(() => registryMain(['frobnicate', '--root', dir]));
    assert.equal(unk.code, 2);
    assert.match(unk.err, /unknown command "frobnicate"/);
    assert.match((await capture(() => registryMain(['serve']))).err, /--root is required/);
    const flag = await capture(() => registryMain(['serve', '--root', dir, '--port', '1']));
    assert.equal(flag.code, 2);
    assert.match(flag.err, /Unknown option '--port'/);
    const addr = await capture(() => registryMain(['serve', '--root', dir, '--addr', 'nonsense']));
    assert.equal(addr.code, 1);
    assert.match(addr.err, /invalid --addr "nonsense"/);
    const tls = await capture(() => registryMain(['serve', '--root', dir, '--tls-cert', 'x']));
    assert.equal(tls.code, 2);
    assert.match(tls.err, /go together/);
    writeFileSync(join(dir, 'bad.json'), '{"auth": {"htpasswd": 5}}');
    const cfg = await capture(() => registryMain(['serve', '--root', dir, '--config', join(dir, 'bad.json')]));
    assert.equal(cfg.code, 1);
    assert.match(cfg.err, /\$\.auth\.htpasswd: must be a non-empty string/);
    const missing = await capture(() => registryMain(['gc', '--root', dir, '--config', join(dir, 'nope.json')]));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /cannot read/);
  });
});
