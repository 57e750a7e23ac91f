/**
 * Prometheus gauges of the last audit (the chart's audit Deployment serves them on `/metrics`), the
 * `namespace` label as the PolicyReports place results (a Namespace object's in its own):
 * violations per policy, namespace and control, drift per type and namespace, break-glass changes
 * open and resolved per namespace and control, objects audited, the time and duration of the last
 * run, and failed runs. prom-client is loaded only in this mode.
 */
import { createServer, type Server } from 'node:http';
import type { AuditResult, LiveRef } from './audit.ts';
import { reportNamespace } from './reports.ts';

/** The gauges and how to update and serve them. */
export interface AuditMetrics {
  /** Replaces the gauges with one finished run. */
  observe(result: AuditResult, seconds: number): void;
  /** Counts a run that failed (cluster unreachable, forbidden). */
  failed(): void;
  /** Serves `/metrics` (and `/healthz`) on a port; resolves once listening. */
  listen(port: number, host?: string): Promise<Server>;
}

const objectKey = (object: LiveRef): string =>
  `${object.apiVersion}/${object.kind}/${object.namespace ?? ''}/${object.name}`;

/**
 * Per live object, the controls of the policies whose result recorded a break-glass approval used
 * (freeze-windows, gitops-only): the controls a break-glass change on it is accounted to.
 */
function breakGlassControls(result: AuditResult): Map<string, string[]> {
  const controls = new Map<string, string[]>();
  for (const audited of result.audited) {
    const used = audited.results.filter((r) => r.records?.some((record) => record.kind === 'break-glass'));
    if (used.length === 0) continue;
    controls.set(objectKey(audited.object), [...new Set(used.flatMap((r) => r.controls ?? []))].sort());
  }
  return controls;
}

/** Creates the audit gauges on a fresh registry. */
export async function createAuditMetrics(): Promise<AuditMetrics> {
  const { Counter, Gauge, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_audit_process_' });
  const violations = new Gauge({
    name: 'tollgate_audit_violations',
    help: 'Live objects failing a policy at the audit point (fail or error), by policy, namespace, action and control',
    labelNames: ['policy', 'namespace', 'action', 'control'],
    registers: [registry],
  });
  const drift = new Gauge({
    name: 'tollgate_audit_drift',
    help: 'Drift against Git in the last audit, by type (missing, undeclared, fields, image) and namespace',
    labelNames: ['type', 'namespace'],
    registers: [registry],
  });
  const breakGlass = new Gauge({
    name: 'tollgate_audit_break_glass_changes',
    help: 'Break-glass changes in the last audit with Git: open (the live object still differs from Git) or resolved (Git matches), by namespace and the control of the policy that honoured the approval',
    labelNames: ['state', 'namespace', 'control'],
    registers: [registry],
  });
  const objects = new Gauge({
    name: 'tollgate_audit_objects',
    help: 'Live objects reviewed by the last audit',
    registers: [registry],
  });
  const lastRun = new Gauge({
    name: 'tollgate_audit_last_run_timestamp_seconds',
    help: 'When the last successful audit finished (Unix time)',
    registers: [registry],
  });
  const duration = new Gauge({
    name: 'tollgate_audit_duration_seconds',
    help: 'How long the last successful audit took',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'tollgate_audit_failures_total',
    help: 'Audit runs that failed (see the log)',
    registers: [registry],
  });
  return {
    observe(result, seconds) {
      violations.reset();
      drift.reset();
      for (const audited of result.audited)
        for (const r of audited.results) {
          if (r.status !== 'fail' && r.status !== 'error') continue;
          const labels = {
            policy: r.policy,
            namespace: reportNamespace(audited.object) ?? '',
            action: r.action,
          };
          for (const control of r.controls?.length ? r.controls : [''])
            violations.inc({ ...labels, control });
        }
      for (const entry of result.drift?.entries ?? [])
        drift.inc({
          type: entry.type,
          namespace:
            (entry.type === 'missing' ? entry.object.namespace : reportNamespace(entry.object)) ?? '',
        });
      breakGlass.reset();
      const changes = result.drift?.breakGlass ?? [];
      const honoured = changes.length > 0 ? breakGlassControls(result) : new Map<string, string[]>();
      for (const change of changes) {
        const controls = honoured.get(objectKey(change.object)) ?? [];
        const labels = { state: change.state, namespace: reportNamespace(change.object) ?? '' };
        for (const control of controls.length > 0 ? controls : ['']) breakGlass.inc({ ...labels, control });
      }
      objects.set(result.objects);
      lastRun.set(Date.now() / 1000);
      duration.set(seconds);
    },
    failed: () => failures.inc(),
    listen(port, host = '0.0.0.0') {
      const server = createServer((req, res) => {
        if (req.url === '/healthz') {
          res.writeHead(200).end('ok\n');
          return;
        }
        if (req.url !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        registry.metrics().then(
          (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
          (error: unknown) => res.writeHead(500).end(String(error)),
        );
      });
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server));
      });
    },
  };
}
