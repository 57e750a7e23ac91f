/**
 * Generates a realistic hash-chained decision log: a month (or any span) of webhook decisions from
 * several writers (pods, one restarted mid-month), with denials, warnings, exemptions and break-glass
 * uses, written through the real {@link ChainWriter} and rotated into several files per writer. Used
 * by the evidence tests and `bench/evidence.ts`. Deterministic for a seed.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ChainWriter } from '../../io/decision-log/chain.ts';
import type { CheckpointKey } from '../../io/decision-log/checkpoint.ts';
import type { BundleIdentity, PolicyResult } from '../../policies/index.ts';
import { objectDecisionLine } from '../../io/decision-log/line.ts';
import type { CiContext, DecisionLine, DecisionPolicy } from '../../io/decision-log/line.ts';

/** Options of {@link generateDecisionMonth}. */
export interface DecisionMonthOptions {
  readonly dir: string;
  /** Decision lines in total (start and checkpoint lines come on top). */
  readonly decisions: number;
  /** First instant (default 2026-11-01T00:00:00Z). */
  readonly from?: Date;
  /** Span in days (default 30). */
  readonly days?: number;
  /** Webhook pods (default 3); the first is restarted halfway, so there is one writer more. */
  readonly pods?: number;
  /** Decision lines per file before a writer rotates (default: a fifth of its lines). */
  readonly rotateEvery?: number;
  readonly key?: CheckpointKey;
  readonly every?: number;
  readonly seed?: number;
  /** The two bundle identities decisions name (the second from day 12 on); default {@link monthBundles}. */
  readonly bundles?: readonly [BundleIdentity, BundleIdentity];
  /**
   * `tollgate check` runs spread over the span (default 0), each its own writer appending to
   * `ci.log`: a few manifest decision lines (source ci) and a ci-run line, as runGate writes them.
   */
  readonly ciRuns?: number;
}

/** What was generated. */
export interface DecisionMonth {
  /** Every file written, rotated ones included, in no particular order. */
  readonly files: string[];
  /** Writer ids. */
  readonly writers: string[];
  readonly decisions: number;
  readonly denials: number;
  readonly breakGlass: number;
  /** CI decision lines written (ci.log), and how many were denials. */
  readonly ciDecisions: number;
  readonly ciDenials: number;
}

const policyControls: Record<string, string[]> = {
  'approved-registries': ['SOX-ITGC-CM-03', 'PCI-DSS-6.3.2'],
  'signed-images': ['SOX-ITGC-CM-03', 'PCI-DSS-6.3.2'],
  'resource-limits': ['SOX-ITGC-OPS-02'],
  'namespace-isolation': ['PCI-DSS-1.3.1', 'SOX-ITGC-AC-04'],
  'no-public-databases': ['PCI-DSS-1.4.1', 'SOX-ITGC-AC-04'],
  'freeze-windows': ['SOX-ITGC-CM-05'],
};
const failPaths: Record<string, string> = {
  'approved-registries': 'spec.template.spec.containers[0].image',
  'signed-images': 'spec.template.spec.containers[0].image',
  'resource-limits': 'spec.template.spec.containers[0].resources.limits.memory',
  'namespace-isolation': 'spec.template.spec.hostNetwork',
  'no-public-databases': 'spec.type',
  'freeze-windows': 'metadata',
};
const namespaces = ['erp-acme', 'erp-globex', 'erp-initech', 'payments', 'ledger'];
const kinds = [
  { kind: 'Deployment', group: 'apps', resource: 'deployments' },
  { kind: 'StatefulSet', group: 'apps', resource: 'statefulsets' },
  { kind: 'Service', group: '', resource: 'services' },
  { kind: 'CronJob', group: 'batch', resource: 'cronjobs' },
];
const users = [
  'system:serviceaccount:argocd:argocd-application-controller',
  'alice@corp.example',
  'bob@corp.example',
];

/** A small seeded PRNG (mulberry32), so a seed always yields the same log. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The bundles active over the month: the baseline, tightened on day 12. */
export const monthBundles: readonly [BundleIdentity, BundleIdentity] = [
  { name: 'finance-baseline', version: '1.0.0', digest: `sha256:${'a1'.repeat(32)}` },
  { name: 'finance-baseline', version: '1.1.0', digest: `sha256:${'b2'.repeat(32)}` },
] as const;

/** Writes the log; see the module comment. */
export function generateDecisionMonth(options: DecisionMonthOptions): DecisionMonth {
  mkdirSync(options.dir, { recursive: true });
  const next = random(options.seed ?? 17);
  const from = (options.from ?? new Date('2026-11-01T00:00:00Z')).getTime();
  const spanMs = (options.days ?? 30) * 86_400_000;
  const pods = options.pods ?? 3;
  const perWriter = Math.ceil(options.decisions / (pods + 1));
  const rotateEvery = options.rotateEvery ?? Math.max(1, Math.ceil(perWriter / 5));
  const files: string[] = [];
  const writers: string[] = [];
  let clockMs = from;
  const clock = () => new Date(clockMs);

  /** A writer and the file it appends to; rotation swaps the file under the same chain. */
  interface Open {
    name: string;
    writer: ChainWriter;
    fd: number;
    written: number;
    part: number;
  }
  const open = (name: string): Open => {
    const file = join(options.dir, `${name}.log.0`);
    files.push(file);
    const current = { name, fd: openSync(file, 'a'), written: 0, part: 0 } as Open;
    current.writer = new ChainWriter({
      writer: `${name}:1:${Math.floor(next() * 0xffffff)
        .toString(16)
        .padStart(6, '0')}`,
      sink: (line) => void writeSync(current.fd, line),
      clock,
      component: 'tollgate-webhook',
      intervalMs: 0,
      ...(options.key ? { key: options.key } : {}),
      ...(options.every ? { every: options.every } : {}),
      onClose: () => closeSync(current.fd),
    });
    writers.push(current.writer.writer);
    return current;
  };
  const rotate = (current: Open): void => {
    closeSync(current.fd);
    current.part++;
    const file = join(options.dir, `${current.name}.log.${current.part}`);
    files.push(file);
    current.fd = openSync(file, 'a');
  };

  const active: Open[] = [];
  for (let pod = 0; pod < pods; pod++) active.push(open(`tollgate-webhook-${pod}`));
  let restarted = false;
  let denials = 0;
  let breakGlass = 0;
  for (let i = 0; i < options.decisions; i++) {
    clockMs = from + Math.floor((spanMs * i) / options.decisions);
    if (!restarted && i >= options.decisions / 2) {
      restarted = true;
      const old = active[0] as Open;
      old.writer.close();
      active[0] = open(`tollgate-webhook-0-r1`);
    }
    const target = active[Math.floor(next() * active.length)] as Open;
    const line = decision(next, i, clockMs, from, options.bundles ?? monthBundles);
    if (line.decision === 'deny') denials++;
    if (line.policies.some((p) => p.breakGlass)) breakGlass++;
    target.writer.append({
      level: 30,
      time: new Date(clockMs).toISOString(),
      component: 'tollgate-webhook',
      ...line,
      msg: 'decision',
    });
    target.written++;
    if (target.written % rotateEvery === 0) rotate(target);
  }
  clockMs = from + spanMs;
  for (const current of active) current.writer.close();
  let ciDecisions = 0;
  let ciDenials = 0;
  const runs = options.ciRuns ?? 0;
  if (runs > 0) {
    const file = join(options.dir, 'ci.log');
    files.push(file);
    const fd = openSync(file, 'a');
    for (let run = 0; run < runs; run++) {
      clockMs = from + Math.floor((spanMs * (run + 0.5)) / runs);
      const writer = new ChainWriter({
        writer: `ci-runner-${run}:${run + 100}:${Math.floor(next() * 0xffffff)
          .toString(16)
          .padStart(6, '0')}`,
        sink: (line) => void writeSync(fd, line),
        clock,
        component: 'tollgate-check',
        intervalMs: 0,
        ...(options.key ? { key: options.key } : {}),
      });
      writers.push(writer.writer);
      const ci: CiContext = {
        provider: 'github',
        repository: 'acme/erp-platform',
        ref: `refs/pull/${100 + run}/merge`,
        commit: (run * 7919).toString(16).padStart(40, '0'),
        actor: run % 2 === 0 ? 'bob' : 'carol',
        workflow: 'policy',
        run: `${9000 + run}/1`,
      };
      const bundle = clockMs - from < 11 * 86_400_000 ? monthBundle(options, 0) : monthBundle(options, 1);
      let denied = 0;
      for (let manifest = 0; manifest < 3; manifest++) {
        const admission = decision(next, run * 3 + manifest, clockMs, from, options.bundles ?? monthBundles);
        const results = admission.policies.map((part): PolicyResult => ({
          policy: part.policy,
          version: part.version,
          status: part.status as PolicyResult['status'],
          action: part.action as PolicyResult['action'],
          findings: (part.fields ?? []).map((path) => ({
            path,
            message: 'finding',
            fix: 'fix it',
            policy: part.policy,
            action: part.action as PolicyResult['action'],
          })),
          ...(part.controls ? { controls: part.controls } : {}),
        }));
        if (admission.decision === 'deny') denied++;
        writer.append({
          ...objectDecisionLine({
            source: 'ci',
            object: {
              apiVersion: 'apps/v1',
              kind: admission.kind,
              namespace: admission.namespace ?? 'default',
              name: admission.name ?? 'app',
            },
            decision: admission.decision,
            results,
            bundle,
            file: `k8s/${admission.namespace}/app-${manifest}.yaml`,
            line: 1,
            ci,
          }),
        });
      }
      ciDecisions += 3;
      ciDenials += denied;
      writer.append({
        event: 'ci-run',
        source: 'ci',
        bundle: { ...bundle },
        resources: 3,
        denied,
        warned: 0,
        errors: 0,
        result: denied > 0 ? 'fail' : 'pass',
        ci,
      });
      writer.close();
    }
    closeSync(fd);
  }
  return { files, writers, decisions: options.decisions, denials, breakGlass, ciDecisions, ciDenials };
}

function monthBundle(options: DecisionMonthOptions, index: 0 | 1): BundleIdentity {
  return { ...(options.bundles ?? monthBundles)[index] };
}

function decision(
  next: () => number,
  i: number,
  timeMs: number,
  from: number,
  bundles: readonly [BundleIdentity, BundleIdentity],
): DecisionLine {
  const kind = kinds[Math.floor(next() * kinds.length)] as (typeof kinds)[number];
  const namespace = namespaces[Math.floor(next() * namespaces.length)] as string;
  const roll = next();
  const failing = roll < 0.04 ? Object.keys(policyControls)[Math.floor(next() * 5)] : undefined;
  const warning = roll >= 0.04 && roll < 0.07;
  const exempted = roll >= 0.07 && roll < 0.08;
  const glass = roll >= 0.08 && roll < 0.081;
  const bundle = timeMs - from < 11 * 86_400_000 ? bundles[0] : bundles[1];
  const policies: DecisionPolicy[] = Object.entries(policyControls).map(([policy, controls]) => {
    const part: DecisionPolicy = { policy, version: '1.0.0', status: 'pass', action: 'deny', controls };
    if (policy === failing) {
      part.status = 'fail';
      part.fields = [failPaths[policy] as string];
    } else if (warning && policy === 'signed-images') {
      part.status = 'warn';
      part.action = 'warn';
      part.fields = [failPaths[policy] as string];
    } else if (exempted && policy === 'resource-limits') {
      part.status = 'skip';
      part.exemption = 'CHG-4711';
    } else if (glass && policy === 'freeze-windows') {
      part.records = ['break-glass'];
      part.breakGlass = {
        ticket: `INC-${1000 + (i % 97)}`,
        requester: 'alice@corp.example',
        approvers: ['carol@corp.example', 'dave@corp.example'],
        reason: 'hotfix for the ledger export during close',
        expires: new Date(timeMs + 3_600_000).toISOString(),
        scope: { namespaces: [namespace], kinds: [kind.kind] },
        windows: ['month-end-close/de-gmbh'],
      };
    }
    return part;
  });
  return {
    event: 'decision',
    source: 'admission',
    uid: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    user: users[Math.floor(next() * users.length)] as string,
    resource: { group: kind.group, version: 'v1', resource: kind.resource },
    kind: kind.kind,
    namespace,
    name: `svc-${Math.floor(next() * 40)}`,
    operation: next() < 0.2 ? 'CREATE' : 'UPDATE',
    dryRun: false,
    decision: failing ? 'deny' : 'allow',
    policies,
    bundle: { ...bundle },
    durationMs: Math.round(next() * 5000) / 1000,
  };
}
