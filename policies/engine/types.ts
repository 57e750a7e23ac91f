/**
 * Core types of the tollgate policy engine. Everything here is plain data so that
 * the webhook and the CI gate can feed the same inputs and read the same reports.
 */
import type { BreakGlassConfig } from './break-glass.ts';
import type { ImageVerifier } from './image-verifier.ts';

/** A raw Kubernetes object as JSON (never a client-node model class). */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

/** The subset of ObjectMeta the engine reads. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** Admission operations as the API server names them. */
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/**
 * Where a verdict is enforced; a bundle may set a different action per point. `audit` judges live
 * objects in the cluster (`tollgate audit`); unset, it takes the admission action.
 */
export type EnforcementPoint = 'admission' | 'ci' | 'audit';

/** What happens when a policy finds a violation. */
export type EnforcementAction = 'deny' | 'warn' | 'audit' | 'off';

/** Outcome of one policy on one object (after Kyverno's result statuses). */
export type PolicyStatus = 'pass' | 'fail' | 'warn' | 'skip' | 'error';

/** The requesting identity, as in AdmissionReview `request.userInfo`. */
export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/**
 * One object to evaluate, shaped like an admission request. A bare manifest in CI
 * is wrapped as operation CREATE with no oldObject; a DELETE carries only oldObject.
 */
export interface AdmissionInput {
  operation: Operation;
  /** The new object (CREATE, UPDATE); absent for DELETE. */
  object?: KubeObject;
  /** The existing object (UPDATE, DELETE). */
  oldObject?: KubeObject;
  /** Namespace of the request (falls back to the object's metadata.namespace). */
  namespace?: string;
  /** Subresource such as `ephemeralcontainers` or `resize`. */
  subresource?: string;
  /** The resource the request addresses (for a subresource, its parent: `apps` `deployments` for deployments/scale). */
  resource?: RequestResource;
  userInfo?: UserInfo;
  dryRun?: boolean;
}

/** An API group and resource (plural) as an AdmissionRequest names them. */
export interface RequestResource {
  readonly group: string;
  readonly resource: string;
}

/** Looks up a namespace object (for its labels); the edge backs it with an informer cache or the input files. */
export type NamespaceLookup = (name: string) => KubeObject | undefined;

/**
 * The objects that already live in a namespace, as a trusted source holds them (CI: the ResourceQuotas
 * and LimitRanges of the namespace inventory; audit: the cluster's). The change's own objects are not
 * here: they are `relatedObjects`.
 */
export type NamespaceContents = (namespace: string) => readonly KubeObject[];

/** Typed services an edge injects (built by io/services.ts `createServices`). */
export interface PolicyServices {
  /** Image signature verification for signed-images; absent offline (images are unverifiable). */
  readonly imageVerifier?: ImageVerifier;
}

/**
 * Everything a policy may need from outside the object. The edges build it; policies never
 * reach for I/O or the clock themselves.
 */
export interface EngineContext {
  /** The evaluation instant (CI: `--now`, webhook: the request time or a test clock). */
  readonly now: Date;
  /** Which enforcement point is asking; selects the bundle's per-point action. */
  readonly point: EnforcementPoint;
  /** Namespace objects by name, for label-based decisions. */
  readonly namespaces?: NamespaceLookup;
  /**
   * Objects known to live in each namespace, from the same trusted source as `namespaces` (CI, audit).
   * Absent where the edge cannot know them (the webhook): a policy that needs them skips there.
   */
  readonly namespaceContents?: NamespaceContents;
  /**
   * Other objects submitted together (CI: every manifest of the run), used to resolve
   * references such as Service selectors to pod templates. The webhook passes none.
   */
  readonly relatedObjects?: readonly KubeObject[];
  /** Services injected by the edge for policies that need the outside world. */
  readonly services?: PolicyServices;
  /** Cancels slow look-ups when the edge's deadline passes. */
  readonly signal?: AbortSignal;
}

/** A violation as a policy reports it; the engine adds the policy id and the effective action. */
export interface FindingDraft {
  /** JSON path of the offending field on the object as written, e.g. `spec.template.spec.containers[1].image`. */
  path: string;
  /** What is wrong, naming the offending value. */
  message: string;
  /** How to fix it. */
  fix: string;
  /** A finding may lower (never raise) its policy's action, e.g. an unreachable registry configured as `warn`. */
  action?: EnforcementAction;
  /** Machine-readable extras (digests, window names, ticket ids); never secrets. */
  details?: Record<string, unknown>;
}

/** A violation in a report. */
export interface Finding extends FindingDraft {
  policy: string;
  action: EnforcementAction;
}

/** A policy signalling that it does not apply, and why. */
export interface Skip {
  readonly skip: string;
}

/** What a policy returns: its violations, or a reason it did not apply. */
export type PolicyOutcome = FindingDraft[] | Skip;

/** Extra facts a policy wants recorded with the decision (e.g. a break-glass approval used). */
export interface PolicyRecord {
  readonly kind: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** Per-evaluation tools handed to a policy. */
export interface PolicyTools {
  /** Records an auditable fact (exemption used, break-glass used) in the report. */
  record(entry: PolicyRecord): void;
}

/** A built-in or custom policy. `P` is its validated, defaulted, frozen parameter object. */
export interface Policy<P = unknown> {
  /** Stable id (used in bundles, reports, SARIF rule ids). */
  readonly id: string;
  /**
   * Semver of the policy's behaviour, shown in reports and the decision log so an auditor can tell
   * which revision of a policy decided. Bump the minor for new checks (a verdict may turn to deny),
   * the patch for fixes that only narrow false positives, the major for changed parameters.
   */
  readonly version: string;
  /** One-line description for reports and rule help. */
  readonly description: string;
  /** Longer help (markdown) for SARIF rule help and docs. */
  readonly help: string;
  /** JSON Schema of the bundle parameters (without `enforcement`, which the engine handles). */
  readonly paramsSchema: Record<string, unknown>;
  /**
   * Turns validated raw parameters into the frozen object the policy reads; throws ConfigError on
   * semantic errors. `bundle` carries what the bundle configures once for every policy.
   */
  compile(raw: Record<string, unknown>, bundle: BundleSettings): P;
  /** Evaluates one object. May be async (e.g. registry look-ups through the context). */
  evaluate(
    input: PolicyInput,
    params: P,
    context: EngineContext,
    tools: PolicyTools,
  ): PolicyOutcome | Promise<PolicyOutcome>;
  /** The API resources and operations this policy needs the webhook to see. */
  readonly admissionRules: readonly AdmissionRule[];
}

/** What a bundle configures once for all policies (`spec.breakGlass`), compiled before the policies. */
export interface BundleSettings {
  /** Break-glass approvers, honoured by every policy that lets an emergency change through. */
  readonly breakGlass?: BreakGlassConfig;
}

/** A webhook rule a policy needs, used to generate the chart's ValidatingWebhookConfiguration. */
export interface AdmissionRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly operations: readonly Operation[];
  /**
   * Which objects the rule covers (default `*`). A wildcard rule should say `Namespaced`: cluster-scoped
   * objects (nodes, CRDs, ClusterRoles) are not filtered by the webhook's namespaceSelector, so a
   * cluster-wide wildcard would block them all whenever the webhook is down.
   */
  readonly scope?: 'Cluster' | 'Namespaced' | '*';
}

/** The normalized input a policy sees. */
export interface PolicyInput {
  readonly operation: Operation;
  /** The object the verdict is about: `object`, or `oldObject` for DELETE. */
  readonly object: KubeObject;
  readonly oldObject?: KubeObject;
  /** Effective namespace (request namespace, else metadata.namespace). */
  readonly namespace?: string;
  readonly subresource?: string;
  /** The resource the request addresses (admission only; the parent resource of a subresource). */
  readonly resource?: RequestResource;
  readonly userInfo?: UserInfo;
  readonly dryRun: boolean;
}

/** Reference to the object a report is about. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
}

/** The result of one policy on one object. */
export interface PolicyResult {
  policy: string;
  /** The policy's {@link Policy.version} (a custom rule carries the rule language's version). */
  version: string;
  status: PolicyStatus;
  /** The configured action at this enforcement point. */
  action: EnforcementAction;
  /** Why the policy was skipped or errored. */
  reason?: string;
  findings: Finding[];
  /** Control references from the bundle (SOX ITGC, PCI DSS, DORA...). */
  controls?: string[];
  /** Exemption that applied (status is then `skip`). */
  exemption?: ExemptionRef;
  /** Exemptions that matched but had expired, so they no longer apply. */
  expiredExemptions?: ExemptionRef[];
  /** Auditable facts recorded by the policy. */
  records?: PolicyRecord[];
}

/** An exemption as it appears in a report. */
export interface ExemptionRef {
  ticket: string;
  reason: string;
  expires: string;
}

/** Identity of the bundle a report was made with. */
export interface BundleIdentity {
  name: string;
  version: string;
  /** `sha256:<hex>` of the bundle's exact bytes. */
  digest: string;
}

/** The verdict for one object. */
export type Decision = 'allow' | 'deny';

/** The engine's output for one object. */
export interface Report {
  object: ObjectRef;
  operation: Operation;
  point: EnforcementPoint;
  bundle: BundleIdentity;
  decision: Decision;
  results: PolicyResult[];
}
