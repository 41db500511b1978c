// sendFileRange: the bytes asked for, exactly, through reused buffers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { sendFileRange } from '../../src/util/streams.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-streams-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const data = randomBytes(1_000_003);
const file = join(dir, 'blob');
writeFileSync(file, data);

/** A receiver that keeps copies, as a socket does once a write has called back. */
function collector(opts: { failAfter?: number } = {}): Writable & { got: () => Buffer } {
  const parts: Buffer[] = [];
  let n = 0;
  const w = new Writable({
    write(chunk: Buffer, _e, cb) {
      if (opts.failAfter !== undefined && n++ >= opts.failAfter) { w.destroy(); return; }
      const copy = Buffer.from(chunk);
      // Call back later than the next read can start, to catch a buffer reused too early.
      setTimeout(() => { parts.push(copy); cb(); }, 1);
    },
  });
  return Object.assign(w, { got: () => Buffer.concat(parts) });
}

test('whole files and ranges arrive byte for byte, across many reuses of the buffers', async () => {
  for (const [start, end] of [[0, data.length - 1], [1, data.length - 2], [4096, 4096], [65_535, 300_001]] as const) {
    const out = collector();
    await sendFileRange(file, start, end, out, 4096, 3);
    assert.ok(out.got().equals(data.subarray(start, end + 1)), `bytes ${start}-${end}`);
  }
});

test('a receiver that goes away ends the send with an error', async () => {
  await assert.rejects(sendFileRange(file, 0, data.length - 1, collector({ failAfter: 3 }), 4096, 2));
});

test('a file shorter than the range is an error, not a short answer passed off as whole', async () => {
  await assert.rejects(sendFileRange(file, 0, data.length + 10, collector()), /ended at byte/);
});
