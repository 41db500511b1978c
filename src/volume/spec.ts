// Parsing of the ways a container asks for mounts: HostConfig.Binds (`-v`), HostConfig.Mounts
// (`--mount`), HostConfig.Tmpfs (`--tmpfs`) and VolumesFrom. Pure functions: they turn the wire
// shapes into MountPlans and reject bad input with Docker's wording; nothing here touches disk.
import { posix } from 'node:path';
import { InvalidParameterError } from '../errors.js';

export type PlanType = 'volume' | 'bind' | 'tmpfs';

/** One mount of a container, as decided at create and kept until the container is removed. */
export interface MountPlan {
  type: PlanType;
  destination: string;
  /** Volume name (filled in for anonymous volumes when they are created). */
  name?: string;
  /** True for volumes berth named itself (image VOLUME, `-v /path`): removed by `rm -v`. */
  anonymous?: boolean;
  /** Host path of a bind. */
  source?: string;
  readOnly: boolean;
  /** Docker's MountPoint.Mode: the mode string of a `-v` bind ("ro", "z", ...), "" otherwise. */
  mode: string;
  /** Bind propagation ("rprivate" by default for binds, "" for volumes and tmpfs). */
  propagation: string;
  /** Copy the image's content at the destination into an empty volume (false with nocopy). */
  copyUp: boolean;
  /** `-v` creates a missing bind source; `--mount type=bind` refuses it. */
  createSource: boolean;
  /** Options of a volume created on the fly by `--mount type=volume,volume-opt=...`. */
  driverOpts?: Record<string, string>;
  labels?: Record<string, string>;
  /** VolumeOptions.Subpath: mount this directory inside the volume. */
  subpath?: string;
  /** tmpfs mount options (size=, mode=, flags). */
  tmpfsOptions?: string[];
  /** HostConfig.Tmpfs entries: Docker leaves them out of inspect's Mounts. */
  hidden?: boolean;
}

const PROPAGATIONS = new Set(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate']);

function invalidSpec(raw: string): InvalidParameterError {
  return new InvalidParameterError(`invalid spec: ${raw}`);
}

function mountConfigError(type: string, msg: string): InvalidParameterError {
  return new InvalidParameterError(`invalid mount config for type "${type}": ${msg}`);
}

function checkDestination(type: string, dest: string): string {
  if (!dest.startsWith('/')) throw mountConfigError(type, `invalid mount path: '${dest}' mount path must be absolute`);
  const clean = posix.normalize(dest).replace(/(.)\/+$/, '$1');
  if (clean === '/') throw new InvalidParameterError(`invalid specification: destination can't be '/'`);
  return clean;
}

interface ParsedMode { readOnly: boolean; propagation: string; nocopy: boolean; label: string }

/** A `-v` mode list: at most one of rw/ro, one of z/Z, one propagation, and nocopy. */
function parseMode(mode: string): ParsedMode | undefined {
  const out: ParsedMode = { readOnly: false, propagation: '', nocopy: false, label: '' };
  if (mode === '') return out;
  let rw = 0, label = 0, prop = 0, copy = 0;
  for (const m of mode.split(',')) {
    if (m === 'rw' || m === 'ro') { rw++; out.readOnly = m === 'ro'; }
    else if (m === 'z' || m === 'Z') { label++; out.label = m; }
    else if (PROPAGATIONS.has(m)) { prop++; out.propagation = m; }
    else if (m === 'nocopy') { copy++; out.nocopy = true; }
    else return undefined;
  }
  if (rw > 1 || label > 1 || prop > 1 || copy > 1) return undefined;
  return out;
}

/** One HostConfig.Binds entry: `name:/dst[:mode]`, `/host:/dst[:mode]` or `/dst` (anonymous). */
export function parseBind(raw: string): MountPlan {
  if (raw.trim() === '') throw invalidSpec(raw);
  const parts = raw.split(':');
  let source = '';
  let target: string;
  let mode = '';
  switch (parts.length) {
    case 1: target = parts[0]; break;
    case 2:
      // `/dst:ro` is not a volume: a mode needs a source.
      if (parseMode(parts[1]) && !parts[1].startsWith('/')) throw invalidSpec(raw);
      [source, target] = parts;
      break;
    case 3: [source, target, mode] = parts; break;
    default: throw invalidSpec(raw);
  }
  const m = parseMode(mode);
  if (!m) throw new InvalidParameterError(`invalid mode: ${mode}`);
  const isBind = source.startsWith('/');
  const type: PlanType = isBind ? 'bind' : 'volume';
  if (target === '') throw invalidSpec(raw);
  const destination = checkDestination(type, target);
  if (isBind) {
    if (m.nocopy) throw new InvalidParameterError(`invalid mode: ${mode}`);
    return {
      type, destination, source: posix.normalize(source).replace(/(.)\/+$/, '$1'), readOnly: m.readOnly, mode,
      propagation: m.propagation || 'rprivate', copyUp: false, createSource: true,
    };
  }
  if (m.propagation) throw new InvalidParameterError(`invalid mode: ${mode}`);
  if (source === '') {
    return { type, destination, anonymous: true, readOnly: m.readOnly, mode, propagation: '', copyUp: !m.nocopy, createSource: false };
  }
  // Docker shows "z" for a named volume given without a mode.
  return { type, destination, name: source, readOnly: m.readOnly, mode: mode || 'z', propagation: '', copyUp: !m.nocopy, createSource: false };
}

const MOUNT_KEYS = new Set(['Type', 'Source', 'Target', 'ReadOnly', 'Consistency', 'BindOptions', 'VolumeOptions', 'TmpfsOptions', 'ImageOptions', 'ClusterOptions']);
const BIND_KEYS = new Set(['Propagation', 'NonRecursive', 'CreateMountpoint', 'ReadOnlyNonRecursive', 'ReadOnlyForceRecursive']);
const VOLUME_KEYS = new Set(['NoCopy', 'Labels', 'DriverConfig', 'Subpath']);
const DRIVER_KEYS = new Set(['Name', 'Options']);
const TMPFS_KEYS = new Set(['SizeBytes', 'Mode', 'Options']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(where: string, obj: Record<string, unknown>, allowed: Set<string>): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) throw new InvalidParameterError(`invalid mount config: unknown field "${k}" in ${where}`);
  }
}

function stringMap(where: string, v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new InvalidParameterError(`invalid mount config: ${where} must be an object of strings`);
  for (const [k, s] of Object.entries(v)) if (typeof s !== 'string') throw new InvalidParameterError(`invalid mount config: ${where}.${k} must be a string`);
  return v as Record<string, string>;
}

function optBool(where: string, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new InvalidParameterError(`invalid mount config: ${where} must be a boolean`);
  return v;
}

/** A tmpfs mode from the API (a number, octal digits meant) as the `mode=` mount option. */
function tmpfsModeOption(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw mountConfigError('tmpfs', `invalid tmpfs mode ${mode}`);
  return `mode=${mode.toString(8)}`;
}

/** One HostConfig.Mounts entry (the API object; the CLI's `--mount` arrives already parsed). */
export function parseMount(raw: unknown): MountPlan {
  if (!isObject(raw)) throw new InvalidParameterError('invalid mount config: each mount must be an object');
  checkKeys('Mounts', raw, MOUNT_KEYS);
  const type = raw.Type;
  if (typeof type !== 'string' || type === '') throw new InvalidParameterError('invalid mount config: field Type must not be empty');
  if (type !== 'volume' && type !== 'bind' && type !== 'tmpfs') throw mountConfigError(type, 'mount type unknown');
  const target = raw.Target;
  if (typeof target !== 'string' || target === '') throw mountConfigError(type, 'field Target must not be empty');
  const destination = checkDestination(type, target);
  const source = raw.Source === undefined || raw.Source === null ? '' : raw.Source;
  if (typeof source !== 'string') throw mountConfigError(type, 'field Source must be a string');
  const readOnly = optBool('ReadOnly', raw.ReadOnly);
  for (const [key, allowed] of [['BindOptions', BIND_KEYS], ['VolumeOptions', VOLUME_KEYS], ['TmpfsOptions', TMPFS_KEYS]] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (!isObject(v)) throw mountConfigError(type, `field ${key} must be an object`);
    checkKeys(key, v, allowed);
    const own = type === 'bind' ? 'BindOptions' : type === 'volume' ? 'VolumeOptions' : 'TmpfsOptions';
    if (key !== own) throw mountConfigError(type, `field ${key} must not be specified`);
  }
  if (raw.ImageOptions || raw.ClusterOptions) throw mountConfigError(type, 'field ImageOptions must not be specified');

  if (type === 'bind') {
    if (source === '') throw mountConfigError(type, 'field Source must not be empty');
    if (!source.startsWith('/')) throw mountConfigError(type, `invalid mount path: '${source}' mount path must be absolute`);
    const bo = (raw.BindOptions ?? {}) as Record<string, unknown>;
    const propagation = bo.Propagation === undefined || bo.Propagation === '' ? 'rprivate' : bo.Propagation;
    if (typeof propagation !== 'string' || !PROPAGATIONS.has(propagation)) throw mountConfigError(type, `invalid propagation mode: ${String(propagation)}`);
    return {
      type, destination, source: posix.normalize(source).replace(/(.)\/+$/, '$1'), readOnly, mode: '', propagation,
      copyUp: false, createSource: optBool('BindOptions.CreateMountpoint', bo.CreateMountpoint),
    };
  }
  if (type === 'tmpfs') {
    if (source !== '') throw mountConfigError(type, 'field Source must not be specified');
    const to = (raw.TmpfsOptions ?? {}) as Record<string, unknown>;
    const options: string[] = [];
    if (to.SizeBytes !== undefined && to.SizeBytes !== null && to.SizeBytes !== 0) {
      if (typeof to.SizeBytes !== 'number' || !Number.isInteger(to.SizeBytes) || to.SizeBytes < 0) throw mountConfigError(type, `invalid tmpfs size ${String(to.SizeBytes)}`);
      options.push(`size=${to.SizeBytes}`);
    }
    if (to.Mode !== undefined && to.Mode !== null && to.Mode !== 0) {
      if (typeof to.Mode !== 'number') throw mountConfigError(type, 'field TmpfsOptions.Mode must be a number');
      options.push(tmpfsModeOption(to.Mode));
    } else options.push('mode=1777');
    if (to.Options !== undefined && to.Options !== null) {
      if (!Array.isArray(to.Options)) throw mountConfigError(type, 'field TmpfsOptions.Options must be a list');
      for (const o of to.Options) {
        if (!Array.isArray(o) || o.length < 1 || o.length > 2 || o.some((x) => typeof x !== 'string')) throw mountConfigError(type, `invalid tmpfs option ${JSON.stringify(o)}`);
        const opt = o.length === 2 ? `${o[0]}=${o[1]}` : String(o[0]);
        checkTmpfsOption(destination, opt);
        options.push(opt);
      }
    }
    return { type, destination, readOnly, mode: '', propagation: '', copyUp: false, createSource: false, tmpfsOptions: options };
  }
  const vo = (raw.VolumeOptions ?? {}) as Record<string, unknown>;
  const nocopy = optBool('VolumeOptions.NoCopy', vo.NoCopy);
  const labels = stringMap('VolumeOptions.Labels', vo.Labels);
  let driverOpts: Record<string, string> | undefined;
  if (vo.DriverConfig !== undefined && vo.DriverConfig !== null) {
    if (!isObject(vo.DriverConfig)) throw mountConfigError(type, 'field VolumeOptions.DriverConfig must be an object');
    checkKeys('VolumeOptions.DriverConfig', vo.DriverConfig, DRIVER_KEYS);
    const dn = vo.DriverConfig.Name;
    if (dn !== undefined && dn !== null && dn !== '' && dn !== 'local') throw new InvalidParameterError(`error looking up volume plugin ${String(dn)}: plugin "${String(dn)}" not found`);
    driverOpts = stringMap('VolumeOptions.DriverConfig.Options', vo.DriverConfig.Options);
  }
  let subpath: string | undefined;
  if (vo.Subpath !== undefined && vo.Subpath !== null && vo.Subpath !== '') {
    if (typeof vo.Subpath !== 'string') throw mountConfigError(type, 'field VolumeOptions.Subpath must be a string');
    const sp = posix.normalize(vo.Subpath);
    if (sp.startsWith('/') || sp === '..' || sp.startsWith('../')) throw mountConfigError(type, `subpath must be a relative path within the volume: ${vo.Subpath}`);
    subpath = sp;
  }
  return {
    type, destination, ...(source ? { name: source } : { anonymous: true }), readOnly, mode: '', propagation: '',
    copyUp: !nocopy, createSource: false, driverOpts, labels, subpath,
  };
}

const TMPFS_FLAGS = new Set([
  'ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'diratime', 'nodiratime',
  'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'sync', 'async', 'dirsync', 'mand', 'nomand',
  'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'tmpcopyup', 'notmpcopyup',
]);
const TMPFS_DATA = new Set(['size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol', 'huge']);

function checkTmpfsOption(dest: string, opt: string): void {
  const eq = opt.indexOf('=');
  if (eq < 0 ? TMPFS_FLAGS.has(opt) : TMPFS_DATA.has(opt.slice(0, eq))) {
    if (eq >= 0 && opt.slice(eq + 1) === '') throw new InvalidParameterError(`invalid tmpfs option "${opt}" for ${dest}: empty value`);
    if (opt.startsWith('size=') && !/^size=\d+(\.\d+)?[kKmMgGtTpPeE%]?$/.test(opt)) throw new InvalidParameterError(`invalid tmpfs option "${opt}" for ${dest}: invalid size`);
    if (opt.startsWith('mode=') && !/^mode=[0-7]{1,4}$/.test(opt)) throw new InvalidParameterError(`invalid tmpfs option "${opt}" for ${dest}: invalid mode`);
    return;
  }
  throw new InvalidParameterError(`invalid tmpfs option "${opt}" for ${dest}`);
}

/** One HostConfig.Tmpfs entry (`--tmpfs /x:size=64m,mode=1777`). */
export function parseTmpfs(dest: string, opts: string): MountPlan {
  const destination = checkDestination('tmpfs', dest);
  const options = opts.split(',').map((o) => o.trim()).filter(Boolean);
  for (const o of options) checkTmpfsOption(destination, o);
  // Docker's defaults for --tmpfs, which the user's own flags override.
  const merged = [...['noexec', 'nosuid', 'nodev'].filter((d) => !options.some((o) => o === d.slice(2) || o === d)), ...options];
  const readOnly = options.includes('ro');
  return { type: 'tmpfs', destination, readOnly, mode: '', propagation: '', copyUp: false, createSource: false, tmpfsOptions: merged.filter((o) => o !== 'ro' && o !== 'rw'), hidden: true };
}

/** One VolumesFrom entry: `container[:ro|rw]`. */
export function parseVolumesFrom(raw: string): { container: string; mode: '' | 'ro' | 'rw' } {
  const parts = raw.split(':');
  if (parts.length > 2 || parts[0] === '') throw new InvalidParameterError(`invalid volumes-from spec: ${raw}`);
  const mode = parts[1] ?? '';
  if (mode !== '' && mode !== 'ro' && mode !== 'rw') throw new InvalidParameterError(`invalid mode for volumes-from: ${mode}`);
  return { container: parts[0], mode };
}

export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Docker's local-driver name check (the error a relative `-v` path gets). */
export function validateVolumeName(name: string): void {
  if (name.length === 1) throw new InvalidParameterError(`create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
  if (!VOLUME_NAME.test(name)) {
    throw new InvalidParameterError(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

/** Parent mounts before children: sort by the number of path components, stable otherwise. */
export function sortByDepth<T extends { destination: string }>(plans: T[]): T[] {
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  return plans.map((p, i) => ({ p, i })).sort((a, b) => depth(a.p.destination) - depth(b.p.destination) || a.i - b.i).map((x) => x.p);
}
