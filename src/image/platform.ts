// Platforms as Docker/containerd spell and match them ("linux/arm64/v8", "amd64").
import { InvalidParameterError } from '../errors.js';
import { Platform } from './types.js';

export function hostArchitecture(): string {
  switch (process.arch) {
    case 'x64': return 'amd64';
    case 'ia32': return '386';
    case 'arm': return 'arm';
    default: return process.arch;
  }
}

export interface PlatformSpec { os: string; architecture: string; variant?: string }

function normArch(a: string, v?: string): { architecture: string; variant?: string } {
  switch (a.toLowerCase()) {
    case 'x86_64': case 'x86-64': case 'amd64': return { architecture: 'amd64', variant: v || undefined };
    case 'aarch64': case 'arm64': return { architecture: 'arm64', variant: v && v !== 'v8' ? v : undefined };
    case 'armhf': return { architecture: 'arm', variant: 'v7' };
    case 'armel': return { architecture: 'arm', variant: 'v6' };
    case 'i386': case '386': return { architecture: '386' };
    default: return { architecture: a.toLowerCase(), variant: v || undefined };
  }
}

export function defaultPlatform(): PlatformSpec {
  return { os: 'linux', ...normArch(hostArchitecture()) };
}

export function parsePlatform(s: string | undefined | null): PlatformSpec {
  if (!s) return defaultPlatform();
  const parts = s.split('/');
  if (parts.some((p) => p === '') || parts.length > 3) throw new InvalidParameterError(`"${s}": unknown operating system or architecture: invalid argument`);
  if (parts.length === 1) {
    if (['linux', 'windows', 'darwin', 'freebsd'].includes(parts[0])) return { ...defaultPlatform(), os: parts[0] };
    return { os: 'linux', ...normArch(parts[0]) };
  }
  return { os: parts[0].toLowerCase(), ...normArch(parts[1], parts[2]) };
}

export function platformMatches(want: PlatformSpec, have: Platform | undefined): boolean {
  if (!have) return false;
  const h = normArch(have.architecture ?? '', have.variant);
  if ((have.os ?? '').toLowerCase() !== want.os || h.architecture !== want.architecture) return false;
  if (want.variant && h.variant && want.variant !== h.variant) return false;
  if (want.variant && !h.variant && want.architecture === 'arm') return false;
  return true;
}

export function formatPlatform(p: PlatformSpec): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}
