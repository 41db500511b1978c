import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Builder, BuildMessage } from '../../src/build/builder.js';
import { handleBuild, parseBuildQuery } from '../../src/build/http.js';
import { pruneBuildCache, buildCacheUsage } from '../../src/build/cache-usage.js';
import { FakeBackend } from '../helpers/build-fake-backend.js';
import { makeTar } from './build-context.test.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
const tmp = () => { const d = mkdtempSync(join(tmpdir(), 'berth-http-')); dirs.push(d); return d; };

async function collect(it: AsyncIterable<BuildMessage>): Promise<BuildMessage[]> {
  const out: BuildMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}

function setup() {
  const be = new FakeBackend();
  be.addBaseImage('busybox:latest', { '/bin/sh': '', '/tmp/': '' });
  const stateDir = tmp();
  return { be, stateDir, deps: { builder: new Builder(be, { stateDir }), stateDir } };
}

test('query parsing: tags, build args, labels, cachefrom, secrets header', () => {
  const q = new URLSearchParams();
  q.append('t', 'a'); q.append('t', 'b:1');
  q.set('buildargs', JSON.stringify({ A: '1', B: null }));
  q.set('labels', JSON.stringify({ l: 'v' }));
  q.set('cachefrom', JSON.stringify(['img']));
  q.set('nocache', '1'); q.set('target', 'x'); q.set('networkmode', 'none'); q.set('dockerfile', 'sub/Dockerfile');
  const secrets = Buffer.from(JSON.stringify({ tok: Buffer.from('v').toString('base64') })).toString('base64');
  const p = parseBuildQuery(q, { 'x-berth-build-secrets': secrets });
  assert.deepEqual(p.tags, ['a', 'b:1']);
  assert.deepEqual([...p.buildArgs!], [['A', '1'], ['B', null]]);
  assert.deepEqual(p.labels, { l: 'v' });
  assert.deepEqual(p.cacheFrom, ['img']);
  assert.equal(p.noCache, true);
  assert.equal(p.dockerfilePath, 'sub/Dockerfile');
  assert.equal(p.secrets?.get('tok')?.toString(), 'v');
  assert.throws(() => parseBuildQuery(new URLSearchParams('buildargs=[1]'), {}), /invalid buildargs value/);
  assert.throws(() => parseBuildQuery(new URLSearchParams('platform=linux/arm64'), {}), /unsupported platform/);
  assert.throws(() => parseBuildQuery(new URLSearchParams('version=2'), {}), /BuildKit/);
});

test('POST /build stream: classic lines, aux ID, errors after output are messages with the code', async (t) => {
  const { be, deps } = setup();
  t.after(() => be.close());
  const body = await makeTar([{ name: 'Dockerfile', data: 'FROM busybox\nCOPY f /tmp/\nRUN exit 3\n' }, { name: 'f', data: 'x' }]);
  const msgs = await collect(await handleBuild(new URLSearchParams('t=x'), {}, Readable.from([gzipSync(body)]), deps));
  const last = msgs.at(-1)!;
  assert.deepEqual(last, { errorDetail: { code: 3, message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" },
    error: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" });
  assert.ok(msgs.some((m) => 'stream' in m && m.stream === 'Step 2/3 : COPY f /tmp/\n'));
  const ok = await makeTar([{ name: 'Dockerfile', data: 'FROM busybox\nLABEL a=b\n' }]);
  const msgs2 = await collect(await handleBuild(new URLSearchParams('t=ok'), {}, Readable.from([ok]), deps));
  const aux = msgs2.find((m) => 'aux' in m) as { aux: { ID: string } };
  assert.equal(be.tags.get('ok:latest'), aux.aux.ID);
  assert.equal(readdirSync(join(deps.stateDir, 'contexts')).length, 0, 'the context is removed after the build');
});

test('POST /build: errors before any output reject (HTTP status), context removed', async (t) => {
  const { be, deps } = setup();
  t.after(() => be.close());
  const bad = await makeTar([{ name: 'Dockerfile', data: 'FROM busybox\nNOPE x\n' }]);
  await assert.rejects(handleBuild(new URLSearchParams(), {}, Readable.from([bad]), deps), /dockerfile parse error on line 2: unknown instruction: NOPE/);
  const none = await makeTar([{ name: 'other', data: '' }]);
  await assert.rejects(handleBuild(new URLSearchParams(), {}, Readable.from([none]), deps), /Cannot locate specified Dockerfile: Dockerfile/);
  const empty = await makeTar([{ name: 'Dockerfile', data: '' }]);
  await assert.rejects(handleBuild(new URLSearchParams(), {}, Readable.from([empty]), deps), /the Dockerfile \(Dockerfile\) cannot be empty/);
  const escape = await makeTar([{ name: '../x', data: '' }]);
  await assert.rejects(handleBuild(new URLSearchParams(), {}, Readable.from([escape]), deps), /escapes the build context/);
  assert.equal(readdirSync(join(deps.stateDir, 'contexts')).length, 0);
});

test('quiet mode, Dockerfile-only body, named contexts', async (t) => {
  const { be, deps } = setup();
  t.after(() => be.close());
  const msgs = await collect(await handleBuild(new URLSearchParams('q=1'), {}, Readable.from([Buffer.from('FROM busybox\nENV A=1\n')]), deps));
  assert.equal(msgs.filter((m) => 'stream' in m).length, 1);
  assert.match((msgs.find((m) => 'stream' in m) as { stream: string }).stream, /^sha256:[0-9a-f]{64}\n$/);
  const body = await makeTar([{ name: 'Dockerfile', data: 'FROM busybox\nCOPY --from=extra data.txt /d\nCOPY --from=img /bin/sh /copied-sh\n' },
    { name: 'more/data.txt', data: 'named' }]);
  const q = new URLSearchParams({ buildcontexts: JSON.stringify({ extra: 'context:more', img: 'docker-image://busybox' }) });
  const m2 = await collect(await handleBuild(q, {}, Readable.from([body]), deps));
  const id = (m2.find((m) => 'aux' in m) as { aux: { ID: string } }).aux.ID;
  assert.equal(be.files(id).get('d')?.data, 'named');
  assert.ok(be.files(id).has('copied-sh'));
});

test('ADD: local tar archives are extracted; URLs with --checksum', async (t) => {
  const { be, deps } = setup();
  t.after(() => be.close());
  const payload = 'downloaded content';
  const srv = http.createServer((req, res) => { res.end(req.url === '/file.txt' ? payload : ''); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  t.after(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const sum = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
  const inner = gzipSync(await makeTar([{ name: 'pkg/', type: 'directory' }, { name: 'pkg/a', data: 'A' }]));
  const ctx = tmp();
  writeFileSync(join(ctx, 'Dockerfile'), `FROM busybox\nADD pkg.tgz /opt/\nADD --checksum=${sum} http://127.0.0.1:${port}/file.txt /dl/\n`);
  writeFileSync(join(ctx, 'pkg.tgz'), inner);
  const B = Builder;
  const res = await new B(be, { stateDir: deps.stateDir }).build({ contextDir: ctx, dockerfile: readFileSync(join(ctx, 'Dockerfile'), 'utf8') }, () => undefined);
  const f = be.files(res.imageId);
  assert.equal(f.get('opt/pkg/a')?.data, 'A');
  assert.equal(f.get('dl/file.txt')?.data, payload);
  assert.equal(f.get('dl/file.txt')?.mode, 0o600);
  writeFileSync(join(ctx, 'Dockerfile'), `FROM busybox\nADD --checksum=sha256:${'0'.repeat(64)} http://127.0.0.1:${port}/file.txt /dl/\n`);
  await assert.rejects(new B(be, { stateDir: deps.stateDir }).build({ contextDir: ctx, dockerfile: readFileSync(join(ctx, 'Dockerfile'), 'utf8') }, () => undefined),
    /digest mismatch sha256:0+: sha256:/);
});

test('build cache prune: a space limit removes the least recently used first, only until it holds', async (t) => {
  const { be, deps } = setup();
  t.after(() => be.close());
  const { mkdirSync, writeFileSync, utimesSync } = await import('node:fs');
  for (const [name, age] of [['old', 3000], ['mid', 2000], ['new', 1000]] as const) {
    const dir = join(deps.stateDir, 'cache-mounts', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'data'), Buffer.alloc(1000));
    const when = new Date(Date.now() - age * 1000);
    utimesSync(dir, when, when);
  }
  const r = await pruneBuildCache(be, deps.stateDir, { reservedSpace: 1500 });
  assert.deepEqual(r, { CachesDeleted: ['old', 'mid'], SpaceReclaimed: 2000 });
  assert.deepEqual((await buildCacheUsage(be, deps.stateDir)).map((u) => u.ID), ['new']);
});

test('build cache usage and prune', async (t) => {
  const { be, deps } = setup();
  t.after(() => be.close());
  await collect(await handleBuild(new URLSearchParams(), {}, Readable.from([Buffer.from('FROM busybox\nRUN --mount=type=cache,target=/c true\nENV A=1\n')]), deps));
  const usage = await buildCacheUsage(be, deps.stateDir);
  assert.ok(usage.some((u) => u.Type === 'regular'));
  assert.ok(usage.some((u) => u.Type === 'exec.cachemount'));
  // A step whose image was deleted since is dangling.
  be.cache.put({ key: `sha256:${'e'.repeat(64)}`, imageId: `sha256:${'0'.repeat(64)}`, parent: 'sha256:x', instruction: 'RUN gone', args: {}, content: '' });
  usage.push(...(await buildCacheUsage(be, deps.stateDir)).filter((u) => u.Description === 'RUN gone'));
  assert.equal(usage.find((u) => u.Description === 'RUN gone')?.Shared, false);
  const steps = usage.filter((u) => u.Shared).map((u) => u.ID);
  await assert.rejects(pruneBuildCache(be, deps.stateDir, { filters: new Map([['color', ['red']]]) }), /invalid filter 'color'/);
  // Used within the hour: an until of 1h keeps everything.
  assert.deepEqual(await pruneBuildCache(be, deps.stateDir, { all: true, filters: new Map([['until', ['1h']]]) }), { CachesDeleted: [], SpaceReclaimed: 0 });
  // Without all, the step records stay: their images are still there.
  const dangling = await pruneBuildCache(be, deps.stateDir);
  assert.deepEqual(dangling.CachesDeleted.sort(), usage.filter((u) => !u.Shared).map((u) => u.ID).sort());
  assert.deepEqual((await buildCacheUsage(be, deps.stateDir)).map((u) => u.ID).sort(), steps.sort());
  const pr = await pruneBuildCache(be, deps.stateDir, { all: true, filters: new Map([['type', ['regular']]]) });
  assert.deepEqual(pr.CachesDeleted.sort(), steps.sort());
  assert.equal(be.cache.list().length, 0);
});
