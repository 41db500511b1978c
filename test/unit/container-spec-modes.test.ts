// --pid/--ipc/--uts values as dockerd accepts them, and the namespaces each gives the spec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSpec, validateNamespaceModes } from '../../src/container/spec.js';
import type { ContainerRecord, HostConfig } from '../../src/container/types.js';

test('validateNamespaceModes accepts what dockerd does and names the flag it rejects', () => {
  for (const hc of [{}, { PidMode: 'host' }, { PidMode: 'container:db' }, { IpcMode: 'shareable' }, { IpcMode: 'private' }, { IpcMode: 'none' },
    { IpcMode: 'container:x' }, { UTSMode: 'host' }] as HostConfig[]) validateNamespaceModes(hc);
  assert.throws(() => validateNamespaceModes({ PidMode: 'bogus' }), /invalid PID mode: bogus/);
  assert.throws(() => validateNamespaceModes({ IpcMode: 'container:' }), /invalid IPC mode: container:/);
  assert.throws(() => validateNamespaceModes({ UTSMode: 'container:x' }), /invalid UTS mode: container:x/);
});

test('buildSpec: host modes drop the namespace, container: modes join a path, --uts host sets no hostname', () => {
  const spec = (hostConfig: HostConfig, extra: { pidNamespacePath?: string; ipcNamespacePath?: string } = {}) => buildSpec({
    record: { id: 'c'.repeat(64), config: {}, hostConfig, path: 'sh', args: [], resolvConfPath: '/r', hostnamePath: '/h', hostsPath: '/hs' } as unknown as ContainerRecord,
    rootfs: '/rootfs', user: { uid: 0, gid: 0, additionalGids: [], home: '/root' }, cgroupsPath: '/x', mounts: [], cgroupV2: true, env: [], ...extra,
  });
  const types = (s: ReturnType<typeof spec>) => s.linux.namespaces.map((n) => n.path ? `${n.type}=${n.path}` : n.type).sort();
  assert.deepEqual(types(spec({})), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
  assert.deepEqual(types(spec({ PidMode: 'host', IpcMode: 'host', UTSMode: 'host' })), ['cgroup', 'mount', 'network']);
  assert.deepEqual(types(spec({ PidMode: 'container:a', IpcMode: 'container:a' }, { pidNamespacePath: '/proc/9/ns/pid', ipcNamespacePath: '/proc/9/ns/ipc' })),
    ['cgroup', 'ipc=/proc/9/ns/ipc', 'mount', 'network', 'pid=/proc/9/ns/pid', 'uts']);
  assert.equal(spec({ UTSMode: 'host' }).hostname, undefined);
  assert.equal(spec({}).hostname, 'c'.repeat(12));
  assert.ok(!spec({ IpcMode: 'none' }).mounts.some((m) => m.destination === '/dev/shm'));
  assert.equal(spec({ IpcMode: 'host' }).mounts.find((m) => m.destination === '/dev/shm')?.source, '/dev/shm');
});
