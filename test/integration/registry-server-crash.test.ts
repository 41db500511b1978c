// SIGKILL of `berth registry serve` in the middle of a 200 MB push: after a restart the
// repository shows no partial blob or manifest, and the push can be repeated.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { http, makeOciLayout, run, sha256, startRegistry, type RunningRegistry } from './registry-server-helpers.js';

function uploadedBytes(root: string): number {
  let total = 0;
  const up = join(root, 'uploads');
  for (const u of existsSync(up) ? readdirSync(up) : []) {
    try { total += statSync(join(up, u, 'data')).size; } catch { /* gone */ }
  }
  return total;
}

describe('registry server crash safety', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-regcrash-'));
  const regs: RunningRegistry[] = [];
  after(async () => {
    for (const r of regs) await r.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL during a 200 MB push leaves nothing visible; the push can be repeated', { timeout: 300_000 }, async () => {
    const root = join(dir, 'root');
    const img = await makeOciLayout(join(dir, 'img'), { fileSize: 200 * 1024 * 1024, gzip: true });
    const reg = await startRegistry(root);
    regs.push(reg);
    const dst = `docker://127.0.0.1:${reg.port}/crash/app:v1`;
    const skopeo = spawn('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:latest`, dst], { stdio: 'ignore' });
    const skopeoExit = once(skopeo, 'exit');
    try {
      // Wait until a good part of the layer has arrived, then kill the server mid-stream.
      const deadline = Date.now() + 120_000;
      while (uploadedBytes(root) < 40 * 1024 * 1024) {
        assert.ok(Date.now() < deadline, 'upload never got going');
        assert.equal(skopeo.exitCode, null, 'skopeo finished before the kill');
        await sleep(20);
      }
      await reg.stop('SIGKILL');
    } finally {
      skopeo.kill('SIGKILL');
      await skopeoExit;
    }
    assert.ok(!existsSync(join(root, 'blobs', 'sha256', img.layerDigest.slice(7))), 'partial layer is not in the blob store');
    assert.ok(!existsSync(join(root, 'blobs', 'sha256', img.manifestDigest.slice(7))), 'no manifest');

    const again = await startRegistry(root, { port: reg.port });
    regs.push(again);
    const tags = await http('GET', `${again.base}/v2/crash/app/tags/list`);
    assert.equal(tags.status, 404, tags.body.toString());
    assert.equal((await http('HEAD', `${again.base}/v2/crash/app/blobs/${img.layerDigest}`)).status, 404);
    assert.equal((await http('HEAD', `${again.base}/v2/crash/app/manifests/v1`)).status, 404);
    assert.deepEqual((await http('GET', `${again.base}/v2/_catalog`)).json(), { repositories: [] });

    const retry = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${img.dir}:latest`, dst], { timeoutMs: 240_000 });
    assert.equal(retry.code, 0, retry.stderr);
    const insp = await run('skopeo', ['inspect', '--tls-verify=false', dst]);
    assert.equal((JSON.parse(insp.stdout) as { Digest: string }).Digest, img.manifestDigest);
    assert.equal(statSync(join(root, 'blobs', 'sha256', img.layerDigest.slice(7))).size, img.layerSize);
  });

  it('a chunked upload survives a server restart and completes with the right digest', async () => {
    const root = join(dir, 'resume');
    const first = await startRegistry(root);
    regs.push(first);
    const post = await http('POST', `${first.base}/v2/resume/app/blobs/uploads/`);
    const loc = post.headers.location as string;
    assert.equal((await http('PATCH', `${first.base}${loc}`, { body: 'first half,', headers: { 'Content-Range': '0-10' } })).status, 202);
    await first.stop('SIGKILL');
    const second = await startRegistry(root);
    regs.push(second);
    const st = await http('GET', `${second.base}${loc}`);
    assert.equal(st.status, 204);
    assert.equal(st.headers.range, '0-10');
    const wrong = await http('PUT', `${second.base}${loc}?digest=${sha256('first half, second')}`, { body: 'x second', headers: { 'Content-Range': '11-18' } });
    assert.equal(wrong.status, 400);
    const post2 = await http('POST', `${second.base}/v2/resume/app/blobs/uploads/`);
    const loc2 = post2.headers.location as string;
    await http('PATCH', `${second.base}${loc2}`, { body: 'first half,' });
    await second.stop('SIGKILL');
    const third = await startRegistry(root);
    regs.push(third);
    const digest = sha256('first half, second half');
    const fin = await http('PUT', `${third.base}${loc2}?digest=${digest}`, { body: ' second half' });
    assert.equal(fin.status, 201, fin.body.toString());
    assert.equal((await http('GET', `${third.base}/v2/resume/app/blobs/${digest}`)).body.toString(), 'first half, second half');
  });
});
