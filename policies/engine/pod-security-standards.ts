/**
 * The Pod Security Standards as Pod Security Admission (k8s.io/pod-security-admission) checks them:
 * levels baseline and restricted, each check versioned by the Kubernetes minor from which it applies,
 * restricted checks overriding the baseline checks they tighten, field semantics exactly as PSA's
 * (capability names, profile types and sysctl names compare exactly). Unlike PSA, which answers once
 * per pod, every offending field is reported with its path and the id of the PSA check it fails.
 *
 * One implementation for every policy: pod-security runs all checks at a level and version;
 * namespace-isolation runs the host checks ({@link hostCheckIds}) at baseline, latest.
 */
import { isExemptImage, isUnderHostPathPrefix, type HostAllowances } from './host-allowances.ts';
import { formatPath, type PathSegment } from './path.ts';
import type { KubeObject } from './types.ts';
import type { ContainerLocation, PodSpecLocation } from './workloads.ts';
import { containersOf, effectiveSecurityContext, getIn, isRecord, podSpecsOf } from './workloads.ts';

/** A Pod Security Standards level that restricts something (`privileged` restricts nothing). */
export type PssLevel = 'baseline' | 'restricted';

/** A PSA policy version: the minor N of `v1.N`, or `latest`. */
export type PssVersion = number | 'latest';

/** The newest Kubernetes minor whose checks this implementation knows (PSA v0.34); later versions use it. */
export const latestPssMinor = 34;

/** PSA's check ids. */
export type PssCheckId =
  | 'allowPrivilegeEscalation'
  | 'appArmorProfile'
  | 'capabilities_baseline'
  | 'capabilities_restricted'
  | 'hostNamespaces'
  | 'hostPathVolumes'
  | 'hostPorts'
  | 'hostProbesAndHostLifecycle'
  | 'privileged'
  | 'procMount'
  | 'restrictedVolumes'
  | 'runAsNonRoot'
  | 'runAsUser'
  | 'seLinuxOptions'
  | 'seccompProfile_baseline'
  | 'seccompProfile_restricted'
  | 'sysctls'
  | 'windowsHostProcess';

/** The checks that concern access to the node, shared with namespace-isolation. */
export const hostCheckIds: readonly PssCheckId[] = [
  'hostNamespaces',
  'hostPathVolumes',
  'hostPorts',
  'privileged',
  'capabilities_baseline',
  'windowsHostProcess',
  'hostProbesAndHostLifecycle',
];

/** Pod Security Standards baseline: the capabilities a container may add (compared exactly, as PSA does). */
export const baselineCapabilities: readonly string[] = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];

/** One offending field: the PSA check it fails, where, what and how to fix it. */
export interface PssViolation {
  readonly check: PssCheckId;
  readonly path: readonly PathSegment[];
  readonly message: string;
  readonly fix: string;
}

/** What a caller may relax: host allowances (bundle parameters) and the baseline capability list. */
export interface PssOptions {
  readonly allow?: HostAllowances;
  /** Capabilities capabilities_baseline lets containers add (default: {@link baselineCapabilities}). */
  readonly baselineCapabilities?: readonly string[];
}

/** A pod as the checks see it: metadata (annotations), spec and containers in PSA's visiting order. */
interface PodView {
  readonly spec: Record<string, unknown>;
  readonly specPath: readonly PathSegment[];
  readonly annotations: Readonly<Record<string, unknown>>;
  readonly annotationsPath: readonly PathSegment[];
  /** The pod-level securityContext (for an Argo template without one, the workflow's). */
  readonly securityContext: Record<string, unknown> | undefined;
  readonly securityContextPath: readonly PathSegment[];
  /** Containers judged (exempt images left out), init, regular, ephemeral. */
  readonly containers: readonly ContainerLocation[];
  /** Every container, exempt ones included (volume mounts of hostPath volumes). */
  readonly allContainers: readonly ContainerLocation[];
}

interface Ctx {
  readonly pod: PodView;
  readonly options: PssOptions;
}

type CheckFn = (ctx: Ctx) => PssViolation[];

interface VersionedCheck {
  readonly minimum: number;
  readonly check: CheckFn;
  readonly overrides?: readonly PssCheckId[];
}

interface CheckDefinition {
  readonly id: PssCheckId;
  readonly level: PssLevel;
  readonly versions: readonly VersionedCheck[];
}

function label(location: ContainerLocation): string {
  const kind =
    location.role ??
    (location.kind === 'container'
      ? 'container'
      : location.kind === 'initContainer'
        ? 'init container'
        : 'ephemeral container');
  return `${kind} ${JSON.stringify(typeof location.container.name === 'string' ? location.container.name : '?')}`;
}

function securityContextOf(location: ContainerLocation): Record<string, unknown> | undefined {
  return effectiveSecurityContext(location);
}

/** A field that Go would decode as set (present and not null). */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isWindowsPod(pod: PodView): boolean {
  return getIn(pod.spec, ['os', 'name']) === 'windows';
}

const hostNamespaces: CheckFn = ({ pod }) => {
  const what = { hostNetwork: 'network', hostPID: 'process', hostIPC: 'IPC' } as const;
  return (['hostNetwork', 'hostPID', 'hostIPC'] as const)
    .filter((field) => pod.spec[field] === true)
    .map((field) => ({
      check: 'hostNamespaces',
      path: [...pod.specPath, field],
      message: `${field}: true shares the node's ${what[field]} namespace with the pod`,
      fix: `remove ${field} (or set it to false)`,
    }));
};

const privileged: CheckFn = ({ pod }) =>
  pod.containers
    .filter((location) => securityContextOf(location)?.privileged === true)
    .map((location) => ({
      check: 'privileged',
      path: [...location.path, 'securityContext', 'privileged'],
      message: `${label(location)} is privileged (full access to the node)`,
      fix: 'remove securityContext.privileged (or set it to false)',
    }));

const capabilitiesBaseline: CheckFn = ({ pod, options }) => {
  const allowed = options.baselineCapabilities ?? baselineCapabilities;
  const out: PssViolation[] = [];
  for (const location of pod.containers)
    list(getIn(securityContextOf(location), ['capabilities', 'add'])).forEach((capability, index) => {
      if (typeof capability === 'string' && allowed.includes(capability)) return;
      out.push({
        check: 'capabilities_baseline',
        path: [...location.path, 'securityContext', 'capabilities', 'add', index],
        message: `${label(location)} adds capability ${JSON.stringify(capability)}, which is not in the allowed list (names compare exactly, as Pod Security Admission compares them)`,
        fix: `drop it; containers may add only: ${allowed.join(', ') || 'nothing'}`,
      });
    });
  return out;
};

const hostPathVolumes: CheckFn = ({ pod, options }) => {
  const out: PssViolation[] = [];
  list(pod.spec.volumes).forEach((volume, index) => {
    if (!isRecord(volume) || !isSet(volume.hostPath)) return;
    const problem = hostPathProblem(pod, volume, options.allow);
    if (problem === undefined) return;
    out.push({
      check: 'hostPathVolumes',
      path: [...pod.specPath, 'volumes', index, 'hostPath'],
      message: `volume ${JSON.stringify(stringOf(volume.name))} mounts the node's filesystem (hostPath ${JSON.stringify(stringOf(getIn(volume, ['hostPath', 'path'])))})${problem}`,
      fix:
        options.allow && options.allow.hostPaths.length > 0
          ? `use a path under ${options.allow.hostPaths.map((prefix) => `${prefix.pathPrefix}${prefix.readOnly ? ' (read-only)' : ''}`).join(', ')}, or a PersistentVolumeClaim, emptyDir, configMap or secret volume`
          : 'use a PersistentVolumeClaim, emptyDir, configMap or secret volume instead of hostPath',
    });
  });
  return out;
};

/**
 * Why a hostPath volume is not covered by the allowed prefixes ('' when none are configured), or
 * undefined when it is: the path under a prefix on `/` boundaries, and mounted read-only by every
 * container when the prefix requires it.
 */
function hostPathProblem(
  pod: PodView,
  volume: Record<string, unknown>,
  allow: HostAllowances | undefined,
): string | undefined {
  if (!allow || allow.hostPaths.length === 0) return '';
  const path = getIn(volume, ['hostPath', 'path']);
  if (typeof path !== 'string') return ', and its path is not a string';
  const prefixes = allow.hostPaths.filter((prefix) => isUnderHostPathPrefix(path, prefix.pathPrefix));
  if (prefixes.length === 0) return ', outside the allowed hostPath prefixes';
  if (prefixes.some((prefix) => !prefix.readOnly)) return undefined;
  const writable = pod.allContainers.filter((location) =>
    list(location.container.volumeMounts).some(
      (mount) => isRecord(mount) && mount.name === volume.name && mount.readOnly !== true,
    ),
  );
  if (writable.length === 0) return undefined;
  return `, which its prefix allows read-only, but ${writable.map(label).join(', ')} ${writable.length === 1 ? 'mounts' : 'mount'} it writable`;
}

const hostPorts: CheckFn = ({ pod, options }) => {
  const out: PssViolation[] = [];
  for (const location of pod.containers)
    list(location.container.ports).forEach((port, index) => {
      const hostPort = isRecord(port) ? port.hostPort : undefined;
      if (!isSet(hostPort) || hostPort === 0) return;
      const ranges = options.allow?.hostPorts ?? [];
      if (
        typeof hostPort === 'number' &&
        ranges.some((range) => hostPort >= range.min && hostPort <= range.max)
      )
        return;
      out.push({
        check: 'hostPorts',
        path: [...location.path, 'ports', index, 'hostPort'],
        message: `${label(location)} binds hostPort ${JSON.stringify(hostPort)} on the node${ranges.length > 0 ? ', outside the allowed ranges' : ''}`,
        fix:
          ranges.length > 0
            ? `use a hostPort in ${ranges.map((range) => (range.min === range.max ? `${range.min}` : `${range.min}-${range.max}`)).join(', ')}, or expose the port through a Service`
            : 'remove hostPort and expose the port through a Service',
      });
    });
  return out;
};

const windowsHostProcess: CheckFn = ({ pod }) => {
  const out: PssViolation[] = [];
  if (getIn(pod.securityContext, ['windowsOptions', 'hostProcess']) === true)
    out.push({
      check: 'windowsHostProcess',
      path: [...pod.securityContextPath, 'windowsOptions', 'hostProcess'],
      message: 'the pod runs as a Windows host process (windowsOptions.hostProcess: true)',
      fix: 'remove securityContext.windowsOptions.hostProcess',
    });
  for (const location of pod.containers)
    if (getIn(securityContextOf(location), ['windowsOptions', 'hostProcess']) === true)
      out.push({
        check: 'windowsHostProcess',
        path: [...location.path, 'securityContext', 'windowsOptions', 'hostProcess'],
        message: `${label(location)} runs as a Windows host process`,
        fix: 'remove securityContext.windowsOptions.hostProcess',
      });
  return out;
};

/** Probe and lifecycle handlers whose `httpGet`/`tcpSocket` may name a host. */
const probeHandlers: readonly (readonly string[])[] = [
  ['livenessProbe'],
  ['readinessProbe'],
  ['startupProbe'],
  ['lifecycle', 'postStart'],
  ['lifecycle', 'preStop'],
];

/** The handler actions that may name a host. */
const hostActions = ['httpGet', 'tcpSocket'] as const;

const hostProbesAndHostLifecycle: CheckFn = ({ pod }) => {
  const out: PssViolation[] = [];
  for (const location of pod.containers)
    for (const handler of probeHandlers) {
      // read the handler once (a path array per handler and action cost 8 KB per review)
      const found = getIn(location.container, handler);
      if (!isRecord(found)) continue;
      for (const action of hostActions) {
        const host = isRecord(found[action]) ? found[action].host : undefined;
        if (!isSet(host) || host === '') continue;
        // The kubelet dials the host from the node's network: a way to reach node-local and
        // cloud metadata addresses.
        out.push({
          check: 'hostProbesAndHostLifecycle',
          path: [...location.path, ...handler, action, 'host'],
          message: `${label(location)} ${handler.join('.')} ${action} dials host ${JSON.stringify(host)} from the node's network (the kubelet makes the connection)`,
          fix: `remove ${action}.host: the kubelet then probes the pod's own IP`,
        });
      }
    }
  return out;
};

const appArmorContainerAnnotation = 'container.apparmor.security.beta.kubernetes.io/';

const appArmorProfile: CheckFn = ({ pod }) => {
  const out: PssViolation[] = [];
  const allowedType = (type: unknown) => type === 'RuntimeDefault' || type === 'Localhost';
  const fix = 'set appArmorProfile.type to RuntimeDefault or Localhost, or leave it out';
  const profile = pod.securityContext?.appArmorProfile;
  if (isSet(profile) && !allowedType(getIn(profile, ['type'])))
    out.push({
      check: 'appArmorProfile',
      path: [...pod.securityContextPath, 'appArmorProfile', 'type'],
      message: `the pod sets AppArmor profile type ${JSON.stringify(stringOf(getIn(profile, ['type'])))}`,
      fix,
    });
  for (const location of pod.containers) {
    const own = securityContextOf(location)?.appArmorProfile;
    if (isSet(own) && !allowedType(getIn(own, ['type'])))
      out.push({
        check: 'appArmorProfile',
        path: [...location.path, 'securityContext', 'appArmorProfile', 'type'],
        message: `${label(location)} sets AppArmor profile type ${JSON.stringify(stringOf(getIn(own, ['type'])))}`,
        fix,
      });
  }
  for (const [key, value] of Object.entries(pod.annotations)) {
    if (!key.startsWith(appArmorContainerAnnotation)) continue;
    const profileName = stringOf(value);
    if (profileName === '' || profileName === 'runtime/default' || profileName.startsWith('localhost/'))
      continue;
    out.push({
      check: 'appArmorProfile',
      path: [...pod.annotationsPath, key],
      message: `annotation ${key}=${JSON.stringify(profileName)} sets a forbidden AppArmor profile`,
      fix: 'use runtime/default or localhost/<profile> (or the appArmorProfile field)',
    });
  }
  return out;
};

const procMount: CheckFn = ({ pod }) =>
  pod.containers
    .filter((location) => {
      const value = securityContextOf(location)?.procMount;
      return isSet(value) && value !== 'Default';
    })
    .map((location) => ({
      check: 'procMount',
      path: [...location.path, 'securityContext', 'procMount'],
      message: `${label(location)} sets procMount ${JSON.stringify(securityContextOf(location)?.procMount)} (unmasked /proc)`,
      fix: 'remove securityContext.procMount (or set it to Default)',
    }));

const seccompPodAnnotation = 'seccomp.security.alpha.kubernetes.io/pod';
const seccompContainerAnnotation = 'container.seccomp.security.alpha.kubernetes.io/';

/** seccompProfile_baseline before v1.19: the alpha annotations. */
const seccompBaselineAnnotations: CheckFn = ({ pod }) => {
  const valid = (value: string) =>
    value === 'runtime/default' || value === 'docker/default' || value.startsWith('localhost/');
  const keys: string[] = [];
  if (Object.hasOwn(pod.annotations, seccompPodAnnotation)) keys.push(seccompPodAnnotation);
  for (const location of pod.containers) {
    const key = seccompContainerAnnotation + stringOf(location.container.name);
    if (Object.hasOwn(pod.annotations, key) && !keys.includes(key)) keys.push(key);
  }
  return keys
    .filter((key) => !valid(stringOf(pod.annotations[key])))
    .map((key) => ({
      check: 'seccompProfile_baseline',
      path: [...pod.annotationsPath, key],
      message: `annotation ${key}=${JSON.stringify(stringOf(pod.annotations[key]))} sets a forbidden seccomp profile`,
      fix: 'use runtime/default or localhost/<profile> (or the seccompProfile field)',
    }));
};

const validSeccompType = (type: unknown) => type === 'RuntimeDefault' || type === 'Localhost';

/** seccompProfile_baseline from v1.19 and seccompProfile_restricted (`required`): the seccompProfile fields. */
function seccompFields(id: PssCheckId, required: boolean, windowsExempt: boolean): CheckFn {
  return ({ pod }) => {
    if (windowsExempt && isWindowsPod(pod)) return [];
    const out: PssViolation[] = [];
    const fix = 'set securityContext.seccompProfile.type to RuntimeDefault or Localhost';
    const podProfile = pod.securityContext?.seccompProfile;
    let podSet = false;
    if (isSet(podProfile)) {
      if (validSeccompType(getIn(podProfile, ['type']))) podSet = true;
      else
        out.push({
          check: id,
          path: [...pod.securityContextPath, 'seccompProfile', 'type'],
          message: `the pod sets seccomp profile type ${JSON.stringify(stringOf(getIn(podProfile, ['type'])))}`,
          fix,
        });
    }
    for (const location of pod.containers) {
      const own = securityContextOf(location)?.seccompProfile;
      if (isSet(own)) {
        if (!validSeccompType(getIn(own, ['type'])))
          out.push({
            check: id,
            path: [...location.path, 'securityContext', 'seccompProfile', 'type'],
            message: `${label(location)} sets seccomp profile type ${JSON.stringify(stringOf(getIn(own, ['type'])))}`,
            fix,
          });
      } else if (required && !podSet)
        out.push({
          check: id,
          path: [...location.path, 'securityContext', 'seccompProfile'],
          message: `${label(location)} runs without a seccomp profile: neither it nor the pod sets RuntimeDefault or Localhost`,
          fix: `${fix} on the pod or the container`,
        });
    }
    return out;
  };
}

function seLinuxOptions(allowedTypes: readonly string[]): CheckFn {
  return ({ pod }) => {
    const out: PssViolation[] = [];
    const judge = (options: unknown, path: readonly PathSegment[], who: string) => {
      if (!isSet(options)) return;
      const type = stringOf(getIn(options, ['type']));
      if (!allowedTypes.includes(type))
        out.push({
          check: 'seLinuxOptions',
          path: [...path, 'type'],
          message: `${who} sets SELinux type ${JSON.stringify(type)}`,
          fix: `leave seLinuxOptions.type out or use one of ${allowedTypes.filter(Boolean).join(', ')}`,
        });
      for (const field of ['user', 'role'] as const)
        if (stringOf(getIn(options, [field])) !== '')
          out.push({
            check: 'seLinuxOptions',
            path: [...path, field],
            message: `${who} sets SELinux ${field} ${JSON.stringify(stringOf(getIn(options, [field])))}; it may not be set`,
            fix: `remove seLinuxOptions.${field}`,
          });
    };
    judge(pod.securityContext?.seLinuxOptions, [...pod.securityContextPath, 'seLinuxOptions'], 'the pod');
    for (const location of pod.containers)
      judge(
        securityContextOf(location)?.seLinuxOptions,
        [...location.path, 'securityContext', 'seLinuxOptions'],
        label(location),
      );
    return out;
  };
}

function sysctls(allowed: readonly string[]): CheckFn {
  return ({ pod }) => {
    const out: PssViolation[] = [];
    list(pod.securityContext?.sysctls).forEach((sysctl, index) => {
      const name = stringOf(getIn(sysctl, ['name']));
      if (allowed.includes(name)) return;
      out.push({
        check: 'sysctls',
        path: [...pod.securityContextPath, 'sysctls', index, 'name'],
        message: `sysctl ${JSON.stringify(name)} is not one of the safe, namespaced sysctls`,
        fix: `remove it; pods may set only: ${allowed.join(', ')}`,
      });
    });
    return out;
  };
}

/** Inline volume sources the restricted level allows. */
const restrictedVolumeSources = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'image',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

const restrictedVolumes: CheckFn = ({ pod, options }) => {
  const out: PssViolation[] = [];
  list(pod.spec.volumes).forEach((volume, index) => {
    const record = isRecord(volume) ? volume : {};
    if (restrictedVolumeSources.some((source) => isSet(record[source]))) return;
    // A hostPath volume the bundle's hostPath prefixes allow is allowed here too (this check
    // replaces hostPathVolumes at the restricted level).
    if (isSet(record.hostPath) && hostPathProblem(pod, record, options.allow) === undefined) return;
    const type = Object.keys(record).find((key) => key !== 'name' && isSet(record[key]));
    // A volume without a source is an emptyDir: the API server defaults it before admission.
    if (type === undefined) return;
    out.push({
      check: 'restrictedVolumes',
      path: [...pod.specPath, 'volumes', index, type],
      message: `volume ${JSON.stringify(stringOf(record.name))} uses the restricted volume type ${JSON.stringify(type)}`,
      fix: `use one of: ${restrictedVolumeSources.join(', ')}`,
    });
  });
  return out;
};

function allowPrivilegeEscalation(windowsExempt: boolean): CheckFn {
  return ({ pod }) => {
    if (windowsExempt && isWindowsPod(pod)) return [];
    return pod.containers
      .filter((location) => securityContextOf(location)?.allowPrivilegeEscalation !== false)
      .map((location) => ({
        check: 'allowPrivilegeEscalation',
        path: [...location.path, 'securityContext', 'allowPrivilegeEscalation'],
        message: `${label(location)} does not set allowPrivilegeEscalation: false (setuid binaries can gain privileges)`,
        fix: 'set securityContext.allowPrivilegeEscalation: false',
      }));
  };
}

const runAsNonRoot: CheckFn = ({ pod }) => {
  const out: PssViolation[] = [];
  const podValue = pod.securityContext?.runAsNonRoot;
  if (isSet(podValue) && podValue !== true)
    out.push({
      check: 'runAsNonRoot',
      path: [...pod.securityContextPath, 'runAsNonRoot'],
      message: 'the pod sets runAsNonRoot: false',
      fix: 'set securityContext.runAsNonRoot: true',
    });
  for (const location of pod.containers) {
    const value = securityContextOf(location)?.runAsNonRoot;
    if (isSet(value) ? value !== true : podValue !== true)
      out.push({
        check: 'runAsNonRoot',
        path: [...location.path, 'securityContext', 'runAsNonRoot'],
        message: isSet(value)
          ? `${label(location)} sets runAsNonRoot: false`
          : `${label(location)} may run as root: neither it nor the pod sets runAsNonRoot: true`,
        fix: 'set securityContext.runAsNonRoot: true on the pod or the container',
      });
  }
  return out;
};

const runAsUser: CheckFn = ({ pod }) => {
  const out: PssViolation[] = [];
  if (pod.securityContext?.runAsUser === 0)
    out.push({
      check: 'runAsUser',
      path: [...pod.securityContextPath, 'runAsUser'],
      message: 'the pod sets runAsUser: 0 (root)',
      fix: 'set a non-zero runAsUser, or leave it out',
    });
  for (const location of pod.containers)
    if (securityContextOf(location)?.runAsUser === 0)
      out.push({
        check: 'runAsUser',
        path: [...location.path, 'securityContext', 'runAsUser'],
        message: `${label(location)} sets runAsUser: 0 (root)`,
        fix: 'set a non-zero runAsUser, or leave it out',
      });
  return out;
};

function capabilitiesRestricted(windowsExempt: boolean): CheckFn {
  return ({ pod }) => {
    if (windowsExempt && isWindowsPod(pod)) return [];
    const out: PssViolation[] = [];
    for (const location of pod.containers) {
      const capabilities = securityContextOf(location)?.capabilities;
      const drop = list(getIn(capabilities, ['drop']));
      if (!isSet(capabilities) || !drop.includes('ALL'))
        out.push({
          check: 'capabilities_restricted',
          path: [...location.path, 'securityContext', 'capabilities', 'drop'],
          message: `${label(location)} does not drop ALL capabilities`,
          fix: 'set securityContext.capabilities.drop: ["ALL"]',
        });
      list(getIn(capabilities, ['add'])).forEach((capability, index) => {
        if (capability === 'NET_BIND_SERVICE') return;
        out.push({
          check: 'capabilities_restricted',
          path: [...location.path, 'securityContext', 'capabilities', 'add', index],
          message: `${label(location)} adds capability ${JSON.stringify(capability)}; the restricted level allows only NET_BIND_SERVICE`,
          fix: 'remove it (only NET_BIND_SERVICE may be added)',
        });
      });
    }
    return out;
  };
}

const sysctls1_0 = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
];
const sysctls1_27 = [...sysctls1_0, 'net.ipv4.ip_local_reserved_ports'];
const sysctls1_29 = [
  ...sysctls1_27,
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];
const sysctls1_32 = [...sysctls1_29, 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem'];
const seLinuxTypes1_0 = ['', 'container_t', 'container_init_t', 'container_kvm_t'];

/** Every check with the versions at which its definition changes (PSA's registry, learned from its sources). */
const checks: readonly CheckDefinition[] = [
  {
    id: 'allowPrivilegeEscalation',
    level: 'restricted',
    versions: [
      { minimum: 8, check: allowPrivilegeEscalation(false) },
      { minimum: 25, check: allowPrivilegeEscalation(true) },
    ],
  },
  { id: 'appArmorProfile', level: 'baseline', versions: [{ minimum: 0, check: appArmorProfile }] },
  { id: 'capabilities_baseline', level: 'baseline', versions: [{ minimum: 0, check: capabilitiesBaseline }] },
  {
    id: 'capabilities_restricted',
    level: 'restricted',
    versions: [
      { minimum: 22, check: capabilitiesRestricted(false), overrides: ['capabilities_baseline'] },
      { minimum: 25, check: capabilitiesRestricted(true), overrides: ['capabilities_baseline'] },
    ],
  },
  { id: 'hostNamespaces', level: 'baseline', versions: [{ minimum: 0, check: hostNamespaces }] },
  { id: 'hostPathVolumes', level: 'baseline', versions: [{ minimum: 0, check: hostPathVolumes }] },
  { id: 'hostPorts', level: 'baseline', versions: [{ minimum: 0, check: hostPorts }] },
  {
    id: 'hostProbesAndHostLifecycle',
    level: 'baseline',
    versions: [{ minimum: 34, check: hostProbesAndHostLifecycle }],
  },
  { id: 'privileged', level: 'baseline', versions: [{ minimum: 0, check: privileged }] },
  { id: 'procMount', level: 'baseline', versions: [{ minimum: 0, check: procMount }] },
  {
    id: 'restrictedVolumes',
    level: 'restricted',
    versions: [{ minimum: 0, check: restrictedVolumes, overrides: ['hostPathVolumes'] }],
  },
  { id: 'runAsNonRoot', level: 'restricted', versions: [{ minimum: 0, check: runAsNonRoot }] },
  { id: 'runAsUser', level: 'restricted', versions: [{ minimum: 23, check: runAsUser }] },
  {
    id: 'seLinuxOptions',
    level: 'baseline',
    versions: [
      { minimum: 0, check: seLinuxOptions(seLinuxTypes1_0) },
      { minimum: 31, check: seLinuxOptions([...seLinuxTypes1_0, 'container_engine_t']) },
    ],
  },
  {
    id: 'seccompProfile_baseline',
    level: 'baseline',
    versions: [
      { minimum: 0, check: seccompBaselineAnnotations },
      { minimum: 19, check: seccompFields('seccompProfile_baseline', false, false) },
    ],
  },
  {
    id: 'seccompProfile_restricted',
    level: 'restricted',
    versions: [
      {
        minimum: 19,
        check: seccompFields('seccompProfile_restricted', true, false),
        overrides: ['seccompProfile_baseline'],
      },
      {
        minimum: 25,
        check: seccompFields('seccompProfile_restricted', true, true),
        overrides: ['seccompProfile_baseline'],
      },
    ],
  },
  {
    id: 'sysctls',
    level: 'baseline',
    versions: [
      { minimum: 0, check: sysctls(sysctls1_0) },
      { minimum: 27, check: sysctls(sysctls1_27) },
      { minimum: 29, check: sysctls(sysctls1_29) },
      { minimum: 32, check: sysctls(sysctls1_32) },
    ],
  },
  { id: 'windowsHostProcess', level: 'baseline', versions: [{ minimum: 0, check: windowsHostProcess }] },
];

/** The definition of a check in force at a minor version, if the check exists then. */
function versionAt(check: CheckDefinition, minor: number): VersionedCheck | undefined {
  let found: VersionedCheck | undefined;
  for (const version of check.versions) if (version.minimum <= minor) found = version;
  return found;
}

/** The minor a version stands for: `latest` and anything newer than this implementation is its newest. */
export function effectiveMinor(version: PssVersion): number {
  return version === 'latest' || version > latestPssMinor ? latestPssMinor : version;
}

/**
 * The checks a level runs at a version, baseline first then restricted (each sorted by id, as PSA
 * orders them); at restricted, a baseline check is replaced by the restricted check overriding it.
 */
export function checksAt(
  level: PssLevel,
  version: PssVersion,
): readonly { readonly id: PssCheckId; readonly check: CheckFn }[] {
  const minor = effectiveMinor(version);
  const key = `${level}:${minor}`;
  const cached = registry.get(key);
  if (cached) return cached;
  const built = buildChecksAt(level, minor);
  registry.set(key, built);
  return built;
}

/** The check lists built so far, by level and minor (at most 2 × 35). */
const registry = new Map<string, readonly { readonly id: PssCheckId; readonly check: CheckFn }[]>();

function buildChecksAt(
  level: PssLevel,
  minor: number,
): readonly { readonly id: PssCheckId; readonly check: CheckFn }[] {
  const active = (wanted: PssLevel) =>
    checks
      .filter((check) => check.level === wanted)
      .map((check) => ({ id: check.id, version: versionAt(check, minor) }))
      .filter((entry): entry is { id: PssCheckId; version: VersionedCheck } => entry.version !== undefined)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const restricted = level === 'restricted' ? active('restricted') : [];
  const overridden = new Set(restricted.flatMap((entry) => entry.version.overrides ?? []));
  return [...active('baseline').filter((entry) => !overridden.has(entry.id)), ...restricted].map((entry) => ({
    id: entry.id,
    check: entry.version.check,
  }));
}

/** Parses `latest` or `v1.N` as PSA does; undefined for anything else. */
export function parsePssVersion(value: string): PssVersion | undefined {
  if (value === 'latest') return 'latest';
  const match = /^v1\.(0|[1-9][0-9]*)$/.exec(value);
  if (!match) return undefined;
  const minor = Number(match[1]);
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** Formats a version as PSA writes it. */
export function formatPssVersion(version: PssVersion): string {
  return version === 'latest' ? 'latest' : `v1.${version}`;
}

function recordAt(value: unknown, path: readonly PathSegment[]): Record<string, unknown> | undefined {
  const found = getIn(value, path);
  return isRecord(found) ? found : undefined;
}

/** The pods of an object as the checks see them (metadata beside each pod spec, exempt images left out). */
function podViews(object: KubeObject, allow: HostAllowances | undefined): PodView[] {
  const pods = podSpecsOf(object);
  const containers = containersOf(object);
  const workflowLevel = pods.find((pod) => pod.slots !== undefined && pod.slots.length === 0);
  return pods.map((pod: PodSpecLocation) => {
    // A PodSpec's metadata sits beside it (Pod, PodTemplateSpec); an Argo template carries its own.
    const metadataPath: PathSegment[] =
      pod.slots === undefined ? [...pod.path.slice(0, -1), 'metadata'] : [...pod.path, 'metadata'];
    const annotationsPath = [...metadataPath, 'annotations'];
    const own = pod.containersOnly ? undefined : recordAt(pod.spec, ['securityContext']);
    const inherited = own === undefined && workflowLevel !== undefined && workflowLevel !== pod;
    // containersOf finds the pod specs anew: match them by path. A partial container (Tekton's
    // stepTemplate) is judged through the steps it is merged into.
    const at = formatPath(pod.path);
    const allContainers = containers.filter(
      (location) => formatPath(location.pod.path) === at && !location.partial,
    );
    return {
      // Only the containers of a StepAction or a run's overrides are judged, not their fields as a pod's.
      spec: pod.containersOnly ? {} : pod.spec,
      specPath: pod.path,
      annotations: recordAt(object, annotationsPath) ?? {},
      annotationsPath,
      securityContext: inherited ? recordAt(workflowLevel.spec, ['securityContext']) : own,
      securityContextPath: inherited
        ? [...workflowLevel.path, 'securityContext']
        : [...pod.path, 'securityContext'],
      containers: allow
        ? allContainers.filter((location) => !isExemptImage(allow, location.container.image))
        : allContainers,
      allContainers,
    };
  });
}

/** Runtime classes a pod runs with, for PSA's runtime-class exemption. */
export function runtimeClassOf(spec: Record<string, unknown>): string | undefined {
  return typeof spec.runtimeClassName === 'string' && spec.runtimeClassName !== ''
    ? spec.runtimeClassName
    : undefined;
}

/** What {@link podSecurityViolations} accepts besides the host allowances. */
export type PssRunOptions = PssOptions & {
  /** Only these checks (namespace-isolation: {@link hostCheckIds}). */
  readonly only?: readonly PssCheckId[];
  /** Leaves out pods (exempt runtime classes). */
  readonly skipPod?: (spec: Record<string, unknown>) => boolean;
};

/**
 * Every field of every pod in `object` that fails a check of `level` at `version`, in PSA's check
 * order.
 */
export function podSecurityViolations(
  object: KubeObject,
  level: PssLevel,
  version: PssVersion,
  options: PssRunOptions = {},
): PssViolation[] {
  return podSecurityViolationsAt(object, [{ level, version }], options)[0] ?? [];
}

/**
 * The violations at several levels and versions, one list per target, reading the object's pods
 * once (pod-security compares a namespace's level with the policy's own).
 */
export function podSecurityViolationsAt(
  object: KubeObject,
  targets: readonly { readonly level: PssLevel; readonly version: PssVersion }[],
  options: PssRunOptions = {},
): PssViolation[][] {
  const pods = podViews(object, options.allow).filter((pod) => !options.skipPod?.(pod.spec));
  return targets.map(({ level, version }) => {
    const active = checksAt(level, version).filter(
      (entry) => !options.only || options.only.includes(entry.id),
    );
    const out: PssViolation[] = [];
    for (const pod of pods)
      for (const entry of active)
        for (const violation of entry.check({ pod, options }))
          out.push(attributeToTemplate(violation, pod.allContainers));
    return dedupe(out);
  });
}

/**
 * A violation found on a step whose offending value its stepTemplate writes, reported where the
 * template writes it (steps that inherit it all point there).
 */
function attributeToTemplate(
  violation: PssViolation,
  containers: readonly ContainerLocation[],
): PssViolation {
  for (const location of containers) {
    const template = location.template;
    if (!template || violation.path.length <= location.path.length) continue;
    if (!location.path.every((segment, index) => violation.path[index] === segment)) continue;
    const relative = violation.path.slice(location.path.length);
    if (getIn(location.container, relative) !== undefined) return violation;
    if (getIn(template.container, relative) === undefined) return violation;
    return { ...violation, path: [...template.path, ...relative] };
  }
  return violation;
}

function dedupe(violations: readonly PssViolation[]): PssViolation[] {
  const seen = new Set<string>();
  return violations.filter((violation) => {
    const key = `${violation.check}\u0000${formatPath(violation.path)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
