// `berth build` beside `docker build` (the classic builder) against the same berthd: the same
// steps printed, the same image, the same exit codes; the context as the docker CLI sends it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, berth, docker, TestDaemon, BERTH_JS, runCli } from '../helpers/daemon.js';

let d: TestDaemon;
let ctx: string;
before(async () => {
  d = await startDaemon();
  d.env.DOCKER_BUILDKIT = '0';
  ctx = mkdtempSync(join(tmpdir(), 'berth-cli-build-'));
  mkdirSync(join(ctx, 'app', 'sub'), { recursive: true });
  writeFileSync(join(ctx, 'app', 'Dockerfile'), 'FROM busybox AS base\nARG X=1\nCOPY . /ctx\nRUN echo "x=$X" > /x\nLABEL a=b\nFROM base AS final\nCMD ["cat", "/x"]\n');
  writeFileSync(join(ctx, 'app', 'keep.txt'), 'kept\n');
  writeFileSync(join(ctx, 'app', 'secret.txt'), 'not sent\n');
  writeFileSync(join(ctx, 'app', 'sub', 'inner'), 'inner\n');
  writeFileSync(join(ctx, 'app', '.dockerignore'), 'secret.txt\n');
  writeFileSync(join(ctx, 'outside.Dockerfile'), 'FROM busybox\nCOPY keep.txt /k\n');
  writeFileSync(join(ctx, 'failing.Dockerfile'), 'FROM busybox\nRUN exit 3\n');
});
after(async () => {
  await d?.stop();
  rmSync(ctx, { recursive: true, force: true });
});

/** Build output with IDs masked, and without the docker CLI's notice about the legacy builder. */
function steps(out: string): string {
  return out.split('\n')
    .filter((l) => !/DEPRECATED|legacy builder|BuildKit|buildx|docs\.docker\.com|environment-variable|^\s*$/.test(l))
    .filter((l) => !l.startsWith('Sending build context'))
    .join('\n').replace(/[0-9a-f]{12}/g, 'ID');
}

/** The docker CLI's stderr without its notice about the legacy builder. */
function withoutLegacyNotice(err: string): string {
  return err.replace(/^DEPRECATED: The legacy builder[^]*?\n\n/, '');
}

test('build: the same steps and image as docker build; -t, --build-arg, .dockerignore, --iidfile', () => {
  const app = join(ctx, 'app');
  const ours = berth(d, ['build', '--no-cache', '-t', 'cb:1', '--build-arg', 'X=7', '--iidfile', join(ctx, 'iid'), app]);
  assert.equal(ours.code, 0, ours.stderr);
  assert.match(ours.stdout, /^Sending build context to Docker daemon {2}\d+(\.\d+)?kB\n/);
  const theirs = docker(d, ['build', '--no-cache', '-t', 'cb:2', '--build-arg', 'X=7', app]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(steps(ours.stdout).replace('cb:1', 'cb:2'), steps(theirs.stdout));
  assert.equal(docker(d, ['run', '--rm', 'cb:1']).stdout, 'x=7\n');
  assert.equal(docker(d, ['run', '--rm', 'cb:1', 'ls', '-a', '/ctx']).stdout, '.\n..\n.dockerignore\nDockerfile\nkeep.txt\nsub\n');
  assert.equal(docker(d, ['inspect', '-f', '{{.Id}}', 'cb:1']).stdout, `${readFileSync(join(ctx, 'iid'), 'utf8')}\n`);
  assert.equal(docker(d, ['inspect', '-f', '{{.Config.Labels.a}}', 'cb:1']).stdout, 'b\n');
});

test('build -q prints the image ID only; --target, -f outside the context, - with a Dockerfile or a tar on stdin', () => {
  const app = join(ctx, 'app');
  const q = berth(d, ['build', '-q', '--target', 'base', app]);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(docker(d, ['inspect', '-f', '{{.Config.Cmd}}', q.stdout.trim()]).stdout, '[sh]\n', 'the base stage, not the final one');

  const outside = berth(d, ['build', '-q', '-f', join(ctx, 'outside.Dockerfile'), app]);
  assert.equal(outside.code, 0, outside.stderr);
  assert.equal(docker(d, ['run', '--rm', outside.stdout.trim(), 'cat', '/k']).stdout, 'kept\n');

  const stdinFile = runCli(process.execPath, [BERTH_JS, 'build', '-q', '-'], d.env, 'FROM busybox\nRUN echo from-stdin > /s\n');
  assert.equal(stdinFile.code, 0, stdinFile.stderr);
  assert.equal(docker(d, ['run', '--rm', stdinFile.stdout.trim(), 'cat', '/s']).stdout, 'from-stdin\n');

  const tarball = spawnSync('tar', ['-C', app, '-cf', '-', '.']).stdout;
  const stdinTar = runCli(process.execPath, [BERTH_JS, 'build', '-q', '-t', 'cb:tar', '-'], d.env, tarball);
  assert.equal(stdinTar.code, 0, stdinTar.stderr);
  assert.equal(docker(d, ['run', '--rm', 'cb:tar']).stdout, 'x=1\n');
});

test('build errors: a failing RUN ends with its exit code, a missing context or Dockerfile as docker says', () => {
  const app = join(ctx, 'app');
  for (const args of [['build', '-f', join(ctx, 'failing.Dockerfile'), app], ['build', join(ctx, 'nope')], ['build', '-f', 'nope.Dockerfile', app]]) {
    const [ours, theirs] = [berth(d, args), docker(d, args)];
    assert.equal(ours.code, theirs.code, `${args.join(' ')}: ${ours.stderr}`);
    assert.equal(steps(ours.stdout + ours.stderr), steps(theirs.stdout + theirs.stderr).replace(/docker/g, 'berth').replace('berth daemon', 'docker daemon'), args.join(' '));
  }
  assert.equal(berth(d, ['build', '-f', join(ctx, 'failing.Dockerfile'), app]).code, 3);
});

test('builder prune: dangling cache only unless -a, docker\'s prompt and report, filters checked by the daemon', () => {
  const dir = join(ctx, 'cached');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nRUN --mount=type=cache,target=/c echo hi > /c/f\nRUN echo step > /s\n');
  assert.equal(berth(d, ['build', '-q', dir]).code, 0);

  const declined = berth(d, ['builder', 'prune'], 'n\n');
  assert.equal(declined.code, 0);
  assert.equal(declined.stdout, 'WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ');

  // The cache mount and the context files go; the steps stay, since their images are there.
  const dangling = berth(d, ['builder', 'prune', '-f']);
  assert.equal(dangling.code, 0, dangling.stderr);
  assert.match(dangling.stdout, /^Deleted build cache objects:\n(?:\S+\n)+\nTotal reclaimed space: \d+(\.\d+)?k?B\n$/);
  for (const cli of [berth, docker]) assert.equal(cli(d, ['builder', 'prune', '-f']).stdout, 'Total reclaimed space: 0B\n');
  assert.match(berth(d, ['build', dir]).stdout, /Using cache/);

  for (const args of [['builder', 'prune', '-f', '--filter', 'color=red'], ['builder', 'prune', '-f', '--keep-storage', 'lots']]) {
    const [ours, theirs] = [berth(d, args), docker(d, args)];
    assert.equal(ours.code, theirs.code, args.join(' '));
    assert.equal(ours.stderr, withoutLegacyNotice(theirs.stderr).replace(/docker/g, 'berth'), args.join(' '));
  }

  const all = berth(d, ['builder', 'prune', '-af']);
  assert.match(all.stdout, /^Deleted build cache objects:\n(?:\S+\n)+\nTotal reclaimed space: \S+\n$/);
  assert.ok((all.stdout.match(/^[0-9a-f]{25}$/gm) ?? []).length >= 2, 'the step records');
  assert.doesNotMatch(berth(d, ['build', dir]).stdout, /Using cache/);
});
