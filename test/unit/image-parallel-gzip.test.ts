// parallelGzip writes a multi-member gzip stream that ordinary gunzip reads back whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parallelGzip } from '../../src/image/layers.js';

async function gz(chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of parallelGzip((async function* () { yield* chunks; })())) out.push(c);
  return Buffer.concat(out);
}

test('round trip across many members keeps bytes and order', async () => {
  const data = randomBytes(11 << 20);
  const parts = [];
  for (let i = 0; i < data.length; i += 300_000) parts.push(data.subarray(i, i + 300_000));
  const back = gunzipSync(await gz(parts));
  assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(data).digest('hex'));
});

test('an empty input is still a valid gzip stream', async () => {
  assert.equal(gunzipSync(await gz([])).length, 0);
});
