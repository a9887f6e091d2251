import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../src/ops/metrics.js';

/** The hand-kept request series and decisions come out as Prometheus counters and a cumulative histogram. */
describe('request metrics and decisions as scraped', () => {
  it('writes cumulative buckets, +Inf, sum and count per series, and counts decisions with VALID as OK', async () => {
    const m = new Metrics();
    m.requestDone('api', 'POST', '/api/v1.0/verify', 200, 0.0003);
    m.requestDone('api', 'POST', '/api/v1.0/verify', 200, 0.003);
    m.requestDone('api', 'POST', '/api/v1.0/verify', 200, 20);
    m.requestDone('gateway', 'GET', 'unmatched', 404, 0.001);
    m.decided('verify', 'VALID');
    m.decided('verify', 'VALID');
    m.decided('gateway', 'EXPIRED');
    const text = await m.scrape();
    const series = 'server="api",method="POST",route="/api/v1.0/verify",status="200"';
    const lines = text.split('\n');
    const value = (line: string) => Number(lines.find((l) => l.startsWith(`${line} `))?.slice(line.length + 1));
    assert.equal(value(`keygate_http_requests_total{${series}}`), 3);
    assert.equal(value(`keygate_http_request_duration_seconds_bucket{${series},le="0.0005"}`), 1);
    assert.equal(value(`keygate_http_request_duration_seconds_bucket{${series},le="0.001"}`), 1);
    assert.equal(value(`keygate_http_request_duration_seconds_bucket{${series},le="0.005"}`), 2);
    assert.equal(value(`keygate_http_request_duration_seconds_bucket{${series},le="10"}`), 2);
    assert.equal(value(`keygate_http_request_duration_seconds_bucket{${series},le="+Inf"}`), 3);
    assert.equal(value(`keygate_http_request_duration_seconds_count{${series}}`), 3);
    assert.ok(Math.abs(value(`keygate_http_request_duration_seconds_sum{${series}}`) - 20.0033) < 1e-9);
    assert.equal(value('keygate_http_requests_total{server="gateway",method="GET",route="unmatched",status="404"}'), 1);
    assert.match(text, /# TYPE keygate_http_request_duration_seconds histogram/);
    assert.equal(value('keygate_decisions_total{source="verify",code="OK"}'), 2);
    assert.equal(value('keygate_decisions_total{source="gateway",code="EXPIRED"}'), 1);
    m.decided('verify', 'VALID');
    const again = (await m.scrape()).split('\n');
    assert.ok(
      again.includes('keygate_decisions_total{source="verify",code="OK"} 3'),
      'counts accumulate across scrapes',
    );
  });
});
