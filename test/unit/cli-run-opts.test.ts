// run/create flags → the create body docker sends (shapes from the wire trace).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildCreateRequest, parseMount, parsePublish, parseEnvFile } from '../../src/cli/run-opts.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-cli-opts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the trace run -d example maps field for field', () => {
  const r = buildCreateRequest(
    {
      detach: true,
      name: 'N',
      publish: ['127.0.0.1:18081:80'],
      volume: ['vol:/data', '/h:/c:ro'],
      env: ['K=V'],
      restart: 'unless-stopped',
      memory: '64m',
      cpus: '0.5',
      user: '0:0',
      workdir: '/tmp',
      healthCmd: 'true',
      healthInterval: '5s',
      label: ['a=b'],
    },
    'IMG',
    ['cmd'],
    {},
  );
  const b = r.body;
  assert.equal(r.name, 'N');
  assert.equal(b.Image, 'IMG');
  assert.deepEqual(b.Cmd, ['cmd']);
  assert.deepEqual(b.Env, ['K=V']);
  assert.equal(b.User, '0:0');
  assert.equal(b.WorkingDir, '/tmp');
  assert.deepEqual(b.Labels, { a: 'b' });
  assert.deepEqual(b.ExposedPorts, { '80/tcp': {} });
  assert.deepEqual(b.Healthcheck?.Test, ['CMD-SHELL', 'true']);
  assert.equal(b.Healthcheck?.Interval, 5_000_000_000);
  assert.deepEqual(b.HostConfig?.Binds, ['vol:/data', '/h:/c:ro']);
  assert.deepEqual(b.HostConfig?.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '18081' }] });
  assert.deepEqual(b.HostConfig?.RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });
  assert.equal(b.HostConfig?.Memory, 67108864);
  assert.equal(b.HostConfig?.NanoCpus, 500_000_000);
  assert.equal(b.HostConfig?.NetworkMode, 'default');
  assert.deepEqual(b.HostConfig?.ConsoleSize, [0, 0]);
  assert.equal(b.AttachStdout, false);
  assert.equal(b.AttachStdin, false);
});

test('attached run: stdout/stderr attached; -i adds stdin, OpenStdin and StdinOnce; --rm is AutoRemove', () => {
  const plain = buildCreateRequest({ rm: true }, 'busybox', ['echo', 'x'], {});
  assert.deepEqual([plain.body.AttachStdin, plain.body.AttachStdout, plain.body.AttachStderr], [false, true, true]);
  assert.equal(plain.body.HostConfig?.AutoRemove, true);
  assert.equal(plain.body.Env, null);
  const it = buildCreateRequest({ interactive: true, tty: true }, 'busybox', ['sh'], {}, [30, 120]);
  assert.deepEqual([it.body.AttachStdin, it.body.Tty, it.body.OpenStdin, it.body.StdinOnce], [true, true, true, true]);
  assert.deepEqual(it.body.HostConfig?.ConsoleSize, [30, 120]);
  const attachOnly = buildCreateRequest({ attach: ['STDERR'] }, 'busybox', [], {});
  assert.deepEqual([attachOnly.body.AttachStdin, attachOnly.body.AttachStdout, attachOnly.body.AttachStderr], [false, false, true]);
  assert.equal(attachOnly.body.Cmd, null);
});

test('entrypoint, hostname, stop signal/timeout, runtime, pids-limit, init, log-opt, network', () => {
  const b = buildCreateRequest(
    { entrypoint: '', hostname: 'h', stopSignal: 'SIGUSR1', stopTimeout: 3, runtime: 'runc', pidsLimit: 20, init: true, logOpt: ['max-size=1m', 'max-file=2'], network: 'none' },
    'busybox',
    [],
    {},
  ).body;
  assert.deepEqual(b.Entrypoint, ['']);
  assert.equal(b.Hostname, 'h');
  assert.equal(b.StopSignal, 'SIGUSR1');
  assert.equal(b.StopTimeout, 3);
  assert.equal(b.HostConfig?.Runtime, 'runc');
  assert.equal(b.HostConfig?.PidsLimit, 20);
  assert.equal(b.HostConfig?.Init, true);
  assert.deepEqual(b.HostConfig?.LogConfig?.Config, { 'max-size': '1m', 'max-file': '2' });
  assert.equal(b.HostConfig?.NetworkMode, 'none');
});

test('-e KEY takes the value from our environment; --env-file and --label-file read files', () => {
  const envFile = join(dir, 'env');
  writeFileSync(envFile, '# comment\nA=1\n\nFROM_HOST\nB=two words\n');
  assert.deepEqual(parseEnvFile(envFile, { FROM_HOST: 'yes' }), ['A=1', 'FROM_HOST=yes', 'B=two words']);
  const labels = join(dir, 'labels');
  writeFileSync(labels, 'x=1\ny\n');
  const b = buildCreateRequest({ env: ['HOME_X', 'C=3'], envFile: [envFile], labelFile: [labels], label: ['x=2'] }, 'busybox', [], { HOME_X: 'h', FROM_HOST: 'f' }).body;
  assert.deepEqual(b.Env, ['A=1', 'FROM_HOST=f', 'B=two words', 'HOME_X=h', 'C=3']);
  assert.deepEqual(b.Labels, { x: '2', y: '' });
  assert.throws(() => parseEnvFile(join(dir, 'missing'), {}), /open .*missing: no such file or directory/);
});

test('-p forms and -v anonymous volumes; --mount', () => {
  assert.deepEqual(parsePublish(['80']).bindings, { '80/tcp': [{ HostIp: '', HostPort: '' }] });
  assert.deepEqual(parsePublish(['8080:80/udp']).bindings, { '80/udp': [{ HostIp: '', HostPort: '8080' }] });
  assert.deepEqual(Object.keys(parsePublish(['8000-8001:9000-9001']).bindings), ['9000/tcp', '9001/tcp']);
  assert.deepEqual(parsePublish(['8000-8001:9000-9001']).bindings['9001/tcp'], [{ HostIp: '', HostPort: '8001' }]);
  assert.deepEqual(parsePublish(['[::1]:80:80']).bindings, { '80/tcp': [{ HostIp: '::1', HostPort: '80' }] });
  assert.throws(() => parsePublish(['a:b:c:d']), /invalid port format/);
  assert.throws(() => parsePublish(['80/xyz']), /invalid proto: xyz/);
  const b = buildCreateRequest({ volume: ['/data'] }, 'busybox', [], {}).body;
  assert.deepEqual(b.Volumes, { '/data': {} });
  assert.equal(b.HostConfig?.Binds, null);
  assert.deepEqual(parseMount('type=bind,source=/a,target=/b,readonly'), { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true });
  assert.deepEqual(parseMount('type=tmpfs,dst=/t,tmpfs-size=1m'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576 } });
  assert.throws(() => parseMount('type=bind,target=/b'), /source is required/);
  assert.throws(() => parseMount('source=/a'), /target is required/);
  assert.throws(() => parseMount('type=volume,target=/x,bogus=1'), /unexpected key 'bogus'/);
});

test('conflicts and bad values fail with docker wording', () => {
  assert.throws(() => buildCreateRequest({ rm: true, restart: 'always' }, 'b', [], {}), /conflicting options: cannot specify both --restart and --rm/);
  assert.throws(() => buildCreateRequest({ detach: true, attach: ['stdout'] }, 'b', [], {}), /conflicting options: cannot specify both --attach and --detach/);
  assert.throws(() => buildCreateRequest({ restart: 'sometimes' }, 'b', [], {}), /invalid restart policy 'sometimes'/);
  assert.throws(() => buildCreateRequest({ memory: 'lots' }, 'b', [], {}), /invalid size: 'lots'/);
  assert.throws(() => buildCreateRequest({ logOpt: ['novalue'] }, 'b', [], {}), /invalid key\/value pair format in logging opts: novalue/);
  assert.throws(() => buildCreateRequest({ attach: ['stdfoo'] }, 'b', [], {}), /valid streams are STDIN, STDOUT and STDERR/);
});
