// Parsing of -v, --mount, --tmpfs and --volumes-from, with Docker's error texts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBind, parseMount, parseTmpfs, parseVolumesFrom, validateVolumeName, sortByDepth } from '../../src/volume/spec.js';

test('named volume, host bind and anonymous -v forms', () => {
  assert.deepEqual(parseBind('data:/srv'), { type: 'volume', destination: '/srv', name: 'data', readOnly: false, mode: 'z', propagation: '', copyUp: true, createSource: false });
  const ro = parseBind('data:/srv/:ro');
  assert.equal(ro.readOnly, true);
  assert.equal(ro.mode, 'ro');
  assert.equal(ro.destination, '/srv');
  const bind = parseBind('/tmp/x:/x:ro,z,rshared');
  assert.equal(bind.type, 'bind');
  assert.equal(bind.source, '/tmp/x');
  assert.equal(bind.propagation, 'rshared');
  assert.equal(bind.mode, 'ro,z,rshared');
  assert.equal(bind.createSource, true);
  assert.equal(parseBind('/h:/c').propagation, 'rprivate');
  const anon = parseBind('/only');
  assert.equal(anon.anonymous, true);
  assert.equal(anon.type, 'volume');
  assert.equal(parseBind('v:/d:nocopy').copyUp, false);
});

test('bad -v specs get Docker wording', () => {
  assert.throws(() => parseBind('a:b:c:d'), /^InvalidParameterError: invalid spec: a:b:c:d$/);
  assert.throws(() => parseBind('/foo:ro'), /invalid spec: \/foo:ro/);
  assert.throws(() => parseBind('/h:/c:rw,ro'), /invalid mode: rw,ro/);
  assert.throws(() => parseBind('/h:/c:bogus'), /invalid mode: bogus/);
  assert.throws(() => parseBind('v:rel'), /invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute/);
  assert.throws(() => parseBind('/h:/'), /destination can't be '\/'/);
  assert.throws(() => parseBind('v:/d:rshared'), /invalid mode/);
  assert.throws(() => parseBind(''), /invalid spec/);
});

test('relative path as a volume name: Docker error about volume names', () => {
  const p = parseBind('relative/path:/x');
  assert.equal(p.type, 'volume');
  assert.throws(() => validateVolumeName(p.name as string),
    /^InvalidParameterError: create relative\/path: "relative\/path" includes invalid characters for a local volume name, only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed. If you intended to pass a host directory, use absolute path$/);
  assert.throws(() => validateVolumeName('a'), /too short/);
  validateVolumeName('ok-name_1.2');
});

test('--mount objects: volume, bind, tmpfs', () => {
  const v = parseMount({ Type: 'volume', Source: 'v1', Target: '/d', ReadOnly: true, VolumeOptions: { NoCopy: true, Labels: { a: 'b' }, DriverConfig: { Name: 'local', Options: { type: 'tmpfs', device: 'tmpfs' } } } });
  assert.equal(v.name, 'v1');
  assert.equal(v.readOnly, true);
  assert.equal(v.copyUp, false);
  assert.deepEqual(v.driverOpts, { type: 'tmpfs', device: 'tmpfs' });
  assert.deepEqual(v.labels, { a: 'b' });
  assert.equal(parseMount({ Type: 'volume', Target: '/anon' }).anonymous, true);
  const b = parseMount({ Type: 'bind', Source: '/h', Target: '/c', BindOptions: { Propagation: 'rslave' } });
  assert.equal(b.createSource, false);
  assert.equal(b.propagation, 'rslave');
  const t = parseMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 65536, Mode: 0o700 } });
  assert.deepEqual(t.tmpfsOptions, ['size=65536', 'mode=700']);
  assert.equal(t.hidden, undefined);
});

test('--mount errors name the problem', () => {
  assert.throws(() => parseMount({ Type: 'bind', Source: '/h', Target: '/c', Bogus: 1 }), /unknown field "Bogus"/);
  assert.throws(() => parseMount({ Type: 'bind', Source: '/h', Target: '/c', BindOptions: { Nope: true } }), /unknown field "Nope" in BindOptions/);
  assert.throws(() => parseMount({ Type: 'nfs', Target: '/c' }), /invalid mount config for type "nfs": mount type unknown/);
  assert.throws(() => parseMount({ Type: 'bind', Target: '/c' }), /invalid mount config for type "bind": field Source must not be empty/);
  assert.throws(() => parseMount({ Type: 'bind', Source: 'rel', Target: '/c' }), /'rel' mount path must be absolute/);
  assert.throws(() => parseMount({ Type: 'tmpfs', Source: 'x', Target: '/c' }), /field Source must not be specified/);
  assert.throws(() => parseMount({ Type: 'volume', Source: 'v', Target: '/c', BindOptions: {} }), /field BindOptions must not be specified/);
  assert.throws(() => parseMount({ Type: 'volume', Target: '' }), /field Target must not be empty/);
  assert.throws(() => parseMount({ Type: 'volume', Target: '/c', VolumeOptions: { Subpath: '../up' } }), /subpath/);
  assert.throws(() => parseMount('x'), /must be an object/);
});

test('--tmpfs options: Docker defaults, user flags win, bad options refused', () => {
  const t = parseTmpfs('/run', 'size=64m,exec');
  assert.deepEqual(t.tmpfsOptions, ['nosuid', 'nodev', 'size=64m', 'exec']);
  assert.equal(t.hidden, true);
  assert.deepEqual(parseTmpfs('/x', '').tmpfsOptions, ['noexec', 'nosuid', 'nodev']);
  assert.throws(() => parseTmpfs('/x', 'size=lots'), /invalid tmpfs option "size=lots" for \/x: invalid size/);
  assert.throws(() => parseTmpfs('/x', 'evil'), /invalid tmpfs option "evil"/);
  assert.throws(() => parseTmpfs('x', ''), /must be absolute/);
});

test('--volumes-from specs', () => {
  assert.deepEqual(parseVolumesFrom('c1'), { container: 'c1', mode: '' });
  assert.deepEqual(parseVolumesFrom('c1:ro'), { container: 'c1', mode: 'ro' });
  assert.throws(() => parseVolumesFrom('c1:z'), /invalid mode/);
  assert.throws(() => parseVolumesFrom(':ro'), /invalid volumes-from spec/);
});

test('mounts are ordered parents first', () => {
  const s = sortByDepth([{ destination: '/a/b/c' }, { destination: '/a' }, { destination: '/z/y' }, { destination: '/b' }]);
  assert.deepEqual(s.map((x) => x.destination), ['/a', '/b', '/z/y', '/a/b/c']);
});
