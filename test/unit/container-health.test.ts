// The pure parts of health checks: which command a probe runs, how a container's healthcheck
// merges with its image's, and Go's duration text in the timeout message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeHealthcheck, probeCommand } from '../../src/container/health.js';
import type { ContainerRecord } from '../../src/container/types.js';
import { goDurationString } from '../../src/util/human.js';

const withConfig = (config: ContainerRecord['config']): ContainerRecord => ({ config } as ContainerRecord);

test('probeCommand: CMD execs its argv, CMD-SHELL runs through the shell (SHELL if set), NONE and empty run nothing', () => {
  assert.deepEqual(probeCommand(withConfig({ Healthcheck: { Test: ['CMD', 'curl', '-f', 'http://x/'] } })), ['curl', '-f', 'http://x/']);
  assert.deepEqual(probeCommand(withConfig({ Healthcheck: { Test: ['CMD-SHELL', 'test -e /ok'] } })), ['/bin/sh', '-c', 'test -e /ok']);
  assert.deepEqual(probeCommand(withConfig({ Shell: ['/bin/ash', '-eo', 'pipefail', '-c'], Healthcheck: { Test: ['CMD-SHELL', 'true'] } })), ['/bin/ash', '-eo', 'pipefail', '-c', 'true']);
  assert.equal(probeCommand(withConfig({ Healthcheck: { Test: ['NONE'] } })), undefined);
  assert.equal(probeCommand(withConfig({ Healthcheck: { Test: ['CMD'] } })), undefined);
  assert.equal(probeCommand(withConfig({ Healthcheck: { Test: ['WHAT', 'x'] } })), undefined);
  assert.equal(probeCommand(withConfig({})), undefined);
});

test('mergeHealthcheck: zero fields and an empty test come from the image', () => {
  const image = { Test: ['CMD-SHELL', 'x'], Interval: 5e9, Timeout: 3e9, Retries: 7 };
  assert.deepEqual(mergeHealthcheck(undefined, image), image);
  assert.deepEqual(mergeHealthcheck({ Interval: 1e9 }, undefined), { Interval: 1e9 });
  assert.deepEqual(mergeHealthcheck({ Test: [], Interval: 1e9, Retries: 0 }, image),
    { Test: ['CMD-SHELL', 'x'], Interval: 1e9, Timeout: 3e9, StartPeriod: undefined, StartInterval: undefined, Retries: 7 });
  assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image)?.Test, ['NONE']);
});

test('goDurationString writes what Go\'s time.Duration.String does', () => {
  for (const [ns, s] of [[0, '0s'], [300e6, '300ms'], [1.5e6, '1.5ms'], [2500, '2.5µs'], [7, '7ns'], [1e9, '1s'], [30e9, '30s'],
    [90e9, '1m30s'], [1.5e9, '1.5s'], [3600e9, '1h0m0s'], [3723.5e9, '1h2m3.5s'], [-2e9, '-2s']] as const) {
    assert.equal(goDurationString(ns), s, String(ns));
  }
});
