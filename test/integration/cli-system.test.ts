// `berth system df` and `berth system prune` against the docker CLI on the same private berthd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, berth, docker, TestDaemon, CliResult } from '../helpers/daemon.js';

let d: TestDaemon;
before(async () => {
  d = await startDaemon();
  // a running container keeps busybox in use, so `prune -a` cannot take the only image there is
  assert.equal(docker(d, ['run', '-d', '--name', 'keep', 'busybox', 'sleep', '3000']).code, 0);
});
after(async () => { await d?.stop(); });

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r;
}

/** The same command through both CLIs: stdout, stderr and exit code must agree. */
function same(args: string[], normalize: (s: string) => string = (s) => s, input?: string): CliResult {
  const want = docker(d, args, input);
  const got = berth(d, args, input);
  assert.equal(normalize(got.stdout), normalize(want.stdout), `stdout of ${args.join(' ')}`);
  assert.equal(got.stderr.replace(/\bberth\b/g, 'docker'), want.stderr, `stderr of ${args.join(' ')}`);
  assert.equal(got.code, want.code, `exit code of ${args.join(' ')}`);
  return got;
}

/** Relative times move between the two runs; columns are compared, not their padding. */
function relaxTimes(s: string): string {
  return s
    .replace(/(Less than a second|About a minute|About an hour|\d+ (?:second|minute|hour|day|week|month|year)s?) ago/g, 'T ago')
    .replace(/ {2,}/g, '\t');
}

const maskIds = (s: string): string => s.replace(/[0-9a-f]{64}/g, '<ID>');

test('system df: the summary table, --format and json match docker', () => {
  // (no '>' in commands: docker's json escapes it as \u003e inside the verbose lists, berth's does not)
  ok(docker(d, ['run', '--name', 'df-stopped', 'busybox', 'sh', '-c', 'echo data | tee /f']), 'run');
  ok(docker(d, ['run', '-v', 'df-vol:/v', '--name', 'df-vol-user', 'busybox', 'sh', '-c', 'echo 12345 | tee /v/x']), 'run with volume');
  ok(docker(d, ['volume', 'create', 'df-unused']), 'volume create');
  ok(docker(d, ['commit', 'df-stopped', 'df-img:1']), 'commit');
  // a build leaves build cache records (and a context blob) for the Build Cache row
  docker(d, ['build', '-q', '-t', 'df-built', '-'], 'FROM busybox\nRUN touch /b\n');

  const table = same(['system', 'df']);
  assert.match(table.stdout, /^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\n/);
  assert.match(table.stdout, /^Images +\d+ +1 +\S+ +\S+ \(\d+%\)$/m);
  assert.match(table.stdout, /^Containers +3 +1 +\S+ +\S+( \(\d+%\))?$/m);
  assert.match(table.stdout, /^Local Volumes +2 +1 +6B +0B \(0%\)$/m);
  assert.match(table.stdout, /^Build Cache +\d+ +0 +\S+ +\S+$/m);

  same(['system', 'df', '--format', 'json']);
  same(['system', 'df', '--format', '{{.Type}}: {{.TotalCount}}/{{.Active}} {{.Size}} {{.Reclaimable}}']);
  same(['system', 'df', '--format', 'table {{.Type}}\t{{.Reclaimable}}']);
  same(['system', 'df', '--format', 'table']);
  same(['system', 'df', '--format', 'raw']);
  // template errors: the same words (the column in "template: :1:N" comes from berth's template engine)
  const bad = berth(d, ['system', 'df', '--format', '{{.Nope}}']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^template parsing error: template: :1:\d+: executing "" at <\.Nope>: can't evaluate field Nope in type \*formatter\.diskUsageImagesContext\n$/);
  assert.match(docker(d, ['system', 'df', '--format', '{{.Nope}}']).stderr, /can't evaluate field Nope in type \*formatter\.diskUsageImagesContext/);
});

test('system df -v: per-image, container, volume and build cache tables match docker', () => {
  const v = same(['system', 'df', '-v'], relaxTimes);
  for (const section of ['Images space usage:', 'Containers space usage:', 'Local Volumes space usage:', 'Build cache usage: ']) {
    assert.ok(v.stdout.includes(section), section);
  }
  assert.match(v.stdout, /^df-img +1 +[0-9a-f]{12} /m);
  assert.match(v.stdout, /^df-vol +1 +6B$/m);
  same(['system', 'df', '-v', '--format', 'json'], relaxTimes);
  same(['system', 'df', '-v', '--format', '{{range .Volumes}}{{.Name}} {{.Links}} {{.Size}}\n{{end}}']);
  same(['system', 'df', '-v', '--format', '{{len .Images}} {{len .Containers}}']);
  same(['system', 'df', '-v', '--format', 'raw'], relaxTimes);

  docker(d, ['rm', '-f', 'df-stopped', 'df-vol-user']);
  docker(d, ['rmi', 'df-img:1', 'df-built']);
});

/** Objects for prune to find: stopped containers, an anonymous volume, an unused network, a dangling image. */
function pruneSetup(): void {
  ok(docker(d, ['run', '--name', 'p-stopped', 'busybox', 'sh', '-c', 'echo data > /f']), 'run');
  ok(docker(d, ['run', '-v', '/anon', '--name', 'p-anon', 'busybox', 'true']), 'run with anonymous volume');
  ok(docker(d, ['network', 'create', 'p-unused']), 'network create');
  ok(docker(d, ['commit', 'p-stopped', 'p-img:1']), 'commit');
  // the second commit takes the tag: the first image is left dangling
  ok(docker(d, ['commit', 'p-stopped', 'p-img:1']), 'commit again');
}

/** Back to just `keep` and busybox. */
function pruneCleanup(): void {
  docker(d, ['rm', '-f', 'p-stopped', 'p-anon']);
  docker(d, ['rmi', 'p-img:1']);
  ok(docker(d, ['system', 'prune', '-f', '--volumes']), 'cleanup prune');
  ok(docker(d, ['volume', 'prune', '-af']), 'cleanup volume prune');
}

function names(args: string[]): string[] {
  return ok(docker(d, args), args.join(' ')).stdout.split('\n').filter(Boolean).sort();
}

test('system prune -f removes stopped containers, unused networks and dangling images as docker does', () => {
  pruneCleanup(); // the build cache and objects of the df tests go first

  pruneSetup();
  const stopped = names(['ps', '-a', '--no-trunc', '--filter', 'status=exited', '--format', '{{.ID}}']);
  const dangling = names(['images', '-q', '--no-trunc', '--filter', 'dangling=true']);
  assert.equal(stopped.length, 2);
  assert.equal(dangling.length, 1);
  const got = ok(berth(d, ['system', 'prune', '-f']), 'berth system prune');

  const sections = got.stdout.slice(0, got.stdout.indexOf('Total reclaimed space:'));
  assert.equal(
    sections.replace(/^[0-9a-f]{64}$/gm, '<ID>'),
    `Deleted Containers:\n<ID>\n<ID>\n\nDeleted Networks:\np-unused\n\nDeleted Images:\ndeleted: ${dangling[0]}\n\n`,
  );
  for (const id of stopped) assert.ok(got.stdout.includes(`${id}\n`), `container ${id} reported`);
  assert.match(got.stdout, /\nTotal reclaimed space: \d+(\.\d+)?[kMG]?B\n$/);
  // what is left: the running container, busybox, the tagged image, the volume (no --volumes)
  assert.deepEqual(names(['ps', '-a', '--format', '{{.Names}}']), ['keep']);
  assert.ok(!names(['network', 'ls', '--format', '{{.Name}}']).includes('p-unused'));
  assert.deepEqual(names(['images', '--format', '{{.Repository}}:{{.Tag}}']), ['busybox:latest', 'p-img:1']);
  assert.equal(names(['volume', 'ls', '-q']).length, 1);

  // docker on an equivalent setup prints the same report
  const want = ok(docker(d, ['system', 'prune', '-f']), 'docker system prune');
  assert.equal(want.stdout, 'Total reclaimed space: 0B\n'); // berth left nothing behind
  pruneCleanup();
  pruneSetup();
  const dockerReport = maskIds(ok(docker(d, ['system', 'prune', '-f']), 'docker system prune').stdout);
  pruneCleanup();
  pruneSetup();
  const berthReport = maskIds(ok(berth(d, ['system', 'prune', '-f']), 'berth system prune').stdout);
  assert.equal(berthReport, dockerReport);
  pruneCleanup();
});

test('system prune -a --volumes matches docker, and --volumes removes anonymous volumes', () => {
  const reports: string[] = [];
  for (const cli of [docker, berth]) {
    pruneSetup();
    ok(docker(d, ['volume', 'create', 'p-named']), 'volume create');
    reports.push(maskIds(ok(cli(d, ['system', 'prune', '-af', '--volumes']), 'system prune -af --volumes').stdout));
    // named volumes stay (docker's system prune never passes all=true for volumes)
    assert.deepEqual(names(['volume', 'ls', '-q']), ['p-named']);
    assert.deepEqual(names(['images', '--format', '{{.Repository}}:{{.Tag}}']), ['busybox:latest']);
    pruneCleanup();
  }
  assert.equal(reports[1], reports[0]);
  assert.match(reports[1]!, /^Deleted Volumes:\n<ID>\n\n/m);
  assert.match(reports[1]!, /^Deleted Images:\n((untagged: p-img:1|deleted: sha256:<ID>)\n)+\n/m);
  // the dangling image and the one p-img:1 named (and whatever layers they alone held)
  assert.ok((reports[1]!.match(/^deleted: sha256:<ID>$/gm)?.length ?? 0) >= 2, reports[1]);
});

test('system prune prompts as docker does and does nothing on "n"', () => {
  pruneSetup();
  same(['system', 'prune'], (s) => s, 'n\n');
  const p = same(['system', 'prune', '-a', '--volumes', '--filter', 'label=b=1', '--filter', 'label=a10', '--filter', 'label=a2', '--filter', 'until=1h'], (s) => s, 'n\n');
  assert.equal(p.stderr, 'ERROR: The "until" filter is not supported with "--volumes"\n');
  const f = same(['system', 'prune', '-a', '--filter', 'label=b=1', '--filter', 'label=a10', '--filter', 'label=a2', '--filter', 'until=1h'], (s) => s, 'n\n');
  assert.equal(
    f.stdout,
    'WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n' +
      '  - all images without at least one container associated to them\n  - all build cache\n\n' +
      '  Items to be pruned will be filtered with:\n  - label=a2\n  - label=a10\n  - label=b=1\n  - until=1h\n\n' +
      'Are you sure you want to continue? [y/N] ',
  );
  same(['system', 'prune', '--filter', 'bad']);
  // nothing was removed
  assert.equal(names(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}}']).length, 2);
  assert.ok(names(['network', 'ls', '--format', '{{.Name}}']).includes('p-unused'));

  const y = ok(berth(d, ['system', 'prune'], 'y\n'), 'system prune, y');
  assert.match(y.stdout, /^WARNING! This will remove:\n[^]*\[y\/N\] Deleted Containers:\n/);
  assert.deepEqual(names(['ps', '-a', '--format', '{{.Names}}']), ['keep']);
  pruneCleanup();
});

test('df and prune are system subcommands only, as in docker', () => {
  same(['df']);
  same(['prune']);
});
