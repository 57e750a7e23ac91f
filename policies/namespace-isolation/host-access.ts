/**
 * Host access for namespace-isolation (Pod Security baseline): host namespaces, hostPath volumes,
 * hostPort, privileged containers, added capabilities and Windows host processes.
 */
import { formatPath } from '../engine/path.ts';
import { containersOf, getIn, malformedWorkloadFields, podSpecsOf } from '../engine/workloads.ts';
import { normalizeCapability } from './params.ts';
import type { Scope } from './tenancy.ts';
import { forEachItem } from './tenancy.ts';

/** Probe and lifecycle handlers whose `httpGet`/`tcpSocket` may name a host. */
const probeHandlers: readonly (readonly string[])[] = [
  ['livenessProbe'],
  ['readinessProbe'],
  ['startupProbe'],
  ['lifecycle', 'postStart'],
  ['lifecycle', 'preStop'],
];

/** Reports host access in every pod spec and container of the object. */
export function checkHostAccess(scope: Scope): void {
  const { findings, params } = scope;
  for (const { path, message } of malformedWorkloadFields(scope.object))
    findings.push({
      path,
      message: `${message}, so host access (privileged, hostPath, hostPort, capabilities) cannot be checked`,
      fix: 'write the field as Kubernetes expects it (a pod spec map with lists of container and volume maps)',
    });
  for (const pod of podSpecsOf(scope.object)) {
    for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
      if (pod.spec[field] === true)
        findings.push({
          path: formatPath([...pod.path, field]),
          message: `${field}: true shares the node's ${field === 'hostNetwork' ? 'network' : field === 'hostPID' ? 'process' : 'IPC'} namespace with the pod`,
          fix: `remove ${field} (or set it to false)`,
        });
    }
    if (getIn(pod.spec, ['securityContext', 'windowsOptions', 'hostProcess']) === true)
      findings.push({
        path: formatPath([...pod.path, 'securityContext', 'windowsOptions', 'hostProcess']),
        message: 'windowsOptions.hostProcess: true runs the pod as a Windows host process',
        fix: 'remove securityContext.windowsOptions.hostProcess',
      });
    forEachItem(pod.spec.volumes, [...pod.path, 'volumes'], (volume, path) => {
      if (volume.hostPath === undefined) return;
      const hostPath = getIn(volume, ['hostPath', 'path']);
      findings.push({
        path: formatPath([...path, 'hostPath']),
        message: `volume "${String(volume.name ?? '?')}" mounts the node's filesystem (hostPath ${JSON.stringify(hostPath ?? '')})`,
        fix: 'use a PersistentVolumeClaim, emptyDir, configMap or secret volume instead of hostPath',
      });
    });
  }
  for (const location of containersOf(scope.object)) {
    const { container } = location;
    const name = typeof container.name === 'string' ? container.name : '?';
    const label = `${location.kind === 'container' ? 'container' : location.kind === 'initContainer' ? 'init container' : 'ephemeral container'} "${name}"`;
    forEachItem(container.ports, [...location.path, 'ports'], (port, path) => {
      if (port.hostPort === undefined || port.hostPort === null || port.hostPort === 0) return;
      findings.push({
        path: formatPath([...path, 'hostPort']),
        message: `${label} binds hostPort ${JSON.stringify(port.hostPort)} on the node`,
        fix: 'remove hostPort and expose the port through a Service',
      });
    });
    // Probes and lifecycle hooks with a `host` are dialled by the kubelet from the node's network
    // (Pod Security baseline "Probe / Lifecycle Host"): a way to reach node-local and cloud metadata addresses.
    for (const handler of probeHandlers)
      for (const action of ['httpGet', 'tcpSocket'] as const) {
        const host = getIn(container, [...handler, action, 'host']);
        if (host === undefined || host === null || host === '') continue;
        findings.push({
          path: formatPath([...location.path, ...handler, action, 'host']),
          message: `${label} ${handler.join('.')} ${action} dials host ${JSON.stringify(host)} from the node's network (the kubelet makes the connection)`,
          fix: `remove ${action}.host: the kubelet then probes the pod's own IP`,
        });
      }
    const securityContext = [...location.path, 'securityContext'];
    if (getIn(container, ['securityContext', 'privileged']) === true)
      findings.push({
        path: formatPath([...securityContext, 'privileged']),
        message: `${label} is privileged (full access to the node)`,
        fix: 'remove securityContext.privileged (or set it to false)',
      });
    if (getIn(container, ['securityContext', 'windowsOptions', 'hostProcess']) === true)
      findings.push({
        path: formatPath([...securityContext, 'windowsOptions', 'hostProcess']),
        message: `${label} runs as a Windows host process`,
        fix: 'remove securityContext.windowsOptions.hostProcess',
      });
    const added = getIn(container, ['securityContext', 'capabilities', 'add']);
    if (Array.isArray(added)) {
      added.forEach((capability: unknown, index) => {
        const normalized = typeof capability === 'string' ? normalizeCapability(capability) : '';
        if (params.allowedCapabilities.includes(normalized)) return;
        findings.push({
          path: formatPath([...securityContext, 'capabilities', 'add', index]),
          message: `${label} adds capability ${JSON.stringify(capability)}, which is not in the allowed list`,
          fix: `drop it; containers may add only: ${params.allowedCapabilities.join(', ') || 'nothing'}`,
        });
      });
    }
  }
}
