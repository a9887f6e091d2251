import type { Registry } from 'prom-client';

/** Upper bounds of the request-duration buckets, in seconds. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Labels {
  server: string;
  method: string;
  route: string;
  status: string;
}

interface Series {
  labels: Labels;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative; the last slot is above the largest bound). */
  buckets: number[];
}

interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * HTTP request counts and durations, kept as plain numbers per series and turned into Prometheus
 * samples at scrape time. prom-client's Counter and Histogram hash their label object on every
 * call (about 2 µs per request for both, measured): a request to keygate costs ~35 µs in all, so
 * that would be a noticeable share of the verify path. One Map look-up by a joined string is not.
 */
export class RequestMetrics {
  private readonly series = new Map<string, Series>();

  constructor(registry: Registry) {
    const counter = {
      name: 'keygate_http_requests_total',
      help: 'Finished HTTP requests, by server (api, gateway), method, route pattern (never the raw URL) and status.',
      type: 'counter',
      aggregator: 'sum',
      get: () => ({ ...counter, values: this.counts() }),
      reset: () => this.series.clear(),
    };
    const histogram = {
      name: 'keygate_http_request_duration_seconds',
      help: 'Time from arrival to the last byte of the answer, by server, method, route pattern and status.',
      type: 'histogram',
      aggregator: 'sum',
      get: () => ({ ...histogram, values: this.durations() }),
      reset: () => this.series.clear(),
    };
    registry.registerMetric(counter as never);
    registry.registerMetric(histogram as never);
  }

  /** Counts one finished request; `route` is the pattern it matched, never its URL. */
  observe(server: 'api' | 'gateway', method: string, route: string, status: number, seconds: number): void {
    const key = `${server} ${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        labels: { server, method, route, status: String(status) },
        count: 0,
        sum: 0,
        buckets: new Array<number>(BUCKETS.length + 1).fill(0),
      };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    s.buckets[i]!++;
  }

  private counts(): Sample[] {
    return [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.count }));
  }

  private durations(): Sample[] {
    const out: Sample[] = [];
    const name = 'keygate_http_request_duration_seconds';
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        cumulative += s.buckets[i]!;
        out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: BUCKETS[i]! }, value: cumulative });
      }
      out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      out.push({ metricName: `${name}_sum`, labels: { ...s.labels }, value: s.sum });
      out.push({ metricName: `${name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return out;
  }
}
