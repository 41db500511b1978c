// docker's human-readable sizes and durations, and flag value syntaxes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { bytesSize, ellipsis, getTimestamp, goQuote, humanDuration, humanSize, nanoCpus, ramInBytes, truncateId } from '../../src/cli/units.js';
import { parseGoDuration } from '../../src/util/human.js';

test('humanDuration wording matches go-units', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(3000), '3 seconds');
  assert.equal(humanDuration(59_999), '59 seconds');
  assert.equal(humanDuration(60_000), 'About a minute');
  assert.equal(humanDuration(119_000), 'About a minute');
  assert.equal(humanDuration(120_000), '2 minutes');
  assert.equal(humanDuration(59 * 60_000), '59 minutes');
  assert.equal(humanDuration(60 * 60_000), 'About an hour');
  assert.equal(humanDuration(3 * 3600_000), '3 hours');
  assert.equal(humanDuration(47 * 3600_000), '47 hours');
  assert.equal(humanDuration(48 * 3600_000), '2 days');
  assert.equal(humanDuration(14 * 24 * 3600_000), '2 weeks');
  assert.equal(humanDuration(60 * 24 * 3600_000), '2 months');
  assert.equal(humanDuration(800 * 24 * 3600_000), '2 years');
});

test('humanSize: decimal units, docker images precision 3', () => {
  assert.equal(humanSize(1982408, 3), '1.98MB');
  assert.equal(humanSize(5_200_000, 3), '5.2MB');
  assert.equal(humanSize(0, 3), '0B');
  assert.equal(humanSize(999, 3), '999B');
  assert.equal(humanSize(1000, 3), '1kB');
  assert.equal(humanSize(123_456_789, 3), '123MB');
  assert.equal(humanSize(2_000_000_000), '2GB');
  assert.equal(humanSize(999_600, 3), '1e+03kB');
  assert.equal(bytesSize(67108864), '64MiB');
  assert.equal(bytesSize(8_227_000_000), '7.662GiB');
});

test('ramInBytes: binary multipliers and docker wording', () => {
  assert.equal(ramInBytes('64m'), 67108864);
  assert.equal(ramInBytes('32M'), 33554432);
  assert.equal(ramInBytes('1g'), 1073741824);
  assert.equal(ramInBytes('512k'), 524288);
  assert.equal(ramInBytes('1.5g'), 1610612736);
  assert.equal(ramInBytes('100'), 100);
  assert.equal(ramInBytes('10mb'), 10485760);
  assert.throws(() => ramInBytes('abc'), /invalid size: 'abc'/);
  assert.throws(() => ramInBytes('-1m'), /invalid size/);
});

test('nanoCpus', () => {
  assert.equal(nanoCpus('0.5'), 500_000_000);
  assert.equal(nanoCpus('2'), 2_000_000_000);
  assert.equal(nanoCpus('1.25'), 1_250_000_000);
  assert.throws(() => nanoCpus('x'), /failed to parse x as a rational number/);
});

test('Go durations and --since timestamps', () => {
  assert.equal(parseGoDuration('10s'), 10_000);
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1.5h'), 5_400_000);
  assert.equal(parseGoDuration('300ms'), 300);
  assert.throws(() => parseGoDuration('10'), /missing unit/);
  assert.throws(() => parseGoDuration('x'), /invalid duration/);
  const now = Date.UTC(2026, 0, 1, 0, 0, 10, 500);
  assert.equal(getTimestamp('10s', now), `${now / 1000 - 10 - 0.5}.500000000`);
  assert.equal(getTimestamp('1795822898', now), '1795822898');
  assert.equal(getTimestamp('2026-01-01T00:00:00Z', now), '1767225600.000000000');
  assert.throws(() => getTimestamp('yesterday', now), /failed to parse/);
});

test('ids, ellipsis and Go quoting as docker ps shows them', () => {
  assert.equal(truncateId('sha256:0e41dbc37ed813b82d0eea27f5abfb89'), '0e41dbc37ed8');
  assert.equal(truncateId('da66c63c750631903b557cb869a46fc8'), 'da66c63c7506');
  assert.equal(ellipsis("sh -c 'while true; do echo tick; done'", 20), "sh -c 'while true; …");
  assert.equal(ellipsis('short', 20), 'short');
  assert.equal(goQuote('echo "hi"\n'), '"echo \\"hi\\"\\n"');
});
