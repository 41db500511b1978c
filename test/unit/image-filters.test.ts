import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pathMatch, referenceMatches, danglingFilter, labelsMatch, checkFilterKeys } from '../../src/image/filters.js';
import { timestampMs } from '../../src/util/human.js';
import { parseReference } from '../../src/image/reference.js';
import { applyChanges } from '../../src/image/changes.js';

test('pathMatch follows Go path.Match', () => {
  assert.ok(pathMatch('busy*', 'busybox'));
  assert.ok(!pathMatch('busy*', 'foo/busybox'));
  assert.ok(pathMatch('*/*', 'foo/bar'));
  assert.ok(pathMatch('b?sybox', 'busybox'));
  assert.ok(pathMatch('[a-c]usybox', 'busybox'));
  assert.ok(!pathMatch('[^a-c]usybox', 'busybox'));
  assert.ok(pathMatch('a.b', 'a.b'));
  assert.ok(!pathMatch('a.b', 'axb'));
});

test('reference filter matches the familiar string, then the name alone', () => {
  const r = parseReference('busybox:latest');
  assert.ok(referenceMatches('busybox', r));
  assert.ok(referenceMatches('busybox:latest', r));
  assert.ok(referenceMatches('busybox:*', r));
  assert.ok(!referenceMatches('busybox:1', r));
  assert.ok(referenceMatches('localhost:5000/*', parseReference('localhost:5000/x:1')));
});

test('dangling accepts true/false/1/0 only', () => {
  assert.equal(danglingFilter(new Map([['dangling', ['true']]])), true);
  assert.equal(danglingFilter(new Map([['dangling', ['0']]])), false);
  assert.equal(danglingFilter(new Map()), undefined);
  assert.throws(() => danglingFilter(new Map([['dangling', ['maybe']]])), { message: "Invalid filter 'dangling=maybe'" });
});

test('unknown filter keys are refused with Docker text', () => {
  assert.throws(() => checkFilterKeys(new Map([['colour', ['x']]]), ['dangling']), { message: "invalid filter 'colour'" });
});

test('label filters', () => {
  assert.ok(labelsMatch(['a'], { a: '1' }));
  assert.ok(labelsMatch(['a=1'], { a: '1' }));
  assert.ok(!labelsMatch(['a=2'], { a: '1' }));
  assert.ok(!labelsMatch(['b'], { a: '1' }));
  assert.ok(labelsMatch(undefined, undefined));
});

test('until: unix seconds, RFC 3339, durations', () => {
  assert.equal(timestampMs('1700000000'), 1700000000_000);
  assert.equal(timestampMs('2024-01-01T00:00:00Z'), Date.parse('2024-01-01T00:00:00Z'));
  assert.equal(timestampMs('1h30m', 10_000_000), 10_000_000 - 5400_000);
  assert.throws(() => timestampMs('yesterday'), /failed to parse value as time or duration: "yesterday"/);
});

test('import --change instructions', () => {
  const c = applyChanges({}, ['CMD ["sh"]', 'ENV A=1 B="two words"', 'EXPOSE 80 53/udp', 'LABEL x=y', 'WORKDIR /w', 'USER 1:2', 'ENTRYPOINT echo hi']);
  assert.deepEqual(c.Cmd, ['sh']);
  assert.deepEqual(c.Env, ['A=1', 'B=two words']);
  assert.deepEqual(c.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.deepEqual(c.Labels, { x: 'y' });
  assert.equal(c.WorkingDir, '/w');
  assert.equal(c.User, '1:2');
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', 'echo hi']);
  assert.throws(() => applyChanges({}, ['RUN true']), { message: 'run is not a valid change command' });
});
