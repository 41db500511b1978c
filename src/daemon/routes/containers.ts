// Container routes: HTTP in, ContainerService calls, Engine API JSON out.
import { execFile } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { Router, Context, boolParam, intParam, filtersParam } from '../http/router.js';
import type { Daemon } from '../daemon.js';
import { InvalidParameterError } from '../../errors.js';
import type { ContainerCreateBody, ContainerRecord } from '../../container/types.js';
import { frame, STDOUT, STDERR, RAW_STREAM, MULTIPLEXED_STREAM } from '../http/stdcopy.js';
import { parseTimeParam } from './system.js';
import {
  inspectContainer, summarizeContainer, defaultNetworkView, NetworkViewProvider, MountViewProvider,
} from './container-views.js';
import type { ContainerUpdate, WaitCondition } from '../../container/service.js';
import { healthStatus } from '../../container/health.js';
import { timestampMs } from '../../util/human.js';

export interface ContainerRouteOptions {
  network?: NetworkViewProvider;
  mounts?: MountViewProvider;
}

/** Parses Docker's detach-keys spec ("ctrl-p,ctrl-q", "a,ctrl-@") into bytes. */
export function parseDetachKeys(spec: string | null): number[] | undefined {
  if (spec === null) return undefined;
  if (spec === '') return [];
  return spec.split(',').map((k) => {
    const t = k.trim().toLowerCase();
    if (t.length === 1) return t.charCodeAt(0);
    const m = /^ctrl-([a-z@[\\\]^_])$/.exec(t);
    if (!m) throw new InvalidParameterError(`Invalid detach keys (${spec}) provided`);
    const ch = m[1];
    if (ch >= 'a' && ch <= 'z') return ch.charCodeAt(0) - 96;
    return { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, '_': 31 }[ch] as number;
  });
}

function matchesFilters(d: Daemon, c: ContainerRecord, f: Map<string, string[]>): boolean {
  const allowed = new Set(['id', 'name', 'label', 'status', 'ancestor', 'exited', 'before', 'since', 'health', 'network', 'volume', 'is-task', 'publish', 'expose']);
  for (const k of f.keys()) if (!allowed.has(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
  const some = (k: string, pred: (v: string) => boolean) => { const vs = f.get(k); return !vs || vs.length === 0 || vs.some(pred); };
  const every = (k: string, pred: (v: string) => boolean) => { const vs = f.get(k); return !vs || vs.every(pred); };
  const statuses = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];
  for (const s of f.get('status') ?? []) if (!statuses.includes(s)) throw new InvalidParameterError(`invalid filter 'status=${s}'`);
  for (const h of f.get('health') ?? []) if (!['starting', 'healthy', 'unhealthy', 'none'].includes(h)) throw new InvalidParameterError(`Unrecognised filter value for health: ${h}`);
  const ancestorOk = some('ancestor', (v) => {
    const img = d.images.tryResolve(v);
    if (!img) return false;
    let cur: string | undefined = c.imageId;
    while (cur) { if (cur === img.id) return true; cur = d.images.tryGet(cur)?.parent || undefined; }
    return false;
  });
  const before = f.get('before')?.[0];
  const since = f.get('since')?.[0];
  const createdOf = (ref: string) => { const x = d.containers.get(ref); return x.created; };
  return some('id', (v) => c.id.startsWith(v))
    && some('name', (v) => { try { return new RegExp(v.replace(/^\//, '')).test(c.name); } catch { return c.name.includes(v); } })
    && every('label', (v) => {
      const i = v.indexOf('=');
      const labels = c.config.Labels ?? {};
      return i < 0 ? v in labels : labels[v.slice(0, i)] === v.slice(i + 1);
    })
    && some('status', (v) => c.state.Status === v)
    && some('health', (v) => healthStatus(c) === v)
    && ancestorOk
    && some('exited', (v) => !c.state.Running && c.state.Status === 'exited' && String(c.state.ExitCode) === v)
    && some('network', (v) => { try { return d.networks.containersOn(v).has(c.id); } catch { return false; } })
    && some('publish', (v) => portFilter(v, Object.keys(c.hostConfig.PortBindings ?? {})))
    && some('expose', (v) => portFilter(v, Object.keys(c.config.ExposedPorts ?? {})))
    && (before === undefined || c.created < createdOf(before))
    && (since === undefined || c.created > createdOf(since));
}

/** Docker's publish/expose filter: "80", "80/udp" or a range "8000-8080/tcp" against "port/proto" entries. */
function portFilter(filter: string, ports: string[]): boolean {
  const [range, proto = 'tcp'] = filter.split('/');
  const [lo, hi = lo] = range.split('-').map(Number);
  return ports.some((p) => {
    const [n, pr = 'tcp'] = p.split('/');
    return pr === proto && Number(n) >= lo && Number(n) <= hi;
  });
}

export function registerContainerRoutes(r: Router, d: Daemon, opts: ContainerRouteOptions = {}): void {
  const net: NetworkViewProvider = (c) => (opts.network ?? defaultNetworkView)(c);
  const mounts: MountViewProvider = (c) => (opts.mounts ? opts.mounts(c) : []);
  const svc = d.containers;

  r.get('/containers/json', async (ctx) => {
    const all = boolParam(ctx.query, 'all');
    const limit = intParam(ctx.query, 'limit');
    const latest = boolParam(ctx.query, 'latest');
    const filters = filtersParam(ctx.query);
    let list = svc.list().filter((c) => matchesFilters(d, c, filters));
    const n = latest ? 1 : limit !== undefined && limit > 0 ? limit : undefined;
    if (!all && n === undefined && !filters.has('status') && !filters.has('exited')) list = list.filter((c) => c.state.Running);
    if (n !== undefined) list = list.slice(0, n);
    const out = list.map((c) => summarizeContainer(d, c, net, mounts));
    if (boolParam(ctx.query, 'size')) for (const [i, c] of list.entries()) Object.assign(out[i]!, await svc.sizes(c.id));
    ctx.send(200, out);
  });

  r.post('/containers/create', async (ctx) => {
    const body = await ctx.json<ContainerCreateBody>();
    const name = ctx.query.get('name') ?? undefined;
    const { id, warnings } = await svc.create(body, name, ctx.query.get('platform') || undefined);
    ctx.send(201, { Id: id, Warnings: warnings });
  });

  r.get('/containers/:id/json', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const out = inspectContainer(d, c, net, mounts);
    ctx.send(200, boolParam(ctx.query, 'size') ? { ...out, ...await svc.sizes(c.id) } : out);
  });

  r.post('/containers/:id/start', async (ctx) => {
    await svc.start(ctx.params.id, { detachKeys: ctx.query.get('detachKeys') ?? undefined });
    ctx.send(204);
  });

  r.post('/containers/:id/stop', async (ctx) => {
    await svc.stop(ctx.params.id, intParam(ctx.query, 't'), ctx.query.get('signal') ?? undefined);
    ctx.send(204);
  });

  r.post('/containers/:id/restart', async (ctx) => {
    await svc.restart(ctx.params.id, intParam(ctx.query, 't'), ctx.query.get('signal') ?? undefined);
    ctx.send(204);
  });

  r.post('/containers/:id/kill', async (ctx) => {
    await svc.kill(ctx.params.id, ctx.query.get('signal') || 'SIGKILL');
    ctx.send(204);
  });

  r.post('/containers/:id/pause', async (ctx) => { await svc.pause(ctx.params.id); ctx.send(204); });
  r.post('/containers/:id/unpause', async (ctx) => { await svc.unpause(ctx.params.id); ctx.send(204); });

  r.post('/containers/:id/update', async (ctx) => {
    const body = await ctx.json<ContainerUpdate>();
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidParameterError('invalid JSON: update must be an object');
    ctx.send(200, { Warnings: await svc.updateResources(ctx.params.id, body) });
  });

  r.post('/containers/:id/rename', (ctx) => {
    const name = ctx.query.get('name');
    if (!name) throw new InvalidParameterError('Neither old nor new names may be empty');
    svc.rename(ctx.params.id, name);
    ctx.send(204);
  });

  r.post('/containers/:id/resize', async (ctx) => {
    const h = intParam(ctx.query, 'h') ?? 0;
    const w = intParam(ctx.query, 'w') ?? 0;
    await svc.resize(ctx.params.id, h, w);
    ctx.send(200, '');
  });

  r.delete('/containers/:id', async (ctx) => {
    await svc.remove(ctx.params.id, { force: boolParam(ctx.query, 'force'), removeVolumes: boolParam(ctx.query, 'v') });
    ctx.send(204);
  });

  r.post('/containers/prune', async (ctx) => {
    const f = filtersParam(ctx.query);
    for (const k of f.keys()) if (!['until', 'label', 'label!'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    const until = f.get('until')?.[0];
    const untilMs = until ? timestampMs(until) : undefined;
    const report = await svc.prune((c) => {
      if (untilMs !== undefined && Date.parse(c.created) > untilMs) return false;
      const labels = c.config.Labels ?? {};
      for (const l of f.get('label') ?? []) { const [k, v] = l.split('=', 2); if (v === undefined ? !(k in labels) : labels[k] !== v) return false; }
      for (const l of f.get('label!') ?? []) { const [k, v] = l.split('=', 2); if (v === undefined ? k in labels : labels[k] === v) return false; }
      return true;
    });
    ctx.send(200, { ContainersDeleted: report.deleted.length ? report.deleted : null, SpaceReclaimed: report.reclaimed });
  });

  r.post('/containers/:id/wait', async (ctx) => {
    const condition = (ctx.query.get('condition') || 'not-running') as WaitCondition;
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new InvalidParameterError(`invalid condition: "${condition}"`);
    const waiting = svc.wait(ctx.params.id, condition);
    const res = ctx.res;
    if (!res) throw new InvalidParameterError('wait cannot be upgraded');
    // The CLI waits for these headers before it starts the container (docker run): send them now.
    res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': '1.51', 'Ostype': 'linux' });
    res.flushHeaders();
    let closed = false;
    res.on('close', () => { closed = true; });
    const result = await waiting;
    if (closed) return;
    res.end(JSON.stringify({ StatusCode: result.code, Error: result.error ? { Message: result.error } : null }) + '\n');
  });

  r.get('/containers/:id/logs', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const stdout = boolParam(ctx.query, 'stdout');
    const stderr = boolParam(ctx.query, 'stderr');
    if (!stdout && !stderr) throw new InvalidParameterError('Bad parameters: you must choose at least one stream');
    const tailRaw = ctx.query.get('tail');
    const tail = tailRaw === null || tailRaw === '' || tailRaw === 'all' ? undefined : Number(tailRaw);
    if (tail !== undefined && !Number.isFinite(tail)) throw new InvalidParameterError(`invalid tail value: ${tailRaw}`);
    const timestamps = boolParam(ctx.query, 'timestamps');
    const follow = boolParam(ctx.query, 'follow');
    const sinceNs = parseTimeParam(ctx.query.get('since'));
    const untilRaw = parseTimeParam(ctx.query.get('until'));
    const untilNs = untilRaw === 0n ? undefined : untilRaw;
    const res = ctx.res;
    if (!res) return;
    const tty = c.config.Tty === true;
    const abort = new AbortController();
    // Before the headers: a container whose log driver keeps nothing readable gets an error status.
    const iter = svc.logs(c.id, { stdout, stderr, tail: tail !== undefined && tail >= 0 ? tail : undefined, sinceNs: sinceNs && sinceNs > 0n ? sinceNs : undefined, untilNs, follow, signal: abort.signal });
    res.writeHead(200, { 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM, 'Api-Version': '1.51', 'Ostype': 'linux' });
    res.flushHeaders();
    res.on('close', () => abort.abort());
    let batch: Buffer[] = [];
    let pending = 0;
    const flush = () => { if (batch.length) { res.write(Buffer.concat(batch)); batch = []; pending = 0; } };
    for await (const e of iter) {
      if (abort.signal.aborted) break;
      const payload = timestamps ? Buffer.concat([Buffer.from(`${e.time} `), e.data]) : e.data;
      const chunk = tty ? payload : frame(e.stream === 'stdout' ? STDOUT : STDERR, payload);
      batch.push(chunk);
      pending += chunk.length;
      if (pending > 64 * 1024 || follow) flush();
    }
    flush();
    res.end();
  });

  const attach = async (ctx: Context) => {
    const c = svc.get(ctx.params.id);
    const stream = boolParam(ctx.query, 'stream');
    const logs = boolParam(ctx.query, 'logs');
    const want = { stdin: boolParam(ctx.query, 'stdin'), stdout: boolParam(ctx.query, 'stdout'), stderr: boolParam(ctx.query, 'stderr') };
    if (!stream && !logs) throw new InvalidParameterError('Bad parameters: you must choose at least one stream');
    const detachKeys = parseDetachKeys(ctx.query.get('detachKeys'));
    const tty = c.config.Tty === true;
    const sock: Duplex = await ctx.hijack(tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    const write = (s: 'stdout' | 'stderr', data: Buffer) => {
      if (sock.writable) sock.write(tty ? data : frame(s === 'stdout' ? STDOUT : STDERR, data));
    };
    if (logs) {
      for await (const e of svc.logs(c.id, { stdout: want.stdout, stderr: want.stderr, follow: false })) write(e.stream, e.data);
    }
    if (!stream) { sock.end(); return; }
    let ended = false;
    const session = svc.attach(c.id, want, {
      output: write,
      end: () => { if (!ended) { ended = true; if (!sock.destroyed) sock.end(); } },
    }, detachKeys);
    if (want.stdin) {
      sock.on('data', (b: Buffer) => session.write(b));
      sock.on('end', () => session.closeStdin());
    } else {
      sock.on('data', () => undefined);
      sock.on('end', () => undefined);
    }
    sock.on('close', () => session.close());
    sock.on('error', () => session.close());
  };
  r.post('/containers/:id/attach', attach);

  r.get('/containers/:id/top', async (ctx) => {
    const c = svc.get(ctx.params.id);
    const pids = new Set(svc.pids(c.id));
    const args = (ctx.query.get('ps_args') || '-ef').split(/\s+/).filter(Boolean);
    const out = await new Promise<string>((resolve, reject) => execFile('ps', args, { maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new InvalidParameterError(`ps: ${(stderr || err.message).trim()}`)); else resolve(stdout);
    }));
    const lines = out.split('\n').filter(Boolean);
    const header = lines[0].trim().split(/\s+/);
    const pidIdx = header.indexOf('PID');
    if (pidIdx < 0) throw new InvalidParameterError(`Couldn't find PID field in ps output`);
    const processes: string[][] = [];
    for (const l of lines.slice(1)) {
      const fields = l.trim().split(/\s+/);
      const pid = Number(fields[pidIdx]);
      if (!pids.has(pid)) continue;
      const row = fields.slice(0, header.length - 1);
      row.push(fields.slice(header.length - 1).join(' '));
      processes.push(row);
    }
    ctx.send(200, { Titles: header, Processes: processes });
  });

}

