/**
 * no-public-databases: no database (by port, image or `app.kubernetes.io/name`) may be reachable
 * from outside the cluster: NodePort, public LoadBalancer, open source ranges, externalIPs,
 * hostNetwork/hostPort, Ingress, Traefik IngressRoute(TCP/UDP), Gateway API routes, and the
 * CloudNativePG and Zalando operators' load-balancer settings.
 */
import { skipDelete } from '../engine/adjudicators.ts';
import type { InternetWideRange } from '../engine/cidr.ts';
import { describeWideRange, goTrimSpace, ipInNetworks } from '../engine/cidr.ts';
import { skip } from '../engine/evaluate.ts';
import type { PathSegment } from '../engine/path.ts';
import { formatPath } from '../engine/path.ts';
import { meshServiceOf } from '../engine/mesh-hosts.ts';
import type { EngineContext, FindingDraft, KubeObject, Policy, PolicyInput } from '../engine/types.ts';
import { containersOf, getIn, isRecord, podSpecsOf, workloadAdmissionRules } from '../engine/workloads.ts';
import {
  analyzeService,
  databaseImage,
  findServices,
  nameIsDatabase,
  podEvidence,
  portEvidence,
  relatedIndex,
} from './detect.ts';
import type { RelatedIndex } from './detect.ts';
import {
  internalAnnotationHints,
  internalLoadBalancer,
  openSourceRange,
  unfilteredFamilies,
  sourceRangesAnnotation,
} from './load-balancers.ts';
import { compileParams, paramsSchema, zalandoLoadBalancerFields } from './params.ts';
import type { NoPublicDatabasesParams } from './params.ts';

export type { NoPublicDatabasesParams } from './params.ts';

/** Everything an evaluation needs, built once per object. */
interface Scope {
  readonly params: NoPublicDatabasesParams;
  readonly index: RelatedIndex;
  readonly namespace: string | undefined;
}

function groupOf(object: KubeObject): string {
  const apiVersion = typeof object.apiVersion === 'string' ? object.apiVersion : '';
  const slash = apiVersion.indexOf('/');
  return slash >= 0 ? apiVersion.slice(0, slash) : '';
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.map((v: unknown) => (isRecord(v) ? v : {})) : [];
}

function lbFix(params: NoPublicDatabasesParams): string {
  const hints = [...params.loadBalancerProviders].map((p) => internalAnnotationHints[p]);
  return hints.length > 0
    ? `use type ClusterIP (applications reach the database inside the cluster), or keep the load balancer internal with the annotation ${hints.join(' or ')}`
    : 'use type ClusterIP (applications reach the database inside the cluster)';
}

/**
 * Exposure checks for a Service or a Service template (`{metadata, spec}` at `base`):
 * NodePort, LoadBalancer without an internal marker, open source ranges, externalIPs.
 */
function serviceFindings(
  scope: Scope,
  service: Record<string, unknown>,
  base: readonly PathSegment[],
  subject: string,
  forced?: string,
): FindingDraft[] {
  const analysis = analyzeService(scope.params, service, scope.namespace, scope.index, forced);
  if (analysis.summary === '') return [];
  const what = `${subject} fronts a database (${analysis.summary})`;
  const details = { evidence: analysis.summary, fromRelatedObjects: analysis.fromRelatedObjects };
  const spec = isRecord(service.spec) ? service.spec : {};
  const at = (...segments: PathSegment[]) => formatPath([...base, ...segments]);
  const findings: FindingDraft[] = [];
  if (spec.type === 'NodePort') {
    findings.push({
      path: at('spec', 'type'),
      message: `${what} and type NodePort opens it on every node's IP address`,
      fix: 'use type ClusterIP; applications reach the database inside the cluster',
      details,
    });
  }
  if (spec.type === 'LoadBalancer') {
    const annotations = getIn(service, ['metadata', 'annotations']);
    const verdict = internalLoadBalancer(
      isRecord(annotations) ? annotations : {},
      scope.params.loadBalancerProviders,
    );
    if (!verdict.internal) {
      const why = verdict.evidence
        ? `its annotation ${verdict.evidence} does not make the load balancer internal`
        : 'no internal-load-balancer annotation';
      findings.push({
        path: at('spec', 'type'),
        message: `${what} and type LoadBalancer gives it a public address (${why})`,
        fix: lbFix(scope.params),
        details,
      });
    }
    // An internal load balancer still reaches the database through a node port on every node unless
    // node ports are not allocated (allocateLoadBalancerNodePorts: false, default true); a port's
    // explicit nodePort is allocated even then.
    if (verdict.internal && spec.allocateLoadBalancerNodePorts !== false)
      findings.push({
        path: at(
          'spec',
          Object.hasOwn(spec, 'allocateLoadBalancerNodePorts') ? 'allocateLoadBalancerNodePorts' : 'type',
        ),
        message: `${what} and its internal load balancer still opens a node port on every node's IP address (allocateLoadBalancerNodePorts is ${Object.hasOwn(spec, 'allocateLoadBalancerNodePorts') ? JSON.stringify(spec.allocateLoadBalancerNodePorts) : 'unset, so true'})`,
        fix: 'set spec.allocateLoadBalancerNodePorts: false (load balancers that route to pod IPs need no node port)',
        details,
      });
    else if (verdict.internal && Array.isArray(spec.ports))
      (spec.ports as unknown[]).forEach((port, i) => {
        const nodePort = getIn(port, ['nodePort']);
        if (nodePort === undefined || nodePort === null || nodePort === 0) return;
        findings.push({
          path: at('spec', 'ports', i, 'nodePort'),
          message: `${what} and port ${i} asks for node port ${str(nodePort)}, which every node opens even with allocateLoadBalancerNodePorts: false`,
          fix: 'remove the nodePort',
          details,
        });
      });
    const ranges = Array.isArray(spec.loadBalancerSourceRanges)
      ? (spec.loadBalancerSourceRanges as unknown[])
      : [];
    ranges.forEach((range, i) => {
      const open = typeof range === 'string' ? openSourceRange(range) : undefined;
      if (open)
        findings.push(openRangeFinding(at('spec', 'loadBalancerSourceRanges', i), open, what, details));
    });
    const annotated = isRecord(annotations) ? annotations[sourceRangesAnnotation] : undefined;
    const annotationPath = at('metadata', 'annotations', sourceRangesAnnotation);
    if (ranges.length === 0 && typeof annotated === 'string')
      for (const range of annotated.split(',')) {
        const open = openSourceRange(range);
        if (open) findings.push(openRangeFinding(annotationPath, open, what, details));
      }
    const effective =
      ranges.length > 0
        ? { path: at('spec', 'loadBalancerSourceRanges'), ranges }
        : typeof annotated === 'string' && goTrimSpace(annotated) !== ''
          ? { path: annotationPath, ranges: annotated.split(',') }
          : undefined;
    if (effective)
      for (const family of unfilteredFamilies(spec, effective.ranges))
        findings.push({
          path: effective.path,
          message: `${what} and its load-balancer source ranges list no ${family} range: kube-proxy filters each IP family by the ranges of that family, so ${family} clients are not filtered at all`,
          fix: `add the allowed ${family} client networks, or set spec.ipFamilies to the families the Service really uses (a Service without spec.ipFamilies is taken as IPv4)`,
          details,
        });
  }
  if (Array.isArray(spec.externalIPs)) {
    (spec.externalIPs as unknown[]).forEach((ip, i) => {
      if (typeof ip === 'string' && ipInNetworks(ip, scope.params.internalExternalIPs)) return;
      findings.push({
        path: at('spec', 'externalIPs', i),
        message: `${what} and externalIPs entry ${str(ip)} makes every node accept its traffic for that address`,
        fix: `remove spec.externalIPs; keep the database Service ClusterIP${scope.params.internalExternalIPs.length > 0 ? ` (or use an address of internalExternalIPs: ${scope.params.internalExternalIPs.map((c) => c.text).join(', ')})` : ''}`,
        details,
      });
    });
  }
  return findings;
}

function openRangeFinding(
  path: string,
  range: InternetWideRange,
  what: string,
  details: Record<string, unknown>,
): FindingDraft {
  return {
    path,
    message: `${what} and load-balancer source range ${JSON.stringify(range.cidr.text)} admits the whole internet: ${describeWideRange(range)} (checked even for internal load balancers: an ignored annotation must not leave the database open)`,
    fix: 'list only the client networks that need the database (e.g. the VPN or application subnet CIDR)',
    details,
  };
}

/** hostNetwork and hostPort exposure of the database pods an object runs; `forced` names a pod known to be one. */
function podFindings(scope: Scope, object: KubeObject, forced?: string): FindingDraft[] {
  const { params } = scope;
  const findings: FindingDraft[] = [];
  const containers = containersOf(object);
  for (const pod of podSpecsOf(object)) {
    const evidence = podEvidence(params, object, pod);
    const own = containers.filter((c) => c.pod.spec === pod.spec);
    if (pod.spec.hostNetwork === true) {
      let why = evidence.label ?? evidence.images[0] ?? forced;
      if (!why) {
        for (const c of own)
          for (const port of records(c.container.ports)) {
            const product = portEvidence(params, port.containerPort);
            if (product && !why) why = `containerPort ${product}`;
          }
      }
      if (why)
        findings.push({
          path: formatPath([...pod.path, 'hostNetwork']),
          message: `hostNetwork: true puts a database (${why}) on the node's network, reachable at the node's IP`,
          fix: 'remove hostNetwork and expose the database through a ClusterIP Service',
        });
    }
    for (const c of own) {
      const image = databaseImage(params, c.container.image);
      records(c.container.ports).forEach((port, k) => {
        if (typeof port.hostPort !== 'number' || port.hostPort === 0) return;
        const why =
          (portEvidence(params, port.containerPort) &&
            `containerPort ${portEvidence(params, port.containerPort)}`) ||
          (portEvidence(params, port.hostPort) && `hostPort ${portEvidence(params, port.hostPort)}`) ||
          image ||
          evidence.label ||
          forced;
        if (!why) return;
        findings.push({
          path: formatPath([...c.path, 'ports', k, 'hostPort']),
          message: `hostPort ${port.hostPort} publishes a database (${why}) on the node's IP address`,
          fix: 'remove hostPort and expose the database through a ClusterIP Service',
        });
      });
    }
  }
  return findings;
}

/** A reference from a route or Ingress to a Service port. */
interface BackendRef {
  readonly name: unknown;
  readonly port: unknown;
  readonly namespace: string | undefined;
  readonly namePath: string;
  readonly portPath: string;
}

/** Checks one backend: own port number or name first, then the referenced Service if present. */
function backendFinding(scope: Scope, ref: BackendRef, via: string, fix: string): FindingDraft | undefined {
  const { params } = scope;
  const service = `Service ${str(ref.name)}`;
  const byNumber = portEvidence(params, ref.port);
  if (byNumber || nameIsDatabase(params, ref.port)) {
    const port = byNumber ?? `"${str(ref.port)}"`;
    return {
      path: ref.portPath,
      message: `${via} routes to database port ${port} of ${service}`,
      fix,
      details: { evidence: `port ${port}`, fromRelatedObjects: false },
    };
  }
  for (const object of findServices(scope.index, ref.name, ref.namespace)) {
    const analysis = analyzeService(params, object, object.metadata?.namespace ?? ref.namespace, scope.index);
    if (analysis.summary === '') continue;
    const ports = records(getIn(object, ['spec', 'ports']));
    const wanted = typeof ref.port === 'string' && /^\d{1,5}$/.test(ref.port) ? Number(ref.port) : ref.port;
    const hit = analysis.ports.find((p) => {
      const port = ports[p.index] ?? {};
      if (wanted === undefined) return true;
      return typeof wanted === 'number' ? port.port === wanted : port.name === wanted;
    });
    if (!hit) continue;
    const evidence = hit.evidence;
    return {
      path: ref.namePath,
      message: `${via} routes to ${service}, which fronts a database (${evidence})`,
      fix,
      details: { evidence, fromRelatedObjects: true },
    };
  }
  return undefined;
}

function ingressFindings(scope: Scope, object: KubeObject): FindingDraft[] | { skip: string } {
  const spec = isRecord(object.spec) ? object.spec : {};
  const classes = [
    spec.ingressClassName,
    object.metadata?.annotations?.['kubernetes.io/ingress.class'],
  ].filter((c): c is string => typeof c === 'string');
  if (classes.length > 0 && classes.every((c) => scope.params.internalIngressClasses.has(c)))
    return skip(`ingress class ${classes.join(', ')} is internal`);
  const fix =
    'remove this backend: databases are reached inside the cluster, not through an Ingress (or use an internal ingress class listed in internalIngressClasses)';
  const findings: FindingDraft[] = [];
  const check = (backend: unknown, base: PathSegment[], via: string) => {
    if (!isRecord(backend)) return;
    let ref: BackendRef | undefined;
    if (isRecord(backend.service)) {
      const port = isRecord(backend.service.port) ? backend.service.port : {};
      const key = port.number !== undefined ? 'number' : 'name';
      ref = {
        name: backend.service.name,
        port: port[key],
        namespace: scope.namespace,
        namePath: formatPath([...base, 'service', 'name']),
        portPath: formatPath([...base, 'service', 'port', key]),
      };
    } else if (backend.serviceName !== undefined) {
      ref = {
        name: backend.serviceName,
        port: backend.servicePort,
        namespace: scope.namespace,
        namePath: formatPath([...base, 'serviceName']),
        portPath: formatPath([...base, 'servicePort']),
      };
    }
    const finding = ref && backendFinding(scope, ref, via, fix);
    if (finding) findings.push(finding);
  };
  check(spec.defaultBackend, ['spec', 'defaultBackend'], 'the Ingress default backend');
  check(spec.backend, ['spec', 'backend'], 'the Ingress default backend');
  records(spec.rules).forEach((rule, i) => {
    const host = typeof rule.host === 'string' ? ` for host ${rule.host}` : '';
    records(getIn(rule, ['http', 'paths'])).forEach((p, j) => {
      check(
        p.backend,
        ['spec', 'rules', i, 'http', 'paths', j, 'backend'],
        `Ingress path ${str(p.path ?? '/')}${host}`,
      );
    });
  });
  return findings;
}

function traefikFindings(scope: Scope, object: KubeObject): FindingDraft[] | { skip: string } {
  const spec = isRecord(object.spec) ? object.spec : {};
  const entryPoints = Array.isArray(spec.entryPoints) ? spec.entryPoints.map(String) : [];
  if (entryPoints.length > 0 && entryPoints.every((e) => scope.params.internalEntryPoints.has(e)))
    return skip(`entry points ${entryPoints.join(', ')} are internal`);
  const on = entryPoints.length > 0 ? `entry points ${entryPoints.join(', ')}` : 'every default entry point';
  const fix =
    'remove this route: databases are reached inside the cluster; if a route is required, serve it only on an internal entry point listed in internalEntryPoints';
  const findings: FindingDraft[] = [];
  records(spec.routes).forEach((route, i) => {
    const match = typeof route.match === 'string' ? route.match : undefined;
    const anyClient = match !== undefined && /HostSNI\(\s*`\*`\s*\)/.test(match);
    const matching = anyClient ? ' for any client (HostSNI(`*`))' : match ? ` (${match})` : '';
    const via = `${object.kind} route ${i} on ${on}${matching}`;
    records(route.services).forEach((service, j) => {
      if (service.kind !== undefined && service.kind !== 'Service') return;
      const base: PathSegment[] = ['spec', 'routes', i, 'services', j];
      const finding = backendFinding(
        scope,
        {
          name: service.name,
          port: service.port,
          namespace: typeof service.namespace === 'string' ? service.namespace : scope.namespace,
          namePath: formatPath([...base, 'name']),
          portPath: formatPath([...base, 'port']),
        },
        via,
        fix,
      );
      if (finding) findings.push(finding);
    });
  });
  return findings;
}

/**
 * A TraefikService exists to be routed to by IngressRoutes: its weighted and mirroring backends are
 * as public as the routes that reach it (HTTP databases such as Elasticsearch 9200, CouchDB 5984,
 * ClickHouse 8123, InfluxDB 8086).
 */
function traefikServiceFindings(scope: Scope, object: KubeObject): FindingDraft[] {
  const spec = isRecord(object.spec) ? object.spec : {};
  const via = `TraefikService "${object.metadata?.name ?? '?'}" (reachable through every IngressRoute that routes to it)`;
  const fix = 'remove this backend: databases are reached inside the cluster, not through Traefik services';
  const findings: FindingDraft[] = [];
  const judge = (service: Record<string, unknown>, base: PathSegment[]) => {
    if (service.kind !== undefined && service.kind !== 'Service') return;
    const finding = backendFinding(
      scope,
      {
        name: service.name,
        port: service.port,
        namespace: typeof service.namespace === 'string' ? service.namespace : scope.namespace,
        namePath: formatPath([...base, 'name']),
        portPath: formatPath([...base, 'port']),
      },
      via,
      fix,
    );
    if (finding) findings.push(finding);
  };
  records(getIn(spec, ['weighted', 'services'])).forEach((service, i) =>
    judge(service, ['spec', 'weighted', 'services', i]),
  );
  const mirroring = getIn(spec, ['mirroring']);
  if (isRecord(mirroring)) {
    judge(mirroring, ['spec', 'mirroring']);
    records(mirroring.mirrors).forEach((mirror, i) => judge(mirror, ['spec', 'mirroring', 'mirrors', i]));
  }
  return findings;
}

/**
 * A Gateway API Gateway's listeners open ports on the gateway's load balancer; a listener on a
 * database port publishes whatever TCPRoute or TLSRoute attaches to it, unless the Gateway is
 * listed in internalGateways.
 */
function gatewayListenerFindings(scope: Scope, object: KubeObject): FindingDraft[] | { skip: string } {
  const name = object.metadata?.name ?? '?';
  const internal = scope.params.internalGateways;
  if (internal.has(`${scope.namespace ?? ''}/${name}`) || internal.has(name))
    return skip(`Gateway ${name} is internal (internalGateways)`);
  const findings: FindingDraft[] = [];
  records(getIn(object, ['spec', 'listeners'])).forEach((listener, i) => {
    const product = portEvidence(scope.params, listener.port);
    if (!product) return;
    findings.push({
      path: formatPath(['spec', 'listeners', i, 'port']),
      message: `Gateway "${name}" listener ${str(listener.name ?? i)} opens database port ${product} on the gateway's address`,
      fix: 'remove this listener, or list the Gateway in internalGateways if it is reachable only from internal networks',
      details: { evidence: `port ${product}`, fromRelatedObjects: false },
    });
  });
  return findings;
}

/**
 * An Istio Gateway's servers open ports on the mesh's gateway pods (the ingress gateway faces the
 * internet): a server on a database port publishes that database to whoever reaches the gateway.
 */
function istioGatewayFindings(scope: Scope, object: KubeObject): FindingDraft[] {
  const findings: FindingDraft[] = [];
  records(getIn(object, ['spec', 'servers'])).forEach((server, i) => {
    const port = getIn(server, ['port', 'number']);
    const product = portEvidence(scope.params, port);
    if (!product) return;
    findings.push({
      path: formatPath(['spec', 'servers', i, 'port', 'number']),
      message: `Istio Gateway "${object.metadata?.name ?? '?'}" server ${i} opens database port ${product} on the gateway pods it selects, which face clients outside the cluster`,
      fix: 'remove this server: databases are reached inside the mesh, not through the ingress gateway',
      details: { evidence: `port ${product}`, fromRelatedObjects: false },
    });
  });
  return findings;
}

/**
 * An Istio VirtualService bound to a gateway (`spec.gateways` naming anything but `mesh`) publishes
 * its routes on that gateway: a tcp, tls or http route (or mirror) whose destination is a database
 * Service or port is as public as the gateway, whatever port the gateway listens on. A VirtualService
 * without gateways applies to sidecars only (`mesh`), inside the cluster.
 */
function istioVirtualServiceFindings(scope: Scope, object: KubeObject): FindingDraft[] | { skip: string } {
  const spec = isRecord(object.spec) ? object.spec : {};
  const internal = scope.params.internalGateways;
  const gateways = (Array.isArray(spec.gateways) ? spec.gateways : []).map((gateway: unknown) => {
    const name = str(gateway);
    return name.includes('/') ? name : `${scope.namespace ?? ''}/${name}`;
  });
  const exposed = gateways.filter(
    (qualified) =>
      qualified !== `${scope.namespace ?? ''}/mesh` &&
      !internal.has(qualified) &&
      !internal.has(qualified.slice(qualified.indexOf('/') + 1)),
  );
  if (exposed.length === 0)
    return skip(
      gateways.length === 0
        ? 'VirtualService without gateways applies inside the mesh only'
        : `gateways ${gateways.join(', ')} are the mesh or internal gateways`,
    );
  const fix =
    'remove this route from the gateway-bound VirtualService: databases are reached inside the mesh; if a route is required, bind it only to an internal gateway listed in internalGateways';
  const findings: FindingDraft[] = [];
  const judge = (destination: unknown, base: PathSegment[], via: string) => {
    if (!isRecord(destination) || typeof destination.host !== 'string') return;
    const service = meshServiceOf(destination.host, scope.namespace);
    const port = getIn(destination, ['port', 'number']);
    const finding = backendFinding(
      scope,
      {
        name: service?.name ?? destination.host,
        port,
        namespace: service?.namespace ?? scope.namespace,
        namePath: formatPath([...base, 'host']),
        portPath: formatPath([...base, 'port', 'number']),
      },
      via,
      fix,
    );
    // An external host is no Service of the cluster: only its port can tell.
    if (finding && (service !== undefined || finding.details?.fromRelatedObjects === false))
      findings.push(finding);
  };
  for (const protocol of ['tcp', 'tls', 'http'] as const)
    records(spec[protocol]).forEach((route, i) => {
      const via = `VirtualService ${protocol} route ${i} on gateway ${exposed.join(', ')}`;
      records(route.route).forEach((target, j) =>
        judge(target.destination, ['spec', protocol, i, 'route', j, 'destination'], via),
      );
      judge(route.mirror, ['spec', protocol, i, 'mirror'], `${via} (mirror)`);
      records(route.mirrors).forEach((mirror, j) =>
        judge(mirror.destination, ['spec', protocol, i, 'mirrors', j, 'destination'], `${via} (mirror)`),
      );
    });
  return findings;
}

/**
 * An Istio EnvoyFilter that adds a listener (`applyTo: LISTENER`, `operation: ADD`) opens a port
 * on the proxies it selects (on an ingress gateway, to clients outside the cluster) with a
 * configuration tollgate cannot follow: denied on a database port, flagged as a warning otherwise.
 * Outbound sidecar listeners (context SIDECAR_OUTBOUND) publish nothing.
 */
function envoyFilterFindings(scope: Scope, object: KubeObject): FindingDraft[] {
  const findings: FindingDraft[] = [];
  records(getIn(object, ['spec', 'configPatches'])).forEach((patch, i) => {
    if (patch.applyTo !== 'LISTENER' || getIn(patch, ['patch', 'operation']) !== 'ADD') return;
    const context = getIn(patch, ['match', 'context']) ?? 'ANY';
    if (context === 'SIDECAR_OUTBOUND') return;
    const where =
      context === 'GATEWAY'
        ? 'on the gateways it selects, which face clients outside the cluster'
        : context === 'SIDECAR_INBOUND'
          ? 'on the sidecars it selects, reachable on the pod addresses'
          : 'on every proxy it selects, gateways included';
    const port = getIn(patch, ['patch', 'value', 'address', 'socket_address', 'port_value']);
    const product = portEvidence(scope.params, port);
    const name = object.metadata?.name ?? '?';
    if (product)
      findings.push({
        path: formatPath([
          'spec',
          'configPatches',
          i,
          'patch',
          'value',
          'address',
          'socket_address',
          'port_value',
        ]),
        message: `EnvoyFilter "${name}" adds a listener on database port ${product} ${where}`,
        fix: 'remove this patch: databases are reached inside the mesh, never through a listener added to a proxy',
        details: { evidence: `port ${product}`, fromRelatedObjects: false },
      });
    else
      findings.push({
        path: formatPath(['spec', 'configPatches', i]),
        message: `EnvoyFilter "${name}" adds a listener${port === undefined ? '' : ` on port ${str(port)}`} ${where}; what it forwards to cannot be judged, and it may publish a database`,
        fix: 'publish ports through an Istio Gateway and VirtualService (which tollgate judges) instead of an EnvoyFilter listener; if the listener must stay, have the platform team review it',
        action: 'warn',
      });
  });
  return findings;
}

function gatewayRouteFindings(scope: Scope, object: KubeObject): FindingDraft[] | { skip: string } {
  const spec = isRecord(object.spec) ? object.spec : {};
  const parents = records(spec.parentRefs).map((p) => {
    const ns = typeof p.namespace === 'string' ? p.namespace : scope.namespace;
    // A Service parent (GAMMA service mesh) routes traffic inside the mesh, not from outside.
    const mesh = p.kind === 'Service' && (p.group === undefined || p.group === '');
    return { name: str(p.name), qualified: `${ns ?? ''}/${str(p.name)}`, mesh };
  });
  const internal = scope.params.internalGateways;
  if (parents.length > 0 && parents.every((p) => p.mesh || internal.has(p.qualified) || internal.has(p.name)))
    return skip(
      `parents ${parents.map((p) => p.qualified).join(', ')} are internal gateways or mesh Services`,
    );
  const fix =
    'remove this backendRef: databases are reached inside the cluster; if a route is required, attach it only to an internal Gateway listed in internalGateways';
  const findings: FindingDraft[] = [];
  records(spec.rules).forEach((rule, i) => {
    records(rule.backendRefs).forEach((backend, j) => {
      const group = backend.group ?? '';
      const kind = backend.kind ?? 'Service';
      if (group !== '' || kind !== 'Service') return;
      const base: PathSegment[] = ['spec', 'rules', i, 'backendRefs', j];
      const finding = backendFinding(
        scope,
        {
          name: backend.name,
          port: backend.port,
          namespace: typeof backend.namespace === 'string' ? backend.namespace : scope.namespace,
          namePath: formatPath([...base, 'name']),
          portPath: formatPath([...base, 'port']),
        },
        `${object.kind} rule ${i}`,
        fix,
      );
      if (finding) findings.push(finding);
    });
  });
  return findings;
}

function cnpgFindings(scope: Scope, object: KubeObject): FindingDraft[] {
  const name = object.metadata?.name ?? '?';
  if (object.kind === 'Pooler') {
    const template = getIn(object, ['spec', 'serviceTemplate']);
    if (!isRecord(template)) return [];
    return serviceFindings(
      scope,
      template,
      ['spec', 'serviceTemplate'],
      `the service template of CloudNativePG Pooler "${name}"`,
      'PgBouncer pooler of CloudNativePG',
    );
  }
  const findings: FindingDraft[] = [];
  records(getIn(object, ['spec', 'managed', 'services', 'additional'])).forEach((additional, i) => {
    const template = additional.serviceTemplate;
    if (!isRecord(template)) return;
    const service = str(getIn(template, ['metadata', 'name']) ?? i);
    findings.push(
      ...serviceFindings(
        scope,
        template,
        ['spec', 'managed', 'services', 'additional', i, 'serviceTemplate'],
        `additional service ${service} of CloudNativePG Cluster "${name}"`,
        'PostgreSQL managed by CloudNativePG',
      ),
    );
  });
  return findings;
}

function zalandoFindings(scope: Scope, object: KubeObject): FindingDraft[] {
  const spec = isRecord(object.spec) ? object.spec : {};
  const name = object.metadata?.name ?? '?';
  const annotationsOf = (...fields: string[]) =>
    Object.assign({}, ...fields.map((f) => (isRecord(spec[f]) ? spec[f] : {}))) as Record<string, unknown>;
  const findings: FindingDraft[] = [];
  let anyEnabled = false;
  for (const field of zalandoLoadBalancerFields) {
    const value = spec[field];
    const enabled =
      value === true || (value === undefined && scope.params.zalandoLoadBalancerDefaults.has(field));
    if (!enabled) continue;
    anyEnabled = true;
    const role = field.includes('Replica') ? 'replicaServiceAnnotations' : 'masterServiceAnnotations';
    const verdict = internalLoadBalancer(
      annotationsOf('serviceAnnotations', role),
      scope.params.loadBalancerProviders,
    );
    if (verdict.internal) continue;
    const source = value === undefined ? ' (the operator enables it by default)' : '';
    findings.push({
      path: formatPath(['spec', field]),
      message: `Zalando postgresql "${name}" ${value === undefined ? 'leaves out' : 'sets'} ${field}${value === undefined ? '' : ': true'}${source}: the operator creates a public LoadBalancer for PostgreSQL`,
      fix:
        value === undefined
          ? `set ${field}: false`
          : `set ${field}: false, or make it internal with spec.serviceAnnotations ${[...scope.params.loadBalancerProviders].map((p) => internalAnnotationHints[p]).join(' or ')}`,
      details: { evidence: 'PostgreSQL managed by the Zalando operator', fromRelatedObjects: false },
    });
  }
  if (anyEnabled) {
    (Array.isArray(spec.allowedSourceRanges) ? (spec.allowedSourceRanges as unknown[]) : []).forEach(
      (range, i) => {
        const open = typeof range === 'string' ? openSourceRange(range) : undefined;
        if (open)
          findings.push(
            openRangeFinding(
              formatPath(['spec', 'allowedSourceRanges', i]),
              open,
              `Zalando postgresql "${name}" fronts a database (PostgreSQL managed by the Zalando operator)`,
              {},
            ),
          );
      },
    );
  }
  return findings;
}

/**
 * ingress-nginx exposes raw TCP/UDP through a ConfigMap (`--tcp-services-configmap`): each entry
 * `"<public port>": "<namespace>/<service>:<port>[:PROXY[:PROXY]]"` opens the public port on the
 * controller. Recognised by the conventional names `tcp-services`/`udp-services` and the Helm
 * chart's `<release>-tcp`/`-udp` ConfigMaps labelled `app.kubernetes.io/name: ingress-nginx`.
 */
function nginxStreamFindings(scope: Scope, object: KubeObject): FindingDraft[] | { skip: string } {
  const name = object.metadata?.name ?? '';
  const chart = object.metadata?.labels?.['app.kubernetes.io/name'] === 'ingress-nginx';
  if (!(name === 'tcp-services' || name === 'udp-services' || (chart && /-(tcp|udp)$/.test(name))))
    return skip('ConfigMap is not an ingress-nginx TCP/UDP services map');
  const data = isRecord(object.data) ? object.data : {};
  const fix =
    'remove this entry: databases are reached inside the cluster, not through the ingress controller';
  const findings: FindingDraft[] = [];
  for (const [key, value] of Object.entries(data)) {
    const path = formatPath(['data', key]);
    const match = typeof value === 'string' ? /^([^/\s]+)\/([^:\s]+):([^:\s]+)/.exec(value.trim()) : null;
    const via = `ingress-nginx ${name} entry ${key} (public port ${key})`;
    const finding = match
      ? backendFinding(
          scope,
          { name: match[2], port: match[3], namespace: match[1], namePath: path, portPath: path },
          via,
          fix,
        )
      : undefined;
    if (finding) findings.push(finding);
    else if (portEvidence(scope.params, key))
      findings.push({
        path,
        message: `${via} publishes database port ${portEvidence(scope.params, key)} on the ingress controller`,
        fix,
        details: { evidence: `port ${portEvidence(scope.params, key)}`, fromRelatedObjects: false },
      });
  }
  return findings;
}

const traefikGroups = new Set(['traefik.io', 'traefik.containo.us']);
const traefikKinds = new Set(['IngressRoute', 'IngressRouteTCP', 'IngressRouteUDP']);
const gatewayKinds = new Set(['HTTPRoute', 'GRPCRoute', 'TCPRoute', 'TLSRoute', 'UDPRoute']);
const ingressGroups = new Set(['networking.k8s.io', 'extensions']);

function evaluateObject(input: PolicyInput, params: NoPublicDatabasesParams, context: EngineContext) {
  const object = input.object;
  const scope: Scope = {
    params,
    index: relatedIndex(params, context.relatedObjects),
    namespace: input.namespace,
  };
  const group = groupOf(object);
  const kind = object.kind ?? '';
  if (kind === 'Service' && group === '')
    return serviceFindings(scope, object, [], `Service "${object.metadata?.name ?? '?'}"`);
  if (kind === 'Ingress' && ingressGroups.has(group)) return ingressFindings(scope, object);
  if (kind === 'ConfigMap' && group === '') return nginxStreamFindings(scope, object);
  if (traefikKinds.has(kind) && traefikGroups.has(group)) return traefikFindings(scope, object);
  if (kind === 'TraefikService' && traefikGroups.has(group)) return traefikServiceFindings(scope, object);
  if (kind === 'Gateway' && group === 'networking.istio.io') return istioGatewayFindings(scope, object);
  if (kind === 'VirtualService' && group === 'networking.istio.io')
    return istioVirtualServiceFindings(scope, object);
  if (kind === 'EnvoyFilter' && group === 'networking.istio.io') return envoyFilterFindings(scope, object);
  if (kind === 'Gateway' && group === 'gateway.networking.k8s.io')
    return gatewayListenerFindings(scope, object);
  if (gatewayKinds.has(kind) && group === 'gateway.networking.k8s.io')
    return gatewayRouteFindings(scope, object);
  if (kind === 'Cluster' && group === 'postgresql.cnpg.io') return cnpgFindings(scope, object);
  // A Pooler's pod template runs PgBouncer, which serves PostgreSQL's protocol.
  if (kind === 'Pooler' && group === 'postgresql.cnpg.io')
    return [
      ...cnpgFindings(scope, object),
      ...podFindings(scope, object, 'PgBouncer pooler of CloudNativePG'),
    ];
  if (kind === 'postgresql' && group === 'acid.zalan.do') return zalandoFindings(scope, object);
  if (podSpecsOf(object).length > 0) return podFindings(scope, object);
  return skip(`${kind || 'object'} cannot expose a database`);
}

/** The no-public-databases policy. */
export const noPublicDatabasesPolicy: Policy<NoPublicDatabasesParams> = {
  id: 'no-public-databases',
  version: '1.3.0',
  description: 'Databases must not be reachable from outside the cluster.',
  help:
    'A database is recognised by port (PostgreSQL 5432, Redis 6379, MySQL 3306, MongoDB 27017, ...), by ' +
    'normalized image (postgres, bitnami/postgresql, ghcr.io/cloudnative-pg/postgresql, ...) or by the ' +
    '`app.kubernetes.io/name` label; Service selectors and named target ports are resolved against pod templates ' +
    "submitted together. Denied exposures: Service type NodePort, type LoadBalancer without the provider's " +
    'internal annotation or with node ports (allocateLoadBalancerNodePorts not false, or an explicit nodePort), load-balancer source ranges open to the internet, externalIPs, hostNetwork and hostPort, ' +
    'Ingress backends, ingress-nginx TCP/UDP services maps, Traefik IngressRoute/IngressRouteTCP/IngressRouteUDP ' +
    'and the weighted and mirroring backends of a TraefikService, Istio Gateway servers and Gateway API listeners ' +
    '(outside internalGateways) on a database port, Istio VirtualServices bound to a gateway other than `mesh` ' +
    '(outside internalGateways) with a tcp, tls or http route or mirror to a database Service or port, Istio ' +
    'EnvoyFilters adding a listener on a database port (any other added listener is a warning), ' +
    'and Gateway API routes to a database, ' +
    'CloudNativePG additional services and Pooler templates of type LoadBalancer/NodePort, and Zalando ' +
    'postgresql load balancers.',
  paramsSchema,
  admissionRules: [
    ...workloadAdmissionRules(['services', 'configmaps']),
    {
      apiGroups: ['networking.k8s.io', 'extensions'],
      resources: ['ingresses'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['traefik.io', 'traefik.containo.us'],
      resources: ['ingressroutes', 'ingressroutetcps', 'ingressrouteudps', 'traefikservices'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['networking.istio.io'],
      resources: ['gateways', 'virtualservices', 'envoyfilters'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['gateway.networking.k8s.io'],
      resources: ['httproutes', 'grpcroutes', 'tcproutes', 'tlsroutes', 'udproutes', 'gateways'],
      operations: ['CREATE', 'UPDATE'],
    },
    {
      apiGroups: ['postgresql.cnpg.io'],
      resources: ['clusters', 'poolers'],
      operations: ['CREATE', 'UPDATE'],
    },
    { apiGroups: ['acid.zalan.do'], resources: ['postgresqls'], operations: ['CREATE', 'UPDATE'] },
  ],
  compile: compileParams,
  evaluate(input, params, context) {
    const reason = skipDelete(input);
    if (reason) return skip(reason);
    return evaluateObject(input, params, context);
  },
};
