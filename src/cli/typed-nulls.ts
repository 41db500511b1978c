import { markGoMap } from './template/index.js';

// docker's inspect templates run over Go structs, where a nil slice prints "[]" and a nil map
// "map[]"; over JSON both are null, which would print "<nil>". These are the slice and map
// fields of ContainerInspectResponse and ImageInspect (swagger), by name.
const SLICES = new Set([
  'Args', 'Cmd', 'Entrypoint', 'Env', 'OnBuild', 'Shell', 'Binds', 'Links', 'Dns', 'DnsOptions', 'DnsSearch', 'ExtraHosts',
  'CapAdd', 'CapDrop', 'GroupAdd', 'SecurityOpt', 'VolumesFrom', 'Mounts', 'Devices', 'DeviceRequests', 'DeviceCgroupRules',
  'Ulimits', 'BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps',
  'ConsoleSize', 'MaskedPaths', 'ReadonlyPaths', 'Aliases', 'DNSNames', 'RepoTags', 'RepoDigests', 'Layers', 'Test',
  'SecondaryIPAddresses', 'SecondaryIPv6Addresses', 'ExecIDs', 'Log',
]);
const MAPS = new Set(['Labels', 'Volumes', 'ExposedPorts', 'Ports', 'PortBindings', 'Tmpfs', 'Sysctls', 'StorageOpt', 'Networks', 'DriverOpts', 'Annotations', 'Metadata']);

export function goTypedNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(goTypedNulls);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === null && SLICES.has(k)) out[k] = [];
    else if (x === null && MAPS.has(k)) out[k] = markGoMap({});
    else if (MAPS.has(k) && typeof x === 'object' && !Array.isArray(x)) out[k] = markGoMap(goTypedNulls(x) as object);
    else out[k] = goTypedNulls(x);
  }
  return out;
}
