// Health checks as moby runs them: a container's HEALTHCHECK test is exec'd in it every interval,
// and the exit status of each probe moves it between starting, healthy and unhealthy. Compose's
// `service_healthy`, testcontainers' health wait strategy and `docker ps` all read the result.
import type { EventBus, EngineEvent } from '../daemon/events.js';
import type { HealthConfig } from '../image/types.js';
import { goDurationString } from '../util/human.js';
import type { ExecService } from './exec.js';
import type { AttachSink, ContainerService } from './service.js';
import type { ContainerRecord, HealthcheckResult, HealthState } from './types.js';

const SECOND_NS = 1e9;
/** moby's defaults for a zero field of the Healthcheck config. */
const DEFAULT_INTERVAL_NS = 30 * SECOND_NS;
const DEFAULT_TIMEOUT_NS = 30 * SECOND_NS;
const DEFAULT_START_INTERVAL_NS = 5 * SECOND_NS;
const DEFAULT_RETRIES = 3;
/** Output kept per probe, and probes kept per container (oldest dropped first). */
const MAX_OUTPUT = 4096;
const MAX_LOG = 5;

/** The argv a probe runs, or undefined when the container has no (or a NONE) healthcheck. */
export function probeCommand(c: ContainerRecord): string[] | undefined {
  const test = c.config.Healthcheck?.Test;
  if (!test || test.length < 2) return undefined;
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') return [...(c.config.Shell?.length ? c.config.Shell : ['/bin/sh', '-c']), ...test.slice(1)];
  return undefined;
}

/**
 * A container's healthcheck from the one it was created with and its image's, field by field as
 * moby merges them: `--health-interval` alone keeps the image's test.
 */
export function mergeHealthcheck(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (!user) return image;
  if (!image) return user;
  return {
    ...user,
    Test: user.Test?.length ? user.Test : image.Test,
    Interval: user.Interval || image.Interval,
    Timeout: user.Timeout || image.Timeout,
    StartPeriod: user.StartPeriod || image.StartPeriod,
    StartInterval: user.StartInterval || image.StartInterval,
    Retries: user.Retries || image.Retries,
  };
}

/** The status `docker ps --filter health=` matches: none without a healthcheck. */
export function healthStatus(c: ContainerRecord): HealthState['Status'] | 'none' {
  return probeCommand(c) ? c.state.Health?.Status ?? 'none' : 'none';
}

interface Monitor {
  timer?: NodeJS.Timeout;
  /** The exec of the probe in flight, killed if the monitor stops meanwhile. */
  execId?: string;
  stopped: boolean;
}

export class HealthMonitor {
  private readonly monitors = new Map<string, Monitor>();

  constructor(
    private readonly containers: ContainerService,
    private readonly execs: ExecService,
    private readonly events: EventBus,
    private readonly log: (line: string) => void,
  ) {
    events.subscribe((e) => this.onEvent(e));
  }

  /** After berthd starts: containers still running are checked again from `starting`, as moby does. */
  resume(): void {
    for (const c of this.containers.list()) if (c.state.Running && !c.state.Paused) this.init(c);
  }

  close(): void {
    for (const id of [...this.monitors.keys()]) this.stop(id, false);
  }

  private onEvent(e: EngineEvent): void {
    if (e.Type !== 'container') return;
    const c = this.containers.tryGet(e.Actor.ID);
    if (e.Action === 'start' && c) this.init(c);
    else if (e.Action === 'unpause' && c) this.open(c);
    else if (e.Action === 'die' || e.Action === 'pause' || e.Action === 'destroy') this.stop(e.Actor.ID, true);
  }

  private init(c: ContainerRecord): void {
    if (!probeCommand(c)) return;
    this.stop(c.id, false);
    c.state.Health = { Status: 'starting', FailingStreak: 0, Log: c.state.Health?.Log ?? [] };
    this.open(c);
  }

  private open(c: ContainerRecord): void {
    if (!probeCommand(c) || this.monitors.has(c.id)) return;
    const m: Monitor = { stopped: false };
    this.monitors.set(c.id, m);
    this.schedule(c, m);
  }

  /** Stops checking; like moby, a container whose monitor stopped (it died, was paused) is unhealthy. */
  private stop(id: string, unhealthy: boolean): void {
    const m = this.monitors.get(id);
    if (!m) return;
    this.monitors.delete(id);
    m.stopped = true;
    clearTimeout(m.timer);
    if (m.execId) this.execs.kill(m.execId);
    const h = this.containers.tryGet(id)?.state.Health;
    if (unhealthy && h) h.Status = 'unhealthy';
  }

  /** moby's interval: start_interval while starting within the start period, never past its end. */
  private nextDelayMs(c: ContainerRecord): number {
    const hc = c.config.Healthcheck ?? {};
    const interval = hc.Interval || DEFAULT_INTERVAL_NS;
    const startPeriod = hc.StartPeriod || 0;
    const elapsed = (Date.now() - Date.parse(c.state.StartedAt)) * 1e6;
    let ns = interval;
    if (elapsed < startPeriod) {
      const remaining = startPeriod - elapsed;
      if (remaining < interval) ns = remaining;
      else if (c.state.Health?.Status === 'starting') ns = hc.StartInterval || DEFAULT_START_INTERVAL_NS;
    }
    return Math.max(1, Math.round(ns / 1e6));
  }

  private schedule(c: ContainerRecord, m: Monitor): void {
    m.timer = setTimeout(() => void this.check(c.id, m), this.nextDelayMs(c));
    m.timer.unref();
  }

  private async check(id: string, m: Monitor): Promise<void> {
    const c = this.containers.tryGet(id);
    if (m.stopped || !c?.state.Running) return;
    const start = new Date();
    let result: HealthcheckResult;
    try {
      result = await this.probe(c, m, start);
    } catch (err) {
      result = { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: -1, Output: (err as Error).message };
    }
    // A probe that ends after its monitor stopped does not count (the container may be restarting).
    if (m.stopped) return;
    this.record(c, result);
    this.schedule(c, m);
  }

  private async probe(c: ContainerRecord, m: Monitor, start: Date): Promise<HealthcheckResult> {
    const hc = c.config.Healthcheck ?? {};
    const timeoutNs = hc.Timeout || DEFAULT_TIMEOUT_NS;
    const output = new LimitedOutput(MAX_OUTPUT);
    let ended!: () => void;
    const done = new Promise<void>((resolve) => { ended = resolve; });
    const sink: AttachSink = { output: (_stream, data) => output.add(data), end: () => ended() };
    const execId = this.execs.create(c.id, {
      Cmd: probeCommand(c), User: c.config.User, WorkingDir: c.config.WorkingDir,
      AttachStdout: true, AttachStderr: true, Tty: false, Privileged: false,
    });
    m.execId = execId;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.execs.start(execId, { detach: false, sink });
      // The timeout counts from when the probe runs, not from when berthd began to start it.
      timer = setTimeout(() => { timedOut = true; this.execs.kill(execId); }, Math.max(1, Math.round(timeoutNs / 1e6)));
      await done;
      const end = new Date().toISOString();
      if (timedOut) {
        const msg = `Health check exceeded timeout (${goDurationString(timeoutNs)})`;
        const out = output.text();
        return { Start: start.toISOString(), End: end, ExitCode: -1, Output: out ? `${msg}: ${out}` : msg };
      }
      return { Start: start.toISOString(), End: end, ExitCode: this.execs.get(execId).exitCode ?? -1, Output: output.text() };
    } finally {
      clearTimeout(timer);
      m.execId = undefined;
      this.execs.remove(execId);
    }
  }

  private record(c: ContainerRecord, result: HealthcheckResult): void {
    const h = c.state.Health ??= { Status: 'starting', FailingStreak: 0, Log: [] };
    const before = h.Status;
    h.Log = [...h.Log, result].slice(-MAX_LOG);
    if (result.ExitCode === 0) {
      h.FailingStreak = 0;
      h.Status = 'healthy';
    } else {
      const hc = c.config.Healthcheck ?? {};
      // Failures within the start period do not count until the first success.
      const inStartPeriod = h.Status === 'starting'
        && (Date.parse(result.Start) - Date.parse(c.state.StartedAt)) * 1e6 < (hc.StartPeriod || 0);
      if (!inStartPeriod) {
        h.FailingStreak++;
        if (h.FailingStreak >= (hc.Retries || DEFAULT_RETRIES)) h.Status = 'unhealthy';
      }
    }
    if (h.Status !== before) {
      this.log(`container ${c.id.slice(0, 12)}: ${h.Status}`);
      this.events.emit('container', `health_status: ${h.Status}`, c.id, this.containers.eventAttributes(c));
    }
  }
}

/** Keeps the first bytes of a probe's output; more is marked with "..." as moby does. */
class LimitedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  constructor(private readonly max: number) {}

  add(data: Buffer): void {
    const keep = Math.min(this.max - this.size, data.length);
    if (keep > 0) { this.chunks.push(data.subarray(0, keep)); this.size += keep; }
    if (keep < data.length) this.truncated = true;
  }

  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `${s}...` : s;
  }
}
