// A user network's com.docker.network.bridge.name must not hijack a host interface or name a path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBridgeName } from '../../src/network/service.js';

test('security: a network cannot claim a host interface (lo, eth0) or a path as its bridge', () => {
  assert.throws(() => checkBridgeName('lo'), /not a bridge/);
  for (const bad of ['../../x', 'a/b', '', 'x'.repeat(16), '..']) assert.throws(() => checkBridgeName(bad), /invalid bridge name/, bad);
  checkBridgeName('br-new0');
});
