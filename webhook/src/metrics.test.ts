import { describe, expect, it } from 'vitest';
import type { Report } from '../../policies/index.ts';
import { createMetrics, tally } from './metrics.ts';

const report = (statuses: Array<[string, 'pass' | 'fail' | 'skip', 'deny' | 'warn']>): Report =>
  ({
    results: statuses.map(([policy, status, action]) => ({ policy, status, action, findings: [] })),
  }) as unknown as Report;

/** The value of one sample line of the exposition text (undefined when absent). */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('webhook metrics', () => {
  it('counts requests and policy results exactly, and a second scrape does not count them again', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    for (let i = 0; i < 3; i++)
      metrics.observeRequest({
        operation: 'CREATE',
        decision: 'allow',
        dryRun: false,
        seconds: 0.002,
        report: report([
          ['approved-registries', 'pass', 'deny'],
          ['freeze-windows', 'skip', 'deny'],
        ]),
      });
    metrics.observeRequest({
      operation: 'UPDATE',
      decision: 'deny',
      dryRun: true,
      seconds: 0.2,
      report: report([['approved-registries', 'fail', 'deny']]),
    });
    metrics.observeRequest({ operation: 'CONNECT', decision: 'skipped', dryRun: false, seconds: 0 });
    for (let scrape = 0; scrape < 2; scrape++) {
      const text = await metrics.registry.metrics();
      const requests = 'tollgate_admission_requests_total';
      expect(sample(text, `${requests}{operation="CREATE",decision="allow",dry_run="false"}`)).toBe(3);
      expect(sample(text, `${requests}{operation="UPDATE",decision="deny",dry_run="true"}`)).toBe(1);
      expect(sample(text, `${requests}{operation="CONNECT",decision="skipped",dry_run="false"}`)).toBe(1);
      const results = 'tollgate_admission_policy_results_total';
      expect(sample(text, `${results}{policy="approved-registries",status="pass",action="deny"}`)).toBe(3);
      expect(sample(text, `${results}{policy="approved-registries",status="fail",action="deny"}`)).toBe(1);
      expect(sample(text, `${results}{policy="freeze-windows",status="skip",action="deny"}`)).toBe(3);
      const latency = 'tollgate_admission_request_duration_seconds';
      expect(sample(text, `${latency}_count{operation="CREATE"}`)).toBe(3);
      expect(sample(text, `${latency}_bucket{le="0.0025",operation="CREATE"}`)).toBe(3);
      expect(sample(text, `${latency}_bucket{le="0.1",operation="UPDATE"}`)).toBe(0);
      expect(sample(text, `${latency}_bucket{le="0.25",operation="UPDATE"}`)).toBe(1);
    }
  });

  it('counts cache look-ups reported one by one, with their hit ratio', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect(await metrics.registry.metrics()).not.toMatch(/tollgate_cache_requests_total\{/);
    for (const outcome of ['hit', 'hit', 'hit', 'miss'] as const) metrics.reportCache('namespaces', outcome);
    const text = await metrics.registry.metrics();
    expect(sample(text, 'tollgate_cache_requests_total{cache="namespaces",outcome="hit"}')).toBe(3);
    expect(sample(text, 'tollgate_cache_requests_total{cache="namespaces",outcome="miss"}')).toBe(1);
    expect(sample(text, 'tollgate_cache_hit_ratio{cache="namespaces"}')).toBe(0.75);
    metrics.reportCache('namespaces', 'miss');
    const later = await metrics.registry.metrics();
    expect(sample(later, 'tollgate_cache_requests_total{cache="namespaces",outcome="miss"}')).toBe(2);
  });

  it('tallies label triples separately however they share a prefix', () => {
    const counts = tally();
    counts.add('a', 'b', 'c');
    counts.add('a', 'b', 'c');
    counts.add('a', 'b', 'd');
    counts.add('a', 'x', 'c');
    expect([...counts.entries()]).toEqual([
      [['a', 'b', 'c'], 2],
      [['a', 'b', 'd'], 1],
      [['a', 'x', 'c'], 1],
    ]);
  });
});
