// `docker import --change` / `commit --change`: a subset of Dockerfile instructions applied to
// an image config. Parsed here (not by the builder) because import needs only this much.
import { InvalidParameterError } from '../errors.js';
import { ContainerConfigSpec } from './types.js';

const ALLOWED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL', 'SHELL'];

/** JSON array form, or the shell form wrapped in `/bin/sh -c`. */
function commandArgs(rest: string, shellForm: boolean): string[] {
  const t = rest.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch { /* falls through to the shell form, as Docker does */ }
  }
  return shellForm ? ['/bin/sh', '-c', t] : t.split(/\s+/).filter(Boolean);
}

/** Splits `A=1 B="two words"` or the legacy `A 1` form. */
function keyValues(rest: string, what: string): [string, string][] {
  const t = rest.trim();
  if (!t.includes('=')) {
    const i = t.search(/\s/);
    if (i === -1) throw new InvalidParameterError(`${what} requires at least one argument`);
    return [[t.slice(0, i), t.slice(i).trim()]];
  }
  const out: [string, string][] = [];
  const re = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const v = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4] !== undefined ? m[4] : m[5] ?? '';
    out.push([m[1], v]);
  }
  if (out.length === 0) throw new InvalidParameterError(`${what} requires at least one argument`);
  return out;
}

export function applyChanges(config: ContainerConfigSpec, changes: string[]): ContainerConfigSpec {
  const c: ContainerConfigSpec = { ...config };
  for (const raw of changes) {
    for (const line of raw.split('\n')) {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) continue;
      const m = /^(\S+)\s*(.*)$/s.exec(t);
      if (!m) continue;
      const cmd = m[1].toUpperCase();
      const rest = m[2];
      if (!ALLOWED.includes(cmd)) throw new InvalidParameterError(`${m[1].toLowerCase()} is not a valid change command`);
      switch (cmd) {
        case 'CMD': c.Cmd = commandArgs(rest, true); break;
        case 'ENTRYPOINT': c.Entrypoint = commandArgs(rest, true); break;
        case 'SHELL': c.Shell = commandArgs(rest, false); break;
        case 'ENV': {
          const env = [...(c.Env ?? [])];
          for (const [k, v] of keyValues(rest, 'ENV')) {
            const i = env.findIndex((e) => e.split('=')[0] === k);
            if (i >= 0) env[i] = `${k}=${v}`; else env.push(`${k}=${v}`);
          }
          c.Env = env;
          break;
        }
        case 'LABEL': {
          const labels = { ...(c.Labels ?? {}) };
          for (const [k, v] of keyValues(rest, 'LABEL')) labels[k] = v;
          c.Labels = labels;
          break;
        }
        case 'EXPOSE': {
          const ports = { ...(c.ExposedPorts ?? {}) };
          for (const p of rest.trim().split(/\s+/).filter(Boolean)) {
            if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw new InvalidParameterError(`invalid port: ${p}`);
            ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
          }
          c.ExposedPorts = ports;
          break;
        }
        case 'VOLUME': {
          const vols = { ...(c.Volumes ?? {}) };
          for (const v of commandArgs(rest, false)) vols[v] = {};
          c.Volumes = vols;
          break;
        }
        case 'USER': c.User = rest.trim(); break;
        case 'WORKDIR': c.WorkingDir = rest.trim(); break;
        case 'STOPSIGNAL': c.StopSignal = rest.trim(); break;
        case 'ONBUILD': c.OnBuild = [...(c.OnBuild ?? []), rest.trim()]; break;
      }
    }
  }
  return c;
}
