/**
 * Storage that reaches the node's filesystem without a hostPath volume in a pod: a
 * PersistentVolume of type `hostPath` or `local` (a tenant's claim binds it and mounts the node's
 * directory), and CSI volumes of drivers that serve host directories (`hostpath.csi.k8s.io`), inline
 * in a pod or behind a PersistentVolume. A hostPath or local PersistentVolume is allowed under a
 * writable `allowedHostPaths` prefix (the host allowances pod-security shares; a PersistentVolume
 * cannot make its mounts read-only).
 */
import { isUnderHostPathPrefix } from '../engine/host-allowances.ts';
import { formatPath } from '../engine/path.ts';
import { getIn, isRecord, podSpecsOf } from '../engine/workloads.ts';
import type { Scope } from './tenancy.ts';
import { forEachItem } from './tenancy.ts';

/** Reports PersistentVolumes and CSI volumes that serve the node's filesystem. */
export function checkHostVolumes(scope: Scope): void {
  const { findings, params, object } = scope;
  const hostDriver = (driver: unknown): driver is string =>
    typeof driver === 'string' && params.hostPathCsiDrivers.includes(driver.trim().toLowerCase());
  for (const pod of podSpecsOf(object))
    forEachItem(pod.spec.volumes, [...pod.path, 'volumes'], (volume, path) => {
      const driver = getIn(volume, ['csi', 'driver']);
      if (hostDriver(driver))
        findings.push({
          path: formatPath([...path, 'csi', 'driver']),
          message: `volume "${String(volume.name ?? '?')}" is a CSI volume of ${driver}, which mounts a directory of the node`,
          fix: 'use a PersistentVolumeClaim of a storage class the platform provides',
        });
    });
  if (object.kind !== 'PersistentVolume' || object.apiVersion !== 'v1' || !isRecord(object.spec)) return;
  const name = String(object.metadata?.name ?? '?');
  for (const type of ['hostPath', 'local'] as const) {
    const source = object.spec[type];
    if (source === undefined || source === null) continue;
    const path = getIn(source, ['path']);
    const allowed = params.allow.hostPaths.some(
      (prefix) =>
        !prefix.readOnly && typeof path === 'string' && isUnderHostPathPrefix(path, prefix.pathPrefix),
    );
    if (allowed) continue;
    findings.push({
      path: formatPath(['spec', type]),
      message: `PersistentVolume "${name}" serves the node's filesystem (${type} ${JSON.stringify(path ?? '')}); a claim bound to it mounts that directory`,
      fix: 'provision storage through a storage class, or ask the platform team to list the directory in allowedHostPaths',
    });
  }
  const driver = getIn(object.spec, ['csi', 'driver']);
  if (hostDriver(driver))
    findings.push({
      path: 'spec.csi.driver',
      message: `PersistentVolume "${name}" is served by ${driver}, which mounts a directory of the node`,
      fix: 'provision storage through a storage class the platform provides',
    });
}
