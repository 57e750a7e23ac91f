/**
 * Cloud load-balancer facts for no-public-databases: whether a Service's annotations make its
 * load balancer internal the way each provider's controller reads them, and which source ranges
 * open it to the internet.
 */
import type { InternetWideRange, IpFamily } from '../engine/cidr.ts';
import { goTrimSpace, internetWideCidr, parseCidr } from '../engine/cidr.ts';

/** Cloud providers whose internal-load-balancer annotations the policy honours. */
export const loadBalancerProviderIds = ['azure', 'gke', 'aws'] as const;

/** One of {@link loadBalancerProviderIds}. */
export type LoadBalancerProvider = (typeof loadBalancerProviderIds)[number];

const azureInternal = 'service.beta.kubernetes.io/azure-load-balancer-internal';
const gkeType = 'networking.gke.io/load-balancer-type';
const gkeLegacyType = 'cloud.google.com/load-balancer-type';
const awsInternal = 'service.beta.kubernetes.io/aws-load-balancer-internal';
const awsScheme = 'service.beta.kubernetes.io/aws-load-balancer-scheme';

/** The annotation that carries source ranges when `spec.loadBalancerSourceRanges` is empty. */
export const sourceRangesAnnotation = 'service.beta.kubernetes.io/load-balancer-source-ranges';

/** The annotations that make a load balancer internal, per provider, for fix hints. */
export const internalAnnotationHints: Readonly<Record<LoadBalancerProvider, string>> = {
  azure: `${azureInternal}: "true"`,
  gke: `${gkeType}: "Internal"`,
  aws: `${awsScheme}: "internal"`,
};

/** Whether a load balancer is internal, and the annotation that says so or why not. */
export interface InternalVerdict {
  readonly internal: boolean;
  /** `annotation: value` that made it internal, or the contradicting one. */
  readonly evidence?: string;
}

// strconv.ParseBool, which the AWS Load Balancer Controller uses; the legacy in-tree provider
// treats every non-empty value but "false" as internal, so only values both agree on count.
const awsTrue = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const awsFalse = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

function annotation(annotations: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const value = annotations[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Reads the internal-load-balancer markers of the enabled providers exactly as their
 * controllers do: Azure requires the exact string `"true"`; GKE reads the first of
 * `networking.gke.io/load-balancer-type` and the legacy `cloud.google.com/load-balancer-type`
 * that is present and accepts `Internal` (and the deprecated `internal`); AWS accepts
 * `aws-load-balancer-internal` with a true boolean or `aws-load-balancer-scheme: internal`.
 * An explicit external marker of an enabled provider (Azure `"false"`, AWS `false` or
 * `internet-facing`) wins over any internal one: conflicting markers count as public.
 */
export function internalLoadBalancer(
  annotations: Readonly<Record<string, unknown>>,
  providers: ReadonlySet<LoadBalancerProvider>,
): InternalVerdict {
  const internal: string[] = [];
  const external: string[] = [];
  if (providers.has('azure')) {
    const value = annotation(annotations, azureInternal);
    if (value === 'true') internal.push(`${azureInternal}: "true"`);
    else if (value !== undefined) external.push(`${azureInternal}: ${JSON.stringify(value)}`);
  }
  if (providers.has('gke')) {
    const key = [gkeType, gkeLegacyType].find((k) => annotation(annotations, k) !== undefined);
    const value = key ? annotation(annotations, key) : undefined;
    if (key && (value === 'Internal' || value === 'internal')) internal.push(`${key}: "${value}"`);
    else if (key && value !== undefined) external.push(`${key}: ${JSON.stringify(value)}`);
  }
  if (providers.has('aws')) {
    const flag = annotation(annotations, awsInternal);
    if (flag !== undefined && awsTrue.has(flag)) internal.push(`${awsInternal}: "${flag}"`);
    else if (flag !== undefined && awsFalse.has(flag)) external.push(`${awsInternal}: "${flag}"`);
    const scheme = annotation(annotations, awsScheme);
    if (scheme === 'internal') internal.push(`${awsScheme}: "internal"`);
    else if (scheme !== undefined) external.push(`${awsScheme}: ${JSON.stringify(scheme)}`);
  }
  if (external.length > 0) return { internal: false, evidence: external.join(', ') };
  if (internal.length > 0) return { internal: true, evidence: internal.join(', ') };
  return { internal: false };
}

/**
 * A load-balancer source range that admits the internet, read as the API server, kube-proxy and
 * the cloud providers read it (Go's `strings.TrimSpace`, then the sloppy CIDR grammar).
 */
export function openSourceRange(range: string): InternetWideRange | undefined {
  return internetWideCidr(goTrimSpace(range));
}

const dualStackPolicies = new Set(['PreferDualStack', 'RequireDualStack']);

/**
 * The IP families of a LoadBalancer Service that its source ranges leave unfiltered: kube-proxy
 * keeps only the ranges of each family it programs, and a family without ranges is open to every
 * client. The Service's families are `spec.ipFamilies`, both for a dual-stack policy, else IPv4.
 */
export function unfilteredFamilies(
  spec: Readonly<Record<string, unknown>>,
  ranges: readonly unknown[],
): IpFamily[] {
  const listed = Array.isArray(spec.ipFamilies)
    ? spec.ipFamilies.filter((family): family is IpFamily => family === 'IPv4' || family === 'IPv6')
    : [];
  const families: IpFamily[] =
    listed.length > 0
      ? listed
      : typeof spec.ipFamilyPolicy === 'string' && dualStackPolicies.has(spec.ipFamilyPolicy)
        ? ['IPv4', 'IPv6']
        : ['IPv4'];
  const covered = new Set(
    ranges.map((range) => (typeof range === 'string' ? parseCidr(goTrimSpace(range))?.family : undefined)),
  );
  return [...new Set(families)].filter((family) => !covered.has(family));
}
