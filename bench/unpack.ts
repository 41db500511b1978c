// Times berth's layer unpacking against `tar -xf` of the same plain tar, and the full
// applyBlob path (gunzip + diff ID hash + unpack) for a gzip blob. Run by bench/pull-push.sh,
// or alone: node dist/bench/unpack.js <layer.tar> [<layer.tar.gz>]
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unpackTar } from '../src/image/unpack.js';
import { openDatabase } from '../src/store/db.js';
import { ContentStore } from '../src/store/content.js';
import { LayerStore } from '../src/image/layers.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const [tarFile, gzFile] = process.argv.slice(2);
  if (!tarFile) { console.error('usage: unpack.js <layer.tar> [<layer.tar.gz>]'); process.exit(2); }
  const runs = Number(process.env.RUNS ?? 3);
  const tarTimes: number[] = [];
  const ourTimes: number[] = [];
  const applyTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'bench-unpack-'));
    try {
      let t = process.hrtime.bigint();
      spawnSync('tar', ['-xf', tarFile, '-C', dir], { stdio: 'inherit' });
      tarTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
      rmSync(dir, { recursive: true, force: true });
      const dir2 = mkdtempSync(join(tmpdir(), 'bench-unpack-'));
      t = process.hrtime.bigint();
      await unpackTar(createReadStream(tarFile, { highWaterMark: 1 << 20 }), dir2, { overlayWhiteouts: true });
      ourTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
      rmSync(dir2, { recursive: true, force: true });
      if (gzFile) {
        const root = mkdtempSync(join(tmpdir(), 'bench-apply-'));
        const db = openDatabase(join(root, 'berth.db'));
        const content = new ContentStore(root);
        const layers = new LayerStore(db, content, root);
        const { digest } = await content.ingest(createReadStream(gzFile));
        t = process.hrtime.bigint();
        await layers.applyBlob(null, digest, 'application/vnd.oci.image.layer.v1.tar+gzip');
        applyTimes.push(Number(process.hrtime.bigint() - t) / 1e6);
        db.close();
        rmSync(root, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const tm = median(tarTimes);
  const om = median(ourTimes);
  console.log(`unpack (plain tar):      tar -xf ${tm.toFixed(0)} ms, berth ${om.toFixed(0)} ms, ratio ${(om / tm).toFixed(2)}x (target <= 1.3x)`);
  if (applyTimes.length) {
    const am = median(applyTimes);
    console.log(`applyBlob (gzip blob):   berth ${am.toFixed(0)} ms (gunzip + diff ID + unpack), ratio vs tar -xf of the plain tar ${(am / tm).toFixed(2)}x`);
  }
}

void main();
