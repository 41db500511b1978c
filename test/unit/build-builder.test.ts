import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Builder, BuildMessage, BuildOptions } from '../../src/build/builder.js';
import { FakeBackend } from '../helpers/build-fake-backend.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-build-test-'));
  dirs.push(d);
  return d;
}

function context(files: Record<string, string>): string {
  const d = tmp();
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(d, p, '..'), { recursive: true });
    writeFileSync(join(d, p), c);
  }
  return d;
}

async function build(be: FakeBackend, o: Partial<BuildOptions> & { dockerfile: string }, state = tmp()) {
  const msgs: BuildMessage[] = [];
  const b = new Builder(be, { stateDir: state });
  const res = await b.build({ contextDir: o.contextDir ?? context({}), ...o }, (m) => msgs.push(m));
  const text = msgs.map((m) => ('stream' in m ? m.stream : '')).join('');
  return { res, msgs, text, image: be.images.get(res.imageId)! };
}

async function buildErr(be: FakeBackend, o: Partial<BuildOptions> & { dockerfile: string }): Promise<Error> {
  try {
    await build(be, o);
  } catch (e) {
    return e as Error;
  }
  assert.fail('build should fail');
}

test('image config from every metadata instruction, history and classic output', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/bin/sh': 'sh', '/etc/passwd': 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n' });
  const { image, text, msgs } = await build(be, {
    dockerfile: [
      'FROM busybox',
      'ENV A=1 B="two words"',
      'ENV C=${A}-x',
      'LABEL org.x=y "k 2"=v',
      'EXPOSE 80 53/udp 8000-8001',
      'VOLUME /data',
      'USER app',
      'WORKDIR /srv',
      'WORKDIR sub',
      'STOPSIGNAL SIGINT',
      'HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost || exit 1',
      'SHELL ["/bin/sh", "-ec"]',
      'ONBUILD RUN echo child',
      'ENTRYPOINT ["/entry"]',
      'CMD run --fast',
    ].join('\n'),
    tags: ['myimg', 'other:v1'],
    labels: { 'from.cli': 'yes' },
  });
  const c = image.config.config!;
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=1', 'B=two words', 'C=1-x']);
  assert.deepEqual(c.Labels, { 'org.x': 'y', 'k 2': 'v', 'from.cli': 'yes' });
  assert.deepEqual(Object.keys(c.ExposedPorts!).sort(), ['53/udp', '80/tcp', '8000/tcp', '8001/tcp']);
  assert.deepEqual(c.Volumes, { '/data': {} });
  assert.equal(c.User, 'app');
  assert.equal(c.WorkingDir, '/srv/sub');
  assert.equal(c.StopSignal, 'SIGINT');
  assert.deepEqual(c.Healthcheck, { Test: ['CMD-SHELL', 'wget -q localhost || exit 1'], Interval: 5e9, Retries: 3 });
  assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
  assert.deepEqual(c.OnBuild, ['RUN echo child']);
  assert.deepEqual(c.Entrypoint, ['/entry']);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-ec', 'run --fast']);
  const hist = image.config.history!;
  assert.equal(hist[0].created_by, 'base');
  assert.ok(hist.some((h) => h.created_by === '/bin/sh -c #(nop)  ENV A=1 B=two words' && h.empty_layer === true));
  // WORKDIR of a missing dir writes a layer with it
  assert.ok(hist.some((h) => h.created_by === '/bin/sh -c #(nop) WORKDIR /srv' && !h.empty_layer));
  assert.equal(be.files(image).get('srv/sub')?.type, 'dir');
  assert.match(text, /^Step 1\/15 : FROM busybox\n ---> [0-9a-f]{12}\nStep 2\/15 : ENV A=1 B="two words"\n ---> [0-9a-f]{12}\n/);
  assert.match(text, /Successfully built [0-9a-f]{12}\nSuccessfully tagged myimg:latest\nSuccessfully tagged other:v1\n$/);
  assert.ok(msgs.some((m) => 'aux' in m && m.aux.ID === image.id));
  assert.equal(be.tags.get('myimg:latest'), image.id);
});

test('ENTRYPOINT drops the inherited CMD; ONBUILD triggers run in the child', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('base:latest', { '/bin/sh': '' }, { Cmd: ['sh'], OnBuild: ['ENV FROM_TRIGGER=1'] });
  const { image, text } = await build(be, { dockerfile: 'FROM base\nENTRYPOINT ["x"]\n' });
  assert.equal(image.config.config!.Cmd, null);
  assert.ok(image.config.config!.Env!.includes('FROM_TRIGGER=1'));
  assert.equal(image.config.config!.OnBuild, null);
  assert.match(text, /# Executing 1 build trigger\n/);
});

test('RUN: shell and exec form, env with ARGs, history with args, layer committed', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/bin/sh': '' });
  be.runner = (spec) => ({ output: `ran ${spec.args.join(' ')}\n`, changes: (spec.args.includes('touch /f') ? { '/f': 'x' } : {}) as Record<string, string> });
  const { image, text } = await build(be, {
    dockerfile: 'FROM busybox\nARG V=1\nARG W\nENV E=e\nRUN touch /f\nRUN ["echo", "$V"]\n',
    buildArgs: new Map([['W', '2']]),
  });
  const [r1, r2] = be.runs;
  assert.deepEqual(r1.args, ['/bin/sh', '-c', 'touch /f']);
  assert.deepEqual(r1.env, ['PATH=/bin', 'E=e', 'V=1', 'W=2']);
  assert.deepEqual(r2.args, ['echo', '$V']);
  const hist = image.config.history!;
  assert.equal(hist[hist.length - 2].created_by, '|2 V=1 W=2 /bin/sh -c touch /f');
  assert.equal(hist[hist.length - 2].empty_layer, undefined);
  assert.equal(hist[hist.length - 1].empty_layer, true, 'a RUN that changes nothing writes no layer');
  assert.equal(image.config.rootfs.diff_ids.length, 2);
  assert.match(text, / ---> Running in [0-9a-f]{12}\nran \/bin\/sh -c touch \/f\n ---> Removed intermediate container [0-9a-f]{12}\n ---> [0-9a-f]{12}\n/);
});

test('RUN failure: Docker text and code, no tag left behind', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/bin/sh': '' });
  const e = await buildErr(be, { dockerfile: 'FROM busybox\nRUN exit 2\n', tags: ['bad'] });
  assert.equal(e.message, "The command '/bin/sh -c exit 2' returned a non-zero code: 2");
  assert.equal((e as { code?: number }).code, 2);
  assert.equal(be.tags.has('bad:latest'), false);
});

test('RUN heredocs: script, shebang file, heredoc fed to a command', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/bin/sh': '' });
  await build(be, {
    dockerfile: 'FROM busybox\nRUN <<EOF\necho a\necho b\nEOF\nRUN <<EOF\n#!/bin/sh\necho script\nEOF\nRUN cat > /x <<EOT\nhello\nEOT\n',
  });
  assert.deepEqual(be.runs[0].args, ['/bin/sh', '-c', 'echo a\necho b\n']);
  assert.deepEqual(be.runs[1].args, ['/dev/pipes/EOF']);
  assert.equal(be.runs[1].mounts[0].type, 'bind');
  assert.deepEqual(be.runs[2].args, ['/bin/sh', '-c', 'cat > /x <<EOT\nhello\nEOT\n']);
});

test('COPY: files, dirs, wildcards, heredoc, chown by name, chmod, existing dest dir', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/tmp/': '', '/etc/passwd': 'app:x:1000:1001::/home/app:/bin/sh\n', '/etc/group': 'grp:x:50:\n' });
  const ctx = context({ 'a.txt': 'A', 'b.txt': 'B', 'dir/x': 'X', 'dir/sub/y': 'Y', 'c.md': 'C' });
  const { image } = await build(be, {
    contextDir: ctx,
    dockerfile: [
      'FROM busybox',
      'COPY a.txt /tmp',
      'COPY a.txt /renamed',
      'COPY dir /d/',
      'COPY *.txt /many/',
      'COPY --chown=app:grp --chmod=600 c.md /owned',
      'COPY --chown=7 c.md /numeric',
      'ARG NAME=world',
      'COPY <<EOF /greeting',
      'hello ${NAME}',
      'EOF',
      'WORKDIR /w',
      'COPY a.txt rel/',
    ].join('\n'),
  });
  const f = be.files(image);
  assert.equal(f.get('tmp/a.txt')?.data, 'A', 'an existing directory destination gets the file inside');
  assert.equal(f.get('renamed')?.data, 'A');
  assert.equal(f.get('d/x')?.data, 'X');
  assert.equal(f.get('d/sub/y')?.data, 'Y');
  assert.equal(f.get('many/a.txt')?.data, 'A');
  assert.equal(f.get('many/b.txt')?.data, 'B');
  assert.deepEqual([f.get('owned')?.uid, f.get('owned')?.gid, f.get('owned')?.mode], [1000, 50, 0o600]);
  assert.deepEqual([f.get('numeric')?.uid, f.get('numeric')?.gid], [7, 7]);
  assert.equal(f.get('greeting')?.data, 'hello world\n');
  assert.equal(f.get('w/rel/a.txt')?.data, 'A');
});

test('COPY errors: missing source, escapes, several sources without a slash, unknown user', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', {});
  const ctx = context({ 'a': '1', 'b': '2' });
  symlinkSync('/etc/passwd', join(ctx, 'abs-link'));
  symlinkSync('../../outside', join(ctx, 'rel-link'));
  const err = (df: string) => buildErr(be, { contextDir: ctx, dockerfile: `FROM busybox\n${df}\n` });
  assert.equal((await err('COPY nope /x')).message,
    'COPY failed: file not found in build context or excluded by .dockerignore: stat nope: file does not exist (Dockerfile line 2)');
  assert.match((await err('COPY ../x /x')).message, /^forbidden path outside the build context: \.\.\/x \(\)/);
  assert.match((await err('COPY abs-link /x')).message, /forbidden path outside the build context: abs-link \(\/etc\/passwd\)/);
  assert.match((await err('COPY rel-link /x')).message, /forbidden path outside the build context: rel-link/);
  assert.match((await err('COPY a b /x')).message, /When using COPY with more than one source file, the destination must be a directory and end with a \//);
  assert.match((await err('COPY *.none /x/')).message, /COPY failed: no source files were specified/);
  assert.match((await err('COPY --chown=nobody a /x')).message, /can't find uid for user nobody: no such user: nobody/);
  assert.match((await err('COPY --from=nosuchstage a /x')).message, /invalid from flag value nosuchstage: pull access denied for nosuchstage.*line 2/);
});

test('bad Dockerfiles fail with the line', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', {});
  assert.equal((await buildErr(be, { dockerfile: 'FROM busybox\nBOGUS x\n' })).message, 'dockerfile parse error on line 2: unknown instruction: BOGUS');
  assert.match((await buildErr(be, { dockerfile: 'FROM nosuch\n' })).message, /pull access denied for nosuch.*line 1/);
  assert.match((await buildErr(be, { dockerfile: 'FROM busybox\nENV X=${Y:?needY}\n' })).message,
    /^dockerfile parse error on line 2: failed to process "\$\{Y:\?needY\}": Y: needY$/);
  assert.match((await buildErr(be, { dockerfile: 'FROM busybox AS a\n', target: 'b' })).message, /failed to reach build target b in Dockerfile/);
});

test('cache: unchanged rebuild hits every step; touch keeps it; a changed file rebuilds from its step on', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/bin/sh': '' });
  be.runner = (spec) => ({ changes: { [`/out-${be.runs.length}`]: spec.args.join(' ') } });
  const ctx = context({ 'a': '1', 'b': '2' });
  const df = 'FROM busybox\nENV X=1\nRUN step one\nCOPY a /a\nRUN step two\nCOPY b /b\nRUN step three\nLABEL x=y\nCMD ["x"]\nUSER nobody\n';
  const state = tmp();
  const first = await build(be, { contextDir: ctx, dockerfile: df }, state);
  assert.equal(be.runs.length, 3);
  const second = await build(be, { contextDir: ctx, dockerfile: df }, state);
  assert.equal(be.runs.length, 3, 'no RUN executed on a cached rebuild');
  assert.equal(second.res.imageId, first.res.imageId);
  assert.ok(second.res.steps.every((s) => s.cached));
  assert.equal((second.text.match(/Using cache/g) ?? []).length, 9);
  utimesSync(join(ctx, 'b'), new Date(2000, 1, 1), new Date(2000, 1, 1));
  const touched = await build(be, { contextDir: ctx, dockerfile: df }, state);
  assert.equal(touched.res.imageId, first.res.imageId, 'mtime is not part of the key');
  writeFileSync(join(ctx, 'b'), 'changed');
  const changed = await build(be, { contextDir: ctx, dockerfile: df, explainCache: true }, state);
  assert.deepEqual(changed.res.steps.map((s) => s.cached), [true, true, true, true, false, false, false, false, false]);
  assert.equal(be.runs.length, 4, 'only the RUN after the changed COPY ran again');
  assert.match(changed.text, /Cache miss: \/b changed/);
  const nocache = await build(be, { contextDir: ctx, dockerfile: df, noCache: true }, state);
  assert.ok(nocache.res.steps.every((s) => !s.cached));
});

test('cache: a build arg in use changes the key, one not used does not', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', {});
  const df = 'FROM busybox\nARG USED\nARG UNUSED\nENV A=$USED\nLABEL l=1\n';
  const b1 = await build(be, { dockerfile: df, buildArgs: new Map([['USED', '1'], ['UNUSED', 'a']]) });
  const b2 = await build(be, { dockerfile: df, buildArgs: new Map([['USED', '1'], ['UNUSED', 'b']]) });
  assert.equal(b2.res.imageId, b1.res.imageId);
  const b3 = await build(be, { dockerfile: df, buildArgs: new Map([['USED', '2'], ['UNUSED', 'b']]) });
  assert.notEqual(b3.res.imageId, b1.res.imageId);
  const b4 = await build(be, { dockerfile: df, buildArgs: new Map([['NOTDECLARED', 'x']]) });
  assert.match(b4.text, /\[Warning\] One or more build-args \[NOTDECLARED\] were not consumed/);
});

test('multi-stage: COPY --from a stage, unused stage skipped, target', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/bin/sh': '' });
  be.runner = (spec) => ({ changes: { '/built': String(spec.args[2]) } });
  const df = [
    'FROM busybox AS build', 'RUN make app',
    'FROM busybox AS unused', 'RUN never',
    'FROM scratch', 'COPY --from=build /built /app', 'COPY --from=0 /bin/sh /sh',
  ].join('\n');
  const { image } = await build(be, { dockerfile: df });
  assert.deepEqual(be.runs.map((r) => r.args[2]), ['make app']);
  const f = be.files(image);
  assert.equal(f.get('app')?.data, 'make app');
  assert.ok(f.has('sh'));
  assert.equal(image.config.rootfs.diff_ids.length, 2);
  const t2 = await build(be, { dockerfile: df, target: 'unused', noCache: true });
  assert.deepEqual(be.runs.map((r) => r.args[2]), ['make app', 'never']);
  assert.equal(t2.image.config.history!.at(-1)!.created_by, '/bin/sh -c never');
});

test('RUN --mount: secret never in history or config; cache dir persists; bind from context', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/bin/sh': '' });
  const state = tmp();
  const seen: string[] = [];
  be.runner = async (spec) => {
    for (const m of spec.mounts) {
      if (m.type === 'bind' && m.target === '/run/secrets/tok') seen.push((await import('node:fs')).readFileSync(m.source, 'utf8'));
    }
    return {};
  };
  const ctx = context({ 'src/main.c': 'int main;' });
  const { image } = await build(be, {
    contextDir: ctx,
    dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=tok --mount=type=secret,id=tok,env=TOKEN --mount=type=cache,target=/root/.cache --mount=type=bind,source=src,target=/src use-it\n',
    secrets: new Map([['tok', Buffer.from('s3cr3t-value')]]),
  }, state);
  assert.deepEqual(seen, ['s3cr3t-value']);
  const run = be.runs[0];
  assert.ok(run.env.includes('TOKEN=s3cr3t-value'));
  const cache = run.mounts.find((m) => m.type === 'bind' && m.target === '/root/.cache');
  assert.ok(cache && cache.type === 'bind' && cache.source.startsWith(join(state, 'cache-mounts')));
  const bind = run.mounts.find((m) => m.type === 'bind' && m.target === '/src');
  assert.ok(bind && bind.type === 'bind' && bind.readOnly);
  assert.equal(JSON.stringify(image.config).includes('s3cr3t'), false);
  assert.equal(JSON.stringify(be.cache.list()).includes('s3cr3t'), false);
  const err = await buildErr(be, { dockerfile: 'FROM busybox\nRUN --mount=type=secret,id=missing,required true\n' });
  assert.match(err.message, /secret missing not found/);
});

test('cache-from: an image built elsewhere with the same steps is reused', async (t) => {
  const be = new FakeBackend();
  t.after(() => be.close());
  be.addBaseImage('busybox:latest', { '/bin/sh': '' });
  be.runner = () => ({ changes: { '/x': '1' } });
  const df = 'FROM busybox\nRUN build it\nLABEL a=b\n';
  const first = await build(be, { dockerfile: df, tags: ['prev'] });
  be.cache.remove(be.cache.list().map((e) => e.key));
  const again = await build(be, { dockerfile: df, cacheFrom: ['prev'] });
  assert.equal(be.runs.length, 1);
  assert.equal(again.res.imageId, first.res.imageId);
});
