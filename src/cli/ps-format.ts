// `berth ps` rows: docker's formatter.ContainerContext, field for field.
import type { ContainerSummary, Port } from '../client/types.js';
import { familiarRepository, familiarString, parseReference } from '../image/reference.js';
import { contextJSON, labelsColumn } from './formatter.js';
import { ellipsis, goQuote, humanSize, sinceUnix, truncateId } from './units.js';

export const DEFAULT_PS_FORMAT = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export const PS_HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

const FIELDS = ['ID', 'Names', 'Image', 'Command', 'CreatedAt', 'RunningFor', 'Ports', 'State', 'Status', 'Size', 'Labels', 'Mounts', 'LocalVolumes', 'Networks', 'Platform'] as const;

/** Go's time.Time.String() for a local time: "2026-11-27 23:41:21 +0000 UTC". */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const offMin = -d.getTimezoneOffset();
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const sign = offMin >= 0 ? '+' : '-';
  const off = `${sign}${pad(Math.trunc(Math.abs(offMin) / 60))}${pad(Math.abs(offMin) % 60)}`;
  const zone = offMin === 0 && (process.env.TZ === undefined || process.env.TZ === '' || process.env.TZ === 'UTC') ? 'UTC' : off;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${off} ${zone}`;
}

function comparePorts(a: Port, b: Port): number {
  if (a.PrivatePort !== b.PrivatePort) return a.PrivatePort - b.PrivatePort;
  if ((a.IP ?? '') !== (b.IP ?? '')) return (a.IP ?? '') < (b.IP ?? '') ? -1 : 1;
  if ((a.PublicPort ?? 0) !== (b.PublicPort ?? 0)) return (a.PublicPort ?? 0) - (b.PublicPort ?? 0);
  return a.Type < b.Type ? -1 : a.Type > b.Type ? 1 : 0;
}

function joinHostPort(ip: string, port: string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** formatter.DisplayablePorts: "0.0.0.0:80->80/tcp, 443/tcp", consecutive ports grouped. */
export function displayablePorts(input: Port[]): string {
  const ports = [...input].sort(comparePorts);
  const groups = new Map<string, { first: number; last: number }>();
  const order: string[] = [];
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, start: number, last: number): string => {
    const parts = key.split('/');
    let type = parts[0]!;
    let ip = '';
    if (parts.length > 1) {
      ip = parts[0]!;
      type = parts[1]!;
    }
    let group = String(start);
    if (start !== last) group = `${group}-${last}`;
    if (ip) group = `${joinHostPort(ip, group)}->${group}`;
    return `${group}/${type}`;
  };
  for (const p of ports) {
    const current = p.PrivatePort;
    let key: string = p.Type;
    if (p.IP) {
      if ((p.PublicPort ?? 0) !== current) {
        hostMappings.push(`${joinHostPort(p.IP, String(p.PublicPort ?? 0))}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      order.push(key);
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(formGroup(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const k of order) {
    const g = groups.get(k)!;
    result.push(formGroup(k, g.first, g.last));
  }
  return [...result, ...hostMappings].join(', ');
}

export class ContainerContext {
  constructor(
    private readonly c: ContainerSummary,
    private readonly trunc: boolean,
  ) {}

  get ID(): string {
    return this.trunc ? truncateId(this.c.Id ?? '') : (this.c.Id ?? '');
  }

  get Names(): string {
    let names = (this.c.Names ?? []).map((n) => n.slice(1));
    if (this.trunc) {
      const primary = names.find((n) => n.split('/').length === 1);
      if (primary !== undefined) names = [primary];
    }
    return names.join(',');
  }

  get Image(): string {
    const image = this.c.Image ?? '';
    if (image === '') return '<no image>';
    if (this.trunc) {
      const t = truncateId(this.c.ImageID ?? '');
      if (t === truncateId(image)) return t;
      try {
        const ref = parseReference(image);
        if (ref.tag) return familiarString({ domain: ref.domain, path: ref.path, tag: ref.tag });
        if (!ref.digest || ref.tag === undefined) return familiarRepository(ref);
      } catch {
        // not a reference: show as is
      }
    }
    return image;
  }

  get Command(): string {
    const cmd = this.c.Command ?? '';
    return goQuote(this.trunc ? ellipsis(cmd, 20) : cmd);
  }

  get CreatedAt(): string {
    return goTimeString(this.c.Created ?? 0);
  }

  get RunningFor(): string {
    return sinceUnix(this.c.Created ?? 0);
  }

  get Ports(): string {
    return displayablePorts(this.c.Ports ?? []);
  }

  get State(): string {
    return this.c.State ?? '';
  }

  get Status(): string {
    return this.c.Status ?? '';
  }

  get Size(): string {
    const srw = humanSize(this.c.SizeRw ?? 0, 3);
    const sv = humanSize(this.c.SizeRootFs ?? 0, 3);
    return (this.c.SizeRootFs ?? 0) > 0 ? `${srw} (virtual ${sv})` : srw;
  }

  get Labels(): string {
    return labelsColumn(this.c.Labels);
  }

  Label(name: unknown): string {
    return this.c.Labels?.[String(name)] ?? '';
  }

  get Mounts(): string {
    return (this.c.Mounts ?? [])
      .map((m) => {
        const n = m.Name ? m.Name : (m.Source ?? '');
        return this.trunc ? ellipsis(n, 15) : n;
      })
      .join(',');
  }

  get LocalVolumes(): string {
    return String((this.c.Mounts ?? []).filter((m) => m.Driver === 'local').length);
  }

  get Networks(): string {
    return Object.keys(this.c.NetworkSettings?.Networks ?? {}).join(',');
  }

  get Platform(): unknown {
    const p = this.c.ImageManifestDescriptor?.platform;
    return p ? { Architecture: p.architecture, OS: p.os, Variant: p.variant ?? '' } : null;
  }

  toJSON(): Record<string, unknown> {
    return contextJSON(this, FIELDS);
  }
}
