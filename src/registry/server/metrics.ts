// Prometheus text-format counters for /metrics: requests by method/route/status, errors by
// OCI code, bytes in and out, request durations and uploads in progress.

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private bytesIn = 0;
  private bytesOut = 0;
  private readonly buckets = new Array<number>(BUCKETS.length).fill(0);
  private durationSum = 0;
  private durationCount = 0;
  uploadsInProgress = 0;

  observe(method: string, route: string, status: number, durationSec: number, bytesIn: number, bytesOut: number): void {
    const key = labels({ method, route, status: String(status) });
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
    this.durationSum += durationSec;
    this.durationCount++;
    for (let i = 0; i < BUCKETS.length; i++) if (durationSec <= BUCKETS[i]!) this.buckets[i]!++;
  }

  error(code: string): void {
    const key = labels({ code });
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP berth_registry_http_requests_total HTTP requests by method, route and status.');
    out.push('# TYPE berth_registry_http_requests_total counter');
    for (const [k, v] of this.requests) out.push(`berth_registry_http_requests_total${k} ${v}`);
    out.push('# HELP berth_registry_errors_total Error responses by OCI error code.');
    out.push('# TYPE berth_registry_errors_total counter');
    for (const [k, v] of this.errors) out.push(`berth_registry_errors_total${k} ${v}`);
    out.push('# HELP berth_registry_received_bytes_total Request body bytes received.');
    out.push('# TYPE berth_registry_received_bytes_total counter');
    out.push(`berth_registry_received_bytes_total ${this.bytesIn}`);
    out.push('# HELP berth_registry_sent_bytes_total Response bytes sent.');
    out.push('# TYPE berth_registry_sent_bytes_total counter');
    out.push(`berth_registry_sent_bytes_total ${this.bytesOut}`);
    out.push('# HELP berth_registry_http_request_duration_seconds Request duration.');
    out.push('# TYPE berth_registry_http_request_duration_seconds histogram');
    BUCKETS.forEach((b, i) => out.push(`berth_registry_http_request_duration_seconds_bucket{le="${b}"} ${this.buckets[i]}`));
    out.push(`berth_registry_http_request_duration_seconds_bucket{le="+Inf"} ${this.durationCount}`);
    out.push(`berth_registry_http_request_duration_seconds_sum ${this.durationSum}`);
    out.push(`berth_registry_http_request_duration_seconds_count ${this.durationCount}`);
    out.push('# HELP berth_registry_uploads_in_progress Blob upload requests currently streaming.');
    out.push('# TYPE berth_registry_uploads_in_progress gauge');
    out.push(`berth_registry_uploads_in_progress ${this.uploadsInProgress}`);
    return `${out.join('\n')}\n`;
  }
}
